//! The spec model, and reading it from `api-spec/`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The name of the file that lists the services.
pub const SERVICES_FILE: &str = "services.toml";

/// One problem in the spec, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file, relative to the spec's parent folder (`api-spec/overlord.toml`).
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The endpoint or service the problem is in, when known.
    pub entry: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is an obvious way.
    pub hint: Option<String>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(entry) = &self.entry {
            write!(f, "{entry}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// The whole spec: the services and the endpoint groups they serve.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The folder the spec was read from.
    pub dir: PathBuf,
    /// The Druid release whose docs the spec follows.
    pub druid_docs_release: String,
    /// The base URL of Druid's docs; endpoint `docs` values are relative to it.
    pub docs_base: String,
    /// The services, in file order.
    pub services: Vec<Service>,
    /// The endpoint groups, in the order the services name them.
    pub groups: Vec<Group>,
    /// Rows of Druid's API that the spec leaves out on purpose, with why.
    pub omitted: Vec<Omitted>,
}

/// A Druid service and the client generated for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The name used in docs: `Coordinator`, `Overlord`, ...
    pub name: String,
    /// The generated Rust type: `CoordinatorClient`.
    pub client: String,
    /// The module the client and its builders go in: `coordinator`.
    pub module: String,
    /// One paragraph on what the service is, for the client's docs.
    pub description: String,
    /// The service's default plaintext and TLS ports, for docs.
    #[serde(default)]
    pub ports: Option<[u16; 2]>,
    /// The groups (files without `.toml`) whose endpoints the client has.
    pub groups: Vec<String>,
}

/// A row of Druid's API left out of the spec on purpose.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Omitted {
    /// `METHOD /path`, as in the reference table.
    pub endpoint: String,
    /// Why it is left out.
    pub reason: String,
}

/// One file of endpoints: an API group of one service.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group's name (the file name without `.toml`).
    pub name: String,
    /// The file, relative to the spec's parent folder.
    pub file: String,
    /// The group's title.
    pub title: String,
    /// The service that implements the group (`Coordinator`, or `all`).
    pub service: String,
    /// The extension the group needs, if any.
    pub extension: Option<String>,
    /// The endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The method name: snake_case, unique within a client.
    pub id: String,
    /// `GET`, `POST` or `DELETE`.
    pub method: String,
    /// The path template, with `{param}` placeholders.
    pub path: String,
    /// One sentence that says what the endpoint does.
    pub summary: String,
    /// More explanation (Druid quirks, when to use it).
    #[serde(default)]
    pub description: Option<String>,
    /// The page (and anchor) of Druid's docs, relative to the docs base.
    pub docs: String,
    /// The path parameters, by placeholder name.
    #[serde(default)]
    pub params: BTreeMap<String, PathParam>,
    /// The query parameters, in order.
    #[serde(default)]
    pub query: Vec<QueryParam>,
    /// Query parameters always sent, as `flag` or `key=value`: they select
    /// one shape of an endpoint whose answer changes with them (`?simple`).
    #[serde(default)]
    pub fixed_query: Vec<String>,
    /// The request body.
    #[serde(default)]
    pub body: Option<BodySpec>,
    /// What the body is, for the docs.
    #[serde(default)]
    pub body_doc: Option<String>,
    /// The response: how a body that is the value decodes.
    pub response: ResponseSpec,
    /// What the endpoint answers besides "a 2xx is the value": statuses
    /// that are answers (isLeader's 404), bodies that mean "nothing"
    /// (`None`), readiness checks (`true`/`false`). The first match wins.
    #[serde(default)]
    pub answers: Vec<AnswerSpec>,
    /// Whether the endpoint records `X-Druid-Author`/`X-Druid-Comment` in an audit log.
    #[serde(default)]
    pub audit: bool,
    /// What a `POST` or `DELETE` does to the cluster, when not a plain
    /// write: `read` (a query sent as `POST`) or `idempotent` (safe to send
    /// again: setting a config, marking segments, cancelling). A `GET`
    /// reads; anything else not marked is a write, never sent twice.
    #[serde(default)]
    pub effect: Option<String>,
    /// The field of the JSON body that holds an SQL statement (`query` of
    /// the SQL endpoints): a statement that writes (`INSERT`, `REPLACE`)
    /// makes the request a write, never sent twice, and refused by a
    /// read-only client.
    #[serde(default)]
    pub sql: Option<String>,
    /// A JSON body that names what it creates (a task's `id`): the client
    /// sets the ID when the body has none, so that sending the request
    /// again is safe.
    #[serde(default)]
    pub body_id: Option<BodyId>,
    /// Set when the endpoint is deprecated: what to use instead.
    #[serde(default)]
    pub deprecated: Option<String>,
    /// The first Druid release that has the endpoint, when newer than 25.
    #[serde(default)]
    pub since: Option<String>,
    /// The extension that serves the endpoint (its Maven artifact), when
    /// the group's is not it; an endpoint without one takes the group's.
    #[serde(default)]
    pub extension: Option<String>,
    /// `stable` (default), `experimental` or `undocumented`.
    #[serde(default)]
    pub status: Option<String>,
    /// The 1-based line of the `[[endpoint]]` header (filled in on load).
    #[serde(skip)]
    pub line: usize,
}

