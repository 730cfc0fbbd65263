//! Connecting: `connect(url)`, the builder, and the entry-point client.

use druid_transport::{FromTransport, Transport, TransportBuilder};

use crate::client::Client;
use crate::cluster::Cluster;
use crate::{Error, Result};

/// Options for a [`Client`]: the transport's builder, building a client.
///
/// Every option of [`TransportBuilder`] is here (the URL, auth, TLS,
/// timeouts, the mapper, redirect limits, the user agent, the mock backend);
/// [`TransportBuilder::build`] checks them all and needs a URL.
pub type ClientBuilder = TransportBuilder<Client>;

/// A client for the Router or Broker at `url`, with default options.
///
/// No request is sent: a bad URL is an error here, an unreachable server
/// the first call's error.
///
/// ```no_run
/// use druid_api::prelude::*;
///
/// # async fn demo() -> druid_api::Result<()> {
/// let client = druid_api::connect("http://localhost:8888")?;
/// assert!(client.is_healthy().await?);
/// # Ok(()) }
/// ```
pub fn connect(url: &str) -> Result<Client> {
    Client::builder().url(url).build()
}

impl FromTransport for Client {
    type Error = Error;

    fn from_transport(transport: Transport) -> Result<Self> {
        let entry = transport.entry().ok_or_else(|| {
            Error::invalid_input("no URL was given; call `.url(\"http://host:8888\")`")
        })?;
        Ok(Client::new(entry))
    }
}

impl Client {
    /// Starts the options of a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The transport: settings, mapper, and a handle on any service.
    pub fn transport(&self) -> &Transport {
        self.service().transport()
    }

    /// Discovers the cluster from `sys.servers` through this Router or Broker.
    pub async fn cluster(&self) -> Result<Cluster> {
        Cluster::discover(self.clone()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_needs_a_url() {
        let err = Client::builder().build().unwrap_err();
        assert!(err.is_invalid_input(), "{err:?}");
        assert!(err.to_string().contains("no URL"), "{err}");
    }

    #[test]
    fn every_transport_option_is_on_the_client_builder() {
        // `no_timeout` and `user_agent` were lost when the client builder
        // copied the transport's setters one by one.
        let builder = Client::builder()
            .url("http://admin:s3cret@localhost:8888")
            .no_timeout()
            .user_agent("my-app/1")
            .redirect_origins(["coordinator-2:8081"]);
        let debug = format!("{builder:?}");
        assert!(debug.contains("timeout: None"), "{debug}");
        assert!(debug.contains("my-app/1"), "{debug}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let client = builder.build().unwrap();
        assert_eq!(client.base_url().as_str(), "http://localhost:8888/");
        let debug = format!("{client:?} {:?}", client.transport());
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
