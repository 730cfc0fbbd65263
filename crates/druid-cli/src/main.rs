//! `druid`: the whole Apache Druid cluster from a terminal.
//!
//! Built only on the public API of `druid-api`: discovery, mapping, TLS,
//! auth, retries and streaming come from the library.

// A command line's output is standard output.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use clap::FromArgMatches as _;

mod api;
mod args;
mod cluster;
mod connect;
mod escape;
mod fail;
mod inventory;
mod output;
mod prompt;
mod raw;
mod settings;
mod sql;
mod tasks;

use args::{Cli, Command};
use fail::Failure;
use settings::{PasswordFrom, ProcessEnv, Settings};

fn main() -> ExitCode {
    // The catalog's 350 endpoint commands are built only when something
    // needs them: `api`, and the completions and man page that list them.
    let needs_catalog = std::env::args()
        .skip(1)
        .any(|arg| matches!(arg.as_str(), "api" | "completions" | "man"));
    let command = if needs_catalog {
        api::command()
    } else {
        <Cli as clap::CommandFactory>::command()
    };
    let matches = command.get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let verbose = cli.verbose;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return Failure::usage(format!("cannot start the runtime: {e}")).report(verbose),
    };
    match runtime.block_on(run(cli, &matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(verbose),
    }
}

async fn run(cli: Cli, matches: &clap::ArgMatches) -> Result<(), Failure> {
    match &cli.command {
        Command::Completions { shell } => {
            let mut command = api::command();
            // Into memory first: the generator panics on a closed output.
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "druid", &mut script);
            return tasks::print_text(&String::from_utf8_lossy(&script));
        }
        Command::Man => {
            let command = api::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| Failure::usage(format!("cannot render the man page: {e}")))?;
            return tasks::print_text(&String::from_utf8_lossy(&page));
        }
        _ => {}
    }
    if let (Command::Api(args), Some(("api", api_matches))) = (&cli.command, matches.subcommand()) {
        let connection = &cli.connection;
        return api::run(
            || connect::client(&settings::resolve(connection, &ProcessEnv)?),
            args,
            api_matches,
        )
        .await;
    }
    let settings = settings::resolve(&cli.connection, &ProcessEnv)?;
    if let Command::Config = cli.command {
        show_config(&settings);
        return Ok(());
    }
    let client = connect::client(&settings)?;
    match &cli.command {
        Command::Sql(args) => sql::run(&client, args).await,
        Command::Query(args) => sql::native(&client, args).await,
        Command::Cluster(args) => cluster::run(&client, args).await,
        Command::Tasks(args) => tasks::list(&client, args).await,
        Command::Task(args) => tasks::task(&client, args).await,
        Command::Ingest(args) => tasks::ingest(&client, args).await,
        Command::Inventory(command) => inventory::run(&client, command).await,
        Command::Raw(args) => raw::run(&client, args).await,
        Command::Config | Command::Api(_) | Command::Completions { .. } | Command::Man => Ok(()),
    }
}

/// `druid config`: each setting, its value (secrets hidden) and its source.
fn show_config(settings: &Settings) {
    let mut lines: Vec<(&str, String, String)> = Vec::new();
    let mut add = |name, value: Option<(String, String)>| {
        let (value, source) = value.unwrap_or_else(|| ("-".to_owned(), String::new()));
        lines.push((name, value, source));
    };
    add(
        "config file",
        settings.config_file.as_ref().map(|path| {
            let state = if path.exists() { "" } else { " (none there)" };
            (format!("{}{state}", path.display()), String::new())
        }),
    );
    add(
        "profile",
        settings
            .profile
            .as_ref()
            .map(|p| (p.value.clone(), p.source.to_string())),
    );
    add(
        "url",
        Some((
            druid_api::transport::redact_url_text(&settings.url.value),
            settings.url.source.to_string(),
        )),
    );
    add(
        "user",
        settings
            .user
            .as_ref()
            .map(|u| (u.value.clone(), u.source.to_string())),
    );
    add(
        "password",
        settings.password.as_ref().map(|p| {
            let value = match &p.value {
                PasswordFrom::Env(var, _) => format!("<hidden> from ${var}"),
                PasswordFrom::File(path) => format!("<hidden> from {}", path.display()),
                PasswordFrom::Prompt => "asked on the terminal".to_owned(),
            };
            (value, p.source.to_string())
        }),
    );
    let path = |set: &Option<settings::Set<std::path::PathBuf>>| {
        set.as_ref()
            .map(|s| (s.value.display().to_string(), s.source.to_string()))
    };
    add("ca cert", path(&settings.ca_cert));
    add("client cert", path(&settings.client_cert));
    add(
        "prefer tls",
        Some(match &settings.prefer_tls {
            Some(set) => (set.value.to_string(), set.source.to_string()),
            None => (
                "as the URL (https: TLS for every service)".to_owned(),
                "default".to_owned(),
            ),
        }),
    );
    add(
        "allow plaintext credentials",
        Some((
            settings.allow_plaintext_credentials.value.to_string(),
            settings.allow_plaintext_credentials.source.to_string(),
        )),
    );
    add(
        "port map",
        settings
            .port_map
            .as_ref()
            .map(|m| (m.value.clone(), m.source.to_string())),
    );
    add(
        "timeout",
        settings
            .timeout
            .as_ref()
            .map(|t| (format!("{} s", t.value.as_secs_f64()), t.source.to_string()))
            .or_else(|| Some(("300 s".to_owned(), "default".to_owned()))),
    );
    add(
        "read only",
        Some((
            settings.read_only.value.to_string(),
            settings.read_only.source.to_string(),
        )),
    );
    let width = lines.iter().map(|l| l.0.len()).max().unwrap_or(0);
    let value_width = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
    for (name, value, source) in lines {
        let source = if source.is_empty() {
            String::new()
        } else {
            format!("  ({source})")
        };
        let line = format!("{name:<width$}  {value:<value_width$}{source}");
        println!("{}", line.trim_end());
    }
}
