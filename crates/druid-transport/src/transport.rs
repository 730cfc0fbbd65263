//! The HTTP transport: one configured client, shared by every service.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use url::Url;

use crate::auth::Auth;
use crate::builder::TransportBuilder;
use crate::error::{BoxError, DruidError, Error, Result};
use crate::locate::Locate;
use crate::mapper::ServiceMapper;
use crate::mock::{MockFn, MockRequest};
use crate::request::{Body, Request};
use crate::response::Response;
use crate::retry::{
    BudgetState, RetryPolicy, failure_reason, is_candidate_status, retry_after, status_reason,
};
use crate::stream::{BodySource, StreamingResponse};

#[derive(Clone)]
pub(crate) enum Backend {
    Http(reqwest::Client),
    Mock(Arc<MockFn>),
}

pub(crate) struct Inner {
    pub(crate) backend: Backend,
    pub(crate) auth: Auth,
    pub(crate) default_headers: http::HeaderMap,
    pub(crate) read_only: bool,
    /// Certificates are not checked (`danger_accept_invalid_certs`).
    pub(crate) accept_invalid_certs: bool,
    pub(crate) retry: RetryPolicy,
    /// The retries all calls share.
    pub(crate) budget: Arc<BudgetState>,
    /// The `prefer_tls` setting as given (`None`: follow the entry).
    pub(crate) prefer_tls: Option<bool>,
    /// Whether the cluster's servers are reached over TLS.
    pub(crate) tls: bool,
    /// Whether the entry URL is `https`.
    pub(crate) entry_https: bool,
    pub(crate) allow_plaintext_credentials: bool,
    /// The limit on an endpoint's successful answer, decompressed.
    pub(crate) max_response_bytes: usize,
    pub(crate) mapper: Arc<dyn ServiceMapper>,
    pub(crate) max_redirects: usize,
    pub(crate) timeout: Option<Duration>,
    /// The limit on one attempt of a repeatable buffered request.
    pub(crate) attempt_timeout: Option<Duration>,
    /// Servers every service of this transport may be redirected to.
    pub(crate) scope: RedirectScope,
    /// The service given to the builder's `url`.
    pub(crate) entry: Option<Url>,
}

/// A configured HTTP client for one cluster. Cheap to clone; clones share
/// connections and settings, and nothing else: the transport holds no state
/// that discovery or a call changes.
///
/// Redirects are never followed by the HTTP library (it would drop the
/// `Authorization` header when the port changes, which a leader redirect
/// always does). The transport follows them itself: same method, same body,
/// the `Location` passed through the [`ServiceMapper`], and only to a host
/// the [`Service`] may be redirected to (see [`RedirectScope`]).
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("entry", &self.inner.entry.as_ref().map(Url::as_str))
            .field("auth", &self.inner.auth)
            .field("headers", &self.inner.default_headers)
            .field("read_only", &self.inner.read_only)
            .field(
                "danger_accept_invalid_certs",
                &self.inner.accept_invalid_certs,
            )
            .field("retry", &self.inner.retry)
            .field("prefer_tls", &self.inner.prefer_tls)
            .field("tls", &self.inner.tls)
            .field(
                "allow_plaintext_credentials",
                &self.inner.allow_plaintext_credentials,
            )
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .field("mapper", &self.inner.mapper.describe())
            .field("max_redirects", &self.inner.max_redirects)
            .field("redirect_scope", &self.inner.scope)
            .field("timeout", &self.inner.timeout)
            .field("attempt_timeout", &self.inner.attempt_timeout)
            .field("mock", &matches!(self.inner.backend, Backend::Mock(_)))
            .finish()
    }
}

