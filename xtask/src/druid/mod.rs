//! `cargo xtask druid`: a real multi-process Apache Druid cluster on this machine, assembled
//! from Maven Central artifacts (no tarball, no Docker), for the integration tests.
//!
//! - `up`: resolve `lib/` + `extensions/` with Maven (cached per version), write `conf/`,
//!   start ZooKeeper, Coordinator(+Overlord, Derby), Broker, Historical, Indexer or
//!   MiddleManager, Router as separate JVMs, wait for the readiness gates, write
//!   `<state>/cluster.env` and `<state>/cluster.json`; with `--ha` also a second
//!   Coordinator-Overlord (`coordinator-2`), with Derby as its own JVM (`derby`);
//! - `down`: stop the recorded JVMs by PID (stopped ones too); `status`; `logs`;
//! - `kill`, `stop`, `cont`, `start <name>` and `leader`: fault controls, one service at a time
//!   (`leader` names the lead Coordinator-Overlord).
//!
//! Layout of the module: [`layout`] (services, ports, paths), [`maven`] (the distribution),
//! [`config`] (`conf/` and the JVM command lines), [`tls`] (keytool), [`process`] (spawn /
//! signal / stop by PID), [`http`] + [`gates`] (readiness checks), [`smoke`] (`--smoke`
//! ingestion), [`record`] (`cluster.json`), [`cluster`] (`up`, `down`, `logs`), [`control`]
//! (the fault controls and `status`).

mod cluster;
mod config;
pub(crate) mod control;
mod gates;
pub(crate) mod http;
mod layout;
mod maven;
mod process;
mod record;
mod smoke;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

pub(crate) use cluster::{down, up};
pub(crate) use control::Target;
pub(crate) use layout::{Service, Worker};

/// The Druid version started when none is given: the newest with MSQ that resolves from the
/// Maven Central mirror this project is tested against.
pub(crate) const DEFAULT_DRUID_VERSION: &str = "27.0.0";

/// The default per-gate timeout, in seconds.
const DEFAULT_GATE_TIMEOUT_SECS: u64 = 240;

/// What `up` does; [`Default`] matches the CLI defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpOptions {
    /// The Druid version.
    pub(crate) version: String,
    /// The state directory (downloads, conf, data, logs, pids).
    pub(crate) state_dir: PathBuf,
    /// Added to every port, so that a second cluster can run beside another one.
    pub(crate) port_offset: u16,
    /// Which worker runs ingestion tasks.
    pub(crate) worker: Worker,
    /// TLS on every service (plaintext kept) and basic auth.
    pub(crate) secure: bool,
    /// A second Coordinator-Overlord (`coordinator-2`) and Derby as its own JVM, so that
    /// leadership can fail over.
    pub(crate) ha: bool,
    /// Load the multi-stage query extension (before Druid 35, where it is an extension).
    pub(crate) msq: bool,
    /// Run the MSQ + native smoke ingestion after the gates.
    pub(crate) smoke: bool,
    /// The bound on each readiness gate (and each smoke-ingestion wait).
    pub(crate) gate_timeout: Duration,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            version: DEFAULT_DRUID_VERSION.to_owned(),
            state_dir: default_state_dir(),
            port_offset: 0,
            worker: Worker::Indexer,
            secure: false,
            ha: false,
            msq: true,
            smoke: false,
            gate_timeout: Duration::from_secs(DEFAULT_GATE_TIMEOUT_SECS),
        }
    }
}

/// A running cluster, as `up` left it.
#[derive(Debug, Clone)]
pub(crate) struct ClusterInfo {
    /// The Router (plaintext), the cluster's entry point, e.g. `http://localhost:8888`.
    pub(crate) router_url: String,
    /// The Druid version.
    pub(crate) version: String,
    /// The state directory (canonical).
    pub(crate) state_dir: PathBuf,
    /// Every JVM, in start order.
    pub(crate) services: Vec<ServiceInfo>,
    /// The lead Coordinator-Overlord when `up` finished (with `--ha` the other is its
    /// standby); `None` if the two did not agree at that moment.
    pub(crate) leader: Option<Service>,
    /// The `KEY=value` pairs written to `<state>/cluster.env`.
    pub(crate) env: Vec<(String, String)>,
    /// Seconds from the first JVM start until every gate passed.
    pub(crate) startup_secs: f64,
    /// Seconds for the whole `up` (Maven, conf, start, gates, smoke).
    pub(crate) total_secs: f64,
}

/// One JVM of a running cluster.
#[derive(Debug, Clone)]
pub(crate) struct ServiceInfo {
    /// Which service.
    pub(crate) service: Service,
    /// Its PID.
    pub(crate) pid: u32,
    /// Its plaintext URL (`localhost:<port>` for ZooKeeper).
    pub(crate) url: String,
}

