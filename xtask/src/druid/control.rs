//! Fault controls on a running cluster, one service at a time: `kill` (SIGKILL), `stop`
//! (SIGSTOP), `cont` (SIGCONT), `start` (the same command line again, then its readiness
//! gates), `leader` (which Coordinator-Overlord leads), and `status`.
//!
//! Every function takes the state directory of a cluster that `up` started and touches only the
//! JVMs recorded in its `pids/`, each only after checking (right before the signal) that the
//! PID is still one of ours (see [`process`]). They print one progress line per step and
//! return errors as one-line `String`s, so the fault-injection suite can call them directly:
//!
//! ```text
//! let victim = control::leader(dir)?;                     // ServiceInfo of the lead Coordinator
//! control::kill(dir, Target::Leader)?;                    // SIGKILL, waits until it is gone
//! let (next, secs) = control::wait_leader(dir, timeout)?; // the survivor took over
//! control::start(dir, Target::Service(victim.service))?;  // back, as a follower
//! control::stop(dir, Target::Service(Service::Broker))?;  // SIGSTOP ...
//! control::cont(dir, Target::Service(Service::Broker))?;  // ... and SIGCONT
//! ```

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::Child;
use std::str::FromStr;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::ServiceInfo;
use super::cluster::existing_layout;
use super::config::ADMIN_PASSWORD;
use super::gates::{self, Clock, GateError, Probe};
use super::http::{self, Client};
use super::layout::{Layout, Ports, Service};
use super::process::{self, Recorded, RunState};
use super::record::Record;

/// How long `kill` waits for the process to be gone after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(15);
/// How long `stop` and `cont` wait for the kernel to report the new state.
const SIGNAL_WAIT: Duration = Duration::from_secs(5);
/// How long `start` waits for the service's ports to be free.
const PORT_WAIT: Duration = Duration::from_secs(15);
/// Lines of the log shown when a gate of `start` fails.
const GATE_LOG_LINES: usize = 40;

/// What a fault command acts on: one service, or `leader`, whichever Coordinator-Overlord
/// leads now (asked over HTTP at the moment of the command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// One service by name (`broker`, `coordinator-2`, `derby`, ...).
    Service(Service),
    /// The lead Coordinator-Overlord.
    Leader,
}

impl FromStr for Target {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        if name == "leader" {
            return Ok(Target::Leader);
        }
        Service::from_name(name)
            .map(Target::Service)
            .ok_or_else(|| {
                let names: Vec<&str> = Service::START_ORDER.iter().map(|s| s.name()).collect();
                format!(
                    "unknown service `{name}`: use one of {}, or leader",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Service(service) => f.write_str(service.name()),
            Target::Leader => f.write_str("leader"),
        }
    }
}

/// A cluster opened from its state directory.
#[derive(Debug)]
struct Opened {
    /// The state directory.
    layout: Layout,
    /// What `up` recorded.
    record: Record,
    /// Its ports.
    ports: Ports,
    /// HTTP for the probes (Basic auth in the secure profile).
    client: Client,
}

impl Opened {
    /// Opens the cluster of `state_dir` (fails unless `up` recorded one there).
    fn new(state_dir: &Path) -> Result<Self, String> {
        let layout = existing_layout(state_dir)?
            .ok_or_else(|| format!("no cluster state at {}", state_dir.display()))?;
        let record = Record::read(&layout)?;
        let ports = record.ports()?;
        let mut client = Client::new(Duration::from_secs(5));
        if record.secure {
            client = client.with_basic_auth("admin", ADMIN_PASSWORD);
        }
        Ok(Opened {
            layout,
            record,
            ports,
            client,
        })
    }

    /// The service a target names in this cluster.
    fn resolve(&self, target: Target) -> Result<Service, String> {
        match target {
            Target::Leader => {
                let leader = self.settled_leader()?;
                say(format!(
                    "leader: {} ({})",
                    leader.name(),
                    self.ports.url(leader)
                ));
                Ok(leader)
            }
            Target::Service(service) if self.record.has(service) => Ok(service),
            Target::Service(service) => {
                let names: Vec<&str> = self.record.services().iter().map(|s| s.name()).collect();
                Err(format!(
                    "{} is not part of this cluster (it runs {}){}",
                    service.name(),
                    names.join(", "),
                    if service == Service::Coordinator2 {
                        "; `up --ha` starts coordinator-2"
                    } else {
                        ""
                    }
                ))
            }
        }
    }

