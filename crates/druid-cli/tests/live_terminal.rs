//! `druid` in a real terminal (tmux), against the real cluster: what a
//! person sees at the interactive prompt and while `druid ingest` waits.
//! tmux must be installed; these tests fail without it.

#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use std::process::Command;
use std::time::{Duration, Instant};

use druid_tests::live;

/// A tmux server of its own (`-L`), one window of a fixed size, running a
/// shell with the cluster's environment.
struct Terminal {
    socket: String,
    /// The launcher scripts, removed with the terminal (they hold the
    /// cluster's credentials).
    scripts: std::cell::RefCell<Vec<std::path::PathBuf>>,
}

impl Terminal {
    fn start(name: &str) -> Self {
        let socket = live::unique(name);
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "150",
                "-y",
                "40",
                "sh",
            ])
            .env("PS1", "$ ")
            .status()
            .expect("tmux runs (the terminal tests need it installed)");
        assert!(status.success(), "tmux could not start a session");
        Terminal {
            socket,
            scripts: std::cell::RefCell::default(),
        }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Types text literally, then Enter. tmux reads a `;` that ends an
    /// argument as its own command separator, so each `;` goes as a key
    /// code of its own.
    fn line(&self, text: &str) {
        for (i, part) in text.split(';').enumerate() {
            if i > 0 {
                self.tmux(&["send-keys", "-t", "0", "-H", "3b"]);
            }
            if !part.is_empty() {
                self.tmux(&["send-keys", "-t", "0", "-l", part]);
            }
        }
        self.tmux(&["send-keys", "-t", "0", "Enter"]);
    }

    fn key(&self, key: &str) {
        self.tmux(&["send-keys", "-t", "0", key]);
    }

    /// What the window shows now, trailing blank lines removed.
    fn screen(&self) -> String {
        let text = self.tmux(&["capture-pane", "-t", "0", "-p"]);
        text.trim_end().to_owned()
    }

    /// Waits until the screen holds `needle`; the screen then.
    fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                started.elapsed() < limit,
                "{needle:?} did not appear within {limit:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        for script in self.scripts.borrow().iter() {
            let _ = std::fs::remove_file(script);
        }
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A script that starts `druid` with the cluster's environment (so that the
/// screen shows its name, not the credentials) and says how it exited;
/// the command line to type.
fn druid_command(terminal: &Terminal, args: &str, history: &std::path::Path) -> String {
    let mut script = String::from("#!/bin/sh\n");
    for (key, value) in std::env::vars() {
        if key.starts_with("DRUID_") {
            script.push_str(&format!("export {key}='{value}'\n"));
        }
    }
    script.push_str(&format!(
        "export DRUID_HISTORY='{}' XDG_CONFIG_HOME=/nonexistent-druid-cli-config\n'{}' {args}\necho \"[druid exited: $?]\"\n",
        history.display(),
        env!("CARGO_BIN_EXE_druid")
    ));
    let path = std::env::temp_dir().join(format!("{}.sh", live::unique("druid-run")));
    std::fs::write(&path, script).unwrap();
    let command = format!("sh '{}'", path.display());
    terminal.scripts.borrow_mut().push(path);
    command
}

#[test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
fn the_prompt_runs_multi_line_statements_with_timing_and_history() {
    let history = std::env::temp_dir().join(live::unique("druid-history"));
    let terminal = Terminal::start("prompt");
    terminal.line(&druid_command(&terminal, "sql", &history));
    terminal.wait_for("druid>", Duration::from_secs(20));
    terminal.line("SELECT server_type, COUNT(*) AS n");
    terminal.wait_for("   ..>", Duration::from_secs(5));
    terminal.line("FROM sys.servers WHERE server_type = 'broker' GROUP BY 1;");
    let screen = terminal.wait_for("row in ", Duration::from_secs(30));
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("server_type"))
        .unwrap_or_else(|| panic!("no header:\n{screen}"));
    assert_eq!(
        lines[header].split_whitespace().collect::<Vec<_>>(),
        ["server_type", "n"]
    );
    assert_eq!(
        lines[header + 1].split_whitespace().collect::<Vec<_>>(),
        ["VARCHAR", "BIGINT"]
    );
    assert_eq!(
        lines[header + 3].split_whitespace().collect::<Vec<_>>(),
        ["broker", "1"]
    );
    assert!(lines[header + 4].starts_with("(1 row in "), "{screen}");

    // A refused statement is one line, and the prompt goes on.
    terminal.line("SELECT nope FROM sys.servers;");
    let screen = terminal.wait_for("error after ", Duration::from_secs(30));
    assert!(
        screen.contains("Druid answered 400 Bad Request"),
        "{screen}"
    );

    // Up brings the last statement back; Ctrl-C clears it; Ctrl-D leaves.
    terminal.key("Up");
    terminal.wait_for(
        "druid> SELECT nope FROM sys.servers;",
        Duration::from_secs(5),
    );
    terminal.key("C-c");
    terminal.key("C-d");
    terminal.wait_for("[druid exited: 0]", Duration::from_secs(10));
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved.contains("server_type = 'broker'") && saved.contains("SELECT nope"),
        "{saved}"
    );
    let _ = std::fs::remove_file(&history);
}

#[test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
fn ingest_shows_progress_on_a_terminal() {
    let table = live::unique("cli_terminal");
    let history = std::env::temp_dir().join(live::unique("druid-history"));
    // An SQL statement where the cluster runs MSQ, else a native task spec.
    let msq = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(live::has_msq());
    let (file, options, task) = if msq {
        let file = std::env::temp_dir().join(format!("{table}.sql"));
        std::fs::write(&file, live::replace_statement(&table)).unwrap();
        (file, " -c maxNumTasks=2", "task query-")
    } else {
        let file = std::env::temp_dir().join(format!("{table}.json"));
        std::fs::write(&file, live::native_spec(&table).to_string()).unwrap();
        (file, "", "task index_parallel_")
    };
    let terminal = Terminal::start("ingest");
    terminal.line(&druid_command(
        &terminal,
        &format!("ingest --file '{}'{options}", file.display()),
        &history,
    ));
    // While it runs: a spinner line naming the task and its state.
    let running = terminal.wait_for("RUNNING", Duration::from_secs(120));
    assert!(
        running
            .lines()
            .any(|l| l.contains(task) && l.contains("RUNNING")),
        "{running}"
    );
    let done = terminal.wait_for("[druid exited: ", Duration::from_secs(300));
    assert!(
        done.contains("is loaded and queryable\n[druid exited: 0]"),
        "{done}"
    );
    // The spinners end as lines that say how each wait ended.
    assert!(
        done.lines()
            .any(|l| l.contains(task) && l.contains(" SUCCESS (")),
        "{done}"
    );
    assert!(
        done.lines()
            .any(|l| l.contains(&format!("loading {table}")) && l.contains(" loaded (")),
        "{done}"
    );
    let _ = std::fs::remove_file(&file);
}
