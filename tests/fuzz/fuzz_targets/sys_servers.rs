//! `sys.servers` answers into the cluster model: arbitrary bytes as the
//! answer of discovery's query, through `discover()` (the mock transport),
//! `ClusterModel::from_rows` on the rows that decode one by one, the
//! model's queries (leaders, `find`, `what_is`, redirect scopes) and the
//! `druid_api::Cluster` on top (its clients, `what_is`, `service`).
//!
//! The input is a JSON document (the rows, as Druid sends them), then,
//! after it, endpoints to look up, one a line.
//!
//! Invariants: no panic; `discover()` succeeds exactly when the whole answer
//! decodes as rows, with the model `from_rows` makes of them; a row decodes
//! the same from its text and from its `serde_json::Value`; every server of
//! the model comes from the rows and a leader plays its role; a server's
//! URL (identity mapper) is `scheme://host:port/` with the port chosen and
//! nothing else; every error's `Display` is one bounded line.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use druid_api::{Client, Cluster};
use druid_discovery::{ClusterModel, ServerRow, ServerType};
use druid_transport::{
    DockerMapper, IdentityMapper, MockResponse, ServiceMapper, Transport, choose_port,
};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

use common::{PASSWORD, block_on, check_api_error, check_line, check_transport_error};

static ANSWER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn answer() -> MockResponse {
    let body = ANSWER.lock().map(|a| a.clone()).unwrap_or_default();
    MockResponse::new(200, body).header("content-type", "application/json")
}

fn transport() -> &'static Transport {
    static T: OnceLock<Transport> = OnceLock::new();
    T.get_or_init(|| {
        Transport::builder()
            .retry(common::instant_retries())
            .mock(|_| answer())
            .build()
            .expect("the mock transport builds")
    })
}

fn client(docker: bool) -> &'static Client {
    static IDENTITY: OnceLock<Client> = OnceLock::new();
    static DOCKER: OnceLock<Client> = OnceLock::new();
    let make = |docker: bool| {
        let mut builder = Client::builder()
            .retry(common::instant_retries())
            .url("http://localhost:8888")
            .basic_auth("admin", PASSWORD)
            .mock(|_| answer());
        if docker {
            builder = builder
                .mapper(DockerMapper::new(
                    "localhost",
                    [[8899, 8888], [18081, 8081]],
                ))
                .prefer_tls(true);
        }
        builder.build().expect("the mock client builds")
    };
    if docker {
        DOCKER.get_or_init(|| make(true))
    } else {
        IDENTITY.get_or_init(|| make(false))
    }
}

fn types(model: &ClusterModel) -> Vec<ServerType> {
    let mut all: Vec<ServerType> = ServerType::KNOWN.to_vec();
    all.push(ServerType::Other("custom".to_owned()));
    for server in model.servers() {
        for t in server.types() {
            if !all.contains(t) {
                all.push(t.clone());
            }
        }
    }
    all
}

/// The model keeps what the rows say.
fn check_model(model: &ClusterModel, rows: &[ServerRow], input: &[u8]) {
    assert!(
        model.servers().len() <= rows.len(),
        "more servers than rows"
    );
    let roles: usize = model.servers().iter().map(|s| s.roles.len()).sum();
    assert!(roles <= rows.len(), "more roles than rows");
    for row in rows {
        // Rows merge by their `server` key (or host and port without one).
        let key = row.server.clone().unwrap_or_else(|| {
            let port = row.plaintext_port.or(row.tls_port).map(|p| p.to_string());
            format!("{}:{}", row.host, port.unwrap_or_default())
        });
        assert!(
            model
                .servers()
                .iter()
                .any(|s| s.server == key && s.has(&row.server_type)),
            "the row of {key} as {} is in no server",
            row.server_type
        );
    }
    for t in types(model) {
        let _ = (t.as_str(), t.display_name(), t.has_leader(), t.to_string());
        assert_eq!(
            ServerType::parse(t.as_str()),
            t,
            "a type's name parses back"
        );
        if let Some(leader) = model.leader(&t) {
            assert!(leader.has(&t), "the {t} leader does not play the role");
        }
    }
    let docker = DockerMapper::new("localhost", [[8899, 8888]]);
    let _ = model.redirect_scope(&IdentityMapper);
    let _ = model.redirect_scope(&docker);
    let _ = model.hosts().count();
    for server in model.servers() {
        for prefer_tls in [false, true] {
            check_url(server, prefer_tls, input);
            if let Err(e) = server.url(&docker, prefer_tls) {
                check_transport_error(&e, input);
            }
        }
    }
}

