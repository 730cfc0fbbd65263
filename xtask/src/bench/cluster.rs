//! `--cluster`: the same typed query through the Router of the local cluster
//! that `cargo xtask druid up` started (its URL from `.druid/cluster.env`),
//! on a datasource of the bench's rows.
//!
//! The rows are the bench server's own (`bench-server --write-lines`), so
//! the clients must see the same count and checksum. They are ingested
//! once, with MSQ from a local file (`EXTERN` with a `local` input source:
//! no network), into `bench_wiki_<rows>`; a datasource that already has the
//! rows and the sum of `added` is kept.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Target;
use super::report::{Expect, PYTHON_JSON};
use crate::druid::http::Client;

/// The SQL variants run against the cluster too.
pub(crate) const VARIANTS: &[&str] = &[
    "reqwest",
    "druid-api-object",
    "druid-api-stream",
    PYTHON_JSON,
    "go",
];

/// The id of a variant's cluster row.
pub(crate) fn id(variant: &str) -> &'static str {
    match variant {
        "reqwest" => "cluster-reqwest",
        "druid-api-object" => "cluster-druid-api-object",
        "druid-api-stream" => "cluster-druid-api-stream",
        PYTHON_JSON => "cluster-py-requests-json",
        "go" => "cluster-go",
        _ => "cluster-other",
    }
}

/// `KEY=value` lines.
fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The port of `http://host:port`.
fn port_of(url: &str) -> Result<u16, String> {
    url.strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|authority| authority.rsplit_once(':'))
        .and_then(|(_, port)| port.parse().ok())
        .ok_or_else(|| format!("DRUID_URL {url:?} is not http://host:port"))
}

/// The MSQ statement that ingests the rows file.
fn ingest_sql(table: &str, file: &Path) -> String {
    let input = json!({ "type": "local", "files": [file.to_string_lossy()] }).to_string();
    let columns: Vec<Value> = [
        ("ts", "string"),
        ("channel", "string"),
        ("page", "string"),
        ("user", "string"),
        ("isRobot", "string"),
        ("added", "long"),
        ("deleted", "long"),
        ("delta", "long"),
        ("countryName", "string"),
        ("cityName", "string"),
    ]
    .iter()
    .map(|(name, kind)| json!({ "name": name, "type": kind }))
    .collect();
    let signature = Value::Array(columns).to_string();
    let quote = |s: &str| s.replace('\'', "''");
    format!(
        "REPLACE INTO \"{table}\" OVERWRITE ALL\n\
         SELECT TIME_PARSE(\"ts\") AS __time, channel, page, \"user\", isRobot, added, deleted, \
         delta, countryName, cityName\n\
         FROM TABLE(EXTERN('{}', '{{\"type\":\"json\"}}', '{}'))\n\
         PARTITIONED BY DAY",
        quote(&input),
        quote(&signature)
    )
}

/// `COUNT(*)` and `SUM(added)` of the table, if it answers.
fn count(client: &Client, port: u16, table: &str) -> Result<(u64, i64), String> {
    let query = json!({
        "query": format!("SELECT COUNT(*) AS c, SUM(added) AS a FROM \"{table}\""),
    });
    let response = client.post_json(port, "/druid/v2/sql", &query)?;
    if !response.is_success() {
        return Err(response.summary());
    }
    let json = response.json()?;
    let rows = json.pointer("/0/c").and_then(Value::as_u64).unwrap_or(0);
    let added = json.pointer("/0/a").and_then(Value::as_i64).unwrap_or(0);
    Ok((rows, added))
}

/// Finds the cluster, ingests the rows unless they are there, and returns
/// where the clients go.
pub(crate) fn prepare(
    root: &Path,
    server_program: &Path,
    sizes: &super::Sizes,
    expect: &Expect,
) -> Result<Target, String> {
    let env_file = root.join(".druid/cluster.env");
    let text = std::fs::read_to_string(&env_file).map_err(|e| {
        format!(
            "no cluster: cannot read {} ({e}); start one with `cargo xtask druid up`",
            env_file.display()
        )
    })?;
    let env = parse_env(&text);
    let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if get("DRUID_USER").is_some() {
        return Err(
            "the cluster is secure (Basic auth) and the bench clients send no credentials; \
             start it with `cargo xtask druid up` (without --secure)"
                .to_owned(),
        );
    }
    let url = get("DRUID_URL").ok_or_else(|| format!("{} has no DRUID_URL", env_file.display()))?;
    let port = port_of(&url)?;
    let client = Client::new(Duration::from_secs(120));
    let table = format!("bench_wiki_{}", sizes.rows);
    match count(&client, port, &table) {
        Ok((rows, added)) if rows == expect.rows && added == expect.added_sum => {
            println!("==> {table} already has the {rows} rows: not ingesting");
        }
        found => {
            let found = match found {
                Ok((rows, _)) => format!("{rows} rows"),
                Err(_) => "no such table".to_owned(),
            };
            println!("==> ingesting {table} with MSQ (it has {found})");
            ingest(&client, port, server_program, &table, sizes.rows, expect)?;
        }
    }
    Ok(Target {
        url,
        table: Some(table),
    })
}