impl Transport {
    /// Starts a configuration.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Transport {
            inner: Arc::new(inner),
        }
    }

    /// A handle on the service at `base_url` (e.g. `http://localhost:8081`).
    /// Its redirects may lead to the servers given to
    /// [`TransportBuilder::redirect_origins`].
    pub fn service(&self, base_url: Url) -> Service {
        Service {
            transport: self.clone(),
            base: base_url,
            scope: RedirectScope::default(),
            locator: None,
        }
    }

    /// The service given to [`TransportBuilder::url`], if one was.
    pub fn entry(&self) -> Option<Service> {
        self.inner.entry.clone().map(|url| self.service(url))
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
            .map(host, plaintext_port, tls_port, self.inner.tls)?;
        Ok(self.service(url))
    }

    /// Whether the cluster's servers are reached on their TLS ports: the
    /// `prefer_tls` setting, or, unset, whether the entry URL is `https`.
    pub fn prefer_tls(&self) -> bool {
        self.inner.tls
    }

    /// The limit on one call, its retries and body included (`None`: no
    /// limit).
    pub fn timeout(&self) -> Option<Duration> {
        self.inner.timeout
    }

    /// The limit on one attempt of a repeatable request (`None`: none).
    pub fn attempt_timeout(&self) -> Option<Duration> {
        self.inner.attempt_timeout
    }

    /// The limit on an endpoint's successful answer, in bytes after
    /// decompression.
    pub fn max_response_bytes(&self) -> usize {
        self.inner.max_response_bytes
    }

    /// Why a request to `url` must not go out over plaintext, if it must
    /// not: TLS is wanted for the cluster and `url` is a plaintext one
    /// (other than the entry URL, used as given), or it carries
    /// credentials after an `https` entry.
    fn plaintext_refusal(&self, url: &Url, request: &Request) -> Option<String> {
        if url.scheme() != "http" {
            return None;
        }
        let is_entry = self.inner.entry.as_ref().is_some_and(|entry| {
            entry.host_str() == url.host_str()
                && entry.port_or_known_default() == url.port_or_known_default()
        });
        if self.inner.tls && !is_entry {
            return Some(
                "the server has no TLS port (or was named by a plaintext URL) and this client \
                 reaches the cluster over TLS (an https entry URL, or prefer_tls(true)); enable \
                 TLS on it, or set prefer_tls(false) to use the plaintext ports"
                    .to_owned(),
            );
        }
        let carries_credentials = !self.inner.auth.is_none()
            || request.headers().values().any(HeaderValue::is_sensitive)
            || self
                .inner
                .default_headers
                .values()
                .any(HeaderValue::is_sensitive);
        if self.inner.entry_https && carries_credentials && !self.inner.allow_plaintext_credentials
        {
            return Some(
                "it carries credentials, and the entry URL is https; set \
                 allow_plaintext_credentials(true) to send them over plaintext anyway"
                    .to_owned(),
            );
        }
        None
    }

    /// The configured mapper.
    pub fn mapper(&self) -> &dyn ServiceMapper {
        &*self.inner.mapper
    }

    /// Whether requests that change the cluster are refused.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// The retry policy of requests that do not set their own.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Sends one request to `url` without following redirects; the body is
    /// left to read. `timeout` bounds this attempt, when the request has a
    /// limit of its own.
    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        request: &Request,
        timeout: Option<Duration>,
    ) -> Result<StreamingResponse> {
        if let Some(reason) = self.plaintext_refusal(url, request) {
            return Err(Error::Plaintext {
                url: sanitize(url),
                reason,
            });
        }
        let mut headers = request.headers().clone();
        if let Some(content_type) = request.body().content_type() {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        for (name, value) in &self.inner.default_headers {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        // A token provider answers within the attempt's time, or not at all.
        let has_timer = tokio::runtime::Handle::try_current().is_ok();
        let auth = match timeout.filter(|_| has_timer) {
            Some(limit) => tokio::time::timeout(limit, self.inner.auth.header_value())
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Credentials {
                        source: format!(
                            "the token provider did not answer within the {:.1?} left",
                            limit
                        )
                        .into(),
                    })
                })?,
            None => self.inner.auth.header_value().await?,
        };
        if let Some(auth) = auth {
            headers.insert(header::AUTHORIZATION, auth);
        }
        // Streamed query answers end with trailers (Druid's completeness flag).
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        let body = match request.body() {
            Body::Empty => Bytes::new(),
            Body::Json(bytes) => bytes.clone(),
            Body::Text(text) => Bytes::from(text.clone()),
        };
        let (status, headers, body) = match &self.inner.backend {
            Backend::Mock(handler) => {
                let mock = handler(&MockRequest {
                    method: method.clone(),
                    url: url.clone(),
                    headers,
                    body,
                });
                let body = BodySource::Buffered {
                    chunks: mock.chunks.into(),
                    trailers: mock.trailers,
                };
                (mock.status, mock.headers, body)
            }
            Backend::Http(client) => {
                #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
                if url.scheme() == "https" {
                    return Err(Error::Tls {
                        url: sanitize(url),
                        source: "druid-transport was built without TLS; enable its `rustls` \
                                 (default) or `native-tls` feature"
                            .into(),
                    });
                }
                let mut builder = client.request(method.clone(), url.clone()).headers(headers);
                if !body.is_empty() {
                    builder = builder.body(body);
                }
                if let Some(timeout) = timeout {
                    builder = builder.timeout(timeout);
                }
                let response = builder.send().await.map_err(|e| classify(e, url))?;
                let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
                (parts.status, parts.headers, BodySource::Http(body))
            }
        };
        Ok(StreamingResponse {
            status,
            headers,
            url: without_credentials(url),
            method: method.clone(),
            operation: request.operation_name().to_owned(),
            body,
            trailers: None,
            finished: false,
            retried: None,
        })
    }

    /// Sends `request` to the service at `base`, following redirects within
    /// `scope` and retrying what its policy and [`Effect`] allow; any status
    /// is returned. With `buffer`, the body is read within the attempt (so
    /// that a body cut off is retried too, and the answer is bounded by
    /// `max_response_bytes`); otherwise it is left to read, and nothing is
    /// retried once the headers are in.
    async fn execute_with_retries(
        &self,
        service: &Service,
        request: &Request,
        buffer: bool,
    ) -> Result<StreamingResponse> {
        let locator = service.locator.as_deref();
        let (mut base, mut scope) = service.located();
        let effect = request.effective_effect();
        if self.inner.read_only && effect.changes_state() && !request.is_own_cancel() {
            return Err(Error::ReadOnly {
                operation: request.operation_name().to_owned(),
                method: request.method().clone(),
                path: request.path().to_owned(),
            });
        }
        let policy = request.retry_override().unwrap_or(&self.inner.retry);
        let started = Instant::now();
        // The request's timeout bounds the whole call, retries included.
        let limit = match request.timeout_override() {
            Some(limit) => crate::builder::effective_limit(limit),
            None => self.inner.timeout,
        };
        // A repeatable request read whole has a limit per attempt too, so a
        // frozen server costs one attempt, not the call.
        let per_attempt = self
            .inner
            .attempt_timeout
            .filter(|_| buffer && effect.is_repeatable());
        let span = tracing::debug_span!(
            "druid.request",
            operation = request.operation_name(),
            method = %request.method(),
            url = %RequestUrl(&base, request),
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        self.inner.budget.call();
        let (outcome, attempts) = async {
            let mut attempt = 1;
            // The server whose last attempt ran out of time: the next one to
            // it is a short probe, so that a frozen server costs one full
            // attempt, and the call sees soon when another one takes over.
            let mut timed_out: Option<Url> = None;
            loop {
                let remaining = limit.map(|limit| limit.saturating_sub(started.elapsed()));
                let slow = timed_out.as_ref() == Some(&base)
                    || locator.is_some_and(|locator| locator.is_slow(&base));
                let per_attempt = match per_attempt {
                    Some(limit) if slow => Some(limit.min(PROBE_TIMEOUT)),
                    limit => limit,
                };
                let this_attempt = match (remaining, per_attempt) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let result = self
                    .attempt(&base, &scope, locator, request, this_attempt, buffer)
                    .await;
                let (result, reason) = match result {
                    Ok(response)
                        if is_candidate_status(response.status)
                            && !request.is_answer_status(response.status.as_u16()) =>
                    {
                        let response = response.buffered().await;
                        let error = DruidError::parse(response.buffered_bytes());
                        let reason = status_reason(effect, response.status, &error);
                        let answer = format!(
                            "{}: {}",
                            response.status.as_u16(),
                            error.message().unwrap_or("(no message)")
                        );
                        (Ok(response), reason.map(|reason| (reason, answer)))
                    }
                    Ok(response) => return (Ok(response), attempt),
                    Err(error) if error.is_timeout() => {
                        if let Some(locator) = locator {
                            locator.timed_out(&base);
                        }
                        timed_out = Some(base.clone());
                        let reason = failure_reason(effect, &error);
                        let answer = reason.map(|reason| (reason, error.to_string()));
                        (Err(error), answer)
                    }
                    Err(error) => {
                        // A redirect to a server the service's scope does not
                        // have yet (it joined since the cluster was read) was
                        // processed by nobody: a service that can be located
                        // asks again and retries once its scope changed.
                        let reason = failure_reason(effect, &error).or_else(|| {
                            (locator.is_some() && is_unknown_redirect(&error))
                                .then_some("a redirect named a server the client does not know yet")
                        });
                        let answer = reason.map(|reason| (reason, error.to_string()));
                        (Err(error), answer)
                    }
                };
                let Some((reason, answer)) = reason else {
                    return (result, attempt);
                };
                // Waiting needs a Tokio runtime's timer; without one (another
                // executor, a bare `block_on`) the first answer stands.
                if tokio::runtime::Handle::try_current().is_err() {
                    return (result, attempt);
                }
                let mut wait = policy.jittered_backoff(attempt);
                // A server that says when to come back is not asked before.
                if let Ok(response) = &result
                    && let Some(after) = response.header("retry-after").and_then(retry_after)
                {
                    wait = wait.max(after);
                }
                if let Some(locator) = locator
                    && moved(&result)
                {
                    // Ask where the service is now, within the call's time.
                    let left = policy
                        .time_limit()
                        .min(limit.unwrap_or(Duration::MAX))
                        .saturating_sub(started.elapsed());
                    let _ = tokio::time::timeout(left, locator.relocate(&base)).await;
                    let (next, next_scope) = service.located();
                    if next != base {
                        tracing::info!(from = %sanitize(&base), to = %sanitize(&next), "druid service moved; following it");
                        // A new address is worth trying at once.
                        wait = Duration::ZERO;
                        base = next;
                        scope = next_scope;
                    } else if matches!(&result, Err(error) if is_unknown_redirect(error)) {
                        if next_scope == scope {
                            // Nothing new: the same redirect would be refused again.
                            return (result, attempt);
                        }
                        wait = Duration::ZERO;
                        scope = next_scope;
                    }
                }
                let next_start = started.elapsed().saturating_add(wait);
                let out_of_time = next_start >= policy.time_limit()
                    || limit.is_some_and(|limit| next_start >= limit);
                if attempt >= policy.attempts() || out_of_time {
                    return (result, attempt);
                }
                if !self.inner.budget.try_retry() {
                    tracing::info!(
                        attempt,
                        reason,
                        answer = %truncated(&answer, ANSWER_CHARS),
                        "druid request failed; not retried: the transport's retry budget is spent"
                    );
                    return (result, attempt);
                }
                tracing::info!(
                    attempt,
                    reason,
                    answer = %truncated(&answer, ANSWER_CHARS),
                    wait_ms = wait.as_millis() as u64,
                    "druid request failed; retrying"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
        .instrument(span.clone())
        .await;
        let elapsed = started.elapsed();
        span.record("attempts", attempts);
        span.record("duration_ms", elapsed.as_millis() as u64);
        let outcome = match outcome {
            Ok(response)
                if matches!(response.status.as_u16(), 404 | 405)
                    && (request.since_release().is_some()
                        || request.extension_name().is_some()) =>
            {
                self.explain_missing(response, request, &base, &scope).await
            }
            outcome => outcome,
        };
        match outcome {
            Ok(mut response) => {
                span.record("status", response.status.as_u16());
                if attempts > 1 {
                    response.retried = Some((attempts, elapsed));
                }
                Ok(response)
            }
            Err(error) if attempts > 1 => Err(Error::Retried {
                attempts,
                elapsed,
                last: Box::new(error),
            }),
            Err(error) => Err(error),
        }
    }

    /// A 404 or 405 from an endpoint with a `since` or an extension, told
    /// apart by the service's `/status`: [`Error::Unsupported`] when the
    /// cluster is older than the endpoint, [`Error::MissingExtension`] when
    /// it does not load the endpoint's extension and the answer is not a
    /// Druid error (a loaded extension answers "not found" in JSON), and
    /// the answer itself otherwise, or when `/status` cannot be read. A
    /// Druid error of an endpoint without `since` is returned without
    /// reading `/status`.
    async fn explain_missing(
        &self,
        response: StreamingResponse,
        request: &Request,
        base: &Url,
        scope: &RedirectScope,
    ) -> Result<StreamingResponse> {
        // A loaded extension answers its own "not found" as a Druid error
        // (JSON); only a bare 404/405 can mean the extension is missing.
        let druid_error = response
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let extension = request.extension_name().filter(|_| !druid_error);
        if request.since_release().is_none() && extension.is_none() {
            return Ok(response);
        }
        let Some(status) = self.status_at(base, scope).await else {
            return Ok(response);
        };
        let version = status["version"].as_str().unwrap_or_default().to_owned();
        if let Some(since) = request.since_release()
            && !version.is_empty()
            && release_key(&version) < release_key(since)
        {
            return Err(Error::Unsupported {
                since: since.to_owned(),
                version,
                answer: Box::new(response.into_api_error().await),
            });
        }
        if let Some(extension) = extension {
            let loaded = status["modules"].as_array().is_some_and(|modules| {
                modules
                    .iter()
                    .any(|module| module["artifact"].as_str() == Some(extension))
            });
            if !loaded {
                return Err(Error::MissingExtension {
                    extension: extension.to_owned(),
                    answer: Box::new(response.into_api_error().await),
                });
            }
        }
        Ok(response)
    }

    /// The `/status` of the service at `base` (release and modules);
    /// `None` when that cannot be read within a couple of seconds.
    async fn status_at(&self, base: &Url, scope: &RedirectScope) -> Option<serde_json::Value> {
        let request = Request::get("/status")
            .operation("transport.release")
            .timeout(Duration::from_secs(3));
        let response = self
            .attempt(
                base,
                scope,
                None,
                &request,
                Some(Duration::from_secs(3)),
                true,
            )
            .await
            .ok()?
            .collect()
            .await
            .ok()?;
        // Only a `/status` that answered is one: an error body that holds a
        // `version` is not the release (found by the `status` fuzz target).
        if !response.status().is_success() {
            return None;
        }
        serde_json::from_slice(response.body()).ok()
    }

    /// One attempt: the request and the redirects it leads to; with
    /// `buffer`, its body read, within the limits of the answer's size.
    async fn attempt(
        &self,
        base: &Url,
        scope: &RedirectScope,
        locator: Option<&dyn Locate>,
        request: &Request,
        timeout: Option<Duration>,
        buffer: bool,
    ) -> Result<StreamingResponse> {
        let response = self
            .follow_redirects(base, scope, locator, request, timeout)
            .await?;
        if buffer {
            response
                .buffered_checked(self.inner.max_response_bytes)
                .await
        } else {
            Ok(response)
        }
    }

    /// Sends `request` to the service at `base`, following redirects within
    /// `scope`; any status is returned, with the body left to read.
    ///
    /// A redirect is followed only to the origin that answered it, or to a
    /// server (host and port, as Druid names it or as mapped) of `scope` or
    /// of the transport's own origins; never from `https` to `http`.
    async fn follow_redirects(
        &self,
        base: &Url,
        scope: &RedirectScope,
        locator: Option<&dyn Locate>,
        request: &Request,
        timeout: Option<Duration>,
    ) -> Result<StreamingResponse> {
        let mut url = join(base, request)?;
        let mut method = request.method().clone();
        let mut request = Cow::Borrowed(request);
        let mut hops = 0;
        let started = Instant::now();
        loop {
            // The hops share the attempt's time.
            let left = timeout.map(|limit| limit.saturating_sub(started.elapsed()));
            let response = self.send_once(&method, &url, &request, left).await?;
            if !is_followed_redirect(response.status) {
                return Ok(response);
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
            let location = response
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::Redirect {
                    from: from.clone(),
                    to: None,
                    reason: format!(
                        "the {} answer has no readable Location header",
                        response.status
                    ),
                })?;
            let target = url.join(location).map_err(|e| Error::Redirect {
                from: from.clone(),
                to: Some(crate::builder::redact_url_text(location)),
                reason: format!("the Location is not a valid URL: {e}"),
            })?;
            let mapped = self
                .inner
                .mapper
                .map_url(&target)
                .map_err(|e| Error::Redirect {
                    from: from.clone(),
                    to: Some(sanitize(&target)),
                    reason: format!("the Location could not be mapped: {e}"),
                })?;
            if url.scheme() == "https" && mapped.scheme() != "https" {
                return Err(Error::Redirect {
                    from,
                    to: Some(sanitize(&mapped)),
                    reason: "it leads from https to plaintext http".to_owned(),
                });
            }
            let same_origin =
                mapped.scheme() == url.scheme() && origin_of(&mapped) == origin_of(&url);
            let allowed = same_origin
                || [origin_of(&target), origin_of(&mapped)]
                    .into_iter()
                    .flatten()
                    .any(|(host, port)| {
                        scope.allows(&host, port) || self.inner.scope.allows(&host, port)
                    });
            if !allowed {
                return Err(Error::Redirect {
                    from,
                    to: Some(sanitize(&mapped)),
                    reason: OUTSIDE_THE_CLUSTER.to_owned(),
                });
            }
            if let Some(locator) = locator {
                let mut origin = target.clone();
                origin.set_path("/");
                origin.set_query(None);
                locator.redirected(&origin);
            }
            tracing::debug!(
                status = response.status.as_u16(),
                from = %from,
                to = %sanitize(&mapped),
                "following a redirect"
            );
            if response.status == StatusCode::SEE_OTHER {
                method = Method::GET;
                request = Cow::Owned(
                    Request::get(request.path()).operation(request.operation_name().to_owned()),
                );
            }
            url = mapped;
        }
    }
}

/// Why a redirect to a server outside the scope was not followed.
const OUTSIDE_THE_CLUSTER: &str =
    "it leads to a server that is neither the one asked nor a server of the cluster";

/// Whether `error` is a redirect refused because it led outside the scope.
fn is_unknown_redirect(error: &Error) -> bool {
    matches!(error, Error::Redirect { reason, .. } if reason == OUTSIDE_THE_CLUSTER)
}

/// A URL's host (without IPv6 brackets, lower case) and port.
fn origin_of(url: &Url) -> Option<(String, u16)> {
    Some((
        normalize_host(url.host_str()?),
        url.port_or_known_default()?,
    ))
}

/// A request's URL for the trace, without credentials; built only when a
/// subscriber records it.
struct RequestUrl<'a>(&'a Url, &'a Request);

impl fmt::Display for RequestUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = sanitize(self.0);
        write!(
            f,
            "{}{}",
            base.trim_end_matches('/'),
            self.1.path_and_query()
        )
    }
}

/// The servers a redirect may lead to, besides the origin of the request
/// itself: `(host, port)` pairs, a value, so that two handles never change
/// each other's scope.
///
/// A discovered cluster gives every service it hands out one scope holding
/// each server's host and ports, as reported and as mapped; a transport adds
/// the origins given to [`TransportBuilder::redirect_origins`] to every
/// service. Host names compare case-insensitively, IPv6 addresses without
/// brackets. A port is part of the origin: another port on a cluster host
/// (a database, a JMX agent) is not a server of the cluster.
///
/// Why a snapshot carried by each [`Service`], and not a policy kept by the
/// [`Transport`]: which servers belong to the cluster is knowledge of one
/// discovery, not a setting of the HTTP client. Kept in the transport, it
/// was shared mutable state: two clusters discovered through clones of one
/// client overwrote each other's servers, and a lock sat on every redirect.
/// As a value in the handle, a client keeps the scope of the cluster that
/// made it, clones share it for free (an `Arc`), and a refresh makes a new
/// one without touching clients handed out before.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedirectScope {
    origins: Arc<BTreeSet<(String, u16)>>,
}

