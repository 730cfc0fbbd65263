//! Calls by catalog entry (`druid_api::catalog::Call`) against a real
//! cluster: endpoints of several services, sent by name with text
//! arguments, answer what the generated methods answer.
//!
//! These tests need the cluster of `cargo xtask druid up` (found through
//! `DRUID_URL`); plain `cargo test` lists them as ignored. Every wait has a
//! limit; the one task they submit is a short `noop`.

#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use std::time::Duration;

use druid_api::catalog::{self, Call, CallResponse};
use druid_api::models::TaskState;
use druid_api::prelude::*;
use druid_api::transport::Outcome;
use druid_api::{Client, ServerType};
use druid_tests::live::{client, credentials, eventually, url, version};
use serde_json::{Value, json};

const TASK_LIMIT: Duration = Duration::from_secs(240);
/// How long two reads of a list other tests may change can disagree.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// Sends `call` through `client`, with the entry looked up by the dashed
/// names a command line uses.
async fn call(
    client: &(impl ServiceClient + ?Sized),
    service: &str,
    id: &str,
    build: impl FnOnce(Call) -> Call,
) -> CallResponse {
    let entry = catalog::lookup(service, id).unwrap();
    build(Call::new(entry)).send(client).await.unwrap()
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn generic_calls_answer_what_the_generated_methods_answer() {
    let client = client();
    let cluster = client.cluster().await.unwrap();
    let coordinator = cluster.coordinator().unwrap();
    let overlord = cluster.overlord().unwrap();
    let broker = cluster.broker().unwrap();
    let router = cluster.router().unwrap();

    // The datasource list, from the lead Coordinator and through the
    // Router's Coordinator proxy (a client whose base URL has a path
    // prefix). Other tests may add or drop datasources between reads, so
    // the three are read until they agree.
    let proxy = router.coordinator_proxy().unwrap();
    eventually("the datasource lists to agree", SETTLE_LIMIT, || {
        let (coordinator, proxy) = (coordinator.clone(), proxy.clone());
        async move {
            let generic = call(&coordinator, "coordinator", "datasources", |c| c).await;
            assert_eq!(generic.status().as_u16(), 200);
            assert_eq!(generic.operation(), "coordinator.datasources");
            let mut generic: Vec<String> = generic.json()?;
            let mut proxied: Vec<String> = call(&proxy, "coordinator", "datasources", |c| c)
                .await
                .json()?;
            let mut generated = coordinator.datasources().await?;
            generic.sort();
            proxied.sort();
            generated.sort();
            Ok((generic == generated && proxied == generated).then_some(()))
        }
    })
    .await
    .unwrap();

    // Text answers: the Overlord's leader, a URL of the cluster.
    let leader = call(&overlord, "overlord", "leader", |c| c).await;
    let leader = leader.text().unwrap();
    assert_eq!(leader, overlord.leader().await.unwrap());
    assert!(leader.starts_with("http://localhost:") || leader.starts_with("https://localhost:"));
    // An answer the spec reads: the lead Coordinator says it leads.
    let is_leader = call(&coordinator, "coordinator", "is-leader", |c| c).await;
    assert_eq!(is_leader.outcome(), Outcome::Value);
    assert_eq!(is_leader.json::<Value>().unwrap(), json!({"leader": true}));

    // Status of the Broker and the Router.
    let status: Value = call(&broker, "broker", "status", |c| c)
        .await
        .json()
        .unwrap();
    assert_eq!(status["version"], broker.status().await.unwrap().version);
    if let Some(expected) = version() {
        assert_eq!(status["version"], expected);
    }
    let ready = call(&broker, "broker", "is-ready", |c| c).await;
    assert_eq!(
        (ready.status().as_u16(), ready.outcome()),
        (200, Outcome::True)
    );
    let healthy = call(&router, "router", "is-healthy", |c| c).await;
    assert!(healthy.json::<bool>().unwrap());
    let router_status: Value = call(&router, "router", "status", |c| c)
        .await
        .json()
        .unwrap();
    assert_eq!(router_status["version"], status["version"]);

    // A server reached by its address, as an `AnyClient`.
    let historical = cluster
        .servers()
        .into_iter()
        .find(|s| s.has(&ServerType::Historical))
        .unwrap();
    let any = cluster.service(&historical.server).unwrap();
    assert_eq!(any.server_type(), ServerType::Historical);
    let loaded: Value = call(&any, "historical", "load-status", |c| c)
        .await
        .json()
        .unwrap();
    assert_eq!(loaded["cacheInitialized"], true, "{loaded}");
    let ready = call(&any, "historical", "is_ready", |c| c).await;
    assert_eq!(ready.outcome(), Outcome::True);
    let health: bool = call(&any, "historical", "is-healthy", |c| c)
        .await
        .json()
        .unwrap();
    assert!(health);
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn an_sql_post_by_catalog_entry_reads_rows() {
    let client = client();
    let sql = catalog::lookup("client", "sql-query").unwrap();
    let body = json!({
        "query": "SELECT 1 + 1 AS two, 'druid' AS name",
        "resultFormat": "array",
        "header": true,
    });
    let answer = Call::new(sql)
        .json_body(body.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(
        answer.json::<Value>().unwrap(),
        json!([["two", "name"], [2, "druid"]])
    );
    assert!(
        answer.header("x-druid-sql-query-id").is_some(),
        "{answer:?}"
    );

    // Streamed, as a command line prints query results.
    let mut streamed = Call::new(sql)
        .json_body(body)
        .send_streaming(&client)
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = streamed.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap(),
        json!([["two", "name"], [2, "druid"]])
    );

    // The servers, as SQL sees them, equal what the typed query returns.
    let query = "SELECT server FROM sys.servers ORDER BY server";
    let rows: Vec<Value> = Call::new(sql)
        .json_body(json!({"query": query}))
        .send(&client)
        .await
        .unwrap()
        .json()
        .unwrap();
    let typed: Vec<Value> = client.sql(query).rows().await.unwrap();
    assert_eq!(rows, typed);
    assert!(rows.len() >= 5, "{rows:?}");

    // Druid's refusal of bad SQL is Druid's error, with the operation.
    let err = Call::new(sql)
        .json_body(json!({"query": "SELECT * FROM no_such_table_at_all"}))
        .send(&client)
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status.as_u16(), 400, "{err}");
    assert_eq!(api.operation, "client.sql_query");
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn a_task_submitted_by_catalog_entry_runs_and_reads_back() {
    let overlord = client().cluster().await.unwrap().overlord().unwrap();
    let answer = call(&overlord, "overlord", "submit-task", |c| {
        c.json_body(json!({"type": "noop", "runTime": 500}))
    })
    .await;
    assert!(!answer.is_reconstructed());
    let task: Value = answer.json().unwrap();
    let id = task["task"].as_str().unwrap().to_owned();
    assert!(id.starts_with("noop_"), "the client set the ID: {id}");
    let done = overlord.wait_for_task(&id, TASK_LIMIT).await.unwrap();
    assert_eq!(done.status_code, TaskState::Success);

    let status: Value = call(&overlord, "overlord", "task-status", |c| {
        c.path_param("task-id", &id)
    })
    .await
    .json()
    .unwrap();
    assert_eq!(status["task"], id.as_str());
    assert_eq!(status["status"]["status"], "SUCCESS");
    let generated = overlord.task_status(&id).await.unwrap();
    assert_eq!(
        status["status"]["duration"],
        generated.status.unwrap().duration.unwrap()
    );
    let payload: Value = call(&overlord, "overlord", "task", |c| {
        c.path_param("taskId", &id)
    })
    .await
    .json()
    .unwrap();
    assert_eq!(payload["payload"]["type"], "noop");

    // The list filtered by state, with its text arguments checked.
    let complete: Value = call(&overlord, "overlord", "tasks", |c| {
        c.query("state", "complete").query("max", "50")
    })
    .await
    .json()
    .unwrap();
    let complete = complete.as_array().unwrap();
    assert!(complete.len() <= 50);
    assert!(
        complete.iter().all(|t| t["statusCode"] != "RUNNING"),
        "{complete:?}"
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn the_endpoints_effect_and_release_hold_against_druid() {
    // A read-only client refuses a change before sending it and reads.
    let mut builder = Client::builder().url(url()).read_only(true);
    if let Some((user, password)) = credentials() {
        builder = builder.basic_auth(user, password);
    }
    let read_only = builder.build().unwrap();
    let overlord = read_only.cluster().await.unwrap().overlord().unwrap();
    let err = Call::new(catalog::lookup("overlord", "submit-task").unwrap())
        .json_body(json!({"type": "noop"}))
        .send(&overlord)
        .await
        .unwrap_err();
    assert!(err.is_read_only(), "{err:?}");
    assert!(err.to_string().contains("overlord.submit_task"), "{err}");
    let leader = call(&overlord, "overlord", "is-leader", |c| c).await;
    assert_eq!(leader.json::<Value>().unwrap()["leader"], true);

    // An endpoint newer than the cluster names both releases.
    let coordinator = client().cluster().await.unwrap().coordinator().unwrap();
    let err = Call::new(catalog::lookup("coordinator", "clone-status").unwrap())
        .send(&coordinator)
        .await
        .unwrap_err();
    let line = err.to_string();
    assert!(
        line.starts_with("coordinator.clone_status answered 404")
            && line.contains("it needs Druid 34.0.0 or later"),
        "{line}"
    );
    if let Some(expected) = version() {
        assert!(
            line.ends_with(&format!("the cluster runs {expected}")),
            "{line}"
        );
    }
}
