//! The endpoint spec reader: arbitrary TOML through the codegen's load,
//! validate and render, as the proc-macro runs them.
//!
//! The input is the spec folder as one text: `services.toml` first, then
//! each other file after a line `%%% <file name>`:
//!
//! ```text
//! druid_docs_release = "37.0.0"
//! ...
//! %%% status.toml
//! [group]
//! ...
//! ```
//!
//! Invariants: no panic; a spec that does not load or validate has at least
//! one error, each with a file name; a spec that validates renders to code
//! that parses as a Rust file (what the proc-macro expands to), and to the
//! endpoint table.

#![no_main]

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fn files(text: &str) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut name = druid_api_codegen::SERVICES_FILE.to_owned();
    let mut content = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.strip_prefix("%%% ") {
            files.insert(std::mem::take(&mut name), std::mem::take(&mut content));
            name = next.trim().to_owned();
        } else {
            content.push_str(line);
        }
    }
    files.insert(name, content);
    files
}

fn check_errors(errors: &[druid_api_codegen::SpecError]) {
    assert!(!errors.is_empty(), "a spec failed with no error");
    for error in errors {
        assert!(!error.file.is_empty(), "an error names no file: {error}");
        let _ = error.to_string();
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files = files(&text);
    let read = |name: &str| -> io::Result<String> {
        files
            .get(name)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    };
    let spec = match druid_api_codegen::load_with(Path::new("api-spec"), &read) {
        Ok(spec) => spec,
        Err(errors) => return check_errors(&errors),
    };
    if let Err(errors) = druid_api_codegen::validate(&spec) {
        return check_errors(&errors);
    }
    let code = druid_api_codegen::render(&spec);
    if let Err(e) = syn::parse2::<syn::File>(code) {
        panic!("a spec that validates renders code that does not parse: {e}");
    }
    let _ = druid_api_codegen::endpoints_markdown(&spec);
    for endpoint in spec.groups.iter().flat_map(|g| &g.endpoints) {
        let _ = (
            druid_api_codegen::has_builder(endpoint),
            druid_api_codegen::builder_name(endpoint),
            spec.docs_url(endpoint),
            endpoint.placeholders(),
            endpoint.fixed_pairs(),
        );
    }
});
