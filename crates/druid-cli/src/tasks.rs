//! `druid tasks` and `druid task status|reports|log|shutdown|wait`.

use std::io::{self, IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use druid_api::models::{TaskListState, TaskState, TaskStatus};
use druid_api::prelude::*;
use druid_api::{Client, OverlordClient};
use serde_json::Value;

use crate::args::{Format, IngestArgs, TaskArgs, TaskCommand, TasksArgs};
use crate::fail::Failure;
use crate::output::{Column, RowWriter, Style};

/// Writes `value` as indented JSON (or one line when not on a terminal and
/// not asked to indent), with no character a terminal acts on.
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = if io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| Failure::druid(format!("cannot write the answer: {e}")))?;
    print_text(&crate::escape::json(&text))
}

/// Writes text from the network and a line break, its control characters
/// (but line breaks and tabs) shown as escapes.
pub(crate) fn print_network_text(text: &str) -> Result<(), Failure> {
    print_text(&crate::escape::text(text))
}

/// Writes a body as it arrives (a task log: it can be larger than memory),
/// as text safe for a terminal; a closed output (`| head`) ends it quietly.
pub(crate) async fn print_stream(
    mut response: druid_api::transport::StreamingResponse,
) -> Result<(), Failure> {
    let mut text = crate::escape::Bytes::default();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut written = Ok(());
    while let Some(chunk) = response.chunk().await.map_err(Failure::from)? {
        written = out.write_all(text.push(&chunk).as_bytes());
        if written.is_err() {
            break;
        }
    }
    let result = written
        .and_then(|()| out.write_all(text.finish().as_bytes()))
        .and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::usage(format!("cannot write the output: {e}"))),
    }
}

/// Writes text and a line break; a closed output (`| head`) is no error.
pub(crate) fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|()| out.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::usage(format!("cannot write the output: {e}"))),
    }
}

/// Rows of strings in a format; JSON formats get the column names as keys.
pub(crate) fn print_rows(
    format: Format,
    names: &[&str],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<(), Failure> {
    let columns = names.iter().map(|n| Column::named(n)).collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut writer = RowWriter::new(&mut out, format, Style::for_stdout(), columns);
    let result = rows
        .into_iter()
        .try_for_each(|row| writer.row(&row))
        .and_then(|()| writer.finish().map(|_| ()))
        .and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::usage(format!("cannot write the output: {e}"))),
    }
}

fn text(value: Option<&str>) -> Value {
    Value::from(value.unwrap_or_default())
}

/// A run time in milliseconds as `12.3 s`; running tasks have none.
fn duration(ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms >= 0 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => String::new(),
    }
}

fn task_row(task: &TaskStatus) -> Vec<Value> {
    vec![
        Value::from(task.id.clone()),
        text(task.task_type.as_deref()),
        text(task.data_source.as_deref()),
        Value::from(task.status_code.to_string()),
        text(task.created_time.as_deref()),
        Value::from(duration(task.duration)),
    ]
}

const TASK_COLUMNS: [&str; 6] = ["id", "type", "datasource", "status", "created", "duration"];

async fn overlord(client: &Client) -> Result<OverlordClient, Failure> {
    Ok(client.cluster().await?.overlord()?)
}

/// `druid tasks`.
pub(crate) async fn list(client: &Client, args: &TasksArgs) -> Result<(), Failure> {
    let overlord = overlord(client).await?;
    let mut request = overlord.tasks();
    if let Some(state) = &args.state {
        let state = match state.as_str() {
            "running" => TaskListState::Running,
            "complete" => TaskListState::Complete,
            "waiting" => TaskListState::Waiting,
            "pending" => TaskListState::Pending,
            other => {
                return Err(Failure::usage(format!(
                    "--state {other}: write running, complete, waiting or pending"
                )));
            }
        };
        request = request.state(state);
    }
    if let Some(datasource) = &args.datasource {
        request = request.datasource(datasource.clone());
    }
    if let Some(task_type) = &args.task_type {
        request = request.task_type(task_type.clone());
    }
    if let Some(max) = args.max {
        request = request.max(max);
    }
    let tasks = request.await?;
    if args.output.output == Format::Json {
        return print_json(&tasks);
    }
    print_rows(
        args.output.output,
        &TASK_COLUMNS,
        tasks.iter().map(task_row),
    )
}

