//! The HTTP transport: one configured client, shared by every service.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{ApiError, BoxError, DecodeError, DruidError, Error, Result, snippet};
use crate::mapper::{IdentityMapper, ServiceMapper};
use crate::request::{Body, Request};

/// The default limit on the time to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default limit on a whole request, body download included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The default number of redirects followed for one call.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;

/// HTTP Basic credentials. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    username: String,
    password: String,
}

impl BasicAuth {
    /// Credentials for a user.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        BasicAuth {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    fn header_value(&self) -> Result<HeaderValue> {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password));
        let mut value = HeaderValue::try_from(format!("Basic {token}"))
            .map_err(|_| Error::config("the Basic auth credentials are not valid header text"))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A request as a mock backend sees it: exactly what would go on the wire.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MockRequest {
    /// The method.
    pub method: Method,
    /// The full URL, query included.
    pub url: Url,
    /// All headers, `Authorization` and `Content-Type` included.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
}

/// The answer of a mock backend.
#[derive(Debug, Clone)]
pub struct MockResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl MockResponse {
    /// A response with a status and a body.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        MockResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// A `200` response with a JSON body.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::new(200, value.to_string()).header("content-type", "application/json")
    }

    /// Adds a header; an invalid one is ignored.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            HeaderValue::try_from(value),
        ) {
            self.headers.append(name, value);
        }
        self
    }
}

type MockFn = dyn Fn(&MockRequest) -> MockResponse + Send + Sync;

#[derive(Clone)]
enum Backend {
    Http(reqwest::Client),
    Mock(Arc<MockFn>),
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

/// Configures a [`Transport`]. Setters never fail; [`TransportBuilder::build`]
/// checks everything.
#[derive(Clone)]
pub struct TransportBuilder {
    basic_auth: Option<BasicAuth>,
    ca_certs: Vec<PemSource>,
    identity: Option<PemSource>,
    built_in_roots: bool,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    prefer_tls: bool,
    mapper: Arc<dyn ServiceMapper>,
    max_redirects: usize,
    user_agent: String,
    mock: Option<Arc<MockFn>>,
}

impl fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("basic_auth", &self.basic_auth)
            .field("ca_certs", &self.ca_certs)
            .field(
                "identity",
                &self.identity.as_ref().map(|_| "<client certificate>"),
            )
            .field("built_in_roots", &self.built_in_roots)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("prefer_tls", &self.prefer_tls)
            .field("mapper", &self.mapper.describe())
            .field("max_redirects", &self.max_redirects)
            .field("mock", &self.mock.is_some())
            .finish()
    }
}

impl Default for TransportBuilder {
    fn default() -> Self {
        TransportBuilder {
            basic_auth: None,
            ca_certs: Vec::new(),
            identity: None,
            built_in_roots: true,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            timeout: Some(DEFAULT_TIMEOUT),
            prefer_tls: false,
            mapper: Arc::new(IdentityMapper),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            user_agent: concat!("druid-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            mock: None,
        }
    }
}

impl TransportBuilder {
    /// Sends HTTP Basic credentials with every request (druid-basic-security).
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic_auth = Some(BasicAuth::new(username, password));
        self
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

    /// Limits the time of a whole request, body included (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Removes the request time limit, for very long downloads.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// Uses a server's TLS port when it has one.
    pub fn prefer_tls(mut self, prefer: bool) -> Self {
        self.prefer_tls = prefer;
        self
    }

    /// Translates the hosts and ports Druid reports into reachable URLs.
    pub fn mapper(mut self, mapper: impl ServiceMapper + 'static) -> Self {
        self.mapper = Arc::new(mapper);
        self
    }

    /// Limits how many redirects one call follows (default 5).
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Sets the `User-Agent` header.
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

    /// Whether TLS ports are preferred.
    pub fn is_prefer_tls(&self) -> bool {
        self.prefer_tls
    }

