//! A client for whole Apache Druid clusters.
//!
//! Give it one URL, a Router's or a Broker's, and it runs SQL and native
//! queries, discovers every service of the cluster from the `sys.servers`
//! table, and hands out a typed client for each: the lead Coordinator and
//! Overlord, Brokers, Routers, Historicals, MiddleManagers, Indexers and
//! Peons. The service clients are generated from the declarative endpoint
//! spec in `api-spec/` (see `api-spec/ENDPOINTS.md` for the table of every
//! endpoint), so every method's docs name its HTTP method and path.
//!
//! ```no_run
//! use druid_api::models::TaskListState;
//! use druid_api::prelude::*;
//!
//! # async fn demo() -> druid_api::Result<()> {
//! let client = druid_api::connect("http://localhost:8888")?;
//!
//! // SQL, with typed rows.
//! #[derive(serde::Deserialize)]
//! struct Row { page: String, added: i64 }
//! let rows: Vec<Row> = client.sql("SELECT page, added FROM wiki").rows().await?;
//!
//! // The cluster and its servers.
//! let cluster = client.cluster().await?;
//! for server in cluster.servers() {
//!     println!("{} plays {:?}", server.server, server.types().collect::<Vec<_>>());
//! }
//! let overlord = cluster.overlord()?;
//! let running = overlord.tasks().state(TaskListState::Running).await?;
//! let coordinator = cluster.coordinator()?;
//! assert!(coordinator.is_healthy().await?);
//! # Ok(()) }
//! ```
//!
//! # Connecting
//!
//! [`connect`] takes defaults; [`Client::builder`] sets Basic auth, a
//! private CA, a client certificate, timeouts, TLS preference and a
//! [`ServiceMapper`] for clusters behind Docker port maps or NAT (every
//! option of the transport's [`TransportBuilder`]: the client builder *is*
//! one):
//!
//! ```no_run
//! # fn demo() -> druid_api::Result<()> {
//! use druid_api::{Client, DockerMapper};
//! let client = Client::builder()
//!     .url("http://localhost:8899")
//!     .basic_auth("admin", "secret")
//!     .mapper(DockerMapper::new("localhost", [[8899, 8888]]))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! # Clients and the endpoint groups they share
//!
//! Endpoints only one service has are methods of its client
//! ([`OverlordClient::tasks`]). Endpoint groups several services serve
//! (status, queries, SQL statements, lookup introspection, the worker API)
//! are traits every client of the group implements ([`StatusApi`],
//! [`QueryApi`], ...), so `is_healthy()` is the same method on every client
//! and code can be generic over "any client with the status API". Import
//! them with `use druid_api::prelude::*;`. [`QueryExt`] adds the SQL builder
//! ([`QueryExt::sql`]), typed native queries and waits to every client that
//! runs queries: [`Client`], [`BrokerClient`] and [`RouterClient`].
//!
//! # Streaming results
//!
//! [`SqlRequest::stream`] hands out typed rows as the answer arrives, in
//! memory bounded by a chunk of it; [`SqlRequest::rows`] collects the same
//! stream. The query ID is chosen before sending, the client's deadline
//! goes to Druid as the query's `timeout`, a cut-off answer ends the stream
//! with [`Error::is_incomplete`] (never a short answer), and a stream dropped
//! before its end cancels the query on Druid. Native queries stream too
//! ([`QueryExt::native_stream`], [`QueryExt::scan_rows`]), and so do the
//! pages of an asynchronous statement ([`AsyncResults::stream`]).
//!
//! ```no_run
//! use druid_api::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Row { page: String, added: i64 }
//!
//! # async fn demo(client: druid_api::Client) -> druid_api::Result<()> {
//! let mut rows = client.sql("SELECT page, added FROM wiki").stream::<Row>();
//! let mut total = 0;
//! while let Some(row) = rows.next_row().await {
//!     total += row?.added;
//! }
//! println!("query {} added {total}", rows.query_id());
//! # Ok(()) }
//! ```
//!
//! # Endpoints the spec lacks
//!
//! Every client's [`service`](ServiceClient::service) sends any request
//! through the same transport (auth, TLS, redirects, errors):
//! `get_json`, `post_json`, `delete`, or `execute` with a [`Request`].
//!
//! # Endpoints chosen at run time
//!
//! [`catalog`] describes every generated endpoint (parameters, body,
//! response, effect, release), and a [`catalog::Call`] sends any of them by
//! name with text arguments, through the same request path as the
//! generated method (operation name, retries, read-only mode, version
//! check, answers, leader following), returning the raw answer:
//!
//! ```no_run
//! # async fn demo(cluster: druid_api::Cluster) -> druid_api::Result<()> {
//! use druid_api::catalog::{self, Call};
//! let entry = catalog::lookup("coordinator", "datasources")?;
//! let answer = Call::new(entry).send(&cluster.coordinator()?).await?;
//! let names: Vec<String> = answer.json()?;
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! One [`Error`] type. Its predicates tell apart connection failures,
//! timeouts of one request, waits that ran out, TLS failures, Druid's
//! errors (with the status and the error body parsed in any of Druid's
//! shapes), answers that do not decode (with the JSON path), things that do
//! not exist, and bad input; [`Error::is_retryable`] says which failures are
//! transient. `Display` is one short line. Nothing panics on server input,
//! and no error or `Debug` output shows a password.
//!
//! # Cancellation and timeouts
//!
//! Every call is a future: drop it (or wrap it in `tokio::time::timeout`) to
//! cancel. Requests are bounded by the transport's timeouts (10 s to
//! connect, 300 s per request by default), and every helper that waits on
//! the cluster takes its own limit.
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls |
//! | `native-tls` | no | TLS through the platform library |

#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;
pub mod catalog;
mod cluster;
mod connect;
mod error;
pub mod models;
mod router_proxy;
mod rows;
mod service_client;
mod sql;
mod statements;
mod stream;
pub mod wait;

pub use wait::ETERNITY;

pub use cluster::{AnyClient, Cluster};
pub use connect::{ClientBuilder, connect};
pub use druid_discovery::{ClusterModel, Role, Server, ServerRow, ServerType, Source};
pub use druid_transport::{
    ApiError, BasicAuth, Body, Compression, DecodeError, DockerMapper, DruidError, Effect,
    ErrorShape, IdentityMapper, MockRequest, MockResponse, RedirectScope, Request, Response,
    RetryPolicy, Scheme, Service, ServiceMapper, TokenProvider, Transport, TransportBuilder,
    choose_port, service_url,
};
pub use error::{Error, Result};
pub use service_client::ServiceClient;
pub use sql::{Column, NativeResponse, QueryExt, SqlRequest, SqlResponse};
pub use statements::{AsyncResults, AsyncStatement};
pub use stream::RowStream;

/// The transport crate, for its own error type and lower-level access.
pub use druid_transport as transport;

/// The traits of the clients, to `use druid_api::prelude::*;`: the base
/// trait, every shared endpoint group's trait, and the query helpers.
pub mod prelude {
    pub use crate::group_traits::*;
    pub use crate::{QueryExt, ServiceClient};
}

druid_api_macros::generate_clients!("../api-spec");

/// The README's Rust examples compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
