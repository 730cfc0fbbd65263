//! The vocabulary shared by the other files: the services, the worker flavour, the ports and the
//! layout of the state directory.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

/// One JVM of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Service {
    /// ZooKeeper (standalone, from Druid's own `lib/`).
    Zookeeper,
    /// With `--ha`: Derby's network server, the metadata store, as its own JVM (from the Derby
    /// jars in Druid's `lib/`), so that it outlives either Coordinator. (Without `--ha` the
    /// Coordinator runs the metadata store itself, as Druid's quickstart does.)
    Derby,
    /// The Coordinator, also running as Overlord.
    Coordinator,
    /// The second Coordinator-Overlord of `up --ha` (same roles, its own ports), a standby
    /// that takes over leadership through ZooKeeper when the leader goes away.
    #[value(name = "coordinator-2")]
    Coordinator2,
    /// The Broker.
    Broker,
    /// The Historical.
    Historical,
    /// The Indexer (runs tasks as threads), one of the two worker flavours.
    Indexer,
    /// The MiddleManager (forks a peon JVM per task), the other worker flavour.
    MiddleManager,
    /// The Router, the cluster's single entry point.
    Router,
}

impl Service {
    /// Every service, in start order (only one of the two workers runs at a time;
    /// `derby` and `coordinator-2` only with `--ha`).
    pub(crate) const START_ORDER: [Service; 9] = [
        Service::Zookeeper,
        Service::Derby,
        Service::Coordinator,
        Service::Coordinator2,
        Service::Broker,
        Service::Historical,
        Service::Indexer,
        Service::MiddleManager,
        Service::Router,
    ];

    /// The name used for the pid file, the log file and on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::Zookeeper => "zookeeper",
            Service::Derby => "derby",
            Service::Coordinator => "coordinator",
            Service::Coordinator2 => "coordinator-2",
            Service::Broker => "broker",
            Service::Historical => "historical",
            Service::Indexer => "indexer",
            Service::MiddleManager => "middle-manager",
            Service::Router => "router",
        }
    }

    /// The directory under `conf/` holding this service's configuration.
    pub(crate) fn conf_dir(self) -> &'static str {
        match self {
            Service::Zookeeper => "zk",
            Service::Derby => "derby",
            Service::Coordinator => "coordinator-overlord",
            Service::Coordinator2 => "coordinator-overlord-2",
            Service::Broker => "broker",
            Service::Historical => "historical",
            Service::Indexer => "indexer",
            Service::MiddleManager => "middleManager",
            Service::Router => "router",
        }
    }

    /// The argument of `org.apache.druid.cli.Main server <role>`; `None` for ZooKeeper and
    /// Derby.
    pub(crate) fn druid_role(self) -> Option<&'static str> {
        match self {
            Service::Zookeeper | Service::Derby => None,
            Service::Coordinator | Service::Coordinator2 => Some("coordinator"),
            Service::Broker => Some("broker"),
            Service::Historical => Some("historical"),
            Service::Indexer => Some("indexer"),
            Service::MiddleManager => Some("middleManager"),
            Service::Router => Some("router"),
        }
    }

    /// The service of this name ([`Service::name`]), if any.
    pub(crate) fn from_name(name: &str) -> Option<Service> {
        Service::START_ORDER.into_iter().find(|s| s.name() == name)
    }

    /// Whether this is one of the two Coordinator-Overlords.
    pub(crate) fn is_coordinator(self) -> bool {
        matches!(self, Service::Coordinator | Service::Coordinator2)
    }
}

/// Which process executes ingestion tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum Worker {
    /// An Indexer: tasks run as threads inside one JVM (fast, the default).
    #[default]
    Indexer,
    /// A MiddleManager: every task forks its own peon JVM (closer to production).
    MiddleManager,
}

impl Worker {
    /// The service that implements this worker flavour.
    pub(crate) fn service(self) -> Service {
        match self {
            Worker::Indexer => Service::Indexer,
            Worker::MiddleManager => Service::MiddleManager,
        }
    }
}

