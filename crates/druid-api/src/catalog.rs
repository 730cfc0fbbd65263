//! The catalog of generated endpoints, and calls built from it at run time.
//!
//! Every endpoint of the spec has one [`EndpointInfo`] per client that has
//! it: its parameters, body, response, answers, effect and release, all
//! generated from `api-spec/`. Tools that offer endpoints without knowing
//! them in advance (a command line, a UI) look entries up and send them
//! with a [`Call`], which goes through the same request path as the
//! generated methods: the same operation name, effect (retries, read-only
//! mode), minimum release, answers and leader following.
//!
//! ```
//! use druid_api::catalog;
//! let status = catalog::endpoint("overlord", "task-status").expect("in the spec");
//! assert_eq!(status.operation, "overlord.task_status");
//! assert_eq!(status.path_params[0].name, "taskId");
//! assert!(!status.effect.changes_state());
//!
//! let hits = catalog::find("GET", "/druid/indexer/v1/task/abc/status");
//! assert!(hits.iter().any(|e| e.client == "OverlordClient" && e.id == "task_status"));
//! ```
//!
//! ```no_run
//! # async fn demo(cluster: druid_api::Cluster) -> druid_api::Result<()> {
//! use druid_api::catalog::{self, Call};
//! let entry = catalog::lookup("overlord", "task-status")?;
//! let answer = Call::new(entry)
//!     .path_param("taskId", "index_parallel_wiki_2024")
//!     .send(&cluster.overlord()?)
//!     .await?;
//! println!("{} {}", answer.status(), answer.text()?);
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use druid_transport::error::clip;
use druid_transport::http::{HeaderMap, Method, StatusCode};
use druid_transport::url::Url;
use druid_transport::{
    Answer, Effect, IdentifiedBody, Outcome, Request, Response, StreamingResponse,
    interval_path_param, path_param,
};
use serde::de::DeserializeOwned;

use crate::{Error, Result, ServiceClient};

/// One generated endpoint of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// The client type, e.g. `OverlordClient`.
    pub client: &'static str,
    /// The service as the docs name it, e.g. `Overlord`.
    pub service: &'static str,
    /// The service's name in operation names, e.g. `overlord` (what
    /// [`ServiceClient::service_name`] returns for the client).
    pub service_name: &'static str,
    /// The spec group (file) it comes from.
    pub group: &'static str,
    /// The method name, e.g. `task_status`.
    pub id: &'static str,
    /// The operation name in errors and traces: `{service_name}.{id}`.
    pub operation: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The path template, `{param}` for parameters.
    pub path: &'static str,
    /// Query parameters always sent, as `(key, value)`; a flag has no value
    /// (`?simple`).
    pub fixed_query: &'static [(&'static str, Option<&'static str>)],
    /// What it does, in one sentence.
    pub summary: &'static str,
    /// More explanation (Druid's quirks, when to use it), if the spec has it.
    pub description: Option<&'static str>,
    /// The page of Druid's docs.
    pub docs: &'static str,
    /// The path parameters, in the order of the path template.
    pub path_params: &'static [PathParamInfo],
    /// The query parameters, in spec order.
    pub query_params: &'static [QueryParamInfo],
    /// The request body.
    pub body: BodyInfo,
    /// When the JSON body names what it creates (a task's `id`): the client
    /// sets an ID when the body has none, so that the request may be sent
    /// again safely.
    pub body_id: Option<BodyIdInfo>,
    /// How the answer's body is read.
    pub response: ResponseKind,
    /// What the answers mean, in order, when the spec says more than "a 2xx
    /// is the value" (the first that matches decides; a status none matches
    /// is an error). Empty: a 2xx is the value, any other status an error.
    pub answers: &'static [Answer],
    /// What the endpoint does to the cluster: a `GET` reads, the spec's
    /// `effect` says otherwise, and every other method writes. Retries and
    /// the read-only mode follow it.
    pub effect: Effect,
    /// Whether the endpoint records `X-Druid-Author`/`X-Druid-Comment` in
    /// an audit history ([`Call::author`], [`Call::comment`]).
    pub audit: bool,
    /// The first Druid release that has the endpoint, when the spec says.
    pub since: Option<&'static str>,
    /// Whether it is deprecated.
    pub deprecated: bool,
    /// What to use instead, when it is deprecated.
    pub deprecation: Option<&'static str>,
    /// The extension the cluster needs for it, if any.
    pub extension: Option<&'static str>,
    /// The field of the JSON body that holds an SQL statement: a statement
    /// that writes makes the call a write ([`Request::sql_field`]).
    pub sql_field: Option<&'static str>,
}

