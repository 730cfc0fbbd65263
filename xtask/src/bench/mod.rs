//! `cargo xtask bench`: what this project's client costs beside the plain
//! tools and other languages' clients, measured in one run on this machine.
//!
//! 1. It builds `bench-server` and `bench-client` (the tests crate) and
//!    `druid` in the release profile (the debug one with `--smoke`), builds
//!    the Go anchor, and prepares pydruid's venv on first use;
//! 2. starts `bench-server` (a stand-in Broker streaming a generated
//!    wikipedia-shaped result) in its own process;
//! 3. runs every client variant in its own process, each printing one JSON
//!    line (wall and CPU time of its work, what it saw, its peak RSS), and
//!    checks that each saw the rows and checksum the server sent: a wrong
//!    answer fails the bench, it is never a figure;
//! 4. prints the table (min and median over `--repeat` runs, ratios to the
//!    parse floor and to Python requests + json) and writes the same as
//!    `target/bench/latest.json`.
//!
//! `--smoke` uses tiny sizes and asserts nothing about time: it proves that
//! every part works and that the answers agree (a step of `cargo xtask ci`).
//! As it never times, it runs the debug build CI has already made.
//! `--cluster` adds the same typed query through a real local cluster (see
//! [`cluster`]).

mod child;
mod cluster;
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Args;

use child::{ChildError, Server, run_json, run_setup};
use report::{Expect, FLOOR, Group, HEALTH_BASE, Outcome, PYTHON_JSON, Report, Run, Status};

/// Arguments of `cargo xtask bench`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Tiny sizes (10,000 rows, 200 small requests, 500 servers): check that
    /// every part works and the answers agree; nothing is asserted about time.
    #[arg(long)]
    pub(crate) smoke: bool,
    /// Rows of the SQL result (default 1,000,000; 10,000 with --smoke).
    #[arg(long, value_name = "N")]
    pub(crate) rows: Option<u64>,
    /// Sequential small requests per client (default 2,000; 200 with --smoke).
    #[arg(long, value_name = "N")]
    pub(crate) requests: Option<u64>,
    /// Servers of the sys.servers answer (default 5,000; 500 with --smoke).
    #[arg(long, value_name = "N")]
    pub(crate) servers: Option<u64>,
    /// Run every variant N times and report the min and the median.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) repeat: usize,
    /// Also run the typed query through the local cluster of `cargo xtask
    /// druid up` (ingesting the rows once, with MSQ).
    #[arg(long)]
    pub(crate) cluster: bool,
}

/// The sizes of one bench run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sizes {
    pub(crate) rows: u64,
    pub(crate) requests: u64,
    pub(crate) servers: u64,
    pub(crate) repeat: usize,
}

impl BenchArgs {
    /// The sizes: the flags, else the mode's defaults.
    pub(crate) fn sizes(&self) -> Sizes {
        let (rows, requests, servers) = if self.smoke {
            (10_000, 200, 500)
        } else {
            (1_000_000, 2_000, 5_000)
        };
        Sizes {
            rows: self.rows.unwrap_or(rows),
            requests: self.requests.unwrap_or(requests),
            servers: self.servers.unwrap_or(servers),
            repeat: self.repeat.max(1),
        }
    }

    /// The cargo profile the Rust binaries are built and run in: `dev` for a
    /// smoke run, which checks answers and never times, else `release`.
    pub(crate) fn profile(&self) -> &'static str {
        if self.smoke { "dev" } else { "release" }
    }

    /// The folder of the target folder that [`Self::profile`] builds into.
    pub(crate) fn profile_dir(&self) -> &'static str {
        match self.profile() {
            "dev" => "debug",
            other => other,
        }
    }

    /// The smoke run CI does.
    pub(crate) fn smoke() -> BenchArgs {
        BenchArgs {
            smoke: true,
            rows: None,
            requests: None,
            servers: None,
            repeat: 1,
            cluster: false,
        }
    }
}

