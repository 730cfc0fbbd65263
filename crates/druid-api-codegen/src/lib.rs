//! Reads, checks and renders the declarative endpoint spec of `druid-api`.
//!
//! The spec lives in `api-spec/`: `services.toml` lists the services and the
//! endpoint groups each serves, and one TOML file per group lists its
//! endpoints. This crate is plain Rust (no `proc_macro` API), shared by the
//! `druid-api-macros` proc-macro, `cargo xtask codegen` and the tests:
//!
//! - [`load`] reads the files, [`validate`] checks them and reports every
//!   problem at once, with file, line and entry;
//! - [`render`] turns the spec into the client code; [`pretty_service`]
//!   formats one service for the checked-in snapshots;
//! - [`endpoints_markdown`] writes the table of `api-spec/ENDPOINTS.md`.

mod markdown;
mod render;
mod spec;
mod validate;

pub use markdown::endpoints_markdown;
pub use render::{
    SNAPSHOT_STAMP, builder_name, has_builder, pretty_service, render, render_catalog,
    render_service,
};
pub use spec::{
    BodySpec, Endpoint, Group, Omitted, PathParam, QueryParam, ResponseSpec, SERVICES_FILE,
    Service, Spec, SpecError, load, pascal_case, snake_case, spec_files,
};
pub use validate::validate;

/// Loads and validates the spec in `dir`.
pub fn load_checked(dir: &std::path::Path) -> Result<Spec, Vec<SpecError>> {
    let spec = load(dir)?;
    validate(&spec)?;
    Ok(spec)
}
