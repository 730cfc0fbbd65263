//! The interactive SQL prompt of `druid sql` on a terminal: line editing
//! and history (rustyline), statements over several lines until `;`, and
//! the time of each statement.

use std::path::PathBuf;
use std::time::Instant;

use druid_api::Client;
use rustyline::error::ReadlineError;

use crate::args::SqlArgs;
use crate::fail::Failure;
use crate::sql::{Outcome, execute};

/// The prompt of a new statement and of its next lines.
const PROMPT: &str = "druid> ";
const MORE: &str = "   ..> ";
/// History entries kept.
const HISTORY: usize = 1000;

/// Where the history lives: `$DRUID_HISTORY`, else `druid/history` in the
/// user's data folder.
fn history_path() -> Option<PathBuf> {
    std::env::var_os("DRUID_HISTORY")
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("druid").join("history")))
}

const HELP: &str = "Statements end with ; and may span lines. Ctrl-C cancels a running \
query (or clears the line), Ctrl-D or \\q leaves. History is kept between sessions.";

/// The prompt loop.
pub(crate) async fn run(client: &Client, args: &SqlArgs) -> Result<(), Failure> {
    let config = rustyline::Config::builder()
        .max_history_size(HISTORY)
        .map_err(|e| Failure::usage(format!("cannot set up the prompt: {e}")))?
        .auto_add_history(false)
        .build();
    let mut editor = rustyline::DefaultEditor::with_config(config)
        .map_err(|e| Failure::usage(format!("cannot start the prompt: {e}")))?;
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    eprintln!(
        "druid {}: SQL on {}. \\h for help.",
        env!("CARGO_PKG_VERSION"),
        client.service().base_url()
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { PROMPT } else { MORE };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Failure::usage(format!("cannot read the prompt: {e}"))),
        };
        let trimmed = line.trim();
        if buffer.is_empty() {
            match trimmed {
                "" => continue,
                "\\q" | "quit" | "exit" => break,
                "\\h" | "help" | "\\?" => {
                    eprintln!("{HELP}");
                    continue;
                }
                _ => {}
            }
        }
        if !buffer.is_empty() {
            buffer.push('\n');
        }
        buffer.push_str(&line);
        if !trimmed.ends_with(';') {
            continue;
        }
        let statement = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(statement.as_str());
        let sql = statement.trim().trim_end_matches(';').trim();
        if sql.is_empty() {
            continue;
        }
        let started = Instant::now();
        let seconds = || started.elapsed().as_secs_f64();
        match execute(client, sql, args, None).await {
            Ok(Outcome::Done { rows }) => eprintln!(
                "({rows} row{} in {:.3} s)",
                if rows == 1 { "" } else { "s" },
                seconds()
            ),
            Ok(Outcome::ClosedOutput) => break,
            Ok(Outcome::Interrupted(said)) => {
                eprintln!("interrupted after {:.3} s; {said}", seconds())
            }
            Err(failure) => eprintln!(
                "error after {:.3} s: {}",
                seconds(),
                crate::escape::line(&failure.message)
            ),
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
    Ok(())
}
