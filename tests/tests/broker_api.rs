//! The Broker-side APIs without a cluster: asynchronous SQL statements (and
//! the `run_async` helper), SQL capability probes and Dart listings, query
//! candidates and the legacy datasource metadata, lookup introspection, and a
//! running task's chat API. Every endpoint's request shape is checked through
//! the mock transport, and the documented example bodies (tests/data/druid-api
//! fixtures) and bodies captured from Druid 27 decode into their models.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use druid_api::models::{LookupSpec, ResultFormat, SqlParameter, StatementState, TaskState};
use druid_api::prelude::*;
use druid_api::{
    BrokerClient, Client, Error, HistoricalClient, IndexerClient, MockRequest, MockResponse,
    PeonClient, RouterClient, Service,
};
use druid_tests::mock::{Log, last, line, recording, scripted};
use serde_json::{Value, json};

fn body_json(request: &MockRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

use druid_tests::fixture;

/// A service whose every answer is the fixture, with 200.
fn serving(name: &str) -> Service {
    let body = fixture(name);
    Client::builder()
        .url("http://druid.test:8082")
        .mock(move |_| MockResponse::new(200, body.clone()))
        .build()
        .unwrap()
        .service()
        .clone()
}

/// A service whose every answer is `body`, with 200.
fn answering(body: &'static str) -> Service {
    recording(200, body).0
}

// ---------------------------------------------------------------------------
// Asynchronous SQL statements: the endpoints.

#[tokio::test]
async fn statement_endpoints_send_the_documented_requests() {
    let (service, seen) = recording(200, r#"{"queryId":"q1","state":"ACCEPTED"}"#);
    let client = Client::new(service.clone());
    let mut body = druid_api::models::SqlQuery::new("SELECT 1");
    body.context.insert("executionMode".into(), json!("ASYNC"));
    let accepted = client.submit_statement(&body).await.unwrap();
    assert_eq!(accepted.state, StatementState::Accepted);
    let r = last(&seen);
    assert_eq!(line(&r), "POST /druid/v2/sql/statements");
    assert_eq!(
        body_json(&r),
        json!({"query": "SELECT 1", "context": {"executionMode": "ASYNC"}})
    );

    client.statement("query-a/b c").await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/sql/statements/query-a%2Fb%20c"
    );
    client.statement_detail("q1").await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/sql/statements/q1?detail=true"
    );
    let results = client
        .statement_results("q1")
        .page(2)
        .result_format(ResultFormat::Csv)
        .filename("out.csv")
        .await
        .unwrap();
    assert_eq!(results.status(), 200);
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/sql/statements/q1/results?page=2&resultFormat=csv&filename=out.csv"
    );
    client.statement_results("q1").await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/sql/statements/q1/results",
        "no page: every page"
    );
    client.cancel_statement("q1").await.unwrap();
    assert_eq!(line(&last(&seen)), "DELETE /druid/v2/sql/statements/q1");

    // The same calls are on the Broker and Router clients.
    BrokerClient::new(service.clone())
        .statement("q1")
        .await
        .unwrap();
    RouterClient::new(service).statement("q1").await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 8);
}

#[tokio::test]
async fn cancel_accepts_202_and_200_and_reports_404() {
    for status in [200, 202] {
        let (service, _) = recording(status, "");
        Client::new(service).cancel_statement("q1").await.unwrap();
    }
    let (service, _) = recording(
        404,
        r#"{"error":"druidException","errorCode":"notFound","persona":"USER","category":"NOT_FOUND","errorMessage":"Query [nonexistent] was not found.","context":{}}"#,
    );
    let err = Client::new(service)
        .cancel_statement("nonexistent")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.druid_error().unwrap().code(), Some("notFound"));
}

#[tokio::test]
async fn statement_fixtures_decode() {
    let accepted = Client::new(serving("broker__POST__druid_v2_sql_statements.json"))
        .submit_statement(&druid_api::models::SqlQuery::new("SELECT *"))
        .await
        .unwrap();
    assert_eq!(
        accepted.query_id,
        "query-b82a7049-b94f-41f2-a230-7fef94768745"
    );
    assert_eq!(accepted.state, StatementState::Accepted);
    assert!(!accepted.state.is_terminal());
    assert_eq!(accepted.schema.len(), 20);
    assert_eq!(accepted.schema[0].name, "__time");
    assert_eq!(accepted.schema[0].sql_type.as_deref(), Some("TIMESTAMP"));
    assert_eq!(accepted.schema[0].native_type.as_deref(), Some("LONG"));
    assert_eq!(accepted.duration_ms, Some(-1));
    assert!(accepted.result.is_none() && accepted.pages().is_empty());

    let detail = Client::new(serving(
        "broker__GET__druid_v2_sql_statements_queryId__detail.json",
    ))
    .statement_detail("query-9b93f6f7-ab0e-48f5-986a-3520f84f0804")
    .await
    .unwrap();
    assert_eq!(detail.state, StatementState::Success);
    assert!(detail.state.is_terminal());
    assert_eq!(detail.duration_ms, Some(25591));
    assert_eq!(detail.num_total_rows(), Some(1));
    let result = detail.result.as_ref().unwrap();
    assert_eq!(result.data_source.as_deref(), Some("__query_select"));
    assert_eq!(result.total_size_in_bytes, Some(375));
    assert_eq!(result.sample_records[0][1], "#ja.wikipedia");
    assert_eq!(detail.pages().len(), 1);
    assert_eq!(detail.pages()[0].id, 0);
    assert_eq!(detail.pages()[0].num_rows, Some(1));
    assert_eq!(detail.stages.as_ref().unwrap().as_array().unwrap().len(), 2);
    assert!(detail.counters.as_ref().unwrap().get("0").is_some());
    assert_eq!(detail.warnings, Some(json!([])));
}

