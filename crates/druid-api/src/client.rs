//! Connecting: `connect(url)`, the builder, and the entry-point client.

use std::path::PathBuf;
use std::time::Duration;

use druid_transport::url::Url;
use druid_transport::{
    Error, MockRequest, MockResponse, Result, ServiceMapper, Transport, TransportBuilder,
};

use crate::cluster::Cluster;
use crate::query::Client;
use crate::sql::SqlRequest;

/// A client for the Router or Broker at `url`, with default options.
///
/// No request is sent: a bad URL is an error here, an unreachable server
/// the first call's error.
///
/// ```no_run
/// # async fn demo() -> druid_api::Result<()> {
/// let client = druid_api::connect("http://localhost:8888")?;
/// assert!(client.is_healthy().await?);
/// # Ok(()) }
/// ```
pub fn connect(url: &str) -> Result<Client> {
    Client::builder().url(url).build()
}

/// Options for a [`Client`]; every setter chains, [`ClientBuilder::build`]
/// checks them all.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    url: Option<String>,
    transport: TransportBuilder,
    basic_auth_given: bool,
}

impl ClientBuilder {
    /// The Router or Broker to connect to, e.g. `http://localhost:8888`.
    ///
    /// Credentials in the URL (`http://user:pass@host:8888`) become Basic
    /// auth, unless [`ClientBuilder::basic_auth`] is given, and never appear
    /// in logs or errors.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sends HTTP Basic credentials with every request (druid-basic-security).
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.transport = self.transport.basic_auth(username, password);
        self.basic_auth_given = true;
        self
    }

    /// Trusts the CA certificate(s) in a PEM file (a private CA).
    pub fn ca_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.transport = self.transport.ca_cert_file(path);
        self
    }

    /// Trusts the CA certificate(s) in PEM text.
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.transport = self.transport.ca_cert_pem(pem);
        self
    }

    /// Trusts only the given CAs, not the system's.
    pub fn only_given_cas(mut self) -> Self {
        self.transport = self.transport.only_given_cas();
        self
    }

    /// Presents a client certificate (mutual TLS) from a PEM file holding the
    /// key and the chain.
    pub fn client_identity_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.transport = self.transport.client_identity_file(path);
        self
    }

    /// Presents a client certificate from PEM text (key and chain).
    pub fn client_identity_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.transport = self.transport.client_identity_pem(pem);
        self
    }

    /// Limits the time to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.connect_timeout(timeout);
        self
    }

    /// Limits the time of a whole request (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.timeout(timeout);
        self
    }

    /// Uses a server's TLS port when it has one.
    pub fn prefer_tls(mut self, prefer: bool) -> Self {
        self.transport = self.transport.prefer_tls(prefer);
        self
    }

    /// Translates the hosts and ports the cluster reports into URLs this
    /// client can reach (e.g. a [`DockerMapper`](crate::DockerMapper)). The
    /// URL given to [`ClientBuilder::url`] is always used as given.
    pub fn mapper(mut self, mapper: impl ServiceMapper + 'static) -> Self {
        self.transport = self.transport.mapper(mapper);
        self
    }

    /// Limits how many redirects one call follows (default 5).
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.transport = self.transport.max_redirects(max);
        self
    }

    /// Answers every request with `handler` instead of the network, for
    /// testing code that uses the client.
    pub fn mock<F>(mut self, handler: F) -> Self
    where
        F: Fn(&MockRequest) -> MockResponse + Send + Sync + 'static,
    {
        self.transport = self.transport.mock(handler);
        self
    }

    /// Checks the options and builds the client.
    pub fn build(self) -> Result<Client> {
        let text = self.url.ok_or_else(|| {
            Error::invalid_input("no URL was given; call `.url(\"http://host:8888\")`")
        })?;
        let mut url = Url::parse(text.trim()).map_err(|e| {
            Error::invalid_input(format!(
                "{:?} is not a URL ({e}); give the Router or Broker like http://localhost:8888",
                redact(&text)
            ))
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Error::invalid_input(format!(
                "{} uses the scheme {:?}; use http or https",
                druid_transport::transport::sanitize(&url),
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid_input(format!(
                "{:?} has no host",
                redact(&text)
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid_input(format!(
                "{} has a query or fragment; give the base URL only",
                druid_transport::transport::sanitize(&url)
            )));
        }
        let mut transport = self.transport;
        if !url.username().is_empty() {
            if !self.basic_auth_given {
                let user = decode(url.username());
                let password = url.password().map(decode).unwrap_or_default();
                transport = transport.basic_auth(user, password);
            }
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        let transport: Transport = transport.build()?;
        Ok(Client::new(transport.service(url)))
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The text of a URL that failed to parse, without what looks like user info.
fn redact(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!(
                "{}://<credentials>@{}",
                &text[..scheme_end],
                &text[at + 1..]
            )
        }
        _ => text.to_owned(),
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

    /// Starts an SQL query: set parameters, context and format on the
    /// builder, then `.rows().await`, `.send().await` or `.await`.
    ///
    /// ```no_run
    /// # async fn demo(client: druid_api::Client) -> druid_api::Result<()> {
    /// use druid_api::models::SqlParameter;
    /// let rows: Vec<serde_json::Value> = client
    ///     .sql("SELECT page, added FROM wiki WHERE added > ?")
    ///     .parameter(SqlParameter::bigint(10))
    ///     .rows()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn sql(&self, query: impl Into<String>) -> SqlRequest {
        SqlRequest::new(self.clone(), query.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_clear_errors() {
        for (url, needle) in [
            ("", "not a URL"),
            ("localhost:8888", "scheme"),
            ("ftp://h:1", "scheme"),
            ("http://h:8888/?x=1", "query"),
            ("http://u:secret@/x", "not a URL"),
        ] {
            let err = connect(url).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err:?}");
            assert!(text.contains(needle), "{url}: {text}");
            assert!(!text.contains("secret"), "{text}");
        }
        assert!(
            Client::builder()
                .build()
                .unwrap_err()
                .to_string()
                .contains("no URL")
        );
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth() {
        let client = connect("http://ad%40min:p%3Ass@localhost:8888/").unwrap();
        assert_eq!(client.base_url().as_str(), "http://localhost:8888/");
        let debug = format!("{client:?} {:?}", client.transport());
        assert!(debug.contains("ad@min"), "{debug}");
        assert!(
            !debug.contains("p:ss") && !debug.contains("p%3Ass"),
            "{debug}"
        );
    }
}
