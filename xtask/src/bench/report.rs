//! What the bench measured: the checks of every answer, the figures (min
//! and median over the runs), the ratios, the table and the JSON.

use serde_json::{Value, json};

/// The part of the bench a variant belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// Decoding the big SQL result; figure: seconds.
    Sql,
    /// A correctness check through the client (not a figure).
    Check,
    /// Small sequential requests; figure: microseconds per request.
    Small,
    /// Building the cluster model; figure: milliseconds.
    Discovery,
}

/// The id of the parse floor, the first ratio's base.
pub(crate) const FLOOR: &str = "parse-floor";
/// The id of Python requests + json, the second ratio's base.
pub(crate) const PYTHON_JSON: &str = "py-requests-json";
/// The id of the bare reqwest health loop, the small requests' base.
pub(crate) const HEALTH_BASE: &str = "health-reqwest";

/// What every client must have seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expect {
    /// Rows of the SQL result.
    pub(crate) rows: u64,
    /// Sum of `added`.
    pub(crate) added_sum: i64,
    /// Sum of `delta`.
    pub(crate) delta_sum: i64,
    /// Rows with a city.
    pub(crate) cities: u64,
    /// Rows each format of the header check sees (its query's `LIMIT`).
    pub(crate) check_rows: u64,
    /// Format and header combinations the header check covers.
    pub(crate) check_combinations: u64,
    /// Sequential small requests.
    pub(crate) requests: u64,
    /// Servers of the `sys.servers` answer.
    pub(crate) servers: u64,
    /// Its rows (roles).
    pub(crate) roles: u64,
}

impl Expect {
    /// Reads the server's ready line; `requests` is the bench's own.
    pub(crate) fn from_ready(ready: &Value, requests: u64) -> Result<Expect, String> {
        let number = |v: &Value, what: &str| {
            v.as_i64()
                .ok_or_else(|| format!("the server's ready line lacks {what}: {ready}"))
        };
        let expected = &ready["expected"];
        let rows = number(&expected["rows"], "expected.rows")? as u64;
        Ok(Expect {
            rows,
            added_sum: number(&expected["added_sum"], "expected.added_sum")?,
            delta_sum: number(&expected["delta_sum"], "expected.delta_sum")?,
            cities: number(&expected["cities"], "expected.cities")? as u64,
            check_rows: rows.min(1000),
            check_combinations: 20,
            requests,
            servers: number(&ready["servers"], "servers")? as u64,
            roles: number(&ready["roles"], "roles")? as u64,
        })
    }
}

/// Checks one client's line against what it must have seen.
pub(crate) fn check(group: Group, line: &Value, expect: &Expect) -> Result<(), String> {
    let get = |key: &str| line[key].as_i64();
    let mut wrong = Vec::new();
    let mut want = |key: &str, value: i64| {
        if get(key) != Some(value) {
            wrong.push(format!("{key} {} (expected {value})", line[key]));
        }
    };
    match group {
        Group::Sql => {
            want("rows", expect.rows as i64);
            want("added_sum", expect.added_sum);
            want("delta_sum", expect.delta_sum);
            want("cities", expect.cities as i64);
        }
        Group::Check => {
            want("rows", expect.check_rows as i64);
            want("checked", expect.check_combinations as i64);
        }
        Group::Small => want("requests", expect.requests as i64),
        Group::Discovery => {
            want("servers", expect.servers as i64);
            want("roles", expect.roles as i64);
            want("leaders", 2);
        }
    }
    if line["wall_ms"].as_f64().is_none() {
        wrong.push("no wall_ms".to_owned());
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("wrong answer: {}", wrong.join(", ")))
    }
}

/// One run of a client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    /// Wall time of the work, ms.
    pub(crate) wall_ms: f64,
    /// CPU time of the work, ms.
    pub(crate) cpu_ms: f64,
    /// Peak RSS, KiB.
    pub(crate) rss_kib: Option<u64>,
    /// Body size, when the client knew it.
    pub(crate) bytes: Option<u64>,
}

