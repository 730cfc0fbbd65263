//! Discovers the services of an Apache Druid cluster.
//!
//! Druid lists every server it knows in the `sys.servers` system table. This
//! crate queries it through any Router or Broker ([`discover`]) and turns the
//! rows into a typed [`ClusterModel`]:
//!
//! - a server is one process, identified by host and port; a Coordinator
//!   that also acts as the Overlord is **one** [`Server`] with **two**
//!   [`Role`]s;
//! - ports that Druid reports as `-1` (disabled) are `None`;
//! - server types are a [`ServerType`], with [`ServerType::Other`] for types
//!   a newer Druid may add, so new servers never break discovery;
//! - columns are read by name, and columns this crate does not know yet are
//!   kept in [`Role::extra`], since the table grows with every release.
//!
//! ```no_run
//! # async fn demo() -> druid_transport::Result<()> {
//! use druid_discovery::{discover, ServerType};
//! let transport = druid_transport::Transport::builder().build()?;
//! let router = transport.service("http://localhost:8888".parse().expect("valid URL"));
//! let cluster = discover(&router).await?;
//! let coordinator = cluster.leader(&ServerType::Coordinator).expect("a lead Coordinator");
//! println!("lead Coordinator at {}", coordinator.server);
//! # Ok(()) }
//! ```
//!
//! This crate knows nothing of the service clients; `druid-api` joins the
//! model to them.
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `rustls` | yes | TLS through rustls |
//! | `native-tls` | no | TLS through the platform library |

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use druid_transport::{
    Effect, Error, RedirectScope, Request, Result, RetryPolicy, Service, ServiceMapper,
};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use url::Url;

mod view;
pub use view::{
    ClusterView, DataServer, ViewNode, discover_from_coordinator, model_from_coordinator_view,
};

/// The SQL that discovery runs.
pub const SERVERS_QUERY: &str = "SELECT * FROM sys.servers";

/// The kind of a Druid server, as `sys.servers.server_type` names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ServerType {
    /// Manages segments and their load on Historicals.
    Coordinator,
    /// Accepts and assigns ingestion tasks.
    Overlord,
    /// Plans and fans out queries.
    Broker,
    /// Routes queries and proxies the management APIs.
    Router,
    /// Serves segments from its local cache.
    Historical,
    /// Runs tasks in forked Peon processes.
    MiddleManager,
    /// Runs tasks as threads in one process.
    Indexer,
    /// Runs one task (forked by a MiddleManager).
    Peon,
    /// A type this client does not know, as Druid spelled it.
    Other(String),
}

impl ServerType {
    /// The known types, in the order clusters usually list them.
    pub const KNOWN: [ServerType; 8] = [
        ServerType::Coordinator,
        ServerType::Overlord,
        ServerType::Broker,
        ServerType::Router,
        ServerType::Historical,
        ServerType::MiddleManager,
        ServerType::Indexer,
        ServerType::Peon,
    ];

    /// Parses Druid's spellings: `middle_manager` (what `sys.servers`
    /// emits), `MIDDLE_MANAGER`, `middleManager`, `middlemanager`. Unknown
    /// names become [`ServerType::Other`].
    pub fn parse(name: &str) -> ServerType {
        let folded: String = name
            .chars()
            .filter(|c| *c != '_' && *c != '-' && *c != ' ')
            .collect::<String>()
            .to_ascii_lowercase();
        match folded.as_str() {
            "coordinator" => ServerType::Coordinator,
            "overlord" => ServerType::Overlord,
            "broker" => ServerType::Broker,
            "router" => ServerType::Router,
            "historical" => ServerType::Historical,
            "middlemanager" => ServerType::MiddleManager,
            "indexer" => ServerType::Indexer,
            "peon" => ServerType::Peon,
            _ => ServerType::Other(name.to_owned()),
        }
    }

    /// The name `sys.servers` uses (`middle_manager`).
    pub fn as_str(&self) -> &str {
        match self {
            ServerType::Coordinator => "coordinator",
            ServerType::Overlord => "overlord",
            ServerType::Broker => "broker",
            ServerType::Router => "router",
            ServerType::Historical => "historical",
            ServerType::MiddleManager => "middle_manager",
            ServerType::Indexer => "indexer",
            ServerType::Peon => "peon",
            ServerType::Other(name) => name,
        }
    }

