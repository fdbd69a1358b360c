//! Run with: `cargo run -p paywire-server --bin paywire-openapi` — rewrites `server/openapi.json`
//! from the route table and the Rust types (CI fails when the checked-in file differs).

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    std::fs::write(&path, paywire_server::api::openapi::document_text())
        .expect("write openapi.json");
    println!("wrote {}", path.display());
}