/// A path parameter of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PathParamInfo {
    /// Druid's name, as in the path template (`taskId`).
    pub name: &'static str,
    /// The Rust argument name of the generated method (`task_id`).
    pub rust: &'static str,
    /// What to pass.
    pub doc: &'static str,
    /// How the value goes into the path.
    pub kind: PathParamKind,
}

/// How a path parameter's value goes into the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathParamKind {
    /// One segment, percent-encoded (`/` included).
    Segment,
    /// An interval, given as `start/end` and sent in Druid's `start_end`
    /// form, percent-encoded.
    Interval,
}

/// A query parameter of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryParamInfo {
    /// The name on the wire (`createdTimeInterval`).
    pub name: &'static str,
    /// The Rust name of the generated argument or setter
    /// (`created_time_interval`).
    pub rust: &'static str,
    /// The spec's type: `string`, `int`, `float`, `bool`, `flag` (sent as
    /// a bare key when true), `list` (comma-separated), `repeated` (the key
    /// once per value), `underscore_interval` (`start/end` sent as
    /// `start_end`) or `enum` (one of [`values`](Self::values)).
    pub ty: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// Whether it must be given.
    pub required: bool,
    /// For an `enum`: the texts Druid takes.
    pub values: Option<&'static [&'static str]>,
}

/// The request body an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyInfo {
    /// None.
    None,
    /// A JSON document.
    #[non_exhaustive]
    Json {
        /// Whether it must be given.
        required: bool,
        /// What it is, if the spec says.
        doc: Option<&'static str>,
        /// The Rust type the generated method takes, if it has one
        /// (`models::SqlQuery`); otherwise any JSON.
        rust_type: Option<&'static str>,
    },
    /// Plain text (always required).
    #[non_exhaustive]
    Text {
        /// What it is, if the spec says.
        doc: Option<&'static str>,
    },
}

/// The `body_id` of an endpoint: the body's field that names what the
/// request creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyIdInfo {
    /// The body's field that holds the ID (`id`).
    pub field: &'static str,
    /// The key of the answer that holds the ID (`{"task": id}`).
    pub answer: &'static str,
    /// Text of Druid's answer when the ID exists already.
    pub exists: &'static str,
}

/// How the body of an endpoint's answer is read, as the spec says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseKind {
    /// JSON.
    #[non_exhaustive]
    Json {
        /// The Rust type the generated method decodes it into
        /// (`models::TaskStatusResponse`); `None` for any JSON.
        rust_type: Option<&'static str>,
    },
    /// Text.
    Text,
    /// Nothing (the body, if any, is ignored).
    Empty,
    /// The whole response, whatever it holds.
    Raw,
    /// The body read as it arrives (query results).
    Stream,
}

/// `Task-Status` and `task_status` are the same name.
fn normalized(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

/// A parameter name without case and separators: `dataSource`,
/// `data-source` and `datasource` are the same.
fn squashed(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether `given` names a parameter: Druid's name or the Rust name, in
/// any case, with or without `-` and `_`.
fn names(given: &str, name: &str, rust: &str) -> bool {
    given == name || given == rust || {
        let given = squashed(given);
        !given.is_empty() && (given == squashed(name) || given == squashed(rust))
    }
}

impl PathParamInfo {
    /// Whether `name` names this parameter: Druid's name (`taskId`) or the
    /// Rust name (`task_id`), in any case, with or without `-` and `_`
    /// (`task-id`).
    pub fn is_named(&self, name: &str) -> bool {
        names(name, self.name, self.rust)
    }
}

impl QueryParamInfo {
    /// Whether `name` names this parameter: Druid's name
    /// (`createdTimeInterval`) or the Rust name, in any case, with or
    /// without `-` and `_` (`created-time-interval`).
    pub fn is_named(&self, name: &str) -> bool {
        names(name, self.name, self.rust)
    }

    /// Whether the parameter takes several values (`list`, `repeated`).
    pub fn takes_many(&self) -> bool {
        matches!(self.ty, "list" | "repeated")
    }
}

impl EndpointInfo {
    /// Whether a concrete path (no query) matches the template.
    pub fn matches_path(&self, path: &str) -> bool {
        let template: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        template.len() == actual.len()
            && template
                .iter()
                .zip(&actual)
                .all(|(t, a)| (t.starts_with('{') && t.ends_with('}') && !a.is_empty()) || t == a)
    }

    /// The path parameter `name` names (see [`PathParamInfo::is_named`]).
    pub fn path_param(&self, name: &str) -> Option<&'static PathParamInfo> {
        self.path_params.iter().find(|p| p.is_named(name))
    }

    /// The query parameter `name` names (see [`QueryParamInfo::is_named`]).
    pub fn query_param(&self, name: &str) -> Option<&'static QueryParamInfo> {
        self.query_params.iter().find(|q| q.is_named(name))
    }

    /// Whether the endpoint is of the service `name`: its
    /// [`service_name`](Self::service_name) with `-` for `_` in any case
    /// (`middle-manager`), or its docs name (`MiddleManager`).
    pub fn is_of_service(&self, name: &str) -> bool {
        normalized(name) == self.service_name || name.trim().eq_ignore_ascii_case(self.service)
    }
}

