//! The command line, as clap parses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::settings::parse_duration;

/// The whole Apache Druid cluster from a terminal.
///
/// Connects to a Router (or Broker) and finds every other service from
/// there. Connection settings come from the options below, then from
/// `DRUID_*` environment variables, then from a profile of the config file
/// (`druid config` shows what is in effect and where it came from).
#[derive(Debug, Parser)]
#[command(name = "druid", version, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Show the detail of an error (its causes and Druid's whole answer).
    #[arg(long, short, global = true)]
    pub(crate) verbose: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How to reach the cluster.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct Connection {
    /// The Router or Broker [env: DRUID_URL] [default: http://localhost:8888].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// The user for Basic auth [env: DRUID_USER]; the password comes from
    /// $DRUID_PASSWORD, --password-file, a profile, or a prompt.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) user: Option<String>,
    /// Read the password from the first line of this file [env: DRUID_PASSWORD_FILE].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Ask for the password on the terminal.
    #[arg(long, global = true, conflicts_with = "password_file")]
    pub(crate) password_prompt: bool,
    /// Trust this CA certificate (PEM) besides the system's [env: DRUID_CA_CERT].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Present this client certificate and key (one PEM file) [env: DRUID_CLIENT_CERT].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) client_cert: Option<PathBuf>,
    /// Reach discovered services on their TLS ports even with an http URL
    /// [env: DRUID_PREFER_TLS] [default: as the URL: https means TLS].
    #[arg(long, global = true)]
    pub(crate) prefer_tls: bool,
    /// Let the password go to services over plaintext after an https URL
    /// (a trusted network behind a TLS edge) [env: DRUID_ALLOW_PLAINTEXT_CREDENTIALS].
    #[arg(long, global = true)]
    pub(crate) allow_plaintext_credentials: bool,
    /// Docker-style EXTERNAL:INTERNAL port pairs (the cluster's containers
    /// seen through the URL's host), repeatable [env: DRUID_PORT_MAP].
    #[arg(long, global = true, value_name = "EXT:INT", value_delimiter = ',')]
    pub(crate) port_map: Vec<String>,
    /// Time limit of each request, retries included: 30s, 2m, ... [env: DRUID_TIMEOUT].
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_duration)]
    pub(crate) timeout: Option<Duration>,
    /// Refuse, before sending, everything that changes the cluster [env: DRUID_READ_ONLY].
    #[arg(long, global = true)]
    pub(crate) read_only: bool,
    /// Use this profile of the config file [env: DRUID_PROFILE].
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// The config file [env: DRUID_CONFIG] [default: druid/config.toml in the
    /// user's config folder].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns.
    Table,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// Output options shared by the commands that print rows.
#[derive(Debug, Clone, Args)]
pub(crate) struct Output {
    /// The output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub(crate) output: Format,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run an SQL query; rows stream as they arrive.
    Sql(SqlArgs),
    /// Run a native JSON query from a file (`-` for standard input).
    Query(QueryArgs),
    /// Every server of the cluster: roles, leaders, tiers, versions, health.
    Cluster(ClusterArgs),
    /// Tasks, newest first: filter by state, datasource, type.
    Tasks(TasksArgs),
    /// One task: its status, reports or log; shut it down; wait for it.
    Task(TaskArgs),
    /// Run an SQL ingestion (INSERT or REPLACE) as a task, wait for it, then
    /// wait until its data can be queried.
    Ingest(IngestArgs),
    #[command(flatten)]
    Inventory(Inventory),
    /// Call any endpoint of the spec: `druid api overlord task-status ID`;
    /// `druid api --list` lists them, `druid api SERVICE ENDPOINT --help`
    /// explains one.
    Api(ApiArgs),
    /// Send any request to a service, for paths the spec lacks.
    Raw(RawArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `druid man > druid.1`.
    Man,
    /// The connection settings in effect and where each came from.
    Config,
}

/// `druid api`: its own options; the services and their endpoints are
/// subcommands made from the catalog at start (see `api::command`).
#[derive(Debug, Args)]
pub(crate) struct ApiArgs {
    /// List the endpoints (of the service, if one is given) instead of
    /// calling one.
    #[arg(long, global = true)]
    pub(crate) list: bool,
    /// For services a cluster has several of (historical, indexer, ...):
    /// the server to ask, as `druid cluster` names it (host:port).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub(crate) server: Option<String>,
    /// The format of `--list`.
    #[arg(long, short, global = true, value_enum, default_value = "table")]
    pub(crate) output: Format,
}

/// Which service a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// The Router (or Broker) of the URL.
    Router,
    /// The lead Coordinator.
    Coordinator,
    /// The lead Overlord.
    Overlord,
    /// A Broker.
    Broker,
}

