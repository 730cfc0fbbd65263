//! What the cluster holds: datasources, segments, load status, supervisors,
//! retention rules, lookups, users and roles.

use druid_api::Client;
use serde_json::Value;

use crate::args::{Format, Inventory};
use crate::fail::Failure;
use crate::tasks::{print_json, print_rows};

/// A number of bytes as text a person reads (`1.5 MiB`).
fn bytes(n: Option<i64>) -> Value {
    let Some(n) = n else {
        return Value::from("");
    };
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    Value::from(if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", units[unit])
    })
}

fn opt(text: Option<&str>) -> Value {
    Value::from(text.unwrap_or_default())
}

/// Runs one of the inventory commands.
pub(crate) async fn run(client: &Client, command: &Inventory) -> Result<(), Failure> {
    let cluster = client.cluster().await?;
    match command {
        Inventory::Datasources { output } => {
            let all = cluster.coordinator()?.datasources_simple().await?;
            if output.output == Format::Json {
                return print_json(&all);
            }
            print_rows(
                output.output,
                &["datasource", "segments", "size", "from", "to"],
                all.iter().map(|d| {
                    let s = d.properties.segments.as_ref();
                    vec![
                        Value::from(d.name.clone()),
                        s.and_then(|s| s.count).map_or(Value::from(""), Value::from),
                        bytes(s.and_then(|s| s.size)),
                        opt(s.and_then(|s| s.min_time.as_deref())),
                        opt(s.and_then(|s| s.max_time.as_deref())),
                    ]
                }),
            )
        }
        Inventory::Segments { datasource, output } => {
            let segments = cluster
                .coordinator()?
                .datasource_segments(datasource)
                .await?;
            if output.output == Format::Json {
                return print_json(&segments);
            }
            print_rows(
                output.output,
                &["interval", "version", "partition", "size"],
                segments.iter().map(|s| {
                    let partition = s
                        .shard_spec
                        .as_ref()
                        .and_then(|spec| spec.get("partitionNum"))
                        .cloned()
                        .unwrap_or(Value::from(0));
                    vec![
                        Value::from(s.interval.clone()),
                        Value::from(s.version.clone()),
                        partition,
                        bytes(s.size),
                    ]
                }),
            )
        }
        Inventory::LoadStatus { output } => {
            let status = cluster.coordinator()?.load_status().await?;
            if output.output == Format::Json {
                return print_json(&status);
            }
            print_rows(
                output.output,
                &["datasource", "loaded"],
                status.iter().map(|(ds, percent)| {
                    vec![
                        Value::from(ds.clone()),
                        Value::from(format!("{percent:.1} %")),
                    ]
                }),
            )
        }
        Inventory::Supervisors { output } => {
            let states = cluster.overlord()?.supervisor_states().await?;
            if output.output == Format::Json {
                return print_json(&states);
            }
            print_rows(
                output.output,
                &["id", "state", "detailed state", "healthy", "suspended"],
                states.iter().map(|s| {
                    vec![
                        Value::from(s.id.clone()),
                        opt(s.state.as_deref()),
                        opt(s.detailed_state.as_deref()),
                        s.healthy.map_or(Value::from(""), Value::from),
                        s.suspended.map_or(Value::from(""), Value::from),
                    ]
                }),
            )
        }
        Inventory::Rules {
            datasource,
            full,
            output,
        } => {
            let mut request = cluster.coordinator()?.rules(datasource);
            if *full {
                request = request.full(true);
            }
            let rules = request.await?;
            let rules = serde_json::to_value(&rules)
                .map_err(|e| Failure::druid(format!("cannot write the rules: {e}")))?;
            if output.output == Format::Json {
                return print_json(&rules);
            }
            let rows = rules.as_array().cloned().unwrap_or_default();
            print_rows(
                output.output,
                &["type", "period / interval", "replicants"],
                rows.iter().map(|rule| {
                    let when = rule
                        .get("period")
                        .or_else(|| rule.get("interval"))
                        .cloned()
                        .unwrap_or(Value::from(""));
                    vec![
                        rule.get("type").cloned().unwrap_or(Value::from("")),
                        when,
                        rule.get("tieredReplicants")
                            .cloned()
                            .unwrap_or(Value::from("")),
                    ]
                }),
            )
        }
        Inventory::Lookups { output } => {
            // A cluster that never had a lookup answers 404: none.
            let all = match cluster.coordinator()?.all_lookups().await {
                Err(e) if e.is_not_found() => Default::default(),
                other => other?,
            };
            if output.output == Format::Json {
                return print_json(&all);
            }
            let mut rows = Vec::new();
            for (tier, lookups) in &all {
                for (name, spec) in lookups {
                    let spec = serde_json::to_value(spec).unwrap_or(Value::Null);
                    rows.push(vec![
                        Value::from(tier.clone()),
                        Value::from(name.clone()),
                        spec.get("version").cloned().unwrap_or(Value::from("")),
                        spec.pointer("/lookupExtractorFactory/type")
                            .cloned()
                            .unwrap_or(Value::from("")),
                    ]);
                }
            }
            print_rows(output.output, &["tier", "lookup", "version", "type"], rows)
        }
        Inventory::Users {
            authenticator,
            output,
        } => {
            let users = cluster
                .coordinator()?
                .authentication_users(authenticator)
                .await?;
            if output.output == Format::Json {
                return print_json(&users);
            }
            print_rows(
                output.output,
                &["user"],
                users.into_iter().map(|u| vec![Value::from(u)]),
            )
        }
        Inventory::Roles { authorizer, output } => {
            let roles = cluster.coordinator()?.roles(authorizer).await?;
            if output.output == Format::Json {
                return print_json(&roles);
            }
            print_rows(
                output.output,
                &["role"],
                roles.into_iter().map(|r| vec![Value::from(r)]),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(bytes(Some(512)), "512 B");
        assert_eq!(bytes(Some(1536)), "1.5 KiB");
        assert_eq!(bytes(Some(3 * 1024 * 1024 * 1024)), "3.0 GiB");
        assert_eq!(bytes(None), "");
    }
}