/// Every generated endpoint, per client, in spec order.
pub fn endpoints() -> &'static [EndpointInfo] {
    crate::ENDPOINTS
}

/// The services' names ([`EndpointInfo::service_name`]), in spec order:
/// `client`, `coordinator`, `overlord`, ...
pub fn services() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for e in endpoints() {
        if !names.contains(&e.service_name) {
            names.push(e.service_name);
        }
    }
    names
}

/// The endpoints of one service, in spec order; `service` as
/// [`EndpointInfo::is_of_service`] takes it. Empty for an unknown service.
pub fn service_endpoints(service: &str) -> Vec<&'static EndpointInfo> {
    endpoints()
        .iter()
        .filter(|e| e.is_of_service(service))
        .collect()
}

/// The endpoint `id` of `service`; both take `-` for `_` and any case
/// (`endpoint("middle-manager", "task-status")`).
pub fn endpoint(service: &str, id: &str) -> Option<&'static EndpointInfo> {
    let id = normalized(id);
    endpoints()
        .iter()
        .find(|e| e.id == id && e.is_of_service(service))
}

/// [`endpoint`], with an error that says what exists when nothing matches:
/// the services, or the service's endpoints whose ids look like `id`.
pub fn lookup(service: &str, id: &str) -> Result<&'static EndpointInfo> {
    if let Some(entry) = endpoint(service, id) {
        return Ok(entry);
    }
    let entries = service_endpoints(service);
    let Some(first) = entries.first() else {
        return Err(Error::invalid_input(format!(
            "no service {service:?} in the catalog; the services are {}",
            services().join(", ")
        )));
    };
    // The ids that contain what was asked for; else those that share the
    // most words with it.
    let wanted = normalized(id);
    let ids = entries.iter().map(|e| e.id);
    let mut similar: Vec<&str> = if wanted.is_empty() {
        Vec::new()
    } else {
        ids.clone()
            .filter(|known| known.contains(&wanted))
            .collect()
    };
    if similar.is_empty() {
        let words: Vec<&str> = wanted.split('_').filter(|w| w.len() > 2).collect();
        let shared = |known: &str| {
            words
                .iter()
                .filter(|w| known.split('_').any(|k| k == **w))
                .count()
        };
        let most = ids.clone().map(shared).max().unwrap_or(0);
        if most > 0 {
            similar = ids.filter(|known| shared(known) == most).collect();
        }
    }
    similar.truncate(6);
    let hint = if similar.is_empty() {
        format!(
            "it has {} endpoints (catalog::service_endpoints lists them)",
            entries.len()
        )
    } else {
        format!("similar: {}", similar.join(", "))
    };
    Err(Error::invalid_input(format!(
        "the {} service has no endpoint {id:?}; {hint}",
        first.service_name
    )))
}

/// The endpoints a request matches: method (`GET`) and path (query ignored).
/// A path that is a literal match wins over templates (`/rules/history` is
/// not `/rules/{dataSource}`).
pub fn find(method: &str, path: &str) -> Vec<&'static EndpointInfo> {
    let path = path.split('?').next().unwrap_or_default();
    let hits: Vec<&'static EndpointInfo> = endpoints()
        .iter()
        .filter(|e| e.method.eq_ignore_ascii_case(method) && e.matches_path(path))
        .collect();
    let exact: Vec<&'static EndpointInfo> =
        hits.iter().copied().filter(|e| e.path == path).collect();
    if exact.is_empty() { hits } else { exact }
}

/// The body given to a [`Call`].
#[derive(Clone)]
enum CallBody {
    Json(serde_json::Value),
    Text(String),
}