/// Bodies captured from Druid 27.0.0.
const STATUS_SUCCESS_27: &str = r#"{"queryId":"query-88c528de-78a7-4ba0-ad0d-6c9c50e79b7f","state":"SUCCESS","createdAt":"2026-11-28T13:43:14.036Z","schema":[{"name":"__time","type":"TIMESTAMP","nativeType":"LONG"},{"name":"page","type":"VARCHAR","nativeType":"STRING"},{"name":"added","type":"BIGINT","nativeType":"LONG"}],"durationMs":1223,"result":{"numTotalRows":2,"totalSizeInBytes":152,"dataSource":"__query_select","sampleRecords":[[1704067200000,"a",1],[1704070800000,"b",2]],"pages":[{"id":0,"numRows":2,"sizeInBytes":152}]}}"#;
const STATUS_CANCELED_27: &str = r#"{"queryId":"query-b2e57f87-2926-42bb-a120-e338f04d9373","state":"FAILED","createdAt":"2026-11-28T14:22:04.452Z","durationMs":-1,"errorDetails":{"error":"druidException","errorCode":"Canceled","persona":"USER","category":"UNCATEGORIZED","errorMessage":"Query canceled by user or by task shutdown.","context":{}}}"#;
const RESULTS_27: &str = "{\"__time\":1704067200000,\"page\":\"a\",\"added\":1}\n{\"__time\":1704070800000,\"page\":\"b\",\"added\":2}\n\n";

#[tokio::test]
async fn druid_27_statement_bodies_decode() {
    let status = Client::new(answering(STATUS_SUCCESS_27))
        .statement("q")
        .await
        .unwrap();
    assert_eq!(status.state, StatementState::Success);
    assert_eq!(status.schema[2].name, "added");
    assert_eq!(
        status.result.unwrap().sample_records[1],
        [json!(1704070800000_i64), json!("b"), json!(2)]
    );
    let canceled = Client::new(answering(STATUS_CANCELED_27))
        .statement("q")
        .await
        .unwrap();
    // Druid 27 ends a canceled statement FAILED, without a schema.
    assert_eq!(canceled.state, StatementState::Failed);
    assert!(canceled.schema.is_empty());
    let error = canceled.error_details.unwrap();
    assert_eq!(error.error_code.as_deref(), Some("Canceled"));
    assert_eq!(error.category.as_deref(), Some("UNCATEGORIZED"));
    assert_eq!(
        error.summary(),
        "Canceled: Query canceled by user or by task shutdown."
    );
    let unknown: StatementState = serde_json::from_value(json!("PAUSED")).unwrap();
    assert_eq!(unknown, StatementState::Other("PAUSED".into()));
    assert!(!unknown.is_terminal());
}

#[tokio::test]
async fn druid_27_results_decode_through_the_helper() {
    let status: Value = serde_json::from_str(STATUS_SUCCESS_27).unwrap();
    let (client, _) = statement_backend(0, status, vec![RESULTS_27]);
    let results = client
        .wait_for_statement(
            "query-88c528de-78a7-4ba0-ad0d-6c9c50e79b7f",
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Timed {
        #[serde(rename = "__time")]
        time: i64,
        page: String,
        added: i64,
    }
    assert_eq!(
        results.rows::<Timed>().await.unwrap(),
        [
            Timed {
                time: 1704067200000,
                page: "a".into(),
                added: 1
            },
            Timed {
                time: 1704070800000,
                page: "b".into(),
                added: 2
            }
        ]
    );
}

#[tokio::test]
async fn submission_errors_are_druid_errors() {
    let (service, _) = recording(
        400,
        r#"{"error":"druidException","errorCode":"invalidInput","persona":"USER","category":"INVALID_INPUT","errorMessage":"Execution mode is not provided to the sql statement api. Please set [executionMode] to [ASYNC] in the query context","context":{}}"#,
    );
    let err = Client::new(service)
        .submit_statement(&druid_api::models::SqlQuery::new("SELECT 1"))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400);
    assert_eq!(err.druid_error().unwrap().code(), Some("invalidInput"));
    // The documented field descriptions parse as a DruidException too.
    let body = fixture("error__druidexception__sql_statements_submit_400.json");
    let parsed = druid_api::DruidError::parse(&body);
    assert_eq!(parsed.shape, druid_api::ErrorShape::DruidException);
    assert_eq!(parsed.code(), Some("Well-defined error code."));
}