    /// The recorded PID of a service.
    fn pid(&self, service: Service) -> Result<u32, String> {
        match process::read_pid(&self.layout, service) {
            Recorded::Pid(pid) => Ok(pid),
            Recorded::Nothing => Err(format!(
                "no pid recorded for {} in {}",
                service.name(),
                self.layout.pid_dir().display()
            )),
            Recorded::Garbage => Err(format!(
                "the pid file {} holds no PID",
                self.layout.pid_file(service).display()
            )),
        }
    }

    /// The recorded PID and its state (a missing pid file counts as gone).
    fn state(&self, service: Service) -> (Option<u32>, RunState) {
        match process::read_pid(&self.layout, service) {
            Recorded::Pid(pid) => (Some(pid), process::our_state(&self.layout, pid)),
            _ => (None, RunState::Gone),
        }
    }

    /// The description of a service with this PID.
    fn info(&self, service: Service, pid: u32) -> ServiceInfo {
        ServiceInfo {
            service,
            pid,
            url: self.ports.url(service),
        }
    }

    /// What every running (not stopped, not dead) Coordinator-Overlord says about leadership.
    fn views(&self) -> Vec<View> {
        self.record
            .coordinators()
            .into_iter()
            .filter(|s| self.state(*s).1 == RunState::Running)
            .map(|s| View::ask(&self.client, &self.ports, s))
            .collect()
    }

