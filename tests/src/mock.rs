//! Offline clients whose answers come from a function, with every request
//! recorded: what would go on the wire, without a network.

use std::sync::{Arc, Mutex};

use druid_api::{Client, MockRequest, MockResponse, Service};

/// The requests a mock saw, in order.
pub type Log = Arc<Mutex<Vec<MockRequest>>>;

/// A client for `url` whose answers come from `answer`, with every request
/// recorded.
pub fn scripted<F>(url: &str, answer: F) -> (Client, Log)
where
    F: Fn(&MockRequest) -> MockResponse + Send + Sync + 'static,
{
    let seen: Log = Arc::default();
    let log = seen.clone();
    let client = Client::builder()
        .url(url)
        .mock(move |r| {
            if let Ok(mut log) = log.lock() {
                log.push(r.clone());
            }
            answer(r)
        })
        .build()
        .expect("a mock client builds");
    (client, seen)
}

/// A service that answers every request with `status` and `body`, and
/// records it.
pub fn recording(status: u16, body: &str) -> (Service, Log) {
    let body = body.to_owned();
    let (client, seen) = scripted("http://druid.test:8081", move |_| {
        MockResponse::new(status, body.clone())
    });
    (client.service().clone(), seen)
}

/// The last request seen.
///
/// # Panics
///
/// When no request was sent.
pub fn last(seen: &Log) -> MockRequest {
    seen.lock()
        .ok()
        .and_then(|log| log.last().cloned())
        .expect("a request was sent")
}

/// `path?query` of a request, as sent.
pub fn target(request: &MockRequest) -> String {
    match request.url.query() {
        Some(q) => format!("{}?{q}", request.url.path()),
        None => request.url.path().to_owned(),
    }
}

/// `METHOD path?query` of a request.
pub fn line(request: &MockRequest) -> String {
    format!("{} {}", request.method, target(request))
}