    /// Checks the configuration and builds the transport.
    pub fn build(self) -> Result<Transport> {
        let auth_header = match &self.basic_auth {
            Some(auth) => Some(auth.header_value()?),
            None => None,
        };
        let backend = match &self.mock {
            Some(mock) => Backend::Mock(mock.clone()),
            None => Backend::Http(self.build_reqwest()?),
        };
        Ok(Transport {
            inner: Arc::new(Inner {
                backend,
                auth_header,
                basic_auth: self.basic_auth,
                prefer_tls: self.prefer_tls,
                mapper: self.mapper,
                max_redirects: self.max_redirects,
                timeout: self.timeout,
                known_hosts: RwLock::new(HashSet::new()),
            }),
        })
    }

    fn build_reqwest(&self) -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
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
        Ok(builder)
    }

    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    fn configure_tls(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        if !self.ca_certs.is_empty() || self.identity.is_some() {
            return Err(Error::config(
                "TLS options were given, but druid-transport was built without TLS; enable its \
                 `rustls` (default) or `native-tls` feature",
            ));
        }
        Ok(builder)
    }
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

struct Inner {
    backend: Backend,
    auth_header: Option<HeaderValue>,
    basic_auth: Option<BasicAuth>,
    prefer_tls: bool,
    mapper: Arc<dyn ServiceMapper>,
    max_redirects: usize,
    timeout: Option<Duration>,
    known_hosts: RwLock<HashSet<String>>,
}

/// A configured HTTP client for one cluster. Cheap to clone; clones share
/// connections and settings.
///
/// Redirects are never followed by the HTTP library (it would drop the
/// `Authorization` header when the port changes, which a leader redirect
/// always does). The transport follows them itself: same method, same body,
/// the `Location` passed through the [`ServiceMapper`], and only to the host
/// of the request or to a host of the cluster.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("basic_auth", &self.inner.basic_auth)
            .field("prefer_tls", &self.inner.prefer_tls)
            .field("mapper", &self.inner.mapper.describe())
            .field("max_redirects", &self.inner.max_redirects)
            .field("timeout", &self.inner.timeout)
            .field("mock", &matches!(self.inner.backend, Backend::Mock(_)))
            .finish()
    }
}

impl Transport {
    /// Starts a configuration.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }

    /// A handle on the service at `base_url` (e.g. `http://localhost:8081`).
    pub fn service(&self, base_url: Url) -> Service {
        Service {
            transport: self.clone(),
            base: base_url,
        }
    }

    /// A handle on the server with these host and ports as Druid reports
    /// them, mapped through the configured [`ServiceMapper`].
    pub fn service_for(
        &self,
        host: &str,
        plaintext_port: Option<u16>,
        tls_port: Option<u16>,
    ) -> Result<Service> {
        let url = self
            .inner
            .mapper
            .map(host, plaintext_port, tls_port, self.inner.prefer_tls)?;
        Ok(self.service(url))
    }

    /// Whether TLS ports are preferred.
    pub fn prefer_tls(&self) -> bool {
        self.inner.prefer_tls
    }

    /// The configured mapper.
    pub fn mapper(&self) -> &dyn ServiceMapper {
        &*self.inner.mapper
    }

    /// Replaces the set of host names redirects may lead to (besides the
    /// host of the request itself). Discovery calls this with every host of
    /// the cluster, as reported and as mapped.
    pub fn set_cluster_hosts<I, S>(&self, hosts: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let set = hosts
            .into_iter()
            .map(|h| normalize_host(h.as_ref()))
            .collect();
        match self.inner.known_hosts.write() {
            Ok(mut guard) => *guard = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    fn is_cluster_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        match self.inner.known_hosts.read() {
            Ok(guard) => guard.contains(&host),
            Err(poisoned) => poisoned.into_inner().contains(&host),
        }
    }

    /// Sends one request to `url` without following redirects.
    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        request: &Request,
    ) -> Result<RawResponse> {
        let mut headers = request.headers().clone();
        if let Some(content_type) = request.body().content_type() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        if let Some(auth) = &self.inner.auth_header {
            headers.insert(header::AUTHORIZATION, auth.clone());
        }
        let body = match request.body() {
            Body::Empty => Bytes::new(),
            Body::Json(bytes) => bytes.clone(),
            Body::Text(text) => Bytes::from(text.clone()),
        };
        match &self.inner.backend {
            Backend::Mock(handler) => {
                let mock = handler(&MockRequest {
                    method: method.clone(),
                    url: url.clone(),
                    headers,
                    body,
                });
                Ok(RawResponse {
                    status: mock.status,
                    headers: mock.headers,
                    body: mock.body,
                })
            }
            Backend::Http(client) => {
                #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
                if url.scheme() == "https" {
                    return Err(Error::Tls {
                        url: sanitize(url),
                        source:
                            "druid-transport was built without TLS; enable its `rustls` (default) \
                                 or `native-tls` feature"
                                .into(),
                    });
                }
                let mut builder = client.request(method.clone(), url.clone()).headers(headers);
                if !body.is_empty() {
                    builder = builder.body(body);
                }
                let response = builder.send().await.map_err(|e| classify(e, url))?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await.map_err(|e| classify(e, url))?;
                Ok(RawResponse {
                    status,
                    headers,
                    body,
                })
            }
        }
    }

