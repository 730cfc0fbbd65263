//! Child processes of the bench: the server it starts and stops, and the
//! one-shot clients whose single JSON line it reads.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `bench-server`; killed (by its handle) when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    /// Its base URL.
    pub(crate) url: String,
    /// The line it printed once listening (`url`, `expected`, `servers`, `roles`).
    pub(crate) ready: Value,
}

impl Server {
    /// Starts `program` with `args` and waits for its ready line.
    pub(crate) fn start(program: &Path, args: &[String]) -> Result<Server, String> {
        let mut child = Command::new(program)
            .args(args)
            .arg("--until-stdin-closes")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let mut line = String::new();
        let read = match child.stdout.take() {
            Some(stdout) => BufReader::new(stdout).read_line(&mut line),
            None => Ok(0),
        };
        let ready: Option<Value> = serde_json::from_str(line.trim()).ok();
        let url = ready
            .as_ref()
            .and_then(|r| r["url"].as_str())
            .map(str::to_owned);
        match (read, ready, url) {
            (Ok(_), Some(ready), Some(url)) => Ok(Server { child, url, ready }),
            (read, _, _) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "{} did not say where it listens (read {read:?}: {:?})",
                    program.display(),
                    line.trim()
                ))
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why a client gave no figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChildError {
    /// It failed: the exit status and the end of its stderr.
    Failed(String),
    /// It ran out of time and was killed.
    TimedOut(Duration),
}

impl std::fmt::Display for ChildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildError::Failed(why) => f.write_str(why),
            ChildError::TimedOut(limit) => {
                write!(f, "killed after {} s without an answer", limit.as_secs())
            }
        }
    }
}

/// The last `max` characters of `text`, on one line.
pub(crate) fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let start = text
        .char_indices()
        .rev()
        .nth(max.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    let cut = if start > 0 { "..." } else { "" };
    format!("{cut}{}", text[start..].replace('\n', " | "))
}

/// Runs a client to its end (at most `limit`) and returns the JSON object
/// of its last non-empty stdout line.
pub(crate) fn run_json(mut command: Command, limit: Duration) -> Result<Value, ChildError> {
    let what = format!("{:?}", command.get_program());
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ChildError::Failed(format!("cannot start {what}: {e}")))?;
    let reader = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(ChildError::TimedOut(limit));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => break Err(ChildError::Failed(format!("cannot wait for {what}: {e}"))),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let status = status?;
    if !status.success() {
        return Err(ChildError::Failed(format!(
            "{what} failed ({status}): {}",
            tail(&stderr, 400)
        )));
    }
    parse_line(&stdout).ok_or_else(|| {
        ChildError::Failed(format!(
            "{what} printed no JSON line: {}",
            tail(&format!("{stdout}\n{stderr}"), 400)
        ))
    })
}

/// The JSON object of the last non-empty line.
pub(crate) fn parse_line(stdout: &str) -> Option<Value> {
    stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(Value::is_object)
}

/// Runs a setup command (a build, a venv, pip) and returns its stdout, or
/// the end of its output as the error.
pub(crate) fn run_setup(mut command: Command) -> Result<String, String> {
    let what = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Err(format!(
            "{what} failed ({}): {}",
            output.status,
            tail(&text, 300)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_json_line_counts() {
        let out = "warming up\n{\"variant\":\"x\",\"wall_ms\":1.5}\n\n";
        assert_eq!(parse_line(out).unwrap()["wall_ms"], 1.5);
        assert!(parse_line("no json here\n").is_none());
        assert!(parse_line("[1,2]\n").is_none(), "a line must be an object");
    }

    #[test]
    fn tails_are_short_and_on_one_line() {
        assert_eq!(tail("a\nb\n", 10), "a | b");
        assert_eq!(tail("0123456789", 4), "...6789");
        assert_eq!(tail("ü😀ü", 2), "...😀ü");
    }

    #[test]
    fn a_child_that_fails_says_why() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo oops >&2; exit 3"]);
        let err = run_json(command, Duration::from_secs(10)).unwrap_err();
        assert!(err.to_string().contains("oops"), "{err}");
        let mut command = Command::new("sh");
        command.args(["-c", "echo '{\"status\":\"ok\"}'"]);
        assert_eq!(
            run_json(command, Duration::from_secs(10)).unwrap()["status"],
            "ok"
        );
        let mut command = Command::new("sleep");
        command.arg("5");
        let err = run_json(command, Duration::from_millis(100)).unwrap_err();
        assert_eq!(err, ChildError::TimedOut(Duration::from_millis(100)));
    }
}