/// A server's URL is `scheme://host:port/`: no path, user or query that a
/// host name smuggled in.
fn check_url(server: &druid_discovery::Server, prefer_tls: bool, input: &[u8]) {
    match server.url(&IdentityMapper, prefer_tls) {
        Ok(url) => {
            let (scheme, port) = choose_port(
                &server.host,
                server.plaintext_port,
                server.tls_port,
                prefer_tls,
            )
            .expect("a URL was made, so there is a port");
            assert_eq!(url.scheme(), scheme.as_str(), "the scheme of {url}");
            assert_eq!(
                url.port_or_known_default(),
                Some(port),
                "the port of {url} for {:?}",
                server.host
            );
            assert_eq!(url.path(), "/", "the path of {url} for {:?}", server.host);
            assert_eq!(
                url.username(),
                "",
                "the user of {url} for {:?}",
                server.host
            );
            assert_eq!(
                url.password(),
                None,
                "the password of {url} for {:?}",
                server.host
            );
            assert_eq!(
                url.query(),
                None,
                "the query of {url} for {:?}",
                server.host
            );
            assert_eq!(
                url.fragment(),
                None,
                "the fragment of {url} for {:?}",
                server.host
            );
            // What it maps back to is the same server.
            if let Ok(again) = IdentityMapper.map_url(&url) {
                assert_eq!(again, url, "mapping {url} again changes it");
            }
        }
        Err(e) => check_transport_error(&e, input),
    }
}

fn check_queries(model: &ClusterModel, endpoints: &[String]) {
    let docker = DockerMapper::new("localhost", [[8899, 8888]]);
    let mappers: [&dyn ServiceMapper; 2] = [&IdentityMapper, &docker];
    for endpoint in endpoints {
        match druid_discovery::parse_endpoint(endpoint) {
            Ok(_) => {}
            Err(e) => check_transport_error(&e, endpoint.as_bytes()),
        }
        for mapper in mappers {
            for prefer_tls in [false, true] {
                match model.find(endpoint, mapper, prefer_tls) {
                    Ok(found) => {
                        let roles = model
                            .what_is(endpoint, mapper, prefer_tls)
                            .expect("find worked");
                        assert_eq!(roles.len(), found.map_or(0, |s| s.roles.len()));
                    }
                    Err(e) => check_transport_error(&e, endpoint.as_bytes()),
                }
            }
        }
    }
}

fn check_cluster(cluster: &Cluster, endpoints: &[String], input: &[u8]) {
    let results = [
        cluster.coordinator().map(|_| ()),
        cluster.overlord().map(|_| ()),
        cluster.broker().map(|_| ()),
        cluster.router().map(|_| ()),
        cluster.brokers().map(|_| ()),
        cluster.historicals().map(|_| ()),
        cluster.middle_managers().map(|_| ()),
        cluster.indexers().map(|_| ()),
        cluster.peons().map(|_| ()),
    ];
    for result in results {
        if let Err(e) = result {
            check_api_error(&e, input);
        }
    }
    let _ = cluster.redirect_scope().origins().count();
    for endpoint in endpoints {
        if let Err(e) = cluster.what_is(endpoint) {
            check_api_error(&e, input);
        }
        match cluster.service(endpoint) {
            Ok(client) => {
                let _ = (client.server_type(), format!("{client:?}"));
            }
            Err(e) => check_api_error(&e, input),
        }
        if let Err(e) = cluster.service_as(endpoint, &ServerType::Overlord) {
            check_api_error(&e, input);
        }
    }
}

