//! uniffi's bindings generator, at this crate's uniffi version: maturin runs it to write
//! `paywire._ffi`, scripts/build-swift.sh to write the Swift sources.
fn main() {
    uniffi::uniffi_bindgen_main()
}