/// A call of a catalog entry, built at run time: path and query parameters
/// by name, a body, then [`send`](Call::send) to any client.
///
/// It builds the request the generated method builds and sends it through
/// the same path: the operation name `{service}.{id}`, the endpoint's
/// [`Effect`] (retries follow it, and a read-only client refuses a change
/// before sending it), its `since` (an older Druid's 404 becomes the
/// version error), its answers, and the client's redirects and leader
/// following. A body with an ID field (`submit_task`) gets an ID when it has
/// none, as with the generated method, so a retried submission is safe.
///
/// Send it to a client of the entry's service (the Overlord client for an
/// `overlord` entry; [`AnyClient`](crate::AnyClient) works too). The call
/// does not check: an entry sent to another service's client goes to that
/// service, under the entry's operation name.
///
/// Values are text, as a command line has them, and are checked against
/// the spec's types: an `int` must parse, a `bool` or `flag` is `true` or
/// `false`, an `enum` one of its values. Setters never fail; the first
/// problem is an [`Error::is_invalid_input`] error from
/// [`send`](Call::send) or [`to_request`](Call::to_request), one line that
/// names the endpoint, what is wrong and what to do. Nothing is sent then.
///
/// ```no_run
/// # async fn demo(cluster: druid_api::Cluster) -> druid_api::Result<()> {
/// use druid_api::catalog::{self, Call};
/// let overlord = cluster.overlord()?;
/// let tasks = Call::new(catalog::lookup("overlord", "tasks")?)
///     .query("state", "running")
///     .query("max", "10")
///     .send(&overlord)
///     .await?;
/// let tasks: serde_json::Value = tasks.json()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a call is only sent by `send` or `send_streaming`"]
pub struct Call {
    endpoint: &'static EndpointInfo,
    path: Vec<(&'static PathParamInfo, String)>,
    query: Vec<(&'static QueryParamInfo, String)>,
    body: Option<CallBody>,
    author: Option<String>,
    comment: Option<String>,
    timeout: Option<Duration>,
    problem: Option<String>,
}

/// Shows the body's kind and size only: a body can hold a password.
impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = match &self.body {
            None => "none".to_owned(),
            Some(CallBody::Json(value)) => format!("json ({} bytes)", value.to_string().len()),
            Some(CallBody::Text(text)) => format!("text ({} bytes)", text.len()),
        };
        let path: Vec<(&str, &str)> = self
            .path
            .iter()
            .map(|(p, v)| (p.name, v.as_str()))
            .collect();
        let query: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(q, v)| (q.name, v.as_str()))
            .collect();
        f.debug_struct("Call")
            .field("operation", &self.endpoint.operation)
            .field("path_params", &path)
            .field("query", &query)
            .field("body", &body)
            .field("author", &self.author)
            .field("comment", &self.comment)
            .field("timeout", &self.timeout)
            .field("problem", &self.problem)
            .finish()
    }
}

/// A value in an error: quoted, and short.
fn shown(value: &str) -> String {
    format!("{:?}", clip(value, 60))
}

/// A doc for an error: one line, without its final period.
fn doc_text(doc: &str) -> String {
    let line = doc.trim().trim_end_matches('.').replace('\n', " ");
    clip(&line, 120)
}