    /// The name Druid's docs use (`MiddleManager`).
    pub fn display_name(&self) -> &str {
        match self {
            ServerType::Coordinator => "Coordinator",
            ServerType::Overlord => "Overlord",
            ServerType::Broker => "Broker",
            ServerType::Router => "Router",
            ServerType::Historical => "Historical",
            ServerType::MiddleManager => "MiddleManager",
            ServerType::Indexer => "Indexer",
            ServerType::Peon => "Peon",
            ServerType::Other(name) => name,
        }
    }

    /// Whether Druid elects a leader among servers of this type.
    pub fn has_leader(&self) -> bool {
        matches!(self, ServerType::Coordinator | ServerType::Overlord)
    }
}

impl fmt::Display for ServerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl FromStr for ServerType {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(ServerType::parse(s))
    }
}

impl Serialize for ServerType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ServerType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(ServerType::parse(&name))
    }
}

/// A port column: `-1`, `null` or absent is `None`.
fn port<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<u16>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    let number = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match number {
        Some(n) if n < 0 => Ok(None),
        Some(n) => u16::try_from(n)
            .map(Some)
            .map_err(|_| de::Error::custom(format!("port {n} is out of range"))),
        None => Err(de::Error::custom("a port must be a number")),
    }
}

/// `is_leader`: `1`/`0`, `true`/`false`, or `null` for servers without leaders.
fn leader_flag<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<bool>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Number(n)) => Some(n.as_i64().unwrap_or(0) != 0),
        Some(Value::String(s)) => Some(matches!(s.trim(), "1" | "true" | "TRUE" | "True")),
        Some(_) => None,
    })
}

/// A number column that some releases leave out or null.
fn number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// One row of `sys.servers`, columns by name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ServerRow {
    /// `host:port`, the server's key in Druid.
    #[serde(default)]
    pub server: Option<String>,
    /// The host name or address.
    pub host: String,
    /// The plaintext (HTTP) port, `None` when disabled.
    #[serde(default, deserialize_with = "port")]
    pub plaintext_port: Option<u16>,
    /// The TLS (HTTPS) port, `None` when disabled.
    #[serde(default, deserialize_with = "port")]
    pub tls_port: Option<u16>,
    /// The server type.
    pub server_type: ServerType,
    /// The tier (Historicals; `null` elsewhere).
    #[serde(default)]
    pub tier: Option<String>,
    /// Bytes of segments served (`curr_size`; the docs call it `current_size`).
    #[serde(default, alias = "current_size", deserialize_with = "number")]
    pub curr_size: Option<i64>,
    /// Capacity in bytes of segment storage.
    #[serde(default, deserialize_with = "number")]
    pub max_size: Option<i64>,
    /// Disk cache size with virtual storage (Druid 37+).
    #[serde(default, deserialize_with = "number")]
    pub storage_size: Option<i64>,
    /// Leader flag for Coordinators and Overlords; `None` for other types.
    #[serde(default, deserialize_with = "leader_flag")]
    pub is_leader: Option<bool>,
    /// When the server started, ISO-8601.
    #[serde(default)]
    pub start_time: Option<String>,
    /// The Druid version the server runs (Druid 35+).
    #[serde(default)]
    pub version: Option<String>,
    /// The build's source revision (Druid 37+).
    #[serde(default)]
    pub build_revision: Option<String>,
    /// `druid.labels` as JSON text (Druid 35+).
    #[serde(default)]
    pub labels: Option<String>,
    /// Processors available to the JVM (Druid 36+).
    #[serde(default, deserialize_with = "number")]
    pub available_processors: Option<i64>,
    /// Memory of the JVM in bytes (Druid 36+).
    #[serde(default, deserialize_with = "number")]
    pub total_memory: Option<i64>,
    /// Columns this crate does not know yet.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// What one server does in one of its roles: a `sys.servers` row without
