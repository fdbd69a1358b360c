//! Runs every shared vector file (`tests/vectors/*.json`) against this crate, one test per
//! concept, so a failure names the concept. The same files run through wasm, Node and Python.

use paywire_vectors::{check, load_all, vectors_dir};

fn run_concept(concept: &str) {
    let files = load_all(&vectors_dir()).expect("tests/vectors/ is readable");
    let (_, file) = files
        .iter()
        .find(|(_, f)| f.concept == concept)
        .unwrap_or_else(|| panic!("no vector file for {concept}"));
    assert!(!file.cases.is_empty(), "{concept} has no cases");
    let failures: Vec<String> = file.cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(failures.is_empty(), "{concept}:\n{}", failures.join("\n"));
}

#[test]
fn money_vectors() {
    run_concept("money");
}

#[test]
fn pricing_vectors() {
    run_concept("pricing");
}

#[test]
fn policy_vectors() {
    run_concept("policy");
}

#[test]
fn token_vectors() {
    run_concept("token");
}

#[test]
fn webhook_vectors() {
    run_concept("webhook");
}

#[test]
fn idempotency_vectors() {
    run_concept("idempotency");
}

#[test]
fn protocol_vectors() {
    run_concept("protocol");
}

#[test]
fn ledger_vectors() {
    run_concept("ledger");
}

#[test]
fn evm_exact_vectors_from_eth_account() {
    run_concept("evm_exact");
}

#[test]
fn every_vector_file_is_run_by_a_test_above() {
    let covered = [
        "money",
        "pricing",
        "policy",
        "token",
        "webhook",
        "idempotency",
        "protocol",
        "ledger",
        "evm_exact",
        "flow_client",
        "flow_paywall",
        "flow_mcp",
    ];
    for (path, file) in load_all(&vectors_dir()).unwrap() {
        assert!(
            covered.contains(&file.concept.as_str()),
            "{} is not run by core's tests",
            path.display()
        );
    }
}

#[test]
fn flow_client_vectors() {
    run_concept("flow_client");
}

#[test]
fn flow_paywall_vectors() {
    run_concept("flow_paywall");
}

#[test]
fn flow_mcp_vectors() {
    run_concept("flow_mcp");
}
