//! Renders a checked spec as Rust code.
//!
//! The generated code builds a `druid_transport::Request` per call and hands
//! it to the service's transport; it does no I/O of its own.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::spec::{
    BodySpec, Endpoint, Group, QueryParam, ResponseSpec, Service, Spec, pascal_case,
};

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

fn ty(text: &str) -> TokenStream {
    match syn::parse_str::<syn::Type>(text) {
        Ok(parsed) => quote!(#parsed),
        Err(_) => {
            let message = format!("`{text}` is not a Rust type");
            quote!(compile_error!(#message))
        }
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

/// What a call answers.
struct Answer {
    /// The `Ok` type.
    ty: TokenStream,
    /// How to turn `response` (already checked for status) into it.
    decode: TokenStream,
    /// Text for the docs.
    doc: String,
}

fn answer(endpoint: &Endpoint) -> Answer {
    let also_ok = &endpoint.also_ok;
    let send = quote! { service.send(&request, &[#(#also_ok),*]).await? };
    match &endpoint.response {
        ResponseSpec::Typed {
            json,
            optional: false,
            ..
        } => {
            let t = ty(json);
            Answer {
                ty: t.clone(),
                decode: quote! { #send.json::<#t>() },
                doc: format!(
                    "[`Error::Decode`](crate::Error::Decode) if the body is not a `{json}`"
                ),
            }
        }
        ResponseSpec::Typed {
            json,
            optional: true,
            none_on_text,
        } => {
            let t = ty(json);
            let (decode, doc) = if *none_on_text {
                (
                    quote! { #send.json_or_text_opt::<#t>() },
                    format!(
                        "[`Error::Decode`](crate::Error::Decode) if the body is not a `{json}`; an empty answer, or a plain-text message instead of JSON, is `None`"
                    ),
                )
            } else {
                (
                    quote! { #send.json_opt::<#t>() },
                    format!(
                        "[`Error::Decode`](crate::Error::Decode) if the body is not a `{json}`; an empty answer is `None`"
                    ),
                )
            };
            Answer {
                ty: quote!(::core::option::Option<#t>),
                decode,
                doc,
            }
        }
        ResponseSpec::Kind(kind) => match kind.as_str() {
            "text" => Answer {
                ty: quote!(::std::string::String),
                decode: quote! { #send.text() },
                doc: "[`Error::Decode`](crate::Error::Decode) if the body is not UTF-8".to_owned(),
            },
            "empty" => Answer {
                ty: quote!(()),
                decode: quote! { { #send; Ok(()) } },
                doc: "the body, if any, is ignored".to_owned(),
            },
            "raw" => Answer {
                ty: quote!(::druid_transport::Response),
                decode: quote! { service.send(&request, &[#(#also_ok),*]).await },
                doc: "the whole response is returned: status, headers and body".to_owned(),
            },
            "ready" => Answer {
                ty: quote!(bool),
                decode: quote! {{
                    let response = service.execute(&request).await?;
                    if response.status().is_success() {
                        Ok(true)
                    } else if response.status().as_u16() == 503 {
                        Ok(false)
                    } else {
                        Err(response.into_api_error())
                    }
                }},
                doc: "`503` (not ready) is `Ok(false)`, not an error".to_owned(),
            },
            _ => Answer {
                ty: quote!(::serde_json::Value),
                decode: quote! { #send.json::<::serde_json::Value>() },
                doc: "[`Error::Decode`](crate::Error::Decode) if the body is not JSON".to_owned(),
            },
        },
    }
}

/// How a query parameter looks in Rust.
struct QueryRust {
    name: Ident,
    /// The argument type of a required parameter.
    arg_ty: TokenStream,
    /// The field type in a builder.
    field_ty: TokenStream,
    /// The setter's argument type.
    setter_ty: TokenStream,
    /// The setter's conversion of `value` into the field.
    setter_store: TokenStream,
    /// Adds a required argument `name` to `request`.
    add_required: TokenStream,
    /// Adds the builder field `self.name` to `request`.
    add_optional: TokenStream,
}

fn query_rust(q: &QueryParam) -> QueryRust {
    let name = ident(&q.rust_name());
    let wire = &q.name;
    match q.ty.as_str() {
        "int" | "float" | "bool" => {
            let t = match q.ty.as_str() {
                "int" => quote!(i64),
                "float" => quote!(f64),
                _ => quote!(bool),
            };
            QueryRust {
                arg_ty: t.clone(),
                field_ty: quote!(::core::option::Option<#t>),
                setter_ty: t,
                setter_store: quote!(::core::option::Option::Some(value)),
                add_required: quote!(request = request.query(#wire, #name);),
                add_optional: quote!(request = request.query_opt(#wire, self.#name);),
                name,
            }
        }
        "flag" => QueryRust {
            arg_ty: quote!(bool),
            field_ty: quote!(bool),
            setter_ty: quote!(bool),
            setter_store: quote!(value),
            add_required: quote!(request = request.flag_if(#wire, #name);),
            add_optional: quote!(request = request.flag_if(#wire, self.#name);),
            name,
        },
        "list" => QueryRust {
            arg_ty: quote!(&[&str]),
            field_ty: quote!(::core::option::Option<::std::vec::Vec<::std::string::String>>),
            setter_ty: quote!(
                impl ::core::iter::IntoIterator<
                    Item = impl ::core::convert::Into<::std::string::String>,
                >
            ),
            setter_store: quote!(::core::option::Option::Some(
                value.into_iter().map(::core::convert::Into::into).collect()
            )),
            add_required: quote!(request = request.query(#wire, #name.join(","));),
            add_optional: quote!(if let ::core::option::Option::Some(values) = &self.#name {
                request = request.query(#wire, values.join(","));
            }),
            name,
        },
        "repeated" => QueryRust {
            arg_ty: quote!(&[&str]),
            field_ty: quote!(::std::vec::Vec<::std::string::String>),
            setter_ty: quote!(
                impl ::core::iter::IntoIterator<
                    Item = impl ::core::convert::Into<::std::string::String>,
                >
            ),
            setter_store: quote!(value.into_iter().map(::core::convert::Into::into).collect()),
            add_required: quote!(for value in #name {
                request = request.query(#wire, value);
            }),
            add_optional: quote!(for value in &self.#name {
                request = request.query(#wire, value);
            }),
            name,
        },
        "underscore_interval" => QueryRust {
            arg_ty: quote!(&str),
            field_ty: quote!(::core::option::Option<::std::string::String>),
            setter_ty: quote!(impl ::core::convert::Into<::std::string::String>),
            setter_store: quote!(::core::option::Option::Some(value.into().replace('/', "_"))),
            add_required: quote!(request = request.query(#wire, #name.replace('/', "_"));),
            add_optional: quote!(request = request.query_opt(#wire, self.#name.as_deref());),
            name,
        },
        _ => QueryRust {
            arg_ty: quote!(&str),
            field_ty: quote!(::core::option::Option<::std::string::String>),
            setter_ty: quote!(impl ::core::convert::Into<::std::string::String>),
            setter_store: quote!(::core::option::Option::Some(value.into())),
            add_required: quote!(request = request.query(#wire, #name);),
            add_optional: quote!(request = request.query_opt(#wire, self.#name.as_deref());),
            name,
        },
    }
}

fn method_tokens(method: &str) -> TokenStream {
    let m = ident(method);
    quote!(::druid_transport::http::Method::#m)
}

/// Whether an endpoint gets a builder (it has optional parts).
pub fn has_builder(endpoint: &Endpoint) -> bool {
    endpoint.audit || endpoint.query.iter().any(|q| !q.required)
}

/// The builder type name of an endpoint.
pub fn builder_name(endpoint: &Endpoint) -> String {
    format!("{}Builder", pascal_case(&endpoint.id))
}

fn endpoint_doc(
    spec: &Spec,
    service: &Service,
    group: &Group,
    e: &Endpoint,
    answer_doc: &str,
) -> Vec<TokenStream> {
    let mut text = String::new();
    text.push_str(e.summary.trim());
    text.push_str("\n\n");
    if let Some(description) = &e.description {
        text.push_str(description.trim());
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "Sends `{} {}` to the {}.\n",
        e.method,
        e.path_with_fixed_query(),
        service.name
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
    text.push_str("\n# Errors\n\n[`Error::Api`](crate::Error::Api) for a non-success status");
    if !e.also_ok.is_empty() {
        let list: Vec<String> = e.also_ok.iter().map(u16::to_string).collect();
        text.push_str(&format!(" other than {} (an answer here)", list.join(", ")));
    }
    text.push_str(&format!("; {answer_doc}"));
    if !e.params.is_empty() {
        text.push_str(
            "; [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty path parameter",
        );
    }
    text.push_str("; the transport errors otherwise.\n");
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
    if let Some(extension) = &group.extension {
        notes.push(format!("Needs the `{extension}` extension on the cluster."));
    }
    if let Some(since) = &e.since {
        notes.push(format!("Since Druid {since}."));
    }
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

fn render_endpoint(spec: &Spec, service: &Service, group: &Group, e: &Endpoint) -> Rendered {
    let client = ident(&service.client);
    let fn_name = ident(&e.id);
    let operation = format!("{}.{}", service.module, e.id);
    let method = method_tokens(&e.method);
    let answer = answer(e);
    let answer_ty = &answer.ty;
    let decode = &answer.decode;
    let docs = endpoint_doc(spec, service, group, e, &answer.doc);
    let alias = format!("{} {}", e.method, e.path_with_fixed_query());
    let deprecated = e
        .deprecated
        .as_ref()
        .map(|note| quote!(#[deprecated(note = #note)]));

    // Path: a format string and its encoded arguments.
    let mut format = String::new();
    let mut path_args = Vec::new();
    let mut rest = e.path.as_str();
    let mut args = Vec::new();
    while let Some(start) = rest.find('{') {
        format.push_str(&rest[..start].replace('{', "{{").replace('}', "}}"));
        let after = &rest[start + 1..];
        let end = after.find('}').unwrap_or(after.len());
        let placeholder = &after[..end];
        if let Some(param) = e.params.get(placeholder) {
            let name = ident(&param.rust);
            let rust = &param.rust;
            let encode = if param.kind.as_deref() == Some("interval") {
                quote!(::druid_transport::interval_path_param(#rust, #name)?)
            } else {
                quote!(::druid_transport::path_param(#rust, #name)?)
            };
            path_args.push(encode);
            args.push(quote!(#name: &str));
        }
        format.push_str("{}");
        rest = after.get(end + 1..).unwrap_or("");
    }
    format.push_str(&rest.replace('{', "{{").replace('}', "}}"));
    let path_expr = if path_args.is_empty() {
        quote!(#format)
    } else {
        quote!(::std::format!(#format, #(#path_args),*))
    };

    let mut add_required = Vec::new();
    for (key, value) in e.fixed_pairs() {
        add_required.push(match value {
            Some(value) => quote!(request = request.query(#key, #value);),
            None => quote!(request = request.flag(#key);),
        });
    }
    for q in e.query.iter().filter(|q| q.required) {
        let r = query_rust(q);
        let name = &r.name;
        let arg_ty = &r.arg_ty;
        args.push(quote!(#name: #arg_ty));
        add_required.push(r.add_required);
    }
    let add_body = match &e.body {
        None => quote!(),
        Some(BodySpec::Kind(kind)) if kind == "text" => {
            args.push(quote!(body: &str));
            quote!(let request = request.text(body);)
        }
        Some(BodySpec::Kind(_)) => {
            args.push(quote!(body: &(impl ::serde::Serialize + ?Sized)));
            quote!(let request = request.json(body)?;)
        }
        Some(BodySpec::Typed { json }) => {
            let t = ty(json);
            args.push(quote!(body: &#t));
            quote!(let request = request.json(body)?;)
        }
    };
    let build_base = quote! {
        #[allow(unused_mut)]
        let mut request = ::druid_transport::Request::new(#method, #path_expr).operation(#operation);
        #(#add_required)*
        #add_body
    };

    if !has_builder(e) {
        let method_tokens = quote! {
            #(#docs)*
            #[doc(alias = #alias)]
            #deprecated
            pub async fn #fn_name(&self, #(#args),*) -> ::druid_transport::Result<#answer_ty> {
                let request = {
                    #build_base
                    request
                };
                let service = &self.service;
                #decode
            }
        };
        return Rendered {
            method: method_tokens,
            builder: quote!(),
        };
    }

    let builder = format_ident!("{}", builder_name(e));
    let optional: Vec<(QueryRust, &QueryParam)> = e
        .query
        .iter()
        .filter(|q| !q.required)
        .map(|q| (query_rust(q), q))
        .collect();
    let field_names: Vec<&Ident> = optional.iter().map(|(r, _)| &r.name).collect();
    let field_types: Vec<&TokenStream> = optional.iter().map(|(r, _)| &r.field_ty).collect();
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
                author: ::core::option::Option<::std::string::String>,
                comment: ::core::option::Option<::std::string::String>,
            },
            quote! { author: ::core::option::Option::None, comment: ::core::option::Option::None, },
            quote! {
                /// Records who made the change in Druid's audit history (`X-Druid-Author`).
                pub fn author(mut self, author: impl ::core::convert::Into<::std::string::String>) -> Self {
                    self.author = ::core::option::Option::Some(author.into());
                    self
                }
                /// Records why the change was made in Druid's audit history (`X-Druid-Comment`).
                pub fn comment(mut self, comment: impl ::core::convert::Into<::std::string::String>) -> Self {
                    self.comment = ::core::option::Option::Some(comment.into());
                    self
                }
            },
            quote! {
                if let ::core::option::Option::Some(author) = &self.author {
                    request = request.header("X-Druid-Author", author)?;
                }
                if let ::core::option::Option::Some(comment) = &self.comment {
                    request = request.header("X-Druid-Comment", comment)?;
                }
            },
        )
    } else {
        (quote!(), quote!(), quote!(), quote!())
    };
    let init_fields = optional.iter().map(|(r, q)| {
        let name = &r.name;
        match q.ty.as_str() {
            "flag" => quote!(#name: false,),
            "repeated" => quote!(#name: ::std::vec::Vec::new(),),
            _ => quote!(#name: ::core::option::Option::None,),
        }
    });
    let builder_doc = doc_lines(&format!(
        "The options of [`{client}::{id}`]: set them, then `.await` the builder or call [`send`]({b}::send).",
        client = service.client,
        id = e.id,
        b = builder_name(e),
    ));
    let method_tokens = quote! {
        #(#docs)*
        #[doc(alias = #alias)]
        #deprecated
        pub fn #fn_name(&self, #(#args),*) -> #builder<'_> {
            let base = (|| -> ::druid_transport::Result<::druid_transport::Request> {
                #build_base
                Ok(request)
            })();
            #builder {
                client: self,
                base,
                #(#init_fields)*
                #audit_init
            }
        }
    };
    let builder_tokens = quote! {
        #(#builder_doc)*
        #[derive(Debug)]
        #[must_use = "the request is only sent when the builder is awaited or `send` is called"]
        pub struct #builder<'a> {
            client: &'a #client,
            base: ::druid_transport::Result<::druid_transport::Request>,
            #(#field_names: #field_types,)*
            #audit_fields
        }

        impl<'a> #builder<'a> {
            #(#setters)*
            #audit_setters

            /// The request as it will be sent, without sending it.
            pub fn into_request(self) -> ::druid_transport::Result<::druid_transport::Request> {
                #[allow(unused_mut)]
                let mut request = self.base?;
                #(#adds)*
                #audit_add
                Ok(request)
            }

            /// Sends the request and decodes the answer.
            pub async fn send(self) -> ::druid_transport::Result<#answer_ty> {
                let service = &self.client.service;
                let request = self.into_request()?;
                #decode
            }
        }

        impl<'a> ::core::future::IntoFuture for #builder<'a> {
            type Output = ::druid_transport::Result<#answer_ty>;
            type IntoFuture = ::core::pin::Pin<::std::boxed::Box<dyn ::core::future::Future<Output = Self::Output> + ::core::marker::Send + 'a>>;
            fn into_future(self) -> Self::IntoFuture {
                ::std::boxed::Box::pin(self.send())
            }
        }
    };
    Rendered {
        method: method_tokens,
        builder: builder_tokens,
    }
}

/// Renders one service's module: the client and its builders.
pub fn render_service(spec: &Spec, service: &Service) -> TokenStream {
    let module = ident(&service.module);
    let client = ident(&service.client);
    let mut methods = Vec::new();
    let mut builders = Vec::new();
    let mut index = String::new();
    for group in spec.groups_of(service) {
        index.push_str(&format!("\n## {}\n\n", group.title));
        if let Some(extension) = &group.extension {
            index.push_str(&format!("Needs the `{extension}` extension.\n\n"));
        }
        for e in &group.endpoints {
            let rendered = render_endpoint(spec, service, group, e);
            methods.push(rendered.method);
            builders.push(rendered.builder);
            let deprecated = if e.deprecated.is_some() {
                " (deprecated)"
            } else {
                ""
            };
            index.push_str(&format!(
                "- [`{id}`]({client}::{id}): `{method} {path}`{deprecated}\n",
                id = e.id,
                client = service.client,
                method = e.method,
                path = e.path_with_fixed_query(),
            ));
        }
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
    quote! {
        #(#module_doc)*
        pub mod #module {
            #[allow(unused_imports)]
            use super::*;

            #(#client_doc)*
            #[derive(Clone, Debug)]
            pub struct #client {
                service: ::druid_transport::Service,
            }

            impl #client {
                /// A client for the service behind `service`.
                pub fn new(service: ::druid_transport::Service) -> Self {
                    Self { service }
                }

                /// The service handle: base URL, transport, and generic
                /// `get_json`/`post_json`/`delete` for endpoints the spec lacks.
                pub fn service(&self) -> &::druid_transport::Service {
                    &self.service
                }

                /// The base URL this client talks to.
                pub fn base_url(&self) -> &::druid_transport::url::Url {
                    self.service.base_url()
                }

                #(#methods)*
            }

            #(#builders)*
        }
        pub use #module::#client;
    }
}

/// Renders the endpoint catalog: one entry per endpoint and client.
pub fn render_catalog(spec: &Spec) -> TokenStream {
    let mut entries = Vec::new();
    for service in &spec.services {
        for group in spec.groups_of(service) {
            for e in &group.endpoints {
                let client = &service.client;
                let name = &service.name;
                let id = &e.id;
                let method = &e.method;
                let path = &e.path;
                let summary = &e.summary;
                let group_name = &group.name;
                let deprecated = e.deprecated.is_some();
                let side_effect_free = e.method == "GET";
                entries.push(quote! {
                    crate::catalog::EndpointInfo {
                        client: #client,
                        service: #name,
                        group: #group_name,
                        id: #id,
                        method: #method,
                        path: #path,
                        summary: #summary,
                        deprecated: #deprecated,
                        side_effect_free: #side_effect_free,
                    }
                });
            }
        }
    }
    quote! {
        /// Every generated endpoint, per client, in spec order.
        pub static ENDPOINTS: &[crate::catalog::EndpointInfo] = &[#(#entries),*];
    }
}

/// Renders everything: every service module and the catalog.
pub fn render(spec: &Spec) -> TokenStream {
    let services = spec.services.iter().map(|s| render_service(spec, s));
    let catalog = render_catalog(spec);
    quote! {
        #(#services)*
        #catalog
    }
}

/// The stamp on top of every snapshot.
pub const SNAPSHOT_STAMP: &str =
    "// @generated by `cargo xtask codegen` from api-spec/; do not edit by hand.";

/// One service's code, formatted, for a checked-in snapshot: stamped, with
/// a blank line between items.
pub fn pretty_service(spec: &Spec, service: &Service) -> String {
    let tokens = render_service(spec, service);
    let code = match syn::parse2::<syn::File>(tokens) {
        Ok(file) => prettyplease::unparse(&file),
        Err(e) => format!("// the generated code does not parse: {e}\n"),
    };
    let mut out = format!("{SNAPSHOT_STAMP}\n\n");
    let mut previous = "";
    for line in code.lines() {
        let trimmed = line.trim_start();
        let starts_item =
            trimmed.starts_with("///") || trimmed.starts_with("#[") || trimmed.starts_with("pub ");
        if starts_item && (previous.trim() == "}" || previous.trim() == "};") {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        previous = line;
    }
    out
}
