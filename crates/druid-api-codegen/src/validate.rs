//! Checks a loaded spec; every problem is reported, not just the first.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::{BodySpec, Endpoint, Group, ResponseSpec, Spec, SpecError, StatusSpec};

/// Methods the spec may use.
pub(crate) const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];
/// The values of an endpoint's `effect` (a write is the default and needs none).
pub(crate) const EFFECTS: &[&str] = &["read", "idempotent"];
/// Query parameter types.
pub(crate) const QUERY_TYPES: &[&str] = &[
    "string",
    "int",
    "float",
    "bool",
    "flag",
    "list",
    "repeated",
    "underscore_interval",
    "enum",
];
/// Response kinds written as a plain string.
pub(crate) const RESPONSE_KINDS: &[&str] = &["json", "text", "empty", "raw", "stream"];
/// Body kinds an answer can name.
pub(crate) const ANSWER_BODIES: &[&str] = &["any", "empty", "json", "text"];
/// What an answer can mean.
pub(crate) const ANSWER_MEANINGS: &[&str] = &["value", "none", "true", "false"];
/// Body kinds written as a plain string.
pub(crate) const BODY_KINDS: &[&str] = &["json", "text"];
/// Path parameter kinds.
pub(crate) const PARAM_KINDS: &[&str] = &["string", "interval"];
/// Endpoint statuses.
pub(crate) const STATUSES: &[&str] = &["stable", "experimental", "undocumented"];
/// Names the generated clients use themselves.
pub(crate) const RESERVED_IDS: &[&str] = &["new", "service", "base_url", "clone", "fmt"];

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "try",
    "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield",
];

fn is_snake_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&name)
}

fn is_pascal_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
        && !KEYWORDS.contains(&name)
}

/// Edit distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

fn suggest(value: &str, choices: &[&str]) -> String {
    let best = choices
        .iter()
        .min_by_key(|c| distance(&value.to_ascii_lowercase(), &c.to_ascii_lowercase()));
    match best {
        Some(best) if distance(&value.to_ascii_lowercase(), &best.to_ascii_lowercase()) <= 2 => {
            format!("did you mean `{best}`? one of: {}", choices.join(", "))
        }
        _ => format!("one of: {}", choices.join(", ")),
    }
}

fn parses_as_type(text: &str) -> bool {
    syn::parse_str::<syn::Type>(text).is_ok()
}

struct Collector<'a> {
    errors: Vec<SpecError>,
    group: &'a Group,
}

impl Collector<'_> {
    fn at(&mut self, endpoint: &Endpoint, message: String, hint: Option<String>) {
        self.errors.push(SpecError {
            file: self.group.file.clone(),
            line: Some(endpoint.line),
            entry: Some(format!("endpoint `{}`", endpoint.id)),
            message,
            hint,
        });
    }
}

