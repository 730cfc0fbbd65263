//! A request as data: method, encoded path, query, headers and body.
//!
//! Building a [`Request`] does no I/O, so the shape of every call can be
//! checked without a server.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::response::{Answer, StatusMatch};
use crate::retry::{Effect, RetryPolicy};

/// Everything but RFC 3986's unreserved characters is encoded, in path
/// segments and in query keys and values alike: Druid ids hold `:`, `/`,
/// spaces and `+`, and Jetty decodes them all.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment.
///
/// Everything but letters, digits and `-._~` is encoded, `/` included.
/// The dot segments `.` and `..` cannot be encoded away (URL parsers treat
/// `%2E%2E` as `..` too); [`path_param`] refuses them.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, COMPONENT).to_string()
}

/// Percent-encodes a query key or value.
pub fn encode_query_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Checks and encodes a path parameter: it must not be empty, `.` or `..`,
/// since those would silently address a different endpoint.
///
/// `name` is the parameter's name in the caller's terms, for the error.
pub fn path_param(name: &str, value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::invalid_input(format!(
            "the path parameter `{name}` is empty; pass a non-empty value"
        )));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(format!(
            "the path parameter `{name}` is {value:?}, which a URL reads as a folder step, \
             so no endpoint can be addressed with it"
        )));
    }
    Ok(encode_segment(value))
}

/// Checks and encodes an interval for a path, in Druid's `_` form.
///
/// Accepts `2016-06-27/2016-06-28` (the usual ISO-8601 form, as in request
/// bodies) or `2016-06-27_2016-06-28` (the path form) and returns the
/// encoded path form.
pub fn interval_path_param(name: &str, value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::invalid_input(format!(
            "the interval `{name}` is empty; pass one like 2024-01-01/2024-01-02"
        )));
    }
    let path_form = value.replace('/', "_");
    if !path_form.contains('_') {
        return Err(Error::invalid_input(format!(
            "the interval `{name}` ({value:?}) has no start/end separator; \
             pass one like 2024-01-01/2024-01-02"
        )));
    }
    Ok(encode_segment(&path_form))
}

/// The body of a request.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// A JSON document, sent as `application/json`.
    Json(Bytes),
    /// Text, sent as `text/plain; charset=utf-8`.
    Text(String),
}

impl Body {
    /// The body's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Json(bytes) => bytes,
            Body::Text(text) => text.as_bytes(),
        }
    }

    /// The `Content-Type` this body is sent with.
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Text(_) => Some("text/plain; charset=utf-8"),
        }
    }

    /// The body parsed as JSON, for tests and logs.
    pub fn json_value(&self) -> Option<serde_json::Value> {
        match self {
            Body::Json(bytes) => serde_json::from_slice(bytes).ok(),
            _ => None,
        }
    }
}

/// Shows the kind and size only: a body can hold a password (a user's new
/// credentials, a lookup's connection string).
impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(bytes) => write!(f, "Json({} bytes)", bytes.len()),
            Body::Text(text) => write!(f, "Text({} bytes)", text.len()),
        }
    }
}

/// The names of headers that never carry a secret: content negotiation,
/// caching, tracing and Druid's audit headers. Every other header a caller
/// adds is treated as a secret (an allow-list: a deny-list of words misses
/// `Authentication`, `X-Auth-Key`, a gateway's own names).
pub const PUBLIC_HEADERS: &[&str] = &[
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-encoding",
    "content-language",
    "content-type",
    "user-agent",
    "pragma",
    "x-druid-author",
    "x-druid-comment",
    "x-request-id",
    "x-correlation-id",
    "traceparent",
    "tracestate",
    "baggage",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "b3",
];

/// Whether a header is treated as a secret (marked sensitive: `Debug`
/// shows `Sensitive`, and it is not sent over plaintext after an `https`
/// entry): every name but [`PUBLIC_HEADERS`].
pub(crate) fn is_secret_header(name: &HeaderName) -> bool {
    !PUBLIC_HEADERS.contains(&name.as_str())
}

