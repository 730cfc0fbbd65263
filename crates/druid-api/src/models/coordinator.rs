//! Coordinator models: rules, dynamic configuration, compaction, load state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A retention rule (`loadForever`, `loadByInterval`, `dropByPeriod`, ...).
///
/// The common fields are typed; anything else is kept in `extra` and written
/// back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Rule {
    /// The rule type, e.g. `loadForever`.
    #[serde(rename = "type")]
    pub rule_type: String,
    /// Replicas per tier, for load rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiered_replicants: Option<BTreeMap<String, i64>>,
    /// The interval of `*ByInterval` rules, `start/end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// The period of `*ByPeriod` rules, e.g. `P1M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Whether a period rule covers the future too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_future: Option<bool>,
    /// Other fields of the rule.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Rule {
    fn new(rule_type: &str) -> Self {
        Rule {
            rule_type: rule_type.to_owned(),
            tiered_replicants: None,
            interval: None,
            period: None,
            include_future: None,
            extra: BTreeMap::new(),
        }
    }

    /// `loadForever` with replicas per tier.
    pub fn load_forever(tiered_replicants: impl IntoIterator<Item = (String, i64)>) -> Self {
        let mut rule = Self::new("loadForever");
        rule.tiered_replicants = Some(tiered_replicants.into_iter().collect());
        rule
    }

    /// `loadByPeriod` with replicas per tier.
    pub fn load_by_period(
        period: impl Into<String>,
        tiered_replicants: impl IntoIterator<Item = (String, i64)>,
    ) -> Self {
        let mut rule = Self::new("loadByPeriod");
        rule.period = Some(period.into());
        rule.tiered_replicants = Some(tiered_replicants.into_iter().collect());
        rule
    }

    /// `loadByInterval` with replicas per tier.
    pub fn load_by_interval(
        interval: impl Into<String>,
        tiered_replicants: impl IntoIterator<Item = (String, i64)>,
    ) -> Self {
        let mut rule = Self::new("loadByInterval");
        rule.interval = Some(interval.into());
        rule.tiered_replicants = Some(tiered_replicants.into_iter().collect());
        rule
    }

    /// `dropForever`.
    pub fn drop_forever() -> Self {
        Self::new("dropForever")
    }

    /// `dropByPeriod`.
    pub fn drop_by_period(period: impl Into<String>) -> Self {
        let mut rule = Self::new("dropByPeriod");
        rule.period = Some(period.into());
        rule
    }

    /// `dropByInterval`.
    pub fn drop_by_interval(interval: impl Into<String>) -> Self {
        let mut rule = Self::new("dropByInterval");
        rule.interval = Some(interval.into());
        rule
    }
}

/// The Coordinator dynamic configuration (`GET/POST /druid/coordinator/v1/config`).
///
/// The fields operators change most are typed; every other field is kept in
/// `extra`, so reading, changing one field and posting it back is safe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CoordinatorDynamicConfig {
    /// How long to wait before deleting segments from Historicals, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub millis_to_wait_before_deleting: Option<i64>,
    /// Segments moved per Coordinator run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_segments_to_move: Option<i64>,
    /// Replicas loaded per run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_throttle_limit: Option<i64>,
    /// Servers being decommissioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommissioning_nodes: Option<Vec<String>>,
    /// Whether coordination is paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_coordination: Option<bool>,
    /// Whether the Coordinator tunes loading itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smart_segment_loading: Option<bool>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// An auto-compaction configuration of one datasource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataSourceCompactionConfig {
    /// The datasource.
    pub data_source: String,
    /// Priority of the compaction tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_priority: Option<i64>,
    /// Upper bound of the input size of one task, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_segment_size_bytes: Option<i64>,
    /// How recent data is left alone, ISO-8601 period (`P1D`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_offset_from_latest: Option<String>,
    /// The tuning config of the tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning_config: Option<Value>,
    /// The granularity spec of the tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity_spec: Option<Value>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl DataSourceCompactionConfig {
    /// A configuration with Druid's defaults for `data_source`.
    pub fn new(data_source: impl Into<String>) -> Self {
        DataSourceCompactionConfig {
            data_source: data_source.into(),
            task_priority: None,
            input_segment_size_bytes: None,
            skip_offset_from_latest: None,
            tuning_config: None,
            granularity_spec: None,
            extra: BTreeMap::new(),
        }
    }
}