impl Run {
    /// The figures of a line that passed [`check`].
    pub(crate) fn of(line: &Value) -> Run {
        Run {
            wall_ms: line["wall_ms"].as_f64().unwrap_or(f64::NAN),
            cpu_ms: line["cpu_ms"].as_f64().unwrap_or(f64::NAN),
            rss_kib: line["rss_kib"].as_u64(),
            bytes: line["bytes"].as_u64(),
        }
    }
}

/// How a variant ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Status {
    /// Every run answered right.
    Ok,
    /// The client does not exist yet (no figure, by design).
    NotBuilt,
    /// A tool it needs is missing.
    NotInstalled(String),
    /// A run failed or answered wrong: the bench fails.
    Failed(String),
}

impl Status {
    fn word(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NotBuilt => "not built yet",
            Status::NotInstalled(_) => "not installed",
            Status::Failed(_) => "FAILED",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Status::NotInstalled(why) | Status::Failed(why) => Some(why),
            _ => None,
        }
    }
}

/// One variant's result.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Its id (`druid-api-object`).
    pub(crate) id: &'static str,
    /// What it is, for the table.
    pub(crate) client: &'static str,
    /// The result format, or what is measured.
    pub(crate) format: &'static str,
    /// Its part of the bench.
    pub(crate) group: Group,
    /// How it ended.
    pub(crate) status: Status,
    /// The runs that answered right.
    pub(crate) runs: Vec<Run>,
}

/// Min and median.
pub(crate) fn min_median(values: &[f64]) -> Option<(f64, f64)> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if !n.is_multiple_of(2) {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some((sorted[0], median))
}

/// Everything one bench run found.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// `smoke` or `full`.
    pub(crate) mode: &'static str,
    /// Where the rows came from (`bench-server` or the cluster's URL).
    pub(crate) source: String,
    /// What the clients had to see.
    pub(crate) expect: Expect,
    /// Runs per variant.
    pub(crate) repeat: usize,
    /// CPUs of the machine.
    pub(crate) cpus: usize,
    /// Every variant, in run order.
    pub(crate) outcomes: Vec<Outcome>,
    /// Notes for the end of the table (the cluster part, skips).
    pub(crate) notes: Vec<String>,
}

impl Outcome {
    /// The figure of each run: seconds (SQL), µs per request (small),
    /// ms (discovery, checks).
    fn figures(&self, requests: u64) -> Vec<f64> {
        self.runs
            .iter()
            .map(|r| match self.group {
                Group::Sql => r.wall_ms / 1e3,
                Group::Small => r.wall_ms * 1e3 / requests.max(1) as f64,
                Group::Check | Group::Discovery => r.wall_ms,
            })
            .collect()
    }

    fn cpu_figures(&self, requests: u64) -> Vec<f64> {
        self.runs
            .iter()
            .map(|r| match self.group {
                Group::Sql => r.cpu_ms / 1e3,
                Group::Small => r.cpu_ms * 1e3 / requests.max(1) as f64,
                Group::Check | Group::Discovery => r.cpu_ms,
            })
            .collect()
    }

    fn peak_rss_mib(&self) -> Option<f64> {
        self.runs
            .iter()
            .filter_map(|r| r.rss_kib)
            .max()
            .map(|kib| kib as f64 / 1024.0)
    }
}