/// One HTTP request to one Druid service, relative to the service's base URL.
///
/// ```
/// use druid_transport::Request;
/// let request = Request::get("/druid/indexer/v1/tasks")
///     .query("state", "running")
///     .flag("full");
/// assert_eq!(request.path_and_query(), "/druid/indexer/v1/tasks?state=running&full");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    method: Method,
    path: String,
    query: Vec<(String, Option<String>)>,
    headers: HeaderMap,
    body: Body,
    operation: Cow<'static, str>,
    timeout: Option<Duration>,
    effect: Effect,
    answers: &'static [Answer],
    retry: Option<RetryPolicy>,
    since: Option<&'static str>,
    extension: Option<&'static str>,
    sql_field: Option<&'static str>,
    own_cancel: bool,
}

impl Request {
    /// A request with the given method and an already encoded path starting
    /// with `/`. Use [`encode_segment`] or [`path_param`] for the variable parts.
    ///
    /// Its [`Effect`] follows from the method (`GET` reads, `POST` writes);
    /// set another with [`Request::effect`].
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            effect: Effect::of_method(&method),
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            operation: Cow::Borrowed("raw"),
            timeout: None,
            answers: &[],
            retry: None,
            since: None,
            extension: None,
            sql_field: None,
            own_cancel: false,
        }
    }

    /// A `GET` request.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// A `DELETE` request.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Names the operation, for error messages (e.g. `overlord.task_status`).
    pub fn operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.operation = operation.into();
        self
    }

    /// Limits this request, the whole body included, to `timeout` instead
    /// of the transport's request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The time limit set with [`Request::timeout`], if any. It holds for
    /// all attempts together.
    pub fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    /// Says what the request does to the cluster: whether it may be sent
    /// again after a failure, and whether a read-only transport sends it.
    pub fn effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }

    /// What the request does to the cluster.
    pub fn effect_kind(&self) -> Effect {
        self.effect
    }

    /// The endpoint's answers: a status among them (a readiness check's
    /// 503) is data, never a reason to send the request again.
    pub fn answers(mut self, answers: &'static [Answer]) -> Self {
        self.answers = answers;
        self
    }

    /// The first Druid release that has the endpoint: a 404 or 405 from an
    /// older cluster becomes [`Error::Unsupported`],
    /// which names both releases.
    pub fn since(mut self, release: &'static str) -> Self {
        self.since = Some(release);
        self
    }

    /// The release set with [`Request::since`], if any.
    pub fn since_release(&self) -> Option<&'static str> {
        self.since
    }

    /// The Druid extension that serves the endpoint (its artifact, e.g.
    /// `druid-basic-security`): a 404 or 405 that is not a Druid error,
    /// from a cluster whose `/status` lists no module of that artifact,
    /// becomes [`Error::MissingExtension`].
    pub fn extension(mut self, artifact: &'static str) -> Self {
        self.extension = Some(artifact);
        self
    }

    /// The extension set with [`Request::extension`], if any.
    pub fn extension_name(&self) -> Option<&'static str> {
        self.extension
    }

    /// Says that the JSON body's `field` holds an SQL statement (the
    /// `query` of `/druid/v2/sql` and its task and statement endpoints): a
    /// statement that writes (`INSERT`, `REPLACE`, an export) makes the
    /// request a write, whatever its effect says, so it is never sent
    /// twice and a read-only transport refuses it.
    pub fn sql_field(mut self, field: &'static str) -> Self {
        self.sql_field = Some(field);
        self
    }

    /// The body field set with [`Request::sql_field`], if any.
    pub fn sql_field_name(&self) -> Option<&'static str> {
        self.sql_field
    }

    /// The effect of sending this request: [`Request::effect_kind`], or a
    /// write when its SQL statement writes (see [`Request::sql_field`]).
    pub fn effective_effect(&self) -> Effect {
        match self.sql_statement() {
            Some(sql) if crate::sql::statement_writes(&sql) => Effect::Write,
            _ => self.effect,
        }
    }

    /// The SQL statement of the body, when [`Request::sql_field`] names one.
    pub fn sql_statement(&self) -> Option<String> {
        let field = self.sql_field?;
        let Body::Json(bytes) = &self.body else {
            return None;
        };
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        value.get(field)?.as_str().map(str::to_owned)
    }

    /// Marks the request as the cancellation of a query this client
    /// started itself (a dropped stream's `DELETE`, an interrupted
    /// command's): a read-only transport sends it, since stopping its own
    /// work is what a read-only client must be able to do.
    pub fn own_cancel(mut self) -> Self {
        self.own_cancel = true;
        self
    }

    /// Whether the request is marked with [`Request::own_cancel`].
    pub fn is_own_cancel(&self) -> bool {
        self.own_cancel
    }

    /// Whether the endpoint lists this status among its answers.
    pub fn is_answer_status(&self, status: u16) -> bool {
        self.answers.iter().any(|answer| match answer.status {
            StatusMatch::Is(code) => code == status,
            StatusMatch::Class(class) => status / 100 == class,
        })
    }

    /// Retries this request by `policy` instead of the transport's
    /// ([`RetryPolicy::none`] sends it once).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The policy set with [`Request::retry`], if any.
    pub fn retry_override(&self) -> Option<&RetryPolicy> {
        self.retry.as_ref()
    }

    /// Adds a query parameter `key=value`.
    pub fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), Some(value.to_string())));
        self
    }

    /// Adds a query parameter when `value` is `Some`.
    pub fn query_opt<V: ToString>(self, key: &str, value: Option<V>) -> Self {
        match value {
            Some(value) => self.query(key, value),
            None => self,
        }
    }

    /// Adds a presence-only flag such as `?full`. Druid tests only that the
    /// key exists, so `?full=false` would still mean "full"; this sends the
    /// bare key.
    pub fn flag(mut self, key: impl Into<String>) -> Self {
        self.query.push((key.into(), None));
        self
    }

    /// Adds `key=value` once per value (`?id=a&id=b`).
    pub fn query_each<V: ToString>(
        mut self,
        key: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        for value in values {
            self.query.push((key.to_owned(), Some(value.to_string())));
        }
        self
    }

    /// Adds the flag when `on` is true.
    pub fn flag_if(self, key: &str, on: bool) -> Self {
        if on { self.flag(key) } else { self }
    }

    /// Sets a header. An invalid name or value is an [`Error::InvalidInput`].
    ///
    /// A header is treated as a secret (marked sensitive: `Debug` never
    /// shows it, and it is not sent over plaintext after an `https` entry)
    /// unless its name is one of [`PUBLIC_HEADERS`]; use
    /// [`Request::public_header`] for one that holds no secret.
    pub fn header(self, name: &str, value: &str) -> Result<Self> {
        self.with_header(name, value, false)
    }

    /// Sets a header marked as holding no secret.
    pub fn public_header(self, name: &str, value: &str) -> Result<Self> {
        self.with_header(name, value, true)
    }

    fn with_header(mut self, name: &str, value: &str, public: bool) -> Result<Self> {
        let name = HeaderName::try_from(name)
            .map_err(|_| Error::invalid_input(format!("{name:?} is not a valid header name")))?;
        let mut value = HeaderValue::try_from(value).map_err(|_| {
            Error::invalid_input(format!(
                "the value of header {name} is not valid header text"
            ))
        })?;
        value.set_sensitive(!public && is_secret_header(&name));
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Sets a header when `value` is `Some`.
    pub fn header_opt(self, name: &str, value: Option<&str>) -> Result<Self> {
        match value {
            Some(value) => self.header(name, value),
            None => Ok(self),
        }
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_input(format!("the request body cannot be written as JSON: {e}"))
        })?;
        self.body = Body::Json(Bytes::from(bytes));
        Ok(self)
    }

    /// Sets a JSON body from bytes that already hold JSON.
    pub fn json_bytes(mut self, bytes: impl Into<Bytes>) -> Self {
        self.body = Body::Json(bytes.into());
        self
    }

    /// Sets a text body.
    pub fn text(mut self, body: impl Into<String>) -> Self {
        self.body = Body::Text(body.into());
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The encoded path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query parameters in order; `None` values are presence-only flags.
    pub fn query_pairs(&self) -> &[(String, Option<String>)] {
        &self.query
    }

    /// The extra headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The operation name.
    pub fn operation_name(&self) -> &str {
        &self.operation
    }

    /// The encoded query string, without `?`; empty when there is none.
    pub fn query_string(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.query {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&encode_query_component(key));
            if let Some(value) = value {
                out.push('=');
                out.push_str(&encode_query_component(value));
            }
        }
        out
    }

    /// The encoded path and query, as sent on the wire.
    pub fn path_and_query(&self) -> String {
        let query = self.query_string();
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, query)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_encode_everything_reserved() {
        assert_eq!(encode_segment("wiki pedia"), "wiki%20pedia");
        assert_eq!(
            encode_segment("index_wiki_2024-01-01T00:00:00.000Z"),
            "index_wiki_2024-01-01T00%3A00%3A00.000Z"
        );
        assert_eq!(encode_segment("a/b?c#d%e+f&g"), "a%2Fb%3Fc%23d%25e%2Bf%26g");
        assert_eq!(encode_segment("é"), "%C3%A9");
        assert_eq!(encode_segment("a.b"), "a.b");
    }

    #[test]
    fn empty_path_params_are_refused() {
        let err = path_param("task_id", "").unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)));
        assert!(err.to_string().contains("task_id"));
        assert!(path_param("task_id", "..").is_err());
        assert!(path_param("task_id", ".").is_err());
        assert_eq!(path_param("task_id", "...").unwrap(), "...");
    }

    #[test]
    fn intervals_use_underscore_form() {
        assert_eq!(
            interval_path_param("interval", "2016-06-27/2016-06-28").unwrap(),
            "2016-06-27_2016-06-28"
        );
        assert_eq!(
            interval_path_param(
                "interval",
                "2016-06-27T00:00:00.000Z_2016-06-28T00:00:00.000Z"
            )
            .unwrap(),
            "2016-06-27T00%3A00%3A00.000Z_2016-06-28T00%3A00%3A00.000Z"
        );
        assert!(interval_path_param("interval", "2016").is_err());
        assert!(interval_path_param("interval", "").is_err());
    }

    #[test]
    fn query_string_encodes_and_keeps_flags_bare() {
        let r = Request::get("/x")
            .query("interval", "2024-01-01/2024-01-02")
            .flag("full")
            .query_opt("max", Some(3))
            .query_opt::<u32>("none", None)
            .flag_if("simple", false)
            .query("name", "a b&c=d");
        assert_eq!(
            r.path_and_query(),
            "/x?interval=2024-01-01%2F2024-01-02&full&max=3&name=a%20b%26c%3Dd"
        );
    }

    #[test]
    fn debug_hides_secret_headers_and_bodies() {
        let r = Request::post("/users/admin/credentials")
            .json(&serde_json::json!({"password": "s3cret-body"}))
            .unwrap()
            .header("Authorization", "Bearer s3cret-token")
            .unwrap()
            .header("X-Druid-Auth-Token", "s3cret-custom")
            .unwrap()
            .header("X-Auth-Key", "s3cret-gateway")
            .unwrap()
            .header("Authentication", "s3cret-other")
            .unwrap()
            .public_header("X-Tenant", "tenant-7")
            .unwrap()
            .header("X-Druid-Author", "alice")
            .unwrap();
        let text = format!("{r:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("alice") && text.contains("tenant-7"),
            "{text}"
        );
        assert!(text.contains("Json(26 bytes)"), "{text}");
        // The secret is still sent.
        assert_eq!(r.headers()["authorization"], "Bearer s3cret-token");
    }

    #[test]
    fn bodies_and_headers() {
        let r = Request::post("/druid/v2/sql")
            .json(&serde_json::json!({"query": "SELECT 1"}))
            .unwrap()
            .header("X-Druid-Author", "me")
            .unwrap();
        assert_eq!(r.body().content_type(), Some("application/json"));
        assert_eq!(r.body().json_value().unwrap()["query"], "SELECT 1");
        assert_eq!(r.headers()["x-druid-author"], "me");
        assert!(Request::get("/").header("bad name", "x").is_err());
        let r = Request::get("/x").query_each("id", ["a", "b c"]);
        assert_eq!(r.path_and_query(), "/x?id=a&id=b%20c");
        assert!(Request::get("/").header("x", "line\nbreak").is_err());
        assert_eq!(Request::get("/").text("hi").body().as_bytes(), b"hi");
    }
}

