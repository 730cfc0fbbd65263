//! `bench-server`: a stand-in Druid Broker for `cargo xtask bench`, in its
//! own process, so that the clients measured share no memory or CPU
//! accounting with it.
//!
//! It is hyper's HTTP/1.1 server with keep-alive, and answers
//!
//! - `GET /status/health` with `true`;
//! - `POST /druid/v2/sql` (and `/druid/v2/sql/`): a query that names
//!   `sys.servers` gets a `sys.servers` table of `--servers` servers, any
//!   other query the `--rows` rows of the wiki table (see `data.rs`; a
//!   query ending in `LIMIT n` gets the first `n` rows), in the
//!   body's `resultFormat` with its `header`, `typesHeader` and
//!   `sqlTypesHeader` (see `format.rs`), with `X-Druid-SQL-Query-Id` and
//!   `X-Druid-SQL-Header-Included` as Druid sends them. The whole result is
//!   written once at start in every format (with and without the header
//!   row; other options are written while sent), so that serving it costs
//!   the server little and the client is what is timed. The body is chunked,
//!   in chunks of 4 to 64 KiB, as Jetty
//!   writes a streamed result; no result is ever held in memory.
//!
//! ```text
//! bench-server [--rows N] [--servers N] [--port P] [--until-stdin-closes]
//! bench-server --rows N --write-lines PATH [--time-key NAME]
//! ```
//!
//! Once it listens, it prints one JSON line on stdout: its `url`, and what
//! a client must see (`expected`: the row count, the sums of `added` and
//! `delta`, the non-null `cityName`s; `servers` and `roles` of the
//! `sys.servers` answer). It serves until it is killed, or with
//! `--until-stdin-closes` until its standard input closes (so it never
//! outlives the bench that started it). `--write-lines` writes the rows as
//! newline-delimited JSON objects instead, for an ingestion (with the time
//! under `--time-key` rather than `__time`).

// Printing the address and the expected answer is this program's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod data;
mod format;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use data::{Expected, Limit, Servers, Table, Wiki, limit_of};
use format::{Format, Options, Writer};

/// The command line.
#[derive(Debug)]
struct Args {
    rows: u64,
    servers: u64,
    port: u16,
    until_stdin_closes: bool,
    write_lines: Option<String>,
    time_key: Option<String>,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            rows: 1_000_000,
            servers: 5_000,
            port: 0,
            until_stdin_closes: false,
            write_lines: None,
            time_key: None,
        };
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--rows" => parsed.rows = number(&value("--rows")?)?,
                "--servers" => parsed.servers = number(&value("--servers")?)?,
                "--port" => {
                    parsed.port = value("--port")?
                        .parse()
                        .map_err(|e| format!("--port: {e}"))?;
                }
                "--until-stdin-closes" => parsed.until_stdin_closes = true,
                "--write-lines" => parsed.write_lines = Some(value("--write-lines")?),
                "--time-key" => parsed.time_key = Some(value("--time-key")?),
                other => {
                    return Err(format!(
                        "unknown argument {other:?}; usage: bench-server [--rows N] [--servers N] \
                         [--port P] [--until-stdin-closes] [--write-lines PATH [--time-key NAME]]"
                    ));
                }
            }
        }
        Ok(parsed)
    }
}

fn number(text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse()
        .map_err(|e| format!("not a count: {text:?}: {e}"))
}

