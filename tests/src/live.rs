//! The real cluster for live tests.

use std::time::{Duration, Instant};

use druid_api::{Client, Error, Result};

/// The message of a live test without a cluster.
pub const NEEDS_CLUSTER: &str = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` and \
     `DRUID_URL=http://localhost:8888 cargo test -p druid-tests -- --include-ignored`";

/// The Router URL of the live cluster, from `DRUID_URL`.
///
/// # Panics
///
/// When `DRUID_URL` is not set: a live test that runs must have a cluster.
pub fn url() -> String {
    match std::env::var("DRUID_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!("DRUID_URL is not set; this test {NEEDS_CLUSTER}"),
    }
}

/// A client for the live cluster's Router.
pub fn client() -> Client {
    druid_api::connect(&url()).expect("DRUID_URL is a valid URL")
}

/// The Druid version the cluster was started with (`DRUID_VERSION`), if known.
pub fn version() -> Option<String> {
    std::env::var("DRUID_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A name unique to this test run, for datasources and lookups.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// Polls `check` until it returns `Some`, or fails after `limit` with the
/// last state seen.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let start = Instant::now();
    loop {
        let last = match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => "not yet".to_owned(),
            Err(e) => format!("{e}"),
        };
        if start.elapsed() > limit {
            return Err(Error::WaitTimeout {
                what: what.to_owned(),
                waited: start.elapsed(),
                last_seen: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