/// `druid task ...`.
pub(crate) async fn task(client: &Client, args: &TaskArgs) -> Result<(), Failure> {
    let overlord = overlord(client).await?;
    match &args.command {
        TaskCommand::Status { id, output } => {
            let answer = overlord.task_status(id).await?;
            let Some(status) = answer.status else {
                return Err(Failure::druid(format!(
                    "the Overlord has no status for task {id}"
                )));
            };
            if output.output == Format::Json {
                return print_json(&status);
            }
            print_rows(output.output, &TASK_COLUMNS, [task_row(&status)])
        }
        TaskCommand::Reports { id } => print_json(&overlord.task_reports(id).await?),
        TaskCommand::Log { id, tail } => {
            let mut request = overlord.task_log(id);
            if let Some(bytes) = tail {
                request = request.offset(-bytes.abs());
            }
            print_stream(request.await?).await
        }
        TaskCommand::Shutdown { id } => {
            let answer = overlord.shutdown_task(id).await?;
            print_network_text(&format!("asked task {} to shut down", answer.task))
        }
        TaskCommand::Wait { id, limit } => {
            let status = wait(&overlord, id, *limit).await?;
            finished(&status)
        }
    }
}

/// A finished task's verdict: success, or its error as a Druid failure.
pub(crate) fn finished(status: &TaskStatus) -> Result<(), Failure> {
    if status.status_code == TaskState::Success {
        Ok(())
    } else {
        Err(Failure::druid(format!(
            "task {} ended {}: {}",
            status.id,
            status.status_code,
            status.error_msg.as_deref().unwrap_or("no error message")
        )))
    }
}

/// What a wait shows: a spinner line on a terminal, a plain line per change
/// of state when piped; both on standard error.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last: std::sync::Mutex<String>,
    started: Instant,
}

impl Progress {
    pub(crate) fn new(what: &str) -> Self {
        let what = crate::escape::line(what);
        let what = what.as_ref();
        let bar = io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            eprintln!("{what}");
        }
        Progress {
            bar,
            last: std::sync::Mutex::new(String::new()),
            started: Instant::now(),
        }
    }

    pub(crate) fn update(&self, state: &str) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if *last == state {
            return;
        }
        state.clone_into(&mut last);
        drop(last);
        let state = crate::escape::line(state);
        match &self.bar {
            Some(bar) => bar.set_message(state.into_owned()),
            None => eprintln!("  {:>6.1}s  {state}", self.started.elapsed().as_secs_f64()),
        }
    }

    pub(crate) fn done(&mut self, line: &str) {
        match self.bar.take() {
            Some(bar) => bar.finish_with_message(line.to_owned()),
            None => eprintln!("  {:>6.1}s  {line}", self.started.elapsed().as_secs_f64()),
        }
    }
}

/// Waits for a task to finish, showing its state (the library's wait; an
/// MSQ task's live report gives its stages and rows).
pub(crate) async fn wait(
    overlord: &OverlordClient,
    id: &str,
    limit: Duration,
) -> Result<TaskStatus, Failure> {
    let mut progress = Progress::new(&format!("task {id}"));
    let shown = &progress;
    let result = overlord
        .wait_for_task_with(id, limit, |state| shown.update(state))
        .await;
    match result {
        Ok(status) => {
            progress.done(&status.status_code.to_string());
            Ok(status)
        }
        Err(e) => {
            progress.done("stopped waiting");
            Err(Failure::from(e))
        }
    }
}

/// `druid ingest`: an SQL statement as an MSQ task, or a JSON task spec
/// (native batch) through the Overlord; the task's end, then the data
/// loaded on the Historicals.
pub(crate) async fn ingest(client: &Client, args: &IngestArgs) -> Result<(), Failure> {
    let input = crate::sql::statement_of(args.statement.as_deref(), args.file.as_deref())?;
    let cluster = client.cluster().await?;
    let overlord = cluster.overlord()?;
    let task_id = if input.trim_start().starts_with('{') {
        if !args.context.is_empty() {
            return Err(Failure::usage(
                "--context is for SQL statements; a task spec carries its own `context`",
            ));
        }
        let spec: serde_json::Value = serde_json::from_str(&input)
            .map_err(|e| Failure::usage(format!("the task spec is not JSON: {e}")))?;
        overlord.submit_task(&spec).await?.task
    } else {
        client
            .sql(input)
            .context_map(crate::sql::context(&args.context)?)
            .submit_task()
            .await?
            .task_id
    };
    let status = wait(&overlord, &task_id, args.limit).await?;
    finished(&status)?;
    let Some(datasource) = status.data_source.clone().filter(|d| !d.is_empty()) else {
        return print_network_text(&format!("task {} succeeded", task_id));
    };
    if args.no_wait_load {
        return print_network_text(&format!(
            "task {} succeeded; {datasource} is loading",
            task_id
        ));
    }
    let coordinator = cluster.coordinator()?;
    let mut progress = Progress::new(&format!("loading {datasource}"));
    let shown = &progress;
    let loaded = coordinator
        .wait_for_datasource_loaded_with(&datasource, args.limit, |state| shown.update(state))
        .await;
    match loaded {
        Ok(()) => progress.done("loaded"),
        Err(e) => {
            progress.done("stopped waiting");
            return Err(Failure::from(e));
        }
    }
    print_network_text(&format!(
        "task {} succeeded; {datasource} is loaded and queryable",
        task_id
    ))
}
