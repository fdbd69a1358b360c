//! The server is layered: reading every `crate::…` path in its source (code, not comments or
//! tests), no module reaches up to a layer above its own, and there is no import circle. A new
//! module must be placed in a layer here, or this test fails.

use std::path::Path;

use paywire_layering::{find_cycle, read, upward_edges, Graph};

/// Bottom first. A module may use its own layer and those below.
const LAYERS: &[&[&str]] = &[
    // Foundations: errors, helpers, the typed request/response shapes, the ledger's identity.
    &[
        "error",
        "util",
        "shapes",
        "ledger",
        "body",
        "webhook_url",
        "observe",
    ],
    // The database pool and dialect; every SQL statement.
    &["db"],
    &["store"],
    // Counters and histograms (Prometheus), fed by the layers above.
    &["metrics"],
    // What one TCP connection may hold: the write deadline, per-client caps, its address.
    &["connection"],
    // Rate limits (their refusal is an error of the API).
    &["ratelimit"],
    // Secrets at rest (sealed into store columns); configuration that holds the master key.
    &["secrets"],
    // EVM chains: settings, JSON-RPC with failover, the facilitator's transactions.
    &["chain", "chain::rpc"],
    &["settings"],
    // What every handler shares.
    &["state"],
    // Services the handlers call: authentication, pricing, idempotency, access tokens.
    &["auth", "pricing", "idempotency", "tokens", "delivery"],
    // The settlement of a verified payment (the core's decision, the store's transaction).
    &["settlement", "onchain"],
    // Handlers: parse, call the core and the services, respond.
    &[
        "accounts",
        "endpoints",
        "keys",
        "webhooks",
        "facilitator",
        "lists",
        "reports",
        "dashboard",
        "payouts",
    ],
    // The roof: the router, opening and serving it, the demo, the OpenAPI document, the
    // binaries.
    &["crate", "run", "demo", "openapi", "main", "bin"],
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
