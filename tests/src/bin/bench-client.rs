//! `bench-client`: one measured client of `cargo xtask bench`, run in its
//! own process so that its time and peak memory are its own.
//!
//! ```text
//! bench-client <variant> <url> [requests]
//! ```
//!
//! It sends its query to `url` (the bench server, or a real Router), does
//! the work of the variant once, and prints one JSON line on stdout:
//! `variant`, `status` (`ok`, or `not built yet`), `wall_ms` and `cpu_ms` of
//! the timed work, what it saw (`rows` and the checksum `added_sum`,
//! `delta_sum`, `cities`; `servers`, `roles` and `leaders` for discovery),
//! `bytes` when it had the body in hand (`cities` counts the rows whose
//! `cityName` is neither null nor empty: Druid 27 may return either), and `rss_kib`, its peak resident
//! memory (`VmHWM`) at the end. The bench compares what it saw with what the
//! server says it sent.
//!
//! Variants:
//!
//! - `parse-floor`: downloads the object-format body with reqwest (not
//!   timed), then times `serde_json::from_slice::<Vec<Row>>` on the bytes;
//! - `reqwest`: reqwest's bytes and `serde_json::from_slice`, timed end to
//!   end;
//! - `druid-api-<format>` (`object`, `objectLines`, `array`, `arrayLines`):
//!   this project, `client.sql(q).result_format(..).rows::<Row>()`;
//!   `druid-api-csv`: `.send()` then `csv_rows()`;
//! - `druid-api-rows`, `druid-api-stream`: `rows::<Row>()` and
//!   `stream::<Row>()` in the client's own format choice;
//!   `druid-api-stream-<format>`: `stream::<Row>()` in a given format;
//! - `headers`: not a figure but a check: every format with `header`,
//!   `typesHeader` and `sqlTypesHeader` on a `LIMIT 1000` query (every format must see the
//!   same rows), through
//!   this project's header parsing;
//! - `health-druid-api` / `health-reqwest`: `requests` sequential
//!   keep-alive `GET /status/health` (after one untimed warm-up), through
//!   `is_healthy()` or a bare `reqwest::Client`;
//! - `druid-cli-csv`: the `druid` command line (`druid sql QUERY -o csv`,
//!   the binary beside this one), its output read and checked as it
//!   streams; `rss_kib` and `cpu_ms` are then the `druid` process's peak
//!   (`VmHWM`) and CPU time (`/proc/<pid>/stat`), sampled every 5 ms while
//!   it runs;
//! - `cluster`: `client.cluster().await` end to end on the `sys.servers`
//!   answer; `from-rows`: `ClusterModel::from_rows` alone, on rows decoded
//!   beforehand.

// The JSON line on stdout is this program's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use druid_api::models::ResultFormat;
use druid_api::prelude::*;
use druid_api::{ClusterModel, ServerRow, ServerType};
use serde::Deserialize;
use serde_json::{Value, json};

/// The query every variant runs, on the table `BENCH_TABLE` names
/// (default `wikipedia`; the bench server answers any name).
fn query() -> String {
    let table = std::env::var("BENCH_TABLE").unwrap_or_else(|_| "wikipedia".to_owned());
    format!(
        "SELECT __time, channel, page, \"user\", isRobot, added, deleted, delta, countryName, \
         cityName FROM \"{}\"",
        table.replace('"', "\"\"")
    )
}

/// One row, as a user of the client would declare it.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // every field is decoded; the checksum reads three
struct Row {
    #[serde(rename = "__time")]
    time: String,
    channel: String,
    page: String,
    user: String,
    #[serde(rename = "isRobot")]
    is_robot: String,
    added: i64,
    deleted: i64,
    delta: i64,
    #[serde(rename = "countryName")]
    country_name: Option<String>,
    #[serde(rename = "cityName")]
    city_name: Option<String>,
}

/// What a client saw: the row count and the checksum.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Seen {
    rows: u64,
    added_sum: i64,
    delta_sum: i64,
    cities: u64,
}