    /// Sends `request` to the service at `base`, following redirects; any
    /// status is returned as a [`Response`].
    pub async fn execute(&self, base: &Url, request: &Request) -> Result<Response> {
        let mut url = join(base, request)?;
        let mut method = request.method().clone();
        let mut request = request.clone();
        let mut hops = 0;
        loop {
            let raw = self.send_once(&method, &url, &request).await?;
            if !is_followed_redirect(raw.status) {
                return Ok(Response {
                    status: raw.status,
                    headers: raw.headers,
                    body: raw.body,
                    url,
                    method,
                    operation: request.operation_name().to_owned(),
                });
            }
            let from = sanitize(&url);
            if hops >= self.inner.max_redirects {
                return Err(Error::Redirect {
                    from,
                    to: None,
                    reason: format!(
                        "more than {} redirects; the cluster may have no stable leader",
                        self.inner.max_redirects
                    ),
                });
            }
            hops += 1;
            let location = raw
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::Redirect {
                    from: from.clone(),
                    to: None,
                    reason: format!("the {} answer has no readable Location header", raw.status),
                })?;
            let target = url.join(location).map_err(|e| Error::Redirect {
                from: from.clone(),
                to: Some(location.to_owned()),
                reason: format!("the Location is not a valid URL: {e}"),
            })?;
            let target_host = target.host_str().unwrap_or_default().to_owned();
            let mapped = self
                .inner
                .mapper
                .map_url(&target)
                .map_err(|e| Error::Redirect {
                    from: from.clone(),
                    to: Some(sanitize(&target)),
                    reason: format!("the Location could not be mapped: {e}"),
                })?;
            let request_host = url.host_str().unwrap_or_default();
            let mapped_host = mapped.host_str().unwrap_or_default();
            let allowed = normalize_host(mapped_host) == normalize_host(request_host)
                || self.is_cluster_host(&target_host)
                || self.is_cluster_host(mapped_host);
            if !allowed {
                return Err(Error::Redirect {
                    from,
                    to: Some(sanitize(&mapped)),
                    reason: "it leads to a host that is neither the requested one nor a server \
                             of the cluster"
                        .to_owned(),
                });
            }
            if raw.status == StatusCode::SEE_OTHER {
                method = Method::GET;
                request =
                    Request::get(request.path()).operation(request.operation_name().to_owned());
            }
            url = mapped;
        }
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Joins a base URL (which may carry a path prefix, as the Router's
/// `/proxy/coordinator`) and a request's encoded path and query.
fn join(base: &Url, request: &Request) -> Result<Url> {
    if base.query().is_some() {
        return Err(Error::invalid_input(format!(
            "the service URL {} has a query; give it without one",
            sanitize(base)
        )));
    }
    let prefix = base.as_str().trim_end_matches('/');
    let path = request.path();
    if !path.starts_with('/') {
        return Err(Error::invalid_input(format!(
            "the request path {path:?} must start with '/'"
        )));
    }
    let text = format!("{prefix}{}", request.path_and_query());
    Url::parse(&text).map_err(|e| {
        Error::invalid_input(format!("{} is not a valid URL: {e}", strip_userinfo(&text)))
    })
}

fn strip_userinfo(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => sanitize(&url),
        Err(_) => text.to_owned(),
    }
}

/// A URL as text with any user name and password removed.
pub fn sanitize(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

fn classify(error: reqwest::Error, url: &Url) -> Error {
    let url = sanitize(url);
    let is_timeout = error.is_timeout();
    let is_connect = error.is_connect();
    let chain = error_chain_text(&error);
    let source: BoxError = Box::new(error.without_url());
    if is_timeout {
        Error::Timeout { url, source }
    } else if looks_like_tls(&chain) {
        Error::Tls { url, source }
    } else if is_connect {
        Error::Connect { url, source }
    } else {
        Error::Transport { url, source }
    }
}

fn error_chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(" | ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text.to_ascii_lowercase()
}

fn looks_like_tls(chain: &str) -> bool {
    [
        "certificate",
        "tls",
        "ssl",
        "handshake",
        "unknownissuer",
        "badsignature",
        "notvalidforname",
        "invalid peer",
    ]
    .iter()
    .any(|needle| chain.contains(needle))
}

struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// A complete response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    url: Url,
    method: Method,
    operation: String,
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The final URL (after redirects), with credentials.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the body is empty or only white space.
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// Turns a non-success status into [`Error::Api`]; statuses listed in
    /// `also_ok` count as success.
    pub fn error_for_status(self, also_ok: &[u16]) -> Result<Self> {
        if self.status.is_success() || also_ok.contains(&self.status.as_u16()) {
            Ok(self)
        } else {
            Err(self.into_api_error())
        }
    }

    /// This response as an [`ApiError`], whatever its status.
    pub fn into_api_error(self) -> Error {
        Error::Api(Box::new(ApiError {
            status: self.status,
            method: self.method,
            url: sanitize(&self.url),
            operation: self.operation,
            error: DruidError::parse(&self.body),
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }))
    }

    /// Decodes the body as JSON into `T`, naming the JSON path on failure.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        let value: T = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| self.decode_error::<T>(e.path().to_string(), e.inner().to_string()))?;
        de.end()
            .map_err(|e| self.decode_error::<T>(".".to_owned(), e.to_string()))?;
        Ok(value)
    }