/// Every port the cluster listens on, already shifted by the port offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ports {
    /// The offset that was added to every default port.
    pub(crate) offset: u16,
    /// ZooKeeper client port (default 2181).
    pub(crate) zookeeper: u16,
    /// The Derby network server, the metadata store every Druid service connects to
    /// (default 1527).
    pub(crate) derby: u16,
    /// With `--ha`: where the Coordinator's own Derby network server listens, idle (default
    /// 1528). (With one Coordinator, its Derby server is the metadata store, on [`Ports::derby`].)
    ///
    /// Druid's Derby module starts a network server inside every Coordinator, on
    /// `druid.metadata.storage.connector.host:port`, and on a graceful stop sends Derby's
    /// shutdown command to that address. Pointed at [`Ports::derby`], a Coordinator that is
    /// stopped would shut down the metadata store of the whole cluster; so each Coordinator
    /// gets a port of its own that nothing connects to, and only `connectURI` names the real
    /// one.
    pub(crate) coordinator_derby: u16,
    /// The same for `coordinator-2` (default 1529).
    pub(crate) coordinator2_derby: u16,
    /// Coordinator + Overlord plaintext port (default 8081).
    pub(crate) coordinator: u16,
    /// The second Coordinator + Overlord of `--ha`, plaintext port (default 18081, far from
    /// every port Druid uses).
    pub(crate) coordinator2: u16,
    /// Broker plaintext port (default 8082).
    pub(crate) broker: u16,
    /// Historical plaintext port (default 8083).
    pub(crate) historical: u16,
    /// Indexer or MiddleManager plaintext port (default 8091).
    pub(crate) worker: u16,
    /// Router plaintext port (default 8888).
    pub(crate) router: u16,
    /// Coordinator TLS port (default 8281).
    pub(crate) coordinator_tls: u16,
    /// The second Coordinator's TLS port (default 18281).
    pub(crate) coordinator2_tls: u16,
    /// Broker TLS port (default 8282).
    pub(crate) broker_tls: u16,
    /// Historical TLS port (default 8283).
    pub(crate) historical_tls: u16,
    /// Worker TLS port (default 8291).
    pub(crate) worker_tls: u16,
    /// Router TLS port (default 9088).
    pub(crate) router_tls: u16,
    /// First port the MiddleManager hands to its peons (Druid's default 8100).
    pub(crate) peon_start: u16,
}

impl Ports {
    /// The default ports shifted by `offset`; fails if a port would exceed 65535.
    pub(crate) fn with_offset(offset: u16) -> Result<Self, String> {
        let shift = |base: u16| {
            base.checked_add(offset).ok_or_else(|| {
                format!("--port-offset {offset} is too large: port {base} would exceed 65535")
            })
        };
        Ok(Ports {
            offset,
            zookeeper: shift(2181)?,
            derby: shift(1527)?,
            coordinator_derby: shift(1528)?,
            coordinator2_derby: shift(1529)?,
            coordinator: shift(8081)?,
            coordinator2: shift(18081)?,
            broker: shift(8082)?,
            historical: shift(8083)?,
            worker: shift(8091)?,
            router: shift(8888)?,
            coordinator_tls: shift(8281)?,
            coordinator2_tls: shift(18281)?,
            broker_tls: shift(8282)?,
            historical_tls: shift(8283)?,
            worker_tls: shift(8291)?,
            router_tls: shift(9088)?,
            peon_start: shift(8100)?,
        })
    }

    /// The port a service is probed on (plaintext; the client port for ZooKeeper and
    /// Derby).
    pub(crate) fn plaintext(&self, service: Service) -> u16 {
        match service {
            Service::Zookeeper => self.zookeeper,
            Service::Derby => self.derby,
            Service::Coordinator => self.coordinator,
            Service::Coordinator2 => self.coordinator2,
            Service::Broker => self.broker,
            Service::Historical => self.historical,
            Service::Indexer | Service::MiddleManager => self.worker,
            Service::Router => self.router,
        }
    }