impl RedirectScope {
    /// A scope of these servers, `(host, port)` each.
    pub fn new<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = (S, u16)>,
        S: AsRef<str>,
    {
        RedirectScope {
            origins: Arc::new(
                origins
                    .into_iter()
                    .map(|(host, port)| (normalize_host(host.as_ref()), port))
                    .collect(),
            ),
        }
    }

    /// Whether a redirect may lead to `host` on `port`.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.origins.contains(&(normalize_host(host), port))
    }

    /// The servers, hosts normalized.
    pub fn origins(&self) -> impl Iterator<Item = (&str, u16)> {
        self.origins
            .iter()
            .map(|(host, port)| (host.as_str(), *port))
    }
}

impl fmt::Debug for RedirectScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.origins.iter().map(|(h, p)| format!("{h}:{p}")))
            .finish()
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
    let path = request.path();
    if !path.starts_with('/') {
        return Err(Error::invalid_input(format!(
            "the request path {path:?} must start with '/'"
        )));
    }
    let prefix = base.as_str().trim_end_matches('/');
    let text = format!("{prefix}{}", request.path_and_query());
    Url::parse(&text).map_err(|e| {
        Error::invalid_input(format!(
            "{}{} is not a valid URL: {e}",
            sanitize(base).trim_end_matches('/'),
            request.path_and_query()
        ))
    })
}

