//! The core's modules form no import circle: reading every `crate::…` path in the source (code,
//! not comments or tests), the graph of modules is acyclic. Ground floor first: the table of
//! codes and the error enum, networks, money; then pricing, the protocol, policies and
//! tokens; then the settlement decision and the flows.

use std::path::Path;

use paywire_layering::{find_cycle, read, Graph};

fn graph() -> Graph {
    read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).expect("read core/src")
}

#[test]
fn the_core_has_no_import_circle() {
    let graph = graph();
    assert!(graph.len() > 20, "the source tree was read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("an import circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_ground_floor_depends_on_nothing_above_it() {
    let graph = graph();
    let error_family = ["error", "error::codes", "error::denial", "error::reason"];
    for module in error_family {
        assert!(graph.contains_key(module), "{module} was read");
    }
    let floors: [(&str, &[&str]); 6] = [
        ("error::codes", &["error"]),
        ("error::denial", &["error::codes"]),
        ("error::reason", &["error::codes"]),
        ("error", &error_family),
        ("network", &["error"]),
        ("money", &["error", "network"]),
    ];
    for (module, allowed) in floors
        .into_iter()
        .chain([("pricing", &["error", "money", "pricing::path"][..])])
    {
        let extra: Vec<&String> = graph[module]
            .iter()
            .filter(|target| !allowed.contains(&target.as_str()))
            .collect();
        assert!(extra.is_empty(), "{module} reaches up to {extra:?}");
    }
}
