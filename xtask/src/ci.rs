//! `cargo xtask ci`: everything CI runs, in order, with timings.
//!
//! Static checks, the offline tests (once: in place on a clean checkout,
//! else in a fresh clone of `HEAD`) and the bench's and fuzzers' smoke runs
//! first. Then two Druid lines, one after the other: for each, a real
//! cluster, the live tests against it (and, on the first line, the main
//! example and the fault suite), and the cluster's stop, which also happens
//! when a step failed. A failed first line does not keep the second from
//! running; CI fails if either does.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::druid::{self, UpOptions};

/// One timed step.
struct Step {
    name: String,
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
        name: impl Into<String>,
        step: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let name = name.into();
        println!("\n==> {name}");
        let started = Instant::now();
        let result = step();
        let took = started.elapsed();
        match &result {
            Ok(()) => println!("<== {name}: ok in {:.1} s", took.as_secs_f64()),
            Err(e) => println!("<== {name}: FAILED after {:.1} s: {e}", took.as_secs_f64()),
        }
        self.steps.push(Step {
            name,
            took,
            ok: result.is_ok(),
        });
        result
    }

    fn summary(&self) {
        println!(
            "\nci summary ({:.1} s in all):",
            self.started.elapsed().as_secs_f64()
        );
        // As wide as the longest name, so that the line's steps line up too.
        let width = self.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for step in &self.steps {
            println!(
                "  {:<width$} {:>7.1} s  {}",
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

/// One Druid line CI tests: a cluster of one version and profile, and what
/// runs against it.
struct Line {
    /// How `druid up` starts the cluster.
    options: UpOptions,
    /// Whether the quickstart example and the fault suite run too, after
    /// the live tests.
    example_and_faults: bool,
}

impl Line {
    /// The name in the step names and messages, e.g. `Druid 27.0.0 secure`.
    fn name(&self) -> String {
        let profile = if self.options.secure {
            "secure"
        } else {
            "plaintext"
        };
        format!("Druid {} {profile}", self.options.version)
    }
}

/// The Druid lines, in run order. Both use the same state folder, so the
/// second cluster starts only once the first is down.
fn lines() -> Vec<Line> {
    vec![
        // The default version in the secure profile: TLS, Basic auth and the
        // catalog, so that those APIs are proven against the real cluster
        // too; with a second Coordinator-Overlord, so that the fault suite
        // can kill the leader.
        Line {
            options: UpOptions {
                secure: true,
                ha: true,
                ..UpOptions::default()
            },
            example_and_faults: true,
        },
        // A newer Druid, plaintext, one Coordinator-Overlord and no
        // multi-stage query extension: the live tests only.
        Line {
            options: UpOptions {
                version: "33.0.0".to_owned(),
                secure: false,
                ha: false,
                msq: false,
                ..UpOptions::default()
            },
            example_and_faults: false,
        },
    ]
}

/// The cargo arguments of the live tests: the ignored tests of the tests
/// crate and of the CLI (every `live*` test binary, the endpoint walk and
/// the `druid` binary's), without doc tests; every binary runs even after
/// one failed, so that a run shows every failure.
const LIVE_TESTS: &[&str] = &[
    "test",
    "-p",
    "druid-tests",
    "-p",
    "druid-cli",
    "--locked",
    "--tests",
    "--no-fail-fast",
    "--",
    "--ignored",
];

/// A `cargo` command in the workspace root with `env` set.
fn cargo_command(root: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(root);
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// The test names of a libtest `--list` output (`NAME: test` lines), in
/// order; a name listed by two test binaries is there twice.
fn listed_tests(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// Whether a test runs only on a secure line: the last segment of its
/// name starts with `secure_`.
fn is_for_secure_line(name: &str) -> bool {
    name.rsplit("::")
        .next()
        .is_some_and(|last| last.starts_with("secure_"))
}

/// Which of the listed live tests a line runs.
#[derive(Debug, PartialEq, Eq)]
struct Selection {
    /// How many listed tests run (a name listed twice counts twice).
    run: usize,
    /// The names that are not run, each once, in listing order.
    skipped: Vec<String>,
    /// How many listed tests are not run.
    excluded: usize,
}

/// Selects the live tests of a line: a secure line runs them all, a
/// plaintext one all but those named for the secure line.
fn select(listed: &[String], secure: bool) -> Selection {
    let mut skipped: Vec<String> = Vec::new();
    let mut excluded = 0;
    for name in listed {
        if !secure && is_for_secure_line(name) {
            excluded += 1;
            if !skipped.contains(name) {
                skipped.push(name.clone());
            }
        }
    }
    Selection {
        run: listed.len() - excluded,
        skipped,
        excluded,
    }
}

/// The counts of libtest `test result:` lines, summed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    passed: usize,
    failed: usize,
    ignored: usize,
    filtered_out: usize,
}

/// Reads one `test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured;
/// 3 filtered out; finished in 0.01s` line; `None` if it is not one or
/// lacks a count.
fn parse_summary(line: &str) -> Option<Tally> {
    let rest = line.trim().strip_prefix("test result:")?;
    let (mut passed, mut failed, mut ignored, mut filtered_out) = (None, None, None, None);
    for part in rest.split(';') {
        // Each part is `[status.] N label`; `finished in 0.01s` has no count.
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| w.parse::<usize>().is_ok()) else {
            continue;
        };
        let n = words[at].parse::<usize>().ok();
        match words[at + 1..].join(" ").as_str() {
            "passed" => passed = n,
            "failed" => failed = n,
            "ignored" => ignored = n,
            "filtered out" => filtered_out = n,
            _ => {}
        }
    }
    Some(Tally {
        passed: passed?,
        failed: failed?,
        ignored: ignored?,
        filtered_out: filtered_out.unwrap_or(0),
    })
}

/// Sums every `test result:` line of `stdout`; an error if there is none
/// or one cannot be read.
fn tally(stdout: &str) -> Result<Tally, String> {
    let mut sum = Tally::default();
    let mut seen = 0;
    for line in stdout.lines().filter(|l| l.starts_with("test result:")) {
        let one = parse_summary(line).ok_or_else(|| format!("cannot read `{line}`"))?;
        sum.passed += one.passed;
        sum.failed += one.failed;
        sum.ignored += one.ignored;
        sum.filtered_out += one.filtered_out;
        seen += 1;
    }
    if seen == 0 {
        return Err("the live tests printed no result line".to_owned());
    }
    Ok(sum)
}

/// Runs `command`, printing its stdout as it comes (its stderr goes
/// straight through), and returns its status and stdout.
fn run_teed(mut command: Command) -> Result<(ExitStatus, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut stdout = String::new();
    if let Some(pipe) = child.stdout.take() {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    print!("{text}");
                    let _ = std::io::stdout().flush();
                    stdout.push_str(&text);
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for cargo: {e}"))?;
    Ok((status, stdout))
}

/// Prints the walk's report of every GET endpoint if the run that started
/// at `since` wrote it (each line's run writes it anew).
fn print_walk_report(root: &Path, line: &str, since: SystemTime) {
    let path = root.join("target/live-walk-report.txt");
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| modified >= since);
    match std::fs::read_to_string(&path) {
        Ok(report) if fresh => {
            println!("\nthe walk of every GET endpoint on {line}:\n{report}");
        }
        _ => println!(
            "\nthe live tests on {line} wrote no walk report ({})",
            path.display()
        ),
    }
}

/// Runs the live tests of the tests crate and of the CLI against the
/// line's cluster, and checks that every one the line selects ran and
/// passed: a live test that was skipped or filtered out would be a silent
/// pass. The offline tests ran in their own step; they do not run here.
fn live_tests(root: &Path, env: &[(String, String)], line: &Line) -> Result<(), String> {
    let name = line.name();
    let mut command = cargo_command(root, env);
    command
        .args(LIVE_TESTS)
        .arg("--list")
        .stderr(Stdio::inherit());
    let output = command
        .output()
        .map_err(|e| format!("cannot list the live tests: {e}"))?;
    let list = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        print!("{list}");
        return Err(format!("cannot list the live tests ({})", output.status));
    }
    let listed = listed_tests(&list);
    if listed.is_empty() {
        return Err("no live test was listed".to_owned());
    }
    let selection = select(&listed, line.options.secure);

    let mut args: Vec<&str> = LIVE_TESTS.to_vec();
    if !selection.skipped.is_empty() {
        args.push("--exact");
        for skipped in &selection.skipped {
            args.extend(["--skip", skipped.as_str()]);
        }
    }
    println!(
        "{} live tests listed, {} to run on {name}",
        listed.len(),
        selection.run
    );
    let mut command = cargo_command(root, env);
    command.args(&args);
    let since = SystemTime::now();
    let (status, stdout) = run_teed(command)?;
    print_walk_report(root, &name, since);

    let tally = tally(&stdout).map_err(|e| format!("{e} ({status})"))?;
    if !status.success() || tally.failed > 0 || tally.ignored > 0 || tally.passed != selection.run {
        return Err(format!(
            "every selected live test must run and pass on {name}: {} listed, {} named for \
             the secure line not run, so {} to run; {} passed, {} failed, {} ignored ({status})",
            listed.len(),
            selection.excluded,
            selection.run,
            tally.passed,
            tally.failed,
            tally.ignored
        ));
    }
    if selection.skipped.is_empty() {
        println!("all {} live tests ran and passed on {name}", tally.passed);
    } else {
        println!(
            "all {} live tests ran and passed on {name}; {} named for the secure line \
             (secure_*) were not run: {}",
            tally.passed,
            selection.excluded,
            selection.skipped.join(", ")
        );
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

/// The lines of `git status --porcelain --ignored` that make the checkout
/// differ from the committed tree: every line but the ignored `target/`
/// and `.druid/` (git prints an ignored folder once, as `!! target/`).
/// The checkout is clean when there are none.
fn unclean_entries(status: &str) -> Vec<&str> {
    status
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| !matches!(*line, "!! target/" | "!! .druid/"))
        .collect()
}

/// Runs the offline tests once. On a clean checkout they run in place, on
/// exactly the committed tree; else (uncommitted, untracked or other
/// ignored files) in a fresh clone of `HEAD`.
fn offline_tests(root: &Path) -> Result<(), String> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--ignored"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run git status: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git status failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let status = String::from_utf8_lossy(&output.stdout);
    let unclean = unclean_entries(&status);
    if unclean.is_empty() {
        println!(
            "the checkout is clean (git status --ignored shows only target/ and .druid/): \
             the offline tests run in place, on exactly the committed tree"
        );
        return cargo(root, &["test", "--workspace", "--locked"], &[]);
    }
    const SHOWN: usize = 5;
    let more = match unclean.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!("\n  ... and {n} more"),
    };
    println!(
        "the checkout is not clean (git status --ignored shows more than target/ and .druid/): \
         the offline tests run in a fresh clone of HEAD; it shows:\n  {}{more}",
        unclean[..unclean.len().min(SHOWN)].join("\n  ")
    );
    fresh_clone_tests(root)
}

/// The cargo-deny release CI installs (from crates.io) and runs.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// `cargo deny check licenses bans sources` with `deny.toml`, after
/// installing cargo-deny from crates.io when the one on the machine is not
/// [`CARGO_DENY_VERSION`] (a cold machine pays its build once). Advisories
/// are not checked: they need the RustSec database from GitHub, which CI
/// cannot reach (the README says so).
fn dependency_check(root: &Path) -> Result<(), String> {
    let installed = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["deny", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let wanted = format!("cargo-deny {CARGO_DENY_VERSION}");
    if installed.as_deref() != Some(wanted.as_str()) {
        println!(
            "installing {wanted} from crates.io (found: {})",
            installed.as_deref().unwrap_or("none")
        );
        cargo(
            root,
            &[
                "install",
                "cargo-deny",
                "--version",
                CARGO_DENY_VERSION,
                "--locked",
            ],
            &[],
        )?;
    }
    cargo(
        root,
        &[
            "deny",
            "--locked",
            "check",
            "--hide-inclusion-graph",
            "licenses",
            "bans",
            "sources",
        ],
        &[],
    )
}

/// This workspace's published crates.
const OUR_CRATES: [&str; 6] = [
    "druid-transport",
    "druid-discovery",
    "druid-api-codegen",
    "druid-api-macros",
    "druid-api",
    "druid-cli",
];

/// Whether a folder of an unpacked crate (`<name>-<version>`) is one of
/// [`OUR_CRATES`].
fn is_our_unpacked_crate(folder: &str) -> bool {
    folder
        .rsplit_once('-')
        .is_some_and(|(krate, _)| OUR_CRATES.contains(&krate))
}

/// Forgets the builds of this workspace's crates from an earlier `cargo
/// package`'s local registry, so that the verification compiles them again.
///
/// Cargo gives unpacked crate files a fixed old modification time, so a
/// build of the same name and version from an earlier run looks up to date
/// and the verification would link stale code (seen: a proc macro built
/// from the previous spec parser). Those builds are the ones whose dep-info
/// (`target/debug/deps/<crate>-<hash>.d`) names a `registry/src/-<hash>/`
/// source; their fingerprint folder is removed, nothing else.
fn clear_stale_package_builds(root: &Path) -> Result<(), String> {
    let debug = root.join("target/debug");
    let Ok(entries) = std::fs::read_dir(debug.join("deps")) else {
        return Ok(());
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".d") else {
            continue;
        };
        let Some((krate, hash)) = stem.rsplit_once('-') else {
            continue;
        };
        // Artifacts are named with `_` (`druid_api-<hash>.d`).
        let krate = krate.replace('_', "-");
        if !OUR_CRATES.contains(&krate.as_str()) {
            continue;
        }
        let from_local_registry = std::fs::read_to_string(entry.path())
            .is_ok_and(|deps| deps.contains("/registry/src/-"));
        let fingerprint = debug.join(".fingerprint").join(format!("{krate}-{hash}"));
        if from_local_registry && fingerprint.exists() {
            std::fs::remove_dir_all(&fingerprint)
                .map_err(|e| format!("cannot remove {}: {e}", fingerprint.display()))?;
            removed += 1;
        }
    }
    if removed > 0 {
        println!(
            "forgot {removed} build(s) of this workspace's crates from an earlier package run"
        );
    }
    Ok(())
}

/// Removes the copies of this workspace's crates that an earlier
/// `cargo package` unpacked from its temporary local registry.
///
/// Cargo unpacks the packaged crates under `$CARGO_HOME/registry/src/-<hash>/`
/// and does not unpack the same name and version again, so a later run would
/// verify against stale sources. Only directories of local registries (whose
/// names start with `-`) and only this workspace's crates are touched. The
/// builds made from them are forgotten too ([`clear_stale_package_builds`]).
fn clear_stale_packages(root: &Path) -> Result<(), String> {
    clear_stale_package_builds(root)?;
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
            if is_our_unpacked_crate(&crate_dir.file_name().to_string_lossy()) {
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
    ci.run("dependency check (cargo deny)", || dependency_check(root))?;
    ci.run("codegen check", || crate::codegen::run(true))?;
    ci.run("docs", || {
        cargo(
            root,
            &["doc", "--workspace", "--no-deps", "--locked"],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    // Before the smoke runs, which leave ignored files (the fuzzers' target
    // folder) that would make the checkout look unclean.
    ci.run("offline tests", || offline_tests(root))?;
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
        clear_stale_packages(root)?;
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

    // The lines one after the other, each stopped (also after a failure)
    // before the next starts; a failed line does not keep the next from
    // running.
    let mut failures = Vec::new();
    let mut still_up: Option<String> = None;
    for line in lines() {
        let name = line.name();
        if let Some(previous) = &still_up {
            let why = format!("not started: the {previous} cluster did not stop");
            let _ = ci.run(format!("{name}: druid up"), || Err(why.clone()));
            failures.push(format!("{name}: {why}"));
            continue;
        }
        let steps = run_line(ci, root, &line);
        let down = ci.run(format!("{name}: druid down"), || {
            druid::down(&line.options.state_dir)
        });
        if down.is_err() {
            still_up = Some(name.clone());
        }
        if let Err(e) = steps.and(down) {
            failures.push(format!("{name}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Starts the line's cluster and runs its steps; the caller stops it.
fn run_line(ci: &mut Ci, root: &Path, line: &Line) -> Result<(), String> {
    let name = line.name();
    let mut cluster = None;
    let up = ci.run(format!("{name}: druid up"), || {
        cluster = Some(druid::up(&line.options)?);
        Ok(())
    });
    let Some(info) = cluster.filter(|_| up.is_ok()) else {
        return up.and(Err("the cluster did not start".to_owned()));
    };
    let env: Vec<(String, String)> = info.env;
    let tests = ci.run(format!("{name}: live tests"), || {
        live_tests(root, &env, line)
    });
    if !line.example_and_faults {
        return tests;
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let example = ci.run(format!("{name}: quickstart example"), || {
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
    let faults = ci.run(format!("{name}: fault suite"), || {
        crate::faults::run_on(root, &line.options.state_dir)
    });
    tests.and(example).and(faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn the_lines_are_the_secure_default_and_a_plaintext_33() {
        let lines = lines();
        let names: Vec<String> = lines.iter().map(Line::name).collect();
        assert_eq!(
            names,
            [
                format!("Druid {} secure", druid::DEFAULT_DRUID_VERSION),
                "Druid 33.0.0 plaintext".to_owned()
            ]
        );
        let (first, second) = (&lines[0].options, &lines[1].options);
        assert!(first.secure && first.ha && first.msq && lines[0].example_and_faults);
        assert!(!second.secure && !second.ha && !second.msq && !lines[1].example_and_faults);
        assert_eq!(first.state_dir, UpOptions::default().state_dir);
        assert_eq!(second.state_dir, first.state_dir);
    }

    #[test]
    fn the_list_gives_the_full_names() {
        let list = "live_a: test\nlive::m::secure_b: test\nbench_x: benchmark\n\n\
                    2 tests, 1 benchmark\n";
        assert_eq!(listed_tests(list), names(&["live_a", "live::m::secure_b"]));
    }

    #[test]
    fn a_plaintext_line_skips_the_tests_named_for_the_secure_one() {
        let listed = names(&[
            "broker::query_runs",
            "secure_basic_auth",
            "cli::secure_profile",
            "cli::insecure_profile",
            "secure::plain_name",
            "walk::secure_walk",
            "secure_basic_auth",
        ]);
        assert_eq!(
            select(&listed, false),
            Selection {
                run: 3,
                skipped: names(&[
                    "secure_basic_auth",
                    "cli::secure_profile",
                    "walk::secure_walk"
                ]),
                excluded: 4,
            }
        );
        assert_eq!(
            select(&listed, true),
            Selection {
                run: 7,
                skipped: Vec::new(),
                excluded: 0,
            }
        );
    }

    #[test]
    fn reads_a_libtest_summary() {
        let line = "test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; \
                    3 filtered out; finished in 0.01s";
        assert_eq!(
            parse_summary(line),
            Some(Tally {
                passed: 7,
                failed: 0,
                ignored: 1,
                filtered_out: 3,
            })
        );
        let failed = "test result: FAILED. 10 passed; 2 failed; 0 ignored; 0 measured; \
                      0 filtered out; finished in 12.50s";
        assert_eq!(
            parse_summary(failed).map(|t| (t.passed, t.failed)),
            Some((10, 2))
        );
        assert_eq!(parse_summary("test result: ok."), None);
        assert_eq!(parse_summary("running 3 tests"), None);

        let stdout = format!("running 8 tests\n{line}\n\nrunning 12 tests\n{failed}\n");
        assert_eq!(
            tally(&stdout),
            Ok(Tally {
                passed: 17,
                failed: 2,
                ignored: 1,
                filtered_out: 3,
            })
        );
        assert!(tally("no summary here\n").is_err());
        assert!(tally("test result: garbled\n").is_err());
    }

    #[test]
    fn unpacked_crates_are_ours_by_exact_name() {
        assert!(is_our_unpacked_crate("druid-api-codegen-0.1.0"));
        assert!(is_our_unpacked_crate("druid-api-0.1.0"));
        assert!(!is_our_unpacked_crate("druid-api-extra-0.1.0"));
        assert!(!is_our_unpacked_crate("serde-1.0.0"));
    }

    #[test]
    fn a_checkout_is_clean_with_only_target_and_druid_ignored() {
        assert!(unclean_entries("").is_empty());
        assert!(unclean_entries("!! .druid/\n!! target/\n").is_empty());
        assert_eq!(
            unclean_entries("!! .druid/\n!! target/\n!! tests/fuzz/target/\n"),
            ["!! tests/fuzz/target/"]
        );
        assert_eq!(
            unclean_entries(" M xtask/src/ci.rs\n?? notes.txt\n!! target/\n"),
            [" M xtask/src/ci.rs", "?? notes.txt"]
        );
        // Only the folders themselves: what is in them or beside them counts.
        assert_eq!(
            unclean_entries("!! target/debug/x\n?? target/\n!! crates/x/target/\n"),
            ["!! target/debug/x", "?? target/", "!! crates/x/target/"]
        );
    }
}
