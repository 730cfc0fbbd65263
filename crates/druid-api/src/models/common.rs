//! Models shared by every service: status, leadership, audit history.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /status`: the Druid version, loaded modules and JVM memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServerStatus {
    /// The Druid version, e.g. `27.0.0`.
    pub version: String,
    /// The loaded Guice modules of extensions.
    #[serde(default)]
    pub modules: Vec<ModuleInfo>,
    /// JVM memory figures.
    #[serde(default)]
    pub memory: Option<MemoryInfo>,
}

impl ServerStatus {
    /// Whether the service loads the extension with this Maven artifact
    /// (`druid-basic-security`), by its modules.
    pub fn has_extension(&self, artifact: &str) -> bool {
        self.modules
            .iter()
            .any(|module| module.artifact.as_deref() == Some(artifact))
    }

    /// Whether the service runs the multi-stage query engine (SQL
    /// ingestion, asynchronous statements): the `druid-multi-stage-query`
    /// extension before Druid 35, part of the core from 35 on.
    pub fn has_msq(&self) -> bool {
        let major = self
            .version
            .split('.')
            .next()
            .and_then(|major| major.parse::<u32>().ok());
        self.has_extension("druid-multi-stage-query") || major.is_some_and(|major| major >= 35)
    }
}

/// The history of a datasource's compaction configuration: its audit
/// entries (`globalConfig`, `compactionConfig`, `auditInfo`, `auditTime`).
/// The Coordinator answers a list; the Overlord of Druid 33 wraps the same
/// list as `{"entries": [...]}`. Both decode into this.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CompactionConfigHistory {
    /// The entries, as Druid lists them.
    pub entries: Vec<Value>,
}

impl<'de> Deserialize<'de> for CompactionConfigHistory {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            List(Vec<Value>),
            Wrapped { entries: Vec<Value> },
        }
        let (Shape::List(entries) | Shape::Wrapped { entries }) = Shape::deserialize(deserializer)?;
        Ok(CompactionConfigHistory { entries })
    }
}

/// One loaded module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModuleInfo {
    /// The module class.
    pub name: String,
    /// The artifact it came from.
    #[serde(default)]
    pub artifact: Option<String>,
    /// The artifact's version.
    #[serde(default)]
    pub version: Option<String>,
}

/// JVM memory, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MemoryInfo {
    /// `-Xmx`.
    #[serde(default)]
    pub max_memory: Option<i64>,
    /// The heap now.
    #[serde(default)]
    pub total_memory: Option<i64>,
    /// Free heap.
    #[serde(default)]
    pub free_memory: Option<i64>,
    /// Used heap.
    #[serde(default)]
    pub used_memory: Option<i64>,
    /// Direct memory limit.
    #[serde(default)]
    pub direct_memory: Option<i64>,
}

/// `GET /status/selfDiscovered/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SelfDiscovered {
    /// Whether the node has seen itself in ZooKeeper's service announcements.
    pub self_discovered: bool,
}

/// `GET .../isLeader`: `{"leader": true}` (200) or `{"leader": false}` (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeaderStatus {
    /// Whether the server answering is the leader.
    pub leader: bool,
}

/// Who made a change, from the `X-Druid-Author`/`X-Druid-Comment` headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditInfo {
    /// `X-Druid-Author`.
    #[serde(default)]
    pub author: Option<String>,
    /// `X-Druid-Comment`.
    #[serde(default)]
    pub comment: Option<String>,
    /// The caller's address.
    #[serde(default)]
    pub ip: Option<String>,
}

/// One entry of an audit history (rules, dynamic configs, worker config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuditEntry {
    /// What changed: a datasource for rules, the config name otherwise.
    pub key: String,
    /// The kind of change (`rules`, `coordinator.config`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Who made it.
    #[serde(default)]
    pub audit_info: Option<AuditInfo>,
    /// The new value, as JSON **text** (Druid encodes it twice): see
    /// [`AuditEntry::payload_json`].
    #[serde(default)]
    pub payload: Option<String>,
    /// When, ISO-8601.
    #[serde(default)]
    pub audit_time: Option<String>,
}

impl AuditEntry {
    /// The payload, decoded from its JSON text.
    pub fn payload_json(&self) -> Option<Value> {
        self.payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
    }
}

/// `GET /druid/broker/v1/loadstatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BrokerLoadStatus {
    /// Whether the Broker knows every segment of the cluster.
    pub inventory_initialized: bool,
}

/// `GET /druid/historical/v1/loadstatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HistoricalLoadStatus {
    /// Whether the segment cache has been loaded.
    pub cache_initialized: bool,
}

/// `GET /status/properties`: the runtime properties, name to value.
pub type Properties = BTreeMap<String, String>;
