//! `cargo xtask ci`: everything CI runs, in order, with timings.
//!
//! Static checks, offline tests and the bench's smoke run first, then a
//! real Druid cluster, the live tests and the main example against it, and
//! the cluster's stop, which also happens when a step fails.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::druid::{self, UpOptions};

/// One timed step.
struct Step {
    name: &'static str,
    took: Duration,
    ok: bool,
}

/// The runner: keeps the timings and prints them at the end.
struct Ci {
    steps: Vec<Step>,
    started: Instant,
}

impl Ci {
    fn run(
        &mut self,
        name: &'static str,
        step: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = step();
        let took = started.elapsed();
        self.steps.push(Step {
            name,
            took,
            ok: result.is_ok(),
        });
        match &result {
            Ok(()) => println!("<== {name}: ok in {:.1} s", took.as_secs_f64()),
            Err(e) => println!("<== {name}: FAILED after {:.1} s: {e}", took.as_secs_f64()),
        }
        result
    }

    fn summary(&self) {
        println!(
            "\nci summary ({:.1} s in all):",
            self.started.elapsed().as_secs_f64()
        );
        for step in &self.steps {
            println!(
                "  {:<28} {:>7.1} s  {}",
                step.name,
                step.took.as_secs_f64(),
                if step.ok { "ok" } else { "FAILED" }
            );
        }
    }
}

/// Runs a command in the workspace root, streaming its output.
pub(crate) fn cargo(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.args(args).current_dir(root);
    for (key, value) in env {
        command.env(key, value);
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

/// Runs every test of the tests crate and of the CLI, the live ones (every
/// `live*` test binary, the endpoint walk and the `druid` binary's included)
/// against the cluster, and checks that
/// they all ran: a live test that was skipped or filtered out would be a
/// silent pass.
fn live_tests(root: &Path, env: &[(String, String)]) -> Result<(), String> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .args([
            "test",
            "-p",
            "druid-tests",
            "-p",
            "druid-cli",
            "--locked",
            "--",
            "--include-ignored",
        ])
        .current_dir(root);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run the live tests: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err("live tests failed".to_owned());
    }
    let summaries: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .collect();
    if summaries.is_empty() {
        return Err("the live tests printed no result line".to_owned());
    }
    let count = |word: &str| -> usize {
        summaries
            .iter()
            .map(|summary| {
                summary
                    .split(';')
                    .find(|part| part.trim().ends_with(word))
                    .and_then(|part| {
                        part.split_whitespace()
                            .rev()
                            .nth(if word == "filtered out" { 2 } else { 1 })
                    })
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
            })
            .sum()
    };
    let (passed, ignored, filtered) = (count("passed"), count("ignored"), count("filtered out"));
    if passed == 0 || ignored > 0 || filtered > 0 {
        return Err(format!(
            "every live test must run: {passed} passed, {ignored} ignored, {filtered} filtered out"
        ));
    }
    println!(
        "all {passed} tests of the tests crate and the CLI ran (live ones against the cluster) and passed"
    );
    if let Ok(report) = std::fs::read_to_string(root.join("target/live-walk-report.txt")) {
        println!("\nthe walk of every GET endpoint:\n{report}");
    }
    Ok(())
}

/// The workspace's `rust-version` must be the toolchain CI runs, so that
/// the promise is tested: a newer toolchain here means the field is stale.
fn rust_version(root: &Path) -> Result<(), String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("cannot read Cargo.toml: {e}"))?;
    let declared = manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .ok_or("Cargo.toml declares no workspace rust-version")?;
    let output = Command::new("rustc")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let running = String::from_utf8_lossy(&output.stdout).into_owned();
    let version = running.split_whitespace().nth(1).unwrap_or_default();
    let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    if minor(version) == minor(&declared) {
        println!(
            "rust-version {declared} is the toolchain CI runs ({})",
            running.trim()
        );
        Ok(())
    } else {
        Err(format!(
            "the workspace declares rust-version {declared}, but CI runs {}: set rust-version to \
             what CI runs, or install that toolchain and test with it",
            running.trim()
        ))
    }
}

/// `cargo check` of every library crate with no features, each feature
/// alone and all of them: features stay additive and every combination
/// builds (what `cargo hack check --each-feature` does).
fn feature_combinations(root: &Path) -> Result<(), String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata is not JSON: {e}"))?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let mut checked = 0;
    for package in &packages {
        let name = package["name"].as_str().unwrap_or_default();
        let is_library = package["targets"].as_array().is_some_and(|targets| {
            targets.iter().any(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "lib" || k == "proc-macro"))
            })
        });
        if !is_library || name == "druid-tests" {
            continue;
        }
        let features: Vec<String> = package["features"]
            .as_object()
            .map(|f| f.keys().filter(|k| *k != "default").cloned().collect())
            .unwrap_or_default();
        let mut runs: Vec<Vec<String>> = vec![vec!["--no-default-features".to_owned()]];
        for feature in &features {
            runs.push(vec![
                "--no-default-features".to_owned(),
                "--features".to_owned(),
                feature.clone(),
            ]);
        }
        if features.len() > 1 {
            runs.push(vec!["--all-features".to_owned()]);
        }
        for run in runs {
            let mut args = vec!["check", "-p", name, "--locked", "--quiet"];
            args.extend(run.iter().map(String::as_str));
            println!("cargo {}", args.join(" "));
            cargo(root, &args, &[])?;
            checked += 1;
        }
    }
    println!("{checked} feature combinations build");
    Ok(())
}

