//! The cluster as a whole: `up`, `down` and `logs` (`status` and the per-service fault
//! controls are in [`super::control`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use super::config::{self, ADMIN_PASSWORD, ConfParams};
use super::control::{self, View};
use super::gates::{self, Clock, GateError, Probe};
use super::http::{self, Client};
use super::layout::{Layout, Ports, Service};
use super::maven::{self, Artifacts, Maven};
use super::process::{self, Recorded, Stopped};
use super::record::{Launch, Record};
use super::{ClusterInfo, ServiceInfo, UpOptions, smoke, tls};

/// The JDK used when `DRUID_JAVA_HOME` is not set (if it exists; else `JAVA_HOME`).
const DEFAULT_JAVA_HOME: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

/// Lines of a service log shown when a gate times out.
const GATE_LOG_LINES: usize = 40;
/// Lines of a service log shown when the process died.
const DEATH_LOG_LINES: usize = 60;

/// Assembles (if needed) and starts a cluster, waits for every gate, optionally runs the
/// smoke ingestion, and writes `<state>/cluster.env`. On any failure after the first process
/// was started, everything started is stopped again.
pub(crate) fn up(opts: &UpOptions) -> Result<ClusterInfo, String> {
    let clock = Clock::new();
    let artifacts = Artifacts::for_version(&opts.version, opts.secure, opts.msq)?;
    let load_list = artifacts.load_list();
    let ports = Ports::with_offset(opts.port_offset)?;
    let java_home = find_java_home()?;
    let java = java_home.join("bin/java");
    let layout = create_state_dir(&opts.state_dir)?;
    clock.say(format!(
        "druid up: Druid {}, {} worker, {} profile{}, extensions {}, port offset {}, state {}, java {}",
        opts.version,
        opts.worker.service().name(),
        if opts.secure {
            "secure (TLS + basic auth)"
        } else {
            "plaintext"
        },
        if opts.ha {
            ", two Coordinator-Overlords (--ha)"
        } else {
            ""
        },
        load_list,
        opts.port_offset,
        layout.state().display(),
        java.display()
    ));

    // Refuse early (before Maven, and before conf/ or var/ of a live cluster are touched).
    preflight(&layout, &ports, opts.secure, opts.ha)?;
    clock.say("preflight: no recorded process alive, every port free");

    let dist = maven::ensure_dist(&layout, &artifacts, &Maven::from_env(), &clock)?;

    if opts.secure && tls::ensure(&layout.tls(), &java_home)? {
        clock.say(format!(
            "tls: generated a private CA and a localhost certificate in {}",
            layout.tls().display()
        ));
    }
    let files = config::render(&ConfParams {
        layout: &layout,
        dist: &dist,
        load_list: &load_list,
        ports,
        worker: opts.worker,
        secure: opts.secure,
        ha: opts.ha,
        java: &java,
    });
    config::write(&layout, &files)?;
    clock.say(format!(
        "conf: wrote {} files under {}",
        files.len(),
        layout.conf().display()
    ));
    fresh_run_dirs(&layout)?;
    let record = Record {
        version: opts.version.clone(),
        port_offset: opts.port_offset,
        secure: opts.secure,
        ha: opts.ha,
        gate_timeout_secs: opts.gate_timeout.as_secs(),
        services: cluster_services(opts)
            .into_iter()
            .map(|service| Launch {
                name: service.name().to_owned(),
                program: java.clone(),
                args: config::java_args(&layout, &dist, service, ports.derby),
            })
            .collect(),
    };
    record.write(&layout)?;

    let mut client = Client::new(Duration::from_secs(5));
    if opts.secure {
        client = client.with_basic_auth("admin", ADMIN_PASSWORD);
    }
    let mut run = Run {
        opts,
        layout,
        record,
        ports,
        clock,
        client,
        children: Vec::new(),
        first_start: None,
        gates_passed: None,
    };
    match run.bring_up() {
        Ok(info) => {
            info.print_summary();
            Ok(info)
        }
        Err(message) => {
            run.abort();
            Err(message)
        }
    }
}