fn without_credentials(url: &Url) -> Url {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean
}

/// The limit on an attempt to a server whose last attempt ran out of its
/// time (in the same call, or lately, by its [`Locate`]): enough for a
/// healthy Coordinator's answer, short enough that a call polls a frozen
/// leader's place every few seconds while its standby takes over (measured
/// by `cargo xtask faults`: with a full attempt each time, a call could not
/// see the election before its retry deadline).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How much of a failed attempt's answer a retry event carries.
const ANSWER_CHARS: usize = 200;

/// The first `max` characters of `text`, with `...` when it was longer.
fn truncated(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &text[..end]).into(),
        None => text.into(),
    }
}

/// A URL as text with any user name and password removed.
pub fn sanitize(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        url.to_string()
    } else {
        without_credentials(url).to_string()
    }
}

/// Sorts a failure of the HTTP library into the error the caller reacts to.
/// TLS is told by the types in the error's source chain, never by its text,
/// which holds host names.
pub(crate) fn classify(error: reqwest::Error, url: &Url) -> Error {
    let url = sanitize(url);
    let is_timeout = error.is_timeout();
    let is_connect = error.is_connect();
    let is_tls = is_tls_failure(&error);
    let source: BoxError = Box::new(error.without_url());
    if is_timeout {
        Error::Timeout { url, source }
    } else if is_tls {
        Error::Tls { url, source }
    } else if is_connect {
        Error::Connect { url, source }
    } else {
        Error::Io { url, source }
    }
}

