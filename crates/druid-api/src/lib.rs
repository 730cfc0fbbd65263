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
//! # async fn demo() -> druid_api::Result<()> {
//! let client = druid_api::connect("http://localhost:8888")?;
//!
//! // SQL, with typed rows.
//! #[derive(serde::Deserialize)]
//! struct Row { page: String, added: i64 }
//! let rows: Vec<Row> = client.sql("SELECT page, added FROM wiki").rows().await?;
//!
//! // The cluster and its services.
//! let cluster = client.cluster().await?;
//! for server in cluster.services() {
//!     println!("{} plays {:?}", server.server, server.types().collect::<Vec<_>>());
//! }
//! let overlord = cluster.overlord()?;
//! let running = overlord.tasks().state("running").await?;
//! let coordinator = cluster.coordinator()?;
//! assert!(coordinator.is_healthy().await?);
//! # Ok(()) }
//! ```
//!
//! # Connecting
//!
//! [`connect`] takes defaults; [`Client::builder`] sets Basic auth, a
//! private CA, a client certificate, timeouts, TLS preference and a
//! [`ServiceMapper`] for clusters behind Docker port maps or NAT:
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
//! # Endpoints the spec lacks
//!
//! Every client's [`service`](CoordinatorClient::service) sends any request
//! through the same transport (auth, TLS, redirects, errors):
//! `get_json`, `post_json`, `delete`, or `execute` with a [`Request`].
//!
//! # Errors
//!
//! One [`Error`] type tells apart connection failures, timeouts, TLS
//! failures, Druid's errors (with the status and the error body parsed in
//! any of Druid's shapes), responses that do not decode (with the JSON path),
//! things that do not exist, and bad input. Nothing panics on server input,
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

pub mod catalog;
mod client;
mod cluster;
pub mod models;
mod router_proxy;
mod sql;
mod statements;
pub mod wait;

pub use wait::ETERNITY;

pub use client::{ClientBuilder, connect};
pub use cluster::{AnyClient, Cluster};
pub use druid_discovery::{ClusterModel, Role, Server, ServerRow, ServerType};
pub use druid_transport::{
    ApiError, BasicAuth, Body, DecodeError, DockerMapper, DruidError, Error, ErrorShape,
    IdentityMapper, MockRequest, MockResponse, Request, Response, Result, Scheme, Service,
    ServiceMapper, Transport, choose_port, service_url,
};
pub use sql::{Column, SqlRequest, SqlResponse};
pub use statements::{AsyncResults, AsyncStatement};

druid_api_macros::generate_clients!("../api-spec");
