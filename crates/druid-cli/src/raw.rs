//! `druid raw`: any method and path on a service, for what the spec lacks.

use std::io::IsTerminal as _;
use std::path::Path;

use druid_api::transport::Request;
use druid_api::transport::http::Method;
use druid_api::{Client, Service};
use serde_json::Value;

use crate::args::{RawArgs, Target};
use crate::fail::Failure;
use crate::tasks::print_text;

/// The service of `--service`.
async fn service(client: &Client, target: Target) -> Result<Service, Failure> {
    if target == Target::Router {
        return Ok(client.service().clone());
    }
    let cluster = client.cluster().await?;
    Ok(match target {
        Target::Router => client.service().clone(),
        Target::Coordinator => cluster.coordinator()?.service().clone(),
        Target::Overlord => cluster.overlord()?.service().clone(),
        Target::Broker => cluster.broker()?.service().clone(),
    })
}

/// The body of `--data`: JSON text, `@FILE` or `@-`.
fn body(data: &str) -> Result<Value, Failure> {
    let (text, from) = match data.strip_prefix('@') {
        Some(path) => (crate::sql::read_input(Path::new(path))?, path.to_owned()),
        None => (data.to_owned(), "--data".to_owned()),
    };
    serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{from} is not JSON: {e}")))
}

/// `druid raw`.
pub(crate) async fn run(client: &Client, args: &RawArgs) -> Result<(), Failure> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::usage(format!("{:?} is not an HTTP method", args.method)))?;
    if !args.path.starts_with('/') {
        return Err(Failure::usage(format!(
            "the path {:?} must start with /, e.g. /status",
            args.path
        )));
    }
    let mut request = Request::new(method, args.path.clone());
    if let Some(data) = &args.data {
        request = request.json(&body(data)?)?;
    }
    let service = service(client, args.service).await?;
    let response = service.send(&request).await?;
    let text = String::from_utf8_lossy(response.body()).into_owned();
    // JSON is indented on a terminal; anything else is printed as it came,
    // its control characters shown as escapes.
    let shown = match serde_json::from_str::<Value>(&text) {
        Ok(value) if std::io::stdout().is_terminal() => {
            crate::escape::json(&serde_json::to_string_pretty(&value).unwrap_or(text)).into_owned()
        }
        Ok(_) => crate::escape::json(&text).into_owned(),
        Err(_) => crate::escape::text(&text).into_owned(),
    };
    if shown.is_empty() {
        return Ok(());
    }
    print_text(&shown)
}