/// Whether a TLS library's error is in the source chain. `std::io::Error`
/// hides the error it wraps from `source()`, so it is opened by hand.
fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if is_tls_error_type(e) {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && is_tls_failure(inner)
        {
            return true;
        }
        current = e.source();
    }
    false
}

#[allow(unused_variables)] // without a TLS backend there is nothing to look for
fn is_tls_error_type(error: &(dyn std::error::Error + 'static)) -> bool {
    #[cfg(feature = "rustls")]
    if error.is::<rustls::Error>() {
        return true;
    }
    #[cfg(feature = "native-tls")]
    if error.is::<native_tls::Error>() {
        return true;
    }
    // A protocol error (an alert) of OpenSSL's, not an I/O error it carried.
    #[cfg(all(
        feature = "native-tls",
        not(any(target_os = "windows", target_vendor = "apple"))
    ))]
    if let Some(ssl) = error.downcast_ref::<openssl::ssl::Error>()
        && ssl.code() == openssl::ssl::ErrorCode::SSL
    {
        return true;
    }
    false
}

/// A release's numbers for comparing (`27.0.0` before `28.0.0-SNAPSHOT`
/// before `28.0.1`); what does not parse counts as 0.
fn release_key(release: &str) -> Vec<u64> {
    release
        .split(['.', '-'])
        .take(3)
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

/// Whether a failed attempt looks like the service moved: no connection,
/// no answer in time (a frozen server), or a proxy's or a follower's "not
/// here" (502, 503, 504).
fn moved(result: &Result<StreamingResponse>) -> bool {
    match result {
        Err(error) => error.is_connect() || error.is_timeout() || is_unknown_redirect(error),
        Ok(response) => matches!(response.status.as_u16(), 502..=504),
    }
}

/// One service of the cluster: a transport, the service's base URL, and the
/// hosts its redirects may lead to.
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
    scope: RedirectScope,
    locator: Option<Arc<dyn Locate>>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("base_url", &sanitize(&self.base_url()))
            .field("redirect_scope", &self.scope)
            .field("located", &self.locator.is_some())
            .finish_non_exhaustive()
    }
}