impl Report {
    fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.id == id)
    }

    fn median(&self, id: &str) -> Option<f64> {
        let outcome = self.outcome(id)?;
        if outcome.status != Status::Ok {
            return None;
        }
        min_median(&outcome.figures(self.expect.requests)).map(|(_, m)| m)
    }

    /// The body size of the object format, from the clients that had it.
    fn object_bytes(&self) -> Option<u64> {
        [FLOOR, "reqwest"]
            .iter()
            .filter_map(|id| self.outcome(id))
            .flat_map(|o| o.runs.iter())
            .find_map(|r| r.bytes)
    }

    /// Whether every variant that ran answered right.
    pub(crate) fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter_map(|o| match &o.status {
                Status::Failed(why) => Some(format!("{} ({}): {why}", o.client, o.format)),
                _ => None,
            })
            .collect()
    }

    /// The table.
    pub(crate) fn render(&self) -> String {
        let e = &self.expect;
        let mut out = String::new();
        let size = self.object_bytes().map_or(String::new(), |b| {
            format!(" ({:.1} MB as object)", b as f64 / 1e6)
        });
        out.push_str(&format!(
            "cargo xtask bench ({}): {} rows{size} from {}, {} CPUs, {} run{} per variant\n",
            self.mode,
            thousands(e.rows),
            self.source,
            self.cpus,
            self.repeat,
            if self.repeat == 1 { "" } else { "s" },
        ));
        let floor = self.median(FLOOR);
        let python = self.median(PYTHON_JSON);
        out.push_str(
            "\nSQL result, decoded into rows (seconds of wall time; CPU is the client's own)\n",
        );
        out.push_str(&format!(
            "{:<48} {:<12} {:>4} {:>8} {:>8} {:>8} {:>9} {:>8} {:>9}\n",
            "client",
            "format",
            "runs",
            "min s",
            "median s",
            "CPU s",
            "peak RSS",
            "x floor",
            "x py json"
        ));
        for o in self.outcomes.iter().filter(|o| o.group == Group::Sql) {
            let head = format!("{:<48} {:<12}", o.client, o.format);
            match (&o.status, min_median(&o.figures(e.requests))) {
                (Status::Ok, Some((min, median))) => {
                    let cpu = min_median(&o.cpu_figures(e.requests)).map_or(f64::NAN, |c| c.1);
                    let rss = o
                        .peak_rss_mib()
                        .map_or("-".to_owned(), |m| format!("{m:.0} MiB"));
                    out.push_str(&format!(
                        "{head} {:>4} {min:>8.3} {median:>8.3} {cpu:>8.3} {rss:>9} {:>8} {:>9}\n",
                        o.runs.len(),
                        ratio(median, floor),
                        ratio(median, python),
                    ));
                }
                (status, _) => {
                    out.push_str(&format!("{head} {}\n", status_text(status)));
                }
            }
        }
        let checks: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.group == Group::Check)
            .collect();
        if !checks.is_empty() {
            out.push_str("\nChecks\n");
            for o in checks {
                let text = match o.status {
                    Status::Ok => format!(
                        "ok ({} format and header combinations, {} rows each)",
                        e.check_combinations,
                        thousands(e.check_rows)
                    ),
                    _ => status_text(&o.status),
                };
                out.push_str(&format!("{:<48} {:<12} {text}\n", o.client, o.format));
            }
        }
        let base = self.median(HEALTH_BASE);
        out.push_str(&format!(
            "\nSmall requests: {} sequential keep-alive GET /status/health, one process each (µs per request)\n",
            thousands(e.requests)
        ));
        out.push_str(&format!(
            "{:<48} {:>4} {:>8} {:>8} {:>8} {:>9}\n",
            "client", "runs", "min µs", "median", "CPU µs", "x reqwest"
        ));
        for o in self.outcomes.iter().filter(|o| o.group == Group::Small) {
            match (&o.status, min_median(&o.figures(e.requests))) {
                (Status::Ok, Some((min, median))) => {
                    let cpu = min_median(&o.cpu_figures(e.requests)).map_or(f64::NAN, |c| c.1);
                    out.push_str(&format!(
                        "{:<48} {:>4} {min:>8.1} {median:>8.1} {cpu:>8.1} {:>9}\n",
                        o.client,
                        o.runs.len(),
                        ratio(median, base),
                    ));
                }
                (status, _) => {
                    out.push_str(&format!("{:<48} {}\n", o.client, status_text(status)));
                }
            }
        }
        out.push_str(&format!(
            "\nDiscovery: {} servers ({} sys.servers rows; ms)\n",
            thousands(e.servers),
            thousands(e.roles)
        ));
        out.push_str(&format!(
            "{:<48} {:>4} {:>8} {:>8} {:>8}\n",
            "what", "runs", "min ms", "median", "CPU ms"
        ));
        for o in self.outcomes.iter().filter(|o| o.group == Group::Discovery) {
            match (&o.status, min_median(&o.figures(e.requests))) {
                (Status::Ok, Some((min, median))) => {
                    let cpu = min_median(&o.cpu_figures(e.requests)).map_or(f64::NAN, |c| c.1);
                    out.push_str(&format!(
                        "{:<48} {:>4} {min:>8.2} {median:>8.2} {cpu:>8.2}\n",
                        o.client,
                        o.runs.len(),
                    ));
                }
                (status, _) => {
                    out.push_str(&format!("{:<48} {}\n", o.client, status_text(status)));
                }
            }
        }
        for note in &self.notes {
            out.push_str(&format!("\n{note}\n"));
        }
        out
    }

    /// The same, as JSON (`target/bench/latest.json`).
    pub(crate) fn to_json(&self) -> Value {
        let e = &self.expect;
        let floor = self.median(FLOOR);
        let python = self.median(PYTHON_JSON);
        let base = self.median(HEALTH_BASE);
        let variants: Vec<Value> = self
            .outcomes
            .iter()
            .map(|o| {
                let figures = o.figures(e.requests);
                let (min, median) = min_median(&figures).unzip();
                let cpu = min_median(&o.cpu_figures(e.requests)).map(|c| c.1);
                let unit = match o.group {
                    Group::Sql => "s",
                    Group::Small => "us_per_request",
                    Group::Check | Group::Discovery => "ms",
                };
                let ok = o.status == Status::Ok;
                let (vs_floor, vs_python, vs_reqwest) = match (o.group, median) {
                    (Group::Sql, Some(m)) if ok => {
                        (floor.map(|f| m / f), python.map(|p| m / p), None)
                    }
                    (Group::Small, Some(m)) if ok => (None, None, base.map(|b| m / b)),
                    _ => (None, None, None),
                };
                json!({
                    "id": o.id,
                    "client": o.client,
                    "format": o.format,
                    "group": format!("{:?}", o.group).to_lowercase(),
                    "status": o.status.word(),
                    "detail": o.status.detail(),
                    "unit": unit,
                    "runs": o.runs.iter().map(|r| json!({
                        "wall_ms": r.wall_ms,
                        "cpu_ms": r.cpu_ms,
                        "rss_kib": r.rss_kib,
                        "bytes": r.bytes,
                    })).collect::<Vec<_>>(),
                    "min": if ok { min } else { None },
                    "median": if ok { median } else { None },
                    "cpu_median": if ok { cpu } else { None },
                    "peak_rss_mib": o.peak_rss_mib(),
                    "vs_parse_floor": vs_floor,
                    "vs_python_requests_json": vs_python,
                    "vs_reqwest": vs_reqwest,
                })
            })
            .collect();
        json!({
            "mode": self.mode,
            "source": self.source,
            "generated_unix": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            "cpus": self.cpus,
            "repeat": self.repeat,
            "rows": e.rows,
            "object_bytes": self.object_bytes(),
            "checksum": {
                "added_sum": e.added_sum,
                "delta_sum": e.delta_sum,
                "cities": e.cities,
            },
            "requests": e.requests,
            "servers": e.servers,
            "server_rows": e.roles,
            "variants": variants,
            "notes": self.notes,
        })
    }
}