impl Seen {
    fn of(rows: &[Row]) -> Seen {
        let mut seen = Seen::default();
        for row in rows {
            seen.add(
                row.added,
                row.delta,
                row.city_name.as_deref().is_some_and(|c| !c.is_empty()),
            );
        }
        seen
    }

    fn add(&mut self, added: i64, delta: i64, city: bool) {
        self.rows += 1;
        self.added_sum += added;
        self.delta_sum += delta;
        self.cities += u64::from(city);
    }
}

/// The outcome of one variant.
#[derive(Debug, Default)]
struct Report {
    wall: Duration,
    cpu: Duration,
    seen: Seen,
    bytes: Option<u64>,
    extra: serde_json::Map<String, Value>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// CPU time of the whole process (every thread).
fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Wall and CPU clocks started together.
struct Clock(Instant, Duration);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), cpu_now())
    }

    fn stop(&self, report: &mut Report) {
        report.wall = self.0.elapsed();
        report.cpu = cpu_now().saturating_sub(self.1);
    }
}

/// Peak resident memory in KiB (`VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn sql_url(base: &str) -> String {
    format!("{}/druid/v2/sql", base.trim_end_matches('/'))
}

/// Posts an SQL body with plain reqwest and returns the body's bytes.
async fn post_bytes(
    client: &reqwest::Client,
    base: &str,
    body: &Value,
) -> Result<hyper::body::Bytes, Error> {
    let response = client
        .post(sql_url(base))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body)?)
        .send()
        .await?
        .error_for_status()?;
    Ok(response.bytes().await?)
}

fn query_body(format: &str) -> Value {
    json!({ "query": query(), "resultFormat": format })
}

async fn parse_floor(url: &str) -> Result<Report, Error> {
    let client = reqwest::Client::new();
    let bytes = post_bytes(&client, url, &query_body("object")).await?;
    let mut report = Report {
        bytes: Some(bytes.len() as u64),
        ..Report::default()
    };
    let clock = Clock::start();
    let rows: Vec<Row> = serde_json::from_slice(&bytes)?;
    report.seen = Seen::of(&rows);
    clock.stop(&mut report);
    Ok(report)
}

async fn plain_reqwest(url: &str) -> Result<Report, Error> {
    let client = reqwest::Client::new();
    let mut report = Report::default();
    let clock = Clock::start();
    let bytes = post_bytes(&client, url, &query_body("object")).await?;
    let rows: Vec<Row> = serde_json::from_slice(&bytes)?;
    report.seen = Seen::of(&rows);
    clock.stop(&mut report);
    report.bytes = Some(bytes.len() as u64);
    Ok(report)
}

/// `rows::<Row>()`, in a format, or the client's own choice (`None`).
async fn druid_api_rows(url: &str, format: Option<ResultFormat>) -> Result<Report, Error> {
    let client = druid_api::connect(url)?;
    let mut report = Report::default();
    let clock = Clock::start();
    let mut sql = client.sql(query());
    if let Some(format) = format {
        sql = sql.result_format(format);
    }
    let rows: Vec<Row> = sql.rows().await?;
    report.seen = Seen::of(&rows);
    clock.stop(&mut report);
    Ok(report)
}

/// `stream::<Row>()`, counting each row as it arrives and keeping none, in
/// a format, or the client's own choice (`None`).
async fn druid_api_stream(url: &str, format: Option<ResultFormat>) -> Result<Report, Error> {
    stream_with(druid_api::connect(url)?, format).await
}

/// `stream::<Row>()` of gzip-compressed answers.
async fn druid_api_stream_gzip(url: &str) -> Result<Report, Error> {
    let client = druid_api::Client::builder()
        .url(url)
        .compression(druid_api::Compression::Gzip)
        .build()?;
    stream_with(client, None).await
}

