//! Redirect chains: the mock answers each request of a call from a script
//! of `(status, Location)` taken from the input (relative and absolute
//! Locations, `http` and `https`, hosts and ports in and out of the
//! service's redirect scope), through the transport's redirect handling
//! (the Location joined, mapped, checked against the origin that answered,
//! the service's `RedirectScope` and the transport's `redirect_origins`,
//! and followed with the method, body and credentials).
//!
//! The input: a first line of options, then one answer a line, `STATUS
//! [LOCATION]`; past the script every request is answered `200`:
//!
//! ```text
//! https max=2 post
//! 307 https://leader.example:8281/druid/indexer/v1/task
//! 303 /druid/indexer/v1/task/x
//! 200
//! ```
//!
//! Options: `https` (the service, and the transport's entry, are
//! `https://first.example:8281`; otherwise `http://first.example:8081`),
//! `docker` (a `DockerMapper` maps the Locations), `max=N` (the
//! transport's `max_redirects`, 0 to 6; 5 by default), `post` (the call is
//! a `POST` with a JSON body; a `GET` otherwise).
//!
//! Invariants: no panic; every request goes to the first service's origin
//! or a server of the scope (or a transport origin; with the mapper, as
//! mapped), over `http` or `https`, without user info in its URL; after an
//! `https` request, never `http`; at most `max_redirects + 1` requests (no
//! retries: no Tokio runtime); credentials only with those requests, and
//! never over `http` after an `https` entry; a `307`/`308` keeps method and
//! body, a `303` makes a bodiless `GET`; the call's answer is the last
//! request's, unless that is a redirect (then the call fails with
//! `Error::Redirect`, as it does for a redirect it refuses); every error's
//! `Display` is one bounded line, without the password.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use druid_transport::http::Method;
use druid_transport::url::Url;
use druid_transport::{
    DockerMapper, IdentityMapper, MockResponse, RedirectScope, Request, ServiceMapper, Transport,
};
use libfuzzer_sys::fuzz_target;

use common::{PASSWORD, block_on, check_transport_error};

/// The servers of the first service's cluster.
const SCOPE: [(&str, u16); 6] = [
    ("leader.example", 8081),
    ("leader.example", 8281),
    ("LEADER-2.example", 8090),
    ("10.0.0.2", 8081),
    ("::1", 8081),
    ("172.18.0.9", 8081),
];
/// The transport's own redirect origins.
const ORIGINS: [&str; 1] = ["extra.example:9000"];
/// The Docker port map of the `docker` option.
const PORTS: [[u16; 2]; 3] = [[18081, 8081], [18281, 8281], [19000, 9000]];

/// A request as the mock saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    url: Url,
    authorized: bool,
    body: Vec<u8>,
}

/// The script of the current input, and the requests seen.
static SCRIPT: Mutex<Vec<(u16, Option<String>)>> = Mutex::new(Vec::new());
static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

fn mock(request: &druid_transport::MockRequest) -> MockResponse {
    let Ok(mut seen) = SEEN.lock() else {
        return MockResponse::new(599, "");
    };
    let index = seen.len();
    seen.push(Seen {
        method: request.method.clone(),
        url: request.url.clone(),
        authorized: request.headers.contains_key("authorization"),
        body: request.body.to_vec(),
    });
    let step = SCRIPT.lock().ok().and_then(|s| s.get(index).cloned());
    match step {
        Some((status, location)) => {
            let mut answer = MockResponse::new(status, "");
            if let Some(location) = location {
                answer = answer.header("location", &location);
            }
            answer
        }
        None => MockResponse::new(200, "landed"),
    }
}

/// The transport of the options: `https` entry, Docker mapper, max redirects.
fn transport(https: bool, docker: bool, max: usize) -> &'static Transport {
    static ALL: [OnceLock<Transport>; 28] = [const { OnceLock::new() }; 28];
    let index = (usize::from(https) * 2 + usize::from(docker)) * 7 + max;
    ALL[index].get_or_init(|| {
        let mut builder = Transport::builder()
            .retry(common::instant_retries())
            .url(if https {
                "https://first.example:8281"
            } else {
                "http://first.example:8081"
            })
            .basic_auth("admin", PASSWORD)
            .redirect_origins(ORIGINS)
            .max_redirects(max)
            .mock(mock);
        if docker {
            builder = builder.mapper(DockerMapper::new("localhost", PORTS));
        }
        builder.build().expect("the mock transport builds")
    })
}

fn origin(url: &Url) -> Option<(String, u16)> {
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    Some((host, url.port_or_known_default()?))
}

