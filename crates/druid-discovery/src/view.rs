//! Discovery without a Broker: the Coordinator's own view of the cluster.
//!
//! `sys.servers` is a table of the Broker; while no Broker answers (none
//! runs, or it restarts), the Coordinator still knows every service from
//! its node discovery. Four reads build the same model:
//!
//! - `GET /druid/coordinator/v1/cluster`: the services grouped by role
//!   (`{"coordinator": [{"host", "plaintextPort", "tlsPort"}], ...}`);
//! - `GET /druid/coordinator/v1/leader` and `GET /druid/indexer/v1/leader`:
//!   the leaders' URLs (what `sys.servers.is_leader` says);
//! - `GET /druid/coordinator/v1/servers?simple`: the data servers' tiers
//!   and sizes (what `sys.servers.tier`, `curr_size` and `max_size` say).
//!
//! A Router forwards all four to the lead Coordinator, so the entry URL a
//! user gave works for both sources. Start times and versions are not in
//! this view; the model leaves them empty.

use std::collections::BTreeMap;

use druid_transport::{Request, Result, Service};
use serde::Deserialize;
use url::Url;

use crate::{ClusterModel, ServerRow, ServerType, Source};

/// One service in the Coordinator's `cluster` answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ViewNode {
    /// The host name or address.
    pub host: String,
    /// The plaintext port; `-1` or missing when disabled.
    #[serde(default)]
    pub plaintext_port: Option<i64>,
    /// The TLS port; `-1` or missing when disabled.
    #[serde(default)]
    pub tls_port: Option<i64>,
}

/// The Coordinator's `cluster` answer: the services of each role.
pub type ClusterView = BTreeMap<String, Vec<ViewNode>>;

/// One data server in `servers?simple`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataServer {
    /// `host:port`, the same key as `sys.servers.server`.
    pub host: String,
    /// The tier.
    #[serde(default)]
    pub tier: Option<String>,
    /// Bytes of segments served.
    #[serde(default)]
    pub curr_size: Option<i64>,
    /// Capacity in bytes.
    #[serde(default)]
    pub max_size: Option<i64>,
}

fn port(value: Option<i64>) -> Option<u16> {
    value.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0)
}

/// Whether `leader` (a URL such as `https://localhost:8281`) is the server
/// at `host` with these ports.
fn is_at(leader: Option<&Url>, host: &str, ports: [Option<u16>; 2]) -> bool {
    leader.is_some_and(|url| {
        url.host_str()
            .is_some_and(|h| h.trim_start_matches('[').trim_end_matches(']') == host)
            && url
                .port_or_known_default()
                .is_some_and(|p| ports.contains(&Some(p)))
    })
}

/// Builds the model from the Coordinator's answers: `cluster` (services by
/// role), the two leader URLs, and `servers?simple` (tiers and sizes).
pub fn model_from_coordinator_view(
    cluster: ClusterView,
    coordinator_leader: Option<&Url>,
    overlord_leader: Option<&Url>,
    data: &[DataServer],
) -> ClusterModel {
    let mut rows = Vec::new();
    // The order sys.servers uses: the roles as ServerType::KNOWN lists them.
    let mut roles: Vec<(ServerType, Vec<ViewNode>)> = cluster
        .into_iter()
        .map(|(role, nodes)| (ServerType::parse(&role), nodes))
        .collect();
    roles.sort_by_key(|(server_type, _)| {
        ServerType::KNOWN
            .iter()
            .position(|known| known == server_type)
            .unwrap_or(ServerType::KNOWN.len())
    });
    for (server_type, nodes) in roles {
        for node in nodes {
            let plaintext_port = port(node.plaintext_port);
            let tls_port = port(node.tls_port);
            let key_port = tls_port.or(plaintext_port);
            let server = key_port.map(|p| format!("{}:{p}", node.host));
            let data = server
                .as_deref()
                .and_then(|key| data.iter().find(|d| d.host == key));
            let ports = [plaintext_port, tls_port];
            let is_leader = match server_type {
                ServerType::Coordinator => is_at(coordinator_leader, &node.host, ports),
                ServerType::Overlord => is_at(overlord_leader, &node.host, ports),
                _ => false,
            };
            rows.push(ServerRow {
                server,
                host: node.host,
                plaintext_port,
                tls_port,
                server_type: server_type.clone(),
                tier: data.and_then(|d| d.tier.clone()),
                curr_size: Some(data.and_then(|d| d.curr_size).unwrap_or(0)),
                max_size: Some(data.and_then(|d| d.max_size).unwrap_or(0)),
                storage_size: None,
                is_leader: Some(is_leader),
                start_time: None,
                version: None,
                build_revision: None,
                labels: None,
                available_processors: None,
                total_memory: None,
                extra: BTreeMap::new(),
            });
        }
    }
    ClusterModel::from_rows(rows).with_source(Source::Coordinator)
}

/// Reads the Coordinator's view through `service` (the lead Coordinator, a
/// follower, which redirects, or a Router, which forwards) and builds the
/// model. Its [`ClusterModel::source`] is [`Source::Coordinator`].
pub async fn discover_from_coordinator(service: &Service) -> Result<ClusterModel> {
    let cluster: ClusterView = service
        .send_json(&Request::get("/druid/coordinator/v1/cluster").operation("discovery.cluster"))
        .await?;
    let leader = |path: &'static str, operation: &'static str| async move {
        let text = service
            .send(&Request::get(path).operation(operation))
            .await?
            .text()?;
        Ok::<_, druid_transport::Error>(Url::parse(text.trim()).ok())
    };
    let coordinator = leader(
        "/druid/coordinator/v1/leader",
        "discovery.coordinator_leader",
    )
    .await?;
    let overlord = leader("/druid/indexer/v1/leader", "discovery.overlord_leader").await?;
    let data: Vec<DataServer> = service
        .send_json(
            &Request::get("/druid/coordinator/v1/servers")
                .flag("simple")
                .operation("discovery.data_servers"),
        )
        .await?;
    Ok(model_from_coordinator_view(
        cluster,
        coordinator.as_ref(),
        overlord.as_ref(),
        &data,
    ))
}