// ---------------------------------------------------------------------------
// The `run_async` helper.

/// A fake statements API: `RUNNING` for `running_polls` status calls, then
/// `final_status`; results per page from `pages`.
fn statement_backend(
    running_polls: usize,
    final_status: Value,
    pages: Vec<&'static str>,
) -> (Client, Log) {
    let polls = AtomicUsize::new(0);
    scripted("http://druid.test:8888", move |r| {
        let path = r.url.path().to_owned();
        let query_id = final_status["queryId"].as_str().unwrap_or("q1").to_owned();
        match (r.method.as_str(), path.as_str()) {
            ("POST", "/druid/v2/sql/statements") => MockResponse::json(
                &json!({"queryId": query_id, "state": "ACCEPTED", "schema": final_status["schema"], "durationMs": -1}),
            ),
            ("GET", p) if p.ends_with("/results") => {
                let page = r
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "page")
                    .and_then(|(_, v)| v.parse::<usize>().ok());
                match page.and_then(|p| pages.get(p)) {
                    Some(body) => MockResponse::new(200, *body),
                    None => MockResponse::new(
                        400,
                        r#"{"error":"druidException","errorCode":"invalidInput","errorMessage":"Page number [9] is out of the range of results"}"#,
                    ),
                }
            }
            ("GET", _) => {
                if polls.fetch_add(1, Ordering::SeqCst) < running_polls {
                    MockResponse::json(&json!({"queryId": query_id, "state": "RUNNING"}))
                } else {
                    MockResponse::json(&final_status)
                }
            }
            ("DELETE", _) => MockResponse::new(202, ""),
            _ => MockResponse::new(404, ""),
        }
    })
}