/// The message of a transport error, without its `invalid input: ` prefix.
fn message_of(error: &druid_transport::Error) -> String {
    match error {
        druid_transport::Error::InvalidInput(message) => message.clone(),
        other => other.to_string(),
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

impl Call {
    /// A call of `endpoint`, with nothing set yet.
    pub fn new(endpoint: &'static EndpointInfo) -> Self {
        Call {
            endpoint,
            path: Vec::new(),
            query: Vec::new(),
            body: None,
            author: None,
            comment: None,
            timeout: None,
            problem: None,
        }
    }

    /// The endpoint called.
    pub fn endpoint(&self) -> &'static EndpointInfo {
        self.endpoint
    }

    /// Keeps the first problem, for `send` to report.
    fn note(&mut self, problem: String) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
    }

    /// An invalid-input error that names the endpoint.
    fn bad(&self, what: impl fmt::Display) -> Error {
        Error::invalid_input(format!("{}: {what}", self.endpoint.operation))
    }

    /// Sets the path parameter `name` (Druid's name as in the path
    /// template, or the Rust name, as [`PathParamInfo::is_named`] takes
    /// them). The value is
    /// percent-encoded as one segment (an interval takes Druid's
    /// `start_end` form).
    pub fn path_param(mut self, name: &str, value: impl Into<String>) -> Self {
        let e = self.endpoint;
        match e.path_param(name) {
            Some(info) if self.path.iter().any(|(p, _)| p.name == info.name) => {
                self.note(format!(
                    "the path parameter `{}` is given twice; give it once",
                    info.name
                ));
            }
            Some(info) => self.path.push((info, value.into())),
            None => {
                let known: Vec<&str> = e.path_params.iter().map(|p| p.name).collect();
                let mut problem = if known.is_empty() {
                    format!("no path parameter {}; it takes none", shown(name))
                } else {
                    format!(
                        "no path parameter {}; its path parameters are {}",
                        shown(name),
                        known.join(", ")
                    )
                };
                if let Some(q) = e.query_param(name) {
                    problem.push_str(&format!(" (`{}` is a query parameter)", q.name));
                }
                self.note(problem);
            }
        }
        self
    }

    /// Adds the query parameter `name` (Druid's name or the Rust name, as
    /// [`QueryParamInfo::is_named`] takes them). Text as a command line has it: `"10"` for an
    /// `int`, `"true"` or `"false"` for a `bool` or a `flag`, one of the
    /// values for an `enum`, `start/end` for an interval. A `list` or
    /// `repeated` parameter takes it once per value; any other only once.
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        let e = self.endpoint;
        match e.query_param(name) {
            Some(info)
                if !info.takes_many() && self.query.iter().any(|(q, _)| q.name == info.name) =>
            {
                self.note(format!(
                    "the query parameter `{}` is given twice; give it once",
                    info.name
                ));
            }
            Some(info) => self.query.push((info, value.into())),
            None => {
                let known: Vec<&str> = e.query_params.iter().map(|q| q.name).collect();
                let mut problem = if known.is_empty() {
                    format!("no query parameter {}; it takes none", shown(name))
                } else {
                    format!(
                        "no query parameter {}; its query parameters are {}",
                        shown(name),
                        known.join(", ")
                    )
                };
                if let Some(p) = e.path_param(name) {
                    problem.push_str(&format!(" (`{}` is a path parameter)", p.name));
                }
                self.note(problem);
            }
        }
        self
    }

    /// Sets a JSON body (replacing one set before).
    pub fn json_body(mut self, body: serde_json::Value) -> Self {
        self.body = Some(CallBody::Json(body));
        self
    }

    /// Sets a text body (replacing one set before).
    pub fn text_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(CallBody::Text(body.into()));
        self
    }

    /// Records who made the change in Druid's audit history
    /// (`X-Druid-Author`); only for endpoints with [`EndpointInfo::audit`].
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// Records why the change was made in Druid's audit history
    /// (`X-Druid-Comment`); only for endpoints with [`EndpointInfo::audit`].
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Limits the call, its retries included, to `timeout` instead of the
    /// transport's request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The request as [`send`](Call::send) sends it, without sending it.
    ///
    /// # Errors
    ///
    /// Invalid input ([`Error::is_invalid_input`]): an unknown parameter, a
    /// missing path or required query parameter, a value that does not fit
    /// its type, a missing body, a body the endpoint does not take, an
    /// author or comment for an endpoint without audit history.
    pub fn to_request(&self) -> Result<Request> {
        self.build().map(|(request, _)| request)
    }

    /// The request, and the identified body when the endpoint names what it
    /// creates.
    fn build(&self) -> Result<(Request, Option<IdentifiedBody>)> {
        let e = self.endpoint;
        if let Some(problem) = &self.problem {
            return Err(self.bad(problem));
        }
        let method = Method::from_bytes(e.method.as_bytes())
            .map_err(|_| self.bad(format!("{:?} is not an HTTP method", e.method)))?;
        let mut request = Request::new(method, self.path()?)
            .operation(e.operation)
            .effect(e.effect);
        if let Some(since) = e.since {
            request = request.since(since);
        }
        if let Some(field) = e.sql_field {
            request = request.sql_field(field);
        }
        for (key, value) in e.fixed_query {
            request = match value {
                Some(value) => request.query(*key, value),
                None => request.flag(*key),
            };
        }
        // As the generated code adds them: the required ones, then the others.
        let required = e.query_params.iter().filter(|q| q.required);
        let optional = e.query_params.iter().filter(|q| !q.required);
        for q in required.chain(optional) {
            request = self.add_query(request, q)?;
        }
        let mut identified = None;
        request = match (e.body, &self.body) {
            (BodyInfo::None, None) => request,
            (BodyInfo::None, Some(_)) => {
                return Err(self.bad(format!(
                    "{} {} takes no body; leave it out",
                    e.method, e.path
                )));
            }
            (BodyInfo::Json { required, doc, .. }, None) => {
                if required {
                    return Err(self.bad(format!(
                        "a JSON body is required and none was given{}",
                        doc.map(|d| format!(" ({})", doc_text(d)))
                            .unwrap_or_default()
                    )));
                }
                request
            }
            (BodyInfo::Json { .. }, Some(CallBody::Text(_))) => {
                return Err(self.bad("the body must be JSON, not text; give it as JSON"));
            }
            (BodyInfo::Json { .. }, Some(CallBody::Json(value))) => match e.body_id {
                Some(body_id) => {
                    let body = IdentifiedBody::new(value, body_id.field)
                        .map_err(|error| self.bad(message_of(&error)))?;
                    let request = request.json(&body.json)?;
                    identified = Some(body);
                    request
                }
                None => request.json(value)?,
            },
            (BodyInfo::Text { doc }, None) => {
                return Err(self.bad(format!(
                    "a text body is required and none was given{}",
                    doc.map(|d| format!(" ({})", doc_text(d)))
                        .unwrap_or_default()
                )));
            }
            (BodyInfo::Text { .. }, Some(CallBody::Json(_))) => {
                return Err(self.bad("the body must be text, not JSON; give it as text"));
            }
            (BodyInfo::Text { .. }, Some(CallBody::Text(text))) => request.text(text.clone()),
        };
        if self.author.is_some() || self.comment.is_some() {
            if !e.audit {
                return Err(self
                    .bad("the endpoint keeps no audit history; leave out the author and comment"));
            }
            request = request
                .header_opt("X-Druid-Author", self.author.as_deref())
                .and_then(|r| r.header_opt("X-Druid-Comment", self.comment.as_deref()))
                .map_err(|error| self.bad(message_of(&error)))?;
        }
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if !e.answers.is_empty() {
            request = request.answers(e.answers);
        }
        Ok((request, identified))
    }

    /// The path with its parameters filled in and encoded.
    fn path(&self) -> Result<String> {
        let e = self.endpoint;
        let mut path = String::new();
        let mut rest = e.path;
        while let Some(start) = rest.find('{') {
            path.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                return Err(self.bad(format!("the path template {:?} is unclosed", e.path)));
            };
            let name = &after[..end];
            let info = e
                .path_params
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| {
                    self.bad(format!(
                        "the catalog does not describe `{{{name}}}` of its path"
                    ))
                })?;
            let Some((_, value)) = self.path.iter().find(|(p, _)| p.name == name) else {
                return Err(self.bad(format!(
                    "the path parameter `{name}` is missing ({}); give it a value",
                    doc_text(info.doc)
                )));
            };
            let encoded = match info.kind {
                PathParamKind::Interval => interval_path_param(name, value),
                PathParamKind::Segment => path_param(name, value),
            };
            path.push_str(&encoded.map_err(|error| self.bad(message_of(&error)))?);
            rest = &after[end + 1..];
        }
        path.push_str(rest);
        Ok(path)
    }

    /// Adds the values given for `q`, checked against its type.
    fn add_query(&self, request: Request, q: &'static QueryParamInfo) -> Result<Request> {
        let values: Vec<&str> = self
            .query
            .iter()
            .filter(|(given, _)| given.name == q.name)
            .map(|(_, value)| value.as_str())
            .collect();
        let Some(first) = values.first().copied() else {
            if q.required {
                return Err(self.bad(format!(
                    "the query parameter `{}` is required ({}); give it a value",
                    q.name,
                    doc_text(q.doc)
                )));
            }
            return Ok(request);
        };
        let wrong = |expected: &str| {
            self.bad(format!(
                "the query parameter `{}` must be {expected}, not {}",
                q.name,
                shown(first)
            ))
        };
        Ok(match q.ty {
            "int" => {
                let number: i64 = first
                    .trim()
                    .parse()
                    .map_err(|_| wrong("an integer (int)"))?;
                request.query(q.name, number)
            }
            "float" => {
                let number: f64 = first
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| wrong("a number (float)"))?;
                request.query(q.name, number)
            }
            "bool" => request.query(
                q.name,
                parse_bool(first).ok_or_else(|| wrong("true or false"))?,
            ),
            "flag" => request.flag_if(
                q.name,
                parse_bool(first).ok_or_else(|| wrong("true or false (a flag)"))?,
            ),
            "enum" => match q.values {
                Some(known) => {
                    let value = known
                        .iter()
                        .find(|v| v.eq_ignore_ascii_case(first.trim()))
                        .ok_or_else(|| wrong(&format!("one of {}", known.join(", "))))?;
                    request.query(q.name, value)
                }
                None => request.query(q.name, first),
            },
            "list" => request.query(q.name, values.join(",")),
            "repeated" => request.query_each(q.name, values),
            "underscore_interval" => request.query(q.name, first.replace('/', "_")),
            _ => request.query(q.name, first),
        })
    }

    /// Sends the call through `client`'s service and reads the whole
    /// answer.
    ///
    /// A 2xx is the answer, and so is a status the endpoint's
    /// [`answers`](EndpointInfo::answers) list (isLeader's 404, a
    /// readiness check's 503), with what it means in
    /// [`CallResponse::outcome`]. The body is not decoded: read it with
    /// [`CallResponse::json`] or [`CallResponse::text`].
    ///
    /// # Errors
    ///
    /// Invalid input (see [`to_request`](Call::to_request)), before
    /// anything is sent; a change refused by a read-only client
    /// ([`Error::is_read_only`]), before anything is sent; Druid's answer
    /// for any other status ([`Error::api`]), or the version error for an
    /// endpoint newer than the cluster; the transport's errors otherwise.
    pub async fn send(&self, client: &(impl ServiceClient + ?Sized)) -> Result<CallResponse> {
        let (request, identified) = self.build()?;
        let e = self.endpoint;
        let service = client.service();
        if !e.answers.is_empty() {
            let (outcome, response) = service.execute(&request).await?.answer(e.answers)?;
            return Ok(CallResponse::of(e, response, outcome));
        }
        match service.send(&request).await {
            Ok(response) => Ok(CallResponse::of(e, response, Outcome::Value)),
            Err(error) => match (identified, e.body_id) {
                // An earlier attempt was taken; its answer was lost.
                (Some(body), Some(body_id)) if body.was_taken(&error, body_id.exists) => {
                    CallResponse::taken(e, &body, body_id, &error, service.base_url())
                }
                _ => Err(error.into()),
            },
        }
    }

    /// Sends the call and returns the answer as soon as its headers are in,
    /// with the body to read as it arrives (query results; see
    /// [`StreamingResponse`]). A status other than 2xx is an error.
    ///
    /// # Errors
    ///
    /// As [`send`](Call::send); and invalid input for an endpoint whose
    /// answers the spec lists or whose body names what it creates, since
    /// those are read from the whole answer: use [`send`](Call::send).
    pub async fn send_streaming(
        &self,
        client: &(impl ServiceClient + ?Sized),
    ) -> Result<StreamingResponse> {
        let (request, _) = self.build()?;
        let e = self.endpoint;
        if !e.answers.is_empty() || e.body_id.is_some() {
            return Err(self.bad(
                "its answer is read whole (the spec lists what its statuses mean); use send",
            ));
        }
        let response = client.service().execute_streaming(&request).await?;
        Ok(response.error_for_status().await?)
    }
}

