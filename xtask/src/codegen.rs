//! `cargo xtask codegen`: the files derived from the endpoint spec.

use std::fs;
use std::path::{Path, PathBuf};

use druid_api_codegen::{Spec, endpoints_markdown, load_checked, snapshots};

/// Where the expansion snapshots go, relative to the workspace root.
const SNAPSHOTS: &str = "crates/druid-api/tests/expanded";

/// Every derived file and its expected content.
pub(crate) fn derived_files(root: &Path, spec: &Spec) -> Vec<(PathBuf, String)> {
    let mut files = vec![(root.join("api-spec/ENDPOINTS.md"), endpoints_markdown(spec))];
    for (module, code) in snapshots(spec) {
        let path = root.join(SNAPSHOTS).join(format!("{module}.rs"));
        files.push((path, code));
    }
    files
}

/// The derived files that can fail to render (the live walk).
fn fallible_files(root: &Path, spec: &Spec) -> Result<Vec<(PathBuf, String)>, String> {
    Ok(vec![(
        root.join(crate::walk::WALKS_FILE),
        crate::walk::render(root, spec)?,
    )])
}

pub(crate) fn load_spec(root: &Path) -> Result<Spec, String> {
    load_checked(&root.join("api-spec")).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "the spec has {} problem(s):\n  {}",
            list.len(),
            list.join("\n  ")
        )
    })
}

pub(crate) fn run(check: bool) -> Result<(), String> {
    let root = crate::root();
    let spec = load_spec(&root)?;
    let mut stale = Vec::new();
    let mut files = derived_files(&root, &spec);
    files.extend(fallible_files(&root, &spec)?);
    for (path, content) in files {
        let current = fs::read_to_string(&path).unwrap_or_default();
        if current == content {
            continue;
        }
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if check {
            stale.push(shown);
        } else {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            fs::write(&path, content).map_err(|e| format!("cannot write {shown}: {e}"))?;
            println!("wrote {shown}");
        }
    }
    // Snapshots of modules the spec no longer has.
    let expanded = root.join(SNAPSHOTS);
    let snapshot_names: Vec<String> = snapshots(&spec)
        .into_iter()
        .map(|(module, _)| format!("{module}.rs"))
        .collect();
    for entry in fs::read_dir(&expanded)
        .map_err(|e| format!("cannot read {}: {e}", expanded.display()))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if snapshot_names.contains(&name) {
            continue;
        }
        if check {
            stale.push(format!("{SNAPSHOTS}/{name} (no such module)"));
        } else {
            fs::remove_file(entry.path()).map_err(|e| format!("cannot remove {name}: {e}"))?;
            println!("removed {SNAPSHOTS}/{name}");
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "these generated files are stale: {}\nrun `cargo xtask codegen` and commit the result",
            stale.join(", ")
        ));
    }
    if check {
        println!("codegen: all derived files are up to date");
    }
    Ok(())
}
