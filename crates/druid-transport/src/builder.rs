//! Configuring a transport: [`TransportBuilder`], and what it builds.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use url::Url;

use crate::auth::{Auth, BasicAuth, TokenProvider};

#[cfg(any(feature = "rustls", feature = "native-tls"))]
use crate::error::BoxError;
use crate::error::{Error, Result};
use crate::mapper::{IdentityMapper, ServiceMapper};
use crate::mock::{MockFn, MockRequest, MockResponse};
use crate::request::is_secret_header;
use crate::retry::{RetryBudget, RetryPolicy};
use crate::transport::{Backend, Inner, RedirectScope, Transport, sanitize};

/// The default limit on the time to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default limit on a whole request, body download included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The default number of redirects followed for one call.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;
/// The default limit on the body of an endpoint's successful answer, after
/// decompression: 256 MiB. Query results are not limited (they stream).
///
/// Every answer of Druid's REST endpoints fits with room to spare: the
/// largest ones list a cluster's segments with their metadata (about 1 KB
/// a segment: 200,000 segments in `metadata/segments?full`), task lists and
/// lookups are smaller. An answer past the limit is [`Error::TooLarge`],
/// never a partial value; raise it with
/// [`TransportBuilder::max_response_bytes`].
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 << 20;
/// The default limit on one attempt of a request that may be repeated (a
/// read, an idempotent change), so that a frozen server costs one attempt,
/// not the whole call: 15 s.
///
/// Why 15 s: a frozen lead Coordinator or Overlord (a stopped process, a
/// long GC pause, a partition) keeps its leadership until its ZooKeeper
/// session expires, 30 s by default in Druid, and a standby takes over a few
/// seconds later (30.4 to 33.6 s, measured by `cargo xtask faults`). Each
/// attempt that times out asks the other servers who leads, so a call moves
/// to the new leader at the first timeout after the election: within about
/// 34 + 15 s of the freeze, inside the default retry deadline's 45 s for
/// calls that started after the freeze. Druid's REST answers (query
/// results apart, which stream and keep their own deadline) come in well
/// under a second on a healthy cluster.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Limits longer than this (ten years) mean "no limit": `Duration::MAX`
/// and its neighbours cannot be added to an `Instant`.
pub const UNLIMITED_ABOVE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A time limit as the transport keeps it: `None` for no limit, which is
/// what a limit above [`UNLIMITED_ABOVE`] (such as `Duration::MAX`) means.
pub fn effective_limit(limit: Duration) -> Option<Duration> {
    (limit <= UNLIMITED_ABOVE).then_some(limit)
}

/// The instant `limit` after `start`; `None` when that is no instant (no
/// limit).
pub fn deadline_after(start: std::time::Instant, limit: Duration) -> Option<std::time::Instant> {
    effective_limit(limit).and_then(|limit| start.checked_add(limit))
}

/// What a [`TransportBuilder`] builds: the [`Transport`] itself, or a client
/// made from one (`druid_api::Client` is), so that one builder, with one
/// set of options, serves every layer.
pub trait FromTransport: Sized {
    /// The error of building; it takes the transport's errors.
    type Error: From<Error>;

    /// Makes the value from a freshly built transport.
    fn from_transport(transport: Transport) -> std::result::Result<Self, Self::Error>;
}

impl FromTransport for Transport {
    type Error = Error;

    fn from_transport(transport: Transport) -> Result<Self> {
        Ok(transport)
    }
}

/// Where a CA certificate comes from.
#[derive(Clone)]
enum PemSource {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl PemSource {
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    fn load(&self, what: &str) -> Result<Vec<u8>> {
        match self {
            PemSource::Bytes(bytes) => Ok(bytes.clone()),
            PemSource::File(path) => std::fs::read(path).map_err(|e| Error::Config {
                message: format!("cannot read the {what} file {}", path.display()),
                source: Some(Box::new(e)),
            }),
        }
    }
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::File(path) => write!(f, "File({})", path.display()),
            PemSource::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
        }
    }
}