/// The answer of a [`Call`]: status, headers and the whole body, and what
/// the endpoint's answers make of it.
#[derive(Clone)]
pub struct CallResponse {
    response: Response,
    operation: &'static str,
    outcome: Outcome,
    reconstructed: bool,
}

/// Shows the body's size and the header names only.
impl fmt::Debug for CallResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers().keys().map(|name| name.as_str()).collect();
        f.debug_struct("CallResponse")
            .field("operation", &self.operation)
            .field("status", &self.status())
            .field("url", &druid_transport::sanitize(self.url()))
            .field("headers", &headers)
            .field("body", &format_args!("{} bytes", self.body().len()))
            .field("outcome", &self.outcome)
            .field("attempts", &self.attempts())
            .field("reconstructed", &self.reconstructed)
            .finish()
    }
}

impl CallResponse {
    fn of(endpoint: &EndpointInfo, response: Response, outcome: Outcome) -> Self {
        CallResponse {
            response,
            operation: endpoint.operation,
            outcome,
            reconstructed: false,
        }
    }

    /// The answer to a retried request whose earlier attempt was taken:
    /// `{answer: id}`, as the generated method returns it.
    fn taken(
        endpoint: &EndpointInfo,
        body: &IdentifiedBody,
        body_id: BodyIdInfo,
        error: &druid_transport::Error,
        base: Url,
    ) -> Result<Self> {
        let answer: serde_json::Value = body.answer(body_id.answer)?;
        let url = error
            .api()
            .and_then(|api| Url::parse(&api.url).ok())
            .unwrap_or(base);
        let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap_or(Method::POST);
        let response = Response::recovered(
            url,
            method,
            endpoint.operation,
            Bytes::from(answer.to_string()),
            error.attempts(),
        );
        Ok(CallResponse {
            response,
            operation: endpoint.operation,
            outcome: Outcome::Value,
            reconstructed: true,
        })
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.response.headers()
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.header(name)
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        self.response.body()
    }