/// Clones the committed `HEAD` into an empty temporary folder and runs the
/// offline tests there, so nothing beside the checkout (and nothing
/// uncommitted or ignored in it) can make them pass. The clone builds into
/// this checkout's target folder: dependencies are reused, the workspace's
/// own crates are built from the clone.
fn fresh_clone_tests(root: &Path) -> Result<(), String> {
    let parent = std::env::temp_dir().join(format!("druid-rs-fresh-{}", std::process::id()));
    let clone = parent.join("druid-rs");
    let _ = std::fs::remove_dir_all(&parent);
    std::fs::create_dir_all(&parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let result = (|| {
        let status = Command::new("git")
            .args(["clone", "--quiet", "--no-hardlinks"])
            .arg(root)
            .arg(&clone)
            .status()
            .map_err(|e| format!("cannot run git clone: {e}"))?;
        if !status.success() {
            return Err(format!("git clone of {} failed ({status})", root.display()));
        }
        let target = root.join("target");
        let target = target.to_string_lossy();
        cargo(
            &clone,
            &["test", "--workspace", "--locked"],
            &[("CARGO_TARGET_DIR", target.as_ref())],
        )
    })();
    let _ = std::fs::remove_dir_all(&parent);
    result
}

/// Removes the copies of this workspace's crates that an earlier
/// `cargo package` unpacked from its temporary local registry.
///
/// Cargo unpacks the packaged crates under `$CARGO_HOME/registry/src/-<hash>/`
/// and does not unpack the same name and version again, so a later run would
/// verify against stale sources. Only directories of local registries (whose
/// names start with `-`) and only this workspace's crates are touched.
fn clear_stale_packages() -> Result<(), String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else {
        return Ok(());
    };
    let Ok(registries) = std::fs::read_dir(&src) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for crate_dir in std::fs::read_dir(registry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = crate_dir.file_name().to_string_lossy().into_owned();
            let ours = [
                "druid-transport-",
                "druid-discovery-",
                "druid-api-",
                "druid-cli-",
            ]
            .iter()
            .any(|p| name.starts_with(p));
            if ours {
                std::fs::remove_dir_all(crate_dir.path()).map_err(|e| {
                    format!(
                        "cannot remove the stale package {}: {e}",
                        crate_dir.path().display()
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Runs CI.
pub(crate) fn run() -> Result<(), String> {
    let root = crate::root();
    let mut ci = Ci {
        steps: Vec::new(),
        started: Instant::now(),
    };
    let result = run_steps(&mut ci, &root);
    ci.summary();
    result
}

fn run_steps(ci: &mut Ci, root: &Path) -> Result<(), String> {
    ci.run("rust-version", || rust_version(root))?;
    ci.run("format", || {
        cargo(root, &["fmt", "--all", "--", "--check"], &[])
    })?;
    ci.run("clippy", || {
        cargo(
            root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    })?;
    ci.run("feature combinations", || feature_combinations(root))?;
    ci.run("codegen check", || crate::codegen::run(true))?;
    ci.run("docs", || {
        cargo(
            root,
            &["doc", "--workspace", "--no-deps", "--locked"],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    ci.run("offline tests", || {
        cargo(root, &["test", "--workspace", "--locked"], &[])
    })?;
    // The bench's smoke mode: every client variant and anchor runs once on
    // tiny sizes and must see the same answer; nothing is asserted about time.
    ci.run("bench smoke", || {
        crate::bench::run(&crate::bench::BenchArgs::smoke())
    })?;
    // A short fuzz run (20 s a target, two at once) on the committed corpus,
    // so the targets build and the parsers still hold on what was found.
    ci.run("fuzz smoke", || {
        crate::fuzz::run(&crate::fuzz::FuzzArgs {
            target: None,
            time: None,
            runs: None,
            smoke: true,
            jobs: 2,
            merge: false,
            repro: None,
            asan: false,
        })
    })?;
    ci.run("offline tests, fresh clone", || fresh_clone_tests(root))?;
    ci.run("no-TLS build", || {
        cargo(
            root,
            &[
                "test",
                "-p",
                "druid-transport",
                "--no-default-features",
                "--locked",
            ],
            &[],
        )
    })?;
    ci.run("native-tls transport tests", || {
        cargo(
            root,
            &[
                "test",
                "-p",
                "druid-tests",
                "--no-default-features",
                "--features",
                "native-tls",
                "--locked",
                "--test",
                "transport",
                "--test",
                "promises",
            ],
            &[],
        )
    })?;
    ci.run("package", || {
        clear_stale_packages()?;
        cargo(
            root,
            &[
                "package",
                "--workspace",
                "--exclude",
                "xtask",
                "--exclude",
                "druid-tests",
                "--allow-dirty",
                "--locked",
            ],
            &[],
        )
    })?;

    // The secure profile: TLS, Basic auth and the catalog, so that those APIs
    // are proven against the real cluster too; with a second
    // Coordinator-Overlord, so that the fault suite can kill the leader.
    let options = UpOptions {
        secure: true,
        ha: true,
        ..UpOptions::default()
    };
    let mut cluster = None;
    let up = ci.run("druid up", || {
        cluster = Some(druid::up(&options)?);
        Ok(())
    });
    let live = match (&up, &cluster) {
        (Ok(()), Some(info)) => {
            let env: Vec<(String, String)> = info.env.clone();
            let tests = ci.run("live tests", || live_tests(root, &env));
            let pairs: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let example = ci.run("quickstart example", || {
                cargo(
                    root,
                    &[
                        "run",
                        "-p",
                        "druid-api",
                        "--locked",
                        "--example",
                        "quickstart",
                    ],
                    &pairs,
                )
            });
            let faults = ci.run("fault suite", || {
                crate::faults::run_on(root, &options.state_dir)
            });
            tests.and(example).and(faults)
        }
        _ => Err("the cluster did not start".to_owned()),
    };
    let down = ci.run("druid down", || druid::down(&options.state_dir));
    up.and(live).and(down)
}