/// What every connection shares.
#[derive(Debug)]
struct State {
    wiki: Arc<Wiki>,
    servers: Arc<Servers>,
    /// The whole wiki result in every format, with and without the header
    /// row, written once at start: serving it costs the server little, so
    /// a client is timed, not the server's writing of rows.
    rendered: Vec<(Options, Bytes)>,
    /// The same gzip-compressed (default level, as Jetty's), for the
    /// typed-row default (`arrayLines` with the header) only.
    gzipped: Vec<(Options, Bytes)>,
    /// Numbers the generated query IDs and the chunk-size sequences.
    queries: AtomicU64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(std::env::args().skip(1))?;
    let wiki = Arc::new(Wiki::new(args.rows));
    let expected = Expected::of(&wiki);
    if let Some(path) = &args.write_lines {
        write_lines(&wiki, path, args.time_key.as_deref())?;
        println!(
            "{}",
            json!({ "wrote": path, "expected": expected_json(&expected) })
        );
        return Ok(());
    }
    let servers = Arc::new(Servers::new(args.servers));
    let rendered = render_all(&wiki);
    let gzipped = gzip_default(&rendered)?;
    let state = Arc::new(State {
        wiki,
        servers,
        rendered,
        gzipped,
        queries: AtomicU64::new(0),
    });
    if args.until_stdin_closes {
        std::thread::spawn(|| {
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => std::process::exit(0),
                    Ok(_) => {}
                }
            }
        });
    }
    // One thread: the bench measures one client at a time, and the other
    // core is the client's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", args.port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("no local address: {e}"))?;
        let ready = json!({
            "url": format!("http://{addr}"),
            "expected": expected_json(&expected),
            "servers": state.servers.servers(),
            "roles": state.servers.roles(),
        });
        println!("{ready}");
        std::io::stdout()
            .flush()
            .map_err(|e| format!("cannot write stdout: {e}"))?;
        loop {
            let (stream, _) = listener
                .accept()
                .await
                .map_err(|e| format!("accept failed: {e}"))?;
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(request, state.clone()));
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// The wiki result of every format, with and without the header row.
fn render_all(wiki: &Arc<Wiki>) -> Vec<(Options, Bytes)> {
    let table: Arc<dyn Table> = wiki.clone();
    let mut rendered = Vec::new();
    for format in [
        Format::Object,
        Format::Array,
        Format::ObjectLines,
        Format::ArrayLines,
        Format::Csv,
    ] {
        for header in [false, true] {
            let options = Options {
                format,
                header,
                types_header: false,
                sql_types_header: false,
            };
            let mut writer = Writer::new(options, table.columns());
            let mut out = Vec::new();
            writer.start(&mut out);
            for i in 0..table.len() {
                writer.row(&*table, i, &mut out);
            }
            writer.end(&mut out);
            rendered.push((options, Bytes::from(out)));
        }
    }
    rendered
}

/// The `arrayLines`-with-header result, gzip-compressed.
fn gzip_default(rendered: &[(Options, Bytes)]) -> Result<Vec<(Options, Bytes)>, String> {
    use std::io::Write as _;
    let mut out = Vec::new();
    for (options, bytes) in rendered {
        if options.format == Format::ArrayLines && options.header {
            let mut gzip =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gzip.write_all(bytes)
                .and_then(|()| gzip.finish())
                .map(|body| out.push((*options, Bytes::from(body))))
                .map_err(|e| format!("cannot gzip the result: {e}"))?;
        }
    }
    Ok(out)
}

fn expected_json(expected: &Expected) -> Value {
    json!({
        "rows": expected.rows,
        "added_sum": expected.added_sum,
        "delta_sum": expected.delta_sum,
        "cities": expected.cities,
    })
}

/// Writes the wiki rows as newline-delimited JSON objects, the time
/// under `time_key` if given (an ingestion parses it into `__time`).
fn write_lines(wiki: &Wiki, path: &str, time_key: Option<&str>) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?;
    let mut file = std::io::BufWriter::new(file);
    let options = Options {
        format: Format::ObjectLines,
        header: false,
        types_header: false,
        sql_types_header: false,
    };
    let mut writer = Writer::new(options, wiki.columns());
    let mut buf = Vec::new();
    let mut row = Vec::new();
    let renamed = time_key.map(|key| {
        let mut prefix = b"{".to_vec();
        format::json_string(key, &mut prefix);
        prefix.push(b':');
        prefix
    });
    const TIME: &[u8] = b"{\"__time\":";
    for i in 0..wiki.len() {
        row.clear();
        writer.row(wiki, i, &mut row);
        match (&renamed, row.iter().position(|b| *b == b'{')) {
            (Some(prefix), Some(at)) if row[at..].starts_with(TIME) => {
                buf.extend_from_slice(&row[..at]);
                buf.extend_from_slice(prefix);
                buf.extend_from_slice(&row[at + TIME.len()..]);
            }
            _ => buf.extend_from_slice(&row),
        }
        if buf.len() > 1 << 16 {
            file.write_all(&buf)
                .map_err(|e| format!("cannot write {path}: {e}"))?;
            buf.clear();
        }
    }
    buf.push(b'\n');
    file.write_all(&buf)
        .and_then(|()| file.flush())
        .map_err(|e| format!("cannot write {path}: {e}"))
}

