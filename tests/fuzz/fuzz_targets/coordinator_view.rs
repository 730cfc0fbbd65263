//! The Coordinator's view of the cluster, discovery's source without a
//! Broker: arbitrary answers of `/druid/coordinator/v1/cluster`, the two
//! `/leader` endpoints and `/druid/coordinator/v1/servers?simple`, through
//! `discover_from_coordinator` and through `discover` (whose `sys.servers`
//! query fails first), over the mock transport.
//!
//! The input: sections, each a line `== NAME [STATUS]` (`cluster`,
//! `leader`, `overlord_leader`, `servers`; the status 200 unless given),
//! then the answer's body up to the next section. A missing section
//! answers 404:
//!
//! ```text
//! == cluster
//! {"coordinator":[{"host":"localhost","plaintextPort":8081,"tlsPort":8281}]}
//! == leader
//! https://localhost:8281
//! == overlord_leader 503
//! == servers
//! []
//! ```
//!
//! Invariants: no panic; discovery succeeds exactly when the four answers
//! are 2xx, the two JSON ones decode (a `ClusterView`, a list of
//! `DataServer`s) and the leaders are UTF-8, and then its model is
//! `model_from_coordinator_view` of them (its source the Coordinator);
//! `discover` fails or succeeds with it, with the same model; every server
//! of the model is made of nodes of the view (role, host and key), and a
//! role leads only where a leader URL names the host and a port of one of
//! those nodes; every error's `Display` is one bounded line.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use druid_discovery::{ClusterView, DataServer, ServerType, Source};
use druid_transport::url::Url;
use druid_transport::{MockResponse, Transport};
use libfuzzer_sys::fuzz_target;

use common::{PASSWORD, block_on, check_line, check_transport_error};

/// The four answers of the current input: (path, status, body).
static ANSWERS: Mutex<Vec<(&'static str, u16, Vec<u8>)>> = Mutex::new(Vec::new());

const SECTIONS: [(&str, &str); 4] = [
    ("cluster", "/druid/coordinator/v1/cluster"),
    ("leader", "/druid/coordinator/v1/leader"),
    ("overlord_leader", "/druid/indexer/v1/leader"),
    ("servers", "/druid/coordinator/v1/servers"),
];

fn transport() -> &'static Transport {
    static T: OnceLock<Transport> = OnceLock::new();
    T.get_or_init(|| {
        Transport::builder()
            .retry(common::instant_retries())
            .basic_auth("admin", PASSWORD)
            .mock(|request| {
                let path = request.url.path();
                let answers = ANSWERS.lock().map(|a| a.clone()).unwrap_or_default();
                match answers.iter().find(|(p, _, _)| *p == path) {
                    Some((_, status, body)) => MockResponse::new(*status, body.clone())
                        .header("content-type", "application/json"),
                    // sys.servers among them: no Broker answers.
                    None => MockResponse::new(404, "Not Found"),
                }
            })
            .build()
            .expect("the mock transport builds")
    })
}

/// The sections of an input: name, status, body.
fn sections(data: &[u8]) -> Vec<(String, u16, Vec<u8>)> {
    common::sections(data)
        .into_iter()
        .map(|(header, body)| {
            let mut words = header.split_whitespace();
            let name = words.next().unwrap_or_default().to_owned();
            (name, common::status(words.next(), 200), body)
        })
        .collect()
}

/// What an answer of the view reads as, by its definition.
fn leader(answer: Option<&(u16, Vec<u8>)>) -> Result<Option<Url>, ()> {
    match answer {
        Some((status, body)) if (200..300).contains(status) => {
            let text = std::str::from_utf8(body).map_err(|_| ())?;
            Ok(Url::parse(text.trim()).ok())
        }
        _ => Err(()),
    }
}

fn json<T: serde::de::DeserializeOwned>(answer: Option<&(u16, Vec<u8>)>) -> Result<T, ()> {
    match answer {
        Some((status, body)) if (200..300).contains(status) => {
            serde_json::from_slice(body).map_err(|_| ())
        }
        _ => Err(()),
    }
}

/// A port of the view: `-1`, 0 or out of range is none.
fn port(value: Option<i64>) -> Option<u16> {
    value.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0)
}