impl ClusterInfo {
    /// The lines of `cluster.env` (`KEY=value`).
    pub(crate) fn env_lines(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// Prints the summary shown at the end of `up`.
    fn print_summary(&self) {
        println!();
        println!(
            "Druid {} is up: {} (gates passed {:.1}s after the first JVM started; {:.1}s in total)",
            self.version, self.router_url, self.startup_secs, self.total_secs
        );
        let coordinators = self
            .services
            .iter()
            .filter(|s| s.service.is_coordinator())
            .count();
        for s in &self.services {
            let role = match self.leader {
                Some(leader) if coordinators > 1 && s.service.is_coordinator() => {
                    if s.service == leader {
                        ", leader"
                    } else {
                        ", standby"
                    }
                }
                _ => "",
            };
            let rss = process::rss_kib(s.pid).map_or(String::new(), |kib| {
                format!(", {:.0} MiB RSS", kib as f64 / 1024.0)
            });
            println!(
                "  {:<15} {:<24} pid {}{rss}{role}",
                s.service.name(),
                s.url,
                s.pid
            );
        }
        println!("  state: {}", self.state_dir.display());
        println!("  wrote {}:", self.state_dir.join("cluster.env").display());
        for line in self.env_lines() {
            println!("    {line}");
        }
        println!(
            "  stop with: cargo xtask druid down --state-dir {}",
            self.state_dir.display()
        );
    }
}

/// `<repo root>/.druid` (git-ignored).
fn default_state_dir() -> PathBuf {
    crate::root().join(".druid")
}

/// `cargo xtask druid <command>`.
#[derive(Debug, Subcommand)]
pub(crate) enum DruidCommand {
    /// Assemble (cached) and start a local cluster, wait until it is ready.
    #[command(after_help = ENV_HELP)]
    Up(UpArgs),
    /// Stop the processes recorded by `up` (by PID; SIGCONT + SIGTERM, SIGKILL after 15 s).
    Down(StateArgs),
    /// Show every service (pid, state, URL, health), the lead Coordinator-Overlord and
    /// cluster.env; exit 1 unless all are running and healthy.
    Status(StateArgs),
    /// Print the tail of one service log or of all of them.
    Logs(LogsArgs),
    /// SIGKILL one service (or `leader`) and wait until it is gone.
    Kill(TargetArgs),
    /// SIGSTOP one service (or `leader`): it freezes with its sockets open.
    Stop(TargetArgs),
    /// SIGCONT a service stopped with `stop`.
    Cont(TargetArgs),
    /// Start a killed service again (same command line) and wait for its readiness gates.
    Start(TargetArgs),
    /// Print the lead Coordinator-Overlord; with --wait, wait until exactly one leads.
    Leader(LeaderArgs),
}

/// Environment variables honoured by `up`.
const ENV_HELP: &str = "Environment:
  MAVEN_CENTRAL_URL  the single mirror for every Maven repository
                     (default https://repo.maven.apache.org/maven2)
  DRUID_M2_REPO      Maven local repository (-Dmaven.repo.local; default ~/.m2/repository)
  DRUID_JAVA_HOME    the JDK (default /usr/lib/jvm/java-17-openjdk-amd64, else JAVA_HOME)";

/// Arguments of `up`.
#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Druid version (resolved from Maven Central).
    #[arg(long, default_value = DEFAULT_DRUID_VERSION)]
    version: String,
    #[command(flatten)]
    state: StateArgs,
    /// Add N to every port (ZooKeeper, Derby, services, TLS) to run beside another cluster.
    #[arg(long, value_name = "N", default_value_t = 0)]
    port_offset: u16,
    /// Which process runs ingestion tasks.
    #[arg(long, value_enum, default_value_t = Worker::Indexer)]
    worker: Worker,
    /// TLS on every service (private CA; plaintext kept) and basic auth (user admin).
    #[arg(long)]
    secure: bool,
    /// Also run a second Coordinator-Overlord (`coordinator-2`) and Derby as its own JVM, so
    /// that leadership can fail over.
    #[arg(long)]
    ha: bool,
    /// Do not download or load the multi-stage query extension (for a release whose MSQ jar
    /// the Maven repository lacks); SQL ingestion and asynchronous statements are then absent.
    #[arg(long)]
    no_msq: bool,
    /// After the gates, run an MSQ and a native smoke ingestion and check the row counts.
    #[arg(long)]
    smoke: bool,
    /// Seconds each readiness gate (and each smoke-ingestion wait) may take.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_GATE_TIMEOUT_SECS)]
    timeout: u64,
}

impl UpArgs {
    /// The options these arguments describe.
    fn options(self) -> UpOptions {
        UpOptions {
            version: self.version,
            state_dir: self.state.dir(),
            port_offset: self.port_offset,
            worker: self.worker,
            secure: self.secure,
            ha: self.ha,
            msq: !self.no_msq,
            smoke: self.smoke,
            gate_timeout: Duration::from_secs(self.timeout),
        }
    }
}

/// The state directory argument shared by every subcommand.
#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// State directory (default: `<repo root>/.druid`).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl StateArgs {
    /// The given directory or the default.
    fn dir(self) -> PathBuf {
        self.state_dir.unwrap_or_else(default_state_dir)
    }
}

/// Arguments of `logs`.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Only this service's log (default: every log).
    #[arg(value_enum)]
    service: Option<Service>,
    #[command(flatten)]
    state: StateArgs,
    /// How many lines from the end of each log.
    #[arg(long, short = 'n', default_value_t = 50)]
    lines: usize,
}