/// Configures a [`Transport`], or anything built from one (`T`, see
/// [`FromTransport`]). Setters never fail; [`TransportBuilder::build`]
/// checks everything.
#[must_use = "a builder does nothing until `build` is called"]
pub struct TransportBuilder<T = Transport> {
    url: Option<String>,
    credentials: Credentials,
    /// Name, value, and whether the header is marked public.
    headers: Vec<(String, String, bool)>,
    accept_invalid_certs: bool,
    read_only: bool,
    retry: RetryPolicy,
    retry_budget: RetryBudget,
    ca_certs: Vec<PemSource>,
    identity: Option<PemSource>,
    built_in_roots: bool,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    prefer_tls: Option<bool>,
    allow_plaintext_credentials: bool,
    max_response_bytes: usize,
    mapper: Arc<dyn ServiceMapper>,
    max_redirects: usize,
    redirect_origins: Vec<String>,
    user_agent: String,
    compression: Compression,
    mock: Option<Arc<MockFn>>,
    builds: PhantomData<fn() -> T>,
}

/// Whether answers are asked for compressed (`Accept-Encoding: gzip`, the
/// only encoding Druid serves; zstd is not served by Druid 27).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Gzip, unless the entry URL's host is a loopback address or
    /// `localhost`: on loopback, compressing costs more than it saves.
    #[default]
    Auto,
    /// Always gzip.
    Gzip,
    /// Never.
    Off,
}

/// The credentials given to a builder.
#[derive(Clone, Default)]
enum Credentials {
    #[default]
    None,
    Basic(BasicAuth),
    Bearer(String),
    Provider(Arc<dyn TokenProvider>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Basic(basic) => fmt::Debug::fmt(basic, f),
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::Provider(_) => f.write_str("BearerProvider"),
        }
    }
}

impl<T> Clone for TransportBuilder<T> {
    fn clone(&self) -> Self {
        TransportBuilder {
            url: self.url.clone(),
            credentials: self.credentials.clone(),
            headers: self.headers.clone(),
            accept_invalid_certs: self.accept_invalid_certs,
            read_only: self.read_only,
            retry: self.retry.clone(),
            retry_budget: self.retry_budget.clone(),
            ca_certs: self.ca_certs.clone(),
            identity: self.identity.clone(),
            built_in_roots: self.built_in_roots,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            attempt_timeout: self.attempt_timeout,
            prefer_tls: self.prefer_tls,
            allow_plaintext_credentials: self.allow_plaintext_credentials,
            max_response_bytes: self.max_response_bytes,
            mapper: self.mapper.clone(),
            max_redirects: self.max_redirects,
            redirect_origins: self.redirect_origins.clone(),
            user_agent: self.user_agent.clone(),
            compression: self.compression,
            mock: self.mock.clone(),
            builds: PhantomData,
        }
    }
}

impl<T> fmt::Debug for TransportBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("url", &self.url.as_deref().map(redact_url_text))
            .field("credentials", &self.credentials)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(name, value, public)| {
                        let secret = !public
                            && HeaderName::try_from(name.as_str())
                                .map_or(true, |name| is_secret_header(&name));
                        (name.as_str(), if secret { "<redacted>" } else { value })
                    })
                    .collect::<Vec<_>>(),
            )
            .field("danger_accept_invalid_certs", &self.accept_invalid_certs)
            .field("read_only", &self.read_only)
            .field("retry", &self.retry)
            .field("retry_budget", &self.retry_budget)
            .field("ca_certs", &self.ca_certs)
            .field(
                "identity",
                &self.identity.as_ref().map(|_| "<client certificate>"),
            )
            .field("built_in_roots", &self.built_in_roots)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("prefer_tls", &self.prefer_tls)
            .field(
                "allow_plaintext_credentials",
                &self.allow_plaintext_credentials,
            )
            .field("max_response_bytes", &self.max_response_bytes)
            .field("mapper", &self.mapper.describe())
            .field("max_redirects", &self.max_redirects)
            .field("redirect_origins", &self.redirect_origins)
            .field("user_agent", &self.user_agent)
            .field("compression", &self.compression)
            .field("mock", &self.mock.is_some())
            .finish()
    }
}