type AnswerBody = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<AnswerBody> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert("content-type", value);
    }
    response
}

/// Druid's error shape for bad input (`DruidException`).
fn invalid_input(message: &str) -> Response<AnswerBody> {
    let body = json!({
        "error": "druidException",
        "errorCode": "invalidInput",
        "persona": "USER",
        "category": "INVALID_INPUT",
        "errorMessage": message,
        "context": {},
    });
    full(
        StatusCode::BAD_REQUEST,
        "application/json",
        body.to_string(),
    )
}

/// The fields of an SQL request body the server reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqlBody {
    query: String,
    #[serde(default)]
    result_format: Option<String>,
    #[serde(default)]
    header: Option<bool>,
    #[serde(default)]
    types_header: Option<bool>,
    #[serde(default)]
    sql_types_header: Option<bool>,
    #[serde(default)]
    context: Option<serde_json::Map<String, Value>>,
}

async fn answer(
    request: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<AnswerBody>, hyper::Error> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let gzip = request
        .headers()
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let body = request.into_body().collect().await?.to_bytes();
    Ok(match (method, path.as_str()) {
        (Method::GET, "/status/health") => full(StatusCode::OK, "application/json", "true"),
        (Method::POST, "/druid/v2/sql" | "/druid/v2/sql/") => sql(&body, &state, gzip),
        _ => {
            let body = json!({ "message": "Not Found", "url": path, "status": "404" });
            full(StatusCode::NOT_FOUND, "application/json", body.to_string())
        }
    })
}

