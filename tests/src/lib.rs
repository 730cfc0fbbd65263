//! Test support for the druid-rs workspace.
//!
//! - [`fake`]: an in-process HTTP(S) server for transport edge cases;
//! - [`tls`]: throw-away CAs and certificates;
//! - [`proxy`]: a TCP port forwarder, to play Docker's port map;
//! - [`mock`]: offline clients that record what they would send;
//! - [`live`]: access to the real Druid cluster that `cargo xtask druid up`
//!   starts, for the tests that prove the API against Druid itself.
//!
//! Offline tests run with plain `cargo test`. Live tests are marked
//! `#[ignore = "needs a Druid cluster ..."]`, so plain `cargo test` lists
//! them as ignored with that reason; `cargo xtask ci` starts a cluster and
//! runs them with `--include-ignored`, and then a missing cluster is a
//! failure, never a silent pass.

pub mod fake;
pub mod live;
pub mod mock;
pub mod proxy;
pub mod tls;
pub mod walk;

/// The folder of the reference data copied into the project
/// (`tests/data/druid-api`: Druid's documented example responses and the
/// endpoint table; see `tests/data/README.md` for where they come from).
pub fn api_data_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/druid-api")
}

/// The bytes of one documented example response in
/// `tests/data/druid-api/fixtures`.
///
/// # Panics
///
/// When the file is missing: the test that asked for it fails.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = api_data_dir().join("fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A retry policy for offline tests: three attempts a few milliseconds
/// apart, so a test of a transient failure sees the retries without
/// waiting out the default policy's 30 s.
pub fn quick_retries() -> druid_api::RetryPolicy {
    druid_api::RetryPolicy::default()
        .max_attempts(3)
        .initial_backoff(std::time::Duration::from_millis(5))
        .max_backoff(std::time::Duration::from_millis(20))
}

/// A client of `url` with [`quick_retries`].
pub fn quick_client(url: &str) -> druid_api::Client {
    druid_api::Client::builder()
        .url(url)
        .retry(quick_retries())
        .build()
        .expect("a valid test URL")
}