fn is_at(url: Option<&Url>, host: &str, ports: [Option<u16>; 2]) -> bool {
    url.is_some_and(|url| {
        url.host_str()
            .is_some_and(|h| h.trim_start_matches('[').trim_end_matches(']') == host)
            && url
                .port_or_known_default()
                .is_some_and(|p| ports.contains(&Some(p)))
    })
}

fuzz_target!(|data: &[u8]| {
    let sections = sections(data);
    let mut answers = Vec::new();
    for (name, path) in SECTIONS {
        // The first section of a name counts.
        if let Some((_, status, body)) = sections.iter().find(|(n, _, _)| n == name) {
            answers.push((path, *status, body.clone()));
        }
    }
    if let Ok(mut current) = ANSWERS.lock() {
        *current = answers.clone();
    }
    let answer = |path: &str| {
        answers
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, status, body)| (*status, body.clone()))
    };

    // The definition.
    let cluster = json::<ClusterView>(answer(SECTIONS[0].1).as_ref());
    let coordinator = leader(answer(SECTIONS[1].1).as_ref());
    let overlord = leader(answer(SECTIONS[2].1).as_ref());
    let data_servers = json::<Vec<DataServer>>(answer(SECTIONS[3].1).as_ref());
    let expected = match (&cluster, &coordinator, &overlord, &data_servers) {
        (Ok(cluster), Ok(coordinator), Ok(overlord), Ok(data_servers)) => {
            Some(druid_discovery::model_from_coordinator_view(
                cluster.clone(),
                coordinator.as_ref(),
                overlord.as_ref(),
                data_servers,
            ))
        }
        _ => None,
    };

    let service = transport().service("http://localhost:8888".parse().expect("a URL"));
    let from_view = block_on(druid_discovery::discover_from_coordinator(&service));
    match &from_view {
        Ok(model) => {
            let expected = expected
                .as_ref()
                .expect("the view was read where its answers do not all read");
            assert_eq!(model, expected, "the model of the view");
            assert_eq!(model.source(), Source::Coordinator);
            let cluster = cluster.as_ref().expect("the cluster answer decoded");
            let (coordinator, overlord) = (
                coordinator.as_ref().ok().cloned().flatten(),
                overlord.as_ref().ok().cloned().flatten(),
            );
            for server in model.servers() {
                for role in &server.roles {
                    // The nodes of the view this role of the server was
                    // made of: same role, host and key (`host:port`, the
                    // TLS port first).
                    let nodes: Vec<[Option<u16>; 2]> = cluster
                        .iter()
                        .filter(|(name, _)| ServerType::parse(name) == role.server_type)
                        .flat_map(|(_, nodes)| nodes)
                        .filter(|node| node.host == server.host)
                        .map(|node| [port(node.plaintext_port), port(node.tls_port)])
                        .filter(|[plain, tls]| {
                            let port = tls.or(*plain).map(|p| p.to_string());
                            format!("{}:{}", server.host, port.unwrap_or_default()) == server.server
                        })
                        .collect();
                    assert!(
                        !nodes.is_empty(),
                        "{} as {} is no node of the view",
                        server.server,
                        role.server_type
                    );
                    let leads = role.is_leader == Some(true);
                    let named = |leader: Option<&Url>| {
                        nodes
                            .iter()
                            .any(|ports| is_at(leader, &server.host, *ports))
                    };
                    match role.server_type {
                        ServerType::Coordinator if leads => assert!(
                            named(coordinator.as_ref()),
                            "{} leads the Coordinators, not named by {coordinator:?}",
                            server.server
                        ),
                        ServerType::Overlord if leads => assert!(
                            named(overlord.as_ref()),
                            "{} leads the Overlords, not named by {overlord:?}",
                            server.server
                        ),
                        _ => assert!(!leads, "{} leads {}", server.server, role.server_type),
                    }
                }
            }
        }
        Err(e) => {
            assert!(
                expected.is_none(),
                "the view was not read where its answers all read: {e}"
            );
            check_transport_error(e, data);
            check_line(&e.to_string(), "view error");
        }
    }

    // Discovery: sys.servers fails (404), the view is the second source.
    match block_on(druid_discovery::discover(&service)) {
        Ok(model) => assert_eq!(
            Some(&model),
            from_view.as_ref().ok(),
            "discover() found another model"
        ),
        Err(e) => {
            assert!(
                from_view.is_err(),
                "discover() failed where the view was read: {e}"
            );
            check_transport_error(&e, data);
        }
    }
});