/// How a variant is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// `bench-client <variant>`.
    Rust(&'static str),
    /// `anchor.py <mode>` with the system `python3`.
    Python(&'static str),
    /// `anchor.py pydruid` in the venv.
    Pydruid,
    /// The Go anchor.
    Go,
}

/// One measured client.
#[derive(Debug, Clone, Copy)]
struct Variant {
    id: &'static str,
    client: &'static str,
    format: &'static str,
    group: Group,
    how: How,
}

const fn sql(id: &'static str, client: &'static str, format: &'static str, how: How) -> Variant {
    Variant {
        id,
        client,
        format,
        group: Group::Sql,
        how,
    }
}

/// Every variant, in run order.
const VARIANTS: &[Variant] = &[
    sql(
        FLOOR,
        "parse floor: serde_json::from_slice (in memory)",
        "object",
        How::Rust("parse-floor"),
    ),
    sql(
        "reqwest",
        "reqwest bytes + serde_json::from_slice",
        "object",
        How::Rust("reqwest"),
    ),
    sql(
        "druid-api-rows",
        "druid-api sql().rows::<Row>()",
        "default",
        How::Rust("druid-api-rows"),
    ),
    sql(
        "druid-api-stream",
        "druid-api sql().stream::<Row>()",
        "default",
        How::Rust("druid-api-stream"),
    ),
    sql(
        "druid-api-object",
        "druid-api sql().rows::<Row>()",
        "object",
        How::Rust("druid-api-object"),
    ),
    sql(
        "druid-api-objectLines",
        "druid-api sql().rows::<Row>()",
        "objectLines",
        How::Rust("druid-api-objectLines"),
    ),
    sql(
        "druid-api-array",
        "druid-api sql().rows::<Row>()",
        "array",
        How::Rust("druid-api-array"),
    ),
    sql(
        "druid-api-arrayLines",
        "druid-api sql().rows::<Row>()",
        "arrayLines",
        How::Rust("druid-api-arrayLines"),
    ),
    sql(
        "druid-api-csv",
        "druid-api sql().send() + csv_rows()",
        "csv",
        How::Rust("druid-api-csv"),
    ),
    sql(
        "druid-api-stream-object",
        "druid-api sql().stream::<Row>()",
        "object",
        How::Rust("druid-api-stream-object"),
    ),
    sql(
        "druid-api-stream-objectLines",
        "druid-api sql().stream::<Row>()",
        "objectLines",
        How::Rust("druid-api-stream-objectLines"),
    ),
    sql(
        "druid-api-stream-array",
        "druid-api sql().stream::<Row>()",
        "array",
        How::Rust("druid-api-stream-array"),
    ),
    sql(
        "druid-api-stream-csv",
        "druid-api sql().stream::<Row>()",
        "csv",
        How::Rust("druid-api-stream-csv"),
    ),
    sql(
        "druid-api-stream-gzip",
        "druid-api stream::<Row>(), Compression::Gzip",
        "default",
        How::Rust("druid-api-stream-gzip"),
    ),
    sql(
        "druid-cli-csv",
        "the druid command line: druid sql -o csv",
        "default",
        How::Rust("druid-cli-csv"),
    ),
    sql(
        PYTHON_JSON,
        "Python requests + response.json()",
        "object",
        How::Python("requests-json"),
    ),
    sql(
        "py-requests-orjson",
        "Python requests + orjson.loads",
        "object",
        How::Python("requests-orjson"),
    ),
    sql(
        "pydruid",
        "Python pydruid DB-API cursor",
        "object",
        How::Pydruid,
    ),
    sql("go", "Go net/http + encoding/json", "object", How::Go),
    Variant {
        id: "headers",
        client: "druid-api columns()/rows() with every header",
        format: "all 5",
        group: Group::Check,
        how: How::Rust("headers"),
    },
    Variant {
        id: "health-druid-api",
        client: "druid_api::connect(url)?.is_healthy()",
        format: "",
        group: Group::Small,
        how: How::Rust("health-druid-api"),
    },
    Variant {
        id: HEALTH_BASE,
        client: "bare reqwest::Client GET",
        format: "",
        group: Group::Small,
        how: How::Rust("health-reqwest"),
    },
    Variant {
        id: "cluster",
        client: "client.cluster().await (end to end)",
        format: "",
        group: Group::Discovery,
        how: How::Rust("cluster"),
    },
    Variant {
        id: "from-rows",
        client: "ClusterModel::from_rows (rows decoded before)",
        format: "",
        group: Group::Discovery,
        how: How::Rust("from-rows"),
    },
];

/// The programs the variants need, found (or built) once.
#[derive(Debug)]
struct Tools {
    bench_client: PathBuf,
    /// The stand-in Broker, built beside the client.
    bench_server: PathBuf,
    anchor_py: PathBuf,
    /// `python3` with requests; else why not.
    python: Result<PathBuf, String>,
    /// Whether that Python has orjson.
    orjson: Result<(), String>,
    /// The venv's Python with pydruid.
    pydruid: Result<PathBuf, String>,
    /// The built Go anchor.
    go: Result<PathBuf, String>,
}

/// The cargo target folder.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

/// Whether `program` runs at all (`program --version`).
fn exists(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

fn python_has(python: &Path, module: &str) -> Result<(), String> {
    let mut command = Command::new(python);
    command.args(["-c", &format!("import {module}")]);
    run_setup(command)
        .map(drop)
        .map_err(|_| format!("{} cannot import {module}", python.display()))
}

/// Builds the Rust binaries in the profile of `args` and the Go anchor,
/// and finds Python and pydruid (installing pydruid into
/// `target/bench/venv` on first use).
fn prepare(root: &Path, bench_dir: &Path, args: &BenchArgs) -> Result<Tools, String> {
    let profile = args.profile();
    let why = if args.smoke {
        ": a smoke run checks answers, not time"
    } else {
        ""
    };
    println!(
        "==> building bench-server, bench-client and druid (profile {profile}, target/{}{why})",
        args.profile_dir()
    );
    crate::ci::cargo(
        root,
        &[
            "build",
            "--profile",
            profile,
            "--locked",
            "--quiet",
            "-p",
            "druid-tests",
            "--bin",
            "bench-server",
            "--bin",
            "bench-client",
            "-p",
            "druid-cli",
            "--bin",
            "druid",
        ],
        &[],
    )?;
    let binaries = target_dir(root).join(args.profile_dir());
    let python = if exists("python3") {
        let python = PathBuf::from("python3");
        python_has(&python, "requests").map(|()| python)
    } else {
        Err("no python3 on PATH".to_owned())
    };
    let orjson = match &python {
        Ok(python) => python_has(python, "orjson"),
        Err(e) => Err(e.clone()),
    };
    let pydruid = match &python {
        Ok(_) => pydruid_venv(bench_dir),
        Err(e) => Err(e.clone()),
    };
    let go = if exists("go") {
        println!("==> building the Go anchor");
        let out = bench_dir.join("go-anchor");
        let mut command = Command::new("go");
        command
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(root.join("tests/bench/go"))
            .env("GOTOOLCHAIN", "local")
            .env("GOWORK", "off")
            .env("GOFLAGS", "-mod=mod");
        // A Go that is there but cannot build the anchor is a failure of
        // the bench, not a missing tool.
        run_setup(command)?;
        Ok(out)
    } else {
        Err("no go on PATH".to_owned())
    };
    Ok(Tools {
        bench_client: binaries.join("bench-client"),
        bench_server: binaries.join("bench-server"),
        anchor_py: root.join("tests/bench/anchor.py"),
        python,
        orjson,
        pydruid,
        go,
    })
}

/// `target/bench/venv` with pydruid, made on first use (it sees the
/// system's site packages, so it uses the same requests).
fn pydruid_venv(bench_dir: &Path) -> Result<PathBuf, String> {
    let venv = bench_dir.join("venv");
    let python = venv.join("bin/python");
    if python.exists() && python_has(&python, "pydruid").is_ok() {
        return Ok(python);
    }
    println!("==> installing pydruid into {}", venv.display());
    let mut command = Command::new("python3");
    command
        .args(["-m", "venv", "--system-site-packages"])
        .arg(&venv);
    run_setup(command).map_err(|e| format!("cannot make the venv: {e}"))?;
    let mut command = Command::new(venv.join("bin/pip"));
    command
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "pydruid",
        ])
        .env("PIP_NO_INPUT", "1");
    run_setup(command).map_err(|e| format!("pip install pydruid failed: {e}"))?;
    python_has(&python, "pydruid")?;
    Ok(python)
}

