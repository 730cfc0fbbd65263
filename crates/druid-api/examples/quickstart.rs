//! The main example: connect to a cluster, discover it, check every
//! service, ingest a few rows with SQL (MSQ), and query them.
//!
//! ```sh
//! cargo xtask druid up && cargo run --example quickstart
//! ```
//!
//! It talks to `DRUID_URL` (default `http://localhost:8888`, the Router of
//! `cargo xtask druid up`), with Basic auth when `DRUID_USER` and
//! `DRUID_PASSWORD` are set (the `--secure` cluster).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use druid_api::models::SqlParameter;
use druid_api::prelude::*;

const TABLE: &str = "quickstart_wiki";

#[derive(Debug, serde::Deserialize)]
struct Edit {
    page: String,
    added: i64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The error, then its causes.
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("error: {message}");
            if error.is_connect() {
                eprintln!("is the cluster up? start one with `cargo xtask druid up`");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> druid_api::Result<()> {
    let started = Instant::now();
    let url = std::env::var("DRUID_URL").unwrap_or_else(|_| "http://localhost:8888".to_owned());
    let mut builder = druid_api::Client::builder().url(url.clone());
    if let Ok(user) = std::env::var("DRUID_USER") {
        builder = builder.basic_auth(user, std::env::var("DRUID_PASSWORD").unwrap_or_default());
    }
    let client = builder.build()?;
    println!(
        "connected to {url}: healthy = {}",
        client.is_healthy().await?
    );

    // Discovery: every service of the cluster, from sys.servers.
    let cluster = client.cluster().await?;
    println!("\nservers:");
    for server in cluster.servers() {
        let roles: Vec<String> = server
            .roles
            .iter()
            .map(|role| match role.is_leader {
                Some(true) => format!("{} (leader)", role.server_type),
                _ => role.server_type.to_string(),
            })
            .collect();
        println!("  {:<18} {}", server.server, roles.join(" + "));
    }
    for server in cluster.servers() {
        let any = cluster.service(&server.server)?;
        let status = any.status().await?;
        println!(
            "  {:<18} healthy={} version={}",
            server.server,
            any.is_healthy().await?,
            status.version
        );
    }

    // Ingestion with SQL (MSQ), then a query with a parameter.
    let overlord = cluster.overlord()?;
    let replace = format!(
        r#"REPLACE INTO "{TABLE}" OVERWRITE ALL
SELECT TIME_PARSE("ts") AS __time, "page", "added"
FROM TABLE(EXTERN(
  '{{"type":"inline","data":"ts,page,added\n2024-01-01T00:00:00Z,Rust,10\n2024-01-01T01:00:00Z,Druid,32\n2024-01-02T00:00:00Z,Rust,5\n"}}',
  '{{"type":"csv","findColumnsFromHeader":true}}',
  '[{{"name":"ts","type":"string"}},{{"name":"page","type":"string"}},{{"name":"added","type":"long"}}]'
))
PARTITIONED BY DAY"#
    );
    let (task, status) = client
        .sql(replace)
        .context("maxNumTasks", 2)
        .run_task(&overlord, Duration::from_secs(180))
        .await?;
    println!(
        "\ningested with task {} in {} ms",
        task.task_id,
        status.duration.unwrap_or(-1)
    );
    let rows = client
        .wait_until_queryable(TABLE, 3, Duration::from_secs(120))
        .await?;
    println!("{TABLE} answers SQL with {rows} rows");

    let edits: Vec<Edit> = client
        .sql(format!(r#"SELECT page, SUM(added) AS added FROM "{TABLE}" WHERE added > ? GROUP BY page ORDER BY added DESC"#))
        .parameter(SqlParameter::bigint(1))
        .rows()
        .await?;
    for edit in &edits {
        println!("  {:<6} {}", edit.page, edit.added);
    }

    // The Coordinator's view of the new datasource.
    let coordinator = cluster.coordinator()?;
    let summary = coordinator.datasource(TABLE).await?;
    if let Some(segments) = summary.and_then(|s| s.segments) {
        println!(
            "\n{TABLE}: {} segments, {} bytes, {} .. {}",
            segments.count.unwrap_or_default(),
            segments.size.unwrap_or_default(),
            segments.min_time.unwrap_or_default(),
            segments.max_time.unwrap_or_default()
        );
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