fn two_page_success() -> Value {
    json!({
        "queryId": "query-1", "state": "SUCCESS",
        "schema": [{"name": "page", "type": "VARCHAR", "nativeType": "STRING"}, {"name": "added", "type": "BIGINT", "nativeType": "LONG"}],
        "durationMs": 900,
        "result": {"numTotalRows": 3, "totalSizeInBytes": 99, "dataSource": "__query_select",
                   "sampleRecords": [["Druid", 32]],
                   "pages": [{"id": 0, "numRows": 2, "sizeInBytes": 60}, {"id": 1, "numRows": 1, "sizeInBytes": 39}]}
    })
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Row {
    page: String,
    added: i64,
}

fn row(page: &str, added: i64) -> Row {
    Row {
        page: page.to_owned(),
        added,
    }
}

#[tokio::test]
async fn run_async_submits_polls_and_reads_page_by_page() {
    let (client, seen) = statement_backend(
        2,
        two_page_success(),
        vec![
            "{\"page\":\"Druid\",\"added\":32}\n{\"page\":\"Rust\",\"added\":15}\n\n",
            // A release that answers the object format instead of lines.
            r#"[{"page":"Java","added":1}]"#,
        ],
    );
    let results = client
        .sql("SELECT page, added FROM wiki WHERE added > ?")
        .parameter(SqlParameter::bigint(0))
        .context("maxNumTasks", 2)
        .run_async(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(results.query_id(), "query-1");
    assert_eq!(results.status().state, StatementState::Success);
    assert_eq!(results.num_rows(), Some(3));
    assert_eq!(results.pages().len(), 2);
    assert_eq!(
        results
            .columns()
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["page", "added"]
    );
    assert_eq!(
        results.page::<Row>(0).await.unwrap(),
        [row("Druid", 32), row("Rust", 15)]
    );
    assert_eq!(
        results.rows::<Row>().await.unwrap(),
        [row("Druid", 32), row("Rust", 15), row("Java", 1)]
    );
    let untyped: Vec<Value> = results.page(1).await.unwrap();
    assert_eq!(untyped, [json!({"page": "Java", "added": 1})]);

    let requests: Vec<MockRequest> = seen.lock().unwrap().clone();
    let submitted = &requests[0];
    assert_eq!(line(submitted), "POST /druid/v2/sql/statements");
    assert_eq!(
        body_json(submitted),
        json!({
            "query": "SELECT page, added FROM wiki WHERE added > ?",
            "context": {"maxNumTasks": 2, "executionMode": "ASYNC"},
            "parameters": [{"type": "BIGINT", "value": 0}]
        })
    );
    let polls = requests
        .iter()
        .filter(|r| line(r) == "GET /druid/v2/sql/statements/query-1")
        .count();
    assert_eq!(polls, 3, "two RUNNING answers, then SUCCESS");
    assert!(
        requests.iter().any(|r| line(r)
            == "GET /druid/v2/sql/statements/query-1/results?page=1&resultFormat=objectLines"),
        "{:?}",
        requests.iter().map(line).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn run_async_keeps_a_given_execution_mode_and_refuses_empty_sql() {
    let (client, seen) = statement_backend(0, two_page_success(), vec![]);
    client
        .sql("SELECT 1")
        .context("executionMode", "async")
        .submit_async()
        .await
        .unwrap();
    assert_eq!(
        body_json(&last(&seen))["context"],
        json!({"executionMode": "async"})
    );
    let before = seen.lock().unwrap().len();
    let err = client
        .sql("  ")
        .run_async(Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), before, "nothing was sent");
}

#[tokio::test]
async fn a_failed_statement_is_a_typed_error_with_druids_details() {
    let failed: Value = serde_json::from_str(STATUS_CANCELED_27).unwrap();
    let (client, _) = statement_backend(1, failed, vec![]);
    let err = client
        .sql("SELECT * FROM TABLE(EXTERN(...))")
        .run_async(Duration::from_secs(30))
        .await
        .unwrap_err();
    match err {
        Error::TaskFailed {
            task_id,
            state,
            message,
        } => {
            assert_eq!(task_id, "query-b2e57f87-2926-42bb-a120-e338f04d9373");
            assert_eq!(state, "FAILED");
            assert_eq!(
                message,
                "Canceled: Query canceled by user or by task shutdown."
            );
        }
        other => panic!("{other:?}"),
    }
    let canceled = json!({"queryId": "q2", "state": "CANCELED"});
    let (client, _) = statement_backend(0, canceled, vec![]);
    let err = client
        .wait_for_statement("q2", Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TaskFailed { state, message, .. } if state == "CANCELED" && message == "no error details"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_wait_has_a_limit_and_the_handle_survives_it() {
    let (client, seen) = statement_backend(usize::MAX, two_page_success(), vec![]);
    let statement = client.sql("SELECT 1").submit_async().await.unwrap();
    assert_eq!(statement.query_id(), "query-1");
    assert_eq!(statement.status().state, StatementState::Accepted);
    let err = statement
        .wait(Duration::from_millis(500))
        .await
        .unwrap_err();
    match &err {
        Error::WaitTimeout {
            what, last_seen, ..
        } => {
            assert!(what.contains("query-1"), "{what}");
            assert_eq!(last_seen, "RUNNING");
        }
        other => panic!("{other:?}"),
    }
    // A wait that ran out is not a request timeout: retrying on
    // `is_timeout()` must not repeat a whole wait.
    assert!(err.is_wait_timeout());
    assert!(!err.is_timeout());
    statement.cancel().await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        "DELETE /druid/v2/sql/statements/query-1"
    );
    let mut statement = statement;
    assert_eq!(
        statement.refresh().await.unwrap().state,
        StatementState::Running
    );
}

#[tokio::test]
async fn dropping_the_future_stops_polling() {
    let (client, seen) = statement_backend(usize::MAX, two_page_success(), vec![]);
    let run = client.sql("SELECT 1").run_async(Duration::from_secs(600));
    assert!(
        tokio::time::timeout(Duration::from_millis(700), run)
            .await
            .is_err(),
        "still polling when dropped"
    );
    let after_drop = seen.lock().unwrap().len();
    assert!(after_drop >= 2, "submitted and polled: {after_drop}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        seen.lock().unwrap().len(),
        after_drop,
        "nothing polls in the background"
    );
}

#[tokio::test]
async fn short_or_broken_pages_are_errors() {
    let (client, _) = statement_backend(
        0,
        two_page_success(),
        vec![
            // Two rows were announced; the download stopped after one.
            "{\"page\":\"Druid\",\"added\":32}\n",
            "{\"page\":\"Java\",\"added\":\"many\"}\n\n",
        ],
    );
    let results = client
        .wait_for_statement("query-1", Duration::from_secs(5))
        .await
        .unwrap();
    let err = results.page::<Row>(0).await.unwrap_err();
    assert!(
        err.decode().is_some_and(|d| d.message.contains("cut off")),
        "{err:?}"
    );
    let err = results.page::<Row>(1).await.unwrap_err();
    assert!(err.decode().is_some_and(|d| d.path == "[0]"), "{err:?}");
    let err = results.page::<Row>(9).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400, "{err:?}");
    let raw = results.raw_page(None, ResultFormat::Csv).await;
    assert!(raw.is_err(), "the fake has no unpaged results");
}

#[tokio::test]
async fn a_statement_without_rows_has_no_pages() {
    let ingest = json!({"queryId": "query-ingest", "state": "SUCCESS", "schema": [], "durationMs": 5000,
        "result": {"numTotalRows": 0, "totalSizeInBytes": 0, "dataSource": "wiki", "sampleRecords": [], "pages": []}});
    let (client, seen) = statement_backend(0, ingest, vec![]);
    let results = client
        .sql("REPLACE INTO wiki ...")
        .run_async(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(results.pages().is_empty());
    assert!(results.rows::<Value>().await.unwrap().is_empty());
    assert!(
        !seen
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.url.path().ends_with("/results")),
        "no page to read, no request"
    );
}

// ---------------------------------------------------------------------------
// SQL probes and Dart listings.

#[tokio::test]
async fn sql_admin_requests_and_answers() {
    let (service, seen) = recording(200, r#"{"enabled":true}"#);
    let client = Client::new(service);
    assert!(client.sql_task_enabled().await.unwrap().enabled);
    assert_eq!(line(&last(&seen)), "GET /druid/v2/sql/task/enabled");

    let client = Client::new(answering(
        r#"{"engines":[{"name":"native"},{"name":"msq-task"},{"name":"msq-dart"}]}"#,
    ));
    let engines = client.sql_engines().await.unwrap();
    assert_eq!(engines.names(), ["native", "msq-task", "msq-dart"]);

    let (service, seen) = recording(
        200,
        r#"{"queries":[{"engine":"msq-dart","sqlQueryId":"abc","dartQueryId":"d-1","sql":"SELECT 1","authenticator":"allowAll","identity":"allowAll","startTime":"2025-01-01T00:00:00.000Z","state":"RUNNING"}]}"#,
    );
    let broker = BrokerClient::new(service);
    let list = broker
        .sql_queries()
        .self_only(true)
        .include_complete(true)
        .await
        .unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/sql/queries?selfOnly&includeComplete"
    );
    assert_eq!(list.queries[0].sql_query_id.as_deref(), Some("abc"));
    assert_eq!(list.queries[0].state.as_deref(), Some("RUNNING"));
    broker.sql_queries().await.unwrap();
    assert_eq!(line(&last(&seen)), "GET /druid/v2/sql/queries");

    let (service, seen) = recording(
        200,
        r#"{"query":{"engine":"msq-dart","sqlQueryId":"abc"},"report":{"multiStageQuery":{"type":"multiStageQuery","taskId":"d-1","payload":{"status":{"status":"SUCCESS","durationMs":12}}}}}"#,
    );
    let report = RouterClient::new(service)
        .sql_query_reports("a b")
        .self_only(true)
        .await
        .unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/sql/queries/a%20b/reports?selfOnly"
    );
    assert_eq!(report.query.unwrap().engine.as_deref(), Some("msq-dart"));
    let msq = report.report.unwrap().msq_status().unwrap();
    assert_eq!(msq.status, TaskState::Success);
    assert_eq!(msq.duration_ms, Some(12));

    // Druid 27 has neither engines nor listings: 405 from the cancel route.
    let (service, _) = recording(405, "");
    let err = Client::new(service).sql_engines().await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 405);
}

// ---------------------------------------------------------------------------
// Candidates and the legacy datasource metadata.

#[tokio::test]
async fn broker_metadata_requests() {
    let (service, seen) = recording(200, "[]");
    let client = Client::new(service.clone());
    let query = json!({"queryType": "timeseries", "dataSource": "wiki", "intervals": ["2024-01-01/2024-01-02"], "granularity": "all"});
    assert!(
        client
            .query_candidates(&query)
            .pretty(true)
            .await
            .unwrap()
            .is_empty()
    );
    let r = last(&seen);
    assert_eq!(line(&r), "POST /druid/v2/candidates?pretty");
    assert_eq!(body_json(&r), query);

    assert!(client.queryable_datasources().await.unwrap().is_empty());
    assert_eq!(line(&last(&seen)), "GET /druid/v2/datasources");

    #[allow(deprecated)]
    {
        client
            .queryable_dimensions("wiki ü")
            .interval("2024-01-01/2024-02-01")
            .await
            .unwrap();
        assert_eq!(
            line(&last(&seen)),
            "GET /druid/v2/datasources/wiki%20%C3%BC/dimensions?interval=2024-01-01%2F2024-02-01"
        );
        client.queryable_metrics("wiki").await.unwrap();
        assert_eq!(line(&last(&seen)), "GET /druid/v2/datasources/wiki/metrics");
    }
    client
        .datasource_candidates("wiki", &["2024-01-01/2024-01-02", "2024-01-02/2024-01-03"])
        .num_candidates(1)
        .await
        .unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/datasources/wiki/candidates?intervals=2024-01-01%2F2024-01-02%2C2024-01-02%2F2024-01-03&numCandidates=1"
    );

    let (service, seen) = recording(200, r#"{"dimensions":["added","page"],"metrics":[]}"#);
    let broker = BrokerClient::new(service);
    let columns = broker
        .queryable_datasource("wiki")
        .interval("2024-01-01/2024-01-03")
        .await
        .unwrap();
    assert_eq!(columns.dimensions, ["added", "page"]);
    assert!(columns.metrics.is_empty());
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v2/datasources/wiki?interval=2024-01-01%2F2024-01-03"
    );

    let (service, seen) = recording(
        200,
        r#"{"2024-01-01T00:00:00.000Z/2024-01-03T00:00:00.000Z":{"dimensions":["added","page"],"metrics":[]}}"#,
    );
    let full = RouterClient::new(service)
        .queryable_datasource_full("wiki")
        .await
        .unwrap();
    assert_eq!(line(&last(&seen)), "GET /druid/v2/datasources/wiki?full");
    assert_eq!(
        full["2024-01-01T00:00:00.000Z/2024-01-03T00:00:00.000Z"].dimensions,
        ["added", "page"]
    );
}