impl<T> Default for TransportBuilder<T> {
    fn default() -> Self {
        TransportBuilder {
            url: None,
            credentials: Credentials::None,
            headers: Vec::new(),
            accept_invalid_certs: false,
            read_only: false,
            retry: RetryPolicy::default(),
            retry_budget: RetryBudget::default(),
            ca_certs: Vec::new(),
            identity: None,
            built_in_roots: true,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            timeout: Some(DEFAULT_TIMEOUT),
            attempt_timeout: Some(DEFAULT_ATTEMPT_TIMEOUT),
            prefer_tls: None,
            allow_plaintext_credentials: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            mapper: Arc::new(IdentityMapper),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            redirect_origins: Vec::new(),
            user_agent: concat!("druid-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            compression: Compression::Auto,
            mock: None,
            builds: PhantomData,
        }
    }
}

impl<T> TransportBuilder<T> {
    /// The service to talk to first, a Router's or a Broker's URL, e.g.
    /// `http://localhost:8888` (see [`Transport::entry`]).
    ///
    /// Credentials in the URL (`http://user:pass@host:8888`, percent-encoded)
    /// become Basic auth, unless [`TransportBuilder::basic_auth`] is given,
    /// and never appear in `Debug` output or errors.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sends HTTP Basic credentials with every request (druid-basic-security).
    /// Replaces any other credentials given before.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Credentials::Basic(BasicAuth::new(username, password));
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request (an
    /// authenticator such as druid-pac4j or a gateway in front of Druid).
    /// Replaces any other credentials given before.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Credentials::Bearer(token.into());
        self
    }

    /// Asks `provider` for a bearer token before every request, so that
    /// tokens can be renewed while the client lives (see [`TokenProvider`]).
    /// Replaces any other credentials given before.
    pub fn bearer_token_provider(mut self, provider: impl TokenProvider) -> Self {
        self.credentials = Credentials::Provider(Arc::new(provider));
        self
    }

    /// Sends this header with every request (a request's own header of the
    /// same name wins). It is treated as a secret, as credentials are
    /// (never shown by `Debug`, never sent in plaintext after an `https`
    /// entry), unless its name is one that never carries one (`Accept`,
    /// `User-Agent`, `X-Druid-Author`, tracing headers such as
    /// `traceparent`, ...) or it is given with
    /// [`TransportBuilder::public_header`]. An invalid name or value fails
    /// [`TransportBuilder::build`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into(), false));
        self
    }