/// the address.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Role {
    /// The server type.
    pub server_type: ServerType,
    /// Whether this server leads this role (Coordinator, Overlord).
    pub is_leader: Option<bool>,
    /// The tier (Historicals).
    pub tier: Option<String>,
    /// Bytes of segments served.
    pub curr_size: Option<i64>,
    /// Capacity in bytes of segment storage.
    pub max_size: Option<i64>,
    /// Disk cache size with virtual storage.
    pub storage_size: Option<i64>,
    /// When the server started.
    pub start_time: Option<String>,
    /// The Druid version.
    pub version: Option<String>,
    /// The build's source revision.
    pub build_revision: Option<String>,
    /// `druid.labels` as JSON text.
    pub labels: Option<String>,
    /// Processors available to the JVM.
    pub available_processors: Option<i64>,
    /// Memory of the JVM in bytes.
    pub total_memory: Option<i64>,
    /// Columns this crate does not know yet.
    pub extra: BTreeMap<String, Value>,
}

/// One Druid process: an address and the roles it plays.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Server {
    /// `host:port` as Druid names the server.
    pub server: String,
    /// The host name or address, as the cluster sees it.
    pub host: String,
    /// The plaintext (HTTP) port.
    pub plaintext_port: Option<u16>,
    /// The TLS (HTTPS) port.
    pub tls_port: Option<u16>,
    /// The roles, in the order of the table: a Coordinator that is also the
    /// Overlord has two.
    pub roles: Vec<Role>,
}

impl Server {
    /// Whether the server plays this role.
    pub fn has(&self, server_type: &ServerType) -> bool {
        self.role(server_type).is_some()
    }

    /// The role of a type, if the server plays it.
    pub fn role(&self, server_type: &ServerType) -> Option<&Role> {
        self.roles.iter().find(|r| &r.server_type == server_type)
    }

    /// The types of the server's roles.
    pub fn types(&self) -> impl Iterator<Item = &ServerType> {
        self.roles.iter().map(|r| &r.server_type)
    }

    /// Whether the server leads this role.
    pub fn is_leader(&self, server_type: &ServerType) -> bool {
        self.role(server_type)
            .and_then(|r| r.is_leader)
            .unwrap_or(false)
    }

    /// Whether a port of the server is `port`.
    pub fn has_port(&self, port: u16) -> bool {
        self.plaintext_port == Some(port) || self.tls_port == Some(port)
    }

    /// The base URL to reach the server, through a mapper.
    pub fn url(&self, mapper: &dyn ServiceMapper, prefer_tls: bool) -> Result<Url> {
        mapper.map(&self.host, self.plaintext_port, self.tls_port, prefer_tls)
    }
}

impl From<ServerRow> for Role {
    fn from(row: ServerRow) -> Self {
        // Only Coordinators and Overlords have leaders. Druid 27 writes
        // `0` in `is_leader` for the other types, Druid 33 `null`: the model
        // says `None` for them on every release.
        let is_leader = match row.server_type {
            ServerType::Coordinator | ServerType::Overlord => row.is_leader,
            _ => None,
        };
        Role {
            server_type: row.server_type,
            is_leader,
            tier: row.tier,
            curr_size: row.curr_size,
            max_size: row.max_size,
            storage_size: row.storage_size,
            start_time: row.start_time,
            version: row.version,
            build_revision: row.build_revision,
            labels: row.labels,
            available_processors: row.available_processors,
            total_memory: row.total_memory,
            extra: row.extra,
        }
    }
}

/// Where a [`ClusterModel`] was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The `sys.servers` table, through a Broker (or a Router to one).
    #[default]
    SysServers,
    /// The Coordinator's own view (`/druid/coordinator/v1/cluster` and the
    /// leader and data-server reads), when no Broker answers. It has no
    /// start times or versions.
    Coordinator,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::SysServers => "sys.servers",
            Source::Coordinator => "the Coordinator's cluster view",
        })
    }
}

/// The servers of a cluster, as one read of `sys.servers` (or the
/// Coordinator's view, see [`ClusterModel::source`]) saw them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterModel {
    servers: Vec<Server>,
    source: Source,
}