impl Service {
    /// The base URL the next request goes to: the locator's, when the
    /// service has one (see [`Service::with_locator`]).
    pub fn base_url(&self) -> Url {
        self.located().0
    }

    /// The same service, asking `locator` where it is before every attempt
    /// (a cluster's leader, say).
    pub fn with_locator(mut self, locator: Arc<dyn Locate>) -> Self {
        self.locator = Some(locator);
        self
    }

    /// The base URL and scope of the next attempt.
    fn located(&self) -> (Url, RedirectScope) {
        self.locator
            .as_ref()
            .and_then(|l| l.current())
            .unwrap_or_else(|| (self.base.clone(), self.scope.clone()))
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The servers this service's redirects may lead to, besides the origin
    /// of the request and the transport's
    /// [`TransportBuilder::redirect_origins`].
    pub fn redirect_scope(&self) -> &RedirectScope {
        &self.scope
    }

    /// The same service, redirected only within `scope` (and the
    /// transport's origins): the servers of the cluster it belongs to.
    pub fn with_redirect_scope(mut self, scope: RedirectScope) -> Self {
        self.scope = scope;
        self
    }

    /// The same transport and redirect scope, at another base URL (a path
    /// prefix such as the Router's `/proxy/coordinator`, say).
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base = base_url;
        self.locator = None;
        self
    }

