//! Who leads: arbitrary answers of `/druid/coordinator/v1/leader` and
//! `/druid/indexer/v1/leader` given to a `Cluster` made with
//! `Cluster::from_model` (three Coordinator-Overlords, a Broker, a Router),
//! whose leader fails every call with 503, so that the leader client it
//! handed out asks the other two who leads, learns the answer, and goes
//! on there; maybe the server it goes to redirects it once more (the
//! redirect is learned too).
//!
//! The input: sections (see `common::sections`), each a line `== NAME
//! [STATUS]` then a body: `options` (its header words: `overlord` follows
//! the Overlord instead of the Coordinator, `tls` makes the client reach
//! the cluster over TLS), `coord-2.example` and `10.0.0.3` (the `/leader`
//! answers of the other two, status 200 unless given; missing, 404), and
//! `redirect` (the first call that reaches a server other than the failed
//! leader is answered `307` to this Location):
//!
//! ```text
//! == options overlord
//! == coord-2.example
//! http://coord-2.example:8081
//! == 10.0.0.3 503
//! ```
//!
//! Invariants: no panic; after the call, the client's base URL is a server
//! of the model (as the transport reaches it), never a host an answer named
//! that the model lacks; every request went to a server of the model or the
//! entry; without `redirect`, the client learns a leader exactly when one
//! of the other two (that it may send to) answered 2xx with the URL of a
//! server of the model that plays the role (a Broker named as the
//! Coordinator's leader is not followed), other than the failed leader (the first such, by
//! host and port, whatever the scheme), and the call then succeeds there,
//! unless that server is only reachable over plaintext while the client
//! reaches the cluster over TLS; without a leader learned it fails and the
//! client stays with the failed leader; every error's `Display` is one
//! bounded line.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use druid_api::transport::url::Url;
use druid_api::{Client, Cluster, ClusterModel, MockResponse, ServerRow, ServerType};
use libfuzzer_sys::fuzz_target;

use common::{PASSWORD, check_transport_error};

/// The cluster: `coord-1.example` leads both roles.
const ROWS: &str = r#"[
{"server":"coord-1.example:8281","host":"coord-1.example","plaintext_port":8081,"tls_port":8281,"server_type":"coordinator","is_leader":1},
{"server":"coord-1.example:8281","host":"coord-1.example","plaintext_port":8081,"tls_port":8281,"server_type":"overlord","is_leader":1},
{"server":"coord-2.example:8281","host":"coord-2.example","plaintext_port":8081,"tls_port":8281,"server_type":"coordinator","is_leader":0},
{"server":"coord-2.example:8281","host":"coord-2.example","plaintext_port":8081,"tls_port":8281,"server_type":"overlord","is_leader":0},
{"server":"10.0.0.3:18081","host":"10.0.0.3","plaintext_port":18081,"tls_port":-1,"server_type":"coordinator","is_leader":0},
{"server":"10.0.0.3:18081","host":"10.0.0.3","plaintext_port":18081,"tls_port":-1,"server_type":"overlord","is_leader":0},
{"server":"broker.example:8282","host":"broker.example","plaintext_port":8082,"tls_port":8282,"server_type":"broker","is_leader":null},
{"server":"localhost:9088","host":"localhost","plaintext_port":8888,"tls_port":9088,"server_type":"router","is_leader":null}
]"#;

const FAILED_HOST: &str = "coord-1.example";
const CALL: &str = "/druid/fuzz/v1/call";

/// The answers of the current input, and the requests seen.
#[derive(Debug, Clone, Default)]
struct Script {
    leader_path: &'static str,
    /// The `/leader` answers, by host.
    answers: Vec<(String, u16, Vec<u8>)>,
    redirect: Option<String>,
    redirected: bool,
    seen: Vec<Url>,
}

static SCRIPT: Mutex<Option<Script>> = Mutex::new(None);

fn mock(request: &druid_api::MockRequest) -> MockResponse {
    let Ok(mut guard) = SCRIPT.lock() else {
        return MockResponse::new(599, "");
    };
    let Some(script) = guard.as_mut() else {
        return MockResponse::new(599, "");
    };
    script.seen.push(request.url.clone());
    let host = request.url.host_str().unwrap_or_default().to_owned();
    let path = request.url.path();
    if host == FAILED_HOST {
        return MockResponse::new(503, "Service Unavailable");
    }
    if path == script.leader_path {
        return match script.answers.iter().find(|(h, _, _)| *h == host) {
            Some((_, status, body)) => MockResponse::new(*status, body.clone()),
            None => MockResponse::new(404, "Not Found"),
        };
    }
    if path == CALL {
        if let Some(location) = script.redirect.clone().filter(|_| !script.redirected) {
            script.redirected = true;
            return MockResponse::new(307, "").header("location", &location);
        }
        return MockResponse::new(200, "ok");
    }
    // Discovery (sys.servers, the Coordinator's view) reads nothing: the
    // cluster keeps its model.
    MockResponse::new(404, "Not Found")
}

fn client(tls: bool) -> &'static Client {
    static PLAIN: OnceLock<Client> = OnceLock::new();
    static TLS: OnceLock<Client> = OnceLock::new();
    let make = |tls: bool| {
        Client::builder()
            .retry(common::instant_retries())
            // Every retry the policy allows, however many inputs ran in the
            // last seconds: the same input, the same path.
            .retry_budget(druid_api::transport::RetryBudget::unlimited())
            .url(if tls {
                "https://localhost:9088"
            } else {
                "http://localhost:8888"
            })
            .basic_auth("admin", PASSWORD)
            .mock(mock)
            .build()
            .expect("the mock client builds")
    };
    if tls {
        TLS.get_or_init(|| make(true))
    } else {
        PLAIN.get_or_init(|| make(false))
    }
}