async fn stream_with(
    client: druid_api::Client,
    format: Option<ResultFormat>,
) -> Result<Report, Error> {
    let mut report = Report::default();
    let clock = Clock::start();
    let mut sql = client.sql(query());
    if let Some(format) = format {
        sql = sql.result_format(format).header(true);
    }
    let mut stream = sql.stream::<Row>();
    while let Some(row) = stream.next_row().await {
        let row = row?;
        report.seen.add(
            row.added,
            row.delta,
            row.city_name.as_deref().is_some_and(|c| !c.is_empty()),
        );
    }
    clock.stop(&mut report);
    Ok(report)
}

/// A CSV record's checksum fields (`added`, `delta`, `cityName`).
fn csv_fields(record: &[String]) -> Result<(i64, i64, bool), Error> {
    let field = |i: usize| -> Result<&str, Error> {
        record
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("a CSV record has {} fields, not 10", record.len()).into())
    };
    Ok((
        field(5)?.parse()?,
        field(7)?.parse()?,
        !field(9)?.is_empty(),
    ))
}

async fn druid_api_csv(url: &str) -> Result<Report, Error> {
    let client = druid_api::connect(url)?;
    let mut report = Report::default();
    let clock = Clock::start();
    let response = client
        .sql(query())
        .result_format(ResultFormat::Csv)
        .send()
        .await?;
    let records = response.csv_rows()?;
    for record in &records {
        let (added, delta, city) = csv_fields(record)?;
        report.seen.add(added, delta, city);
    }
    clock.stop(&mut report);
    Ok(report)
}

/// The peak resident memory of another process (`VmHWM`), if it runs.
fn peak_rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The CPU time another process used so far (`utime` + `stime` of
/// `/proc/<pid>/stat`, in clock ticks of 10 ms), if it runs.
fn cpu_ms_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}