fn status_text(status: &Status) -> String {
    match status.detail() {
        Some(why) => format!("{}: {why}", status.word()),
        None => status.word().to_owned(),
    }
}

fn ratio(value: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 => format!("{:.2}", value / b),
        _ => "-".to_owned(),
    }
}

/// `1000000` as `1,000,000`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect() -> Expect {
        Expect::from_ready(
            &json!({
                "url": "http://127.0.0.1:1",
                "expected": {"rows": 10, "added_sum": 100, "delta_sum": 90, "cities": 2},
                "servers": 5,
                "roles": 8,
            }),
            200,
        )
        .unwrap()
    }

    fn line(rows: u64, added: i64) -> Value {
        json!({"wall_ms": 2000.0, "cpu_ms": 1500.0, "rows": rows, "added_sum": added,
               "delta_sum": 90, "cities": 2, "rss_kib": 2048, "bytes": 5000})
    }

    #[test]
    fn a_wrong_answer_is_a_failure() {
        let e = expect();
        assert_eq!(check(Group::Sql, &line(10, 100), &e), Ok(()));
        let err = check(Group::Sql, &line(9, 100), &e).unwrap_err();
        assert!(err.contains("rows 9 (expected 10)"), "{err}");
        let err = check(Group::Sql, &line(10, 99), &e).unwrap_err();
        assert!(err.contains("added_sum"), "{err}");
        let discovery = json!({"wall_ms": 1.0, "servers": 5, "roles": 8, "leaders": 1});
        let err = check(Group::Discovery, &discovery, &e).unwrap_err();
        assert!(err.contains("leaders 1 (expected 2)"), "{err}");
        let small = json!({"wall_ms": 1.0, "requests": 200});
        assert_eq!(check(Group::Small, &small, &e), Ok(()));
        let checked = json!({"wall_ms": 1.0, "rows": 10, "checked": 20});
        assert_eq!(check(Group::Check, &checked, &e), Ok(()));
    }

    #[test]
    fn min_and_median() {
        assert_eq!(min_median(&[3.0, 1.0, 2.0]), Some((1.0, 2.0)));
        assert_eq!(min_median(&[4.0, 1.0, 2.0, 3.0]), Some((1.0, 2.5)));
        assert_eq!(min_median(&[]), None);
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(500), "500");
    }

    fn outcome(id: &'static str, group: Group, status: Status, walls: &[f64]) -> Outcome {
        Outcome {
            id,
            client: id,
            format: "object",
            group,
            status,
            runs: walls
                .iter()
                .map(|w| Run {
                    wall_ms: *w,
                    cpu_ms: *w,
                    rss_kib: Some(1024),
                    bytes: Some(2_000_000),
                })
                .collect(),
        }
    }

    #[test]
    fn the_table_and_the_json_have_the_ratios_and_say_what_did_not_run() {
        let report = Report {
            mode: "smoke",
            source: "bench-server".to_owned(),
            expect: expect(),
            repeat: 2,
            cpus: 2,
            outcomes: vec![
                outcome(FLOOR, Group::Sql, Status::Ok, &[500.0, 700.0]),
                outcome(
                    "druid-api-object",
                    Group::Sql,
                    Status::Ok,
                    &[1000.0, 1400.0],
                ),
                outcome("druid-api-stream", Group::Sql, Status::NotBuilt, &[]),
                outcome(
                    "go",
                    Group::Sql,
                    Status::NotInstalled("no go on PATH".into()),
                    &[],
                ),
                outcome(PYTHON_JSON, Group::Sql, Status::Ok, &[2400.0]),
                outcome(HEALTH_BASE, Group::Small, Status::Ok, &[20.0]),
                outcome("health-druid-api", Group::Small, Status::Ok, &[30.0]),
                outcome("cluster", Group::Discovery, Status::Ok, &[12.5]),
            ],
            notes: vec![],
        };
        let table = report.render();
        assert!(table.contains("not built yet"), "{table}");
        assert!(table.contains("not installed: no go on PATH"), "{table}");
        // median 1.2 s over the floor's 0.6 s and Python's 2.4 s.
        let row = table
            .lines()
            .find(|l| l.starts_with("druid-api-object"))
            .unwrap();
        assert!(row.contains("2.00") && row.contains("0.50"), "{row}");
        // 30 ms / 200 requests = 150 µs, 1.5 x reqwest's 100 µs.
        let health = table
            .lines()
            .find(|l| l.starts_with("health-druid-api"))
            .unwrap();
        assert!(
            health.contains("150.0") && health.contains("1.50"),
            "{health}"
        );
        assert!(table.contains("2.0 MB as object"), "{table}");
        let json = report.to_json();
        let variants = json["variants"].as_array().unwrap();
        assert_eq!(variants[1]["vs_parse_floor"], 2.0);
        assert_eq!(variants[2]["status"], "not built yet");
        assert_eq!(variants[2]["median"], Value::Null);
        assert_eq!(variants[6]["vs_reqwest"], 1.5);
        assert!(report.failures().is_empty());
    }
}