    /// Sends this header with every request, marked as holding no secret:
    /// `Debug` shows it, and it may go over plaintext.
    pub fn public_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into(), true));
        self
    }

    /// **Dangerous**: accepts any TLS certificate, expired, self-signed or
    /// for another host, so that anyone between the client and Druid can
    /// read and change the traffic, credentials included. For a throwaway
    /// test cluster only; give a private CA with
    /// [`TransportBuilder::ca_cert_file`] instead.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Refuses, before sending, every request that changes the cluster (a
    /// task submission, a config update, a cancel): for dashboards and
    /// automated agents that must only look. Reads, queries included, go
    /// out as usual; a refused request is [`Error::ReadOnly`].
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Retries failed requests by `policy` (default
    /// [`RetryPolicy::default`]; see there for what is retried).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Bounds the retries of all calls together (default
    /// [`RetryBudget::default`]: at least 10 a second, and a fifth of the
    /// calls), so that an outage does not multiply the load on a cluster
    /// that is already failing.
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.retry_budget = budget;
        self
    }

    /// Sends every request once: no retries.
    pub fn no_retries(self) -> Self {
        self.retry(RetryPolicy::none())
    }

    /// Trusts the CA certificate(s) in a PEM file, for clusters whose
    /// certificates a private CA signed.
    pub fn ca_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_certs.push(PemSource::File(path.into()));
        self
    }

    /// Trusts the CA certificate(s) in PEM text.
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certs.push(PemSource::Bytes(pem.into()));
        self
    }

    /// Trusts only the CAs given with [`Self::ca_cert_file`] or
    /// [`Self::ca_cert_pem`], not the system's.
    pub fn only_given_cas(mut self) -> Self {
        self.built_in_roots = false;
        self
    }

    /// Presents a client certificate (mutual TLS): a PEM file holding the
    /// private key and the certificate chain.
    pub fn client_identity_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.identity = Some(PemSource::File(path.into()));
        self
    }

    /// Presents a client certificate from PEM text (key and chain).
    pub fn client_identity_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.identity = Some(PemSource::Bytes(pem.into()));
        self
    }

    /// Limits the time to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Limits the time of a whole call, its retries and body included
    /// (default 300 s). A limit above ten years (`Duration::MAX`) means no
    /// limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = effective_limit(timeout);
        self
    }

    /// Removes the request time limit, for very long downloads.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// Limits each attempt of a request that may be repeated (reads and
    /// idempotent changes; not query results, which stream under their own
    /// deadline) to `timeout` (default [`DEFAULT_ATTEMPT_TIMEOUT`], 15 s):
    /// an attempt that runs out is retried, and a leader client asks who
    /// leads now, so that a frozen server costs one attempt, not the call.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = effective_limit(timeout);
        self
    }

    /// No limit per attempt: only the call's [`TransportBuilder::timeout`].
    pub fn no_attempt_timeout(mut self) -> Self {
        self.attempt_timeout = None;
        self
    }

    /// Whether the cluster's servers are reached on their TLS ports.
    ///
    /// Unset (the default), TLS follows the entry URL: an `https` entry
    /// means every server is reached over TLS, and a server without a TLS
    /// port cannot be called (its calls fail with an error naming it;
    /// nothing falls back to plaintext). `true` is the same with an `http`
    /// entry; `false` uses the plaintext ports, and then credentials are
    /// not sent over them after an `https` entry unless
    /// [`TransportBuilder::allow_plaintext_credentials`] says so.
    pub fn prefer_tls(mut self, prefer: bool) -> Self {
        self.prefer_tls = Some(prefer);
        self
    }

    /// **Lowers security**: lets credentials (Basic auth, bearer tokens,
    /// secret headers) go to a cluster's server over plaintext HTTP after
    /// an `https` entry URL, which the transport otherwise refuses
    /// ([`Error::Plaintext`]). For clusters whose plaintext network is
    /// trusted (TLS only at the edge). With an `http` entry, credentials
    /// go where the entry goes, as given.
    pub fn allow_plaintext_credentials(mut self, allow: bool) -> Self {
        self.allow_plaintext_credentials = allow;
        self
    }

    /// Limits the body of an endpoint's successful answer to `bytes`, after
    /// decompression (default [`DEFAULT_MAX_RESPONSE_BYTES`], 256 MiB);
    /// past it the call is [`Error::TooLarge`]. Query results stream and
    /// are not limited; error answers are read up to 1 MiB whatever this
    /// says.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Translates the hosts and ports Druid reports into reachable URLs
    /// (e.g. a [`DockerMapper`](crate::DockerMapper)). The URL given to
    /// [`TransportBuilder::url`] is always used as given.
    pub fn mapper(mut self, mapper: impl ServiceMapper + 'static) -> Self {
        self.mapper = Arc::new(mapper);
        self
    }

    /// Limits how many redirects one call follows (default 5).
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Lets redirects lead to these servers, `host:port` each (or a URL),
    /// besides the origin of the request itself, for every service of this
    /// transport: the servers of a cluster whose clients are built by hand.
    /// Services handed out by a discovered cluster carry its servers
    /// already (see
    /// [`Service::with_redirect_scope`](crate::Service::with_redirect_scope)).
    /// An entry that is not `host:port` fails [`TransportBuilder::build`].
    pub fn redirect_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redirect_origins
            .extend(origins.into_iter().map(Into::into));
        self
    }

    /// Whether answers come gzip-compressed (default [`Compression::Auto`]:
    /// yes, but not on loopback).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets the `User-Agent` header (default `druid-rs/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Answers every request with `handler` instead of the network.
    ///
    /// Everything else (URL building, auth headers, redirects, error
    /// decoding) runs as usual, so code that uses the client can be tested
    /// offline.
    pub fn mock<F>(mut self, handler: F) -> Self
    where
        F: Fn(&MockRequest) -> MockResponse + Send + Sync + 'static,
    {
        self.mock = Some(Arc::new(handler));
        self
    }

    /// Checks the configuration and builds the transport alone.
    fn build_transport(self) -> Result<Transport> {
        let mut auth = match &self.credentials {
            Credentials::None => Auth::None,
            Credentials::Basic(basic) => Auth::basic(basic.clone())?,
            Credentials::Bearer(token) => Auth::bearer(token)?,
            Credentials::Provider(provider) => Auth::Provider(provider.clone()),
        };
        let entry = match &self.url {
            Some(text) => {
                let (url, from_url) = parse_entry_url(text)?;
                if let (true, Some(basic)) = (auth.is_none(), from_url) {
                    auth = Auth::basic(basic)?;
                }
                Some(url)
            }
            None => None,
        };
        let default_headers = self.default_headers()?;
        let scope = self.redirect_scope()?;
        let gzip = match self.compression {
            Compression::Gzip => true,
            Compression::Off => false,
            Compression::Auto => entry.as_ref().is_some_and(|url| !is_loopback(url)),
        };
        let backend = match &self.mock {
            Some(mock) => Backend::Mock(mock.clone()),
            None => Backend::Http(self.build_reqwest(gzip)?),
        };
        let entry_https = entry.as_ref().is_some_and(|url| url.scheme() == "https");
        Ok(Transport::from_inner(Inner {
            backend,
            auth,
            default_headers,
            read_only: self.read_only,
            accept_invalid_certs: self.accept_invalid_certs,
            retry: self.retry,
            budget: self.retry_budget.start(),
            prefer_tls: self.prefer_tls,
            tls: self.prefer_tls.unwrap_or(entry_https),
            entry_https,
            allow_plaintext_credentials: self.allow_plaintext_credentials,
            max_response_bytes: self.max_response_bytes,
            mapper: self.mapper,
            max_redirects: self.max_redirects,
            timeout: self.timeout,
            attempt_timeout: self.attempt_timeout,
            scope,
            entry,
        }))
    }

    /// The origins given to [`TransportBuilder::redirect_origins`].
    fn redirect_scope(&self) -> Result<RedirectScope> {
        let mut origins = Vec::new();
        for text in &self.redirect_origins {
            let with_scheme = if text.contains("://") {
                text.clone()
            } else {
                format!("http://{text}")
            };
            let parsed = Url::parse(&with_scheme).ok().and_then(|url| {
                let port = url.port_or_known_default()?;
                Some((url.host_str()?.to_owned(), port))
            });
            match parsed {
                Some(origin) if text.contains("://") || text.rsplit_once(':').is_some() => {
                    origins.push(origin);
                }
                _ => {
                    return Err(Error::config(format!(
                        "redirect origin {:?} is not host:port (e.g. coordinator-2:8081)",
                        redact_url_text(text)
                    )));
                }
            }
        }
        Ok(RedirectScope::new(origins))
    }

    fn default_headers(&self) -> Result<HeaderMap> {
        let mut map = HeaderMap::new();
        for (name, value, public) in &self.headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| Error::config(format!("{name:?} is not a valid header name")))?;
            let mut value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                Error::config(format!(
                    "the value of header {name} is not valid header text"
                ))
            })?;
            value.set_sensitive(!public && is_secret_header(&name));
            map.append(name, value);
        }
        Ok(map)
    }

    fn build_reqwest(&self, gzip: bool) -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .gzip(gzip)
            .user_agent(self.user_agent.clone());
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        builder = self.configure_tls(builder)?;
        builder.build().map_err(|e| Error::Config {
            message: "the HTTP client could not be set up".to_owned(),
            source: Some(Box::new(e)),
        })
    }

    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    fn configure_tls(&self, mut builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        #[cfg(feature = "rustls")]
        {
            builder = builder.tls_backend_rustls();
        }
        let mut roots = Vec::new();
        for source in &self.ca_certs {
            let pem = source.load("CA certificate")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Config {
                message: format!("the CA certificate {source:?} is not valid PEM"),
                source: Some(Box::new(e)),
            })?;
            if certs.is_empty() {
                return Err(Error::config(format!(
                    "the CA certificate {source:?} holds no certificate; pass a PEM file with \
                     -----BEGIN CERTIFICATE----- blocks"
                )));
            }
            roots.extend(certs);
        }
        builder = if self.built_in_roots {
            builder.tls_certs_merge(roots)
        } else {
            builder.tls_certs_only(roots)
        };
        if let Some(source) = &self.identity {
            let pem = source.load("client certificate")?;
            builder = builder.identity(identity_from_pem(&pem)?);
        }
        if self.accept_invalid_certs {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        Ok(builder)
    }

    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    fn configure_tls(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        if !self.ca_certs.is_empty() || self.identity.is_some() || self.accept_invalid_certs {
            return Err(Error::config(
                "TLS options were given, but druid-transport was built without TLS; enable its \
                 `rustls` (default) or `native-tls` feature",
            ));
        }
        Ok(builder)
    }
}

