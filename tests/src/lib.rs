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

/// The folder of the shared reference data (`../shared/druid-api`), beside
/// the checkout.
pub fn shared_api_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/druid-api")
}