    /// The leader, when the running Coordinator-Overlords agree on exactly one (see
    /// [`settle`]).
    fn settled_leader(&self) -> Result<Service, String> {
        settle(&self.views(), &self.ports)
    }
}

/// `cargo xtask druid kill <name>`: SIGKILL, then waits (up to 15 s) until the process is gone.
/// Returns the process that was killed. A process that is not running is an error.
pub(crate) fn kill(state_dir: &Path, target: Target) -> Result<ServiceInfo, String> {
    let cluster = Opened::new(state_dir)?;
    let service = cluster.resolve(target)?;
    let pid = cluster.pid(service)?;
    let name = service.name();
    let started = Instant::now();
    if !process::signal_ours(&cluster.layout, pid, Signal::KILL)? {
        return Err(format!("{}: nothing to kill", dead(name, pid)));
    }
    if !process::wait_state(&cluster.layout, pid, RunState::Gone, KILL_WAIT) {
        return Err(format!(
            "{name} (pid {pid}) is still there {}s after SIGKILL",
            KILL_WAIT.as_secs()
        ));
    }
    say(format!(
        "killed {name} (pid {pid}) with SIGKILL; gone after {:.2}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(cluster.info(service, pid))
}

/// The error for a process that is gone (or whose PID is no longer one of ours).
fn dead(name: &str, pid: u32) -> String {
    format!("{name} (pid {pid}) is not running (dead; `start {name}` starts it again)")
}

/// `cargo xtask druid stop <name>`: SIGSTOP (the process freezes, its sockets stay open), then
/// waits until the kernel reports it stopped. Stopping a stopped process does nothing.
pub(crate) fn stop(state_dir: &Path, target: Target) -> Result<ServiceInfo, String> {
    signal_and_wait(
        state_dir,
        target,
        (Signal::STOP, "SIGSTOP"),
        RunState::Stopped,
    )
}

/// `cargo xtask druid cont <name>`: SIGCONT to a process stopped by [`stop`], then waits until
/// it runs again. Continuing a running process does nothing.
pub(crate) fn cont(state_dir: &Path, target: Target) -> Result<ServiceInfo, String> {
    signal_and_wait(
        state_dir,
        target,
        (Signal::CONT, "SIGCONT"),
        RunState::Running,
    )
}

/// The body of [`stop`] and [`cont`].
fn signal_and_wait(
    state_dir: &Path,
    target: Target,
    (sig, sig_name): (Signal, &str),
    want: RunState,
) -> Result<ServiceInfo, String> {
    let cluster = Opened::new(state_dir)?;
    let service = cluster.resolve(target)?;
    let pid = cluster.pid(service)?;
    let name = service.name();
    let word = if want == RunState::Stopped {
        "stopped"
    } else {
        "running"
    };
    match process::our_state(&cluster.layout, pid) {
        RunState::Gone => return Err(dead(name, pid)),
        state if state == want => {
            say(format!("{name} (pid {pid}) is already {word}"));
            return Ok(cluster.info(service, pid));
        }
        _ => {}
    }
    if !process::signal_ours(&cluster.layout, pid, sig)? {
        return Err(dead(name, pid));
    }
    if !process::wait_state(&cluster.layout, pid, want, SIGNAL_WAIT) {
        return Err(format!(
            "{name} (pid {pid}) is not {word} {}s after {sig_name}",
            SIGNAL_WAIT.as_secs()
        ));
    }
    say(format!("{name} (pid {pid}) {word} ({sig_name})"));
    Ok(cluster.info(service, pid))
}

/// `cargo xtask druid start <name>`: starts one service of the cluster again, with the command
/// line `up` recorded (so the same ports and `conf/`), appending to its log, and waits for its
/// readiness gates (each bounded by the cluster's gate timeout, with progress lines). Fails if
/// the service is still running or stopped, or its ports stay taken. If a gate fails, the new
/// process is left running (recorded, so `down` stops it) and the error names its log.
pub(crate) fn start(state_dir: &Path, target: Target) -> Result<ServiceInfo, String> {
    let Target::Service(service) = target else {
        return Err("start takes a service name, not `leader` (the leader is running)".to_owned());
    };
    let cluster = Opened::new(state_dir)?;
    let service = cluster.resolve(Target::Service(service))?;
    let name = service.name();
    let launch = cluster
        .record
        .launch(service)
        .ok_or_else(|| format!("no command line recorded for {name}"))?
        .clone();
    match cluster.state(service) {
        (Some(pid), RunState::Running) => {
            return Err(format!(
                "{name} (pid {pid}) is already running; `kill` it first"
            ));
        }
        (Some(pid), RunState::Stopped) => {
            return Err(format!(
                "{name} (pid {pid}) is stopped (SIGSTOP): `cont` it, or `kill` it first"
            ));
        }
        _ => {}
    }
    let clock = Clock::new();
    wait_ports_free(&cluster, service, &clock)?;

    let log = cluster.layout.log(service);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    writeln!(
        file,
        "\n===== cargo xtask druid start {name}: the same command line again ====="
    )
    .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    drop(file);
    let mut child = process::spawn_detached(
        &launch.program,
        &launch.args,
        cluster.layout.state(),
        &log,
        true,
    )?;
    let pid = child.id();
    process::write_pid(&cluster.layout, service, pid)?;
    clock.say(format!("started {name} (pid {pid}, log {})", log.display()));

    let result = gate_started(&cluster, service, &clock, &mut child);
    // Reap the child whenever it exits, so that a long-running caller (the fault suite) keeps
    // no zombies; a CLI exits first and the child lives on, adopted by init.
    std::thread::spawn(move || child.wait());
    result?;
    clock.say(format!(
        "{name} is ready ({:.1}s after the start)",
        clock.secs()
    ));
    Ok(cluster.info(service, pid))
}

/// Waits until nothing listens on the ports the service is about to bind.
fn wait_ports_free(cluster: &Opened, service: Service, clock: &Clock) -> Result<(), String> {
    let p = &cluster.ports;
    let mut ports = vec![p.plaintext(service)];
    if cluster.record.secure
        && let Some(tls) = p.tls(service)
    {
        ports.push(tls);
    }
    match (service, cluster.record.ha) {
        (Service::Coordinator, false) => ports.push(p.derby),
        (Service::Coordinator, true) => ports.push(p.coordinator_derby),
        (Service::Coordinator2, _) => ports.push(p.coordinator2_derby),
        _ => {}
    }
    let label = format!("{} port(s) {ports:?} free", service.name());
    gates::wait(
        clock,
        &label,
        PORT_WAIT,
        || {
            let busy: Vec<u16> = ports
                .iter()
                .copied()
                .filter(|port| http::tcp_open(*port, Duration::from_millis(300)).is_ok())
                .collect();
            if busy.is_empty() {
                Probe::Ready
            } else {
                Probe::NotYet(format!("in use: {busy:?}"))
            }
        },
        || Ok(()),
    )
    .map(drop)
    .map_err(|e| {
        format!(
            "cannot start {}: {} (is another process using them?)",
            service.name(),
            describe(&e)
        )
    })
}

/// One readiness gate of [`start`]: its label and its probe.
type Gate<'a> = (String, Box<dyn FnMut(&Client) -> Probe + 'a>);

/// The readiness gates of one service started again (the same checks `up` makes for it).
fn gates_for(cluster: &Opened, service: Service) -> Vec<Gate<'_>> {
    let p = cluster.ports;
    let port = p.plaintext(service);
    let name = service.name();
    let mut list: Vec<Gate<'_>> = Vec::new();
    match service {
        Service::Zookeeper => {
            list.push((
                format!("zookeeper tcp {port}"),
                Box::new(move |_| gates::tcp_open(port)),
            ));
            list.push((
                "zookeeper ruok".to_owned(),
                Box::new(move |_| {
                    match http::zookeeper_four_letter(port, "ruok", Duration::from_secs(3)) {
                        Ok(answer) if answer.trim() == "imok" => Probe::Ready,
                        Ok(answer) => Probe::NotYet(format!("ruok: {answer:?}")),
                        Err(e) => Probe::NotYet(e),
                    }
                }),
            ));
            return list;
        }
        Service::Derby => {
            list.push((
                format!("derby tcp {port}"),
                Box::new(move |_| gates::tcp_open(port)),
            ));
            return list;
        }
        _ => {}
    }
    list.push((
        format!("{name} /status/health"),
        Box::new(move |c| gates::http_ok(c, port, "/status/health")),
    ));
    if cluster.record.secure
        && let Some(tls) = p.tls(service)
    {
        list.push((
            format!("{name} TLS port {tls} open"),
            Box::new(move |_| gates::tcp_open(tls)),
        ));
    }
    match service {
        Service::Coordinator | Service::Coordinator2 => {
            list.push((
                "one leader among the Coordinator-Overlords".to_owned(),
                Box::new(move |_| match cluster.settled_leader() {
                    Ok(_) => Probe::Ready,
                    Err(e) => Probe::NotYet(e),
                }),
            ));
        }
        Service::Broker => {
            list.push((
                "broker readiness".to_owned(),
                Box::new(move |c| gates::http_ok(c, port, "/druid/broker/v1/readiness")),
            ));
            // the Router must have found the new Broker before SQL through it works again
            if cluster.state(Service::Router).1 == RunState::Running {
                let router = p.router;
                list.push((
                    "router SELECT 1".to_owned(),
                    Box::new(move |c| {
                        gates::select_one(&c.clone().with_timeout(Duration::from_secs(10)), router)
                    }),
                ));
            }
        }
        Service::Historical => list.push((
            "historical readiness".to_owned(),
            Box::new(move |c| gates::http_ok(c, port, "/druid/historical/v1/readiness")),
        )),
        Service::Indexer | Service::MiddleManager => {
            if service == Service::MiddleManager {
                list.push((
                    "middle-manager enabled".to_owned(),
                    Box::new(move |c| {
                        gates::http_json(c, port, "/druid/worker/v1/enabled", gates::worker_enabled)
                    }),
                ));
            }
            list.push((
                "workers non-empty at the lead Overlord".to_owned(),
                Box::new(move |c| match cluster.settled_leader() {
                    Ok(leader) => gates::http_json(
                        c,
                        p.plaintext(leader),
                        "/druid/indexer/v1/workers",
                        gates::has_workers,
                    ),
                    Err(e) => Probe::NotYet(format!("no lead Overlord: {e}")),
                }),
            ));
        }
        Service::Router => list.push((
            "router SELECT 1".to_owned(),
            Box::new(move |c| {
                gates::select_one(&c.clone().with_timeout(Duration::from_secs(10)), port)
            }),
        )),
        Service::Zookeeper | Service::Derby => {}
    }
    list
}

/// Runs the gates of a service that `start` just started; fails early if it exits.
fn gate_started(
    cluster: &Opened,
    service: Service,
    clock: &Clock,
    child: &mut Child,
) -> Result<(), String> {
    let timeout = cluster.record.gate_timeout();
    let log = cluster.layout.log(service);
    for (label, mut probe) in gates_for(cluster, service) {
        let result = gates::wait(
            clock,
            &label,
            timeout,
            || probe(&cluster.client),
            || match child.try_wait() {
                Ok(None) => Ok(()),
                Ok(Some(status)) => Err(format!(
                    "{} (pid {}) exited ({status}) while waiting for `{label}`",
                    service.name(),
                    child.id()
                )),
                Err(e) => Err(format!("cannot check pid {}: {e}", child.id())),
            },
        );
        if let Err(e) = result {
            process::print_tail(&cluster.layout, service, GATE_LOG_LINES);
            let alive = if matches!(e, GateError::Watchdog(_)) {
                String::new()
            } else {
                format!(
                    "; it is still running (pid {}, `down` or `kill {}` stops it)",
                    child.id(),
                    service.name()
                )
            };
            return Err(format!(
                "gate `{label}` of {}: {}{alive}; see {}",
                service.name(),
                describe_with(&e, timeout),
                log.display()
            ));
        }
    }
    Ok(())
}

/// `cargo xtask druid leader`: the Coordinator-Overlord that leads now. Fails unless the running
/// Coordinator-Overlords agree on exactly one leader, which leads both the Coordinator and the
/// Overlord (see [`settle`]); while leadership moves, use [`wait_leader`].
pub(crate) fn leader(state_dir: &Path) -> Result<ServiceInfo, String> {
    let cluster = Opened::new(state_dir)?;
    let service = cluster.settled_leader()?;
    let pid = cluster.pid(service)?;
    Ok(cluster.info(service, pid))
}

/// Waits up to `timeout` (progress every 10 s) until exactly one running Coordinator-Overlord
/// leads (as [`leader`] checks it); returns it and the seconds waited. After `kill leader` this
/// is the failover: the survivor takes over once ZooKeeper expires the dead leader's session.
pub(crate) fn wait_leader(
    state_dir: &Path,
    timeout: Duration,
) -> Result<(ServiceInfo, f64), String> {
    let cluster = Opened::new(state_dir)?;
    let clock = Clock::new();
    let mut found = None;
    let waited = gates::wait(
        &clock,
        "one leader among the Coordinator-Overlords",
        timeout,
        || match cluster.settled_leader() {
            Ok(service) => {
                found = Some(service);
                Probe::Ready
            }
            Err(e) => Probe::NotYet(e),
        },
        || Ok(()),
    )
    .map_err(|e| describe_with(&e, timeout))?;
    let service = found.ok_or("the leader gate passed without a leader")?;
    let pid = cluster.pid(service)?;
    Ok((cluster.info(service, pid), waited))
}

/// What one running Coordinator-Overlord answers about leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    /// Which of the two it is.
    pub(crate) service: Service,
    /// `GET /druid/coordinator/v1/leader`: the lead Coordinator's URL, or what came instead.
    pub(crate) coordinator_leader: Result<String, String>,
    /// `GET /druid/indexer/v1/leader`: the lead Overlord's URL, or what came instead.
    pub(crate) overlord_leader: Result<String, String>,
    /// `GET /druid/coordinator/v1/isLeader`: 200 is `true`, 404 is `false`.
    pub(crate) leads_coordinator: Result<bool, String>,
    /// `GET /druid/indexer/v1/isLeader`: 200 is `true`, 404 is `false`.
    pub(crate) leads_overlord: Result<bool, String>,
}