    /// Like [`Response::json`], but an empty body (or a `204`) is `None`.
    pub fn json_opt<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        if self.status == StatusCode::NO_CONTENT || self.is_empty() {
            Ok(None)
        } else {
            self.json().map(Some)
        }
    }

    /// Like [`Response::json_opt`], and a plain-text message where JSON was
    /// expected is `None` too: some Druid releases answer "nothing here" with
    /// a sentence (and a JSON content type).
    pub fn json_or_text_opt<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        let first = self.body.iter().find(|b| !b.is_ascii_whitespace());
        match first {
            Some(b'{' | b'[' | b'"') => self.json_opt(),
            Some(c) if c.is_ascii_digit() || *c == b'-' => self.json_opt(),
            Some(_) if serde_json::from_slice::<serde_json::Value>(&self.body).is_err() => Ok(None),
            _ => self.json_opt(),
        }
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<String> {
        String::from_utf8(self.body.to_vec())
            .map_err(|e| self.decode_error::<String>(".".to_owned(), e.to_string()))
    }

    /// A [`DecodeError`] for this response.
    pub fn decode_error<T>(&self, path: String, message: String) -> Error {
        Error::Decode(Box::new(DecodeError {
            operation: self.operation.clone(),
            url: sanitize(&self.url),
            expected: std::any::type_name::<T>().to_owned(),
            path,
            message,
            snippet: snippet(&self.body, 200),
        }))
    }
}

/// One service of the cluster: a transport and the service's base URL.
///
/// Besides backing the generated clients, it is the generic access to
/// endpoints the spec does not cover (an extension's own REST API, say): the
/// same auth, TLS, redirects and errors apply.
///
/// ```no_run
/// # async fn demo(service: druid_transport::Service) -> druid_transport::Result<()> {
/// let answer: serde_json::Value = service.get_json("/druid/my-extension/v1/state").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Service {
    transport: Transport,
    base: Url,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("base_url", &sanitize(&self.base))
            .finish_non_exhaustive()
    }
}