/// Where requests may go: the first service's origin, the scope and the
/// transport's origins, and with a mapper, where it maps them.
fn allowed(first: &Url, mapper: &dyn ServiceMapper) -> Vec<(String, u16)> {
    let mut all: Vec<(String, u16)> = SCOPE
        .iter()
        .map(|(h, p)| (h.to_ascii_lowercase(), *p))
        .collect();
    all.push(("extra.example".to_owned(), 9000));
    all.extend(origin(first));
    for (host, port) in all.clone() {
        for prefer_tls in [false, true] {
            let (plain, tls) = if prefer_tls {
                (None, Some(port))
            } else {
                (Some(port), None)
            };
            if let Ok(url) = mapper.map(&host, plain, tls, prefer_tls) {
                all.extend(origin(&url));
            }
        }
    }
    all
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let options = lines.next().unwrap_or_default();
    let (mut https, mut docker, mut post, mut max) = (false, false, false, 5);
    for word in options.split_whitespace() {
        match word {
            "https" => https = true,
            "docker" => docker = true,
            "post" => post = true,
            _ => {
                if let Some(n) = word.strip_prefix("max=").and_then(|n| n.parse().ok()) {
                    max = std::cmp::min(n, 6);
                }
            }
        }
    }
    let script: Vec<(u16, Option<String>)> = lines
        .take(16)
        .map(|line| {
            let line = line.trim_start();
            let (status, location) = match line.split_once(' ') {
                Some((status, location)) => (status, Some(location.trim().to_owned())),
                None => (line, None),
            };
            (common::status(Some(status), 200), location)
        })
        .collect();
    if let (Ok(mut s), Ok(mut seen)) = (SCRIPT.lock(), SEEN.lock()) {
        *s = script.clone();
        seen.clear();
    }

    let transport = transport(https, docker, max);
    let first: Url = if https {
        "https://first.example:8281/"
    } else {
        "http://first.example:8081/"
    }
    .parse()
    .expect("a URL");
    let service = transport
        .service(first.clone())
        .with_redirect_scope(RedirectScope::new(SCOPE));
    let body = br#"{"type":"noop","id":"fuzz-task"}"#;
    let request = if post {
        Request::post("/druid/indexer/v1/task").json_bytes(&body[..])
    } else {
        Request::get("/druid/coordinator/v1/leader")
    }
    .operation("fuzz.redirects");
    let result = block_on(service.execute(&request));

    let seen = SEEN.lock().map(|s| s.clone()).unwrap_or_default();
    let identity = IdentityMapper;
    let docker_mapper = DockerMapper::new("localhost", PORTS);
    let mapper: &dyn ServiceMapper = if docker { &docker_mapper } else { &identity };
    let allowed = allowed(&first, mapper);
    assert!(!seen.is_empty(), "no request went out");
    assert!(
        seen.len() <= max + 1,
        "{} requests with at most {max} redirects: {seen:#?}",
        seen.len()
    );
    let mut was_https = false;
    for (i, request) in seen.iter().enumerate() {
        let url = &request.url;
        assert!(
            matches!(url.scheme(), "http" | "https"),
            "a request over {}: {url}",
            url.scheme()
        );
        assert!(
            url.username().is_empty() && url.password().is_none(),
            "a request with user info: {url}"
        );
        let at = origin(url).expect("a request URL has a host and a port");
        assert!(
            allowed.contains(&at),
            "request {i} went to {url}, outside the cluster ({seen:#?})"
        );
        if was_https {
            assert_eq!(url.scheme(), "https", "request {i} gave up TLS: {url}");
        }
        was_https |= url.scheme() == "https";
        if https && request.authorized {
            assert_eq!(url.scheme(), "https", "credentials over plaintext: {url}");
        }
        assert!(
            request.authorized,
            "request {i} lost its credentials: {url}"
        );
        if i == 0 {
            assert_eq!(
                request.method,
                if post { Method::POST } else { Method::GET }
            );
            continue;
        }
        // What the previous answer asked for.
        let previous = &seen[i - 1];
        let status = script.get(i - 1).map_or(200, |(status, _)| *status);
        match status {
            303 => {
                assert_eq!(request.method, Method::GET, "after a 303");
                assert!(request.body.is_empty(), "a body after a 303");
            }
            307 | 308 => {
                assert_eq!(request.method, previous.method, "after a {status}");
                assert_eq!(request.body, previous.body, "after a {status}");
            }
            301 | 302 => {}
            other => panic!("request {i} follows a {other}"),
        }
    }
    let last = script
        .get(seen.len() - 1)
        .map_or(200, |(status, _)| *status);
    match result {
        Ok(response) => {
            assert_eq!(
                response.status().as_u16(),
                last,
                "the answer is not the last one"
            );
            assert!(
                !matches!(last, 301 | 302 | 303 | 307 | 308),
                "a redirect was the answer"
            );
        }
        Err(e) => {
            check_transport_error(&e, data);
            assert!(
                matches!(e, druid_transport::Error::Redirect { .. }),
                "a redirect chain failed otherwise: {e}"
            );
        }
    }
});
