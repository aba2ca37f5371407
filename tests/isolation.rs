//! Tenant isolation on every embedded store, over many seeds.

mod common;

#[test]
fn memory_store_keeps_tenants_apart() {
    for seed in 0..20 {
        common::isolation::check(throughline::store::MemoryStore::new(), seed);
    }
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_keeps_tenants_apart() {
    for seed in 0..20 {
        common::isolation::check(
            throughline::store::SqliteStore::open_in_memory().unwrap(),
            seed,
        );
    }
}

/// Every public `Desk` method is either called in the isolation story with another
/// tenant's ids (its name in a `not_found("…"` check) or listed, with its reason, in
/// `NOT_CROSS_TENANT`: a new method cannot be forgotten.
#[test]
fn every_public_desk_method_is_in_the_isolation_story() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let story = std::fs::read_to_string(root.join("tests/common/isolation.rs")).unwrap();
    // Formatting may break a call over lines: compare without whitespace.
    let story: String = story.chars().filter(|c| !c.is_whitespace()).collect();
    let mut methods = std::collections::BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("src/desk"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut in_desk = false;
        for line in text.lines() {
            if line.starts_with("impl") {
                in_desk = line.contains("Desk<S>");
            }
            if let Some(rest) = line.strip_prefix("    pub fn ").filter(|_| in_desk) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                methods.insert(name);
            }
        }
    }
    assert!(
        methods.len() > 80,
        "the scan found the Desk's methods: {methods:?}"
    );
    let exempt: Vec<&str> = common::isolation::NOT_CROSS_TENANT
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let missing: Vec<&String> = methods
        .iter()
        .filter(|m| !story.contains(&format!("not_found(\"{m}\"")) && !exempt.contains(&m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "public Desk methods missing from tests/common/isolation.rs: {missing:?}"
    );
    let stale: Vec<&&str> = exempt.iter().filter(|e| !methods.contains(**e)).collect();
    assert!(
        stale.is_empty(),
        "NOT_CROSS_TENANT names methods that do not exist: {stale:?}"
    );
}
