//! The checked-in expansion snapshots match what the spec generates.
//!
//! Run `cargo xtask codegen` after changing `api-spec/` to update them.

use std::path::Path;

#[test]
fn snapshots_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = druid_api_codegen::load_checked(&root.join("api-spec")).expect("the spec is valid");
    let mut stale = Vec::new();
    for service in &spec.services {
        let path = root
            .join("tests/expanded")
            .join(format!("{}.rs", service.module));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != druid_api_codegen::pretty_service(&spec, service) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale snapshots: {stale:?}; run `cargo xtask codegen`"
    );
}
