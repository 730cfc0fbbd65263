//! `cargo xtask`: the project's automation, in Rust.
//!
//! - `codegen [--check]`: regenerates (or checks) the files derived from
//!   `api-spec/`: `api-spec/ENDPOINTS.md` and the expansion snapshots.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod codegen;

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
}

/// The workspace root (the parent of xtask/).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Codegen { check } => codegen::run(check),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
