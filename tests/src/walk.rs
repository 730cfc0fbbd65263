//! The walk of every side-effect-free `GET` endpoint against the live
//! cluster: the generated `tests/tests/live_walk.rs` calls each typed method
//! with real parameters, and [`Walk`] judges the answers.
//!
//! An endpoint passes when its typed method returns `Ok` (the body decoded
//! into its model). A 404 or 405, or a body that does not decode, fails it,
//! unless `tests/live-walk.toml` records that answer with a reason, or the
//! endpoint is newer than the cluster (its spec `since`), where 404/405 is
//! the expected answer, or the endpoint's extension is one the cluster does
//! not load (the transport's [`druid_api::Error::missing_extension`], which
//! it decides from the cluster's `/status`). A recorded answer can be bound
//! to releases (`before = "32.0.0"`): on the others, the endpoint must pass.
//! Endpoints that need something the test cluster cannot have are not
//! called; they are listed with the reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use druid_api::{Error, Result};
use serde::Deserialize;

/// The real values the walk fills path and query parameters with.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// A datasource with segments.
    pub datasource: String,
    /// A finished task of that datasource.
    pub task_id: String,
    /// A segment of that datasource.
    pub segment_id: String,
    /// An interval holding that datasource's data, `start/end`.
    pub interval: String,
    /// A lookup tier.
    pub tier: String,
    /// A lookup of that tier.
    pub lookup_name: String,
    /// A lookup node, `host:port`.
    pub host_and_port: String,
    /// An asynchronous SQL statement's query ID, when the cluster has the API.
    pub query_id: String,
    /// A SQL query ID.
    pub sql_query_id: String,
    /// The basic-security authenticator, when the cluster has one.
    pub authenticator: String,
    /// The basic-security authorizer.
    pub authorizer: String,
    /// A basic-security user.
    pub user: String,
    /// A basic-security role.
    pub role: String,
    /// A catalog schema (`druid`).
    pub catalog_schema: String,
}

#[derive(Debug, Deserialize)]
struct Known {
    endpoint: String,
    /// The status Druid answers; absent for a body that does not decode.
    #[serde(default)]
    status: Option<u16>,
    reason: String,
    /// Only releases before this one answer so (a shape Druid fixed).
    #[serde(default)]
    before: Option<String>,
    /// Only this release and later ones answer so (a shape Druid changed).
    #[serde(default)]
    from: Option<String>,
    /// Druid breaks the body off (a server-side serialization failure).
    #[serde(default)]
    cut: bool,
}

#[derive(Debug, Deserialize)]
struct Rules {
    #[serde(default)]
    known: Vec<Known>,
}

/// One endpoint's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Answered and decoded.
    Passed,
    /// Answered what `live-walk.toml` records (a status, or a body that
    /// does not decode), with its reason.
    Known(String, String),
    /// Newer than the cluster; answered 404/405 as expected.
    Newer(String, u16),
    /// Served by an extension the cluster does not load.
    NoExtension(String),
    /// Not called, with why.
    Skipped(String),
    /// Failed, with what happened.
    Failed(String),
}

/// The judge and report of a walk.
#[derive(Debug)]
pub struct Walk {
    version: Vec<u64>,
    /// The recorded answers that apply to the cluster's release, by endpoint.
    known: BTreeMap<String, Known>,
    outcomes: BTreeMap<String, Outcome>,
}

fn parse_version(text: &str) -> Vec<u64> {
    text.split(['.', '-'])
        .map_while(|part| part.parse().ok())
        .collect()
}

impl Walk {
    /// A walk of a cluster running `version`, with the recorded answers of
    /// `tests/live-walk.toml`.
    pub fn new(version: &str) -> Walk {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("live-walk.toml");
        let text = std::fs::read_to_string(&path).expect("tests/live-walk.toml is readable");
        Walk::with_rules(version, &text)
    }

    /// A walk of a cluster running `version`, with the rules in `text`
    /// (the format of `tests/live-walk.toml`).
    pub fn with_rules(version: &str, text: &str) -> Walk {
        let rules: Rules = toml::from_str(text).expect("tests/live-walk.toml is valid");
        let version = parse_version(version);
        let applies = |k: &Known| {
            k.before
                .as_deref()
                .is_none_or(|before| version < parse_version(before))
                && k.from
                    .as_deref()
                    .is_none_or(|from| version >= parse_version(from))
        };
        let known = rules
            .known
            .into_iter()
            .filter(applies)
            .map(|k| (k.endpoint.clone(), k))
            .collect();
        Walk {
            version,
            known,
            outcomes: BTreeMap::new(),
        }
    }

    fn newer_than_cluster(&self, since: Option<&str>) -> bool {
        since.is_some_and(|since| parse_version(since) > self.version)
    }

