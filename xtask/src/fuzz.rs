//! `cargo xtask fuzz`: the libFuzzer targets of `tests/fuzz/`, without
//! `cargo fuzz`.
//!
//! 1. It builds every target with `cargo +nightly` and the flags `cargo
//!    fuzz build` (0.13) sets: the SanitizerCoverage pass (inline 8-bit
//!    counters, PC table, compare tracing, stack depth), `--cfg fuzzing`,
//!    no branch folding, dead code stripped, release with one codegen
//!    unit; and debug info, debug assertions and overflow checks; for the
//!    host triple given as `--target`, so that build scripts and
//!    proc-macros are not instrumented. `--asan` adds AddressSanitizer
//!    (`cargo fuzz`'s default; the crates here forbid `unsafe`, so it is
//!    off unless asked for). cargo-fuzz itself is not needed.
//! 2. It runs each target on its committed corpus
//!    (`tests/fuzz/corpus/<target>/`, only read) and its work corpus
//!    (`target/fuzz/corpus/<target>/`, where new inputs go), for `--time`
//!    seconds or `--runs` executions, `--jobs` targets at a time, each
//!    single-threaded. A crash, a panic or a timeout fails the run; libFuzzer
//!    writes the input to `tests/fuzz/artifacts/<target>/` (gitignored) and
//!    the failure tells how to replay it (`--repro FILE`).
//! 3. It prints a table: per target the executions (libFuzzer's final
//!    `stat::number_of_executed_units`, else its last `#N` line), seconds,
//!    speed, corpus size and crashes; then the totals.
//!
//! `--smoke` is the short run for CI (20 s per target). `--merge`
//! minimizes: the committed corpus becomes the smallest set of the committed
//! and found inputs with the same edge coverage (libFuzzer's `-merge=1`
//! with `-use_counters=0`), to be committed after a long run.
//!
//! Every wait is bounded: the build by [`BUILD_LIMIT`], each libFuzzer
//! process by its own time budget plus [`GRACE`] (then it is killed).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;

/// Seconds per target of `--smoke`.
const SMOKE_SECS: u64 = 20;
/// Seconds per target without `--time` or `--runs`.
const DEFAULT_SECS: u64 = 60;
/// The time cap of a `--runs` run, per target: runs are bounded in time too.
const RUNS_CAP_SECS: u64 = 3600;
/// What the build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(45 * 60);
/// What a libFuzzer process may take beyond its budget (loading the corpus,
/// the final merge of its stats) before it is killed.
const GRACE: Duration = Duration::from_secs(120);
/// The longest input libFuzzer makes; the seeds are smaller.
const MAX_LEN: &str = "-max_len=65536";
/// libFuzzer's per-input timeout, in seconds.
const INPUT_TIMEOUT: &str = "-timeout=20";
const RSS_LIMIT: &str = "-rss_limit_mb=2048";

/// Arguments of `cargo xtask fuzz`.
#[derive(Debug, Clone, Args)]
pub(crate) struct FuzzArgs {
    /// The target to run (default: every target of tests/fuzz/Cargo.toml).
    pub(crate) target: Option<String>,
    /// Seconds to run each target (default 60).
    #[arg(long, value_name = "SECS", conflicts_with = "runs")]
    pub(crate) time: Option<u64>,
    /// Executions of each target (at most an hour each).
    #[arg(long, value_name = "N")]
    pub(crate) runs: Option<u64>,
    /// The short run of CI: 20 s per target.
    #[arg(long, conflicts_with_all = ["time", "runs"])]
    pub(crate) smoke: bool,
    /// Targets to run at once (one process each; default 1).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) jobs: usize,
    /// Minimize the committed corpus with what the runs found, instead of
    /// fuzzing.
    #[arg(long, conflicts_with_all = ["time", "runs", "smoke", "repro"])]
    pub(crate) merge: bool,
    /// Run TARGET once on this input (a crash's artifact) and show its
    /// output, instead of fuzzing.
    #[arg(long, value_name = "FILE", requires = "target", conflicts_with_all = ["time", "runs", "smoke"])]
    pub(crate) repro: Option<PathBuf>,
    /// Build with AddressSanitizer.
    #[arg(long)]
    pub(crate) asan: bool,
}