    /// A service's TLS port (`None` for ZooKeeper and Derby, which never use TLS here).
    pub(crate) fn tls(&self, service: Service) -> Option<u16> {
        match service {
            Service::Zookeeper | Service::Derby => None,
            Service::Coordinator => Some(self.coordinator_tls),
            Service::Coordinator2 => Some(self.coordinator2_tls),
            Service::Broker => Some(self.broker_tls),
            Service::Historical => Some(self.historical_tls),
            Service::Indexer | Service::MiddleManager => Some(self.worker_tls),
            Service::Router => Some(self.router_tls),
        }
    }

    /// A service's plaintext URL (`localhost:<port>` for ZooKeeper and Derby, which do not
    /// speak HTTP).
    pub(crate) fn url(&self, service: Service) -> String {
        match service {
            Service::Zookeeper | Service::Derby => format!("localhost:{}", self.plaintext(service)),
            other => format!("http://localhost:{}", self.plaintext(other)),
        }
    }

    /// The service whose plaintext or TLS port this is (the Indexer for the worker port) (Druid names its leaders by URL).
    pub(crate) fn service_at(&self, port: u16) -> Option<Service> {
        Service::START_ORDER
            .into_iter()
            .find(|s| self.plaintext(*s) == port || self.tls(*s) == Some(port))
    }

    /// Every port a cluster of this profile binds, with what it is for (for the "port in use"
    /// check before starting).
    pub(crate) fn bound(&self, secure: bool, ha: bool) -> Vec<(u16, &'static str)> {
        let mut ports = vec![
            (self.zookeeper, "ZooKeeper"),
            (self.derby, "Derby"),
            (self.coordinator, "Coordinator/Overlord"),
            (self.broker, "Broker"),
            (self.historical, "Historical"),
            (self.worker, "Indexer/MiddleManager"),
            (self.router, "Router"),
        ];
        if secure {
            ports.extend([
                (self.coordinator_tls, "Coordinator/Overlord TLS"),
                (self.broker_tls, "Broker TLS"),
                (self.historical_tls, "Historical TLS"),
                (self.worker_tls, "Indexer/MiddleManager TLS"),
                (self.router_tls, "Router TLS"),
            ]);
        }
        if ha {
            ports.extend([
                (self.coordinator_derby, "coordinator's idle Derby server"),
                (self.coordinator2_derby, "coordinator-2's idle Derby server"),
                (self.coordinator2, "coordinator-2"),
            ]);
            if secure {
                ports.push((self.coordinator2_tls, "coordinator-2 TLS"));
            }
        }
        ports
    }
}

/// Where everything lives under the state directory (an absolute path).
///
/// ```text
/// <state>/build/<version>/   settings.xml, pom.xml, mvn-*.log
/// <state>/dist/<version>/    lib/, extensions/<name>/, .complete (kept between runs)
/// <state>/conf/              rewritten on every `up`
/// <state>/var/, <state>/log/ wiped on every `up`
/// <state>/pids/<name>.pid    one per running JVM
/// <state>/cluster.json       how `up` started each JVM (for `start <name>`)
/// <state>/tls/               private CA + server keystore (--secure, generated once)
/// <state>/cluster.env        written when every gate passed
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The state directory itself (absolute, canonical).
    pub(crate) state: PathBuf,
}

impl Layout {
    /// A layout rooted at `state` (which should already be absolute and canonical, because
    /// process ownership is checked by looking for it in `/proc/<pid>/cmdline`).
    pub(crate) fn new(state: PathBuf) -> Self {
        Layout { state }
    }

    /// The throw-away Maven project for `version`.
    pub(crate) fn build(&self, version: &str) -> PathBuf {
        self.state.join("build").join(version)
    }

    /// The assembled distribution (`lib/`, `extensions/`) for `version`.
    pub(crate) fn dist(&self, version: &str) -> PathBuf {
        self.state.join("dist").join(version)
    }

    /// The configuration directory.
    pub(crate) fn conf(&self) -> PathBuf {
        self.state.join("conf")
    }

    /// Data of the running cluster (ZooKeeper, Derby, segments, task dirs).
    pub(crate) fn var(&self) -> PathBuf {
        self.state.join("var")
    }

    /// The directory of the service logs.
    pub(crate) fn log_dir(&self) -> PathBuf {
        self.state.join("log")
    }

    /// A service's stdout + stderr.
    pub(crate) fn log(&self, service: Service) -> PathBuf {
        self.log_dir().join(format!("{}.log", service.name()))
    }