    /// Judges one call of `client.id`.
    pub fn check<T>(&mut self, client: &str, id: &str, since: Option<&str>, result: Result<T>) {
        let key = format!("{client}.{id}");
        let outcome = match result {
            Ok(_) => Outcome::Passed,
            Err(error) if error.missing_extension().is_some() => {
                Outcome::NoExtension(error.missing_extension().unwrap_or_default().to_owned())
            }
            Err(error) => {
                let status = error.status().map(|s| s.as_u16());
                let decode = error.decode().is_some();
                match (status, self.known.get(&key)) {
                    (Some(status), Some(k)) if k.status == Some(status) => {
                        Outcome::Known(status.to_string(), k.reason.clone())
                    }
                    (None, Some(k)) if k.status.is_none() && decode && !k.cut => {
                        Outcome::Known("a body that does not decode".to_owned(), k.reason.clone())
                    }
                    (None, Some(k)) if k.status.is_none() && !decode && k.cut => {
                        Outcome::Known("a body cut off".to_owned(), k.reason.clone())
                    }
                    (Some(status @ (404 | 405)), _) if self.newer_than_cluster(since) => {
                        Outcome::Newer(since.unwrap_or_default().to_owned(), status)
                    }
                    _ => Outcome::Failed(describe(&error)),
                }
            }
        };
        self.outcomes.insert(key, outcome);
    }

    /// Records an endpoint that was not called, with why.
    pub fn skip(&mut self, client: &str, id: &str, reason: &str) {
        self.outcomes.insert(
            format!("{client}.{id}"),
            Outcome::Skipped(reason.to_owned()),
        );
    }

    /// The outcomes, by `Client.method`.
    pub fn outcomes(&self) -> &BTreeMap<String, Outcome> {
        &self.outcomes
    }

    /// A report: counts, then every endpoint that did not simply pass.
    pub fn report(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut lines = String::new();
        for (key, outcome) in &self.outcomes {
            let kind = match outcome {
                Outcome::Passed => "passed",
                Outcome::Known(status, reason) => {
                    let _ = writeln!(lines, "  known    {key}: {status} ({reason})");
                    "known answer"
                }
                Outcome::Newer(since, status) => {
                    let _ = writeln!(
                        lines,
                        "  newer    {key}: since Druid {since}, answered {status}"
                    );
                    "newer than the cluster"
                }
                Outcome::NoExtension(extension) => {
                    let _ = writeln!(lines, "  absent   {key}: needs {extension}, not loaded");
                    "extension not loaded"
                }
                Outcome::Skipped(reason) => {
                    let _ = writeln!(lines, "  skipped  {key}: {reason}");
                    "skipped"
                }
                Outcome::Failed(what) => {
                    let _ = writeln!(lines, "  FAILED   {key}: {what}");
                    "failed"
                }
            };
            *counts.entry(kind).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!(
            "walked {} GET endpoints: {}\n{lines}",
            self.outcomes.len(),
            summary.join(", ")
        )
    }

    /// The endpoints that failed.
    pub fn failures(&self) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

fn describe(error: &Error) -> String {
    if let Some(api) = error.api() {
        format!(
            "{} {}",
            api.status,
            api.error
                .message()
                .unwrap_or("(no message)")
                .chars()
                .take(160)
                .collect::<String>()
        )
    } else if let Some(decode) = error.decode() {
        format!(
            "does not decode: at `{}`: {}; body: {}",
            decode.path, decode.message, decode.snippet
        )
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_apply_only_to_their_releases() {
        let rules = r#"
            [[known]]
            endpoint = "C.old_shape"
            reason = "fixed in 32"
            before = "32.0.0"
            [[known]]
            endpoint = "C.new_404"
            status = 404
            reason = "removed in 33"
            from = "33.0.0"
        "#;
        let decode_error = || -> Result<()> {
            let url = "http://localhost:8082/x".parse().unwrap();
            let error = druid_transport::DecodeError::new("C.x", &url, "u32", ".", "bad", b"[a]");
            Err(druid_api::Error::Transport(druid_transport::Error::Decode(
                Box::new(error),
            )))
        };
        let mut old = Walk::with_rules("27.0.0", rules);
        old.check("C", "old_shape", None, decode_error());
        let mut new = Walk::with_rules("33.0.0", rules);
        new.check("C", "old_shape", None, decode_error());
        assert!(matches!(old.outcomes()["C.old_shape"], Outcome::Known(..)));
        assert!(matches!(new.outcomes()["C.old_shape"], Outcome::Failed(..)));
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("37.0.0") > parse_version("27.0.0"));
        assert!(parse_version("27.0.0") < parse_version("34.0.0"));
        assert!(parse_version("27.0.0-SNAPSHOT") == parse_version("27.0.0"));
    }
}