/// What one run of a target did.
#[derive(Debug)]
struct Outcome {
    target: String,
    executions: u64,
    seconds: f64,
    corpus: usize,
    /// The inputs libFuzzer saved as failing, in this run.
    crashes: Vec<PathBuf>,
    failure: Option<String>,
}

/// Where everything is.
struct Paths {
    fuzz_dir: PathBuf,
    work: PathBuf,
    binaries: PathBuf,
}

impl Paths {
    fn binary(&self, target: &str) -> PathBuf {
        self.binaries.join(target)
    }
}

pub(crate) fn run(args: &FuzzArgs) -> Result<(), String> {
    let root = crate::root();
    let fuzz_dir = root.join("tests/fuzz");
    let all = targets(&fuzz_dir)?;
    let chosen: Vec<String> = match &args.target {
        Some(target) if all.contains(target) => vec![target.clone()],
        Some(target) => {
            return Err(format!(
                "no fuzz target {target:?}; the targets are {}",
                all.join(", ")
            ));
        }
        None => all,
    };
    if args.jobs == 0 {
        return Err("--jobs must be at least 1".to_owned());
    }
    let started = Instant::now();
    let triple = nightly_host()?;
    let work = root.join("target/fuzz");
    build(&fuzz_dir, &work, &triple, args.asan)?;
    println!("fuzz: built the targets in {:.0?}", started.elapsed());
    let paths = Paths {
        binaries: work.join(&triple).join("release"),
        fuzz_dir,
        work,
    };

    if let Some(input) = &args.repro {
        return repro(&paths, &chosen[0], input);
    }
    if args.merge {
        for target in &chosen {
            merge(&paths, target)?;
        }
        println!(
            "fuzz: corpus {} bytes in all",
            dir_bytes_deep(&paths.fuzz_dir.join("corpus"))
        );
        return Ok(());
    }

    let limit = match (args.smoke, args.time, args.runs) {
        (true, _, _) => Limit::Time(SMOKE_SECS),
        (_, Some(secs), _) => Limit::Time(secs),
        (_, _, Some(runs)) => Limit::Runs(runs),
        _ => Limit::Time(DEFAULT_SECS),
    };
    let outcomes = run_all(&paths, &chosen, limit, args.jobs)?;
    print_table(&outcomes, started.elapsed());
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    let mut message = String::new();
    for outcome in failed {
        let _ = writeln!(
            message,
            "{}: {}",
            outcome.target,
            outcome.failure.as_deref().unwrap_or_default()
        );
        for crash in &outcome.crashes {
            let _ = writeln!(
                message,
                "  reproduce: cargo xtask fuzz {} --repro {}",
                outcome.target,
                crash.display()
            );
        }
    }
    Err(message.trim_end().to_owned())
}

/// How long each target runs.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Time(u64),
    Runs(u64),
}

impl Limit {
    fn flags(self) -> Vec<String> {
        match self {
            Limit::Time(secs) => vec![format!("-max_total_time={secs}")],
            Limit::Runs(runs) => vec![
                format!("-runs={runs}"),
                format!("-max_total_time={RUNS_CAP_SECS}"),
            ],
        }
    }

    /// When the process is killed.
    fn deadline(self) -> Duration {
        let secs = match self {
            Limit::Time(secs) => secs,
            Limit::Runs(_) => RUNS_CAP_SECS,
        };
        Duration::from_secs(secs) + GRACE
    }
}

/// Runs the targets, `jobs` at a time, in the order given.
fn run_all(
    paths: &Paths,
    targets: &[String],
    limit: Limit,
    jobs: usize,
) -> Result<Vec<Outcome>, String> {
    let next = Mutex::new(0_usize);
    let results: Mutex<Vec<(usize, Result<Outcome, String>)>> = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..jobs.min(targets.len()) {
            scope.spawn(|| {
                loop {
                    let index = {
                        let Ok(mut next) = next.lock() else { return };
                        let index = *next;
                        *next += 1;
                        index
                    };
                    let Some(target) = targets.get(index) else {
                        return;
                    };
                    let outcome = fuzz(paths, target, limit);
                    if let Ok(outcome) = &outcome {
                        println!("{}", row(outcome));
                    }
                    if let Ok(mut results) = results.lock() {
                        results.push((index, outcome));
                    }
                }
            });
        }
    });
    let mut results = results
        .into_inner()
        .map_err(|_| "a fuzz thread panicked".to_owned())?;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

