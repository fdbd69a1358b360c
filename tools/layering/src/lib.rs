//! The module graph of a crate, read from its source: every `crate::…` path outside comments
//! and `#[cfg(test)]` code is an edge from the module that writes it to the module it names.
//! The layering tests of `paywire-core` (no import circle) and `paywire-server` (no module
//! reaches up a layer) are written over it.
//!
//! It reads text, not the compiler's view: a path spelled through `super::` or a re-export is
//! not seen, so the houses keep to `crate::` paths for imports across modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the modules it refers to (itself excluded). Module names are paths below the
/// crate root (`protocol::evm::exact`); the root itself is `crate`.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Reads the graph of the crate whose sources are under `src`.
pub fn read(src: &Path) -> std::io::Result<Graph> {
    let mut sources = vec![];
    rust_files(src, &mut sources)?;
    let modules: BTreeSet<String> = sources.iter().map(|f| module_of(src, f)).collect();
    let mut graph = Graph::new();
    for file in &sources {
        let module = module_of(src, file);
        let text = std::fs::read_to_string(file)?;
        let edges: BTreeSet<String> = references(&text)
            .iter()
            .filter_map(|path| resolve(&modules, path))
            .filter(|target| *target != module)
            .collect();
        graph.entry(module).or_default().extend(edges);
    }
    Ok(graph)
}

/// The module path (`protocol::evm::exact`) of a source file under `src`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    if parts.is_empty() {
        "crate".to_string()
    } else {
        parts.join("::")
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The longest module that `path` (`store::meta::SealedColumn`) starts with; a path that
/// starts with no module names an item of the crate root (`crate::MAX_BODY_BYTES`), and so
/// the root itself.
fn resolve(modules: &BTreeSet<String>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return None;
    }
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
        .or_else(|| Some("crate".to_string()))
}

/// Every path a source text names through `crate::`, outside comments and test code; a group
/// (`crate::{a::X, b}`) gives one path per member.
pub fn references(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let code: String = code
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = vec![];
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = closing_brace(group).unwrap_or(group.len());
            found.extend(group_members(&group[..end]));
            rest = &group[end..];
        } else {
            found.push(path_prefix(rest));
        }
    }
    found
}

/// The leading `a::b::c` of `text`, without a trailing `::`.
fn path_prefix(text: &str) -> String {
    let path: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    path.trim_end_matches(':').to_string()
}

/// The index of the `}` that closes a group whose `{` was just passed.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(index),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The paths of a group's members, nested groups flattened (`a::{b, c}` gives `a::b`, `a::c`).
fn group_members(group: &str) -> Vec<String> {
    let mut members = vec![];
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                members.push(&group[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    members.push(&group[start..]);
    let mut paths = vec![];
    for member in members.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
        match member.split_once("::{") {
            Some((head, inner)) => {
                let inner = inner.strip_suffix('}').unwrap_or(inner);
                paths.extend(
                    group_members(inner)
                        .into_iter()
                        .map(|tail| format!("{head}::{tail}")),
                );
            }
            None => paths.push(path_prefix(member)),
        }
    }
    paths
}

/// A cycle in `graph` as the modules walked (first = last), if there is one.
pub fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        const OPEN: u8 = 1;
        const DONE: u8 = 2;
        state.insert(node.to_string(), OPEN);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next).copied() {
                Some(OPEN) => {
                    let start = stack.iter().position(|n| n == next)?;
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), DONE);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            if let Some(cycle) = visit(node, graph, &mut state, &mut vec![]) {
                return Some(cycle);
            }
        }
    }
    None
}

/// The edges that run from a lower layer up to a higher one, as `(from, to)`. `layers` lists
/// the layers bottom first; a module belongs to the layer naming it or its nearest ancestor.
/// Modules in no layer are returned as `Err`, so a new module must be placed.
pub fn upward_edges(
    graph: &Graph,
    layers: &[&[&str]],
) -> Result<Vec<(String, String)>, Vec<String>> {
    let layer_of = |module: &str| -> Option<usize> {
        let parts: Vec<&str> = module.split("::").collect();
        (1..=parts.len()).rev().find_map(|n| {
            let candidate = parts[..n].join("::");
            layers
                .iter()
                .position(|layer| layer.contains(&candidate.as_str()))
        })
    };
    let unplaced: Vec<String> = graph
        .keys()
        .filter(|m| layer_of(m).is_none())
        .cloned()
        .collect();
    if !unplaced.is_empty() {
        return Err(unplaced);
    }
    let mut upward = vec![];
    for (from, targets) in graph {
        for to in targets {
            if layer_of(to) > layer_of(from) {
                upward.push((from.clone(), to.clone()));
            }
        }
    }
    Ok(upward)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        edges
            .iter()
            .map(|(from, to)| (from.to_string(), to.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    #[test]
    fn groups_and_nested_groups_give_every_member() {
        let text = "use crate::{error::ApiError, store::{self, meta::Sealed}, util};\n\
                    // use crate::commented::Out;\n\
                    fn f() { crate::tokens::issue(); }\n\
                    #[cfg(test)]\nmod tests { use crate::only_in_tests; }";
        assert_eq!(
            references(text),
            [
                "error::ApiError",
                "store::self",
                "store::meta::Sealed",
                "util",
                "tokens::issue"
            ]
        );
    }

    #[test]
    fn a_root_item_is_an_edge_to_the_root() {
        let modules: BTreeSet<String> = ["base", "base::error", "store"].map(String::from).into();
        assert_eq!(
            resolve(&modules, "base::error::ApiError").as_deref(),
            Some("base::error")
        );
        assert_eq!(
            resolve(&modules, "base::limits::MAX").as_deref(),
            Some("base")
        );
        // `crate::MAX_BODY_BYTES` names no module: it is an item of lib.rs.
        assert_eq!(
            resolve(&modules, "MAX_BODY_BYTES").as_deref(),
            Some("crate")
        );
        assert_eq!(resolve(&modules, ""), None);
    }

    #[test]
    fn cycles_are_found_and_acyclic_graphs_pass() {
        let cyclic = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]);
        assert_eq!(find_cycle(&cyclic).unwrap(), ["a", "b", "c", "a"]);
        let acyclic = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &[])]);
        assert_eq!(find_cycle(&acyclic), None);
    }

    #[test]
    fn upward_edges_are_listed_and_unplaced_modules_refused() {
        let g = graph(&[
            ("low", &["high"]),
            ("high", &["low::inner"]),
            ("low::inner", &[]),
        ]);
        assert_eq!(
            upward_edges(&g, &[&["low"], &["high"]]).unwrap(),
            [("low".to_string(), "high".to_string())]
        );
        assert_eq!(upward_edges(&g, &[&["low"]]).unwrap_err(), ["high"]);
    }
}
