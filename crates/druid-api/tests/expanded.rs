//! The checked-in expansion snapshots match what the spec generates.
//!
//! Run `cargo xtask codegen` after changing `api-spec/` to update them.

use std::path::Path;

#[test]
fn snapshots_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = druid_api_codegen::load_checked(&root.join("api-spec")).expect("the spec is valid");
    let mut stale = Vec::new();
    let snapshots = druid_api_codegen::snapshots(&spec);
    for (module, code) in &snapshots {
        let path = root.join("tests/expanded").join(format!("{module}.rs"));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if &current != code {
            stale.push(path.display().to_string());
        }
    }
    // A snapshot of a module the spec no longer has is stale too.
    for entry in std::fs::read_dir(root.join("tests/expanded")).expect("the snapshot folder") {
        let path = entry.expect("a snapshot").path();
        let module = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if !snapshots.iter().any(|(m, _)| m == module) {
            stale.push(format!("{} (no such module)", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "stale snapshots: {stale:?}; run `cargo xtask codegen`"
    );
}