/// The targets: the `[[bin]]` names of the fuzz crate's manifest.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let path = fuzz_dir.join("Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let manifest: toml::Value =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let names: Vec<String> = manifest
        .get("bin")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|bin| bin.get("name").and_then(toml::Value::as_str))
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Err(format!("{} lists no [[bin]] target", path.display()));
    }
    Ok(names)
}

/// `cargo +nightly`, outside the environment of the `cargo run` that
/// started this xtask.
fn nightly_cargo() -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly");
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "CARGO",
    ] {
        command.env_remove(var);
    }
    command
}

/// The host triple of the nightly toolchain; an error when it is missing.
fn nightly_host() -> Result<String, String> {
    let missing = "cargo xtask fuzz needs the nightly toolchain (libFuzzer's coverage flags are \
                   nightly-only): install it with `rustup toolchain install nightly`";
    let mut rustc = Command::new("rustc");
    rustc
        .args(["+nightly", "-vV"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let child = rustc.spawn().map_err(|_| missing.to_owned())?;
    let output = wait_output(child, Duration::from_secs(60)).map_err(|_| missing.to_owned())?;
    if !output.0.success() {
        return Err(missing.to_owned());
    }
    let text = output.1;
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .ok_or_else(|| format!("rustc +nightly -vV names no host: {text}"))
}

/// The flags `cargo fuzz build --release --debug-assertions` sets (its
/// defaults, without the sanitizer unless `asan`), and overflow checks.
/// Dead code is not kept (`-Clink-dead-code` doubled the binaries, and
/// libFuzzer scans every coverage counter after every input).
fn rustflags(triple: &str, asan: bool) -> String {
    let mut flags = vec![
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-pc-table",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
        "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
        "--cfg",
        "fuzzing",
        "-Cdebug-assertions",
        "-Coverflow-checks",
        // As cargo-fuzz's release builds: sancov otherwise keeps ThinLTO
        // from inlining across codegen units.
        "-Ccodegen-units=1",
    ];
    if triple.contains("-linux-") {
        flags.push("-Cllvm-args=-sanitizer-coverage-stack-depth");
    }
    if asan {
        flags.push("-Zsanitizer=address");
    }
    let mut flags = flags.join(" ");
    if let Ok(extra) = std::env::var("RUSTFLAGS")
        && !extra.trim().is_empty()
    {
        flags.push(' ');
        flags.push_str(&extra);
    }
    flags
}

fn build(fuzz_dir: &Path, work: &Path, triple: &str, asan: bool) -> Result<(), String> {
    let manifest = fuzz_dir.join("Cargo.toml");
    // ASan builds go to their own folder: the flags differ.
    let target_dir = if asan {
        work.join("asan")
    } else {
        work.to_owned()
    };
    let mut command = nightly_cargo();
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--locked", "--release", "--bins", "--target", triple])
        .args(["--config", "profile.release.debug=true"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", rustflags(triple, asan))
        .env("CARGO_FUZZ", "1")
        .stdin(Stdio::null());
    let child = command
        .spawn()
        .map_err(|e| format!("could not run cargo +nightly: {e}"))?;
    let status =
        wait_limited(child, BUILD_LIMIT).map_err(|e| format!("building the fuzz targets: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the fuzz targets failed ({status}); when cargo says the lock file needs \
             an update (a workspace crate's dependencies changed), run \
             `cargo +nightly update --workspace --manifest-path tests/fuzz/Cargo.toml` and commit \
             tests/fuzz/Cargo.lock"
        ));
    }
    if asan {
        // Run the instrumented binaries from where the others are.
        let from = target_dir.join(triple).join("release");
        let to = work.join(triple).join("release");
        fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
        for target in targets(fuzz_dir)? {
            fs::copy(from.join(&target), to.join(&target))
                .map_err(|e| format!("copying the ASan build of {target}: {e}"))?;
        }
    }
    Ok(())
}

/// Waits for `child`, killing it after `limit`.
fn wait_limited(mut child: Child, limit: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("killed after {limit:.0?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for the process: {e}")),
        }
    }
}