/// Checks the spec. Returns every problem found.
pub fn validate(spec: &Spec) -> Result<(), Vec<SpecError>> {
    let mut errors = Vec::new();
    let services_file = format!(
        "{}/services.toml",
        spec.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let service_error =
        |errors: &mut Vec<SpecError>, entry: &str, message: String, hint: Option<String>| {
            errors.push(SpecError {
                file: services_file.clone(),
                line: None,
                entry: Some(entry.to_owned()),
                message,
                hint,
            });
        };

    let mut clients = BTreeSet::new();
    let mut modules = BTreeSet::new();
    for service in &spec.services {
        let entry = format!("service `{}`", service.name);
        if !is_pascal_ident(&service.client) {
            service_error(
                &mut errors,
                &entry,
                format!(
                    "client `{}` is not a PascalCase Rust type name",
                    service.client
                ),
                None,
            );
        }
        if !is_snake_ident(&service.module) {
            service_error(
                &mut errors,
                &entry,
                format!("module `{}` is not a snake_case Rust name", service.module),
                None,
            );
        }
        if !clients.insert(service.client.clone()) {
            service_error(
                &mut errors,
                &entry,
                format!("client `{}` is defined twice", service.client),
                None,
            );
        }
        if !modules.insert(service.module.clone()) {
            service_error(
                &mut errors,
                &entry,
                format!("module `{}` is used twice", service.module),
                None,
            );
        }
        if service.groups.is_empty() {
            service_error(
                &mut errors,
                &entry,
                "lists no groups".to_owned(),
                Some("add the endpoint files it serves to `groups`".to_owned()),
            );
        }
        // Method names must be unique across all groups of one client.
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for group in spec.groups_of(service) {
            for endpoint in &group.endpoints {
                if let Some(other) = seen.insert(&endpoint.id, &group.name)
                    && other != group.name
                {
                    service_error(
                        &mut errors,
                        &entry,
                        format!(
                            "the method `{}` comes from both {other}.toml and {}.toml",
                            endpoint.id, group.name
                        ),
                        Some("give one of the endpoints another `id`".to_owned()),
                    );
                }
            }
        }
    }

    let service_names: Vec<&str> = spec.services.iter().map(|s| s.name.as_str()).collect();
    for group in &spec.groups {
        let mut c = Collector {
            errors: Vec::new(),
            group,
        };
        if group.service != "all" && !service_names.contains(&group.service.as_str()) {
            c.errors.push(SpecError {
                file: group.file.clone(),
                line: None,
                entry: Some("[group]".to_owned()),
                message: format!(
                    "service `{}` is not a service of services.toml",
                    group.service
                ),
                hint: Some(format!("use `all` or one of: {}", service_names.join(", "))),
            });
        }
        let mut ids = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for endpoint in &group.endpoints {
            if !ids.insert(endpoint.id.clone()) {
                c.at(
                    endpoint,
                    format!("the id `{}` is used twice in this file", endpoint.id),
                    None,
                );
            }
            // Variants of one path differ in their fixed or required query parameters.
            let required: Vec<&str> = endpoint
                .query
                .iter()
                .filter(|q| q.required)
                .map(|q| q.name.as_str())
                .collect();
            let key = format!(
                "{} {} {}",
                endpoint.method,
                endpoint.path_with_fixed_query(),
                required.join("&")
            );
            if !keys.insert(key.clone()) {
                c.at(
                    endpoint,
                    format!("`{}` is specified twice in this file", key.trim_end()),
                    Some(
                        "variants of one path need different `fixed_query` or required query parameters"
                            .to_owned(),
                    ),
                );
            }
            check_endpoint(&mut c, endpoint);
        }
        errors.append(&mut c.errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_endpoint(c: &mut Collector<'_>, e: &Endpoint) {
    if !is_snake_ident(&e.id) {
        c.at(
            e,
            format!("the id `{}` is not a snake_case Rust method name", e.id),
            Some("use lower case letters, digits and `_`, and no Rust keyword".to_owned()),
        );
    }
    if RESERVED_IDS.contains(&e.id.as_str()) {
        c.at(
            e,
            format!("the id `{}` is reserved by the generated client", e.id),
            None,
        );
    }
    if !METHODS.contains(&e.method.as_str()) {
        c.at(
            e,
            format!("unknown HTTP method `{}`", e.method),
            Some(suggest(&e.method, METHODS)),
        );
    }
    if let Some(effect) = &e.effect {
        if !EFFECTS.contains(&effect.as_str()) {
            c.at(
                e,
                format!("unknown effect `{effect}`"),
                Some(suggest(effect, EFFECTS)),
            );
        } else if e.method == "GET" {
            c.at(
                e,
                "a `GET` reads; it takes no `effect`".to_owned(),
                Some("remove `effect`".to_owned()),
            );
        }
    }
    let json_body = match &e.body {
        Some(crate::BodySpec::Typed { .. }) => true,
        Some(crate::BodySpec::Kind(kind)) => kind == "json",
        None => false,
    };
    if e.sql.is_some() && !json_body {
        c.at(
            e,
            "`sql` names a field of a JSON body; the endpoint has none".to_owned(),
            None,
        );
    }
    if e.body_id.is_some() {
        if !matches!(&e.body, Some(crate::BodySpec::Kind(kind)) if kind == "json") {
            c.at(
                e,
                "`body_id` needs a free JSON body (`body = \"json\"`)".to_owned(),
                None,
            );
        }
        if e.effect.as_deref() != Some("idempotent") {
            c.at(
                e,
                "an endpoint with `body_id` is safe to repeat: mark it `effect = \"idempotent\"`"
                    .to_owned(),
                None,
            );
        }
        if e.query.iter().any(|q| !q.required) || e.audit {
            c.at(
                e,
                "`body_id` works on endpoints without options (no builder)".to_owned(),
                None,
            );
        }
    }
    if !e.path.starts_with('/') || e.path.contains('?') || e.path.contains(' ') {
        c.at(
            e,
            format!(
                "the path `{}` must start with `/` and hold no query or spaces",
                e.path
            ),
            Some("put query parameters in `query`".to_owned()),
        );
    }
    if e.path.matches('{').count() != e.path.matches('}').count() {
        c.at(
            e,
            format!("the path `{}` has unbalanced braces", e.path),
            None,
        );
    }
    let placeholders = e.placeholders();
    let mut seen = BTreeSet::new();
    for p in &placeholders {
        if !seen.insert(*p) {
            c.at(
                e,
                format!("the placeholder {{{p}}} appears twice in the path"),
                None,
            );
        }
        if !e.params.contains_key(*p) {
            c.at(
                e,
                format!("the path placeholder {{{p}}} has no entry in `params`"),
                Some(format!(
                    "add params.{p} = {{ rust = \"...\", doc = \"...\" }}"
                )),
            );
        }
    }
    for name in e.params.keys() {
        if !placeholders.contains(&name.as_str()) {
            c.at(
                e,
                format!(
                    "`params.{name}` is not a placeholder of the path `{}`",
                    e.path
                ),
                None,
            );
        }
    }
    if e.summary.trim().is_empty()
        || e.summary.contains('\n')
        || !e.summary.trim_end().ends_with('.')
    {
        c.at(
            e,
            "the summary must be one non-empty sentence ending with `.`".to_owned(),
            None,
        );
    }
    if e.docs.trim().is_empty() || e.docs.starts_with('/') || e.docs.starts_with("http") {
        c.at(
            e,
            format!(
                "`docs` ({:?}) must be a page of Druid's docs relative to the docs base",
                e.docs
            ),
            Some("e.g. \"api-reference/tasks-api#get-task-status\"".to_owned()),
        );
    }
    let mut rust_names = BTreeSet::new();
    for (name, param) in &e.params {
        if !is_snake_ident(&param.rust) {
            c.at(
                e,
                format!(
                    "`params.{name}.rust` (`{}`) is not a snake_case Rust name",
                    param.rust
                ),
                None,
            );
        }
        if !rust_names.insert(param.rust.clone()) {
            c.at(
                e,
                format!("the Rust name `{}` is used twice", param.rust),
                None,
            );
        }
        if let Some(kind) = &param.kind
            && !PARAM_KINDS.contains(&kind.as_str())
        {
            c.at(
                e,
                format!("`params.{name}.kind` `{kind}` is unknown"),
                Some(suggest(kind, PARAM_KINDS)),
            );
        }
        if param.doc.trim().is_empty() {
            c.at(e, format!("`params.{name}.doc` is empty"), None);
        }
    }
    let mut wire = BTreeSet::new();
    for q in &e.query {
        if !wire.insert(q.name.clone()) {
            c.at(
                e,
                format!("the query parameter `{}` is listed twice", q.name),
                None,
            );
        }
        let rust = q.rust_name();
        if !is_snake_ident(&rust) {
            c.at(
                e,
                format!(
                    "the query parameter `{}` needs a Rust name: `{rust}` is not one",
                    q.name
                ),
                Some("set `rust = \"...\"`".to_owned()),
            );
        }
        if !rust_names.insert(rust.clone())
            || rust == "body"
            || rust == "author"
            || rust == "comment"
        {
            c.at(
                e,
                format!(
                    "the Rust name `{rust}` of query parameter `{}` clashes with another argument",
                    q.name
                ),
                Some("set another `rust` name".to_owned()),
            );
        }
        if !QUERY_TYPES.contains(&q.ty.as_str()) {
            c.at(
                e,
                format!(
                    "the query parameter `{}` has the unknown type `{}`",
                    q.name, q.ty
                ),
                Some(suggest(&q.ty, QUERY_TYPES)),
            );
        }
        match (q.ty.as_str(), &q.enum_type) {
            ("enum", None) => c.at(
                e,
                format!("the enum query parameter `{}` names no type", q.name),
                Some("add `enum = \"models::TheEnum\"`, a `string_enum!` of the models".to_owned()),
            ),
            ("enum", Some(ty)) if !parses_as_type(ty) => c.at(
                e,
                format!(
                    "the type `{ty}` of query parameter `{}` is not a Rust type",
                    q.name
                ),
                None,
            ),
            (other, Some(_)) if other != "enum" => c.at(
                e,
                format!(
                    "the query parameter `{}` has an `enum` type but is of type `{other}`",
                    q.name
                ),
                Some("set `type = \"enum\"`".to_owned()),
            ),
            _ => {}
        }
        if q.required && q.ty == "flag" {
            c.at(
                e,
                format!("the flag `{}` cannot be required", q.name),
                Some("a required switch is a `bool`".to_owned()),
            );
        }
        if q.doc.trim().is_empty() {
            c.at(
                e,
                format!("the query parameter `{}` has an empty doc", q.name),
                None,
            );
        }
    }
    for (key, _) in e.fixed_pairs() {
        if key.is_empty() || key.contains(['&', '?', ' ', '#']) {
            c.at(
                e,
                format!("the fixed query item `{key}` is not a plain `key` or `key=value`"),
                None,
            );
        }
        if e.query.iter().any(|q| q.name == key) {
            c.at(
                e,
                format!("`{key}` is both a fixed and a free query parameter"),
                None,
            );
        }
    }
    match &e.body {
        Some(BodySpec::Kind(kind)) if !BODY_KINDS.contains(&kind.as_str()) => {
            c.at(
                e,
                format!("unknown body kind `{kind}`"),
                Some(format!(
                    "{}, or {{ json = \"Type\" }}",
                    suggest(kind, BODY_KINDS)
                )),
            );
        }
        Some(BodySpec::Typed { json }) if !parses_as_type(json) => {
            c.at(
                e,
                format!("the body type `{json}` is not a Rust type"),
                None,
            );
        }
        _ => {}
    }
    if e.body.is_some() && e.method == "GET" {
        c.at(e, "a GET endpoint cannot have a body".to_owned(), None);
    }
    if e.body_doc.is_some() && e.body.is_none() {
        c.at(
            e,
            "`body_doc` is set but there is no `body`".to_owned(),
            None,
        );
    }
    match &e.response {
        ResponseSpec::Kind(kind) if !RESPONSE_KINDS.contains(&kind.as_str()) => {
            c.at(
                e,
                format!("unknown response kind `{kind}`"),
                Some(format!(
                    "{}, or {{ json = \"Type\" }}",
                    suggest(kind, RESPONSE_KINDS)
                )),
            );
        }
        ResponseSpec::Typed { json } if !parses_as_type(json) => {
            c.at(
                e,
                format!("the response type `{json}` is not a Rust type"),
                None,
            );
        }
        _ => {}
    }
    check_answers(c, e);
    if let Some(status) = &e.status
        && !STATUSES.contains(&status.as_str())
    {
        c.at(
            e,
            format!("unknown status `{status}`"),
            Some(suggest(status, STATUSES)),
        );
    }
}

/// What the answers of an endpoint may say, given its response.
fn check_answers(c: &mut Collector<'_>, e: &Endpoint) {
    for answer in &e.answers {
        let status_ok = match &answer.status {
            StatusSpec::Code(code) => (100..600).contains(code),
            StatusSpec::Class(_) => answer.status.class().is_some(),
        };
        if !status_ok {
            c.at(
                e,
                format!(
                    "the answer status `{}` is neither a status nor a class",
                    answer.status
                ),
                Some("write 404, or \"2xx\" for a whole class".to_owned()),
            );
        }
        if let Some(body) = &answer.body
            && !ANSWER_BODIES.contains(&body.as_str())
        {
            c.at(
                e,
                format!("unknown answer body `{body}`"),
                Some(suggest(body, ANSWER_BODIES)),
            );
        }
        if !ANSWER_MEANINGS.contains(&answer.is.as_str()) {
            c.at(
                e,
                format!("unknown answer meaning `{}`", answer.is),
                Some(suggest(&answer.is, ANSWER_MEANINGS)),
            );
        }
    }
    let is = |meaning: &str| e.answers.iter().any(|a| a.is == meaning);
    let kind = match &e.response {
        ResponseSpec::Kind(kind) => kind.as_str(),
        ResponseSpec::Typed { .. } => "typed",
    };
    if is("true") || is("false") {
        if e.answers.iter().any(|a| a.is != "true" && a.is != "false") {
            c.at(
                e,
                "the answers mix `true`/`false` with `value`/`none`".to_owned(),
                Some("a yes-or-no endpoint answers only `true` or `false`".to_owned()),
            );
        }
        if kind != "empty" {
            let shown = if kind == "typed" { "a JSON type" } else { kind };
            c.at(
                e,
                format!("a yes-or-no endpoint must have `response = \"empty\"`, not {shown}"),
                Some("the status is the answer; the body is not read".to_owned()),
            );
        }
    }
    if is("none") && !matches!(kind, "typed" | "json" | "text") {
        c.at(
            e,
            format!("`none` needs a response with a value (JSON or text), not `{kind}`"),
            None,
        );
    }
    if (kind == "raw" || kind == "stream") && !e.answers.is_empty() {
        c.at(
            e,
            "a raw or streamed response takes no `answers`: the whole response is the answer"
                .to_owned(),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        assert!(is_snake_ident("task_status"));
        assert!(!is_snake_ident("TaskStatus"));
        assert!(!is_snake_ident("type"));
        assert!(!is_snake_ident("1a"));
        assert!(is_pascal_ident("OverlordClient"));
        assert!(!is_pascal_ident("overlord"));
    }

    #[test]
    fn suggestions() {
        assert!(suggest("jsn", RESPONSE_KINDS).starts_with("did you mean `json`"));
        assert!(suggest("zzzzzz", RESPONSE_KINDS).starts_with("one of"));
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
