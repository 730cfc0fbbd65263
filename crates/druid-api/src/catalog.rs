//! The catalog of generated endpoints, for tools and lookups.
//!
//! Every endpoint of the spec has one [`EndpointInfo`] per client that has
//! it: its parameters, body, response, answers, effect and release, all
//! generated from `api-spec/`, so that tools that offer endpoints without
//! knowing them in advance (a command line, a UI) can describe and check
//! them.
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

use druid_transport::{Answer, Effect};

use crate::{Error, Result};

/// One generated endpoint of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// The client type, e.g. `OverlordClient`.
    pub client: &'static str,
    /// The service as the docs name it, e.g. `Overlord`.
    pub service: &'static str,
    /// The service's name in operation names, e.g. `overlord` (what
    /// [`ServiceClient::service_name`](crate::ServiceClient::service_name)
    /// returns for the client).
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
    /// an audit history.
    pub audit: bool,
    /// The first Druid release that has the endpoint, when the spec says.
    pub since: Option<&'static str>,
    /// Whether it is deprecated.
    pub deprecated: bool,
    /// What to use instead, when it is deprecated.
    pub deprecation: Option<&'static str>,
    /// The extension the cluster needs for it, if any.
    pub extension: Option<&'static str>,
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

/// Whether `given` names a parameter: Druid's name, the Rust name, or
/// either with `-` for `_` in any case.
fn names(given: &str, name: &str, rust: &str) -> bool {
    given == name
        || given == rust
        || given.eq_ignore_ascii_case(name)
        || normalized(given) == rust
        || normalized(given) == normalized(name)
}

impl PathParamInfo {
    /// Whether `name` names this parameter: Druid's name (`taskId`), the
    /// Rust name (`task_id`), or either with `-` for `_` in any case.
    pub fn is_named(&self, name: &str) -> bool {
        names(name, self.name, self.rust)
    }
}

impl QueryParamInfo {
    /// Whether `name` names this parameter: Druid's name, the Rust name, or
    /// either with `-` for `_` in any case.
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
    let wanted = normalized(id);
    let words: Vec<&str> = wanted.split('_').filter(|w| w.len() > 2).collect();
    let similar: Vec<&str> = entries
        .iter()
        .map(|e| e.id)
        .filter(|known| {
            known.contains(wanted.as_str())
                || (!wanted.is_empty() && wanted.contains(known))
                || words.iter().any(|w| known.split('_').any(|k| k == *w))
        })
        .take(6)
        .collect();
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
