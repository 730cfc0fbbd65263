//! `cargo xtask`: the project's automation, in Rust.
//!
//! - `codegen [--check]`: regenerates (or checks) the files derived from
//!   `api-spec/`: `api-spec/ENDPOINTS.md` and the expansion snapshots.
//! - `druid up|down|status|logs`: a local multi-process Druid cluster for the
//!   integration tests (see `druid/mod.rs`); `druid kill|stop|cont|start|leader`:
//!   faults on it, one service at a time.
//! - `spec check`: the spec's coverage of Druid's REST API.
//! - `bench [--smoke] [--repeat N] [--cluster]`: this client's cost beside
//!   plain reqwest, Python and Go clients, in one run (see `bench/mod.rs`).
//! - `fuzz [TARGET] [--time SECS | --runs N | --smoke | --merge]`: the
//!   libFuzzer targets of `tests/fuzz/`, built with nightly, without
//!   `cargo fuzz` (see `fuzz.rs`).
//! - `ci`: everything CI runs, the real cluster included.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod ci;
mod codegen;
mod druid;
mod faults;
mod fuzz;
mod spec_check;
mod walk;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Project automation for druid-rs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate the files derived from api-spec/ (ENDPOINTS.md, snapshots).
    Codegen {
        /// Fail if a derived file is stale instead of writing it.
        #[arg(long)]
        check: bool,
    },
    /// Run a local multi-process Druid cluster (up, down, status, logs) and inject faults
    /// (kill, stop, cont, start, leader).
    Druid {
        #[command(subcommand)]
        command: druid::DruidCommand,
    },
    /// Work with the endpoint spec.
    Spec {
        #[command(subcommand)]
        command: SpecCommand,
    },
    /// Measure SQL decoding, small requests and discovery against a stand-in
    /// Broker, beside plain reqwest, Python and Go; print a table and write
    /// target/bench/latest.json.
    Bench(bench::BenchArgs),
    /// Break a running `--ha` cluster one service at a time under a steady mixed load and
    /// report how the client coped (see xtask/src/faults.rs).
    Faults(faults::FaultsArgs),
    /// Fuzz the parsers with libFuzzer (tests/fuzz/; needs nightly, not
    /// cargo-fuzz); print a table and fail on any crash.
    Fuzz(fuzz::FuzzArgs),
    /// Run everything CI runs: checks, tests, a real cluster and the live tests.
    Ci,
}

#[derive(Debug, Subcommand)]
enum SpecCommand {
    /// Compare api-spec/ with Druid's endpoint table and print the coverage.
    Check {
        /// The endpoint table (default: tests/data/druid-api/endpoints.tsv).
        #[arg(long)]
        table: Option<PathBuf>,
    },
}

/// The workspace root (the parent of xtask/).
///
/// Cargo's run-time `CARGO_MANIFEST_DIR` comes first (`cargo xtask` and
/// `cargo test` set it): a binary built from another checkout into the same
/// target folder, as CI's fresh-clone step does, would otherwise point at
/// that checkout, deleted since.
pub(crate) fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Codegen { check } => codegen::run(check),
        Command::Druid { command } => druid::run(command),
        Command::Spec {
            command: SpecCommand::Check { table },
        } => spec_check::run(table),
        Command::Bench(args) => bench::run(&args),
        Command::Faults(args) => faults::run(&args),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Ci => ci::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
