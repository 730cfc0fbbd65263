//! HTTP transport for Apache Druid clients.
pub mod error;
pub mod mapper;
pub mod request;
pub mod transport;
pub use error::{ApiError, BoxError, DecodeError, DruidError, Error, ErrorShape, Result};
pub use http;
pub use mapper::{DockerMapper, IdentityMapper, Scheme, ServiceMapper, choose_port, service_url};
pub use request::{Body, Request, encode_segment, interval_path_param, path_param};
pub use transport::{
    BasicAuth, MockRequest, MockResponse, Response, Service, Transport, TransportBuilder,
};
pub use url;
