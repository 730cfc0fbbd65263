//! Reads, checks and renders the declarative endpoint spec of `druid-api`.
//!
//! The spec lives in `api-spec/`: `services.toml` lists the services and the
//! endpoint groups each serves, and one TOML file per group lists its
//! endpoints. This crate is plain Rust (no `proc_macro` API), shared by the
//! `druid-api-macros` proc-macro, `cargo xtask codegen` and the tests:
//!
//! - [`load`] reads the files, [`validate`] checks them and reports every
//!   problem at once, with file, line and entry;
//! - [`render`] turns the spec into the client code: a module per service
//!   with its client, and a module per group that several services serve,
//!   with a trait that holds the group's endpoints once, and the endpoint
//!   catalog ([`render_catalog`]); `snapshots` (feature `pretty`) formats
//!   each module and the catalog for the checked-in snapshots;
//! - [`endpoints_markdown`] writes the table of `api-spec/ENDPOINTS.md`.
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `pretty` | no | `snapshots`: the generated code formatted with `prettyplease` (needs `syn`'s `full`); the proc-macro does without it |

mod markdown;
mod render;
mod spec;
mod validate;

pub use markdown::endpoints_markdown;
#[cfg(feature = "pretty")]
pub use render::snapshots;
pub use render::{
    CATALOG_SNAPSHOT, SNAPSHOT_STAMP, builder_name, has_builder, render, render_catalog,
    render_service, render_shared_group,
};
pub use spec::{
    AnswerSpec, BodyId, BodySpec, EffectKind, Endpoint, Group, Omitted, PathParam, QueryParam,
    ResponseSpec, SERVICES_FILE, Service, Spec, SpecError, StatusSpec, load, pascal_case,
    snake_case, spec_files,
};
pub use validate::validate;

#[doc(hidden)]
pub use spec::load_with;

/// Loads and validates the spec in `dir`.
pub fn load_checked(dir: &std::path::Path) -> Result<Spec, Vec<SpecError>> {
    let spec = load(dir)?;
    validate(&spec)?;
    Ok(spec)
}
