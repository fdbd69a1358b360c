//! uniffi's bindings generator, built at the same uniffi version as `paywire-python`.
fn main() {
    uniffi::uniffi_bindgen_main()
}
