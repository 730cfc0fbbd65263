//! `druid cluster`: every server, its roles, leaders, tier, version, health.

use std::io::{self, Write as _};
use std::time::Duration;

use druid_api::prelude::*;
use druid_api::{Client, Cluster, Server};
use serde_json::{Value, json};

use crate::args::{ClusterArgs, Format};
use crate::fail::Failure;
use crate::output::{Column, RowWriter, Style};

/// How long each server's health check may take.
const HEALTH_LIMIT: Duration = Duration::from_secs(5);
/// How many servers are checked at once: a cluster of thousands of servers
/// does not open thousands of connections (two per server) at once.
const HEALTH_CHECKS_AT_ONCE: usize = 16;

/// A server's health, as checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Ok,
    Unhealthy,
    Unreachable,
    Unchecked,
}

impl Health {
    fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Unhealthy => "unhealthy",
            Health::Unreachable => "unreachable",
            Health::Unchecked => "",
        }
    }
}

/// A server's health and, from its `/status`, its version (`sys.servers`
/// has no version column before Druid 28).
async fn health(cluster: &Cluster, server: &Server) -> (Health, Option<String>) {
    let Ok(client) = cluster.service(&server.server) else {
        return (Health::Unreachable, None);
    };
    let (healthy, status) = tokio::join!(
        tokio::time::timeout(HEALTH_LIMIT, client.is_healthy()),
        tokio::time::timeout(HEALTH_LIMIT, client.status()),
    );
    let health = match healthy {
        Ok(Ok(true)) => Health::Ok,
        Ok(Ok(false)) => Health::Unhealthy,
        Ok(Err(_)) | Err(_) => Health::Unreachable,
    };
    let version = match status {
        Ok(Ok(status)) => Some(status.version),
        _ => None,
    };
    (health, version)
}

fn roles(server: &Server) -> String {
    server
        .types()
        .map(|t| t.as_str().to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

fn leads(server: &Server) -> String {
    server
        .roles
        .iter()
        .filter(|r| r.is_leader == Some(true))
        .map(|r| r.server_type.as_str().to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

fn first_of<'a>(
    server: &'a Server,
    field: impl Fn(&'a druid_api::Role) -> Option<&'a String>,
) -> Option<&'a str> {
    server.roles.iter().find_map(field).map(String::as_str)
}

/// `druid cluster`.
pub(crate) async fn run(client: &Client, args: &ClusterArgs) -> Result<(), Failure> {
    let cluster = client.cluster().await?;
    let mut servers = cluster.servers();
    servers.sort_by(|a, b| {
        let rank = |s: &Server| s.types().next().map(|t| t.as_str().to_owned());
        rank(a).cmp(&rank(b)).then_with(|| a.server.cmp(&b.server))
    });
    let checked: Vec<(Health, Option<String>)> = if args.no_health {
        vec![(Health::Unchecked, None); servers.len()]
    } else {
        use futures_util::StreamExt as _;
        futures_util::stream::iter(servers.iter().map(|s| health(&cluster, s)))
            .buffered(HEALTH_CHECKS_AT_ONCE)
            .collect()
            .await
    };
    let healths: Vec<Health> = checked.iter().map(|(health, _)| *health).collect();
    // The model's version where sys.servers has one, else the server's own.
    for (server, (_, version)) in servers.iter_mut().zip(checked) {
        for role in &mut server.roles {
            if role.version.is_none() {
                role.version.clone_from(&version);
            }
        }
    }
    let style = Style::for_stdout();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = match args.output.output {
        Format::Json => {
            let all: Vec<Value> = servers
                .iter()
                .zip(&healths)
                .map(|(server, health)| json_of(server, *health))
                .collect();
            serde_json::to_writer_pretty(&mut out, &all)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
        format => {
            let columns = ["server", "roles", "leader", "tier", "version", "health"]
                .map(Column::named)
                .to_vec();
            let mut writer = RowWriter::new(&mut out, format, style, columns).with_painter(
                Box::new(|column, text| match (column, text) {
                    (2, leader) if !leader.is_empty() => Some("1"),
                    (5, "ok") => Some("32"),
                    (5, "unhealthy" | "unreachable") => Some("31"),
                    _ => None,
                }),
            );
            let mut result = Ok(());
            for (server, health) in servers.iter().zip(&healths) {
                let row = [
                    Value::from(server.server.clone()),
                    Value::from(roles(server)),
                    Value::from(leads(server)),
                    Value::from(first_of(server, |r| r.tier.as_ref()).unwrap_or_default()),
                    Value::from(first_of(server, |r| r.version.as_ref()).unwrap_or_default()),
                    Value::from(health.as_str()),
                ];
                result = writer.row(&row);
                if result.is_err() {
                    break;
                }
            }
            result.and_then(|()| writer.finish().map(|_| ()))
        }
    };
    match result.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::usage(format!("cannot write the output: {e}"))),
    }
}

/// A server as `-o json` writes it: everything the model knows.
fn json_of(server: &Server, health: Health) -> Value {
    let roles: Vec<Value> = server
        .roles
        .iter()
        .map(|r| {
            json!({
                "type": r.server_type.as_str(),
                "leader": r.is_leader,
                "tier": r.tier,
                "version": r.version,
                "curr_size": r.curr_size,
                "max_size": r.max_size,
                "start_time": r.start_time,
            })
        })
        .collect();
    json!({
        "server": server.server,
        "host": server.host,
        "plaintext_port": server.plaintext_port,
        "tls_port": server.tls_port,
        "roles": roles,
        "health": if health == Health::Unchecked { Value::Null } else { Value::from(health.as_str()) },
    })
}
