//! `druid api SERVICE ENDPOINT [ARGS]`: every endpoint of the spec, with
//! arguments, flags and help made at run time from the library's catalog,
//! so that a new spec entry is a new command with no code here.

use std::path::Path;

use clap::{Arg, ArgAction, ArgMatches};
use druid_api::catalog::{self, BodyInfo, Call, EndpointInfo, ResponseKind};
use druid_api::{Client, ServerType};
use serde_json::Value;

use crate::args::{ApiArgs, Format};
use crate::fail::Failure;
use crate::tasks::{print_json, print_network_text, print_rows};

/// `task_status` as the command line spells it: `task-status`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c == '_' {
            out.push('-');
        } else if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// What an endpoint does to the cluster, for its help.
fn effect_text(e: &EndpointInfo) -> &'static str {
    if !e.effect.changes_state() {
        "reads (retried after a transient failure)"
    } else if e.effect.is_repeatable() {
        "changes the cluster; safe to repeat, so retried; refused with --read-only"
    } else {
        "changes the cluster; sent once; refused with --read-only"
    }
}

/// The endpoint's arguments as a clap command: path parameters in order,
/// query parameters as options, the body as `--data`.
pub(crate) fn endpoint_command(e: &'static EndpointInfo) -> clap::Command {
    let mut about = String::new();
    if let Some(description) = e.description {
        about.push_str(description);
        about.push_str("\n\n");
    }
    about.push_str(&format!(
        "{} {} on the {}; it {}.",
        e.method,
        e.path,
        e.service,
        effect_text(e)
    ));
    if let Some(since) = e.since {
        about.push_str(&format!(" Needs Druid {since} or later."));
    }
    if let Some(extension) = e.extension {
        about.push_str(&format!(" Needs the {extension} extension."));
    }
    if let Some(instead) = e.deprecation {
        about.push_str(&format!(" Deprecated: {instead}"));
    }
    about.push_str(&format!("\nDocs: {}", e.docs));
    let mut command = clap::Command::new(kebab(e.id))
        .about(e.summary)
        .long_about(format!("{}\n\n{about}", e.summary));
    for p in e.path_params {
        command = command.arg(
            Arg::new(p.name)
                .required(true)
                .value_name(kebab(p.rust).to_uppercase())
                .help(p.doc),
        );
    }
    for q in e.query_params {
        let mut arg = Arg::new(q.name)
            .long(kebab(q.rust))
            .help(q.doc)
            .required(q.required);
        arg = match q.ty {
            "flag" => arg.action(ArgAction::SetTrue),
            "list" | "repeated" => arg.action(ArgAction::Append).value_name("VALUE"),
            _ => arg.action(ArgAction::Set).value_name(q.ty.to_uppercase()),
        };
        if let Some(values) = q.values {
            arg = arg.value_parser(clap::builder::PossibleValuesParser::new(
                values.iter().copied(),
            ));
        }
        command = command.arg(arg);
    }
    match e.body {
        BodyInfo::Json { required, doc, .. } => {
            command = command.arg(
                Arg::new("data")
                    .long("data")
                    .short('d')
                    .value_name("JSON")
                    .required(required)
                    .help(format!(
                        "the JSON body: text, @FILE or @- for standard input{}",
                        doc.map(|d| format!("; {d}")).unwrap_or_default()
                    )),
            );
        }
        BodyInfo::Text { doc, .. } => {
            command = command.arg(
                Arg::new("data")
                    .long("data")
                    .short('d')
                    .value_name("TEXT")
                    .required(true)
                    .help(format!(
                        "the text body: text, @FILE or @- for standard input{}",
                        doc.map(|d| format!("; {d}")).unwrap_or_default()
                    )),
            );
        }
        _ => {}
    }
    if e.audit {
        command = command
            .arg(
                Arg::new("author")
                    .long("author")
                    .value_name("NAME")
                    .help("who makes the change, in Druid's audit history"),
            )
            .arg(
                Arg::new("comment")
                    .long("comment")
                    .value_name("TEXT")
                    .help("why, in Druid's audit history"),
            );
    }
    command
}