    /// Sends a request; any status is returned, with the whole body.
    /// Failures are retried by the request's policy and [`Effect`](crate::Effect), a body
    /// cut off included.
    pub async fn execute(&self, request: &Request) -> Result<Response> {
        self.transport
            .execute_with_retries(self, request, true)
            .await?
            .collect()
            .await
    }

    /// Sends a request; any status is returned as soon as the headers are
    /// in, and the body is read as it arrives (see [`StreamingResponse`]).
    /// Failures before the headers are retried by the request's policy and
    /// [`Effect`](crate::Effect); once the body flows, nothing is sent again.
    pub async fn execute_streaming(&self, request: &Request) -> Result<StreamingResponse> {
        self.transport
            .execute_with_retries(self, request, false)
            .await
    }

    /// Sends a request; a status other than 2xx is an [`Error::Api`].
    pub async fn send(&self, request: &Request) -> Result<Response> {
        self.execute(request).await?.error_for_status()
    }

    /// Sends a request and decodes a JSON answer.
    pub async fn send_json<T: DeserializeOwned>(&self, request: &Request) -> Result<T> {
        self.send(request).await?.json()
    }

    /// `GET path` (encoded, may hold a query), decoding a JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send_json(&raw_request(Method::GET, path)).await
    }

    /// `GET path`, returning the body as text.
    pub async fn get_text(&self, path: &str) -> Result<String> {
        self.send(&raw_request(Method::GET, path)).await?.text()
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
        self.send(&raw_request(Method::POST, path).json(body)?)
            .await
    }

    /// `POST path` with a text body, returning the answer as text.
    pub async fn post_text(&self, path: &str, body: &str) -> Result<String> {
        self.send(&raw_request(Method::POST, path).text(body))
            .await?
            .text()
    }

    /// `DELETE path`, returning the response.
    pub async fn delete(&self, path: &str) -> Result<Response> {
        self.send(&raw_request(Method::DELETE, path)).await
    }
}