impl View {
    /// Asks one Coordinator-Overlord (four GETs on its plaintext port).
    pub(crate) fn ask(client: &Client, ports: &Ports, service: Service) -> View {
        let port = ports.plaintext(service);
        let url = |path: &str| match client.get(port, path) {
            Ok(r) if r.is_success() && !r.body.trim().is_empty() => Ok(r.body.trim().to_owned()),
            Ok(r) => Err(r.summary()),
            Err(e) => Err(e),
        };
        let is = |path: &str| match client.get(port, path) {
            Ok(r) if r.status == 200 => Ok(true),
            Ok(r) if r.status == 404 => Ok(false),
            Ok(r) => Err(r.summary()),
            Err(e) => Err(e),
        };
        View {
            service,
            coordinator_leader: url("/druid/coordinator/v1/leader"),
            overlord_leader: url("/druid/indexer/v1/leader"),
            leads_coordinator: is("/druid/coordinator/v1/isLeader"),
            leads_overlord: is("/druid/indexer/v1/isLeader"),
        }
    }

    /// Whether it says it leads both roles.
    fn leads(&self) -> bool {
        self.leads_coordinator == Ok(true) && self.leads_overlord == Ok(true)
    }

    /// `leader`, `follower`, or what it answered.
    pub(crate) fn role(&self) -> String {
        match (&self.leads_coordinator, &self.leads_overlord) {
            (Ok(true), Ok(true)) => "LEADER".to_owned(),
            (Ok(false), Ok(false)) => "follower".to_owned(),
            (Ok(c), Ok(o)) => format!("split (leads coordinator: {c}, overlord: {o})"),
            (Err(e), _) | (_, Err(e)) => format!("isLeader: {e}"),
        }
    }
}

