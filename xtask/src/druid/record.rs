//! `<state>/cluster.json`: how `up` started the cluster (its profile and the exact command line
//! of every JVM), so that `start <name>` can start one service again as it was, and the fault
//! controls know the ports, the worker and whether Basic auth is on.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::layout::{Layout, Ports, Service};

/// What `up` wrote to `cluster.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The Druid version.
    pub(crate) version: String,
    /// The port offset (the ports follow from it, see [`Ports::with_offset`]).
    pub(crate) port_offset: u16,
    /// TLS and Basic auth (`--secure`).
    pub(crate) secure: bool,
    /// A second Coordinator-Overlord (`--ha`).
    pub(crate) ha: bool,
    /// The bound on each readiness gate, in seconds.
    pub(crate) gate_timeout_secs: u64,
    /// Every JVM of the cluster, in start order.
    pub(crate) services: Vec<Launch>,
}

/// How one JVM was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Launch {
    /// The service name ([`Service::name`]).
    pub(crate) name: String,
    /// The program (`java`).
    pub(crate) program: PathBuf,
    /// Its arguments.
    pub(crate) args: Vec<String>,
}

impl Record {
    /// Writes `cluster.json`.
    pub(crate) fn write(&self, layout: &Layout) -> Result<(), String> {
        let path = layout.cluster_json();
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
        fs::write(&path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Reads `cluster.json`; the error says to run `up` when there is none.
    pub(crate) fn read(layout: &Layout) -> Result<Record, String> {
        let path = layout.cluster_json();
        let text = fs::read_to_string(&path).map_err(|e| {
            format!(
                "no cluster recorded in {} ({e}): start one with `cargo xtask druid up \
                 --state-dir {}`",
                path.display(),
                layout.state().display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a cluster record ({e}); run `cargo xtask druid down` and `up` again",
                path.display()
            )
        })
    }

    /// The ports of this cluster.
    pub(crate) fn ports(&self) -> Result<Ports, String> {
        Ports::with_offset(self.port_offset)
    }

    /// The bound on each readiness gate.
    pub(crate) fn gate_timeout(&self) -> Duration {
        Duration::from_secs(self.gate_timeout_secs)
    }

    /// The services of this cluster, in start order (unknown names are skipped).
    pub(crate) fn services(&self) -> Vec<Service> {
        self.services
            .iter()
            .filter_map(|launch| Service::from_name(&launch.name))
            .collect()
    }

    /// Whether the service is part of this cluster.
    pub(crate) fn has(&self, service: Service) -> bool {
        self.launch(service).is_some()
    }

    /// How the service was started, if it is part of this cluster.
    pub(crate) fn launch(&self, service: Service) -> Option<&Launch> {
        self.services.iter().find(|l| l.name == service.name())
    }

    /// The Coordinator-Overlords of this cluster (one, or two with `--ha`).
    pub(crate) fn coordinators(&self) -> Vec<Service> {
        self.services()
            .into_iter()
            .filter(|s| s.is_coordinator())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(ha: bool) -> Record {
        let mut names = vec!["zookeeper", "derby", "coordinator"];
        if ha {
            names.push("coordinator-2");
        }
        names.extend(["broker", "historical", "middle-manager", "router"]);
        Record {
            version: "27.0.0".into(),
            port_offset: 1000,
            secure: false,
            ha,
            gate_timeout_secs: 240,
            services: names
                .into_iter()
                .map(|name| Launch {
                    name: name.into(),
                    program: "/usr/bin/java".into(),
                    args: vec!["-cp".into(), format!("/s/conf/{name}")],
                })
                .collect(),
        }
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-druid-record-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let layout = Layout::new(dir.clone());
        let missing = Record::read(&layout).unwrap_err();
        assert!(missing.contains("cargo xtask druid up"), "{missing}");
        let record = sample(true);
        record.write(&layout).unwrap();
        assert_eq!(Record::read(&layout).unwrap(), record);
        fs::write(layout.cluster_json(), "{").unwrap();
        assert!(
            Record::read(&layout)
                .unwrap_err()
                .contains("not a cluster record")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn knows_its_services() {
        let ha = sample(true);
        assert!(ha.has(Service::MiddleManager));
        assert_eq!(
            ha.coordinators(),
            [Service::Coordinator, Service::Coordinator2]
        );
        assert!(ha.has(Service::Derby));
        assert!(!ha.has(Service::Indexer));
        assert_eq!(ha.services().len(), 8);
        let single = sample(false);
        assert_eq!(single.coordinators(), [Service::Coordinator]);
        assert_eq!(single.ports().unwrap().coordinator, 9081);
        assert_eq!(
            single.launch(Service::Broker).map(|l| l.args[1].as_str()),
            Some("/s/conf/broker")
        );
    }
}