impl ClusterModel {
    /// Builds the model from rows, merging rows of the same server (same
    /// `server` key, or same host and ports when the key is missing).
    pub fn from_rows(rows: impl IntoIterator<Item = ServerRow>) -> Self {
        let mut servers: Vec<Server> = Vec::new();
        // Server key -> index in `servers`: a cluster of thousands of
        // servers is merged in one pass.
        let mut index: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let key = row.server.clone().unwrap_or_else(|| {
                let port = row
                    .plaintext_port
                    .or(row.tls_port)
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                format!("{}:{}", row.host, port)
            });
            let (host, plaintext_port, tls_port) =
                (row.host.clone(), row.plaintext_port, row.tls_port);
            let role = Role::from(row);
            match index.get(&key).and_then(|&i| servers.get_mut(i)) {
                Some(server) => {
                    server.plaintext_port = server.plaintext_port.or(plaintext_port);
                    server.tls_port = server.tls_port.or(tls_port);
                    if !server.has(&role.server_type) {
                        server.roles.push(role);
                    }
                }
                None => {
                    index.insert(key.clone(), servers.len());
                    servers.push(Server {
                        server: key,
                        host,
                        plaintext_port,
                        tls_port,
                        roles: vec![role],
                    });
                }
            }
        }
        ClusterModel {
            servers,
            source: Source::SysServers,
        }
    }

    /// Where the model was read from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The model, marked as read from `source`.
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Every server, in table order.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The servers that play a role, in table order.
    pub fn of_type(&self, server_type: &ServerType) -> impl Iterator<Item = &Server> + '_ {
        let server_type = server_type.clone();
        self.servers.iter().filter(move |s| s.has(&server_type))
    }

    /// The leader of a role. When Druid reports no leader flags at all for
    /// the role (old releases) and there is exactly one server, that one.
    pub fn leader(&self, server_type: &ServerType) -> Option<&Server> {
        if let Some(leader) = self.of_type(server_type).find(|s| s.is_leader(server_type)) {
            return Some(leader);
        }
        let candidates: Vec<&Server> = self.of_type(server_type).collect();
        let any_flag = candidates
            .iter()
            .any(|s| s.role(server_type).and_then(|r| r.is_leader).is_some());
        match candidates.as_slice() {
            [only] if !any_flag => Some(*only),
            _ => None,
        }
    }

    /// Every host name of the cluster, as Druid reports them.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.servers.iter().map(|s| s.host.as_str())
    }

    /// The servers a redirect inside this cluster may lead to: each
    /// server's host with each of its ports, as Druid reports them, and as
    /// `mapper` maps them (plaintext and TLS).
    pub fn redirect_scope(&self, mapper: &dyn ServiceMapper) -> RedirectScope {
        let mut origins: Vec<(String, u16)> = Vec::new();
        for server in &self.servers {
            let ports = [
                (server.plaintext_port, None, false),
                (None, server.tls_port, true),
            ];
            for (plain, tls, prefer_tls) in ports {
                let Some(port) = plain.or(tls) else {
                    continue;
                };
                origins.push((server.host.clone(), port));
                if let Ok(url) = mapper.map(&server.host, plain, tls, prefer_tls)
                    && let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default())
                {
                    origins.push((host.to_owned(), port));
                }
            }
        }
        RedirectScope::new(origins)
    }

    /// Finds the server behind an endpoint: a URL (`http://host:port/...`)
    /// or `host:port`, as Druid reports it or as the mapper maps it.
    pub fn find(
        &self,
        endpoint: &str,
        mapper: &dyn ServiceMapper,
        prefer_tls: bool,
    ) -> Result<Option<&Server>> {
        let (host, port) = parse_endpoint(endpoint)?;
        let direct = self
            .servers
            .iter()
            .find(|s| s.host.eq_ignore_ascii_case(&host) && s.has_port(port));
        if direct.is_some() {
            return Ok(direct);
        }
        for server in &self.servers {
            for prefer in [prefer_tls, !prefer_tls] {
                let Ok(url) = server.url(mapper, prefer) else {
                    continue;
                };
                let same_host = url
                    .host_str()
                    .map(|h| {
                        h.trim_start_matches('[')
                            .trim_end_matches(']')
                            .eq_ignore_ascii_case(&host)
                    })
                    .unwrap_or(false);
                if same_host && url.port_or_known_default() == Some(port) {
                    return Ok(Some(server));
                }
            }
        }
        Ok(None)
    }

    /// The roles of the server behind an endpoint; empty when no server of
    /// the cluster answers there.
    pub fn what_is(
        &self,
        endpoint: &str,
        mapper: &dyn ServiceMapper,
        prefer_tls: bool,
    ) -> Result<Vec<ServerType>> {
        Ok(self
            .find(endpoint, mapper, prefer_tls)?
            .map(|s| s.types().cloned().collect())
            .unwrap_or_default())
    }
}