/// The port of a URL like `http://localhost:8081` (Druid's leader answers).
fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// The one leader that `views` (one per running Coordinator-Overlord) agree on, or why there is
/// none: every view must name the same URL as lead Coordinator and as lead Overlord, that URL
/// must be one of the views' own service (plaintext or TLS port), which must answer `isLeader`
/// 200 for both roles, and every other view must answer 404 for both.
pub(crate) fn settle(views: &[View], ports: &Ports) -> Result<Service, String> {
    if views.is_empty() {
        return Err("no Coordinator-Overlord is running".to_owned());
    }
    let mut url: Option<&str> = None;
    for view in views {
        let name = view.service.name();
        for (role, answer) in [
            ("Coordinator", &view.coordinator_leader),
            ("Overlord", &view.overlord_leader),
        ] {
            let said = answer
                .as_deref()
                .map_err(|e| format!("{name} names no lead {role}: {e}"))?;
            match url {
                None => url = Some(said),
                Some(first) if first.trim_end_matches('/') == said.trim_end_matches('/') => {}
                Some(first) => {
                    return Err(format!(
                        "leadership is moving: {name} names {said} as lead {role}, not {first}"
                    ));
                }
            }
        }
    }
    let url = url.unwrap_or_default();
    let leader = url_port(url)
        .and_then(|port| ports.service_at(port))
        .filter(|s| s.is_coordinator())
        .ok_or_else(|| format!("the leader {url} is none of this cluster's Coordinators"))?;
    let Some(lead_view) = views.iter().find(|v| v.service == leader) else {
        return Err(format!(
            "the others still name {} ({url}) as leader, which is not running (dead or stopped)",
            leader.name()
        ));
    };
    if !lead_view.leads() {
        return Err(format!(
            "{} is named leader but answers isLeader: {}",
            leader.name(),
            lead_view.role()
        ));
    }
    if let Some(other) = views.iter().find(|v| {
        v.service != leader && (v.leads_coordinator != Ok(false) || v.leads_overlord != Ok(false))
    }) {
        return Err(format!(
            "{} leads, but {} answers isLeader: {}",
            leader.name(),
            other.service.name(),
            other.role()
        ));
    }
    Ok(leader)
}

