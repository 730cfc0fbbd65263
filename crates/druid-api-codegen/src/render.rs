//! Renders a checked spec as Rust code.
//!
//! Every service gets a module with its client; the endpoints of groups only
//! that service serves are the client's own methods. A group that several
//! services serve (status, queries, ...) gets a module of its own with a
//! trait (`StatusApi`) whose provided methods hold the endpoints, rendered
//! once; each client that serves the group implements the trait in one line.
//!
//! The generated code builds a `druid_transport::Request` per call and hands
//! it to the client's service handle; it does no I/O of its own. Each module
//! imports what it uses, so the code reads like hand-written code.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::spec::{
    AnswerSpec, BodySpec, EffectKind, Endpoint, Group, QueryParam, ResponseSpec, Service, Spec,
    StatusSpec, pascal_case,
};

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The names a module imports, as full paths (`druid_transport::Request`).
#[derive(Default)]
struct Uses(BTreeSet<String>);

impl Uses {
    fn add(&mut self, path: &str) {
        self.0.insert(path.to_owned());
    }

    /// A Rust type written in the spec; `models::...` needs the import.
    fn ty(&mut self, text: &str) -> TokenStream {
        if text.contains("models::") {
            self.add("crate::models");
        }
        match syn::parse_str::<syn::Type>(text) {
            Ok(parsed) => quote!(#parsed),
            Err(_) => {
                let message = format!("`{text}` is not a Rust type");
                quote!(compile_error!(#message))
            }
        }
    }

    /// `use` items, one per parent path: `std`, then other crates, then
    /// this crate, each sorted.
    fn render(&self) -> TokenStream {
        let rank = |path: &str| match path.split("::").next() {
            Some("std") => 0,
            Some("crate") => 2,
            _ => 1,
        };
        let mut paths: Vec<&String> = self.0.iter().collect();
        paths.sort_by_key(|p| (rank(p), p.as_str()));
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for path in paths {
            let (parent, item) = path.rsplit_once("::").unwrap_or(("", path));
            match groups.iter_mut().find(|(p, _)| p == parent) {
                Some((_, items)) => items.push(item.to_owned()),
                None => groups.push((parent.to_owned(), vec![item.to_owned()])),
            }
        }
        let items = groups.iter().map(|(parent, items)| {
            let parent: syn::Path =
                syn::parse_str(parent).unwrap_or_else(|_| syn::parse_quote!(crate));
            let names: Vec<Ident> = items.iter().map(|i| ident(i)).collect();
            if names.len() == 1 {
                let name = &names[0];
                quote!(use #parent::#name;)
            } else {
                quote!(use #parent::{#(#names),*};)
            }
        });
        quote!(#(#items)*)
    }
}

fn doc_lines(text: &str) -> Vec<TokenStream> {
    text.lines()
        .map(|line| {
            let line = if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            };
            quote!(#[doc = #line])
        })
        .collect()
}

/// Where an endpoint's method goes.
#[derive(Clone, Copy)]
enum Home<'a> {
    /// An inherent method of one client.
    Client(&'a Service),
    /// A provided method of a shared group's trait.
    Trait(&'a Group),
}

impl Home<'_> {
    /// The expression of the service handle inside a method.
    fn service(self) -> TokenStream {
        match self {
            Home::Client(_) => quote!(self.service),
            Home::Trait(_) => quote!(self.service()),
        }
    }

    /// The operation name of an endpoint, as an expression.
    fn operation(self, id: &str) -> TokenStream {
        match self {
            Home::Client(service) => {
                let name = format!("{}.{id}", service.module);
                quote!(#name)
            }
            Home::Trait(_) => {
                let format = format!("{{}}.{id}");
                quote!(format!(#format, self.service_name()))
            }
        }
    }

    /// Who the request goes to, for the docs.
    fn target(self) -> String {
        match self {
            Home::Client(service) => format!("the {}", service.name),
            Home::Trait(group) if group.service == "all" => "the service".to_owned(),
            Home::Trait(group) => format!("the service (implemented by the {})", group.service),
        }
    }
}

/// How a response becomes the call's answer.
struct Answer {
    /// The `Ok` type.
    ty: TokenStream,
    /// The statements that turn `request`, sent through `service`, into
    /// `Result<ty>`.
    decode: TokenStream,
    /// What the answers are, for the docs, when the spec says more than
    /// "a 2xx is the value".
    answers_doc: Option<String>,
    /// The errors, for the docs.
    errors_doc: String,
}

/// The value a 2xx body decodes to.
enum Value {
    Json(TokenStream, String),
    Text,
    Empty,
    Raw,
    /// The response with its body still to read.
    Stream,
}

fn value_of(endpoint: &Endpoint, uses: &mut Uses) -> Value {
    match &endpoint.response {
        ResponseSpec::Typed { json } => Value::Json(uses.ty(json), json.clone()),
        ResponseSpec::Kind(kind) => match kind.as_str() {
            "text" => Value::Text,
            "empty" => Value::Empty,
            "raw" => Value::Raw,
            "stream" => Value::Stream,
            _ => Value::Json(quote!(serde_json::Value), "serde_json::Value".to_owned()),
        },
    }
}

fn answer_tokens(answer: &AnswerSpec, uses: &mut Uses) -> TokenStream {
    uses.add("druid_transport::Answer");
    uses.add("druid_transport::StatusMatch");
    uses.add("druid_transport::BodyMatch");
    uses.add("druid_transport::Outcome");
    let status = match (&answer.status, answer.status.class()) {
        (_, Some(class)) => {
            let class = Literal::u16_unsuffixed(class);
            quote!(StatusMatch::Class(#class))
        }
        (StatusSpec::Code(code), None) => {
            let code = Literal::u16_unsuffixed(*code);
            quote!(StatusMatch::Is(#code))
        }
        (StatusSpec::Class(_), None) => quote!(compile_error!("bad status class")),
    };
    let body = match answer.body.as_deref().unwrap_or("any") {
        "empty" => quote!(BodyMatch::Empty),
        "json" => quote!(BodyMatch::Json),
        "text" => quote!(BodyMatch::Text),
        _ => quote!(BodyMatch::Any),
    };
    let is = match answer.is.as_str() {
        "none" => quote!(Outcome::None),
        "true" => quote!(Outcome::True),
        "false" => quote!(Outcome::False),
        _ => quote!(Outcome::Value),
    };
    quote!(Answer::new(#status, #body, #is))
}

/// The `Answer` expressions of an endpoint that lists answers, in order:
/// the spec's, then "any other 2xx is the value" unless the answers make
/// it a `bool`. Empty when the spec lists none (a 2xx is the value, any
/// other status an error).
fn answers_of(endpoint: &Endpoint, uses: &mut Uses) -> Vec<TokenStream> {
    if endpoint.answers.is_empty() {
        return Vec::new();
    }
    let is_bool = endpoint
        .answers
        .iter()
        .any(|a| a.is == "true" || a.is == "false");
    let mut answers: Vec<TokenStream> = endpoint
        .answers
        .iter()
        .map(|a| answer_tokens(a, uses))
        .collect();
    if !is_bool {
        answers.push(quote!(Answer::SUCCESS));
    }
    answers
}

/// The `Effect` expression of an effect.
fn effect_tokens(kind: EffectKind) -> TokenStream {
    match kind {
        EffectKind::Read => quote!(Effect::Read),
        EffectKind::Idempotent => quote!(Effect::Idempotent),
        EffectKind::Write => quote!(Effect::Write),
    }
}

fn answer_doc(answer: &AnswerSpec) -> String {
    let status = match answer.status.class() {
        Some(class) => format!("a {class}xx"),
        None => format!("a {}", answer.status),
    };
    let body = match answer.body.as_deref() {
        Some("empty") => " with an empty body",
        Some("json") => " with a JSON body",
        Some("text") => " with a plain-text body",
        _ => "",
    };
    let is = match answer.is.as_str() {
        "none" => "`None`",
        "true" => "`true`",
        "false" => "`false`",
        _ => "the value",
    };
    format!("{status}{body} is {is}")
}

fn answer(endpoint: &Endpoint, service: &TokenStream, uses: &mut Uses) -> Answer {
    let value = value_of(endpoint, uses);
    let (value_ty, decode_value, decode_doc) = match &value {
        Value::Json(t, name) => (
            t.clone(),
            quote!(json()?),
            Some(format!("a body that is not a `{name}`")),
        ),
        Value::Text => (
            quote!(String),
            quote!(text()?),
            Some("a body that is not UTF-8".to_owned()),
        ),
        Value::Empty => (quote!(()), quote!(()), None),
        Value::Raw => {
            uses.add("druid_transport::Response");
            (quote!(Response), quote!(()), None)
        }
        Value::Stream => {
            uses.add("druid_transport::StreamingResponse");
            (quote!(StreamingResponse), quote!(()), None)
        }
    };
    let mut errors = vec![format!(
        "Druid's answer for {} ([`Error::api`](crate::Error::api))",
        if endpoint.answers.is_empty() {
            "a status other than 2xx"
        } else {
            "any other status"
        }
    )];
    if let Some(doc) = decode_doc {
        errors.push(format!("{doc} ([`Error::decode`](crate::Error::decode))"));
    }
    if !endpoint.params.is_empty() {
        errors.push(
            "an empty path parameter ([`Error::is_invalid_input`](crate::Error::is_invalid_input))"
                .to_owned(),
        );
    }
    let errors_doc = format!("{}; the transport's errors otherwise.", errors.join(", "));
    if endpoint.answers.is_empty() {
        let decode = match value {
            Value::Empty => quote! {
                #service.send(&request).await?;
                Ok(())
            },
            Value::Raw => quote!(Ok(#service.send(&request).await?)),
            Value::Stream => quote! {
                Ok(#service.execute_streaming(&request).await?.error_for_status().await?)
            },
            _ => match &endpoint.body_id {
                Some(body_id) => {
                    let (key, exists) = (&body_id.answer, &body_id.exists);
                    quote! {
                        match #service.send(&request).await {
                            Ok(response) => Ok(response.#decode_value),
                            // An earlier attempt was taken; its answer was lost.
                            Err(error) if body.was_taken(&error, #exists) => Ok(body.answer(#key)?),
                            Err(error) => Err(error.into()),
                        }
                    }
                }
                None => quote!(Ok(#service.send(&request).await?.#decode_value)),
            },
        };
        return Answer {
            ty: value_ty,
            decode,
            answers_doc: None,
            errors_doc,
        };
    }
    let is_bool = endpoint
        .answers
        .iter()
        .any(|a| a.is == "true" || a.is == "false");
    let is_option = endpoint.answers.iter().any(|a| a.is == "none");
    let answers = answers_of(endpoint, uses);
    let mut phrases: Vec<String> = endpoint.answers.iter().map(answer_doc).collect();
    if !is_bool {
        phrases.push("any other 2xx is the value".to_owned());
    }
    let mut answers_doc = phrases.join(", ");
    if let Some(first) = answers_doc.get(..1) {
        answers_doc = format!("{}{}.", first.to_uppercase(), &answers_doc[1..]);
    }
    let (ty, pattern, result) = if is_bool {
        (
            quote!(bool),
            quote!((outcome, _)),
            quote!(outcome == Outcome::True),
        )
    } else if is_option {
        (
            quote!(Option<#value_ty>),
            quote!((outcome, response)),
            quote! {
                match outcome {
                    Outcome::None => None,
                    _ => Some(response.#decode_value),
                }
            },
        )
    } else if matches!(value, Value::Empty) {
        (value_ty, quote!(_), quote!(()))
    } else if matches!(value, Value::Raw) {
        (value_ty, quote!((_, response)), quote!(response))
    } else {
        (
            value_ty,
            quote!((_, response)),
            quote!(response.#decode_value),
        )
    };
    let decode = quote! {
        const ANSWERS: &[Answer] = &[#(#answers),*];
        let request = request.answers(ANSWERS);
        let #pattern = #service.execute(&request).await?.answer(ANSWERS)?;
        Ok(#result)
    };
    Answer {
        ty,
        decode,
        answers_doc: Some(answers_doc),
        errors_doc,
    }
}

/// How a query parameter looks in Rust.
struct QueryRust {
    name: Ident,
    /// The argument type of a required parameter.
    arg_ty: TokenStream,
    /// The field type in a builder.
    field_ty: TokenStream,
    /// The field's initial value.
    field_init: TokenStream,
    /// The setter's argument type.
    setter_ty: TokenStream,
    /// The setter's conversion of `value` into the field.
    setter_store: TokenStream,
    /// The chained call that adds a required argument `name` to a request.
    add_required: TokenStream,
    /// The chained call that adds the builder field `self.name`.
    add_optional: TokenStream,
}

fn query_rust(q: &QueryParam, uses: &mut Uses) -> QueryRust {
    let name = ident(&q.rust_name());
    let wire = &q.name;
    let plain = |t: TokenStream| QueryRust {
        arg_ty: t.clone(),
        field_ty: quote!(Option<#t>),
        field_init: quote!(None),
        setter_ty: t,
        setter_store: quote!(Some(value)),
        add_required: quote!(.query(#wire, #name)),
        add_optional: quote!(.query_opt(#wire, self.#name)),
        name: name.clone(),
    };
    let strings = quote!(impl IntoIterator<Item = impl Into<String>>);
    match q.ty.as_str() {
        "int" => plain(quote!(i64)),
        "float" => plain(quote!(f64)),
        "bool" => plain(quote!(bool)),
        "enum" => plain(uses.ty(q.enum_type.as_deref().unwrap_or("String"))),
        "flag" => QueryRust {
            arg_ty: quote!(bool),
            field_ty: quote!(bool),
            field_init: quote!(false),
            setter_ty: quote!(bool),
            setter_store: quote!(value),
            add_required: quote!(.flag_if(#wire, #name)),
            add_optional: quote!(.flag_if(#wire, self.#name)),
            name,
        },
        "list" => QueryRust {
            arg_ty: quote!(&[&str]),
            field_ty: quote!(Option<Vec<String>>),
            field_init: quote!(None),
            setter_ty: strings,
            setter_store: quote!(Some(value.into_iter().map(Into::into).collect())),
            add_required: quote!(.query(#wire, #name.join(","))),
            add_optional: quote!(.query_opt(#wire, self.#name.map(|values| values.join(",")))),
            name,
        },
        "repeated" => QueryRust {
            arg_ty: quote!(&[&str]),
            field_ty: quote!(Vec<String>),
            field_init: quote!(Vec::new()),
            setter_ty: strings,
            setter_store: quote!(value.into_iter().map(Into::into).collect()),
            add_required: quote!(.query_each(#wire, #name)),
            add_optional: quote!(.query_each(#wire, self.#name)),
            name,
        },
        "underscore_interval" => QueryRust {
            arg_ty: quote!(&str),
            field_ty: quote!(Option<String>),
            field_init: quote!(None),
            setter_ty: quote!(impl Into<String>),
            setter_store: quote!(Some(value.into().replace('/', "_"))),
            add_required: quote!(.query(#wire, #name.replace('/', "_"))),
            add_optional: quote!(.query_opt(#wire, self.#name)),
            name,
        },
        _ => QueryRust {
            arg_ty: quote!(&str),
            field_ty: quote!(Option<String>),
            field_init: quote!(None),
            setter_ty: quote!(impl Into<String>),
            setter_store: quote!(Some(value.into())),
            add_required: quote!(.query(#wire, #name)),
            add_optional: quote!(.query_opt(#wire, self.#name)),
            name,
        },
    }
}

/// Whether an endpoint gets a builder (it has optional parts).
pub fn has_builder(endpoint: &Endpoint) -> bool {
    endpoint.audit || endpoint.query.iter().any(|q| !q.required)
}

/// The builder type name of an endpoint.
pub fn builder_name(endpoint: &Endpoint) -> String {
    format!("{}Builder", pascal_case(&endpoint.id))
}

fn endpoint_doc(spec: &Spec, home: Home<'_>, e: &Endpoint, answer: &Answer) -> Vec<TokenStream> {
    let mut text = String::new();
    text.push_str(e.summary.trim());
    text.push_str("\n\n");
    if let Some(description) = &e.description {
        text.push_str(description.trim());
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "Sends `{} {}` to {}.\n",
        e.method,
        e.path_with_fixed_query(),
        home.target()
    ));
    let placeholders = e.placeholders();
    let required_query: Vec<&QueryParam> = e.query.iter().filter(|q| q.required).collect();
    if !placeholders.is_empty() || !required_query.is_empty() || e.body.is_some() {
        text.push_str("\n# Parameters\n\n");
        for p in placeholders {
            if let Some(param) = e.params.get(p) {
                let form = if param.kind.as_deref() == Some("interval") {
                    " Give it as `start/end` (ISO-8601); it is sent in Druid's `start_end` path form."
                } else {
                    ""
                };
                text.push_str(&format!(
                    "- `{}`: {}{}\n",
                    param.rust,
                    param.doc.trim(),
                    form
                ));
            }
        }
        for q in &required_query {
            text.push_str(&format!(
                "- `{}`: {} (query `{}`)\n",
                q.rust_name(),
                q.doc.trim(),
                q.name
            ));
        }
        if let Some(body) = &e.body {
            let what = e.body_doc.clone().unwrap_or_else(|| match body {
                BodySpec::Kind(kind) if kind == "text" => "the text body.".to_owned(),
                BodySpec::Kind(_) => "the JSON body.".to_owned(),
                BodySpec::Typed { json } => format!("the body, a `{json}`."),
            });
            text.push_str(&format!("- `body`: {}\n", what.trim()));
        }
    }
    if has_builder(e) {
        let builder = builder_name(e);
        text.push_str(&format!(
            "\n# Options\n\nReturns a [`{builder}`]; set options on it, then `.await` it (or call `.send()`).\n\n"
        ));
        for q in e.query.iter().filter(|q| !q.required) {
            let kind = match q.ty.as_str() {
                "flag" => " (a presence flag: `true` sends the bare key)",
                "list" => " (sent comma-separated)",
                "repeated" => " (sent once per value)",
                "underscore_interval" => {
                    " (give `start/end`; it is sent in Druid's `start_end` form)"
                }
                _ => "",
            };
            text.push_str(&format!(
                "- [`{rust}`]({builder}::{rust}): {doc} (query `{wire}`){kind}\n",
                rust = q.rust_name(),
                doc = q.doc.trim(),
                wire = q.name,
            ));
        }
        if e.audit {
            text.push_str(&format!(
                "- [`author`]({builder}::author), [`comment`]({builder}::comment): recorded in the audit history (`X-Druid-Author`, `X-Druid-Comment`)\n"
            ));
        }
    }
    if let Some(answers) = &answer.answers_doc {
        text.push_str(&format!("\n# Answers\n\n{answers}\n"));
    }
    text.push_str(&format!("\n# Errors\n\n{}\n", answer.errors_doc));
    let mut notes = Vec::new();
    if let Some(deprecated) = &e.deprecated {
        notes.push(format!("**Deprecated**: {}", deprecated.trim()));
    }
    match e.status.as_deref() {
        Some("experimental") => notes.push("**Experimental** in Druid.".to_owned()),
        Some("undocumented") => notes.push(
            "Not in Druid's API reference; its shape comes from Druid's source and web console."
                .to_owned(),
        ),
        _ => {}
    }
    if let Some(extension) = &e.extension {
        notes.push(format!("Needs the `{extension}` extension on the cluster."));
    }
    if let Some(since) = &e.since {
        notes.push(format!("Since Druid {since}."));
    }
    if let Some(body_id) = &e.body_id {
        notes.push(format!(
            "A body without `{field}` gets one made up by the client (`<type>_<random>_<ms>`), \
             so that a lost answer can be retried safely: when the retry finds the ID \
             taken, the earlier attempt was, and its answer is returned.",
            field = body_id.field
        ));
    }
    notes.push(
        match e.effect_kind() {
            EffectKind::Read => "Reads: sent again after a transient failure.",
            EffectKind::Idempotent => {
                "Changes state, safely repeated: sent again after a transient failure; \
                 a read-only client refuses it."
            }
            EffectKind::Write => "Changes state: never sent twice; a read-only client refuses it.",
        }
        .to_owned(),
    );
    if !notes.is_empty() {
        text.push('\n');
        text.push_str(&notes.join("\n\n"));
        text.push('\n');
    }
    text.push_str(&format!("\nSee the [Druid docs]({}).", spec.docs_url(e)));
    doc_lines(&text)
}

struct Rendered {
    method: TokenStream,
    builder: TokenStream,
}

/// The request of an endpoint: the statements that encode the path
/// parameters, the expression of the request with its path, operation,
/// fixed and required query parameters and body, and whether building it
/// can fail (it uses `?` then).
struct Base {
    lets: Vec<TokenStream>,
    request: TokenStream,
    fallible: bool,
}

impl Base {
    /// The statements and the request expression, as one block's content.
    fn build(&self) -> TokenStream {
        let lets = &self.lets;
        let request = &self.request;
        quote!(#(#lets)* let request = #request;)
    }
}

fn base_request(
    home: Home<'_>,
    e: &Endpoint,
    args: &mut Vec<TokenStream>,
    uses: &mut Uses,
) -> Base {
    uses.add("druid_transport::Request");
    uses.add("druid_transport::http::Method");
    let method = ident(&e.method);
    let mut format = String::new();
    let mut lets = Vec::new();
    let mut rest = e.path.as_str();
    while let Some(start) = rest.find('{') {
        format.push_str(&rest[..start].replace('{', "{{").replace('}', "}}"));
        let after = &rest[start + 1..];
        let end = after.find('}').unwrap_or(after.len());
        if let Some(param) = e.params.get(&after[..end]) {
            let name = ident(&param.rust);
            let rust = &param.rust;
            lets.push(if param.kind.as_deref() == Some("interval") {
                uses.add("druid_transport::interval_path_param");
                quote!(let #name = interval_path_param(#rust, #name)?;)
            } else {
                uses.add("druid_transport::path_param");
                quote!(let #name = path_param(#rust, #name)?;)
            });
            args.push(quote!(#name: &str));
            format.push_str(&format!("{{{rust}}}"));
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    format.push_str(&rest.replace('{', "{{").replace('}', "}}"));
    let path = if lets.is_empty() {
        quote!(#format)
    } else {
        quote!(format!(#format))
    };
    let operation = home.operation(&e.id);
    let mut chain = vec![quote!(.operation(#operation))];
    let default_effect = if e.method == "GET" {
        EffectKind::Read
    } else {
        EffectKind::Write
    };
    if e.effect_kind() != default_effect {
        uses.add("druid_transport::Effect");
        let effect = effect_tokens(e.effect_kind());
        chain.push(quote!(.effect(#effect)));
    }
    if let Some(since) = &e.since {
        chain.push(quote!(.since(#since)));
    }
    if let Some(extension) = &e.extension {
        chain.push(quote!(.extension(#extension)));
    }
    if let Some(field) = &e.sql {
        chain.push(quote!(.sql_field(#field)));
    }
    for (key, value) in e.fixed_pairs() {
        chain.push(match value {
            Some(value) => quote!(.query(#key, #value)),
            None => quote!(.flag(#key)),
        });
    }
    for q in e.query.iter().filter(|q| q.required) {
        let r = query_rust(q, uses);
        let name = &r.name;
        let arg_ty = &r.arg_ty;
        args.push(quote!(#name: #arg_ty));
        chain.push(r.add_required);
    }
    match &e.body {
        None => {}
        Some(BodySpec::Kind(kind)) if kind == "text" => {
            args.push(quote!(body: &str));
            chain.push(quote!(.text(body)));
        }
        Some(BodySpec::Kind(_)) if e.body_id.is_some() => {
            uses.add("serde::Serialize");
            uses.add("druid_transport::IdentifiedBody");
            let field = e.body_id.as_ref().map(|b| b.field.as_str()).unwrap_or("id");
            args.push(quote!(body: &(impl Serialize + ?Sized)));
            lets.push(quote!(let body = IdentifiedBody::new(body, #field)?;));
            chain.push(quote!(.json(&body.json)?));
        }
        Some(BodySpec::Kind(_)) => {
            uses.add("serde::Serialize");
            args.push(quote!(body: &(impl Serialize + ?Sized)));
            chain.push(quote!(.json(body)?));
        }
        Some(BodySpec::Typed { json }) => {
            let t = uses.ty(json);
            args.push(quote!(body: &#t));
            chain.push(quote!(.json(body)?));
        }
    }
    let fallible = !lets.is_empty()
        || matches!(&e.body, Some(BodySpec::Typed { .. }))
        || matches!(&e.body, Some(BodySpec::Kind(kind)) if kind != "text");
    Base {
        lets,
        request: quote!(Request::new(Method::#method, #path) #(#chain)*),
        fallible,
    }
}

fn render_endpoint(spec: &Spec, home: Home<'_>, e: &Endpoint, uses: &mut Uses) -> Rendered {
    uses.add("crate::Result");
    let fn_name = ident(&e.id);
    let alias = format!("{} {}", e.method, e.path_with_fixed_query());
    let deprecated = e
        .deprecated
        .as_ref()
        .map(|note| quote!(#[deprecated(note = #note)]));
    let mut args = Vec::new();
    let base = base_request(home, e, &mut args, uses);
    let (vis, service) = match home {
        Home::Client(_) => (quote!(pub), home.service()),
        Home::Trait(_) => (quote!(), home.service()),
    };

    if !has_builder(e) {
        let answer = answer(e, &quote!(#service), uses);
        let docs = endpoint_doc(spec, home, e, &answer);
        let answer_ty = &answer.ty;
        let decode = &answer.decode;
        let build = base.build();
        let body = quote! {
            #build
            #decode
        };
        let method = match home {
            Home::Client(_) => quote! {
                #(#docs)*
                #[doc(alias = #alias)]
                #deprecated
                pub async fn #fn_name(&self #(, #args)*) -> Result<#answer_ty> {
                    #body
                }
            },
            Home::Trait(_) => quote! {
                #(#docs)*
                #[doc(alias = #alias)]
                #deprecated
                fn #fn_name(&self #(, #args)*) -> impl Future<Output = Result<#answer_ty>> + Send {
                    async move {
                        #body
                    }
                }
            },
        };
        return Rendered {
            method,
            builder: quote!(),
        };
    }

    uses.add("druid_transport::Service");
    uses.add("std::pin::Pin");
    let answer = answer(e, &quote!(service), uses);
    let docs = endpoint_doc(spec, home, e, &answer);
    let answer_ty = &answer.ty;
    let decode = &answer.decode;
    let builder = format_ident!("{}", builder_name(e));
    let optional: Vec<(QueryRust, &QueryParam)> = e
        .query
        .iter()
        .filter(|q| !q.required)
        .map(|q| (query_rust(q, uses), q))
        .collect();
    let field_names: Vec<&Ident> = optional.iter().map(|(r, _)| &r.name).collect();
    let field_types: Vec<&TokenStream> = optional.iter().map(|(r, _)| &r.field_ty).collect();
    let field_inits: Vec<&TokenStream> = optional.iter().map(|(r, _)| &r.field_init).collect();
    let setters = optional.iter().map(|(r, q)| {
        let name = &r.name;
        let setter_ty = &r.setter_ty;
        let store = &r.setter_store;
        let doc = doc_lines(&format!("{} (query `{}`)", q.doc.trim(), q.name));
        quote! {
            #(#doc)*
            pub fn #name(mut self, value: #setter_ty) -> Self {
                self.#name = #store;
                self
            }
        }
    });
    let adds: Vec<&TokenStream> = optional.iter().map(|(r, _)| &r.add_optional).collect();
    let (audit_fields, audit_init, audit_setters, audit_add) = if e.audit {
        (
            quote! {
                author: Option<String>,
                comment: Option<String>,
            },
            quote! { author: None, comment: None, },
            quote! {
                /// Records who made the change in Druid's audit history (`X-Druid-Author`).
                pub fn author(mut self, author: impl Into<String>) -> Self {
                    self.author = Some(author.into());
                    self
                }

                /// Records why the change was made in Druid's audit history (`X-Druid-Comment`).
                pub fn comment(mut self, comment: impl Into<String>) -> Self {
                    self.comment = Some(comment.into());
                    self
                }
            },
            quote! {
                .header_opt("X-Druid-Author", self.author.as_deref())?
                .header_opt("X-Druid-Comment", self.comment.as_deref())?
            },
        )
    } else {
        (quote!(), quote!(), quote!(), quote!())
    };
    let owner = match home {
        Home::Client(service) => format!("{}::{}", service.client, e.id),
        Home::Trait(group) => format!("{}::{}", group.trait_name(), e.id),
    };
    let builder_doc = doc_lines(&format!(
        "The options of [`{owner}`]: set them, then `.await` the builder or call [`send`]({b}::send).",
        b = builder_name(e),
    ));
    let service_clone = match home {
        Home::Client(_) => quote!(self.service.clone()),
        Home::Trait(_) => quote!(self.service().clone()),
    };
    let base = if base.fallible {
        let build = base.build();
        quote!(let base = (|| -> Result<Request> { #build Ok(request) })();)
    } else {
        let request = &base.request;
        quote!(let base = Ok(#request);)
    };
    let method = quote! {
        #(#docs)*
        #[doc(alias = #alias)]
        #deprecated
        #vis fn #fn_name(&self #(, #args)*) -> #builder {
            #base
            #builder {
                service: #service_clone,
                base,
                #(#field_names: #field_inits,)*
                #audit_init
            }
        }
    };
    let builder_tokens = quote! {
        #(#builder_doc)*
        #[derive(Debug)]
        #[must_use = "the request is only sent when the builder is awaited or `send` is called"]
        pub struct #builder {
            service: Service,
            base: Result<Request>,
            #(#field_names: #field_types,)*
            #audit_fields
        }

        impl #builder {
            #(#setters)*
            #audit_setters

            /// The request as it will be sent, without sending it.
            pub fn into_request(self) -> Result<Request> {
                Ok(self.base? #(#adds)* #audit_add)
            }

            /// Sends the request and decodes the answer.
            pub async fn send(self) -> Result<#answer_ty> {
                let service = self.service.clone();
                let request = self.into_request()?;
                #decode
            }
        }

        impl IntoFuture for #builder {
            type Output = Result<#answer_ty>;
            type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
    Rendered {
        method,
        builder: builder_tokens,
    }
}

/// The endpoints of a group, as methods and builders, with an index for
/// the docs.
fn render_group(
    spec: &Spec,
    home: Home<'_>,
    group: &Group,
    uses: &mut Uses,
    index: &mut String,
    owner: &str,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut methods = Vec::new();
    let mut builders = Vec::new();
    index.push_str(&format!("\n## {}\n\n", group.title));
    if let Some(extension) = &group.extension {
        index.push_str(&format!("Needs the `{extension}` extension.\n\n"));
    }
    for e in &group.endpoints {
        let rendered = render_endpoint(spec, home, e, uses);
        methods.push(rendered.method);
        builders.push(rendered.builder);
        let deprecated = if e.deprecated.is_some() {
            " (deprecated)"
        } else {
            ""
        };
        index.push_str(&format!(
            "- [`{id}`]({owner}::{id}): `{method} {path}`{deprecated}\n",
            id = e.id,
            method = e.method,
            path = e.path_with_fixed_query(),
        ));
    }
    (methods, builders)
}

/// Renders one service's module: the client, its own endpoints and
/// builders, and its implementations of the shared groups' traits.
pub fn render_service(spec: &Spec, service: &Service) -> TokenStream {
    let mut uses = Uses::default();
    uses.add("druid_transport::Service");
    uses.add("druid_transport::url::Url");
    uses.add("crate::ServiceClient");
    let module = ident(&service.module);
    let client = ident(&service.client);
    let name = &service.module;
    let mut methods = Vec::new();
    let mut builders = Vec::new();
    let mut impls = Vec::new();
    let mut index = String::new();
    for group in spec.groups_of(service) {
        if spec.is_shared(group) {
            let trait_path = format!("crate::{}::{}", group.module_name(), group.trait_name());
            uses.add(&trait_path);
            let trait_name = ident(&group.trait_name());
            impls.push(quote!(impl #trait_name for #client {}));
            index.push_str(&format!(
                "\n## {}\n\nThe methods of [`{trait_name}`](crate::{trait_name}), shared with the other clients of the group.\n",
                group.title,
                trait_name = group.trait_name(),
            ));
            continue;
        }
        let (m, b) = render_group(
            spec,
            Home::Client(service),
            group,
            &mut uses,
            &mut index,
            &service.client,
        );
        methods.extend(m);
        builders.extend(b);
    }
    let ports = match service.ports {
        Some([plain, tls]) => format!("\n\nDefault ports: {plain} (HTTP), {tls} (HTTPS)."),
        None => String::new(),
    };
    let client_doc = doc_lines(&format!(
        "The {name} client.\n\n{description}{ports}\n\nGenerated from `api-spec/` (Druid {release} docs) by `cargo xtask codegen`; \
         use [`service`]({client}::service) for endpoints the spec lacks.\n\n# Endpoints\n{index}",
        name = service.name,
        description = service.description.trim(),
        release = spec.druid_docs_release,
        client = service.client,
    ));
    let module_doc = doc_lines(&format!(
        "The {} client, [`{}`], and the builders of its calls with options.",
        service.name, service.client
    ));
    let uses = uses.render();
    quote! {
        #(#module_doc)*
        pub mod #module {
            #uses

            #(#client_doc)*
            #[derive(Clone, Debug)]
            pub struct #client {
                service: Service,
            }

            impl #client {
                /// A client for the service behind `service`.
                pub fn new(service: Service) -> Self {
                    Self { service }
                }

                /// The service handle: base URL, transport, and generic
                /// `get_json`/`post_json`/`delete` for endpoints the spec lacks.
                pub fn service(&self) -> &Service {
                    &self.service
                }

                /// The base URL this client talks to now (a cluster's leader
                /// clients follow the leader, so this can change).
                pub fn base_url(&self) -> Url {
                    self.service.base_url()
                }

                #(#methods)*
            }

            impl ServiceClient for #client {
                fn service_name(&self) -> &'static str {
                    #name
                }

                fn service(&self) -> &Service {
                    &self.service
                }
            }

            #(#impls)*

            #(#builders)*
        }
        pub use #module::#client;
    }
}

/// Renders a shared group's module: its trait and builders.
pub fn render_shared_group(spec: &Spec, group: &Group) -> TokenStream {
    let mut uses = Uses::default();
    uses.add("crate::ServiceClient");
    let module = ident(&group.module_name());
    let trait_name = ident(&group.trait_name());
    let mut index = String::new();
    let (methods, builders) = render_group(
        spec,
        Home::Trait(group),
        group,
        &mut uses,
        &mut index,
        &group.trait_name(),
    );
    let clients: Vec<String> = spec
        .services_of(group)
        .map(|s| format!("[`{}`](crate::{})", s.client, s.client))
        .collect();
    let served = if group.service == "all" {
        "every service".to_owned()
    } else {
        format!("the {}", group.service)
    };
    let trait_doc = doc_lines(&format!(
        "{title}: the endpoints of `api-spec/{file}.toml`, served by {served}.\n\n\
         Generated once for every client that has them: {clients}. Code can be generic over \
         any client with these endpoints (`fn f(client: &impl {trait_name})`).\n\n# Endpoints\n{index}",
        title = group.title,
        file = group.name,
        clients = clients.join(", "),
        trait_name = group.trait_name(),
    ));
    let module_doc = doc_lines(&format!(
        "{}: [`{}`], and the builders of its calls with options.",
        group.title,
        group.trait_name()
    ));
    let uses = uses.render();
    quote! {
        #(#module_doc)*
        pub mod #module {
            #uses

            #(#trait_doc)*
            pub trait #trait_name: ServiceClient {
                #(#methods)*
            }

            #(#builders)*
        }
        pub use #module::#trait_name;
    }
}

/// `Some(text)` or `None`, as an expression of `Option<&'static str>`.
fn opt_str(text: Option<&str>) -> TokenStream {
    match text {
        Some(text) => {
            let text = text.trim();
            quote!(Some(#text))
        }
        None => quote!(None),
    }
}

/// One catalog entry: everything a generic caller needs to know of an
/// endpoint of one client, from the spec; `uses` collects the names it
/// needs.
fn catalog_entry(
    spec: &Spec,
    service: &Service,
    group: &Group,
    e: &Endpoint,
    uses: &mut Uses,
) -> TokenStream {
    uses.add("crate::catalog::EndpointInfo");
    let client = &service.client;
    let name = &service.name;
    let service_name = &service.module;
    let group_name = &group.name;
    let id = &e.id;
    let operation = format!("{}.{}", service.module, e.id);
    let method = &e.method;
    let path = &e.path;
    let fixed = e.fixed_pairs().into_iter().map(|(key, value)| {
        let value = opt_str(value);
        quote!((#key, #value))
    });
    let summary = e.summary.trim();
    let description = opt_str(e.description.as_deref());
    let docs = spec.docs_url(e);
    let mut path_params = Vec::new();
    for p in e.placeholders() {
        let Some(param) = e.params.get(p) else {
            continue;
        };
        uses.add("crate::catalog::PathParamInfo");
        uses.add("crate::catalog::PathParamKind");
        let rust = &param.rust;
        let doc = param.doc.trim();
        let kind = if param.kind.as_deref() == Some("interval") {
            quote!(PathParamKind::Interval)
        } else {
            quote!(PathParamKind::Segment)
        };
        path_params.push(quote!(PathParamInfo { name: #p, rust: #rust, doc: #doc, kind: #kind }));
    }
    let mut query_params = Vec::new();
    for q in &e.query {
        uses.add("crate::catalog::QueryParamInfo");
        let wire = &q.name;
        let rust = q.rust_name();
        let ty = &q.ty;
        let doc = q.doc.trim();
        let required = q.required;
        let values = match (q.ty.as_str(), &q.enum_type) {
            ("enum", Some(enum_type)) => {
                let ty = uses.ty(enum_type);
                quote!(Some(#ty::VALUES))
            }
            _ => quote!(None),
        };
        query_params.push(quote!(QueryParamInfo {
            name: #wire,
            rust: #rust,
            ty: #ty,
            doc: #doc,
            required: #required,
            values: #values,
        }));
    }
    uses.add("crate::catalog::BodyInfo");
    let body = match &e.body {
        None => quote!(BodyInfo::None),
        Some(BodySpec::Kind(kind)) if kind == "text" => {
            let doc = opt_str(e.body_doc.as_deref());
            quote!(BodyInfo::Text { doc: #doc })
        }
        Some(body) => {
            let doc = opt_str(e.body_doc.as_deref());
            let rust_type = match body {
                BodySpec::Typed { json } => opt_str(Some(json)),
                BodySpec::Kind(_) => quote!(None),
            };
            quote!(BodyInfo::Json { required: true, doc: #doc, rust_type: #rust_type })
        }
    };
    let body_id = match &e.body_id {
        Some(b) => {
            uses.add("crate::catalog::BodyIdInfo");
            let (field, answer, exists) = (&b.field, &b.answer, &b.exists);
            quote!(Some(BodyIdInfo { field: #field, answer: #answer, exists: #exists }))
        }
        None => quote!(None),
    };
    uses.add("crate::catalog::ResponseKind");
    let response = match &e.response {
        ResponseSpec::Typed { json } => quote!(ResponseKind::Json { rust_type: Some(#json) }),
        ResponseSpec::Kind(kind) => match kind.as_str() {
            "text" => quote!(ResponseKind::Text),
            "empty" => quote!(ResponseKind::Empty),
            "raw" => quote!(ResponseKind::Raw),
            "stream" => quote!(ResponseKind::Stream),
            _ => quote!(ResponseKind::Json { rust_type: None }),
        },
    };
    let answers = answers_of(e, uses);
    uses.add("druid_transport::Effect");
    let effect = effect_tokens(e.effect_kind());
    let audit = e.audit;
    let since = opt_str(e.since.as_deref());
    let deprecated = e.deprecated.is_some();
    let deprecation = opt_str(e.deprecated.as_deref());
    let extension = opt_str(e.extension.as_deref());
    let sql_field = opt_str(e.sql.as_deref());
    quote! {
        EndpointInfo {
            client: #client,
            service: #name,
            service_name: #service_name,
            group: #group_name,
            id: #id,
            operation: #operation,
            method: #method,
            path: #path,
            fixed_query: &[#(#fixed),*],
            summary: #summary,
            description: #description,
            docs: #docs,
            path_params: &[#(#path_params),*],
            query_params: &[#(#query_params),*],
            body: #body,
            body_id: #body_id,
            response: #response,
            answers: &[#(#answers),*],
            effect: #effect,
            audit: #audit,
            since: #since,
            deprecated: #deprecated,
            deprecation: #deprecation,
            extension: #extension,
            sql_field: #sql_field,
        }
    }
}

/// Renders the endpoint catalog: one entry per endpoint and client, in
/// spec order, with what a generic caller needs (parameters, body,
/// response, answers, effect, release), for `druid_api::catalog`.
pub fn render_catalog(spec: &Spec) -> TokenStream {
    let mut entries = Vec::new();
    let mut uses = Uses::default();
    for service in &spec.services {
        for group in spec.groups_of(service) {
            for e in &group.endpoints {
                entries.push(catalog_entry(spec, service, group, e, &mut uses));
            }
        }
    }
    let uses = uses.render();
    quote! {
        /// Every generated endpoint, per client, in spec order.
        pub static ENDPOINTS: &[crate::catalog::EndpointInfo] = {
            #uses
            &[#(#entries),*]
        };
    }
}

/// Renders everything: every shared group's module, every service module
/// and the catalog.
pub fn render(spec: &Spec) -> TokenStream {
    let groups = spec
        .groups
        .iter()
        .filter(|g| spec.is_shared(g))
        .map(|g| render_shared_group(spec, g));
    let services = spec.services.iter().map(|s| render_service(spec, s));
    let catalog = render_catalog(spec);
    let traits = spec.groups.iter().filter(|g| spec.is_shared(g)).map(|g| {
        let module = ident(&g.module_name());
        let name = ident(&g.trait_name());
        quote!(pub use crate::#module::#name;)
    });
    quote! {
        #(#groups)*
        #(#services)*
        #catalog

        /// The traits of the endpoint groups that several services serve.
        pub mod group_traits {
            #(#traits)*
        }
    }
}

/// The stamp on top of every snapshot.
pub const SNAPSHOT_STAMP: &str =
    "// @generated by `cargo xtask codegen` from api-spec/; do not edit by hand.";

/// The name of the catalog's snapshot (no module has it).
pub const CATALOG_SNAPSHOT: &str = "endpoint_catalog";

/// The checked-in snapshots: one file per service module and per shared
/// group module, named after the module, with its formatted code, and the
/// catalog ([`CATALOG_SNAPSHOT`]).
#[cfg(feature = "pretty")]
pub fn snapshots(spec: &Spec) -> Vec<(String, String)> {
    let groups = spec
        .groups
        .iter()
        .filter(|g| spec.is_shared(g))
        .map(|g| (g.module_name(), pretty(render_shared_group(spec, g))));
    let services = spec
        .services
        .iter()
        .map(|s| (s.module.clone(), pretty(render_service(spec, s))));
    let catalog = (CATALOG_SNAPSHOT.to_owned(), pretty(render_catalog(spec)));
    groups
        .chain(services)
        .chain(std::iter::once(catalog))
        .collect()
}

/// Code, formatted for a snapshot: stamped, with a blank line between items.
#[cfg(feature = "pretty")]
fn pretty(tokens: TokenStream) -> String {
    let code = match syn::parse2::<syn::File>(tokens) {
        Ok(file) => prettyplease::unparse(&file),
        Err(e) => format!("// the generated code does not parse: {e}\n"),
    };
    let mut out = format!("{SNAPSHOT_STAMP}\n\n");
    let mut previous = "";
    for line in code.lines() {
        let trimmed = line.trim_start();
        let starts_item = trimmed.starts_with("///")
            || trimmed.starts_with("#[")
            || trimmed.starts_with("pub ")
            || trimmed.starts_with("impl ")
            || trimmed.starts_with("fn ");
        if starts_item && (previous.trim() == "}" || previous.trim() == "};") {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        previous = line;
    }
    out
}

#[cfg(test)]
mod tests {
    //! Each spec feature: a TOML snippet, and the code it must produce
    //! (doc attributes left out; the snapshots show those).

    use super::*;
    use proc_macro2::TokenTree;

    /// A spec of one group, `g.toml`, served by the Overlord alone, or by
    /// the Overlord and the Broker (`shared`).
    fn spec(endpoints: &str, shared: bool) -> Spec {
        let dir = std::env::temp_dir().join(format!(
            "druid-codegen-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let broker = if shared {
            "[[service]]\nname = \"Broker\"\nclient = \"BrokerClient\"\nmodule = \"broker\"\ndescription = \"A Broker.\"\ngroups = [\"g\"]\n"
        } else {
            ""
        };
        std::fs::write(
            dir.join("services.toml"),
            format!(
                "druid_docs_release = \"37.0.0\"\ndocs_base = \"https://druid.apache.org/docs/latest/\"\n\n\
                 [[service]]\nname = \"Overlord\"\nclient = \"OverlordClient\"\nmodule = \"overlord\"\n\
                 description = \"The Overlord.\"\ngroups = [\"g\"]\n{broker}"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("g.toml"),
            format!("[group]\ntitle = \"G\"\nservice = \"Overlord\"\n\n{endpoints}"),
        )
        .unwrap();
        let spec = crate::load_checked(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        spec.unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// The tokens without `#[doc = ...]` attributes, as text.
    fn without_docs(tokens: TokenStream) -> String {
        fn strip(tokens: TokenStream) -> TokenStream {
            let mut out = Vec::new();
            let mut iter = tokens.into_iter().peekable();
            while let Some(tree) = iter.next() {
                match tree {
                    TokenTree::Punct(p) if p.as_char() == '#' => {
                        let is_doc = matches!(iter.peek(), Some(TokenTree::Group(g)) if {
                            let inner: Vec<String> =
                                g.stream().into_iter().take(2).map(|t| t.to_string()).collect();
                            inner == ["doc", "="]
                        });
                        if is_doc {
                            iter.next();
                        } else {
                            out.push(TokenTree::Punct(p));
                        }
                    }
                    TokenTree::Group(g) => {
                        let mut group = proc_macro2::Group::new(g.delimiter(), strip(g.stream()));
                        group.set_span(g.span());
                        out.push(TokenTree::Group(group));
                    }
                    other => out.push(other),
                }
            }
            out.into_iter().collect()
        }
        strip(tokens).to_string()
    }

    /// The method and builder of the only endpoint, and the imports they
    /// need.
    fn rendered(spec: &Spec) -> (String, String, String) {
        let group = &spec.groups[0];
        let home = if spec.is_shared(group) {
            Home::Trait(group)
        } else {
            Home::Client(&spec.services[0])
        };
        let mut uses = Uses::default();
        let r = render_endpoint(spec, home, &group.endpoints[0], &mut uses);
        (
            without_docs(r.method),
            without_docs(r.builder),
            uses.render().to_string(),
        )
    }

    /// Token texts compare without white space (`> >` and `>>` are the
    /// same tokens).
    fn same(actual: &str, expected: TokenStream) {
        let squash = |text: &str| text.split_whitespace().collect::<String>();
        assert_eq!(squash(actual), squash(&expected.to_string()), "\n{actual}");
    }

    const HEAD: &str = "[[endpoint]]\nid = \"task_status\"\nsummary = \"Returns a task's status.\"\ndocs = \"api-reference/tasks-api\"\n";

    #[test]
    fn a_typed_get_with_a_path_parameter() {
        let spec = spec(
            &format!(
                "{HEAD}method = \"GET\"\npath = \"/druid/indexer/v1/task/{{taskId}}/status\"\n\
                 params.taskId = {{ rust = \"task_id\", doc = \"the task.\" }}\n\
                 response = {{ json = \"models::TaskStatusResponse\" }}\n"
            ),
            false,
        );
        let (method, builder, uses) = rendered(&spec);
        same(
            &method,
            quote! {
                #[doc(alias = "GET /druid/indexer/v1/task/{taskId}/status")]
                pub async fn task_status(&self, task_id: &str) -> Result<models::TaskStatusResponse> {
                    let task_id = path_param("task_id", task_id)?;
                    let request = Request::new(Method::GET, format!("/druid/indexer/v1/task/{task_id}/status"))
                        .operation("overlord.task_status");
                    Ok(self.service.send(&request).await?.json()?)
                }
            },
        );
        assert_eq!(builder, "");
        same(
            &uses,
            quote! {
                use druid_transport::{Request, path_param};
                use druid_transport::http::Method;
                use crate::{Result, models};
            },
        );
    }

    #[test]
    fn intervals_in_paths_and_required_queries_of_every_type() {
        let spec = spec(
            &format!(
                "{HEAD}method = \"DELETE\"\npath = \"/x/{{interval}}\"\n\
                 params.interval = {{ rust = \"interval\", doc = \"the interval.\", kind = \"interval\" }}\n\
                 fixed_query = [\"simple\", \"mode=all\"]\n\
                 query = [\n\
                   {{ name = \"count\", type = \"int\", required = true, doc = \"n\" }},\n\
                   {{ name = \"ratio\", type = \"float\", required = true, doc = \"r\" }},\n\
                   {{ name = \"force\", type = \"bool\", required = true, doc = \"f\" }},\n\
                   {{ name = \"ids\", type = \"list\", required = true, doc = \"i\" }},\n\
                   {{ name = \"id\", type = \"repeated\", required = true, doc = \"i\" }},\n\
                   {{ name = \"state\", type = \"enum\", enum = \"models::TaskListState\", required = true, doc = \"s\" }},\n\
                   {{ name = \"createdTimeInterval\", type = \"underscore_interval\", required = true, doc = \"c\" }},\n\
                   {{ name = \"name\", type = \"string\", required = true, doc = \"n\" }},\n\
                 ]\nresponse = \"empty\"\n"
            ),
            false,
        );
        let (method, _, _) = rendered(&spec);
        same(
            &method,
            quote! {
                #[doc(alias = "DELETE /x/{interval}?simple&mode=all")]
                pub async fn task_status(
                    &self,
                    interval: &str,
                    count: i64,
                    ratio: f64,
                    force: bool,
                    ids: &[&str],
                    id: &[&str],
                    state: models::TaskListState,
                    created_time_interval: &str,
                    name: &str
                ) -> Result<()> {
                    let interval = interval_path_param("interval", interval)?;
                    let request = Request::new(Method::DELETE, format!("/x/{interval}"))
                        .operation("overlord.task_status")
                        .flag("simple")
                        .query("mode", "all")
                        .query("count", count)
                        .query("ratio", ratio)
                        .query("force", force)
                        .query("ids", ids.join(","))
                        .query_each("id", id)
                        .query("state", state)
                        .query("createdTimeInterval", created_time_interval.replace('/', "_"))
                        .query("name", name);
                    self.service.send(&request).await?;
                    Ok(())
                }
            },
        );
    }

    #[test]
    fn optional_queries_and_audit_make_a_builder() {
        let spec = spec(
            &format!(
                "{HEAD}method = \"POST\"\npath = \"/x\"\naudit = true\nbody = \"text\"\n\
                 query = [\n\
                   {{ name = \"full\", type = \"flag\", doc = \"all of it\" }},\n\
                   {{ name = \"max\", type = \"int\", doc = \"at most\" }},\n\
                   {{ name = \"ids\", type = \"list\", doc = \"these\" }},\n\
                   {{ name = \"id\", type = \"repeated\", doc = \"this\" }},\n\
                   {{ name = \"when\", type = \"underscore_interval\", doc = \"then\" }},\n\
                 ]\nresponse = \"text\"\n"
            ),
            false,
        );
        let (method, builder, _) = rendered(&spec);
        same(
            &method,
            quote! {
                #[doc(alias = "POST /x")]
                pub fn task_status(&self, body: &str) -> TaskStatusBuilder {
                    let base = Ok(Request::new(Method::POST, "/x").operation("overlord.task_status").text(body));
                    TaskStatusBuilder {
                        service: self.service.clone(),
                        base,
                        full: false,
                        max: None,
                        ids: None,
                        id: Vec::new(),
                        when: None,
                        author: None,
                        comment: None,
                    }
                }
            },
        );
        same(
            &builder,
            quote! {
                #[derive(Debug)]
                #[must_use = "the request is only sent when the builder is awaited or `send` is called"]
                pub struct TaskStatusBuilder {
                    service: Service,
                    base: Result<Request>,
                    full: bool,
                    max: Option<i64>,
                    ids: Option<Vec<String>>,
                    id: Vec<String>,
                    when: Option<String>,
                    author: Option<String>,
                    comment: Option<String>,
                }

                impl TaskStatusBuilder {
                    pub fn full(mut self, value: bool) -> Self {
                        self.full = value;
                        self
                    }
                    pub fn max(mut self, value: i64) -> Self {
                        self.max = Some(value);
                        self
                    }
                    pub fn ids(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
                        self.ids = Some(value.into_iter().map(Into::into).collect());
                        self
                    }
                    pub fn id(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
                        self.id = value.into_iter().map(Into::into).collect();
                        self
                    }
                    pub fn when(mut self, value: impl Into<String>) -> Self {
                        self.when = Some(value.into().replace('/', "_"));
                        self
                    }
                    pub fn author(mut self, author: impl Into<String>) -> Self {
                        self.author = Some(author.into());
                        self
                    }
                    pub fn comment(mut self, comment: impl Into<String>) -> Self {
                        self.comment = Some(comment.into());
                        self
                    }
                    pub fn into_request(self) -> Result<Request> {
                        Ok(self.base?
                            .flag_if("full", self.full)
                            .query_opt("max", self.max)
                            .query_opt("ids", self.ids.map(|values| values.join(",")))
                            .query_each("id", self.id)
                            .query_opt("when", self.when)
                            .header_opt("X-Druid-Author", self.author.as_deref())?
                            .header_opt("X-Druid-Comment", self.comment.as_deref())?)
                    }
                    pub async fn send(self) -> Result<String> {
                        let service = self.service.clone();
                        let request = self.into_request()?;
                        Ok(service.send(&request).await?.text()?)
                    }
                }

                impl IntoFuture for TaskStatusBuilder {
                    type Output = Result<String>;
                    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
                    fn into_future(self) -> Self::IntoFuture {
                        Box::pin(self.send())
                    }
                }
            },
        );
    }

    #[test]
    fn a_fallible_builder_base_is_built_in_a_closure() {
        let spec = spec(
            &format!(
                "{HEAD}method = \"POST\"\npath = \"/x/{{id}}\"\nparams.id = {{ rust = \"id\", doc = \"the id.\" }}\n\
                 body = {{ json = \"models::Spec\" }}\nquery = [{{ name = \"max\", type = \"int\", doc = \"n\" }}]\nresponse = \"raw\"\n"
            ),
            false,
        );
        let (method, builder, _) = rendered(&spec);
        same(
            &method,
            quote! {
                #[doc(alias = "POST /x/{id}")]
                pub fn task_status(&self, id: &str, body: &models::Spec) -> TaskStatusBuilder {
                    let base = (|| -> Result<Request> {
                        let id = path_param("id", id)?;
                        let request = Request::new(Method::POST, format!("/x/{id}"))
                            .operation("overlord.task_status")
                            .json(body)?;
                        Ok(request)
                    })();
                    TaskStatusBuilder { service: self.service.clone(), base, max: None, }
                }
            },
        );
        assert!(
            builder.contains(&quote!(pub async fn send(self) -> Result<Response>).to_string()),
            "{builder}"
        );
        assert!(
            builder.contains(&quote!(Ok(service.send(&request).await?)).to_string()),
            "{builder}"
        );
    }

    #[test]
    fn answers_map_statuses_and_bodies() {
        let cases = [
            (
                "response = { json = \"models::LeaderStatus\" }\nanswers = [{ status = 404, body = \"json\", is = \"value\" }]",
                quote! {
                    pub async fn task_status(&self) -> Result<models::LeaderStatus> {
                        let request = Request::new(Method::GET, "/x").operation("overlord.task_status");
                        const ANSWERS: &[Answer] = &[Answer::new(StatusMatch::Is(404), BodyMatch::Json, Outcome::Value), Answer::SUCCESS];
                        let request = request.answers(ANSWERS);
                        let (_, response) = self.service.execute(&request).await?.answer(ANSWERS)?;
                        Ok(response.json()?)
                    }
                },
            ),
            (
                "response = \"json\"\nanswers = [{ status = \"2xx\", body = \"empty\", is = \"none\" }, { status = \"2xx\", body = \"text\", is = \"none\" }]",
                quote! {
                    pub async fn task_status(&self) -> Result<Option<serde_json::Value>> {
                        let request = Request::new(Method::GET, "/x").operation("overlord.task_status");
                        const ANSWERS: &[Answer] = &[
                            Answer::new(StatusMatch::Class(2), BodyMatch::Empty, Outcome::None),
                            Answer::new(StatusMatch::Class(2), BodyMatch::Text, Outcome::None),
                            Answer::SUCCESS
                        ];
                        let request = request.answers(ANSWERS);
                        let (outcome, response) = self.service.execute(&request).await?.answer(ANSWERS)?;
                        Ok(match outcome {
                            Outcome::None => None,
                            _ => Some(response.json()?),
                        })
                    }
                },
            ),
            (
                "response = \"empty\"\nanswers = [{ status = \"2xx\", is = \"true\" }, { status = 503, is = \"false\" }]",
                quote! {
                    pub async fn task_status(&self) -> Result<bool> {
                        let request = Request::new(Method::GET, "/x").operation("overlord.task_status");
                        const ANSWERS: &[Answer] = &[
                            Answer::new(StatusMatch::Class(2), BodyMatch::Any, Outcome::True),
                            Answer::new(StatusMatch::Is(503), BodyMatch::Any, Outcome::False)
                        ];
                        let request = request.answers(ANSWERS);
                        let (outcome, _) = self.service.execute(&request).await?.answer(ANSWERS)?;
                        Ok(outcome == Outcome::True)
                    }
                },
            ),
            (
                "response = \"empty\"\nanswers = [{ status = 404, is = \"value\" }]",
                quote! {
                    pub async fn task_status(&self) -> Result<()> {
                        let request = Request::new(Method::GET, "/x").operation("overlord.task_status");
                        const ANSWERS: &[Answer] = &[Answer::new(StatusMatch::Is(404), BodyMatch::Any, Outcome::Value), Answer::SUCCESS];
                        let request = request.answers(ANSWERS);
                        let _ = self.service.execute(&request).await?.answer(ANSWERS)?;
                        Ok(())
                    }
                },
            ),
        ];
        for (response, expected) in cases {
            let spec = spec(
                &format!("{HEAD}method = \"GET\"\npath = \"/x\"\n{response}\n"),
                false,
            );
            let (method, _, uses) = rendered(&spec);
            let expected = quote! {
                #[doc(alias = "GET /x")]
                #expected
            };
            same(&method, expected);
            assert!(uses.contains("Answer , BodyMatch , Outcome"), "{uses}");
        }
    }

    #[test]
    fn the_catalog_says_everything_a_generic_caller_needs() {
        let full = spec(
            &format!(
                "{HEAD}method = \"POST\"\npath = \"/x/{{id}}/in/{{interval}}\"\n\
                 description = \"More.\"\n\
                 params.id = {{ rust = \"the_id\", doc = \"the id.\" }}\n\
                 params.interval = {{ rust = \"interval\", doc = \"when.\", kind = \"interval\" }}\n\
                 fixed_query = [\"simple\", \"mode=all\"]\n\
                 query = [\n\
                   {{ name = \"state\", type = \"enum\", enum = \"models::TaskListState\", required = true, doc = \"s\" }},\n\
                   {{ name = \"maxCount\", type = \"int\", required = true, doc = \"n\" }},\n\
                 ]\n\
                 effect = \"idempotent\"\n\
                 body_id = {{ field = \"id\", answer = \"task\", exists = \"already exists\" }}\n\
                 body = \"json\"\nbody_doc = \"the spec.\"\nsince = \"34.0.0\"\n\
                 deprecated = \"use y\"\n\
                 response = {{ json = \"models::TaskId\" }}\n\
                 answers = [{{ status = 404, body = \"json\", is = \"none\" }}]\n"
            ),
            false,
        );
        same(
            &without_docs(render_catalog(&full)),
            quote! {
                pub static ENDPOINTS: &[crate::catalog::EndpointInfo] = {
                    use druid_transport::{Answer, BodyMatch, Effect, Outcome, StatusMatch};
                    use crate::catalog::{
                        BodyIdInfo, BodyInfo, EndpointInfo, PathParamInfo, PathParamKind,
                        QueryParamInfo, ResponseKind
                    };
                    use crate::models;
                    &[EndpointInfo {
                        client: "OverlordClient",
                        service: "Overlord",
                        service_name: "overlord",
                        group: "g",
                        id: "task_status",
                        operation: "overlord.task_status",
                        method: "POST",
                        path: "/x/{id}/in/{interval}",
                        fixed_query: &[("simple", None), ("mode", Some("all"))],
                        summary: "Returns a task's status.",
                        description: Some("More."),
                        docs: "https://druid.apache.org/docs/latest/api-reference/tasks-api",
                        path_params: &[
                            PathParamInfo { name: "id", rust: "the_id", doc: "the id.", kind: PathParamKind::Segment },
                            PathParamInfo { name: "interval", rust: "interval", doc: "when.", kind: PathParamKind::Interval }
                        ],
                        query_params: &[
                            QueryParamInfo {
                                name: "state", rust: "state", ty: "enum", doc: "s", required: true,
                                values: Some(models::TaskListState::VALUES),
                            },
                            QueryParamInfo {
                                name: "maxCount", rust: "max_count", ty: "int", doc: "n", required: true,
                                values: None,
                            }
                        ],
                        body: BodyInfo::Json { required: true, doc: Some("the spec."), rust_type: None },
                        body_id: Some(BodyIdInfo { field: "id", answer: "task", exists: "already exists" }),
                        response: ResponseKind::Json { rust_type: Some("models::TaskId") },
                        answers: &[
                            Answer::new(StatusMatch::Is(404), BodyMatch::Json, Outcome::None),
                            Answer::SUCCESS
                        ],
                        effect: Effect::Idempotent,
                        audit: false,
                        since: Some("34.0.0"),
                        deprecated: true,
                        deprecation: Some("use y"),
                        extension: None,
                        sql_field: None,
                    }]
                };
            },
        );
        // A read with few parts names only what it uses.
        let plain = spec(
            &format!(
                "{HEAD}method = \"POST\"\neffect = \"read\"\npath = \"/x\"\nbody = \"text\"\naudit = true\nresponse = \"stream\"\n"
            ),
            false,
        );
        let catalog = render_catalog(&plain).to_string();
        for expected in [
            quote!(
                use druid_transport::Effect;
            ),
            quote!(
                use crate::catalog::{BodyInfo, EndpointInfo, ResponseKind};
            ),
            quote!(body: BodyInfo::Text { doc: None },),
            quote!(response: ResponseKind::Stream,),
            quote!(answers: &[],),
            quote!(effect: Effect::Read, audit: true,),
        ] {
            assert!(
                catalog.contains(&expected.to_string()),
                "{expected} in {catalog}"
            );
        }
        assert!(!catalog.contains("models"), "{catalog}");
    }

    #[test]
    fn deprecated_endpoints_say_so_to_the_compiler() {
        let spec = spec(
            &format!(
                "{HEAD}method = \"GET\"\npath = \"/x\"\nresponse = \"json\"\ndeprecated = \"use y\"\n"
            ),
            false,
        );
        let (method, _, _) = rendered(&spec);
        assert!(
            method.starts_with(
                &quote!(#[doc(alias = "GET /x")] #[deprecated(note = "use y")]).to_string()
            ),
            "{method}"
        );
    }

    #[test]
    fn shared_groups_are_trait_methods_and_builders() {
        let spec = spec(
            &format!(
                "{HEAD}method = \"GET\"\npath = \"/status/{{name}}\"\nparams.name = {{ rust = \"name\", doc = \"n.\" }}\nresponse = \"text\"\n\n\
                 [[endpoint]]\nid = \"tasks\"\nsummary = \"Lists.\"\ndocs = \"d\"\nmethod = \"GET\"\npath = \"/tasks\"\n\
                 query = [{{ name = \"max\", type = \"int\", doc = \"n\" }}]\nresponse = \"json\"\n"
            ),
            true,
        );
        assert!(spec.is_shared(&spec.groups[0]));
        let (method, _, _) = rendered(&spec);
        same(
            &method,
            quote! {
                #[doc(alias = "GET /status/{name}")]
                fn task_status(&self, name: &str) -> impl Future<Output = Result<String>> + Send {
                    async move {
                        let name = path_param("name", name)?;
                        let request = Request::new(Method::GET, format!("/status/{name}"))
                            .operation(format!("{}.task_status", self.service_name()));
                        Ok(self.service().send(&request).await?.text()?)
                    }
                }
            },
        );
        let group = without_docs(render_shared_group(&spec, &spec.groups[0]));
        assert!(
            group.starts_with("pub mod g { use std :: pin :: Pin ;"),
            "{group}"
        );
        assert!(
            group.contains("pub trait GApi : ServiceClient {"),
            "{group}"
        );
        assert!(
            group.contains(
                &quote!(
                    fn tasks(&self) -> TasksBuilder {
                        let base = Ok(Request::new(Method::GET, "/tasks")
                            .operation(format!("{}.tasks", self.service_name())));
                        TasksBuilder {
                            service: self.service().clone(),
                            base,
                            max: None,
                        }
                    }
                )
                .to_string()
            ),
            "{group}"
        );
        assert!(
            group.ends_with(
                &quote!(
                    pub use g::GApi;
                )
                .to_string()
            ),
            "{group}"
        );
        // Each client implements the trait in one line and has no copy of it.
        let overlord = without_docs(render_service(&spec, &spec.services[0]));
        assert!(
            overlord.contains(&quote!(impl GApi for OverlordClient {}).to_string()),
            "{overlord}"
        );
        assert!(
            overlord.contains(
                &quote!(
                    use crate::g::GApi;
                )
                .to_string()
            ),
            "{overlord}"
        );
        assert!(!overlord.contains("task_status"), "{overlord}");
        assert!(
            overlord.contains(&quote!(impl ServiceClient for OverlordClient { fn service_name(&self) -> &'static str { "overlord" } fn service(&self) -> &Service { &self.service } }).to_string()),
            "{overlord}"
        );
    }
}