/// Arguments of `kill`, `stop`, `cont` and `start`.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// A service name (zookeeper, derby, coordinator, coordinator-2, broker, historical,
    /// indexer, middle-manager, router) or `leader`, the lead Coordinator-Overlord.
    #[arg(value_name = "NAME")]
    target: Target,
    #[command(flatten)]
    state: StateArgs,
}

/// Arguments of `leader`.
#[derive(Debug, Args)]
pub(crate) struct LeaderArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Wait up to SECS until exactly one Coordinator-Overlord leads (e.g. after `kill leader`).
    #[arg(long, value_name = "SECS")]
    wait: Option<u64>,
}

/// Runs a `cargo xtask druid` command.
pub(crate) fn run(command: DruidCommand) -> Result<(), String> {
    match command {
        DruidCommand::Up(args) => up(&args.options()).map(drop),
        DruidCommand::Down(args) => down(&args.dir()),
        DruidCommand::Status(args) => control::status(&args.dir()),
        DruidCommand::Logs(args) => cluster::logs(&args.state.dir(), args.service, args.lines),
        DruidCommand::Kill(args) => control::kill(&args.state.dir(), args.target).map(drop),
        DruidCommand::Stop(args) => control::stop(&args.state.dir(), args.target).map(drop),
        DruidCommand::Cont(args) => control::cont(&args.state.dir(), args.target).map(drop),
        DruidCommand::Start(args) => control::start(&args.state.dir(), args.target).map(drop),
        DruidCommand::Leader(args) => {
            let dir = args.state.dir();
            let leader = match args.wait {
                Some(secs) => control::wait_leader(&dir, Duration::from_secs(secs))?.0,
                None => control::leader(&dir)?,
            };
            println!(
                "leader: {} (pid {}, {})",
                leader.service.name(),
                leader.pid,
                leader.url
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// Parses `druid up ...` the way `cargo xtask` does.
    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: DruidCommand,
    }

    fn up_options(args: &[&str]) -> UpOptions {
        let argv = ["druid", "up"].iter().chain(args);
        match Cli::try_parse_from(argv).unwrap().command {
            DruidCommand::Up(args) => args.options(),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn default_options_match_the_cli_defaults() {
        assert_eq!(up_options(&[]), UpOptions::default());
    }

    #[test]
    fn cli_flags_reach_the_options() {
        let opts = up_options(&[
            "--version",
            "33.0.0",
            "--state-dir",
            "/tmp/x",
            "--port-offset",
            "100",
            "--worker",
            "middle-manager",
            "--secure",
            "--ha",
            "--no-msq",
            "--smoke",
            "--timeout",
            "3",
        ]);
        assert_eq!(
            opts,
            UpOptions {
                version: "33.0.0".into(),
                state_dir: "/tmp/x".into(),
                port_offset: 100,
                worker: Worker::MiddleManager,
                secure: true,
                ha: true,
                msq: false,
                smoke: true,
                gate_timeout: Duration::from_secs(3),
            }
        );
    }

    #[test]
    fn fault_commands_take_a_service_or_leader() {
        let parse = |args: &[&str]| Cli::try_parse_from(["druid"].iter().chain(args));
        match parse(&["kill", "leader", "--state-dir", "/tmp/x"])
            .unwrap()
            .command
        {
            DruidCommand::Kill(args) => {
                assert_eq!(args.target, Target::Leader);
                assert_eq!(args.state.dir(), PathBuf::from("/tmp/x"));
            }
            other => panic!("parsed as {other:?}"),
        }
        for (command, name, service) in [
            ("stop", "broker", Service::Broker),
            ("cont", "broker", Service::Broker),
            ("start", "coordinator-2", Service::Coordinator2),
            ("kill", "derby", Service::Derby),
        ] {
            let target = match parse(&[command, name]).unwrap().command {
                DruidCommand::Stop(a) | DruidCommand::Cont(a) | DruidCommand::Start(a) => a.target,
                DruidCommand::Kill(a) => a.target,
                other => panic!("parsed as {other:?}"),
            };
            assert_eq!(target, Target::Service(service), "{command} {name}");
        }
        let err = parse(&["kill", "overlord"]).unwrap_err().to_string();
        assert!(err.contains("unknown service `overlord`"), "{err}");
        assert!(err.contains("coordinator-2"), "{err}");
        assert!(parse(&["kill"]).is_err(), "a name is required");
        match parse(&["leader", "--wait", "60"]).unwrap().command {
            DruidCommand::Leader(args) => assert_eq!(args.wait, Some(60)),
            other => panic!("parsed as {other:?}"),
        }
        match parse(&["leader"]).unwrap().command {
            DruidCommand::Leader(args) => assert_eq!(args.wait, None),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn logs_takes_a_service_name() {
        let cli = Cli::try_parse_from(["druid", "logs", "middle-manager", "--lines", "5"]).unwrap();
        match cli.command {
            DruidCommand::Logs(args) => {
                assert_eq!(args.service, Some(Service::MiddleManager));
                assert_eq!(args.lines, 5);
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