/// Whether the object `raw` names a key twice (its `Value` has fewer).
fn has_duplicate_keys(raw: &RawValue, value: &Value) -> bool {
    struct Keys(usize);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Count;
            impl<'de> serde::de::Visitor<'de> for Count {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut n = 0;
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(Keys(n))
                }
            }
            d.deserialize_map(Count)
        }
    }
    match (serde_json::from_str::<Keys>(raw.get()), value) {
        (Ok(Keys(n)), Value::Object(map)) => n != map.len(),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<&RawValue>();
    let first = values.next();
    let json = &data[..values.byte_offset()];
    let rest = String::from_utf8_lossy(&data[values.byte_offset()..]);

    // The rows one by one, each the same from its text and from its
    // `Value` (made from the same text: a float read twice may differ).
    let mut rows = Vec::new();
    let items = first
        .and_then(Result::ok)
        .and_then(|raw| serde_json::from_str::<Vec<&RawValue>>(raw.get()).ok());
    for item in items.into_iter().flatten() {
        let from_text = serde_json::from_str::<ServerRow>(item.get());
        // A raw value is JSON text, but its numbers may not fit an f64.
        let Ok(value) = serde_json::from_str::<Value>(item.get()) else {
            assert!(
                from_text.is_err(),
                "a row with a number out of range decodes"
            );
            continue;
        };
        if has_duplicate_keys(item, &value) {
            // A `Value` keeps the last of them; the row is refused from
            // its text (`duplicate field`) or takes the last one.
            rows.extend(from_text.ok());
            continue;
        }
        let from_value = serde_json::from_value::<ServerRow>(value);
        match (from_value, from_text) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    a, b,
                    "a row decodes differently from its text and its value"
                );
                rows.push(a);
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!(
                "a row decodes from its value: {}, from its text: {}",
                a.is_ok(),
                b.is_ok()
            ),
        }
    }
    let model = ClusterModel::from_rows(rows.clone());
    check_model(&model, &rows, data);

    let mut endpoints: Vec<String> = rest
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.trim().is_empty())
        .take(4)
        .collect();
    for server in model.servers().iter().take(2) {
        endpoints.push(server.server.clone());
        if let Some(port) = server.plaintext_port {
            endpoints.push(format!("{}:{port}", server.host));
        }
    }
    endpoints.push("http://localhost:8899/druid/v2".to_owned());
    check_queries(&model, &endpoints);

    // Discovery itself, over the mock transport.
    if let Ok(mut answer) = ANSWER.lock() {
        answer.clear();
        answer.extend_from_slice(json);
    }
    let whole = serde_json::from_slice::<Vec<ServerRow>>(json);
    let service = transport().service("http://localhost:8888".parse().expect("a URL"));
    match block_on(druid_discovery::discover(&service)) {
        Ok(discovered) => {
            let rows = whole.expect("discovery succeeded, so the rows decode");
            assert_eq!(
                discovered,
                ClusterModel::from_rows(rows),
                "the discovered model"
            );
        }
        Err(e) => {
            assert!(whole.is_err(), "discovery failed on rows that decode: {e}");
            check_transport_error(&e, data);
            check_line(&e.to_string(), "discovery error");
        }
    }

    // The cluster of druid-api, from the model and through discovery.
    for docker in [false, true] {
        let cluster = Cluster::from_model(client(docker).clone(), model.clone());
        check_cluster(&cluster, &endpoints, data);
    }
    match block_on(client(false).cluster()) {
        Ok(cluster) => check_cluster(&cluster, &endpoints[..endpoints.len().min(3)], data),
        Err(e) => check_api_error(&e, data),
    }
});