    /// The directory of the pid files.
    pub(crate) fn pid_dir(&self) -> PathBuf {
        self.state.join("pids")
    }

    /// A service's pid file.
    pub(crate) fn pid_file(&self, service: Service) -> PathBuf {
        self.pid_dir().join(format!("{}.pid", service.name()))
    }

    /// The TLS material of the secure profile.
    pub(crate) fn tls(&self) -> PathBuf {
        self.state.join("tls")
    }

    /// The `KEY=value` description of the running cluster.
    pub(crate) fn cluster_env(&self) -> PathBuf {
        self.state.join("cluster.env")
    }

    /// The record of how `up` started the cluster (profile and every command line).
    pub(crate) fn cluster_json(&self) -> PathBuf {
        self.state.join("cluster.json")
    }

    /// The marker that, inside a path, identifies a JVM started from this state directory:
    /// every JVM's class path starts with `<state>/conf/`.
    pub(crate) fn cmdline_marker(&self) -> String {
        format!("{}/conf/", self.state.display())
    }

    /// The state directory as a `&Path`.
    pub(crate) fn state(&self) -> &Path {
        &self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_shift_by_the_offset() {
        let ports = Ports::with_offset(100).unwrap();
        assert_eq!(ports.zookeeper, 2281);
        assert_eq!(ports.derby, 1627);
        assert_eq!(ports.router, 8988);
        assert_eq!(ports.router_tls, 9188);
        assert_eq!(ports.plaintext(Service::MiddleManager), 8191);
        assert_eq!(ports.tls(Service::Zookeeper), None);
        assert_eq!(ports.plaintext(Service::Derby), 1627);
        assert_eq!(ports.tls(Service::Derby), None);
        assert_eq!(ports.coordinator_derby, 1628);
        assert_eq!(ports.coordinator2_derby, 1629);
        assert_eq!(ports.plaintext(Service::Coordinator2), 18181);
        assert_eq!(ports.tls(Service::Coordinator2), Some(18381));
    }

    #[test]
    fn ports_name_their_service() {
        let ports = Ports::with_offset(1000).unwrap();
        assert_eq!(ports.service_at(9081), Some(Service::Coordinator));
        assert_eq!(ports.service_at(9281), Some(Service::Coordinator));
        assert_eq!(ports.service_at(19081), Some(Service::Coordinator2));
        assert_eq!(ports.service_at(19281), Some(Service::Coordinator2));
        assert_eq!(ports.service_at(8081), None);
    }

    #[test]
    fn no_two_services_share_a_port() {
        let ports = Ports::with_offset(0).unwrap();
        let bound = ports.bound(true, true);
        let mut numbers: Vec<u16> = bound.iter().map(|(p, _)| *p).collect();
        numbers.push(ports.peon_start);
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), bound.len() + 1, "{bound:?}");
    }

    #[test]
    fn names_round_trip() {
        for service in Service::START_ORDER {
            assert_eq!(Service::from_name(service.name()), Some(service));
            let parsed = <Service as ValueEnum>::from_str(service.name(), false);
            assert_eq!(parsed, Ok(service));
        }
        assert_eq!(Service::from_name("leader"), None);
        assert!(Service::Coordinator2.is_coordinator());
        assert!(!Service::Derby.is_coordinator());
    }

    #[test]
    fn too_large_offset_is_an_error() {
        let err = Ports::with_offset(60_000).unwrap_err();
        assert!(err.contains("65535"), "{err}");
    }

    #[test]
    fn secure_profile_binds_the_tls_ports_too() {
        let ports = Ports::with_offset(0).unwrap();
        assert_eq!(ports.bound(false, false).len(), 7);
        assert_eq!(ports.bound(false, true).len(), 10);
        assert!(ports.bound(true, false).iter().any(|(p, _)| *p == 9088));
        assert!(!ports.bound(true, false).iter().any(|(p, _)| *p == 18081));
        assert!(ports.bound(false, true).iter().any(|(p, _)| *p == 18081));
        assert!(ports.bound(true, true).iter().any(|(p, _)| *p == 18281));
    }
}