/// The command line with `druid api`'s services and endpoints added as
/// subcommands, from the catalog.
pub(crate) fn command() -> clap::Command {
    <crate::args::Cli as clap::CommandFactory>::command().mut_subcommand("api", |api| {
        api.subcommands(catalog::services().into_iter().map(|service| {
            let endpoints = catalog::service_endpoints(service);
            let title = endpoints.first().map_or(service, |e| e.service);
            clap::Command::new(kebab(service))
                .about(format!("{title}: {} endpoints", endpoints.len()))
                .subcommands(endpoints.into_iter().map(endpoint_command))
        }))
    })
}

/// A body argument: text, `@FILE` or `@-`.
fn body_text(data: &str) -> Result<(String, String), Failure> {
    match data.strip_prefix('@') {
        Some(path) => Ok((crate::sql::read_input(Path::new(path))?, path.to_owned())),
        None => Ok((data.to_owned(), "--data".to_owned())),
    }
}

/// The call of the parsed arguments.
fn call_of(e: &'static EndpointInfo, matches: &ArgMatches) -> Result<Call, Failure> {
    let mut call = Call::new(e);
    for p in e.path_params {
        if let Some(value) = matches.get_one::<String>(p.name) {
            call = call.path_param(p.name, value.clone());
        }
    }
    for q in e.query_params {
        match q.ty {
            "flag" => {
                if matches.get_flag(q.name) {
                    call = call.query(q.name, "true");
                }
            }
            "list" | "repeated" => {
                for value in matches.get_many::<String>(q.name).into_iter().flatten() {
                    call = call.query(q.name, value.clone());
                }
            }
            _ => {
                if let Some(value) = matches.get_one::<String>(q.name) {
                    call = call.query(q.name, value.clone());
                }
            }
        }
    }
    if let Some(data) = matches.try_get_one::<String>("data").ok().flatten() {
        let (text, from) = body_text(data)?;
        call = match e.body {
            BodyInfo::Text { .. } => call.text_body(text),
            _ => call.json_body(
                serde_json::from_str(&text)
                    .map_err(|err| Failure::usage(format!("{from} is not JSON: {err}")))?,
            ),
        };
    }
    if e.audit {
        if let Some(author) = matches.get_one::<String>("author") {
            call = call.author(author.clone());
        }
        if let Some(comment) = matches.get_one::<String>("comment") {
            call = call.comment(comment.clone());
        }
    }
    Ok(call)
}

/// The server type of a catalog service, for the ones a cluster has many of.
fn server_type(service: &str) -> Option<ServerType> {
    Some(match service {
        "historical" => ServerType::Historical,
        "middle_manager" => ServerType::MiddleManager,
        "indexer" => ServerType::Indexer,
        "peon" => ServerType::Peon,
        "broker" => ServerType::Broker,
        "router" => ServerType::Router,
        _ => return None,
    })
}

/// Sends the call to the service the entry belongs to.
async fn send(
    client: &Client,
    e: &'static EndpointInfo,
    call: &Call,
    server: Option<&str>,
) -> Result<catalog::CallResponse, Failure> {
    if e.service_name == "client" {
        return Ok(call.send(client).await?);
    }
    let cluster = client.cluster().await?;
    if let Some(server) = server {
        let Some(kind) = server_type(e.service_name) else {
            return Err(Failure::usage(format!(
                "--server picks one of several {}s; the {} is the cluster's leader, found by itself",
                e.service, e.service
            )));
        };
        return Ok(call.send(&cluster.service_as(server, &kind)?).await?);
    }
    let answer = match e.service_name {
        "coordinator" => call.send(&cluster.coordinator()?).await?,
        "overlord" => call.send(&cluster.overlord()?).await?,
        "broker" => call.send(&cluster.broker()?).await?,
        "router" => call.send(&cluster.router()?).await?,
        "historical" => {
            call.send(&first(cluster.historicals()?, "Historical")?)
                .await?
        }
        "middle_manager" => {
            call.send(&first(cluster.middle_managers()?, "MiddleManager")?)
                .await?
        }
        "indexer" => call.send(&first(cluster.indexers()?, "Indexer")?).await?,
        "peon" => call.send(&first(cluster.peons()?, "Peon")?).await?,
        other => {
            return Err(Failure::usage(format!("no client for the service {other}")));
        }
    };
    Ok(answer)
}

