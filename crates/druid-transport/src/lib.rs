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
//! - **One configured client per cluster.** [`Transport::builder`] sets the
//!   entry URL, credentials (Basic, a bearer token, or a [`TokenProvider`]
//!   asked before each request), extra headers, a private CA, a client
//!   certificate (mutual TLS), timeouts, TLS preference and a
//!   [`ServiceMapper`]. The same
//!   [`TransportBuilder`] builds anything made from a transport
//!   ([`FromTransport`]), so a client crate on top exposes every option
//!   without repeating one. A [`Service`] is the transport plus one
//!   service's base URL and [`RedirectScope`], and offers generic
//!   `get_json`/`post_json`/`delete` for endpoints nobody generated.
//! - **TLS follows the entry.** An `https` entry URL means every server of
//!   the cluster is reached on its TLS port; a server without one cannot be
//!   called ([`Error::Plaintext`] names it), and credentials never go over
//!   plaintext after an `https` entry unless
//!   [`TransportBuilder::allow_plaintext_credentials`] says so
//!   ([`TransportBuilder::prefer_tls`] sets TLS either way).
//! - **Leader redirects, by hand.** Coordinators and Overlords that are not
//!   the leader answer `307`. The HTTP library is told not to follow
//!   redirects (it would drop the `Authorization` header on the port
//!   change); the transport re-sends method, body and credentials itself,
//!   maps the `Location` through the mapper, follows it only to the origin
//!   that answered or a server (host and port) of the service's
//!   [`RedirectScope`], never from `https` to `http`, and stops after a
//!   limit.
//! - **Every read bounded.** An endpoint's successful answer is read up to
//!   [`TransportBuilder::max_response_bytes`] (counted after
//!   decompression, so a gzip bomb is cut where it passes the limit: an
//!   [`Error::TooLarge`]); an error answer up to 1 MiB; query results
//!   stream. Each attempt of a repeatable request has its own time limit
//!   ([`TransportBuilder::attempt_timeout`]), so a frozen server costs one
//!   attempt; a timeout of `Duration::MAX` means no limit.
//! - **Retries of what is safe to repeat.** Each request has an
//!   [`Effect`]: it reads, it changes state idempotently, or it writes.
//!   Connect failures are retried for all; resets, timeouts, 502/503/504
//!   and Druid's "no server available yet" answers only for reads and
//!   idempotent changes; a write only when it certainly was not processed
//!   (see [`retry`]). The [`RetryPolicy`] (exponential backoff with jitter,
//!   an attempt limit, a deadline) explains its defaults, a [`RetryBudget`]
//!   bounds the retries of all calls together, and `Retry-After` is
//!   honoured; a streamed body is never sent again once it flows. An error
//!   after retries is [`Error::Retried`].
//! - **Read-only mode.** [`TransportBuilder::read_only`] refuses, before
//!   sending, every request whose effect changes the cluster, and every
//!   SQL statement that writes ([`Request::sql_field`]); [`Error::ReadOnly`]
//!   names the endpoint. The client's cancellation of its own queries
//!   ([`Request::own_cancel`]) still goes out.
//! - **Tracing.** A `druid.request` span per call (operation, method, URL
//!   without credentials, attempts, status, duration) and events for
//!   retries and redirects, through [`tracing`]; nothing is recorded
//!   without a subscriber.
//! - **What an answer means.** An endpoint's [`Answer`]s say which statuses
//!   and bodies are answers and what they map to (the value, `None`, `true`
//!   or `false`); everything else is [`Error::Api`].
//! - **Druid's error bodies.** [`DruidError::parse`] reads every shape Druid
//!   uses (legacy query errors, DruidException, bare `{"error"}`, Jetty's,
//!   HTML pages, plain text, empty); [`ApiError`] keeps status, URL,
//!   operation and raw body, and its `Display` is one short line.
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
//! let answer = coordinator.send(&request).await?;
//! # Ok(()) }
//! ```
//!
//! # Invariants
//!
//! - No password reaches `Debug`, `Display` or an error: URLs are stored
//!   without user info, [`BasicAuth`] and tokens are redacted, headers are
//!   secret unless their name is one of [`PUBLIC_HEADERS`] (or they are
//!   marked public), and request bodies show only their size.
//! - No credential goes over plaintext after an `https` entry, unless
//!   allowed; no redirect leaves the cluster's servers or gives up TLS.
//! - No read is unbounded: answers by size, attempts and calls by time.
//! - Nothing runs in a background task: redirects happen inside the
//!   caller's future, so dropping it cancels the request.
//! - The transport holds no state that calls or discovery change; what a
//!   service may be redirected to travels with the [`Service`].
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

pub mod auth;
pub mod builder;
pub mod error;
pub mod locate;
pub mod mapper;
pub mod mock;
pub mod request;
pub mod response;
pub mod retry;
pub mod sql;
pub mod stream;
pub mod transport;

pub use auth::{BasicAuth, TokenFuture, TokenProvider};
pub use builder::{
    Compression, FromTransport, TransportBuilder, deadline_after, effective_limit, redact_url_text,
};
pub use error::{ApiError, BoxError, DecodeError, DruidError, Error, ErrorShape, Result};
pub use locate::{Locate, LocateFuture};
pub use mapper::{DockerMapper, IdentityMapper, Scheme, ServiceMapper, choose_port, service_url};
pub use mock::{MockRequest, MockResponse};
pub use request::{
    Body, IdentifiedBody, PUBLIC_HEADERS, Request, encode_segment, interval_path_param, path_param,
};
pub use response::{Answer, BodyMatch, Outcome, Response, StatusMatch};
pub use retry::{Effect, RetryBudget, RetryPolicy};
pub use stream::StreamingResponse;
pub use transport::{RedirectScope, Service, Transport, sanitize};

/// The `http` crate, whose `Method`, `StatusCode` and `HeaderMap` appear in
/// this crate's API.
pub use http;
/// The `url` crate, whose `Url` appears in this crate's API.
pub use url;