/// A JSON body whose `field` names it (a task's `id`), for endpoints the
/// spec marks with `body_id`: the body as JSON, the ID, and whether the
/// client made the ID up because the body had none. With an ID of its own
/// the request may be sent again safely: the server refuses a second copy.
#[derive(Debug, Clone)]
pub struct IdentifiedBody {
    /// The body, with the ID set.
    pub json: serde_json::Value,
    /// The ID.
    pub id: String,
    /// Whether the client generated the ID.
    pub generated: bool,
}

impl IdentifiedBody {
    /// Writes `body` as JSON and sets `field` to a fresh ID when the body is
    /// an object without it (`<type>_<16 hex digits>_<milliseconds>`, the
    /// type from the body's `type`). A body that is not an object is
    /// invalid input.
    pub fn new(body: &(impl Serialize + ?Sized), field: &str) -> Result<Self> {
        let mut json = serde_json::to_value(body).map_err(|e| {
            Error::invalid_input(format!("the request body cannot be written as JSON: {e}"))
        })?;
        let Some(object) = json.as_object_mut() else {
            return Err(Error::invalid_input(format!(
                "the request body must be a JSON object with an optional `{field}`"
            )));
        };
        if let Some(id) = object.get(field).and_then(serde_json::Value::as_str) {
            let id = id.to_owned();
            return Ok(IdentifiedBody {
                json,
                id,
                generated: false,
            });
        }
        let kind: String = object
            .get("type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("task")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let id = format!("{kind}_{:016x}_{millis}", fastrand::u64(..));
        object.insert(field.to_owned(), serde_json::Value::String(id.clone()));
        Ok(IdentifiedBody {
            json,
            id,
            generated: true,
        })
    }

    /// Whether `error` means an earlier attempt of this very request was
    /// taken: the request was retried, and the server answers that the ID
    /// exists (its text contains `exists`). With an ID the client made up,
    /// that is certain; with the caller's own ID it is what a retry after a
    /// lost answer looks like (a first attempt that found the ID taken
    /// answers so at once, and is not retried).
    pub fn was_taken(&self, error: &Error, exists: &str) -> bool {
        error.attempts() > 1 && error.api().is_some_and(|api| api.body.contains(exists))
    }

    /// The answer the server gives for a new ID: `{ key: id }`, decoded.
    pub fn answer<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let mut answer = serde_json::Map::new();
        answer.insert(key.to_owned(), serde_json::Value::String(self.id.clone()));
        serde_json::from_value(serde_json::Value::Object(answer)).map_err(|e| {
            Error::invalid_input(format!(
                "the answer `{{\"{key}\": id}}` does not decode: {e}"
            ))
        })
    }
}