impl<T: FromTransport> TransportBuilder<T> {
    /// Checks the configuration and builds what this builder is for.
    pub fn build(self) -> std::result::Result<T, T::Error> {
        T::from_transport(self.build_transport()?)
    }
}

/// Whether a URL's host is this machine.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

/// Checks the URL of the entry service; user info becomes Basic auth and is
/// removed from it.
fn parse_entry_url(text: &str) -> Result<(Url, Option<BasicAuth>)> {
    let mut url = Url::parse(text.trim()).map_err(|e| {
        Error::invalid_input(format!(
            "{:?} is not a URL ({e}); give the Router or Broker like http://localhost:8888",
            redact_url_text(text)
        ))
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::invalid_input(format!(
            "{} uses the scheme {:?}; use http or https",
            redact_url_text(text),
            redact_url_text(url.scheme())
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid_input(format!(
            "{:?} has no host",
            redact_url_text(text)
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_input(format!(
            "{} has a query or fragment; give the base URL only",
            redact_url_text(&sanitize(&url))
        )));
    }
    let mut auth = None;
    if !url.username().is_empty() || url.password().is_some() {
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        auth = Some(BasicAuth::new(
            decode(url.username()),
            url.password().map(decode).unwrap_or_default(),
        ));
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    Ok((url, auth))
}

/// The text of a URL, with what looks like user info replaced by
/// `<credentials>`, whether or not it parses: for messages about a URL a
/// user gave.
pub fn redact_url_text(text: &str) -> String {
    let Some(at) = text.rfind('@') else {
        return text.to_owned();
    };
    // After the scheme, if there is one: `ops:pw@host` has none.
    let start = text.find("://").map_or(0, |i| i + 3);
    if at < start {
        return text.to_owned();
    }
    format!("{}<credentials>@{}", &text[..start], &text[at + 1..])
}

#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn bad_identity(source: Option<BoxError>) -> Error {
    Error::Config {
        message: "the client certificate must be one PEM file with the private key (PKCS#8 with \
                  native-tls) and the certificate chain"
            .to_owned(),
        source,
    }
}

/// A client identity from one PEM text holding the key and the chain.
#[cfg(feature = "rustls")]
fn identity_from_pem(pem: &[u8]) -> Result<reqwest::Identity> {
    reqwest::Identity::from_pem(pem).map_err(|e| bad_identity(Some(Box::new(e))))
}

/// A client identity from one PEM text holding the key and the chain: the
/// platform library wants the two apart.
#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
fn identity_from_pem(pem: &[u8]) -> Result<reqwest::Identity> {
    let text = std::str::from_utf8(pem).map_err(|e| bad_identity(Some(Box::new(e))))?;
    let (mut certs, mut key) = (String::new(), String::new());
    let mut block = String::new();
    for line in text.lines() {
        block.push_str(line);
        block.push('\n');
        if line.starts_with("-----END ") {
            if line.contains("PRIVATE KEY") {
                key.push_str(&block);
            } else if line.contains("CERTIFICATE") {
                certs.push_str(&block);
            }
            block.clear();
        }
    }
    if certs.is_empty() || key.is_empty() {
        return Err(bad_identity(None));
    }
    reqwest::Identity::from_pkcs8_pem(certs.as_bytes(), key.as_bytes())
        .map_err(|e| bad_identity(Some(Box::new(e))))
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
            ("u:secret@localhost:8888", "scheme"),
        ] {
            let err = Transport::builder().url(url).build().unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err:?}");
            assert!(text.contains(needle), "{url}: {text}");
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_and_never_show() {
        let builder = Transport::builder().url("http://ad%40min:p%3As3cret@localhost:8888/");
        let debug = format!("{builder:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("<credentials>@localhost:8888"), "{debug}");
        let transport = builder
            .mock(|_| MockResponse::new(200, ""))
            .build()
            .unwrap();
        let entry = transport.entry().unwrap();
        assert_eq!(entry.base_url().as_str(), "http://localhost:8888/");
        let debug = format!("{transport:?} {entry:?}");
        assert!(debug.contains("ad@min"), "{debug}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("p%3A"),
            "{debug}"
        );
    }

    #[test]
    fn compression_is_off_on_loopback_unless_asked_for() {
        let url = |text: &str| Url::parse(text).unwrap();
        assert!(is_loopback(&url("http://localhost:8888")));
        assert!(is_loopback(&url("http://127.0.0.2:8888")));
        assert!(is_loopback(&url("http://[::1]:8888")));
        assert!(!is_loopback(&url("http://druid.example:8888")));
        assert!(!is_loopback(&url("http://10.0.0.7:8888")));
    }

    #[test]
    fn given_basic_auth_wins_over_the_url() {
        let transport = Transport::builder()
            .url("http://a:b@localhost:8888")
            .basic_auth("admin", "pw")
            .mock(|_| MockResponse::new(200, ""))
            .build()
            .unwrap();
        assert!(format!("{transport:?}").contains("\"admin\""));
    }

    #[test]
    fn basic_auth_debug_hides_password() {
        let auth = BasicAuth::new("admin", "s3cret");
        let text = format!("{auth:?}");
        assert!(text.contains("admin"));
        assert!(!text.contains("s3cret"));
        let builder = Transport::builder().basic_auth("admin", "s3cret");
        assert!(!format!("{builder:?}").contains("s3cret"));
        let transport = builder
            .mock(|_| MockResponse::new(200, ""))
            .build()
            .unwrap();
        assert!(!format!("{transport:?}").contains("s3cret"));
    }
}