/// One service as [`statuses`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceStatus {
    /// Which service.
    pub(crate) service: Service,
    /// Its recorded PID (`None` without a pid file).
    pub(crate) pid: Option<u32>,
    /// Running, stopped (SIGSTOP) or dead.
    pub(crate) state: RunState,
    /// Its URL (`localhost:<port>` for ZooKeeper and Derby).
    pub(crate) url: String,
    /// For a running Coordinator-Overlord: what it says of its own leadership.
    pub(crate) role: Option<String>,
}

/// Every service of the cluster with its PID, state, URL and (Coordinators) role, and the
/// settled leader or why there is none.
pub(crate) fn statuses(
    state_dir: &Path,
) -> Result<(Vec<ServiceStatus>, Result<Service, String>), String> {
    let cluster = Opened::new(state_dir)?;
    let views = cluster.views();
    let list = cluster
        .record
        .services()
        .into_iter()
        .map(|service| {
            let (pid, state) = cluster.state(service);
            ServiceStatus {
                service,
                pid,
                state,
                url: cluster.ports.url(service),
                role: views.iter().find(|v| v.service == service).map(View::role),
            }
        })
        .collect();
    Ok((list, settle(&views, &cluster.ports)))
}

/// `cargo xtask druid status`: prints every service (PID, state, RSS, URL, health, and for the
/// Coordinator-Overlords which one leads), the leader, and `cluster.env`. Fails unless every
/// service runs and is healthy.
pub(crate) fn status(state_dir: &Path) -> Result<(), String> {
    let cluster = Opened::new(state_dir)?;
    let (list, leader) = statuses(state_dir)?;
    println!(
        "{:<15} {:>8} {:<17} {:>7}  {:<24} health",
        "service", "pid", "state", "rss MiB", "url"
    );
    let mut healthy = 0;
    for s in &list {
        let state = match s.state {
            RunState::Running => "running",
            RunState::Stopped => "stopped (SIGSTOP)",
            RunState::Gone => "dead",
        };
        let health = match s.state {
            RunState::Running => health(&cluster, s.service),
            RunState::Stopped => Err("- (not probed while stopped)".to_owned()),
            RunState::Gone => Err("-".to_owned()),
        };
        if health.is_ok() {
            healthy += 1;
        }
        let mut health = health.unwrap_or_else(|e| e);
        if let Some(role) = &s.role {
            health = format!("{health}; {role}");
        }
        let rss = s
            .pid
            .filter(|_| s.state != RunState::Gone)
            .and_then(process::rss_kib)
            .map_or("-".to_owned(), |kib| format!("{:.0}", kib as f64 / 1024.0));
        println!(
            "{:<15} {:>8} {state:<17} {rss:>7}  {:<24} {health}",
            s.service.name(),
            s.pid.map_or("-".to_owned(), |p| p.to_string()),
            s.url,
        );
    }
    match &leader {
        Ok(service) => println!(
            "leader          {} ({}), Coordinator and Overlord",
            service.name(),
            cluster.ports.url(*service)
        ),
        Err(e) => println!("leader          none settled: {e}"),
    }
    let env = cluster.layout.cluster_env();
    match fs::read_to_string(&env) {
        Ok(text) => println!("\n{}:\n{}", env.display(), text.trim_end()),
        Err(_) => println!(
            "\n{} does not exist (no `up` finished since the last `down`)",
            env.display()
        ),
    }
    if healthy == list.len() {
        Ok(())
    } else {
        Err(format!(
            "{healthy} of {} services are running and healthy",
            list.len()
        ))
    }
}

