//! Loads every file in `tests/vectors/` and checks every case against `paywire-core`.

use paywire_vectors::{check, load_all, vectors_dir};

#[test]
fn every_vector_case_holds() {
    let files = load_all(&vectors_dir()).expect("tests/vectors/ is readable");
    assert!(
        files.len() >= 7,
        "expected one file per concept, found {}",
        files.len()
    );
    let mut failures = vec![];
    let mut total = 0;
    for (path, file) in &files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        assert_eq!(
            file.concept,
            stem,
            "{} names the wrong concept",
            path.display()
        );
        for case in &file.cases {
            total += 1;
            assert!(
                case.expected.is_some() != case.error.is_some(),
                "{}: exactly one of expected and error",
                case.title
            );
            if let Err(message) = check(case) {
                failures.push(format!("{stem}: {message}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 200, "the vectors hold only {total} cases");
}

#[test]
fn a_wrong_expectation_is_caught() {
    // The checker itself must be able to fail.
    let files = load_all(&vectors_dir()).unwrap();
    let mut case = files[0].1.cases[0].clone();
    case.expected = Some(serde_json::json!({"surely": "not this"}));
    case.error = None;
    assert!(check(&case).is_err());
}