/// `GET /druid/coordinator/v1/config/compaction`: the cluster-wide settings
/// and every datasource's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CompactionConfigs {
    /// Per-datasource configurations.
    #[serde(default)]
    pub compaction_configs: Vec<DataSourceCompactionConfig>,
    /// Share of task slots compaction may take.
    #[serde(default)]
    pub compaction_task_slot_ratio: Option<f64>,
    /// Upper bound of compaction task slots.
    #[serde(default)]
    pub max_compaction_task_slots: Option<i64>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One datasource's auto-compaction progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AutoCompactionSnapshot {
    /// The datasource.
    pub data_source: String,
    /// `RUNNING`, `NOT_ENABLED`, `AWAITING_FIRST_RUN`, ...
    #[serde(default)]
    pub schedule_status: Option<String>,
    /// Bytes still to compact.
    #[serde(default)]
    pub bytes_awaiting_compaction: Option<i64>,
    /// Bytes compacted.
    #[serde(default)]
    pub bytes_compacted: Option<i64>,
    /// Bytes skipped.
    #[serde(default)]
    pub bytes_skipped: Option<i64>,
    /// Segments still to compact.
    #[serde(default)]
    pub segment_count_awaiting_compaction: Option<i64>,
    /// Segments compacted.
    #[serde(default)]
    pub segment_count_compacted: Option<i64>,
    /// Segments skipped.
    #[serde(default)]
    pub segment_count_skipped: Option<i64>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `GET /druid/coordinator/v1/compaction/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CompactionStatus {
    /// One snapshot per datasource with compaction enabled.
    #[serde(default)]
    pub latest_status: Vec<AutoCompactionSnapshot>,
}

/// `GET /druid/coordinator/v1/loadqueue?simple`: one server's queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LoadQueue {
    /// Segments waiting to load.
    #[serde(default)]
    pub segments_to_load: Option<i64>,
    /// Segments waiting to drop.
    #[serde(default)]
    pub segments_to_drop: Option<i64>,
    /// Bytes waiting to load.
    #[serde(default)]
    pub segments_to_load_size: Option<i64>,
    /// Bytes waiting to drop.
    #[serde(default)]
    pub segments_to_drop_size: Option<i64>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `GET /druid/coordinator/v1/datasources/{dataSource}`: size per tier and
/// segment totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataSourceSummary {
    /// Size and count per tier.
    #[serde(default)]
    pub tiers: BTreeMap<String, TierSummary>,
    /// Totals over the datasource's segments.
    #[serde(default)]
    pub segments: Option<SegmentsSummary>,
}

/// The share of a datasource on one tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TierSummary {
    /// Bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Segments.
    #[serde(default)]
    pub segment_count: Option<i64>,
    /// Bytes after replication.
    #[serde(default)]
    pub replicated_size: Option<i64>,
}

/// Totals over a datasource's segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SegmentsSummary {
    /// Segments.
    #[serde(default)]
    pub count: Option<i64>,
    /// Bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// The earliest data, ISO-8601.
    #[serde(default)]
    pub min_time: Option<String>,
    /// The latest data, ISO-8601.
    #[serde(default)]
    pub max_time: Option<String>,
    /// Bytes after replication.
    #[serde(default)]
    pub replicated_size: Option<i64>,
}

/// A segment's metadata, as the metadata and datasource endpoints return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Segment {
    /// The datasource.
    pub data_source: String,
    /// The interval, `start/end`.
    pub interval: String,
    /// The version.
    pub version: String,
    /// Where the segment is stored.
    #[serde(default)]
    pub load_spec: Option<Value>,
    /// Dimensions, comma-separated.
    #[serde(default)]
    pub dimensions: Option<String>,
    /// Metrics, comma-separated.
    #[serde(default)]
    pub metrics: Option<String>,
    /// The shard spec.
    #[serde(default)]
    pub shard_spec: Option<Value>,
    /// The binary version.
    #[serde(default)]
    pub binary_version: Option<i64>,
    /// Bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// The segment ID.
    #[serde(default)]
    pub identifier: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The answer of the data-management calls (mark used/unused, drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SegmentUpdateResponse {
    /// How many segments changed state (0 for unknown datasources).
    #[serde(default)]
    pub num_changed_segments: Option<i64>,
    /// For single-segment calls: whether the segment changed state.
    #[serde(default)]
    pub segment_state_changed: Option<bool>,
}

/// The body of the mark-used/mark-unused calls: an interval or segment IDs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SegmentFilter {
    /// The interval, `start/end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// The segment IDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_ids: Option<Vec<String>>,
    /// Only these versions (with `interval`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<String>>,
}

impl SegmentFilter {
    /// Every segment in an interval.
    pub fn interval(interval: impl Into<String>) -> Self {
        SegmentFilter {
            interval: Some(interval.into()),
            segment_ids: None,
            versions: None,
        }
    }

    /// These segments.
    pub fn segment_ids(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        SegmentFilter {
            interval: None,
            segment_ids: Some(ids.into_iter().map(Into::into).collect()),
            versions: None,
        }
    }
}

/// A served datasource with its summary (`/datasources?simple`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedDataSourceSummary {
    /// The datasource.
    pub name: String,
    /// Size per tier and segment totals.
    pub properties: DataSourceSummary,
}

/// Size and count of a set of segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SizeAndCount {
    /// Bytes.
    #[serde(default)]
    pub size: i64,
    /// Segments.
    #[serde(default)]
    pub count: i64,
}

