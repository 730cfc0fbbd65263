//! A child process for the memory-bound tests (`tests/tests/hostile.rs`):
//! it makes one call against a server and prints, as one JSON line, how it
//! ended and its peak resident memory (`VmHWM` of `/proc/self/status`), so
//! that the test measures this process alone, not the test runner and its
//! fake server.
//!
//! Usage: `read-probe CALL URL [gzip]`, where CALL is `status` (the
//! `/status` endpoint through the generated client) or `raw` (a generic
//! `GET /x` through `Service::get_text`); `gzip` asks for compressed
//! answers. A limit of 16 MiB on successful answers is set with
//! `max-16m` as a fourth argument.

// The probe's answer is its standard output.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use druid_api::prelude::*;
use serde_json::json;

/// The peak resident set of this process, in KiB (Linux only; 0 elsewhere).
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(call), Some(url)) = (args.first(), args.get(1)) else {
        eprintln!("usage: read-probe status|raw URL [gzip] [max-16m]");
        return ExitCode::FAILURE;
    };
    let gzip = args.iter().any(|a| a == "gzip");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("read-probe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome: Result<String, String> = runtime.block_on(async {
        let mut builder = druid_api::Client::builder().url(url.as_str()).no_retries();
        if gzip {
            builder = builder.compression(druid_api::Compression::Gzip);
        }
        if args.iter().any(|a| a == "max-16m") {
            builder = builder.max_response_bytes(16 << 20);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        match call.as_str() {
            "status" => client
                .status()
                .await
                .map(|s| s.version)
                .map_err(|e| e.to_string()),
            "raw" => client
                .service()
                .get_text("/x")
                .await
                .map(|text| format!("{} bytes", text.len()))
                .map_err(|e| e.to_string()),
            other => Err(format!("unknown call {other}")),
        }
    });
    let (ok, text) = match outcome {
        Ok(text) => (true, text),
        Err(text) => (false, text),
    };
    println!(
        "{}",
        json!({"ok": ok, "text": text, "vm_hwm_kib": vm_hwm_kib()})
    );
    ExitCode::SUCCESS
}