    /// The body, owned.
    pub fn into_body(self) -> Bytes {
        self.response.body().clone()
    }

    /// Whether the body is empty or only white space.
    pub fn is_empty(&self) -> bool {
        self.response.is_empty()
    }

    /// The final URL (after redirects), without credentials.
    pub fn url(&self) -> &Url {
        self.response.url()
    }

    /// The operation, e.g. `overlord.task_status`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// What the endpoint's answers make of the response: `Value` for a
    /// body that is the answer (every 2xx of an endpoint without listed
    /// answers), `None` for "nothing there", `True` or `False` for a check.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// How many attempts the call took (1 unless earlier ones failed).
    pub fn attempts(&self) -> u32 {
        self.response.attempts()
    }

    /// True when an earlier attempt of a retried call was taken but its
    /// answer was lost: the body is then the answer made from the ID the
    /// client set (`{"task": id}`), not one Druid sent.
    pub fn is_reconstructed(&self) -> bool {
        self.reconstructed
    }

    /// The body as UTF-8 text.
    ///
    /// # Errors
    ///
    /// A body that is not UTF-8 ([`Error::decode`]).
    pub fn text(&self) -> Result<String> {
        Ok(self.response.text()?)
    }

    /// The body decoded from JSON into `T`.
    ///
    /// # Errors
    ///
    /// A body that is not a `T` ([`Error::decode`], with the JSON path).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(self.response.json()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_templates_and_prefers_literals() {
        let hits = find("GET", "/druid/coordinator/v1/rules/history");
        assert!(hits.iter().all(|e| e.id == "rules_history"), "{hits:?}");
        let hits = find("GET", "/druid/coordinator/v1/rules/wiki");
        assert!(hits.iter().any(|e| e.id == "rules"));
        assert!(find("PATCH", "/status").is_empty());
        let status: Vec<_> = find("get", "/status?x")
            .into_iter()
            .map(|e| e.client)
            .collect();
        assert!(status.contains(&"CoordinatorClient") && status.contains(&"PeonClient"));
    }

    #[test]
    fn lookups_take_dashes_and_say_what_exists() {
        let entry = endpoint("Middle-Manager", "Worker-Tasks").expect("in the spec");
        assert_eq!(entry.operation, "middle_manager.worker_tasks");
        assert_eq!(endpoint("MiddleManager", "worker_tasks"), Some(entry));
        assert!(endpoint("overlord", "no_such_thing").is_none());
        let err = lookup("overlord", "task-stat").unwrap_err().to_string();
        assert!(
            err.contains("no endpoint \"task-stat\"") && err.contains("task_status"),
            "{err}"
        );
        let err = lookup("historian", "status").unwrap_err().to_string();
        assert!(
            err.contains("no service \"historian\"") && err.contains("coordinator, overlord"),
            "{err}"
        );
        assert_eq!(services().first(), Some(&"client"));
        assert!(services().contains(&"peon"));
        assert!(
            service_endpoints("overlord")
                .iter()
                .all(|e| e.client == "OverlordClient")
        );
    }

    #[test]
    fn parameter_names_take_either_spelling() {
        let tasks = endpoint("overlord", "tasks").expect("in the spec");
        let q = tasks.query_param("created-time-interval").expect("a param");
        assert_eq!(q.name, "createdTimeInterval");
        assert_eq!(tasks.query_param("createdTimeInterval"), Some(q));
        assert_eq!(tasks.query_param("created_time_interval"), Some(q));
        assert!(tasks.query_param("created").is_none());
        let status = endpoint("overlord", "task_status").expect("in the spec");
        assert_eq!(status.path_param("task-id").map(|p| p.name), Some("taskId"));
        assert_eq!(status.path_param("TASKID").map(|p| p.rust), Some("task_id"));
    }
}