/// Where the clients send their queries, and what the SQL ones query.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The base URL.
    pub(crate) url: String,
    /// `BENCH_TABLE` for the clients, if not the default.
    pub(crate) table: Option<String>,
}

/// The command of one run, or why the variant cannot run here.
fn command(
    variant: &Variant,
    tools: &Tools,
    target: &Target,
    sizes: &Sizes,
) -> Result<Command, Status> {
    let not_installed = |e: &String| Status::NotInstalled(e.clone());
    let mut command = match variant.how {
        How::Rust(name) => {
            let mut command = Command::new(&tools.bench_client);
            command.arg(name).arg(&target.url);
            if variant.group == Group::Small {
                command.arg(sizes.requests.to_string());
            }
            command
        }
        How::Python(mode) => {
            let python = tools.python.as_ref().map_err(not_installed)?;
            if mode == "requests-orjson" {
                tools.orjson.as_ref().map_err(not_installed)?;
            }
            let mut command = Command::new(python);
            command.arg(&tools.anchor_py).arg(mode).arg(&target.url);
            command
        }
        How::Pydruid => {
            let python = tools.pydruid.as_ref().map_err(not_installed)?;
            let mut command = Command::new(python);
            command
                .arg(&tools.anchor_py)
                .arg("pydruid")
                .arg(&target.url);
            command
        }
        How::Go => {
            let go = tools.go.as_ref().map_err(not_installed)?;
            let mut command = Command::new(go);
            command.arg(&target.url);
            command
        }
    };
    if let Some(table) = &target.table {
        command.env("BENCH_TABLE", table);
    }
    Ok(command)
}