/// A served segment and the servers that hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServedSegment {
    /// The segment's metadata.
    pub metadata: Segment,
    /// The servers (`host:port`) that serve it.
    #[serde(default)]
    pub servers: Vec<String>,
}

/// A data server as the Coordinator sees it (`/servers?simple`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataServer {
    /// `host:port`.
    pub host: String,
    /// `historical`, `indexer-executor`, `broker`, ...
    #[serde(rename = "type", default)]
    pub server_type: Option<String>,
    /// The tier.
    #[serde(default)]
    pub tier: Option<String>,
    /// Bytes served.
    #[serde(default)]
    pub curr_size: Option<i64>,
    /// Capacity in bytes.
    #[serde(default)]
    pub max_size: Option<i64>,
    /// Priority within the tier.
    #[serde(default)]
    pub priority: Option<i64>,
}

/// `GET /druid/coordinator/v1/compaction/progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CompactionProgress {
    /// Bytes still to compact.
    pub remaining_segment_size: i64,
}

/// A lookup: its version and its extractor factory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LookupSpec {
    /// The version; an update applies only with a greater one (as text).
    pub version: String,
    /// The factory, e.g. `{"type": "map", "map": {"k": "v"}}`.
    pub lookup_extractor_factory: Value,
}

impl LookupSpec {
    /// A lookup from a version and a factory.
    pub fn new(version: impl Into<String>, lookup_extractor_factory: Value) -> Self {
        LookupSpec {
            version: version.into(),
            lookup_extractor_factory,
        }
    }

    /// A `map` lookup of fixed keys and values.
    pub fn map(
        version: impl Into<String>,
        entries: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let map: serde_json::Map<String, Value> = entries
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Self::new(version, serde_json::json!({ "type": "map", "map": map }))
    }
}

/// `GET /druid/coordinator/v1/config/cloneStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CloneStatusList {
    /// One entry per cloning Historical.
    #[serde(default)]
    pub clone_status: Vec<CloneStatus>,
}

/// The progress of one Historical that clones another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CloneStatus {
    /// The Historical being cloned, `host:port`.
    pub source_server: String,
    /// The Historical that clones it, `host:port`.
    pub target_server: String,
    /// `IN_PROGRESS`, `SOURCE_SERVER_MISSING`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// Segments still to load.
    #[serde(default)]
    pub segment_loads_remaining: Option<i64>,
    /// Segments still to drop.
    #[serde(default)]
    pub segment_drops_remaining: Option<i64>,
    /// Bytes still to load.
    #[serde(default)]
    pub bytes_to_load: Option<i64>,
}

/// `GET /druid/coordinator/v1/config/syncedBrokers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SyncedBrokers {
    /// The Brokers with the latest configuration.
    #[serde(default)]
    pub synced_brokers: Vec<SyncedBroker>,
}

/// One Broker that received the dynamic configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SyncedBroker {
    /// The Broker's host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// When it last synced, milliseconds since the epoch.
    #[serde(default)]
    pub last_sync_timestamp_millis: Option<i64>,
}

/// The cluster-wide compaction settings of the Overlord's compaction API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClusterCompactionConfig {
    /// Share of task slots compaction may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compaction_task_slot_ratio: Option<f64>,
    /// Upper bound of compaction task slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_compaction_task_slots: Option<i64>,
    /// How intervals are chosen, e.g. `{"type": "newestSegmentFirst"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compaction_policy: Option<Value>,
    /// Whether compaction runs as supervisors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_supervisors: Option<bool>,
    /// `native` or `msq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The Broker dynamic configuration (Druid 37+).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BrokerDynamicConfig {
    /// Rules that block matching queries (they fail with 403).
    #[serde(default)]
    pub query_blocklist: Vec<QueryBlocklistRule>,
    /// Context values added to every query.
    #[serde(default)]
    pub query_context: serde_json::Map<String, Value>,
    /// Per-datasource per-segment timeouts.
    #[serde(default)]
    pub per_segment_timeout_config: BTreeMap<String, PerSegmentTimeout>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A rule of the Broker's query blocklist; a query matching every given
/// criterion is blocked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct QueryBlocklistRule {
    /// The rule's name, quoted in the error of a blocked query.
    pub rule_name: String,
    /// Datasources the rule applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sources: Option<Vec<String>>,
    /// Query types the rule applies to (`scan`, `groupBy`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_types: Option<Vec<String>>,
    /// Context values a query must have to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_matches: Option<serde_json::Map<String, Value>>,
}

impl QueryBlocklistRule {
    /// A rule with a name and no criteria yet.
    pub fn new(rule_name: impl Into<String>) -> Self {
        QueryBlocklistRule {
            rule_name: rule_name.into(),
            data_sources: None,
            query_types: None,
            context_matches: None,
        }
    }
}

/// The per-segment timeout of one datasource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PerSegmentTimeout {
    /// The timeout, milliseconds.
    pub per_segment_timeout_ms: i64,
    /// Only report, do not cancel.
    #[serde(default)]
    pub monitor_only: bool,
}