/// A cluster being started: what `up` knows and the JVMs it has started so far.
#[derive(Debug)]
pub(crate) struct Run<'a> {
    /// The options of this `up`.
    pub(crate) opts: &'a UpOptions,
    /// The state directory.
    layout: Layout,
    /// The services and their command lines (also in `cluster.json`).
    record: Record,
    /// The ports of this cluster.
    pub(crate) ports: Ports,
    /// Progress output.
    pub(crate) clock: Clock,
    /// HTTP client for the gates (with Basic auth in the secure profile).
    pub(crate) client: Client,
    /// The JVMs started so far (their handles tell when one dies).
    children: Vec<(Service, Child)>,
    /// When the first JVM was started (seconds on `clock`).
    first_start: Option<f64>,
    /// Seconds from the first JVM start until every gate passed.
    gates_passed: Option<f64>,
}

impl Run<'_> {
    /// The Indexer or the MiddleManager.
    pub(crate) fn worker_service(&self) -> Service {
        self.opts.worker.service()
    }

    /// Starts everything, passes the gates, runs the smoke ingestion if asked for, and
    /// describes the result.
    fn bring_up(&mut self) -> Result<ClusterInfo, String> {
        self.start_and_gate()?;
        if self.opts.smoke {
            smoke::run(self)?;
        }
        self.describe()
    }

    /// Starts one JVM with its recorded command line and records its PID.
    fn start(&mut self, service: Service) -> Result<(), String> {
        let launch = self
            .record
            .launch(service)
            .ok_or_else(|| format!("{} is not part of this cluster", service.name()))?;
        let child = process::spawn_detached(
            &launch.program,
            &launch.args,
            self.layout.state(),
            &self.layout.log(service),
            false,
        )?;
        let pid = child.id();
        self.children.push((service, child));
        process::write_pid(&self.layout, service, pid)?;
        self.first_start.get_or_insert(self.clock.secs());
        self.clock.say(format!(
            "started {} (pid {pid}, log {})",
            service.name(),
            self.layout.log(service).display()
        ));
        Ok(())
    }

    /// Waits for a gate. On failure, prints the tail of the `logs` of the services concerned
    /// (or of the process that died) and returns the error.
    pub(crate) fn gate(
        &mut self,
        label: &str,
        logs: &[Service],
        mut probe: impl FnMut(&Client) -> Probe,
    ) -> Result<(), String> {
        let timeout = self.opts.gate_timeout;
        let (layout, client, children) = (&self.layout, &self.client, &mut self.children);
        let result = gates::wait(
            &self.clock,
            label,
            timeout,
            || probe(client),
            || check_alive(layout, children, label),
        );
        let message = match result {
            Ok(_) => return Ok(()),
            Err(GateError::Watchdog(message)) => return Err(message),
            Err(GateError::TimedOut(last)) => format!(
                "gate `{label}` did not pass within {}s; last answer: {last}",
                timeout.as_secs()
            ),
            Err(GateError::Fatal(message)) => format!("gate `{label}` failed: {message}"),
        };
        self.clock.say(format!("GATE FAILED: {message}"));
        for service in logs {
            process::print_tail(&self.layout, *service, GATE_LOG_LINES);
        }
        let paths: Vec<String> = logs
            .iter()
            .map(|s| self.layout.log(*s).display().to_string())
            .collect();
        Err(format!("{message}\nsee {}", paths.join(", ")))
    }

    /// The start order and the gates of the recipe.
    fn start_and_gate(&mut self) -> Result<(), String> {
        let p = self.ports;
        let worker = self.worker_service();

        // ZooKeeper (and with --ha the metadata store, Derby's network server as its own JVM)
        // boot together.
        self.start(Service::Zookeeper)?;
        if self.opts.ha {
            self.start(Service::Derby)?;
        }
        self.gate(
            &format!("zookeeper tcp {}", p.zookeeper),
            &[Service::Zookeeper],
            |_| gates::tcp_open(p.zookeeper),
        )?;
        if self.opts.ha {
            self.gate(&format!("derby tcp {}", p.derby), &[Service::Derby], |_| {
                gates::tcp_open(p.derby)
            })?;
        }

        // The Coordinator also runs the Overlord (and without --ha starts Derby); it leads
        // once it is up.
        self.start(Service::Coordinator)?;
        let coordinator = [Service::Coordinator];
        self.gate("coordinator /status/health", &coordinator, |c| {
            gates::http_ok(c, p.coordinator, "/status/health")
        })?;
        self.gate("coordinator isLeader", &coordinator, |c| {
            gates::http_json(
                c,
                p.coordinator,
                "/druid/coordinator/v1/isLeader",
                gates::is_leader,
            )
        })?;
        self.gate("overlord isLeader", &coordinator, |c| {
            gates::http_json(
                c,
                p.coordinator,
                "/druid/indexer/v1/isLeader",
                gates::is_leader,
            )
        })?;

        // The other four (five with --ha: coordinator-2, a follower from the start) boot
        // together (the slowest part: 4 JVMs on 2 cores).
        let mut rest = vec![
            Service::Broker,
            Service::Historical,
            worker,
            Service::Router,
        ];
        if self.opts.ha {
            rest.insert(0, Service::Coordinator2);
        }
        for service in rest.iter().copied() {
            self.start(service)?;
        }
        for service in rest.iter().copied() {
            let port = p.plaintext(service);
            self.gate(
                &format!("{} /status/health", service.name()),
                &[service],
                |c| gates::http_ok(c, port, "/status/health"),
            )?;
        }
        self.gate("broker readiness", &[Service::Broker], |c| {
            gates::http_ok(c, p.broker, "/druid/broker/v1/readiness")
        })?;
        self.gate("historical readiness", &[Service::Historical], |c| {
            gates::http_ok(c, p.historical, "/druid/historical/v1/readiness")
        })?;
        self.gate("workers non-empty", &[worker, Service::Coordinator], |c| {
            gates::http_json(
                c,
                p.coordinator,
                "/druid/indexer/v1/workers",
                gates::has_workers,
            )
        })?;
        if worker == Service::MiddleManager {
            self.gate("middle-manager enabled", &[worker], |c| {
                gates::http_json(
                    c,
                    p.worker,
                    "/druid/worker/v1/enabled",
                    gates::worker_enabled,
                )
            })?;
        }
        if self.opts.secure {
            for service in [
                Service::Coordinator,
                Service::Coordinator2,
                Service::Broker,
                Service::Historical,
                worker,
                Service::Router,
            ] {
                if !self.record.has(service) {
                    continue;
                }
                if let Some(port) = p.tls(service) {
                    self.gate(
                        &format!("{} TLS port {port} open", service.name()),
                        &[service],
                        |_| gates::tcp_open(port),
                    )?;
                }
            }
        }
        if self.opts.ha {
            let coordinators = [Service::Coordinator, Service::Coordinator2];
            self.gate(
                "one leader among coordinator and coordinator-2",
                &coordinators,
                |c| {
                    let views: Vec<View> = coordinators
                        .map(|s| View::ask(c, &p, s))
                        .into_iter()
                        .collect();
                    match control::settle(&views, &p) {
                        Ok(_) => Probe::Ready,
                        Err(e) => Probe::NotYet(e),
                    }
                },
            )?;
        }
        self.gate(
            "router SELECT 1",
            &[Service::Router, Service::Broker],
            |c| gates::select_one(&c.clone().with_timeout(Duration::from_secs(10)), p.router),
        )?;
        let startup = self.clock.secs() - self.first_start.unwrap_or(0.0);
        self.gates_passed = Some(startup);
        self.clock.say(format!(
            "ALL GATES PASSED: {startup:.1}s after the first process was started"
        ));
        Ok(())
    }

    /// The facts about the running cluster; writes `cluster.env`.
    fn describe(&self) -> Result<ClusterInfo, String> {
        let p = self.ports;
        let url = |port: u16| format!("http://localhost:{port}");
        let tls_url = |port: u16| format!("https://localhost:{port}");
        let services = self
            .children
            .iter()
            .map(|(service, child)| ServiceInfo {
                service: *service,
                pid: child.id(),
                url: p.url(*service),
            })
            .collect();
        let state = self.layout.state().display().to_string();
        let mut env = vec![
            ("DRUID_URL", url(p.router)),
            ("DRUID_VERSION", self.opts.version.clone()),
            ("DRUID_COORDINATOR_URL", url(p.coordinator)),
            ("DRUID_OVERLORD_URL", url(p.coordinator)),
            ("DRUID_BROKER_URL", url(p.broker)),
            ("DRUID_HISTORICAL_URL", url(p.historical)),
            ("DRUID_WORKER_URL", url(p.worker)),
            ("DRUID_WORKER", self.worker_service().name().to_owned()),
            ("DRUID_ZOOKEEPER", format!("localhost:{}", p.zookeeper)),
            ("DRUID_DERBY", format!("localhost:{}", p.derby)),
            ("DRUID_HA", if self.opts.ha { "1" } else { "0" }.to_owned()),
            ("DRUID_STATE_DIR", state),
            (
                "DRUID_SECURE",
                if self.opts.secure { "1" } else { "0" }.to_owned(),
            ),
        ];
        if self.opts.ha {
            env.push(("DRUID_COORDINATOR_2_URL", url(p.coordinator2)));
        }
        if self.opts.secure {
            env.extend([
                ("DRUID_TLS_URL", tls_url(p.router_tls)),
                ("DRUID_COORDINATOR_TLS_URL", tls_url(p.coordinator_tls)),
                ("DRUID_BROKER_TLS_URL", tls_url(p.broker_tls)),
                ("DRUID_HISTORICAL_TLS_URL", tls_url(p.historical_tls)),
                ("DRUID_WORKER_TLS_URL", tls_url(p.worker_tls)),
            ]);
            if self.opts.ha {
                env.push(("DRUID_COORDINATOR_2_TLS_URL", tls_url(p.coordinator2_tls)));
            }
            env.extend([
                (
                    "DRUID_CA_CERT",
                    self.layout.tls().join("ca.crt").display().to_string(),
                ),
                ("DRUID_USER", "admin".to_owned()),
                ("DRUID_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ]);
        }
        let leader = if self.opts.ha {
            let views: Vec<View> = [Service::Coordinator, Service::Coordinator2]
                .map(|s| View::ask(&self.client, &p, s))
                .into();
            control::settle(&views, &p)
                .inspect_err(|e| self.clock.say(format!("warning: no settled leader: {e}")))
                .ok()
        } else {
            Some(Service::Coordinator)
        };
        let info = ClusterInfo {
            router_url: url(p.router),
            version: self.opts.version.clone(),
            state_dir: self.layout.state().to_path_buf(),
            services,
            leader,
            env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            startup_secs: self.gates_passed.unwrap_or_default(),
            total_secs: self.clock.secs(),
        };
        let path = self.layout.cluster_env();
        let mut text = info.env_lines().join("\n");
        text.push('\n');
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(info)
    }

    /// Stops everything this run started (by the recorded PIDs) after a failure.
    fn abort(&mut self) {
        if self.children.is_empty() {
            return;
        }
        self.clock
            .say("up failed: stopping the processes started so far");
        if let Err(e) = stop_recorded(&self.layout, &self.clock) {
            eprintln!("warning: {e}");
        }
        // reap the exited children so no zombie is left behind while this process lives on
        for (_, child) in &mut self.children {
            if let Err(e) = child.try_wait() {
                eprintln!("warning: cannot reap pid {}: {e}", child.id());
            }
        }
    }
}

/// Fails (after printing its log) if one of the started JVMs has exited.
fn check_alive(
    layout: &Layout,
    children: &mut [(Service, Child)],
    label: &str,
) -> Result<(), String> {
    for (service, child) in children.iter_mut() {
        let exited = match child.try_wait() {
            Ok(Some(status)) => status.to_string(),
            Ok(None) => continue,
            Err(e) => format!("state unknown: {e}"),
        };
        process::print_tail(layout, *service, DEATH_LOG_LINES);
        return Err(format!(
            "{} (pid {}) exited ({exited}) while waiting for `{label}`; see {}",
            service.name(),
            child.id(),
            layout.log(*service).display()
        ));
    }
    Ok(())
}

/// The services `up` starts with these options, in start order.
fn cluster_services(opts: &UpOptions) -> Vec<Service> {
    let mut services = vec![Service::Zookeeper];
    if opts.ha {
        services.extend([Service::Derby, Service::Coordinator, Service::Coordinator2]);
    } else {
        services.push(Service::Coordinator);
    }
    services.extend([
        Service::Broker,
        Service::Historical,
        opts.worker.service(),
        Service::Router,
    ]);
    services
}

/// The JDK: `DRUID_JAVA_HOME` if set, else the Java 17 default if present, else `JAVA_HOME`.
fn find_java_home() -> Result<PathBuf, String> {
    let has_java = |home: &Path| home.join("bin/java").is_file();
    if let Some(home) = std::env::var_os("DRUID_JAVA_HOME").filter(|v| !v.is_empty()) {
        let home = PathBuf::from(home);
        return if has_java(&home) {
            Ok(home)
        } else {
            Err(format!(
                "DRUID_JAVA_HOME={} has no bin/java",
                home.display()
            ))
        };
    }
    let default = PathBuf::from(DEFAULT_JAVA_HOME);
    if has_java(&default) {
        return Ok(default);
    }
    match std::env::var_os("JAVA_HOME").map(PathBuf::from) {
        Some(home) if has_java(&home) => Ok(home),
        _ => Err(format!(
            "no Java 17 found: set DRUID_JAVA_HOME (tried {DEFAULT_JAVA_HOME} and JAVA_HOME)"
        )),
    }
}

/// Creates the state directory and returns its canonical layout (the canonical path is what
/// appears in the JVMs' command lines, so `down` can recognise them).
fn create_state_dir(dir: &Path) -> Result<Layout, String> {
    for sub in ["pids", "log"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    }
    let state = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    if state.to_str().is_none() {
        return Err(format!(
            "the state directory {} is not valid UTF-8 (it is written into the configuration)",
            state.display()
        ));
    }
    Ok(Layout::new(state))
}

/// The layout of an existing state directory, `None` if there is none.
pub(crate) fn existing_layout(dir: &Path) -> Result<Option<Layout>, String> {
    if !dir.exists() {
        return Ok(None);
    }
    let state = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    Ok(Some(Layout::new(state)))
}

/// Refuses to start if a recorded (or unrecorded) JVM of this state directory is alive or a
/// port is taken; removes stale pid files.
fn preflight(layout: &Layout, ports: &Ports, secure: bool, ha: bool) -> Result<(), String> {
    let down_hint = format!(
        "stop it first: cargo xtask druid down --state-dir {}",
        layout.state().display()
    );
    for service in Service::START_ORDER {
        match process::read_pid(layout, service) {
            Recorded::Nothing => {}
            Recorded::Pid(pid) if process::is_ours(layout, pid) => {
                return Err(format!(
                    "{} (pid {pid}) from an earlier `up` is still running; {down_hint}",
                    service.name()
                ));
            }
            Recorded::Pid(_) | Recorded::Garbage => process::remove_pid(layout, service)?,
        }
    }
    let unrecorded = process::scan_ours(layout);
    if !unrecorded.is_empty() {
        let list: Vec<String> = unrecorded
            .iter()
            .map(|(pid, cmdline)| format!("  pid {pid}: {}", shorten(cmdline)))
            .collect();
        return Err(format!(
            "JVMs started from {} are running but not recorded in pids/ (stop them by PID):\n{}",
            layout.state().display(),
            list.join("\n")
        ));
    }
    let busy: Vec<String> = ports
        .bound(secure, ha)
        .into_iter()
        .filter(|(port, _)| http::tcp_open(*port, Duration::from_millis(300)).is_ok())
        .map(|(port, what)| format!("{port} ({what})"))
        .collect();
    if !busy.is_empty() {
        return Err(format!(
            "port(s) already in use: {}; is another cluster running? (`--port-offset N` runs \
             a second one beside it)",
            busy.join(", ")
        ));
    }
    Ok(())
}

/// The tail of a long command line (the main class and its arguments are at the end).
fn shorten(cmdline: &str) -> String {
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    let start = words.len().saturating_sub(4);
    format!("... {}", words[start..].join(" "))
}

/// Wipes `var/` and `log/` and recreates the directories the configuration expects.
fn fresh_run_dirs(layout: &Layout) -> Result<(), String> {
    for dir in [layout.var(), layout.log_dir()] {
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
        }
    }
    let var = layout.var();
    let dirs = [
        var.join("tmp"),
        var.join("zk"),
        var.join("druid/segments"),
        var.join("druid/indexing-logs"),
        var.join("druid/task"),
        var.join("druid/segment-cache"),
        var.join("druid/processing"),
        layout.log_dir(),
        layout.pid_dir(),
    ];
    for dir in dirs {
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let env = layout.cluster_env();
    if env.exists() {
        fs::remove_file(&env).map_err(|e| format!("cannot remove {}: {e}", env.display()))?;
    }
    Ok(())
}

/// Stops exactly the JVMs recorded in `<state>/pids/` (those `start` started again included),
/// in reverse start order (SIGCONT, so that a JVM stopped by SIGSTOP acts on the SIGTERM that
/// follows; SIGKILL after 15 s), each only after checking that the PID is still one of ours.
pub(crate) fn down(state_dir: &Path) -> Result<(), String> {
    match existing_layout(state_dir)? {
        Some(layout) => stop_recorded(&layout, &Clock::new()),
        None => {
            println!("nothing to stop: {} does not exist", state_dir.display());
            Ok(())
        }
    }
}

/// The body of [`down`], also used by `up` to clean up after a failure.
fn stop_recorded(layout: &Layout, clock: &Clock) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut stopped = 0;
    for service in Service::START_ORDER.iter().rev().copied() {
        let name = service.name();
        let pid = match process::read_pid(layout, service) {
            Recorded::Nothing => continue,
            Recorded::Garbage => {
                clock.say(format!("{name}: pid file without a PID, removed"));
                process::remove_pid(layout, service)?;
                continue;
            }
            Recorded::Pid(pid) => pid,
        };
        let started = Instant::now();
        match process::stop(layout, pid) {
            Ok(Stopped::NotRunning) => clock.say(format!("{name} (pid {pid}) was not running")),
            Ok(Stopped::Terminated) => {
                stopped += 1;
                clock.say(format!(
                    "stopped {name} (pid {pid}) with SIGTERM in {:.1}s",
                    started.elapsed().as_secs_f64()
                ));
            }
            Ok(Stopped::Killed) => {
                stopped += 1;
                clock.say(format!(
                    "stopped {name} (pid {pid}) with SIGKILL after {:.1}s (SIGTERM was not enough)",
                    started.elapsed().as_secs_f64()
                ));
            }
            Ok(Stopped::StillAlive) => {
                problems.push(format!("{name} (pid {pid}) is still alive after SIGKILL"));
                continue;
            }
            Err(e) => {
                problems.push(format!("{name} (pid {pid}): {e}"));
                continue;
            }
        }
        process::remove_pid(layout, service)?;
    }
    for (pid, cmdline) in process::scan_ours(layout) {
        problems.push(format!(
            "pid {pid} was started from this state directory but is not recorded: {}",
            shorten(&cmdline)
        ));
    }
    if stopped == 0 && problems.is_empty() {
        clock.say(format!(
            "nothing was running (state {})",
            layout.state().display()
        ));
    } else {
        clock.say(format!("down: stopped {stopped} process(es)"));
    }
    if problems.is_empty() {
        for file in [layout.cluster_env(), layout.cluster_json()] {
            if file.exists() {
                fs::remove_file(&file)
                    .map_err(|e| format!("cannot remove {}: {e}", file.display()))?;
            }
        }
        Ok(())
    } else {
        Err(format!(
            "down left processes behind:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// Prints the tail of one service log, or of every log that exists.
pub(crate) fn logs(state_dir: &Path, service: Option<Service>, lines: usize) -> Result<(), String> {
    let Some(layout) = existing_layout(state_dir)? else {
        return Err(format!("no cluster state at {}", state_dir.display()));
    };
    let services: Vec<Service> = match service {
        Some(service) => vec![service],
        None => Service::START_ORDER
            .into_iter()
            .filter(|s| layout.log(*s).is_file())
            .collect(),
    };
    if services.is_empty() {
        return Err(format!("no logs in {}", layout.log_dir().display()));
    }
    for (i, service) in services.into_iter().enumerate() {
        let path = layout.log(service);
        let text = process::tail(&path, lines)?;
        if i > 0 {
            println!();
        }
        println!("==> {} ({}) <==", service.name(), path.display());
        for line in text {
            println!("{line}");
        }
    }
    Ok(())
}
