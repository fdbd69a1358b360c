//! The server is layered: reading every `crate::…` path in its source (code, not comments or
//! tests), no module reaches up to a layer above its own, and there is no import circle. A new
//! module must be placed in a layer here, or this test fails.

use std::path::Path;

use paywire_layering::{find_cycle, read, upward_edges, Graph};

/// Bottom first: one folder of `server/src` per layer (the files of a layer live in its
/// folder). A module may use its own layer and those below.
const LAYERS: &[&[&str]] = &[
    // Foundations: the API error (and its JSON shape), request limits and body parsing,
    // helpers, the ledger's identity, webhook URLs, request ids.
    &["base"],
    // The database pool and dialect; every SQL statement.
    &["store"],
    // EVM chains: settings, JSON-RPC with failover, the facilitator's transactions.
    &["chain"],
    // What serving needs below the services: metrics, secrets at rest, rate limits, what one
    // connection may hold.
    &["infra"],
    // What the handlers share and call: the state, authentication, pricing, idempotency,
    // access tokens, webhook delivery.
    &["services"],
    // The settlement of a verified payment, one settler per way of moving money.
    &["settle"],
    // Handlers, one module per resource with its request and response types: parse, call the
    // core and the services, respond; the OpenAPI document.
    &["api"],
    // The roof: the router (lib.rs), settings, opening and serving, the binaries.
    &["crate", "app", "main", "bin"],
];

fn graph() -> Graph {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).expect("read server/src")
}

#[test]
fn no_module_reaches_up_a_layer() {
    let graph = graph();
    assert!(graph.len() > 20, "the source tree was read: {graph:?}");
    let upward = upward_edges(&graph, LAYERS).unwrap_or_else(|unplaced| {
        panic!("modules in no layer (place them in LAYERS): {unplaced:?}")
    });
    assert!(upward.is_empty(), "imports that run up a layer: {upward:?}");
}

#[test]
fn the_server_has_no_import_circle() {
    if let Some(cycle) = find_cycle(&graph()) {
        panic!("an import circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn sql_lives_in_the_store() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut outside = vec![];
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != src.join("store") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("sqlx::query")
                    || text.contains("query_as(")
                    || text.contains("query_scalar(")
                    || text.contains("raw_sql(")
                {
                    outside.push(path);
                }
            }
        }
    }
    assert!(
        outside.is_empty(),
        "SQL outside server/src/store: {outside:?}"
    );
}

/// Every production `.rs` file under `dir`, with its line count.
fn sources(dir: &Path, out: &mut Vec<(std::path::PathBuf, usize)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            // A file's unit tests are not production code.
            let production = text.split("#[cfg(test)]").next().unwrap_or_default();
            out.push((path, production.lines().count()));
        }
    }
}

#[test]
fn the_tree_stays_readable() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    sources(&src, &mut files);
    assert!(files.len() > 40, "the source tree was read: {files:?}");
    // A file past 800 lines holds more than one concern: split it by concern.
    let long: Vec<_> = files.iter().filter(|(_, lines)| *lines > 800).collect();
    assert!(long.is_empty(), "production files over 800 lines: {long:?}");
    // The layers are the folders; the crate root holds the router's entry and the binary's.
    let at_root: Vec<_> = files
        .iter()
        .filter(|(path, _)| path.parent() == Some(src.as_path()))
        .collect();
    assert!(
        at_root.len() <= 6,
        "files directly in server/src: {at_root:?}"
    );
    // The settlement pipeline's queue is typed; nothing in the server is erased to `Any`.
    let erased: Vec<_> = files
        .iter()
        .filter(|(path, _)| {
            std::fs::read_to_string(path)
                .unwrap()
                .contains("dyn std::any::Any")
                || std::fs::read_to_string(path).unwrap().contains("dyn Any")
        })
        .collect();
    assert!(erased.is_empty(), "type-erased values: {erased:?}");
}