impl Service {
    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends a request; any status is returned.
    pub async fn execute(&self, request: &Request) -> Result<Response> {
        self.transport.execute(&self.base, request).await
    }

    /// Sends a request; a non-success status is an [`Error::Api`], except
    /// the statuses in `also_ok`.
    pub async fn send(&self, request: &Request, also_ok: &[u16]) -> Result<Response> {
        self.execute(request).await?.error_for_status(also_ok)
    }

    /// Sends a request and decodes a JSON answer.
    pub async fn send_json<T: DeserializeOwned>(&self, request: &Request) -> Result<T> {
        self.send(request, &[]).await?.json()
    }

    /// `GET path` (encoded, may hold a query), decoding a JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send_json(&raw_request(Method::GET, path)).await
    }

    /// `GET path`, returning the body as text.
    pub async fn get_text(&self, path: &str) -> Result<String> {
        self.send(&raw_request(Method::GET, path), &[])
            .await?
            .text()
    }

    /// `POST path` with a JSON body, decoding a JSON answer (use
    /// `serde_json::Value` when the answer is not known, and
    /// [`Service::post_json_empty`] when there is none).
    pub async fn post_json<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: serde::Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(&raw_request(Method::POST, path).json(body)?)
            .await
    }

    /// `POST path` with a JSON body, ignoring the answer's body.
    pub async fn post_json_empty<B>(&self, path: &str, body: &B) -> Result<Response>
    where
        B: serde::Serialize + ?Sized,
    {
        self.send(&raw_request(Method::POST, path).json(body)?, &[])
            .await
    }

    /// `POST path` with a text body, returning the answer as text.
    pub async fn post_text(&self, path: &str, body: &str) -> Result<String> {
        self.send(&raw_request(Method::POST, path).text(body), &[])
            .await?
            .text()
    }

    /// `DELETE path`, returning the response.
    pub async fn delete(&self, path: &str) -> Result<Response> {
        self.send(&raw_request(Method::DELETE, path), &[]).await
    }
}