/// `druid raw`.
#[derive(Debug, Args)]
pub(crate) struct RawArgs {
    /// GET, POST, PUT, DELETE, ...
    pub(crate) method: String,
    /// The path, with any query: `/druid/coordinator/v1/config?count=2`.
    pub(crate) path: String,
    /// The service to send it to.
    #[arg(long, short, value_enum, default_value = "router")]
    pub(crate) service: Target,
    /// The JSON body: text, `@FILE`, or `@-` for standard input.
    #[arg(long, short, value_name = "JSON")]
    pub(crate) data: Option<String>,
}

/// What the cluster holds.
#[derive(Debug, Subcommand)]
pub(crate) enum Inventory {
    /// Datasources with their segment counts, sizes and time ranges.
    Datasources {
        #[command(flatten)]
        output: Output,
    },
    /// The segments of a datasource that are served.
    Segments {
        /// The datasource.
        datasource: String,
        #[command(flatten)]
        output: Output,
    },
    /// How much of each datasource is loaded on the Historicals.
    LoadStatus {
        #[command(flatten)]
        output: Output,
    },
    /// Supervisors (streaming ingestion) and their states.
    Supervisors {
        #[command(flatten)]
        output: Output,
    },
    /// The retention rules of a datasource (`_default` for the cluster's).
    Rules {
        /// The datasource.
        datasource: String,
        /// Append the cluster's default rules.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Lookups, per tier.
    Lookups {
        #[command(flatten)]
        output: Output,
    },
    /// Users of the basic-security authenticator.
    Users {
        /// The authenticator's name (in druid.auth.authenticatorChain).
        #[arg(long, default_value = "basic", value_name = "NAME")]
        authenticator: String,
        #[command(flatten)]
        output: Output,
    },
    /// Roles of the basic-security authorizer.
    Roles {
        /// The authorizer's name.
        #[arg(long, default_value = "basic", value_name = "NAME")]
        authorizer: String,
        #[command(flatten)]
        output: Output,
    },
}

/// `druid ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The INSERT or REPLACE statement (MSQ), or a JSON task spec (native
    /// batch, `{"type": "index_parallel", ...}`); without one, --file or
    /// standard input.
    pub(crate) statement: Option<String>,
    /// Read the statement or spec from this file (`-` for standard input).
    #[arg(long, short, value_name = "FILE", conflicts_with = "statement")]
    pub(crate) file: Option<PathBuf>,
    /// A query context entry, repeatable: `maxNumTasks=2`.
    #[arg(long = "context", short = 'c', value_name = "KEY=VALUE")]
    pub(crate) context: Vec<String>,
    /// Give up each wait (the task, then the loading) after this long.
    #[arg(long = "for", value_name = "TIME", default_value = "30m", value_parser = parse_duration)]
    pub(crate) limit: Duration,
    /// Return when the task succeeded, without waiting for the data to load.
    #[arg(long)]
    pub(crate) no_wait_load: bool,
}

