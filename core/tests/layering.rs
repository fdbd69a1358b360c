//! The core's modules form no import circle: reading every `crate::…` path in the source (code,
//! not comments or tests), the graph of modules is acyclic. Ground floor first: reason and
//! denial codes, the error enum, networks, money; then pricing, the protocol, policies and
//! tokens; then the settlement decision and the flows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`protocol::evm::exact`) of a source file under `src/`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a source text refers to through `crate::` paths, outside comments and tests.
fn references(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = vec![];
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':')
                .collect();
            found.push(path.trim_end_matches(':').to_string());
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = vec![];
    files(&src, &mut sources);
    let modules: BTreeSet<String> = sources.iter().map(|f| module_of(&src, f)).collect();
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|candidate| modules.contains(candidate))
    };
    let mut graph = BTreeMap::new();
    for file in &sources {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap();
        let edges: BTreeSet<String> = references(&text)
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|target| *target != module)
            .collect();
        graph.insert(module, edges);
    }
    graph
}

/// A cycle in `graph`, if there is one (depth-first search with colours).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(node, graph, &mut state, &mut vec![]) {
                return Some(cycle);
            }
        }
    }
    None
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
    for (module, allowed) in [
        ("reason", &[][..]),
        ("denial", &[][..]),
        ("error", &["reason", "denial"][..]),
        ("network", &["error"][..]),
        ("money", &["error", "network"][..]),
        ("pricing", &["error", "money", "pricing::path"][..]),
    ] {
        let extra: Vec<&String> = graph[module]
            .iter()
            .filter(|target| !allowed.contains(&target.as_str()))
            .collect();
        assert!(extra.is_empty(), "{module} reaches up to {extra:?}");
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(find_cycle(&graph).unwrap().len(), 4);
    graph.insert("c".to_string(), BTreeSet::new());
    assert_eq!(find_cycle(&graph), None);
}