fn sql(body: &[u8], state: &State, gzip: bool) -> Response<AnswerBody> {
    let body: SqlBody = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(e) => return invalid_input(&format!("the request body is not an SQL query: {e}")),
    };
    let format = match body.result_format.as_deref() {
        None => Format::Object,
        Some(name) => match Format::parse(name) {
            Some(format) => format,
            None => return invalid_input(&format!("unknown resultFormat {name:?}")),
        },
    };
    let header = body.header.unwrap_or(false);
    let options = Options {
        format,
        header,
        // Druid writes the types only into a header.
        types_header: header && body.types_header.unwrap_or(false),
        sql_types_header: header && body.sql_types_header.unwrap_or(false),
    };
    let n = state.queries.fetch_add(1, Ordering::Relaxed);
    let query_id = body
        .context
        .as_ref()
        .and_then(|c| c.get("sqlQueryId"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{n:08x}-0000-4000-8000-{n:012x}"));
    let is_servers = body.query.to_ascii_lowercase().contains("sys.servers");
    let table: Arc<dyn Table> = if is_servers {
        state.servers.clone()
    } else {
        state.wiki.clone()
    };
    let table: Arc<dyn Table> = match limit_of(&body.query) {
        Some(rows) => Arc::new(Limit { table, rows }),
        None => table,
    };
    let whole = limit_of(&body.query).is_none() && !is_servers;
    let gzipped = state
        .gzipped
        .iter()
        .find(|(o, _)| gzip && whole && *o == options)
        .map(|(_, bytes)| bytes.clone());
    let compressed = gzipped.is_some();
    let prerendered = gzipped.or_else(|| {
        state
            .rendered
            .iter()
            .find(|(o, _)| whole && *o == options)
            .map(|(_, bytes)| bytes.clone())
    });
    let body = match prerendered {
        Some(bytes) => Slices {
            bytes,
            at: 0,
            chunk: n << 32,
        }
        .boxed(),
        None => RowsBody {
            writer: Writer::new(options, table.columns()),
            table,
            next: 0,
            started: false,
            ended: false,
            buf: Vec::new(),
            chunk: n << 32,
        }
        .boxed(),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Ok(value) = format.content_type().parse() {
        headers.insert("content-type", value);
    }
    if let Ok(value) = query_id.parse() {
        headers.insert("x-druid-sql-query-id", value);
    }
    if header && let Ok(value) = "yes".parse() {
        headers.insert("x-druid-sql-header-included", value);
    }
    if compressed && let Ok(value) = "gzip".parse() {
        headers.insert("content-encoding", value);
    }
    response
}

/// A result, written while it is sent: each frame is one HTTP chunk.
struct RowsBody {
    table: Arc<dyn Table>,
    writer: Writer,
    /// The next row to write.
    next: u64,
    started: bool,
    ended: bool,
    /// Bytes written but not sent.
    buf: Vec<u8>,
    /// Numbers the chunks, for their sizes.
    chunk: u64,
}

/// The size of the next chunk: 4 to 64 KiB, from a fixed sequence.
fn chunk_size(counter: &mut u64) -> usize {
    *counter += 1;
    let mut z = counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z ^= z >> 29;
    4096 + (z % (65_536 - 4096 + 1)) as usize
}

impl RowsBody {
    /// The size of the next chunk.
    fn next_size(&mut self) -> usize {
        chunk_size(&mut self.chunk)
    }
}

/// A result written before: sent in chunks of the same sizes.
struct Slices {
    bytes: Bytes,
    at: usize,
    chunk: u64,
}

impl Body for Slices {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.at >= this.bytes.len() {
            return Poll::Ready(None);
        }
        let end = (this.at + chunk_size(&mut this.chunk)).min(this.bytes.len());
        let chunk = this.bytes.slice(this.at..end);
        this.at = end;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

impl Body for RowsBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let size = this.next_size();
        while this.buf.len() < size && !this.ended {
            if !this.started {
                this.writer.start(&mut this.buf);
                this.started = true;
            } else if this.next < this.table.len() {
                this.writer.row(&*this.table, this.next, &mut this.buf);
                this.next += 1;
            } else {
                this.writer.end(&mut this.buf);
                this.ended = true;
            }
        }
        if this.buf.is_empty() {
            return Poll::Ready(None);
        }
        let rest = if this.buf.len() > size {
            this.buf.split_off(size)
        } else {
            Vec::new()
        };
        let chunk = std::mem::replace(&mut this.buf, rest);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let args = |list: &[&str]| Args::parse(list.iter().map(|s| (*s).to_owned()));
        let parsed = args(&["--rows", "10_000", "--servers", "500"]).unwrap();
        assert_eq!((parsed.rows, parsed.servers, parsed.port), (10_000, 500, 0));
        assert!(args(&["--rows"]).unwrap_err().contains("needs a value"));
        assert!(args(&["--bogus"]).unwrap_err().contains("usage"));
    }

    #[test]
    fn chunks_are_4_to_64_kib_and_split_rows() {
        let wiki: Arc<dyn Table> = Arc::new(Wiki::new(3000));
        let options = Options {
            format: Format::Object,
            header: false,
            types_header: false,
            sql_types_header: false,
        };
        let mut body = RowsBody {
            writer: Writer::new(options, wiki.columns()),
            table: wiki,
            next: 0,
            started: false,
            ended: false,
            buf: Vec::new(),
            chunk: 0,
        };
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut chunks = Vec::new();
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            let data = frame.unwrap().into_data().unwrap();
            chunks.push(data);
        }
        assert!(body.is_end_stream());
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        let (last, full) = chunks.split_last().unwrap();
        assert!(full.iter().all(|c| (4096..=65_536).contains(&c.len())));
        assert!(!last.is_empty());
        let all: Vec<u8> = chunks.concat();
        let rows: Vec<Value> = serde_json::from_slice(&all).unwrap();
        assert_eq!(rows.len(), 3000);
        assert!(all.ends_with(b"}]\n"));
    }
}