/// Runs `variants` `repeat` times (checks once), interleaved, against
/// `target`, checking each answer.
fn measure(
    variants: &[Variant],
    tools: &Tools,
    target: &Target,
    sizes: &Sizes,
    expect: &Expect,
    limit: Duration,
    label: &str,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = variants
        .iter()
        .map(|v| Outcome {
            id: v.id,
            client: v.client,
            format: v.format,
            group: v.group,
            status: Status::Ok,
            runs: Vec::new(),
        })
        .collect();
    for round in 0..sizes.repeat {
        for (variant, outcome) in variants.iter().zip(outcomes.iter_mut()) {
            if outcome.status != Status::Ok || (variant.group == Group::Check && round > 0) {
                continue;
            }
            let command = match command(variant, tools, target, sizes) {
                Ok(command) => command,
                Err(status) => {
                    outcome.status = status;
                    continue;
                }
            };
            let result = run_json(command, limit);
            outcome.status = match result {
                Ok(line) if line["status"] == "not built yet" => Status::NotBuilt,
                Ok(line) => match report::check(variant.group, &line, expect) {
                    Ok(()) => {
                        outcome.runs.push(Run::of(&line));
                        Status::Ok
                    }
                    Err(wrong) => Status::Failed(wrong),
                },
                Err(e @ (ChildError::Failed(_) | ChildError::TimedOut(_))) => {
                    Status::Failed(e.to_string())
                }
            };
            let shown = match (&outcome.status, outcome.runs.last()) {
                (Status::Ok, Some(run)) => format!("{:.1} ms", run.wall_ms),
                (status, _) => format!("{status:?}"),
            };
            let format = if variant.format.is_empty() {
                String::new()
            } else {
                format!(" ({})", variant.format)
            };
            println!(
                "  {label}{}{format} run {}: {shown}",
                variant.client,
                round + 1
            );
        }
    }
    outcomes
}