fn first<T>(all: Vec<T>, what: &str) -> Result<T, Failure> {
    all.into_iter().next().ok_or_else(|| {
        Failure::druid(format!(
            "the cluster has no {what}; `druid cluster` lists its servers"
        ))
    })
}

/// `druid api --list [SERVICE]`.
fn list(service: Option<&str>, format: Format) -> Result<(), Failure> {
    let services = catalog::services();
    let wanted: Vec<&str> = match service {
        Some(s) => {
            let name = s.replace('-', "_");
            if !services.contains(&name.as_str()) {
                return Err(unknown_service(s));
            }
            services.into_iter().filter(|x| *x == name).collect()
        }
        None => services,
    };
    let rows = wanted.into_iter().flat_map(|s| {
        catalog::service_endpoints(s).into_iter().map(move |e| {
            vec![
                Value::from(kebab(s)),
                Value::from(kebab(e.id)),
                Value::from(e.method),
                Value::from(e.path),
                Value::from(e.summary),
            ]
        })
    });
    print_rows(
        format,
        &["service", "endpoint", "method", "path", "summary"],
        rows,
    )
}

pub(crate) fn unknown_service(service: &str) -> Failure {
    let known: Vec<String> = catalog::services().iter().map(|s| kebab(s)).collect();
    Failure::usage(format!(
        "no service {service:?}; the services: {} (`client` is the URL's Router or Broker)",
        known.join(", ")
    ))
}

/// `druid api`; `connect` is called only when a request is to be sent (a
/// listing needs no cluster). `matches` are the api command's own.
pub(crate) async fn run(
    connect: impl FnOnce() -> Result<Client, Failure>,
    args: &ApiArgs,
    matches: &ArgMatches,
) -> Result<(), Failure> {
    let Some((service, service_matches)) = matches.subcommand() else {
        return list(None, args.output);
    };
    let Some((id, endpoint_matches)) = service_matches.subcommand() else {
        return list(Some(service), args.output);
    };
    if args.list {
        return list(Some(service), args.output);
    }
    let entry = catalog::lookup(&service.replace('-', "_"), id)?;
    let call = call_of(entry, endpoint_matches)?;
    let client = connect()?;
    let answer = send(&client, entry, &call, args.server.as_deref()).await?;
    match entry.response {
        ResponseKind::Empty => {
            eprintln!("{} answered {}", entry.operation, answer.status());
            Ok(())
        }
        ResponseKind::Json { .. } => match answer.json::<Value>() {
            Ok(value) => print_json(&value),
            Err(_) => print_network_text(&String::from_utf8_lossy(answer.body())),
        },
        _ => {
            let text = String::from_utf8_lossy(answer.body());
            if text.is_empty() {
                eprintln!("{} answered {}", entry.operation, answer.status());
                return Ok(());
            }
            print_network_text(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_are_spelled_with_dashes() {
        assert_eq!(kebab("task_status"), "task-status");
        assert_eq!(kebab("dataSource"), "data-source");
        assert_eq!(kebab("middle_manager"), "middle-manager");
    }

    #[test]
    fn every_endpoint_makes_a_consistent_command() {
        command().debug_assert();
        let api = command().find_subcommand("api").cloned().unwrap();
        let services = api.get_subcommands().count();
        assert_eq!(services, catalog::services().len());
        let endpoints: usize = api
            .get_subcommands()
            .map(|s| s.get_subcommands().count())
            .sum();
        assert_eq!(endpoints, catalog::endpoints().len());
    }

    #[test]
    fn arguments_become_the_call() {
        let e = catalog::lookup("overlord", "tasks").unwrap();
        let matches = endpoint_command(e)
            .try_get_matches_from([
                "tasks",
                "--state",
                "running",
                "--datasource",
                "wiki",
                "--max",
                "5",
            ])
            .unwrap();
        let request = call_of(e, &matches).unwrap().to_request().unwrap();
        let url = format!("{request:?}");
        assert!(
            url.contains("state") && url.contains("running") && url.contains("wiki"),
            "{url}"
        );
        let err = endpoint_command(e)
            .try_get_matches_from(["tasks", "--state", "sleeping"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        let status = catalog::lookup("overlord", "task-status").unwrap();
        let err = endpoint_command(status)
            .try_get_matches_from(["task-status"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }
}