fn ingest(
    client: &Client,
    port: u16,
    server_program: &Path,
    table: &str,
    rows: u64,
    expect: &Expect,
) -> Result<(), String> {
    let dir = server_program
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("bench/cluster"))
        .ok_or("no target folder")?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file = dir.join(format!("{table}.json"));
    let mut command = std::process::Command::new(server_program);
    command
        .args([
            "--rows",
            &rows.to_string(),
            "--time-key",
            "ts",
            "--write-lines",
        ])
        .arg(&file);
    super::child::run_setup(command)?;
    let started = Instant::now();
    let body = json!({
        "query": ingest_sql(table, &file),
        "context": { "maxNumTasks": 2, "finalizeAggregations": false },
    });
    let response = client.post_json(port, "/druid/v2/sql/task", &body)?;
    let task = response
        .json()
        .ok()
        .filter(|_| response.is_success())
        .and_then(|j| j["taskId"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("the MSQ task was refused: {}", response.summary()))?;
    println!("    task {task}");
    let status_path = format!("/druid/indexer/v1/task/{task}/status");
    wait("the MSQ task", Duration::from_secs(1800), || {
        let response = client.get(port, &status_path)?;
        let json = response.json()?;
        match json.pointer("/status/statusCode").and_then(Value::as_str) {
            Some("SUCCESS") => Ok(true),
            Some("FAILED") => Err(format!("task {task} FAILED: {}", response.summary())),
            _ => Ok(false),
        }
    })?;
    wait("the rows to be queryable", Duration::from_secs(600), || {
        Ok(matches!(count(client, port, table), Ok((n, _)) if n == expect.rows))
    })?;
    println!(
        "    ingested {rows} rows in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Polls `probe` every 2 s until it says done, fails, or `limit` passes.
fn wait(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let last = match probe() {
            Ok(true) => return Ok(()),
            Ok(false) => String::new(),
            Err(e) if e.contains("FAILED") => return Err(e),
            Err(e) => e,
        };
        if started.elapsed() > limit {
            return Err(format!(
                "{what}: not done after {} s {last}",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cluster_env() {
        let env = parse_env("DRUID_URL=http://localhost:8888\nDRUID_VERSION=27.0.0\n");
        assert_eq!(env[0], ("DRUID_URL".into(), "http://localhost:8888".into()));
        assert_eq!(port_of("http://localhost:8888").unwrap(), 8888);
        assert_eq!(port_of("http://127.0.0.1:9000/").unwrap(), 9000);
        assert!(port_of("https://localhost").is_err());
    }

    #[test]
    fn the_ingestion_reads_a_local_file() {
        let sql = ingest_sql("bench_wiki_10", Path::new("/tmp/it's.json"));
        assert!(
            sql.starts_with("REPLACE INTO \"bench_wiki_10\" OVERWRITE ALL"),
            "{sql}"
        );
        assert!(
            sql.contains(r#"'{"type":"local","files":["/tmp/it''s.json"]}'"#),
            "{sql}"
        );
        assert!(sql.contains(r#"{"name":"ts","type":"string"}"#), "{sql}");
        assert!(sql.contains("TIME_PARSE(\"ts\") AS __time"), "{sql}");
        assert!(sql.ends_with("PARTITIONED BY DAY"), "{sql}");
    }

    #[test]
    fn every_cluster_variant_has_its_own_id() {
        let mut ids: Vec<&str> = VARIANTS.iter().map(|v| id(v)).collect();
        ids.dedup();
        assert_eq!(ids.len(), VARIANTS.len());
        assert!(!ids.contains(&"cluster-other"));
    }
}