/// `druid sql QUERY -o csv`, the binary beside this one, read as it streams.
fn druid_cli_csv(url: &str) -> Result<Report, Error> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    let program = std::env::current_exe()?.with_file_name("druid");
    let mut report = Report::default();
    let clock = Clock::start();
    let mut child = std::process::Command::new(&program)
        .args(["--url", url, "sql", &query(), "-o", "csv"])
        .env("XDG_CONFIG_HOME", "/nonexistent-druid-cli-config")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let cpu = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, cpu, done) = (peak.clone(), cpu.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = peak_rss_of(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                if let Some(ms) = cpu_ms_of(pid) {
                    cpu.fetch_max(ms, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let stdout = child.stdout.take().ok_or("no standard output")?;
    let mut reader = csv::Reader::from_reader(std::io::BufReader::with_capacity(64 * 1024, stdout));
    let mut record = csv::StringRecord::new();
    let mut bytes = 0_u64;
    while reader.read_record(&mut record)? {
        let fields: Vec<String> = record.iter().map(str::to_owned).collect();
        let (added, delta, city) = csv_fields(&fields)?;
        report.seen.add(added, delta, city);
        bytes = reader.position().byte();
    }
    let status = child.wait()?;
    clock.stop(&mut report);
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    if !status.success() {
        return Err(format!("druid exited with {status}").into());
    }
    report.bytes = Some(bytes);
    // The druid process's CPU, not this reader's.
    report.cpu = Duration::from_millis(cpu.load(Ordering::Relaxed));
    report.extra.insert(
        "rss_kib".to_owned(),
        Value::from(peak.load(Ordering::Relaxed)),
    );
    Ok(report)
}

/// Every format with every header through this project's parsing: the
/// column names and types, the header flag and the query ID.
async fn headers(url: &str) -> Result<Report, Error> {
    let client = druid_api::connect(url)?;
    let names = [
        "__time",
        "channel",
        "page",
        "user",
        "isRobot",
        "added",
        "deleted",
        "delta",
        "countryName",
        "cityName",
    ];
    let mut report = Report::default();
    let clock = Clock::start();
    let formats = [
        ResultFormat::Object,
        ResultFormat::ObjectLines,
        ResultFormat::Array,
        ResultFormat::ArrayLines,
        ResultFormat::Csv,
    ];
    let mut checked = Vec::new();
    for format in formats {
        for (types, sql_types) in [(false, false), (true, false), (false, true), (true, true)] {
            let what = format!("{format} typesHeader={types} sqlTypesHeader={sql_types}");
            let response = client
                .sql(format!("{} LIMIT 1000", query()))
                .result_format(format.clone())
                .header(true)
                .types_header(types)
                .sql_types_header(sql_types)
                .query_id(format!("bench-{format}-{types}-{sql_types}"))
                .send()
                .await?;
            if !response.header_included() {
                return Err(format!("{what}: no X-Druid-SQL-Header-Included").into());
            }
            if response.query_id() != Some(&format!("bench-{format}-{types}-{sql_types}")) {
                return Err(format!("{what}: query ID {:?}", response.query_id()).into());
            }
            let columns = response
                .columns()?
                .ok_or_else(|| format!("{what}: no columns"))?;
            let got: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            if got != names {
                return Err(format!("{what}: columns {got:?}").into());
            }
            let time = &columns[0];
            let want_type = types.then_some("LONG");
            let want_sql_type = sql_types.then_some("TIMESTAMP");
            if time.druid_type.as_deref() != want_type || time.sql_type.as_deref() != want_sql_type
            {
                return Err(format!("{what}: __time typed {time:?}").into());
            }
            let mut seen = Seen::default();
            if format == ResultFormat::Csv {
                for record in response.csv_rows()? {
                    let (added, delta, city) = csv_fields(&record)?;
                    seen.add(added, delta, city);
                }
            } else {
                seen = Seen::of(&response.rows::<Row>()?);
            }
            if report.seen.rows > 0 && seen != report.seen {
                return Err(
                    format!("{what}: saw {seen:?}, other formats {:?}", report.seen).into(),
                );
            }
            report.seen = seen;
            checked.push(what);
        }
    }
    clock.stop(&mut report);
    report.extra.insert("checked".into(), json!(checked.len()));
    Ok(report)
}

fn request_count(arg: Option<&String>) -> Result<u64, Error> {
    Ok(arg.map(|n| n.parse()).transpose()?.unwrap_or(2000))
}

async fn health_druid_api(url: &str, requests: u64) -> Result<Report, Error> {
    let client = druid_api::connect(url)?;
    if !client.is_healthy().await? {
        return Err("the server is not healthy".into());
    }
    let mut report = Report::default();
    let clock = Clock::start();
    for _ in 0..requests {
        if !client.is_healthy().await? {
            return Err("the server is not healthy".into());
        }
    }
    clock.stop(&mut report);
    report.extra.insert("requests".into(), json!(requests));
    Ok(report)
}

async fn health_reqwest(url: &str, requests: u64) -> Result<Report, Error> {
    let client = reqwest::Client::new();
    let health = format!("{}/status/health", url.trim_end_matches('/'));
    let once = || async {
        let body = client
            .get(&health)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        if &body[..] == b"true" {
            Ok(())
        } else {
            Err::<(), Error>(format!("health answered {body:?}").into())
        }
    };
    once().await?;
    let mut report = Report::default();
    let clock = Clock::start();
    for _ in 0..requests {
        once().await?;
    }
    clock.stop(&mut report);
    report.extra.insert("requests".into(), json!(requests));
    Ok(report)
}

/// Servers, roles and leading roles of a model.
fn describe(model: &ClusterModel, report: &mut Report) {
    let servers = model.servers();
    let roles: usize = servers.iter().map(|s| s.roles.len()).sum();
    let leaders = servers
        .iter()
        .filter(|s| s.is_leader(&ServerType::Coordinator))
        .count()
        + servers
            .iter()
            .filter(|s| s.is_leader(&ServerType::Overlord))
            .count();
    report.extra.insert("servers".into(), json!(servers.len()));
    report.extra.insert("roles".into(), json!(roles));
    report.extra.insert("leaders".into(), json!(leaders));
}

async fn cluster(url: &str) -> Result<Report, Error> {
    let client = druid_api::connect(url)?;
    let mut report = Report::default();
    let clock = Clock::start();
    let cluster = client.cluster().await?;
    clock.stop(&mut report);
    describe(&cluster.model(), &mut report);
    Ok(report)
}

async fn from_rows(url: &str) -> Result<Report, Error> {
    let client = reqwest::Client::new();
    let body = json!({ "query": druid_discovery::SERVERS_QUERY, "resultFormat": "object" });
    let bytes = post_bytes(&client, url, &body).await?;
    let rows: Vec<ServerRow> = serde_json::from_slice(&bytes)?;
    let mut report = Report {
        bytes: Some(bytes.len() as u64),
        ..Report::default()
    };
    let clock = Clock::start();
    let model = ClusterModel::from_rows(rows);
    clock.stop(&mut report);
    describe(&model, &mut report);
    Ok(report)
}

/// The JSON line of a finished variant.
fn line(variant: &str, report: &Report) -> Value {
    let mut out = json!({
        "variant": variant,
        "status": "ok",
        "wall_ms": report.wall.as_secs_f64() * 1e3,
        "cpu_ms": report.cpu.as_secs_f64() * 1e3,
        "rows": report.seen.rows,
        "added_sum": report.seen.added_sum,
        "delta_sum": report.seen.delta_sum,
        "cities": report.seen.cities,
        "bytes": report.bytes,
        "rss_kib": peak_rss_kib(),
    });
    if let Some(map) = out.as_object_mut() {
        map.extend(report.extra.clone());
    }
    out
}

async fn run(args: &[String]) -> Result<Value, Error> {
    let usage = "usage: bench-client <variant> <url> [requests]";
    let variant = args.first().ok_or(usage)?.as_str();
    let url = args.get(1).ok_or(usage)?.as_str();
    let report = match variant {
        "parse-floor" => parse_floor(url).await?,
        "reqwest" => plain_reqwest(url).await?,
        "druid-api-rows" => druid_api_rows(url, None).await?,
        "druid-api-object" => druid_api_rows(url, Some(ResultFormat::Object)).await?,
        "druid-api-objectLines" => druid_api_rows(url, Some(ResultFormat::ObjectLines)).await?,
        "druid-api-array" => druid_api_rows(url, Some(ResultFormat::Array)).await?,
        "druid-api-arrayLines" => druid_api_rows(url, Some(ResultFormat::ArrayLines)).await?,
        "druid-api-csv" => druid_api_csv(url).await?,
        "druid-cli-csv" => druid_cli_csv(url)?,
        "druid-api-stream" => druid_api_stream(url, None).await?,
        "druid-api-stream-object" => druid_api_stream(url, Some(ResultFormat::Object)).await?,
        "druid-api-stream-objectLines" => {
            druid_api_stream(url, Some(ResultFormat::ObjectLines)).await?
        }
        "druid-api-stream-array" => druid_api_stream(url, Some(ResultFormat::Array)).await?,
        "druid-api-stream-csv" => druid_api_stream(url, Some(ResultFormat::Csv)).await?,
        "druid-api-stream-gzip" => druid_api_stream_gzip(url).await?,
        "headers" => headers(url).await?,
        "health-druid-api" => health_druid_api(url, request_count(args.get(2))?).await?,
        "health-reqwest" => health_reqwest(url, request_count(args.get(2))?).await?,
        "cluster" => cluster(url).await?,
        "from-rows" => from_rows(url).await?,
        other => return Err(format!("unknown variant {other:?}; {usage}").into()),
    };
    Ok(line(variant, &report))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench-client: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "bench-client {}: {e}",
                args.first().map(String::as_str).unwrap_or("")
            );
            ExitCode::FAILURE
        }
    }
}