fn model() -> &'static ClusterModel {
    static MODEL: OnceLock<ClusterModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let rows: Vec<ServerRow> = serde_json::from_str(ROWS).expect("the rows decode");
        ClusterModel::from_rows(rows)
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // The clock paused: a retry's zero wait (or a wait for a timer
        // while nothing else runs) takes no real time.
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime")
    })
}

/// The base URL through which `client` reaches each server of the model.
fn bases(client: &Client) -> Vec<(String, Url)> {
    model()
        .servers()
        .iter()
        .filter_map(|s| {
            let service = client
                .transport()
                .service_for(&s.host, s.plaintext_port, s.tls_port)
                .ok()?;
            Some((s.host.clone(), service.base_url()))
        })
        .collect()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The leader the answers name, by their definition: the first other
/// server of the role whose answer is a 2xx naming (scheme aside) a host
/// and port of a server of the model, other than the failed leader.
fn expected_leader(client: &Client, role: &ServerType, script: &Script) -> Option<Url> {
    let transport = client.transport();
    let failed = bases(client)
        .into_iter()
        .find(|(host, _)| host == FAILED_HOST)
        .map(|(_, url)| url)?;
    for server in model().of_type(role) {
        let Ok(service) =
            transport.service_for(&server.host, server.plaintext_port, server.tls_port)
        else {
            continue;
        };
        if same_origin(&service.base_url(), &failed) || !reachable(client, &service.base_url()) {
            continue;
        }
        let Some((_, status, body)) = script.answers.iter().find(|(h, _, _)| *h == server.host)
        else {
            continue;
        };
        if !(200..300).contains(status) {
            continue;
        }
        let Some(url) = std::str::from_utf8(body)
            .ok()
            .and_then(|text| Url::parse(text.trim()).ok())
        else {
            continue;
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            continue;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let Some(named) = model()
            .find(
                &format!("{host}:{port}"),
                transport.mapper(),
                transport.prefer_tls(),
            )
            .ok()
            .flatten()
            // Only a server that plays the role can lead it.
            .filter(|named| named.has(role))
        else {
            continue;
        };
        let Ok(leader) = transport.service_for(&named.host, named.plaintext_port, named.tls_port)
        else {
            continue;
        };
        if !same_origin(&leader.base_url(), &failed) {
            return Some(leader.base_url());
        }
    }
    None
}

/// Whether the client sends to `base`: not over plaintext when it reaches
/// the cluster over TLS.
fn reachable(client: &Client, base: &Url) -> bool {
    !(client.transport().prefer_tls() && base.scheme() == "http")
}

fuzz_target!(|data: &[u8]| {
    let (mut overlord, mut tls) = (false, false);
    let mut script = Script::default();
    for (header, body) in common::sections(data) {
        let mut words = header.split_whitespace();
        match words.next() {
            Some("options") => {
                for word in words {
                    overlord |= word == "overlord";
                    tls |= word == "tls";
                }
            }
            Some("redirect") if script.redirect.is_none() => {
                let text = String::from_utf8_lossy(&body);
                script.redirect = Some(text.trim().to_owned());
            }
            Some(host) => {
                if !script.answers.iter().any(|(h, _, _)| h == host) {
                    let status = common::status(words.next(), 200);
                    script.answers.push((host.to_owned(), status, body));
                }
            }
            None => {}
        }
    }
    let role = if overlord {
        script.leader_path = "/druid/indexer/v1/leader";
        ServerType::Overlord
    } else {
        script.leader_path = "/druid/coordinator/v1/leader";
        ServerType::Coordinator
    };
    if let Ok(mut current) = SCRIPT.lock() {
        *current = Some(script.clone());
    }

    let client = client(tls);
    let cluster = Cluster::from_model(client.clone(), model().clone());
    let service = if overlord {
        cluster.overlord().map(|c| c.service().clone())
    } else {
        cluster.coordinator().map(|c| c.service().clone())
    }
    .expect("the model has a leader");
    let bases = bases(client);
    let failed = bases
        .iter()
        .find(|(host, _)| host == FAILED_HOST)
        .map(|(_, url)| url.clone())
        .expect("the failed leader has a URL");
    assert_eq!(service.base_url(), failed, "the leader before the call");

    let result = runtime().block_on(service.get_text(CALL));
    let after = service.base_url();
    assert!(
        bases.iter().any(|(_, url)| *url == after),
        "the client went to {after}, no server of the model"
    );
    let seen = SCRIPT
        .lock()
        .ok()
        .and_then(|s| s.as_ref().map(|s| s.seen.clone()))
        .unwrap_or_default();
    let scope = cluster.redirect_scope();
    for url in &seen {
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = url.port_or_known_default().unwrap_or_default();
        assert!(
            scope.allows(host, port) || bases.iter().any(|(_, base)| same_origin(base, url)),
            "a request went to {url}, no server of the model"
        );
    }
    if let Err(e) = &result {
        check_transport_error(e, data);
    }
    if script.redirect.is_none() {
        let expected = expected_leader(client, &role, &script);
        match (&result, &expected) {
            (Ok(text), Some(leader)) => {
                assert_eq!(text, "ok");
                assert!(reachable(client, leader), "the call went over plaintext");
                assert_eq!(&after, leader, "the leader learned");
            }
            (Err(e), Some(leader)) => {
                assert!(
                    !reachable(client, leader),
                    "the call failed where {leader} was named: {e}"
                );
                assert_eq!(&after, leader, "the leader learned");
            }
            (Err(_), None) => assert_eq!(after, failed, "a leader learned from no answer"),
            (Ok(_), None) => panic!("the call succeeded with no leader named: {after}"),
        }
    }
});