/// One service's health: `/status/health` for Druid, `ruok` for ZooKeeper, a TCP connect for
/// Derby.
fn health(cluster: &Opened, service: Service) -> Result<String, String> {
    let port = cluster.ports.plaintext(service);
    match service {
        Service::Zookeeper => {
            match http::zookeeper_four_letter(port, "ruok", Duration::from_secs(3)) {
                Ok(answer) if answer.trim() == "imok" => Ok("ok (ruok: imok)".to_owned()),
                Ok(answer) => Err(format!("ruok: {answer:?}")),
                Err(e) => Err(e),
            }
        }
        Service::Derby => {
            http::tcp_open(port, Duration::from_secs(3)).map(|()| "ok (tcp)".to_owned())
        }
        _ => match cluster.client.get(port, "/status/health") {
            Ok(r) if r.is_success() && r.body.trim() == "true" => {
                Ok("ok (/status/health: true)".to_owned())
            }
            Ok(r) => Err(r.summary()),
            Err(e) => Err(e),
        },
    }
}

/// A gate error as one line.
fn describe(error: &GateError) -> String {
    match error {
        GateError::TimedOut(last) => format!("timed out; last: {last}"),
        GateError::Fatal(message) | GateError::Watchdog(message) => message.clone(),
    }
}

/// A gate error as one line, with the timeout.
fn describe_with(error: &GateError, timeout: Duration) -> String {
    match error {
        GateError::TimedOut(last) => {
            format!(
                "did not pass within {}s; last answer: {last}",
                timeout.as_secs()
            )
        }
        other => describe(other),
    }
}