/// Runs the bench.
pub(crate) fn run(args: &BenchArgs) -> Result<(), String> {
    let root = crate::root();
    let sizes = args.sizes();
    let bench_dir = target_dir(&root).join("bench");
    std::fs::create_dir_all(&bench_dir)
        .map_err(|e| format!("cannot create {}: {e}", bench_dir.display()))?;
    let tools = prepare(&root, &bench_dir, args)?;
    println!(
        "==> bench-server: {} rows, {} servers",
        report::thousands(sizes.rows),
        report::thousands(sizes.servers)
    );
    let server = Server::start(
        &tools.bench_server,
        &[
            "--rows".to_owned(),
            sizes.rows.to_string(),
            "--servers".to_owned(),
            sizes.servers.to_string(),
        ],
    )?;
    let expect = Expect::from_ready(&server.ready, sizes.requests)?;
    let limit = Duration::from_secs(if args.smoke { 120 } else { 900 });
    let target = Target {
        url: server.url.clone(),
        table: None,
    };
    println!("==> measuring against {}", target.url);
    let mut outcomes = measure(VARIANTS, &tools, &target, &sizes, &expect, limit, "");
    drop(server);
    let mut notes = Vec::new();
    if args.smoke {
        notes.push(format!(
            "smoke run: tiny sizes, the Rust binaries in the {} profile (target/{}); \
             it checks that every variant gives the same answer, its times are no benchmark",
            args.profile(),
            args.profile_dir()
        ));
    }
    if args.cluster {
        let sql_variants: Vec<Variant> = VARIANTS
            .iter()
            .copied()
            .filter(|v| cluster::VARIANTS.contains(&v.id))
            .collect();
        match cluster::prepare(&root, &tools.bench_server, &sizes, &expect) {
            Ok(target) => {
                println!("==> measuring against the cluster at {}", target.url);
                let mut measured = measure(
                    &sql_variants,
                    &tools,
                    &target,
                    &sizes,
                    &expect,
                    limit,
                    "cluster: ",
                );
                for outcome in &mut measured {
                    outcome.id = cluster::id(outcome.id);
                    outcome.format = "via Router";
                }
                notes.push(format!(
                    "'via Router' rows: the same query through the local cluster's Router \
                     at {}, on its datasource {}: druid-api's stream in its default format \
                     (arrayLines with a header), the others in the object format (x floor: \
                     against the loopback parse floor)",
                    target.url,
                    target.table.as_deref().unwrap_or("?")
                ));
                outcomes.extend(measured);
            }
            Err(e) => {
                notes.push(format!("--cluster: not measured: {e}"));
                outcomes.push(Outcome {
                    id: "cluster-druid-api-object",
                    client: "druid-api sql().rows::<Row>()",
                    format: "via Router",
                    group: Group::Sql,
                    status: Status::Failed(e),
                    runs: Vec::new(),
                });
            }
        }
    }
    let report = Report {
        mode: if args.smoke { "smoke" } else { "full" },
        source: "bench-server over loopback".to_owned(),
        expect,
        repeat: sizes.repeat,
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        outcomes,
        notes,
    };
    println!("\n{}", report.render());
    let json_path = bench_dir.join("latest.json");
    let json = serde_json::to_string_pretty(&report.to_json())
        .map_err(|e| format!("cannot write the report as JSON: {e}"))?;
    std::fs::write(&json_path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    println!("wrote {}", json_path.display());
    let failures = report.failures();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} variant(s) failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn sizes(args: &[&str]) -> Sizes {
        let mut argv = vec!["bench"];
        argv.extend(args);
        Cli::parse_from(argv).bench.sizes()
    }

    #[test]
    fn sizes_follow_the_mode_and_the_flags() {
        assert_eq!(
            sizes(&[]),
            Sizes {
                rows: 1_000_000,
                requests: 2_000,
                servers: 5_000,
                repeat: 1
            }
        );
        assert_eq!(
            sizes(&["--smoke"]),
            Sizes {
                rows: 10_000,
                requests: 200,
                servers: 500,
                repeat: 1
            }
        );
        assert_eq!(sizes(&["--smoke", "--rows", "50"]).rows, 50);
        assert_eq!(sizes(&["--repeat", "5"]).repeat, 5);
        assert_eq!(BenchArgs::smoke().sizes(), sizes(&["--smoke"]));
    }

    #[test]
    fn the_smoke_runs_the_debug_build_and_a_real_run_the_release_one() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["bench"];
            argv.extend(args);
            Cli::parse_from(argv).bench
        };
        let smoke = BenchArgs::smoke();
        assert_eq!((smoke.profile(), smoke.profile_dir()), ("dev", "debug"));
        let smoke = parse(&["--smoke", "--cluster"]);
        assert_eq!((smoke.profile(), smoke.profile_dir()), ("dev", "debug"));
        let full = parse(&["--repeat", "3"]);
        assert_eq!((full.profile(), full.profile_dir()), ("release", "release"));
    }

    #[test]
    fn every_variant_has_a_unique_id_and_the_ratio_bases_exist() {
        let mut ids: Vec<&str> = VARIANTS.iter().map(|v| v.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), VARIANTS.len());
        for base in [FLOOR, PYTHON_JSON, HEALTH_BASE, "druid-api-stream"] {
            assert!(ids.contains(&base), "{base}");
        }
        for id in cluster::VARIANTS {
            assert!(ids.contains(id), "{id}");
        }
    }
}
