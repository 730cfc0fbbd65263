//! The proc-macro behind `druid-api`'s generated clients.
//!
//! A thin shell over `druid-api-codegen`: it reads the spec folder, checks
//! it, and either expands to the clients or to one `compile_error!` per
//! problem, each naming the file, the line and the entry. The spec files are
//! included with `include_bytes!`, so editing one rebuilds the clients.

use std::path::PathBuf;

use proc_macro::TokenStream;
use quote::quote;
use syn::{LitStr, parse_macro_input};

/// Generates every service client from a spec folder.
///
/// The path is relative to the file that invokes the macro (like
/// `include_str!`), falling back to the crate root:
///
/// ```text
/// druid_api_macros::generate_clients!("../api-spec");
/// ```
///
/// The expansion expects `druid_transport`, `serde` and `serde_json` to be
/// dependencies of the calling crate, a `catalog` module at the crate root
/// with the catalog's types (`EndpointInfo`, `PathParamInfo`, ...), and the
/// model types the spec names to be in scope.
#[proc_macro]
pub fn generate_clients(input: TokenStream) -> TokenStream {
    let literal = parse_macro_input!(input as LitStr);
    let dir = resolve(&literal.value());
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let includes: Vec<String> = druid_api_codegen::spec_files(&dir)
        .into_iter()
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    let track = quote! {
        const _: &[&[u8]] = &[#(include_bytes!(#includes)),*];
    };
    match druid_api_codegen::load_checked(&dir) {
        Ok(spec) => {
            let code = druid_api_codegen::render(&spec);
            quote!(#code #track).into()
        }
        Err(errors) => {
            let mut combined: Option<syn::Error> = None;
            for error in errors {
                let error = syn::Error::new(literal.span(), error.to_string());
                match &mut combined {
                    Some(all) => all.combine(error),
                    None => combined = Some(error),
                }
            }
            let errors = combined.map(|e| e.to_compile_error());
            quote!(#errors #track).into()
        }
    }
}

fn resolve(relative: &str) -> PathBuf {
    let path = PathBuf::from(relative);
    if path.is_absolute() {
        return path;
    }
    if let Some(file) = proc_macro::Span::call_site().local_file()
        && let Some(parent) = file.parent()
    {
        let candidate = parent.join(&path);
        if candidate.exists() {
            return candidate;
        }
    }
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    root.join(path)
}