/// [`wait_limited`], with what the child wrote to its piped stdout.
fn wait_output(mut child: Child, limit: Duration) -> Result<(ExitStatus, String), String> {
    let stdout = child.stdout.take();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stdout) = stdout {
            let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        }
        text
    });
    let status = wait_limited(child, limit)?;
    let text = reader.join().unwrap_or_default();
    Ok((status, text))
}

/// The folders of a target: the committed corpus, the work corpus, the
/// artifacts and the log.
struct Folders {
    committed: PathBuf,
    corpus: PathBuf,
    artifacts: PathBuf,
    log: PathBuf,
}

impl Folders {
    fn of(paths: &Paths, target: &str) -> Result<Self, String> {
        let folders = Folders {
            committed: paths.fuzz_dir.join("corpus").join(target),
            corpus: paths.work.join("corpus").join(target),
            artifacts: paths.fuzz_dir.join("artifacts").join(target),
            log: paths.work.join("logs").join(format!("{target}.log")),
        };
        for dir in [&folders.committed, &folders.corpus, &folders.artifacts] {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        if let Some(parent) = folders.log.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        Ok(folders)
    }

    /// `-artifact_prefix=<artifacts>/`.
    fn artifact_flag(&self) -> OsString {
        let mut flag = OsString::from("-artifact_prefix=");
        flag.push(self.artifacts.as_os_str());
        flag.push("/");
        flag
    }

    fn log_file(&self) -> Result<fs::File, String> {
        fs::File::create(&self.log).map_err(|e| format!("{}: {e}", self.log.display()))
    }
}

fn fuzz(paths: &Paths, target: &str, limit: Limit) -> Result<Outcome, String> {
    let folders = Folders::of(paths, target)?;
    let binary = paths.binary(target);
    let before = files(&folders.artifacts);
    let started = Instant::now();
    let child = Command::new(&binary)
        .arg(folders.artifact_flag())
        .args(limit.flags())
        .args(["-print_final_stats=1", INPUT_TIMEOUT, RSS_LIMIT, MAX_LEN])
        .arg(&folders.corpus)
        .arg(&folders.committed)
        .env("ASAN_OPTIONS", "detect_odr_violation=0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(folders.log_file()?)
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", binary.display()))?;
    let status = wait_limited(child, limit.deadline());
    let seconds = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&folders.log).unwrap_or_default();
    let executions = executions(&text);
    let corpus = count_files(&folders.corpus) + count_files(&folders.committed);
    let crashes: Vec<PathBuf> = files(&folders.artifacts)
        .difference(&before)
        .map(|name| folders.artifacts.join(name))
        .collect();
    let failure = match &status {
        Ok(status) if status.success() && crashes.is_empty() => None,
        Ok(status) => Some(format!(
            "{} (exit {status}; log: {})",
            reason(&text),
            folders.log.display()
        )),
        Err(e) => Some(format!("{e} (log: {})", folders.log.display())),
    };
    Ok(Outcome {
        target: target.to_owned(),
        executions,
        seconds,
        corpus,
        crashes,
        failure,
    })
}

/// What a failed run's log says went wrong.
fn reason(log: &str) -> String {
    log.lines()
        .find(|l| l.contains("panicked at"))
        .or_else(|| {
            log.lines()
                .find(|l| l.starts_with("==") && l.contains("ERROR"))
        })
        .unwrap_or("the target failed")
        .trim()
        .to_owned()
}

/// Runs `target` once on `input`, its output shown.
fn repro(paths: &Paths, target: &str, input: &Path) -> Result<(), String> {
    if !input.is_file() {
        return Err(format!("{}: no such file", input.display()));
    }
    let binary = paths.binary(target);
    let child = Command::new(&binary)
        .args([INPUT_TIMEOUT, RSS_LIMIT, "-runs=1"])
        .arg(input)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", binary.display()))?;
    let status = wait_limited(child, Duration::from_secs(60) + GRACE)?;
    if status.success() {
        println!("fuzz: {target} runs {} without failing", input.display());
        Ok(())
    } else {
        Err(format!("{target} fails on {} ({status})", input.display()))
    }
}

/// Minimizes the committed corpus of `target` with its work corpus.
fn merge(paths: &Paths, target: &str) -> Result<(), String> {
    let folders = Folders::of(paths, target)?;
    let merged = paths.work.join("merged").join(target);
    let _ = fs::remove_dir_all(&merged);
    fs::create_dir_all(&merged).map_err(|e| format!("{}: {e}", merged.display()))?;
    let before = count_files(&folders.committed);
    let before_bytes = dir_bytes(&folders.committed);
    let child = Command::new(paths.binary(target))
        .arg(folders.artifact_flag())
        // Edge coverage only (not libFuzzer's hit-count buckets): a few
        // hundred inputs a target, not thousands, for the same edges.
        .args([
            "-merge=1",
            "-use_counters=0",
            INPUT_TIMEOUT,
            RSS_LIMIT,
            MAX_LEN,
        ])
        .arg(&merged)
        .arg(&folders.committed)
        .arg(&folders.corpus)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(folders.log_file()?)
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", paths.binary(target).display()))?;
    let status = wait_limited(child, Duration::from_secs(600))
        .map_err(|e| format!("{target}: merging: {e}"))?;
    if !status.success() {
        return Err(format!(
            "{target}: merging failed ({status}); log: {}",
            folders.log.display()
        ));
    }
    let after = count_files(&merged);
    if after == 0 {
        return Err(format!(
            "{target}: the merge kept no input; the corpus is left as it was"
        ));
    }
    fs::remove_dir_all(&folders.committed)
        .and_then(|()| fs::rename(&merged, &folders.committed))
        .map_err(|e| format!("{target}: replacing the corpus: {e}"))?;
    println!(
        "{target}: corpus {before} inputs ({before_bytes} bytes) -> {after} inputs ({} bytes)",
        dir_bytes(&folders.committed)
    );
    Ok(())
}

/// The executions of a libFuzzer run: its final stats, else the count of
/// its last status line (`#N DONE`, `#N pulse`, ...; a crash prints none).
fn executions(log: &str) -> u64 {
    stat(log, "stat::number_of_executed_units").unwrap_or_else(|| {
        log.lines()
            .rev()
            .filter_map(|l| l.strip_prefix('#'))
            .find_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .unwrap_or(0)
    })
}

fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.trim_start_matches(':').trim().parse().ok())
}