#[tokio::test]
async fn candidate_fixture_decodes() {
    let candidates = BrokerClient::new(serving("broker__POST__druid_v2_candidates.json"))
        .query_candidates(&json!({"queryType": "scan"}))
        .await
        .unwrap();
    assert_eq!(candidates.len(), 30);
    let first = &candidates[0];
    assert_eq!(
        first.interval,
        "2023-07-03T18:00:00.000Z/2023-07-03T19:00:00.000Z"
    );
    assert_eq!(first.version.as_deref(), Some("2023-07-03T18:51:18.905Z"));
    assert_eq!(first.partition_number, Some(0));
    assert_eq!(first.size, Some(21563693));
    let location = &first.locations[0];
    assert_eq!(location.name.as_deref(), Some("localhost:8083"));
    assert_eq!(location.host.as_deref(), Some("localhost:8083"));
    assert_eq!(location.host_and_tls_port, None);
    assert_eq!(location.max_size, Some(300000000000));
    assert_eq!(location.server_type.as_deref(), Some("historical"));
    assert_eq!(location.tier.as_deref(), Some("_default_tier"));
    assert_eq!(location.priority, Some(0));
    assert!(candidates.iter().any(|c| c.partition_number == Some(1)));
}

// ---------------------------------------------------------------------------
// Lookup introspection on every lookup-loading service.