/// An endpoint's `body_id`: `{ field = "id", answer = "task", exists = "already exists" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyId {
    /// The body's field that holds the ID.
    pub field: String,
    /// The key of the answer that holds the ID (`{"task": id}`).
    pub answer: String,
    /// Text of the server's answer when the ID exists already: on a retried
    /// attempt with an ID of the client's, the earlier attempt was taken.
    pub exists: String,
}

/// What a request does to the cluster, as the spec says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectKind {
    /// Changes nothing: repeatable, and sent by a read-only client.
    Read,
    /// Changes state, with the same result however often it is sent.
    Idempotent,
    /// Changes state; may not be sent twice.
    Write,
}

impl Endpoint {
    /// What the endpoint does to the cluster: its `effect`, or the
    /// method's default (`GET` reads, anything else writes).
    pub fn effect_kind(&self) -> EffectKind {
        match self.effect.as_deref() {
            Some("read") => EffectKind::Read,
            Some("idempotent") => EffectKind::Idempotent,
            Some(_) => EffectKind::Write,
            None if self.method == "GET" => EffectKind::Read,
            None => EffectKind::Write,
        }
    }
}

/// A path parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathParam {
    /// The Rust argument name.
    pub rust: String,
    /// What to pass.
    pub doc: String,
    /// `string` (default) or `interval` (sent in Druid's `_` form).
    #[serde(default)]
    pub kind: Option<String>,
}

/// A query parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryParam {
    /// The name on the wire.
    pub name: String,
    /// The Rust name; defaults to the wire name in snake_case.
    #[serde(default)]
    pub rust: Option<String>,
    /// `string`, `int`, `float`, `bool`, `flag` (presence only), `list`
    /// (comma-separated), `repeated` (the key once per value),
    /// `underscore_interval` (an interval sent as `start_end`) or `enum` (a
    /// Rust type, see [`QueryParam::enum_type`]).
    #[serde(rename = "type")]
    pub ty: String,
    /// For `type = "enum"`: the Rust type of the value, sent as its
    /// `Display` text (`models::TaskListState`). Its `VALUES` constant (a
    /// `string_enum!` of the models has one) lists the texts in the
    /// endpoint catalog.
    #[serde(default, rename = "enum")]
    pub enum_type: Option<String>,
    /// What it does.
    pub doc: String,
    /// Whether it must be given.
    #[serde(default)]
    pub required: bool,
}

/// A request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BodySpec {
    /// `"json"` (any serializable value) or `"text"`.
    Kind(String),
    /// `{ json = "models::Type" }`: a JSON body of that type.
    Typed {
        /// The Rust type of the body.
        json: String,
    },
}

/// A response: how a body that is the value decodes.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ResponseSpec {
    /// `"json"` (a `serde_json::Value`), `"text"`, `"empty"` (no value) or
    /// `"raw"` (the whole response) or `"stream"` (the response as soon as
    /// its headers are in, with the body to read as it arrives).
    Kind(String),
    /// `{ json = "Type" }`: a JSON body of that type.
    Typed {
        /// The Rust type of the body.
        json: String,
    },
}