fn files(dir: &Path) -> BTreeSet<OsString> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .collect()
}

fn count_files(dir: &Path) -> usize {
    files(dir).len()
}

fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}

fn dir_bytes_deep(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| dir_bytes(&e.path()))
        .sum()
}

/// The width of the target column: the longest target name.
const NAME_WIDTH: usize = 16;

fn header() -> String {
    format!(
        "{:<NAME_WIDTH$} {:>11} {:>9} {:>9} {:>7} {:>8}  result",
        "target", "executions", "seconds", "exec/s", "corpus", "crashes"
    )
}

fn row(outcome: &Outcome) -> String {
    let speed = if outcome.seconds > 0.0 {
        outcome.executions as f64 / outcome.seconds
    } else {
        0.0
    };
    let result = match &outcome.failure {
        None => "ok".to_owned(),
        Some(failure) => format!("FAILED: {failure}"),
    };
    format!(
        "{:<NAME_WIDTH$} {:>11} {:>9.1} {:>9.0} {:>7} {:>8}  {result}",
        outcome.target,
        outcome.executions,
        outcome.seconds,
        speed,
        outcome.corpus,
        outcome.crashes.len(),
    )
}

fn print_table(outcomes: &[Outcome], elapsed: Duration) {
    println!();
    println!("{}", header());
    for outcome in outcomes {
        println!("{}", row(outcome));
    }
    let total = Outcome {
        target: "total".to_owned(),
        executions: outcomes.iter().map(|o| o.executions).sum(),
        seconds: outcomes.iter().map(|o| o.seconds).sum(),
        corpus: outcomes.iter().map(|o| o.corpus).sum(),
        crashes: outcomes.iter().flat_map(|o| o.crashes.clone()).collect(),
        failure: outcomes.iter().any(|o| o.failure.is_some()).then(|| {
            format!(
                "{} targets",
                outcomes.iter().filter(|o| o.failure.is_some()).count()
            )
        }),
    };
    println!("{}", row(&total));
    println!("fuzz: {:.0?} in all, the build included", elapsed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_stats() {
        let log = "#1024\tpulse  cov: 10\nstat::number_of_executed_units: 123456\n\
                   stat::average_exec_per_sec:     4115\n";
        assert_eq!(stat(log, "stat::number_of_executed_units"), Some(123_456));
        assert_eq!(stat(log, "stat::average_exec_per_sec"), Some(4_115));
        assert_eq!(stat(log, "stat::new_units_added"), None);
        assert_eq!(executions(log), 123_456);
    }

    #[test]
    fn counts_the_last_status_line_without_stats() {
        let log = "#2\tINITED cov: 5\n#8192\tpulse  cov: 10\n#9000\tDONE   cov: 12 exec/s: 300\n\
                   Done 9000 runs in 30 second(s)\n";
        assert_eq!(executions(log), 9_000);
        let crashed = "#4096\tpulse  cov: 10\n==123== ERROR: libFuzzer: deadly signal\n";
        assert_eq!(executions(crashed), 4_096);
        assert_eq!(reason(crashed), "==123== ERROR: libFuzzer: deadly signal");
        assert_eq!(executions(""), 0);
    }

    #[test]
    fn a_panic_is_the_reason() {
        let log = "INFO: seed\n\nthread '<unnamed>' panicked at fuzz_targets/x.rs:3:5:\n\
                   boom\n==1== ERROR: libFuzzer: deadly signal\n";
        assert_eq!(
            reason(log),
            "thread '<unnamed>' panicked at fuzz_targets/x.rs:3:5:"
        );
    }

    #[test]
    fn the_targets_are_the_manifests_bins() {
        let targets = targets(&crate::root().join("tests/fuzz")).unwrap();
        assert!(targets.contains(&"sql_rows".to_owned()), "{targets:?}");
        for target in &targets {
            let source = crate::root().join(format!("tests/fuzz/fuzz_targets/{target}.rs"));
            assert!(source.exists(), "{}", source.display());
            let corpus = crate::root().join(format!("tests/fuzz/corpus/{target}"));
            assert!(count_files(&corpus) > 0, "{} is empty", corpus.display());
        }
    }

    #[test]
    fn rustflags_are_cargo_fuzz_s() {
        let flags = rustflags("x86_64-unknown-linux-gnu", false);
        assert!(flags.contains("-Cpasses=sancov-module"));
        assert!(flags.contains("-sanitizer-coverage-inline-8bit-counters"));
        assert!(flags.contains("-sanitizer-coverage-trace-compares"));
        assert!(flags.contains("--cfg fuzzing"));
        assert!(flags.contains("-Cdebug-assertions"));
        assert!(flags.contains("-Ccodegen-units=1"));
        assert!(!flags.contains("link-dead-code"));
        assert!(!flags.contains("sanitizer=address"));
        assert!(rustflags("x86_64-unknown-linux-gnu", true).contains("-Zsanitizer=address"));
    }

    #[test]
    fn runs_are_bounded_in_time() {
        assert!(
            Limit::Runs(10)
                .flags()
                .iter()
                .any(|f| f.starts_with("-max_total_time="))
        );
        assert_eq!(Limit::Time(20).deadline(), Duration::from_secs(20) + GRACE);
    }

    #[test]
    fn a_slow_child_is_killed() {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let started = Instant::now();
        assert!(wait_limited(child, Duration::from_millis(300)).is_err());
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
