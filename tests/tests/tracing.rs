//! The tracing the transport emits, caught by a subscriber of the test's
//! own: a span per call with what a reader needs, events for retries, and
//! no credential anywhere.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use druid_api::prelude::*;
use druid_tests::fake::{FakeResponse, FakeServer};
use druid_tests::quick_retries;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Writes every span, field record and event as one text line.
#[derive(Default)]
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    next: AtomicU64,
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = Line(format!("span {}", span.metadata().name()));
        span.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
        Id::from_u64(self.next.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = Line("record".to_owned());
        values.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = Line(format!("event {}", event.metadata().level()));
        event.record(&mut line);
        self.lines.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn a_span_per_call_events_for_retries_and_no_secret() {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let server = FakeServer::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            FakeResponse::new(503, "")
        } else {
            FakeResponse::json(&serde_json::json!({"version": "27.0.0"}))
        }
    })
    .await;
    let url = format!("http://admin:s3cr3t-pw@127.0.0.1:{}", server.port());
    let client = druid_api::Client::builder()
        .url(url)
        .header("X-Api-Key", "k3y-s3cr3t")
        .retry(quick_retries())
        .build()
        .unwrap();
    let capture = Capture::default();
    let lines = capture.lines.clone();
    let guard = tracing::subscriber::set_default(capture);
    assert_eq!(client.status().await.unwrap().version, "27.0.0");
    drop(guard);
    let text = lines.lock().unwrap().join("\n");
    assert!(
        text.contains(
            "span druid.request operation=client.status method=GET url=http://127.0.0.1:"
        ),
        "{text}"
    );
    assert!(text.contains("/status"), "{text}");
    assert!(text.contains("attempts=2"), "{text}");
    assert!(text.contains("status=200"), "{text}");
    assert!(text.contains("duration_ms="), "{text}");
    assert!(
        text.contains("druid request failed; retrying"),
        "an event for the retry: {text}"
    );
    for secret in ["s3cr3t", "k3y-s3cr3t", "YWRtaW46czNjcjN0LXB3"] {
        assert!(!text.contains(secret), "{secret} in the traces: {text}");
    }
}