/// `GET /druid/listen/v1/lookups` as Druid 27 answers it.
const LOADED_LOOKUPS_27: &str = r#"{"current":{"countries":{"version":"v1","lookupExtractorFactory":{"type":"map","map":{"US":"United States","FR":"France"},"isOneToOne":false}}},"toLoad":{},"toDrop":["old"]}"#;

#[tokio::test]
async fn lookup_listen_and_introspection_requests() {
    let (service, seen) = recording(200, LOADED_LOOKUPS_27);
    for (name, loaded) in [
        (
            "broker",
            BrokerClient::new(service.clone()).loaded_lookups().await,
        ),
        (
            "historical",
            HistoricalClient::new(service.clone())
                .loaded_lookups()
                .await,
        ),
        (
            "indexer",
            IndexerClient::new(service.clone()).loaded_lookups().await,
        ),
        (
            "peon",
            PeonClient::new(service.clone()).loaded_lookups().await,
        ),
    ] {
        let loaded = loaded.unwrap();
        assert_eq!(line(&last(&seen)), "GET /druid/listen/v1/lookups", "{name}");
        let countries = &loaded.current["countries"];
        assert_eq!(countries.version, "v1");
        assert_eq!(countries.lookup_extractor_factory["map"]["FR"], "France");
        assert!(loaded.to_load.is_empty());
        assert_eq!(loaded.to_drop, ["old"]);
    }

    let (service, seen) = recording(
        200,
        r#"{"version":"v1","lookupExtractorFactory":{"type":"map","map":{"US":"United States"},"isOneToOne":false}}"#,
    );
    let broker = BrokerClient::new(service);
    let spec = broker.loaded_lookup("my lookup").await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/listen/v1/lookups/my%20lookup"
    );
    assert_eq!(spec.version, "v1");

    let (service, seen) = recording(200, r#"{"US":"United States","FR":"France"}"#);
    let map = HistoricalClient::new(service)
        .introspect_lookup("countries")
        .await
        .unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v1/lookups/introspect/countries"
    );
    assert_eq!(map["FR"], "France");

    let (service, seen) = recording(200, r#"["FR","US"]"#);
    let broker = BrokerClient::new(service);
    assert_eq!(
        broker.introspect_lookup_keys("countries").await.unwrap(),
        ["FR", "US"]
    );
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v1/lookups/introspect/countries/keys"
    );
    broker.introspect_lookup_values("countries").await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/v1/lookups/introspect/countries/values"
    );

    // Before Druid 32 the keys are Java's list text: a decode error that
    // shows the body.
    let err = BrokerClient::new(answering("[US, FR]"))
        .introspect_lookup_keys("countries")
        .await
        .unwrap_err();
    assert!(
        err.decode().is_some_and(|d| d.snippet == "[US, FR]"),
        "{err:?}"
    );
}