/// Splits an endpoint into host and port: `http://h:1/x`, `https://h/x`
/// (default port), `h:1`, `[::1]:8081`.
pub fn parse_endpoint(endpoint: &str) -> Result<(String, u16)> {
    let text = endpoint.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        Error::invalid_input(format!(
            "{endpoint:?} is not an endpoint; give a URL like http://host:8081 or host:port ({e})"
        ))
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid_input(format!("{endpoint:?} has no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Error::invalid_input(format!("{endpoint:?} has no port")))?;
    Ok((host, port))
}

/// Reads the cluster through `service` (a Router or a Broker): from
/// `sys.servers`, or, when that fails in a way another source may not
/// (no Broker answers, a Broker restarting), from the Coordinator's view
/// through the same service (a Router forwards it). The first error is
/// returned when both fail.
pub async fn discover(service: &Service) -> Result<ClusterModel> {
    let error = match discover_from_sys_servers(service).await {
        Ok(model) => return Ok(model),
        Err(error) => error,
    };
    let refused = matches!(error.status().map(|s| s.as_u16()), Some(400 | 401 | 403));
    if refused || error.is_invalid_input() {
        return Err(error);
    }
    tracing::info!(%error, "sys.servers unreadable; asking the Coordinator's cluster view");
    discover_from_coordinator(service).await.map_err(|_| error)
}

/// Reads `sys.servers` through `service` (a Router or a Broker) and builds
/// the model.
pub async fn discover_from_sys_servers(service: &Service) -> Result<ClusterModel> {
    let request = Request::post("/druid/v2/sql")
        .operation("discovery.sys_servers")
        .effect(Effect::Read)
        // Discovery has a second source: it does not wait out a Broker's
        // restart here (the default policy would, for up to 30 s).
        .retry(RetryPolicy::default().max_attempts(2))
        .json(&serde_json::json!({ "query": SERVERS_QUERY, "resultFormat": "object" }))?;
    let rows: Vec<ServerRow> = service.send_json(&request).await?;
    Ok(ClusterModel::from_rows(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use druid_transport::{DockerMapper, IdentityMapper};
    use serde_json::json;

    fn rows(value: Value) -> Vec<ServerRow> {
        serde_json::from_value(value).unwrap()
    }

    fn quickstart() -> Vec<ServerRow> {
        rows(json!([
            {"server":"localhost:8081","host":"localhost","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","tier":null,"curr_size":0,"max_size":0,"is_leader":1,"start_time":"2024-01-01T00:00:00.000Z"},
            {"server":"localhost:8081","host":"localhost","plaintext_port":8081,"tls_port":-1,"server_type":"overlord","tier":null,"curr_size":0,"max_size":0,"is_leader":1,"start_time":"2024-01-01T00:00:00.000Z"},
            {"server":"localhost:8082","host":"localhost","plaintext_port":8082,"tls_port":-1,"server_type":"broker","tier":null,"curr_size":0,"max_size":0,"is_leader":null},
            {"server":"localhost:8083","host":"localhost","plaintext_port":8083,"tls_port":-1,"server_type":"historical","tier":"_default_tier","curr_size":1234,"max_size":10000000000_i64,"is_leader":null},
            {"server":"localhost:8091","host":"localhost","plaintext_port":8091,"tls_port":-1,"server_type":"indexer","tier":"_default_tier","curr_size":0,"max_size":0,"is_leader":null},
            {"server":"localhost:8888","host":"localhost","plaintext_port":8888,"tls_port":-1,"server_type":"router","tier":null,"curr_size":0,"max_size":0,"is_leader":null}
        ]))
    }

    #[test]
    fn server_types_parse_every_spelling() {
        assert_eq!(
            ServerType::parse("middle_manager"),
            ServerType::MiddleManager
        );
        assert_eq!(
            ServerType::parse("MIDDLE_MANAGER"),
            ServerType::MiddleManager
        );
        assert_eq!(
            ServerType::parse("middleManager"),
            ServerType::MiddleManager
        );
        assert_eq!(ServerType::parse("COORDINATOR"), ServerType::Coordinator);
        assert_eq!(
            ServerType::parse("quantum_broker"),
            ServerType::Other("quantum_broker".into())
        );
        assert_eq!(ServerType::MiddleManager.as_str(), "middle_manager");
        assert_eq!(ServerType::MiddleManager.to_string(), "MiddleManager");
    }

    #[test]
    fn only_coordinators_and_overlords_have_a_leader_flag() {
        // Druid 27 writes 0 for the other types, Druid 33 null.
        let model = ClusterModel::from_rows(rows(json!([
            {"server":"c:8081","host":"c","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":0},
            {"server":"b:8082","host":"b","plaintext_port":8082,"tls_port":-1,"server_type":"broker","is_leader":0},
            {"server":"r:8888","host":"r","plaintext_port":8888,"tls_port":-1,"server_type":"router","is_leader":null}
        ])));
        let flag = |server: &str, server_type: ServerType| {
            model
                .servers()
                .iter()
                .find(|s| s.server == server)
                .and_then(|s| s.role(&server_type))
                .map(|r| r.is_leader)
        };
        assert_eq!(flag("c:8081", ServerType::Coordinator), Some(Some(false)));
        assert_eq!(flag("b:8082", ServerType::Broker), Some(None));
        assert_eq!(flag("r:8888", ServerType::Router), Some(None));
    }

    #[test]
    fn coordinator_and_overlord_merge_into_one_server() {
        let model = ClusterModel::from_rows(quickstart());
        assert_eq!(model.servers().len(), 5);
        let coordinator = model.leader(&ServerType::Coordinator).unwrap();
        let overlord = model.leader(&ServerType::Overlord).unwrap();
        assert_eq!(coordinator, overlord);
        assert_eq!(
            coordinator.types().cloned().collect::<Vec<_>>(),
            vec![ServerType::Coordinator, ServerType::Overlord]
        );
        assert_eq!(coordinator.plaintext_port, Some(8081));
        assert_eq!(coordinator.tls_port, None);
        let historical = model.of_type(&ServerType::Historical).next().unwrap();
        let role = historical.role(&ServerType::Historical).unwrap();
        assert_eq!(role.tier.as_deref(), Some("_default_tier"));
        assert_eq!(role.curr_size, Some(1234));
        assert_eq!(role.max_size, Some(10_000_000_000));
        assert_eq!(role.is_leader, None);
    }

    #[test]
    fn tls_only_servers_and_unknown_types_and_columns() {
        let model = ClusterModel::from_rows(rows(json!([
            {"server":"b1:8282","host":"b1","plaintext_port":-1,"tls_port":8282,"server_type":"broker","tier":null,"curr_size":0,"max_size":0,"is_leader":null,"version":"37.0.0","future_column":{"x":1}},
            {"server":"q:9999","host":"q","plaintext_port":9999,"tls_port":-1,"server_type":"quantum_broker","current_size":7}
        ])));
        let broker = model.of_type(&ServerType::Broker).next().unwrap();
        assert_eq!(broker.plaintext_port, None);
        assert_eq!(broker.tls_port, Some(8282));
        let role = broker.role(&ServerType::Broker).unwrap();
        assert_eq!(role.version.as_deref(), Some("37.0.0"));
        assert_eq!(role.extra["future_column"], json!({"x": 1}));
        let url = broker.url(&IdentityMapper, false).unwrap();
        assert_eq!(url.as_str(), "https://b1:8282/");
        let other = ServerType::Other("quantum_broker".into());
        let q = model.of_type(&other).next().unwrap();
        assert_eq!(q.role(&other).unwrap().curr_size, Some(7));
    }

    #[test]
    fn leaders_follow_the_flags() {
        let model = ClusterModel::from_rows(rows(json!([
            {"server":"c1:8081","host":"c1","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":0},
            {"server":"c2:8081","host":"c2","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":1},
            {"server":"o1:8090","host":"o1","plaintext_port":8090,"tls_port":-1,"server_type":"overlord","is_leader":0}
        ])));
        assert_eq!(model.leader(&ServerType::Coordinator).unwrap().host, "c2");
        // Flags present, none true: no leader elected.
        assert!(model.leader(&ServerType::Overlord).is_none());
        assert!(model.leader(&ServerType::Broker).is_none());
        // No flags at all (old releases), one server: it.
        let old = ClusterModel::from_rows(rows(json!([
            {"host":"c","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":null}
        ])));
        assert_eq!(
            old.leader(&ServerType::Coordinator).unwrap().server,
            "c:8081"
        );
    }

    #[test]
    fn the_redirect_scope_has_reported_and_mapped_servers() {
        let model = ClusterModel::from_rows(rows(json!([
            {"server":"172.18.0.4:8081","host":"172.18.0.4","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":1},
            {"server":"druid-broker:8082","host":"druid-broker","plaintext_port":8082,"tls_port":8282,"server_type":"broker"}
        ])));
        let scope = model.redirect_scope(&DockerMapper::new("docker.local", [[18081, 8081]]));
        assert!(scope.allows("172.18.0.4", 8081));
        assert!(scope.allows("DRUID-BROKER", 8082));
        assert!(scope.allows("druid-broker", 8282));
        assert!(scope.allows("docker.local", 18081));
        assert!(scope.allows("docker.local", 8282));
        // A host of the cluster on another port is not a server of it.
        assert!(!scope.allows("172.18.0.4", 22));
        assert!(!scope.allows("docker.local", 8081));
        assert!(!scope.allows("elsewhere", 8081));
    }

    #[test]
    fn bad_ports_are_errors_not_panics() {
        let bad: std::result::Result<Vec<ServerRow>, _> = serde_json::from_value(json!([
            {"host":"h","plaintext_port":70000,"server_type":"broker"}
        ]));
        assert!(bad.unwrap_err().to_string().contains("out of range"));
    }

    #[test]
    fn what_is_knows_internal_and_mapped_endpoints() {
        let model = ClusterModel::from_rows(rows(json!([
            {"server":"172.18.0.4:8081","host":"172.18.0.4","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":1},
            {"server":"172.18.0.4:8081","host":"172.18.0.4","plaintext_port":8081,"tls_port":-1,"server_type":"overlord","is_leader":1},
            {"server":"172.18.0.5:8888","host":"172.18.0.5","plaintext_port":8888,"tls_port":-1,"server_type":"router"}
        ])));
        let mapper = DockerMapper::new("localhost", [[8899, 8888]]);
        assert_eq!(
            model
                .what_is("http://172.18.0.4:8081/status", &mapper, false)
                .unwrap(),
            vec![ServerType::Coordinator, ServerType::Overlord]
        );
        assert_eq!(
            model.what_is("localhost:8899", &mapper, false).unwrap(),
            vec![ServerType::Router]
        );
        assert_eq!(
            model
                .what_is("http://localhost:8081", &mapper, false)
                .unwrap()
                .len(),
            2
        );
        assert!(
            model
                .what_is("http://localhost:1234", &mapper, false)
                .unwrap()
                .is_empty()
        );
        assert!(model.what_is("::not a url::", &mapper, false).is_err());
        assert_eq!(
            parse_endpoint("https://h/x").unwrap(),
            ("h".to_owned(), 443)
        );
        assert_eq!(
            parse_endpoint("[::1]:8081").unwrap(),
            ("::1".to_owned(), 8081)
        );
    }

    #[tokio::test]
    async fn discover_sends_the_sql_and_parses_rows() {
        let body = serde_json::to_string(&json!([
            {"server":"localhost:8082","host":"localhost","plaintext_port":8082,"tls_port":-1,"server_type":"broker"}
        ]))
        .unwrap();
        let transport = druid_transport::Transport::builder()
            .mock(move |r| {
                assert_eq!(r.url.path(), "/druid/v2/sql");
                let sent: Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(sent["query"], SERVERS_QUERY);
                druid_transport::MockResponse::new(200, body.clone())
            })
            .build()
            .unwrap();
        let service = transport.service("http://localhost:8888".parse().unwrap());
        let model = discover(&service).await.unwrap();
        assert_eq!(model.servers()[0].server, "localhost:8082");
    }
}