/// A request for a caller-given path that may carry its own (encoded) query.
fn raw_request(method: Method, path: &str) -> Request {
    Request::new(method, path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn base() -> Url {
        Url::parse("http://localhost:8081").unwrap()
    }

    #[test]
    fn join_handles_prefixes_and_queries() {
        let r = Request::get("/status").flag("full");
        assert_eq!(
            join(&base(), &r).unwrap().as_str(),
            "http://localhost:8081/status?full"
        );
        let proxy = Url::parse("http://router:8888/proxy/coordinator/").unwrap();
        assert_eq!(
            join(&proxy, &r).unwrap().as_str(),
            "http://router:8888/proxy/coordinator/status?full"
        );
        let raw = Request::get("/druid/x?a=1");
        assert_eq!(
            join(&base(), &raw).unwrap().as_str(),
            "http://localhost:8081/druid/x?a=1"
        );
        assert!(join(&base(), &Request::get("status")).is_err());
    }

    #[test]
    fn sanitize_removes_credentials() {
        let url = Url::parse("http://admin:secret@host:1/x").unwrap();
        assert_eq!(sanitize(&url), "http://host:1/x");
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

    #[tokio::test]
    async fn mock_sees_auth_and_body() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let transport = Transport::builder()
            .basic_auth("admin", "pw")
            .mock(move |r| {
                log.lock().unwrap().push(r.clone());
                MockResponse::json(&serde_json::json!({"ok": true}))
            })
            .build()
            .unwrap();
        let service = transport.service(base());
        let v: serde_json::Value = service
            .post_json("/x", &serde_json::json!({"a": 1}))
            .await
            .unwrap();
        assert_eq!(v["ok"], true);
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].method, Method::POST);
        assert_eq!(seen[0].headers["authorization"], "Basic YWRtaW46cHc=");
        assert_eq!(seen[0].headers["content-type"], "application/json");
        assert_eq!(&seen[0].body[..], br#"{"a":1}"#);
    }

    #[tokio::test]
    async fn redirects_are_followed_with_method_body_and_auth() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let transport = Transport::builder()
            .basic_auth("u", "p")
            .mock(move |r| {
                log.lock().unwrap().push(r.clone());
                if r.url.port() == Some(8081) {
                    MockResponse::new(307, "")
                        .header("location", "http://localhost:8090/druid/indexer/v1/task")
                } else {
                    MockResponse::json(&serde_json::json!({"task": "t1"}))
                }
            })
            .build()
            .unwrap();
        let v: serde_json::Value = transport
            .service(base())
            .post_json(
                "/druid/indexer/v1/task",
                &serde_json::json!({"type": "noop"}),
            )
            .await
            .unwrap();
        assert_eq!(v["task"], "t1");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].method, Method::POST);
        assert_eq!(&seen[1].body[..], br#"{"type":"noop"}"#);
        assert!(seen[1].headers.contains_key("authorization"));
    }

    #[tokio::test]
    async fn redirects_off_cluster_are_refused_and_loops_stop() {
        let transport = Transport::builder()
            .mock(|r| {
                if r.url.path() == "/evil" {
                    MockResponse::new(307, "").header("location", "http://evil.example/steal")
                } else {
                    MockResponse::new(307, "").header("location", "/loop")
                }
            })
            .build()
            .unwrap();
        let service = transport.service(base());
        let err = service.get_text("/evil").await.unwrap_err();
        match &err {
            Error::Redirect { to, reason, .. } => {
                assert_eq!(to.as_deref(), Some("http://evil.example/steal"));
                assert!(reason.contains("neither"));
            }
            other => panic!("unexpected {other:?}"),
        }
        transport.set_cluster_hosts(["evil.example"]);
        let err = service.get_text("/evil").await.unwrap_err();
        // Allowed now, and the next hop loops until the limit.
        assert!(
            matches!(&err, Error::Redirect { reason, .. } if reason.contains("more than 5")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn redirects_are_mapped() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let transport = Transport::builder()
            .mapper(crate::DockerMapper::new("localhost", [[18090, 8090]]))
            .mock(move |r| {
                log.lock().unwrap().push(r.url.to_string());
                if r.url.port() == Some(8081) {
                    MockResponse::new(307, "").header("location", "http://172.18.0.9:8090/x?y=1")
                } else {
                    MockResponse::new(200, "done")
                }
            })
            .build()
            .unwrap();
        transport.set_cluster_hosts(["172.18.0.9"]);
        let text = transport.service(base()).get_text("/x?y=1").await.unwrap();
        assert_eq!(text, "done");
        assert_eq!(seen.lock().unwrap()[1], "http://localhost:18090/x?y=1");
    }

    #[tokio::test]
    async fn api_errors_keep_status_body_and_shape() {
        let transport = Transport::builder()
            .mock(|_| MockResponse::new(404, r#"{"error":"Can't find chatHandler"}"#))
            .build()
            .unwrap();
        let err = transport.service(base()).get_text("/x").await.unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(
            err.druid_error().unwrap().message(),
            Some("Can't find chatHandler")
        );
        let text = err.to_string();
        assert!(
            text.contains("404") && text.contains("Can't find chatHandler"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn decode_errors_name_the_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Status {
            status: Inner,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            duration: i64,
        }
        let transport = Transport::builder()
            .mock(|_| MockResponse::new(200, r#"{"status":{"duration":"long"}}"#))
            .build()
            .unwrap();
        let err = transport
            .service(base())
            .get_json::<Status>("/x")
            .await
            .unwrap_err();
        let Error::Decode(decode) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(decode.path, "status.duration");
        assert!(decode.snippet.contains("long"));
        assert!(decode.expected.contains("Status"));
    }
}

#[cfg(all(test, not(any(feature = "rustls", feature = "native-tls"))))]
mod no_tls_tests {
    use super::*;

    #[tokio::test]
    async fn https_without_a_tls_backend_is_a_tls_error() {
        let transport = Transport::builder().build().unwrap();
        let err = transport
            .service(Url::parse("https://localhost:1").unwrap())
            .get_text("/status")
            .await
            .unwrap_err();
        assert!(err.is_tls(), "{err:?}");
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("rustls")
        );
        let err = Transport::builder().ca_cert_pem("x").build().unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
    }
}