#[tokio::test]
async fn lookup_listen_fixtures_decode() {
    // The docs show the bare map of loaded lookups; it is read as `current`.
    let loaded = BrokerClient::new(serving("broker__GET__druid_listen_v1_lookups.json"))
        .loaded_lookups()
        .await
        .unwrap();
    assert_eq!(
        loaded.current["site_id_customer2"],
        LookupSpec::new("v1", json!({"type": "map", "map": {"AHF77": "Home"}}))
    );
    assert!(loaded.to_load.is_empty() && loaded.to_drop.is_empty());
    let one = BrokerClient::new(serving(
        "broker__GET__druid_listen_v1_lookups_lookupName.json",
    ))
    .loaded_lookup("site_id_customer2")
    .await
    .unwrap();
    assert_eq!(one.lookup_extractor_factory["map"]["AHF77"], "Home");
}

// ---------------------------------------------------------------------------
// A running task's chat API.

#[tokio::test]
async fn chat_requests_for_every_endpoint() {
    let (service, seen) = recording(200, "[]");
    let peon = PeonClient::new(service.clone());
    let task = "index_parallel_wiki_2024-01-01T00:00:00.000Z";
    let base = "/druid/worker/v1/chat/index_parallel_wiki_2024-01-01T00%3A00%3A00.000Z";
    peon.unparseable_events(task).full(true).await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        format!("GET {base}/unparseableEvents?full")
    );
    assert!(peon.running_subtasks(task).await.unwrap().is_empty());
    assert_eq!(line(&last(&seen)), format!("GET {base}/subtasks/running"));
    peon.subtask_specs(task).await.unwrap();
    assert_eq!(line(&last(&seen)), format!("GET {base}/subtaskspecs"));
    peon.running_subtask_specs(task).await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        format!("GET {base}/subtaskspecs/running")
    );
    peon.complete_subtask_specs(task).await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        format!("GET {base}/subtaskspecs/complete")
    );
    peon.subtask_spec_history(task, "spec_1").await.unwrap();
    assert_eq!(
        line(&last(&seen)),
        format!("GET {base}/subtaskspec/spec_1/history")
    );

    let (service, seen) = recording(200, "parallel");
    let peon = PeonClient::new(service);
    assert_eq!(peon.parallel_mode(task).await.unwrap(), "parallel");
    assert_eq!(line(&last(&seen)), format!("GET {base}/mode"));
    peon.parallel_phase(task).await.unwrap();
    assert_eq!(line(&last(&seen)), format!("GET {base}/phase"));

    let (service, seen) = recording(
        200,
        r#"{"running":2,"succeeded":0,"failed":0,"complete":0,"total":2,"estimatedExpectedSucceeded":4}"#,
    );
    let progress = PeonClient::new(service)
        .parallel_progress(task)
        .await
        .unwrap();
    assert_eq!(line(&last(&seen)), format!("GET {base}/progress"));
    assert_eq!((progress.running, progress.total), (2, 2));
    assert_eq!(progress.estimated_expected_succeeded, Some(4));
    let older: druid_api::models::ParallelProgress = serde_json::from_str(
        r#"{"running":0,"succeeded":3,"failed":1,"complete":4,"total":4,"expectedSucceeded":3}"#,
    )
    .unwrap();
    assert_eq!(older.estimated_expected_succeeded, Some(3));
    assert_eq!(older.failed, 1);
}

/// Chat answers captured from an `index_parallel` task on a Druid 27 Indexer.
const SPEC_27: &str = r#"{"id":"index_parallel_brk_par_x_1","groupId":"index_parallel_brk_par_x","supervisorTaskId":"index_parallel_brk_par_x","context":{"forceTimeChunkLock":true,"useLineageBasedSegmentAllocation":true},"inputSplit":{"split":["/tmp/brk-data/part2.json"]},"ingestionSpec":{"dataSchema":{"dataSource":"brk_par"},"ioConfig":{"type":"index_parallel"},"tuningConfig":{"type":"index_parallel"}}}"#;
const ATTEMPT_27: &str = r#"{"id":"single_phase_sub_task_brk_par_cbhcoolm_2026-11-28T14:26:39.012Z","groupId":"index_parallel_brk_par_x","type":"single_phase_sub_task","createdTime":"2026-11-28T14:26:39.017Z","queueInsertionTime":"1970-01-01T00:00:00.000Z","statusCode":"SUCCESS","status":"SUCCESS","runnerStatusCode":"WAITING","duration":267,"location":{"host":"localhost","port":10091,"tlsPort":-1},"dataSource":"brk_par","errorMsg":null}"#;
const RUNNING_ATTEMPT_27: &str = r#"{"id":"single_phase_sub_task_brk_par_bpclllgl","groupId":"index_parallel_brk_par_x","type":"single_phase_sub_task","createdTime":"2026-11-28T14:28:43.078Z","queueInsertionTime":"1970-01-01T00:00:00.000Z","statusCode":"RUNNING","status":"RUNNING","runnerStatusCode":"WAITING","duration":-1,"location":{"host":null,"port":-1,"tlsPort":-1},"dataSource":"brk_par","errorMsg":null}"#;

