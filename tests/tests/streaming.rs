//! SQL results as streams of typed rows, through real HTTP from an
//! in-process server: every result format at awkward chunk boundaries, the
//! header's columns, a connection cut mid-row, a missing end marker,
//! Druid's trailers, a row that does not decode, the deadline sent to
//! Druid, and the cancellation a dropped stream sends.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::time::{Duration, Instant};

use druid_api::models::ResultFormat;
use druid_api::prelude::*;
use druid_tests::fake::{FakeRequest, FakeResponse, FakeServer};
use serde_json::{Value, json};

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Edit {
    page: String,
    added: i64,
    city: Option<String>,
}

fn edits() -> Vec<Edit> {
    vec![
        Edit {
            page: "Rust".into(),
            added: 10,
            city: None,
        },
        Edit {
            page: "Dru\"id, [x]".into(),
            added: -32,
            city: Some("Köln".into()),
        },
        Edit {
            page: "{}".into(),
            added: 1_000_000_000_000,
            city: Some(String::new()),
        },
    ]
}

/// The body Druid writes for `edits()` in a format, with a header row.
fn body(format: &str) -> String {
    let rows = [
        json!({"page": "Rust", "added": 10, "city": null}),
        json!({"page": "Dru\"id, [x]", "added": -32, "city": "Köln"}),
        json!({"page": "{}", "added": 1_000_000_000_000_i64, "city": ""}),
    ];
    let arrays: Vec<Value> = rows
        .iter()
        .map(|r| json!([r["page"], r["added"], r["city"]]))
        .collect();
    let names = json!(["page", "added", "city"]);
    let header_object = json!({"page": null, "added": null, "city": null});
    match format {
        "object" => format!(
            "[{}]\n",
            std::iter::once(header_object.to_string())
                .chain(rows.iter().map(Value::to_string))
                .collect::<Vec<_>>()
                .join(",")
        ),
        "array" => format!(
            "[{}]\n",
            std::iter::once(names.to_string())
                .chain(arrays.iter().map(Value::to_string))
                .collect::<Vec<_>>()
                .join(",")
        ),
        "objectLines" => format!(
            "{header_object}\n{}\n\n",
            rows.iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
        "arrayLines" => format!(
            "{names}\n{}\n\n",
            arrays
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
        _ => "page,added,city\nRust,10,\n\"Dru\"\"id, [x]\",-32,Köln\n{},1000000000000,\"\"\n\n"
            .to_owned(),
    }
}

fn sent_body(request: &FakeRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// A server answering every SQL query in the format it asks for, in
/// chunks of `size` bytes.
async fn druid_like(size: usize) -> FakeServer {
    FakeServer::start(move |r| {
        let sent = sent_body(r);
        let format = sent["resultFormat"].as_str().unwrap_or("object").to_owned();
        FakeResponse::new(200, body(&format))
            .header(
                "X-Druid-SQL-Query-Id",
                sent["context"]["sqlQueryId"].as_str().unwrap_or(""),
            )
            .in_chunks(size, Duration::ZERO)
    })
    .await
}

#[tokio::test]
async fn every_format_streams_typed_rows_at_any_chunk_size() {
    for size in [1, 2, 3, 7, 64, 10_000] {
        let server = druid_like(size).await;
        let client = druid_api::connect(&server.url()).unwrap();
        for format in [
            None,
            Some(ResultFormat::Object),
            Some(ResultFormat::Array),
            Some(ResultFormat::ObjectLines),
            Some(ResultFormat::ArrayLines),
            Some(ResultFormat::Csv),
        ] {
            let mut sql = client
                .sql("SELECT page, added, city FROM wiki")
                .header(true);
            if let Some(format) = format.clone() {
                sql = sql.result_format(format);
            }
            let mut stream = sql.stream::<Edit>();
            let query_id = stream.query_id().to_owned();
            let mut rows = Vec::new();
            while let Some(row) = stream.next_row().await {
                rows.push(row.unwrap_or_else(|e| panic!("{format:?} in chunks of {size}: {e}")));
            }
            // CSV has no null: an empty field is `None` too.
            let mut expected = edits();
            if format == Some(ResultFormat::Csv) {
                expected[2].city = None;
            }
            assert_eq!(rows, expected, "{format:?} in chunks of {size}");
            let columns: Vec<&str> = stream
                .columns()
                .unwrap()
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(columns, ["page", "added", "city"]);
            let sent = sent_body(server.requests().last().unwrap());
            assert_eq!(
                sent["context"]["sqlQueryId"], query_id,
                "the ID is chosen before sending"
            );
            if format.is_none() {
                assert_eq!(sent["resultFormat"], "arrayLines");
                assert_eq!(sent["header"], true);
            }
        }
    }
}

#[tokio::test]
async fn rows_is_the_stream_collected_and_values_and_tuples_work() {
    let server = druid_like(5).await;
    let client = druid_api::connect(&server.url()).unwrap();
    let rows: Vec<Edit> = client.sql("SELECT 1").rows().await.unwrap();
    assert_eq!(rows, edits());
    let values: Vec<Value> = client.sql("SELECT 1").rows().await.unwrap();
    assert_eq!(
        values[1],
        json!({"page": "Dru\"id, [x]", "added": -32, "city": "Köln"})
    );
    let tuples: Vec<(String, i64, Option<String>)> = client.sql("SELECT 1").rows().await.unwrap();
    assert_eq!(tuples[0], ("Rust".to_owned(), 10, None));
}

/// A connection that breaks mid-row: the rows before it, then an error.
#[tokio::test]
async fn a_connection_cut_mid_row_ends_with_an_error_after_the_whole_rows() {
    let full = body("arrayLines");
    let cut = full.find("Köln").unwrap();
    let server = FakeServer::start(move |_| {
        FakeResponse::new(200, full.clone())
            .in_chunks(16, Duration::ZERO)
            .cut_after(cut)
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    let mut stream = client.sql("SELECT 1").stream::<Edit>();
    let first = stream.next_row().await.unwrap().unwrap();
    assert_eq!(first, edits()[0]);
    let err = stream.next_row().await.unwrap().unwrap_err();
    assert!(err.is_incomplete(), "{err:?}");
    assert!(err.to_string().contains("after 1 rows"), "{err}");
    assert!(stream.next_row().await.is_none());
    assert_eq!(
        server.requests().len(),
        1,
        "a stream that yielded rows is never sent again"
    );
}

/// A body that ends cleanly but without the end marker is cut too.
#[tokio::test]
async fn a_missing_end_marker_is_an_error_not_a_short_answer() {
    for (format, body) in [
        (
            "arrayLines",
            "[\"page\",\"added\",\"city\"]\n[\"Rust\",10,null]\n",
        ),
        (
            "object",
            "[{\"page\":null,\"added\":null,\"city\":null},{\"page\":\"Rust\",\"added\":10,\"city\":null}",
        ),
        ("csv", "page,added,city\nRust,10,\n"),
    ] {
        let server =
            FakeServer::start(move |_| FakeResponse::new(200, body).in_chunks(4, Duration::ZERO))
                .await;
        let client = druid_api::connect(&server.url()).unwrap();
        let result = client
            .sql("SELECT 1")
            .result_format(ResultFormat::parse(format))
            .header(true)
            .rows::<Edit>()
            .await;
        let err = result.unwrap_err();
        assert!(err.is_incomplete(), "{format}: {err:?}");
        assert!(err.to_string().contains("after 1 rows"), "{format}: {err}");
    }
}

/// Recent Druid says in trailers that a streamed result failed.
#[tokio::test]
async fn druids_trailers_turn_a_failure_mid_stream_into_a_typed_error() {
    let server = FakeServer::start(|r| {
        let failing = sent_body(r)["query"] == "SELECT fails";
        let response = FakeResponse::new(200, body("arrayLines")).in_chunks(20, Duration::ZERO);
        if failing {
            response
                .trailer("X-Druid-Response-Complete", "false")
                .trailer(
                    "X-Error-Message",
                    "Query[q] was interrupted: ran out of memory",
                )
        } else {
            response.trailer("X-Druid-Response-Complete", "true")
        }
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    assert_eq!(
        client.sql("SELECT ok").rows::<Edit>().await.unwrap(),
        edits()
    );
    let err = client.sql("SELECT fails").rows::<Edit>().await.unwrap_err();
    assert!(err.is_incomplete(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Druid reports: Query[q] was interrupted: ran out of memory"),
        "{text}"
    );
    assert!(text.contains("after 3 rows"), "{text}");
}

#[tokio::test]
async fn a_row_that_does_not_fit_names_its_index() {
    let server = FakeServer::start(|_| {
        FakeResponse::new(
            200,
            "[\"page\",\"added\",\"city\"]\n[\"a\",1,null]\n[\"b\",\"many\",null]\n\n",
        )
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    let mut stream = client.sql("SELECT 1").stream::<Edit>();
    assert!(stream.next_row().await.unwrap().is_ok());
    let err = stream.next_row().await.unwrap().unwrap_err();
    let decode = err.decode().unwrap();
    assert_eq!(decode.path, "[1]");
    assert!(decode.message.contains("invalid type"), "{decode:?}");
    assert!(decode.expected.contains("Edit"), "{decode:?}");
}

#[tokio::test]
async fn a_refused_query_is_the_first_item() {
    let server = FakeServer::start(|_| {
        FakeResponse::new(
            400,
            r#"{"error":"druidException","errorCode":"invalidInput","persona":"USER","category":"INVALID_INPUT","errorMessage":"Column x not found","context":{}}"#,
        )
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    let mut stream = client.sql("SELECT x").stream::<Edit>();
    let err = stream.next_row().await.unwrap().unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(
        err.druid_error().unwrap().message(),
        Some("Column x not found")
    );
    assert!(stream.next_row().await.is_none());
}

/// The client's deadline goes to Druid as the context `timeout`, a little
/// shorter; running out is a timeout error.
#[tokio::test]
async fn the_deadline_is_sent_and_kept() {
    let server = FakeServer::start(|_| {
        FakeResponse::new(200, body("arrayLines")).in_chunks(10, Duration::from_millis(300))
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    let started = Instant::now();
    let err = client
        .sql("SELECT 1")
        .timeout(Duration::from_millis(700))
        .rows::<Edit>()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_timeout() || err.is_incomplete(), "{err:?}");
    let posts = |server: &FakeServer| -> Vec<Value> {
        server
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .map(sent_body)
            .collect()
    };
    assert_eq!(
        posts(&server)[0]["context"]["timeout"],
        630,
        "700 ms less a tenth"
    );
    // A timeout the caller sets is sent as it is.
    let _ = client
        .sql("SELECT 1")
        .context("timeout", 5)
        .timeout(Duration::from_millis(100))
        .rows::<Edit>()
        .await;
    assert_eq!(posts(&server)[1]["context"]["timeout"], 5);
}

/// A stream dropped before its end asks Druid to cancel the query; one read
/// to its end, or with cancellation off, does not.
#[tokio::test]
async fn a_query_past_its_deadline_names_the_query_endpoint() {
    // Rows trickle in, so the deadline passes while the body is read (the
    // stream's own deadline, not the transport's per-attempt one).
    let server = FakeServer::start(|_| {
        FakeResponse::new(200, body("arrayLines")).in_chunks(10, Duration::from_millis(400))
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    let err = client
        .sql("SELECT 1")
        .timeout(Duration::from_millis(500))
        .rows::<Edit>()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(err.is_timeout() || err.is_incomplete(), "{err:?}");
    assert!(
        text.contains(&format!("{}/druid/v2/", server.url())) && text.contains("timed out"),
        "{text}"
    );
}

#[tokio::test]
async fn a_dropped_stream_cancels_its_query() {
    let server = FakeServer::start(|r| match r.method.as_str() {
        "DELETE" => FakeResponse::new(202, ""),
        _ => FakeResponse::new(200, body("arrayLines")).in_chunks(8, Duration::from_millis(50)),
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    let deletes = |server: &FakeServer| server.targets_of("DELETE");

    let mut stream = client.sql("SELECT 1").stream::<Edit>();
    let id = stream.query_id().to_owned();
    assert!(stream.next_row().await.unwrap().is_ok());
    drop(stream);
    let wait = Instant::now();
    while deletes(&server).is_empty() && wait.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(deletes(&server), [format!("/druid/v2/sql/{id}")]);

    // Read to the end: nothing to cancel. Off: not cancelled. Never polled:
    // never sent, so nothing to cancel either.
    assert_eq!(
        client.sql("SELECT 1").rows::<Edit>().await.unwrap().len(),
        3
    );
    let mut off = client
        .sql("SELECT 1")
        .cancel_on_drop(false)
        .stream::<Edit>();
    assert!(off.next_row().await.unwrap().is_ok());
    drop(off);
    drop(client.sql("SELECT 1").stream::<Edit>());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deletes(&server).len(), 1);
}

/// A row stream is `Send` and `'static`: it can move to another task.
#[tokio::test]
async fn streams_can_be_spawned() {
    let server = druid_like(9).await;
    let client = druid_api::connect(&server.url()).unwrap();
    let stream = client.sql("SELECT 1").stream::<Edit>();
    let rows = tokio::spawn(stream.collect_rows()).await.unwrap().unwrap();
    assert_eq!(rows, edits());
}

/// Native queries stream too: each element of the answer, or the rows of a
/// scan query's batches; the ID and the deadline go into the context, and
/// a dropped stream cancels with `DELETE /druid/v2/{queryId}`.
#[tokio::test]
async fn native_answers_and_scan_rows_stream() {
    let server = FakeServer::start(|r| {
        if r.method == "DELETE" {
            return FakeResponse::new(202, "");
        }
        let query = sent_body(r);
        let body = match query["queryType"].as_str() {
            Some("scan") => json!([
                {"segmentId": "s1", "columns": ["page", "added", "city"], "events": [
                    {"page": "Rust", "added": 10, "city": null},
                    {"page": "Dru\"id, [x]", "added": -32, "city": "Köln"}]},
                {"segmentId": "s2", "columns": ["page", "added", "city"], "events": [
                    {"page": "{}", "added": 1_000_000_000_000_i64, "city": ""}]}
            ]),
            _ => json!([
                {"timestamp": "2024-01-01T00:00:00.000Z", "result": {"rows": 2}},
                {"timestamp": "2024-01-02T00:00:00.000Z", "result": {"rows": 1}}
            ]),
        };
        FakeResponse::new(200, body.to_string() + "\n").in_chunks(11, Duration::from_millis(5))
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();

    let mut scan = client.scan_rows::<Edit>(&json!({"queryType": "scan", "dataSource": "wiki"}));
    let id = scan.query_id().to_owned();
    let mut rows = Vec::new();
    while let Some(row) = scan.next_row().await {
        rows.push(row.unwrap());
    }
    assert_eq!(rows, edits());
    let sent = sent_body(&server.requests()[0]);
    assert_eq!(sent["context"]["queryId"], id);
    assert_eq!(sent["context"]["timeout"], 299_000);
    assert_eq!(sent["resultFormat"], "list");

    #[derive(Debug, serde::Deserialize)]
    struct Bucket {
        timestamp: String,
        result: Value,
    }
    let query =
        json!({"queryType": "timeseries", "dataSource": "wiki", "context": {"queryId": "mine"}});
    let mut buckets = client.native_stream::<Bucket>(&query);
    assert_eq!(buckets.query_id(), "mine");
    let first = buckets.next_row().await.unwrap().unwrap();
    assert_eq!(first.timestamp, "2024-01-01T00:00:00.000Z");
    assert_eq!(first.result["rows"], 2);
    drop(buckets);
    let wait = Instant::now();
    while !server.requests().iter().any(|r| r.method == "DELETE")
        && wait.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.targets_of("DELETE"), ["/druid/v2/mine"]);

    let err = client.native_stream::<Bucket>(&json!(["not", "a", "query"]));
    let err = err.collect_rows().await.unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
}

/// Compressed answers: asked for with `Compression::Gzip` (Auto does not on
/// loopback), and streamed rows decode from the gzip body as it arrives.
#[tokio::test]
async fn gzip_answers_stream_when_asked_for() {
    use std::io::Write as _;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(body("arrayLines").as_bytes()).unwrap();
    let compressed = gzip.finish().unwrap();
    let server = FakeServer::start(move |r| match r.header("accept-encoding") {
        Some(accepted) if accepted.contains("gzip") => FakeResponse::new(200, compressed.clone())
            .header("Content-Encoding", "gzip")
            .in_chunks(13, Duration::ZERO),
        _ => FakeResponse::new(200, body("arrayLines")),
    })
    .await;
    for compression in [
        druid_api::Compression::Auto,
        druid_api::Compression::Gzip,
        druid_api::Compression::Off,
    ] {
        let client = druid_api::Client::builder()
            .url(server.url())
            .compression(compression)
            .build()
            .unwrap();
        let rows: Vec<Edit> = client.sql("SELECT 1").rows().await.unwrap();
        assert_eq!(rows, edits(), "{compression:?}");
        let asked = server
            .requests()
            .last()
            .unwrap()
            .header("accept-encoding")
            .map(str::to_owned);
        assert_eq!(
            asked.as_deref().is_some_and(|a| a.contains("gzip")),
            compression == druid_api::Compression::Gzip,
            "{compression:?}: {asked:?}"
        );
    }
}
