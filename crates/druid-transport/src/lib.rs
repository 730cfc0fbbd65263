//! HTTP transport for Apache Druid clients.
//!
//! This crate sends requests to Druid services and turns the answers into
//! bytes, text, typed values or one [`Error`]. It knows no Druid endpoint;
//! `druid-api` generates those on top of it. What it does:
//!
//! - **Requests as data.** A [`Request`] is method, encoded path, query,
//!   headers and body; building one does no I/O. Path parameters are
//!   percent-encoded per segment ([`path_param`]), intervals take Druid's
//!   `start_end` path form ([`interval_path_param`]), and presence-only flags
//!   (`?full`) are sent as bare keys.
//! - **One configured client per cluster.** [`Transport::builder`] sets Basic
//!   auth, a private CA, a client certificate (mutual TLS), timeouts, TLS
//!   preference and a [`ServiceMapper`]. A [`Service`] is the transport plus
//!   one service's base URL, and offers generic `get_json`/`post_json`/
//!   `delete` for endpoints nobody generated.
//! - **Leader redirects, by hand.** Coordinators and Overlords that are not
//!   the leader answer `307`. The HTTP library is told not to follow
//!   redirects (it would drop the `Authorization` header on the port
//!   change); the transport re-sends method, body and credentials itself,
//!   maps the `Location` through the mapper, follows it only to the same host
//!   or a host of the cluster, and stops after a limit.
//! - **Druid's error bodies.** [`DruidError::parse`] reads every shape Druid
//!   uses (legacy query errors, DruidException, bare `{"error"}`, Jetty's,
//!   plain text, empty); [`ApiError`] keeps status, URL, operation and raw body.
//! - **URL mapping.** [`IdentityMapper`], [`DockerMapper`] (Docker-style
//!   `[external, internal]` port pairs) or any closure.
//! - **Offline testing.** [`TransportBuilder::mock`] answers requests with a
//!   function, after the same URL building, auth and redirect handling.
//!
//! ```no_run
//! # async fn demo() -> druid_transport::Result<()> {
//! use druid_transport::{Request, Transport};
//! let transport = Transport::builder().basic_auth("admin", "secret").build()?;
//! let coordinator = transport.service("http://localhost:8081".parse().expect("a URL"));
//! let datasources: Vec<String> = coordinator.get_json("/druid/coordinator/v1/datasources").await?;
//! let request = Request::get("/druid/coordinator/v1/loadstatus").flag("simple");
//! let answer = coordinator.send(&request, &[]).await?;
//! # Ok(()) }
//! ```
//!
//! # Invariants
//!
//! - No password reaches `Debug`, `Display` or an error: URLs are stored
//!   without user info, and [`BasicAuth`] redacts its password.
//! - Nothing runs in a background task: retries and redirects happen inside
//!   the caller's future, so dropping it cancels the request.
//! - Server input never panics; it becomes an [`Error`].
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls |
//! | `native-tls` | no | TLS through the platform library |
//!
//! Without either, `https` URLs fail with [`Error::Tls`] and TLS options
//! with [`Error::Config`].

pub mod error;
pub mod mapper;
pub mod request;
pub mod transport;

pub use error::{ApiError, BoxError, DecodeError, DruidError, Error, ErrorShape, Result};
pub use mapper::{DockerMapper, IdentityMapper, Scheme, ServiceMapper, choose_port, service_url};
pub use request::{Body, Request, encode_segment, interval_path_param, path_param};
pub use transport::{
    BasicAuth, MockRequest, MockResponse, Response, Service, Transport, TransportBuilder,
};

/// The `http` crate, whose `Method`, `StatusCode` and `HeaderMap` appear in
/// this crate's API.
pub use http;
/// The `url` crate, whose `Url` appears in this crate's API.
pub use url;