/// Prints a progress line.
fn say(message: String) {
    println!("{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(service: Service, leader: &str, leads: bool) -> View {
        View {
            service,
            coordinator_leader: Ok(leader.to_owned()),
            overlord_leader: Ok(leader.to_owned()),
            leads_coordinator: Ok(leads),
            leads_overlord: Ok(leads),
        }
    }

    #[test]
    fn parses_names_and_leader() {
        assert_eq!("leader".parse(), Ok(Target::Leader));
        assert_eq!("broker".parse(), Ok(Target::Service(Service::Broker)));
        assert_eq!(
            "coordinator-2".parse(),
            Ok(Target::Service(Service::Coordinator2))
        );
        assert_eq!("derby".parse(), Ok(Target::Service(Service::Derby)));
        assert_eq!(
            "middle-manager".parse(),
            Ok(Target::Service(Service::MiddleManager))
        );
        let err = "overlord".parse::<Target>().unwrap_err();
        assert!(err.contains("unknown service `overlord`"), "{err}");
        assert!(
            err.contains("coordinator-2") && err.ends_with("or leader"),
            "{err}"
        );
        for service in Service::START_ORDER {
            let target = Target::Service(service);
            assert_eq!(target.to_string().parse(), Ok(target));
        }
        assert_eq!(Target::Leader.to_string(), "leader");
    }

    #[test]
    fn reads_the_port_of_a_leader_url() {
        assert_eq!(url_port("http://localhost:9081"), Some(9081));
        assert_eq!(url_port("https://127.0.0.1:19281/"), Some(19281));
        assert_eq!(url_port("localhost:8081"), Some(8081));
        assert_eq!(url_port("http://localhost"), None);
    }

    #[test]
    fn settles_on_the_one_leader() {
        let ports = Ports::with_offset(1000).unwrap();
        let one = "http://localhost:9081";
        let two = "http://localhost:19081";
        use Service::{Coordinator as C1, Coordinator2 as C2};
        // both agree, the leader says so, the other is a follower
        assert_eq!(
            settle(&[view(C1, one, true), view(C2, one, false)], &ports),
            Ok(C1)
        );
        assert_eq!(
            settle(&[view(C1, two, false), view(C2, two, true)], &ports),
            Ok(C2)
        );
        // the TLS URL names the same service
        assert_eq!(
            settle(&[view(C2, "https://localhost:19281", true)], &ports),
            Ok(C2)
        );
        // one Coordinator (no --ha)
        assert_eq!(settle(&[view(C1, one, true)], &ports), Ok(C1));
        // after kill -9 of the leader: the survivor still names it, not yet settled
        let err = settle(&[view(C2, one, false)], &ports).unwrap_err();
        assert!(err.contains("not running"), "{err}");
        // disagreement
        let err = settle(&[view(C1, one, true), view(C2, two, false)], &ports).unwrap_err();
        assert!(err.contains("leadership is moving"), "{err}");
        // two say they lead
        let err = settle(&[view(C1, one, true), view(C2, one, true)], &ports).unwrap_err();
        assert!(
            err.contains("coordinator-2 answers isLeader: LEADER"),
            "{err}"
        );
        // the named leader does not know yet
        let err = settle(&[view(C1, one, false), view(C2, one, false)], &ports).unwrap_err();
        assert!(err.contains("named leader"), "{err}");
        // Coordinator and Overlord led by different JVMs
        let mut split = view(C1, one, true);
        split.overlord_leader = Ok(two.to_owned());
        assert!(settle(&[split], &ports).is_err());
        // no answer
        let mut silent = view(C1, one, true);
        silent.coordinator_leader = Err("HTTP 503".to_owned());
        let err = settle(&[silent], &ports).unwrap_err();
        assert!(
            err.contains("coordinator names no lead Coordinator: HTTP 503"),
            "{err}"
        );
        assert!(settle(&[], &ports).is_err());
        // a URL of no Coordinator of this cluster
        let err = settle(&[view(C1, "http://localhost:8081", true)], &ports).unwrap_err();
        assert!(err.contains("none of this cluster's"), "{err}");
    }

    #[test]
    fn roles_read_like_status() {
        assert_eq!(view(Service::Coordinator, "x", true).role(), "LEADER");
        assert_eq!(view(Service::Coordinator, "x", false).role(), "follower");
        let mut split = view(Service::Coordinator, "x", true);
        split.leads_overlord = Ok(false);
        assert!(split.role().starts_with("split"));
    }

    #[test]
    fn controls_need_a_recorded_cluster() {
        let dir = std::env::temp_dir().join(format!("xtask-druid-control-{}", std::process::id()));
        let missing = kill(&dir, Target::Leader).unwrap_err();
        assert!(missing.contains("no cluster state"), "{missing}");
        fs::create_dir_all(&dir).unwrap();
        let unrecorded = stop(&dir, Target::Service(Service::Broker)).unwrap_err();
        assert!(unrecorded.contains("cargo xtask druid up"), "{unrecorded}");
        let layout = Layout::new(dir.canonicalize().unwrap());
        super::super::record::tests::sample(false)
            .write(&layout)
            .unwrap();
        let not_here = kill(&dir, Target::Service(Service::Coordinator2)).unwrap_err();
        assert!(not_here.contains("not part of this cluster"), "{not_here}");
        assert!(not_here.contains("up --ha"), "{not_here}");
        let no_pid = cont(&dir, Target::Service(Service::Broker)).unwrap_err();
        assert!(no_pid.contains("no pid recorded for broker"), "{no_pid}");
        // a PID that is not ours is never signalled
        fs::create_dir_all(layout.pid_dir()).unwrap();
        process::write_pid(&layout, Service::Broker, std::process::id()).unwrap();
        let not_ours = kill(&dir, Target::Service(Service::Broker)).unwrap_err();
        assert!(not_ours.ends_with("nothing to kill"), "{not_ours}");
        let not_ours = stop(&dir, Target::Service(Service::Broker)).unwrap_err();
        assert!(
            not_ours.contains("is not running (dead; `start broker`"),
            "{not_ours}"
        );
        let leader = start(&dir, Target::Leader).unwrap_err();
        assert!(leader.contains("start takes a service name"), "{leader}");
        // no Coordinator runs: `leader` says so
        let none = kill(&dir, Target::Leader).unwrap_err();
        assert_eq!(none, "no Coordinator-Overlord is running");
        fs::remove_dir_all(&dir).unwrap();
    }
}
