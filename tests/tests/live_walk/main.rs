//! The walk of every side-effect-free `GET` endpoint of the spec against the
//! live cluster, on the service that serves it, with real parameters.
//!
//! The calls are generated (`walks.rs`, by `cargo xtask codegen` from the spec
//! and `tests/live-walk.toml`); this file prepares what they need (an
//! ingested datasource, a finished task, a segment, an interval, a lookup,
//! rules and a compaction config), runs them, prints the report, cleans up,
//! and fails on any endpoint that answered 404/405 or did not decode.

#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

#[rustfmt::skip]
mod walks;

use druid_api::models::{DataSourceCompactionConfig, LookupSpec, Rule};
use druid_api::prelude::*;
use druid_tests::live::{LOAD_LIMIT, client, credentials, eventually, ingest, unique};
use druid_tests::walk::{Params, Walk};

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn every_get_endpoint_answers_and_decodes() {
    // On the plaintext profile the basic-security endpoints answer that
    // their extension is not loaded; the user only fills their parameter.
    let admin = credentials().map_or_else(|| "admin".to_owned(), |(user, _)| user);
    let client = client();
    let cluster = client.cluster().await.unwrap();
    let coordinator = cluster.coordinator().unwrap();
    let overlord = cluster.overlord().unwrap();
    let broker = cluster.broker().unwrap();
    let router = cluster.router().unwrap();
    let historical = cluster.historicals().unwrap().remove(0);
    let indexer = cluster.indexers().unwrap().remove(0);
    let version = coordinator.status().await.unwrap().version;

    // What the endpoints need: data, a task, a segment, an interval, a lookup.
    let datasource = unique("walk");
    let task_id = ingest(&datasource).await;
    coordinator
        .wait_for_datasource_loaded(&datasource, LOAD_LIMIT)
        .await
        .unwrap();
    let segment_id = coordinator
        .datasource_segment_ids(&datasource)
        .await
        .unwrap()
        .remove(0);
    let interval = coordinator
        .datasource_intervals(&datasource)
        .await
        .unwrap()
        .remove(0);
    coordinator
        .update_lookups(&serde_json::json!({}))
        .await
        .unwrap();
    let lookup_name = unique("walk_lookup");
    let spec = LookupSpec::map("v1", [("a".to_owned(), "b".to_owned())]);
    coordinator
        .set_lookup("__default", &lookup_name, &spec)
        .await
        .unwrap();
    coordinator
        .set_rules(
            &datasource,
            &[Rule::load_forever([("_default_tier".to_owned(), 1)])],
        )
        .await
        .unwrap();
    coordinator
        .set_compaction_config(&DataSourceCompactionConfig::new(datasource.clone()))
        .await
        .unwrap();
    // Druid names lookup nodes as sys.servers does (the TLS port when TLS is on).
    let broker_server = cluster
        .model()
        .of_type(&druid_api::ServerType::Broker)
        .next()
        .unwrap()
        .server
        .clone();
    // Lookup endpoints of data servers answer once the lookup has loaded.
    eventually("the lookup to load on the Broker", LOAD_LIMIT, || {
        let coordinator = coordinator.clone();
        let name = lookup_name.clone();
        async move {
            let status = coordinator.one_lookup_status("__default", &name).await?;
            Ok((status["loaded"] == true).then_some(()))
        }
    })
    .await
    .unwrap();

    // A finished asynchronous statement, for the statement endpoints
    // (without MSQ they answer that the extension is not loaded).
    let query_id = if druid_tests::live::has_msq().await {
        let statement = client
            .sql(format!(r#"SELECT page, added FROM "{datasource}""#))
            .run_async(LOAD_LIMIT)
            .await
            .unwrap();
        statement.query_id().to_owned()
    } else {
        unique("walk_statement")
    };

    let params = Params {
        datasource: datasource.clone(),
        task_id,
        segment_id,
        interval,
        tier: "__default".to_owned(),
        lookup_name: lookup_name.clone(),
        host_and_port: broker_server,
        query_id,
        sql_query_id: unique("walk_query"),
        authenticator: "basic".to_owned(),
        authorizer: "basic".to_owned(),
        user: admin.clone(),
        role: "admin".to_owned(),
        catalog_schema: "druid".to_owned(),
    };

    let mut walk = Walk::new(&version);
    walks::walk_coordinator(&coordinator, &params, &mut walk).await;
    walks::walk_overlord(&overlord, &params, &mut walk).await;
    walks::walk_broker(&broker, &params, &mut walk).await;
    walks::walk_router(&router, &params, &mut walk).await;
    walks::walk_historical(&historical, &params, &mut walk).await;
    walks::walk_indexer(&indexer, &params, &mut walk).await;
    walks::not_walked(&mut walk);
    let report = format!("Druid {version}: {}", walk.report());
    println!("{report}");
    // Kept for CI's log (`cargo xtask ci` prints it).
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/live-walk-report.txt");
    if let Err(e) = std::fs::write(&path, &report) {
        println!("(the report could not be kept in {}: {e})", path.display());
    }

    coordinator
        .delete_lookup("__default", &lookup_name)
        .await
        .unwrap();
    coordinator
        .delete_compaction_config(&datasource)
        .await
        .unwrap();
    #[allow(deprecated)] // the Overlord serves this only from Druid 34 on
    coordinator
        .mark_datasource_unused(&datasource)
        .await
        .unwrap();

    let failures = walk.failures();
    assert!(
        failures.is_empty(),
        "{} endpoint(s) failed: {failures:?}\n{}",
        failures.len(),
        walk.report()
    );
}