/// One answer of an endpoint: a status (or class) and a kind of body, and
/// what it means.
///
/// ```toml
/// answers = [{ status = 404, body = "json", is = "value" }]          # isLeader's follower answer
/// answers = [{ status = "2xx", is = "true" }, { status = 503, is = "false" }]  # a readiness check
/// answers = [{ status = "2xx", body = "empty", is = "none" }]         # 204: nothing there
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerSpec {
    /// A status (`404`) or a class (`"2xx"`).
    pub status: StatusSpec,
    /// `any` (default), `empty`, `json` or `text` (not empty and not JSON).
    #[serde(default)]
    pub body: Option<String>,
    /// `value` (decode the body), `none`, `true` or `false`.
    pub is: String,
}

/// A status or a class of statuses.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    /// One status.
    Code(u16),
    /// A class, `"2xx"` to `"5xx"`.
    Class(String),
}

impl StatusSpec {
    /// The class digit of `"2xx"`, if this is a valid class.
    pub fn class(&self) -> Option<u16> {
        match self {
            StatusSpec::Class(text) => {
                let digit = text.strip_suffix("xx")?.parse::<u16>().ok()?;
                (1..=5).contains(&digit).then_some(digit)
            }
            StatusSpec::Code(_) => None,
        }
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSpec::Code(code) => write!(f, "{code}"),
            StatusSpec::Class(class) => f.write_str(class),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicesFile {
    druid_docs_release: String,
    docs_base: String,
    service: Vec<Service>,
    #[serde(default)]
    omitted: Vec<Omitted>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupHeader {
    title: String,
    service: String,
    #[serde(default)]
    extension: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    group: GroupHeader,
    #[serde(default)]
    endpoint: Vec<toml::Spanned<toml::Value>>,
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn display_path(dir: &Path, file: &str) -> String {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    format!("{folder}/{file}")
}

fn toml_error(file: &str, text: &str, error: &toml::de::Error) -> SpecError {
    SpecError {
        file: file.to_owned(),
        line: error.span().map(|span| line_of(text, span.start)),
        entry: None,
        message: error.message().trim().to_owned(),
        hint: None,
    }
}

/// The files a spec folder is made of, for rebuild tracking.
pub fn spec_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![dir.join(SERVICES_FILE)];
    if let Ok(text) = std::fs::read_to_string(dir.join(SERVICES_FILE))
        && let Ok(services) = toml::from_str::<ServicesFile>(&text)
    {
        let mut seen = Vec::new();
        for service in services.service {
            for group in service.groups {
                if !seen.contains(&group) {
                    files.push(dir.join(format!("{group}.toml")));
                    seen.push(group);
                }
            }
        }
    }
    files
}

/// Reads the spec in `dir` (the `api-spec` folder). All problems that can
/// be found are returned together.
pub fn load(dir: &Path) -> Result<Spec, Vec<SpecError>> {
    load_with(dir, &|file| std::fs::read_to_string(dir.join(file)))
}

/// [`load`] with the files' text from `read` (a file name of the folder in,
/// its text out) instead of the disk; `dir` only names the folder. An entry
/// point for the fuzz targets in `tests/fuzz/`, not part of the API.
#[doc(hidden)]
pub fn load_with(
    dir: &Path,
    read: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<Spec, Vec<SpecError>> {
    let services_name = display_path(dir, SERVICES_FILE);
    let text = read(SERVICES_FILE).map_err(|e| {
        vec![SpecError {
            file: services_name.clone(),
            line: None,
            entry: None,
            message: format!("cannot read the file: {e}"),
            hint: Some("the spec folder must hold services.toml".to_owned()),
        }]
    })?;
    let services: ServicesFile =
        toml::from_str(&text).map_err(|e| vec![toml_error(&services_name, &text, &e)])?;

    let mut errors = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for service in &services.service {
        for group_name in &service.groups {
            if groups.iter().any(|g| &g.name == group_name) {
                continue;
            }
            match load_group(dir, group_name, read) {
                Ok(group) => groups.push(group),
                Err(mut group_errors) => errors.append(&mut group_errors),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Spec {
        dir: dir.to_owned(),
        druid_docs_release: services.druid_docs_release,
        docs_base: services.docs_base,
        services: services.service,
        groups,
        omitted: services.omitted,
    })
}

fn load_group(
    dir: &Path,
    name: &str,
    read: &dyn Fn(&str) -> std::io::Result<String>,
) -> Result<Group, Vec<SpecError>> {
    let file_name = format!("{name}.toml");
    let file = display_path(dir, &file_name);
    let text = read(&file_name).map_err(|e| {
        vec![SpecError {
            file: file.clone(),
            line: None,
            entry: None,
            message: format!("cannot read the file: {e}"),
            hint: Some(format!(
                "services.toml names the group `{name}`; create {file_name} or remove the name"
            )),
        }]
    })?;
    let parsed: GroupFile =
        toml::from_str(&text).map_err(|e| vec![toml_error(&file, &text, &e)])?;
    let mut errors = Vec::new();
    let mut endpoints = Vec::new();
    for spanned in parsed.endpoint {
        let line = line_of(&text, spanned.span().start);
        let value = spanned.into_inner();
        let id = value
            .get("id")
            .and_then(|v| v.as_str())
            .map(|id| format!("endpoint `{id}`"));
        match Endpoint::deserialize(value) {
            Ok(mut endpoint) => {
                endpoint.line = line;
                if endpoint.extension.is_none() {
                    endpoint.extension.clone_from(&parsed.group.extension);
                }
                endpoints.push(endpoint);
            }
            Err(e) => errors.push(SpecError {
                file: file.clone(),
                line: Some(line),
                entry: id.or_else(|| Some("endpoint".to_owned())),
                message: e.message().trim().to_owned(),
                hint: None,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Group {
        name: name.to_owned(),
        file,
        title: parsed.group.title,
        service: parsed.group.service,
        extension: parsed.group.extension,
        endpoints,
    })
}

impl Spec {
    /// Whether a group is served by more than one service: its endpoints
    /// are generated once, as a trait every client of those services has.
    pub fn is_shared(&self, group: &Group) -> bool {
        self.services_of(group).count() > 1
    }

    /// The groups a service serves, in order.
    pub fn groups_of<'a>(&'a self, service: &'a Service) -> impl Iterator<Item = &'a Group> + 'a {
        service
            .groups
            .iter()
            .filter_map(move |name| self.groups.iter().find(|g| &g.name == name))
    }

    /// The services that serve a group.
    pub fn services_of<'a>(&'a self, group: &'a Group) -> impl Iterator<Item = &'a Service> + 'a {
        self.services
            .iter()
            .filter(move |s| s.groups.iter().any(|g| g == &group.name))
    }

    /// The full docs URL of an endpoint.
    pub fn docs_url(&self, endpoint: &Endpoint) -> String {
        format!("{}{}", self.docs_base, endpoint.docs)
    }
}

impl Endpoint {
    /// The placeholders of the path, in order.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = self.path.as_str();
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            match after.find('}') {
                Some(end) => {
                    out.push(&after[..end]);
                    rest = &after[end + 1..];
                }
                None => break,
            }
        }
        out
    }

    /// `GET /path`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// `/path?simple`: the path with the fixed query, as sent.
    pub fn path_with_fixed_query(&self) -> String {
        if self.fixed_query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.fixed_query.join("&"))
        }
    }

    /// The fixed query as (key, value) pairs; flags have no value.
    pub fn fixed_pairs(&self) -> Vec<(&str, Option<&str>)> {
        self.fixed_query
            .iter()
            .map(|item| match item.split_once('=') {
                Some((key, value)) => (key, Some(value)),
                None => (item.as_str(), None),
            })
            .collect()
    }
}

impl Group {
    /// The trait of a shared group: `sql-statements` -> `SqlStatementsApi`.
    pub fn trait_name(&self) -> String {
        format!("{}Api", pascal_case(&self.module_name()))
    }

    /// The module of a shared group: `sql-statements` -> `sql_statements`.
    pub fn module_name(&self) -> String {
        self.name.replace('-', "_")
    }
}

impl QueryParam {
    /// The Rust name.
    pub fn rust_name(&self) -> String {
        self.rust.clone().unwrap_or_else(|| snake_case(&self.name))
    }
}

/// `createdTimeInterval` -> `created_time_interval`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

/// `task_status` -> `TaskStatus`.
pub fn pascal_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake_case("createdTimeInterval"), "created_time_interval");
        assert_eq!(snake_case("full"), "full");
        assert_eq!(pascal_case("task_status"), "TaskStatus");
    }

    #[test]
    fn line_numbers() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