/// `druid tasks`.
#[derive(Debug, Args)]
pub(crate) struct TasksArgs {
    /// Only tasks in this state: running, complete, waiting or pending.
    #[arg(long, value_name = "STATE")]
    pub(crate) state: Option<String>,
    /// Only tasks of this datasource.
    #[arg(long, short, value_name = "NAME")]
    pub(crate) datasource: Option<String>,
    /// Only tasks of this type (index_parallel, query_controller, kill, ...).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) task_type: Option<String>,
    /// At most this many complete tasks.
    #[arg(long, value_name = "N")]
    pub(crate) max: Option<i64>,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// `druid task`.
#[derive(Debug, Args)]
pub(crate) struct TaskArgs {
    #[command(subcommand)]
    pub(crate) command: TaskCommand,
}

/// What to do with one task.
#[derive(Debug, Subcommand)]
pub(crate) enum TaskCommand {
    /// Its status: state, type, datasource, run time.
    Status {
        /// The task ID.
        id: String,
        #[command(flatten)]
        output: Output,
    },
    /// Its reports (ingestion statistics and errors, or an MSQ query's stages), as JSON.
    Reports {
        /// The task ID.
        id: String,
    },
    /// Its log.
    Log {
        /// The task ID.
        id: String,
        /// Only the last BYTES of the log.
        #[arg(long, value_name = "BYTES")]
        tail: Option<i64>,
    },
    /// Stop it (this also cancels an MSQ query).
    Shutdown {
        /// The task ID.
        id: String,
    },
    /// Wait until it finishes, showing its state; fails unless it succeeds.
    Wait {
        /// The task ID.
        id: String,
        /// Give up after this long: 30s, 10m, 1h.
        #[arg(long = "for", value_name = "TIME", default_value = "30m", value_parser = parse_duration)]
        limit: Duration,
    },
}

/// `druid sql`.
#[derive(Debug, Args)]
pub(crate) struct SqlArgs {
    /// The statement; without one, --file or standard input.
    pub(crate) query: Option<String>,
    /// Read the statement from this file (`-` for standard input).
    #[arg(long, short, value_name = "FILE", conflicts_with = "query")]
    pub(crate) file: Option<PathBuf>,
    /// A dynamic parameter for the next `?`, in order: `42`, `'text'`,
    /// or typed `BIGINT:42`, `VARCHAR:42`, `TIMESTAMP:2024-01-01 00:00:00`.
    #[arg(long = "param", short = 'p', value_name = "VALUE")]
    pub(crate) params: Vec<String>,
    /// A query context entry, repeatable: `timeout=60000`, `useCache=false`.
    #[arg(long = "context", short = 'c', value_name = "KEY=VALUE")]
    pub(crate) context: Vec<String>,
    /// The query ID (to find or cancel it elsewhere); default: a new UUID.
    #[arg(long, value_name = "ID")]
    pub(crate) query_id: Option<String>,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// `druid query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The native query's JSON file (`-` for standard input).
    pub(crate) file: PathBuf,
    /// A query context entry, repeatable: `timeout=60000`.
    #[arg(long = "context", short = 'c', value_name = "KEY=VALUE")]
    pub(crate) context: Vec<String>,
    /// Indent the JSON answer (the default on a terminal).
    #[arg(long)]
    pub(crate) pretty: bool,
}

/// `druid cluster`.
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    #[command(flatten)]
    pub(crate) output: Output,
    /// Skip the health check of each server.
    #[arg(long)]
    pub(crate) no_health: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_parse_anywhere_and_a_password_flag_does_not_exist() {
        let cli = Cli::try_parse_from([
            "druid",
            "sql",
            "SELECT 1",
            "--url",
            "https://r:9088",
            "-o",
            "csv",
            "--port-map",
            "8899:8888,8081:8081",
            "--timeout",
            "90s",
            "-p",
            "BIGINT:3",
        ])
        .unwrap();
        assert_eq!(cli.connection.url.as_deref(), Some("https://r:9088"));
        assert_eq!(cli.connection.port_map, ["8899:8888", "8081:8081"]);
        assert_eq!(cli.connection.timeout, Some(Duration::from_secs(90)));
        let Command::Sql(sql) = cli.command else {
            panic!("not sql")
        };
        assert_eq!(sql.output.output, Format::Csv);
        assert_eq!(sql.params, ["BIGINT:3"]);
        let err = Cli::try_parse_from(["druid", "--password", "x", "config"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        let err = Cli::try_parse_from(["druid", "sql", "-o", "xml", "SELECT 1"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        let err = Cli::try_parse_from(["druid", "--timeout", "soon", "config"]).unwrap_err();
        assert!(err.to_string().contains("not a duration"), "{err}");
    }
}