#[tokio::test]
async fn druid_27_chat_bodies_decode() {
    let specs = PeonClient::new(answering(Box::leak(
        format!("[{SPEC_27}]").into_boxed_str(),
    )))
    .subtask_specs("index_parallel_brk_par_x")
    .await
    .unwrap();
    assert_eq!(specs[0].id, "index_parallel_brk_par_x_1");
    assert_eq!(
        specs[0].supervisor_task_id.as_deref(),
        Some("index_parallel_brk_par_x")
    );
    assert_eq!(
        specs[0].input_split.as_ref().unwrap()["split"][0],
        "/tmp/brk-data/part2.json"
    );
    let (service, seen) = recording(200, SPEC_27);
    let one = PeonClient::new(service)
        .subtask_spec("index_parallel_brk_par_x", "index_parallel_brk_par_x_1")
        .await
        .unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/worker/v1/chat/index_parallel_brk_par_x/subtaskspec/index_parallel_brk_par_x_1"
    );
    assert_eq!(
        one.ingestion_spec.unwrap()["dataSchema"]["dataSource"],
        "brk_par"
    );

    let running_state =
        format!(r#"{{"spec":{SPEC_27},"currentStatus":{RUNNING_ATTEMPT_27},"taskHistory":[]}}"#);
    let (service, seen) = recording(200, Box::leak(running_state.into_boxed_str()));
    let state = PeonClient::new(service)
        .subtask_spec_state("index_parallel_brk_par_x", "index_parallel_brk_par_x_1")
        .await
        .unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/worker/v1/chat/index_parallel_brk_par_x/subtaskspec/index_parallel_brk_par_x_1/state"
    );
    let current = state.current_status.unwrap();
    assert_eq!(current.status_code, TaskState::Running);
    assert_eq!(current.location.unwrap().host, None);
    assert!(state.task_history.is_empty());

    let history = PeonClient::new(answering(Box::leak(
        format!("[{ATTEMPT_27}]").into_boxed_str(),
    )))
    .subtask_spec_history("index_parallel_brk_par_x", "index_parallel_brk_par_x_1")
    .await
    .unwrap();
    assert_eq!(history[0].status_code, TaskState::Success);
    assert_eq!(
        history[0].task_type.as_deref(),
        Some("single_phase_sub_task")
    );
    assert_eq!(history[0].duration, Some(267));

    // A parallel supervisor sums its subtasks' totals, without averages.
    let stats = PeonClient::new(answering(
        r#"{"totals":{"buildSegments":{"processed":6,"processedBytes":339,"processedWithError":0,"thrownAway":0,"unparseable":3}}}"#,
    ))
    .row_stats("index_parallel_brk_par_x")
    .await
    .unwrap();
    assert!(stats.moving_averages.is_empty());
    let build = stats.build_segments().unwrap();
    assert_eq!((build.processed, build.unparseable), (6, 3));
    assert_eq!(build.processed_bytes, 339);

    // A task that is not running here: 400 "Can't find chatHandler".
    let (service, _) = recording(
        400,
        r#"{"error":"Can't find chatHandler for handler[index_parallel_brk_par_x]"}"#,
    );
    let err = PeonClient::new(service)
        .parallel_mode("index_parallel_brk_par_x")
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400);
    assert!(
        err.druid_error()
            .unwrap()
            .message()
            .unwrap()
            .contains("chatHandler")
    );
}

#[tokio::test]
async fn row_stats_fixture_decodes() {
    let (service, seen) = {
        let body = fixture("peon__GET__druid_worker_v1_chat_taskId_rowStats.json");
        let seen: Log = Arc::default();
        let log = seen.clone();
        let client = Client::builder()
            .url("http://localhost:8100")
            .mock(move |r| {
                log.lock().unwrap().push(r.clone());
                MockResponse::new(200, body.clone())
            })
            .build()
            .unwrap();
        (client.service().clone(), seen)
    };
    let stats = PeonClient::new(service)
        .row_stats("index_kafka_wiki_1")
        .full(true)
        .await
        .unwrap();
    assert_eq!(
        line(&last(&seen)),
        "GET /druid/worker/v1/chat/index_kafka_wiki_1/rowStats?full"
    );
    let averages = &stats.moving_averages["buildSegments"];
    assert_eq!(averages.len(), 3);
    assert!((averages["1m"].processed - 4.206417693750045).abs() < 1e-12);
    assert!((averages["15m"].processed_bytes - 321.1906130223).abs() < 1e-9);
    assert_eq!(averages["5m"].unparseable, 0.0);
    let totals = stats.build_segments().unwrap();
    assert_eq!(totals.processed, 1994);
    assert_eq!(totals.processed_bytes, 3425110);
    assert_eq!(
        (
            totals.processed_with_error,
            totals.thrown_away,
            totals.unparseable
        ),
        (0, 0, 0)
    );
}