/// A request for a caller-given path that may carry its own (encoded) query.
fn raw_request(method: Method, path: &str) -> Request {
    Request::new(method, path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockResponse;
    use std::sync::Mutex;

    /// Outside a Tokio runtime (another executor, a bare `block_on`) a
    /// failure is returned at once instead of a retry's timer panicking
    /// (the fuzz harness found the panic).
    #[test]
    fn without_a_tokio_runtime_a_retryable_failure_is_returned_not_a_panic() {
        let transport = Transport::builder()
            .mock(|_| MockResponse::new(503, ""))
            .build()
            .unwrap();
        let service = transport.service(base());
        let request = Request::get("/status");
        let mut future = std::pin::pin!(service.execute(&request));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let response = loop {
            if let std::task::Poll::Ready(result) = future.as_mut().poll(&mut context) {
                break result.unwrap();
            }
        };
        assert_eq!(response.status.as_u16(), 503);
    }

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

    #[tokio::test]
    async fn transport_wide_redirect_hosts_apply_to_hand_built_services() {
        let transport = Transport::builder()
            .redirect_origins(["leader.example:8081"])
            .mock(|r| match r.url.host_str() {
                Some("follower.example") => MockResponse::new(307, "").header(
                    "location",
                    "http://leader.example:8081/druid/coordinator/v1/x",
                ),
                _ => MockResponse::new(200, "from the leader"),
            })
            .build()
            .unwrap();
        let follower = transport.service(Url::parse("http://follower.example:8081").unwrap());
        let text = follower.get_text("/druid/coordinator/v1/x").await.unwrap();
        assert_eq!(text, "from the leader");
    }

    #[test]
    fn truncated_keeps_whole_characters() {
        assert_eq!(truncated("short", 10), "short");
        assert_eq!(truncated("ééééé", 3), "ééé...");
        assert_eq!(truncated("abc", 3), "abc");
    }

    #[test]
    fn sanitize_removes_credentials() {
        let url = Url::parse("http://admin:secret@host:1/x").unwrap();
        assert_eq!(sanitize(&url), "http://host:1/x");
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
            .redirect_origins(["localhost:8090"])
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
        // Another service of the same transport, scoped to a cluster that
        // has the host: allowed there, and the next hop loops until the
        // limit. The first service's scope is unchanged.
        let scoped = service
            .clone()
            .with_redirect_scope(RedirectScope::new([("EVIL.example", 80)]));
        assert!(matches!(
            service.get_text("/evil").await.unwrap_err(),
            Error::Redirect { .. }
        ));
        let err = scoped.get_text("/evil").await.unwrap_err();
        assert!(
            matches!(&err, Error::Redirect { reason, .. } if reason.contains("more than 5")),
            "{err:?}"
        );
    }

    /// A redirect leads only to a server of the cluster: another port of
    /// the same host is not one, and TLS is never given up.
    #[tokio::test]
    async fn redirects_stay_on_the_clusters_servers_and_on_tls() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let transport = Transport::builder()
            .basic_auth("u", "p")
            .mock(move |r| {
                log.lock().unwrap().push(r.url.to_string());
                match r.url.path() {
                    "/other-port" => {
                        MockResponse::new(307, "").header("location", "http://localhost:5432/steal")
                    }
                    "/downgrade" => {
                        MockResponse::new(307, "").header("location", "http://localhost:8281/x")
                    }
                    "/same" => MockResponse::new(307, "").header("location", "/landed"),
                    _ => MockResponse::new(200, "landed"),
                }
            })
            .build()
            .unwrap();
        let plain = transport.service(base());
        let err = plain.get_text("/other-port").await.unwrap_err();
        assert!(
            matches!(&err, Error::Redirect { reason, .. } if reason.contains("neither")),
            "{err:?}"
        );
        assert_eq!(plain.get_text("/same").await.unwrap(), "landed");
        let tls = transport
            .service(Url::parse("https://localhost:8281").unwrap())
            .with_redirect_scope(RedirectScope::new([("localhost", 8281)]));
        let err = tls.get_text("/downgrade").await.unwrap_err();
        assert!(
            matches!(&err, Error::Redirect { reason, .. } if reason.contains("https to plaintext")),
            "{err:?}"
        );
        let sent = seen.lock().unwrap().clone();
        assert!(
            sent.iter()
                .all(|url| !url.contains(":5432") && !url.starts_with("http://localhost:8281")),
            "{sent:?}"
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
        let text = transport
            .service(base())
            .with_redirect_scope(RedirectScope::new([("172.18.0.9", 8090)]))
            .get_text("/x?y=1")
            .await
            .unwrap();
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
