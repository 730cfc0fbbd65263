//! Starting, finding and stopping the cluster's JVMs, by PID only.
//!
//! A JVM is "ours" when `/proc/<pid>/cmdline` contains `<state>/conf/` (every class path
//! starts there) and the main class of a Druid service, of ZooKeeper or of Derby's network
//! server. That check runs right before every signal, so a PID that was reused by an
//! unrelated process is never signalled.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid, Signal, kill_process};

use super::layout::{Layout, Service};

/// How long a JVM gets between SIGTERM and SIGKILL.
pub(crate) const TERM_GRACE: Duration = Duration::from_secs(15);

/// The main classes of the JVMs this tool starts.
const MAIN_CLASSES: [&str; 3] = [
    "org.apache.druid.cli.Main",
    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
    "org.apache.derby.drda.NetworkServerControl",
];

/// Starts `program args...` detached from the xtask: its own process group (so Ctrl-C in the
/// terminal does not reach it), stdin from /dev/null, stdout and stderr into `log` (truncated,
/// or appended to with `append`), working directory `cwd`. It keeps running when the xtask
/// exits.
pub(crate) fn spawn_detached(
    program: &Path,
    args: &[String],
    cwd: &Path,
    log: &Path,
    append: bool,
) -> Result<Child, String> {
    let stdout = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let stderr = stdout
        .try_clone()
        .map_err(|e| format!("cannot reopen {}: {e}", log.display()))?;
    Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))
}

/// Records a service's PID.
pub(crate) fn write_pid(layout: &Layout, service: Service, pid: u32) -> Result<(), String> {
    let path = layout.pid_file(service);
    fs::write(&path, format!("{pid}\n"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// What a pid file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// No pid file.
    Nothing,
    /// A pid file with a PID in it.
    Pid(u32),
    /// A pid file that does not hold a PID.
    Garbage,
}

/// Reads a service's pid file.
pub(crate) fn read_pid(layout: &Layout, service: Service) -> Recorded {
    match fs::read_to_string(layout.pid_file(service)) {
        Err(_) => Recorded::Nothing,
        Ok(text) => text.trim().parse().map_or(Recorded::Garbage, Recorded::Pid),
    }
}

/// Removes a service's pid file (missing is fine).
pub(crate) fn remove_pid(layout: &Layout, service: Service) -> Result<(), String> {
    let path = layout.pid_file(service);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The command line of a process, arguments separated by spaces (empty for a zombie or a
/// process that is gone).
fn cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .unwrap_or_default()
}

/// Whether `pid` is a live JVM started from this state directory.
pub(crate) fn is_ours(layout: &Layout, pid: u32) -> bool {
    is_our_cmdline(&cmdline(pid), &layout.cmdline_marker())
}

/// The ownership test on a command line (see the module docs).
fn is_our_cmdline(cmdline: &str, marker: &str) -> bool {
    cmdline.contains(marker) && MAIN_CLASSES.iter().any(|class| cmdline.contains(class))
}

/// What the kernel says a process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Running or sleeping (any state but the two below).
    Running,
    /// Stopped by a signal (SIGSTOP): state `T` in `/proc/<pid>/stat`.
    Stopped,
    /// No such process, or a zombie (state `Z` or `X`).
    Gone,
}

/// The state of `pid` from `/proc/<pid>/stat`.
pub(crate) fn run_state(pid: u32) -> RunState {
    fs::read_to_string(format!("/proc/{pid}/stat")).map_or(RunState::Gone, |stat| parse_stat(&stat))
}

/// The state letter of a `/proc/<pid>/stat` line: the field after the command name, which is in
/// parentheses and may itself contain spaces and parentheses.
fn parse_stat(stat: &str) -> RunState {
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    match state {
        None | Some("Z" | "X" | "x") => RunState::Gone,
        Some("T" | "t") => RunState::Stopped,
        Some(_) => RunState::Running,
    }
}

/// The state of `pid` as one of our JVMs: [`RunState::Gone`] unless it is ours.
pub(crate) fn our_state(layout: &Layout, pid: u32) -> RunState {
    if is_ours(layout, pid) {
        run_state(pid)
    } else {
        RunState::Gone
    }
}

/// Sends `sig` to `pid` if, right before, it is still one of our JVMs; returns whether it was
/// (and so whether the signal was sent).
pub(crate) fn signal_ours(layout: &Layout, pid: u32, sig: Signal) -> Result<bool, String> {
    if !is_ours(layout, pid) {
        return Ok(false);
    }
    signal(pid, sig)?;
    Ok(true)
}

/// Whether our JVM `pid` has finished exiting: no such process, a zombie, or the PID now
/// belongs to another live process. A process in the middle of exiting has already lost its
/// command line (so it is no longer "ours") but may still hold its sockets for a moment; this
/// waits for that too, so that the ports are free once it returns true.
///
/// A JVM's main thread can turn zombie while its other threads are still exiting (and still
/// hold the process's files); a zombie counts as exited only once at most one thread is left.
pub(crate) fn has_exited(layout: &Layout, pid: u32) -> bool {
    match run_state(pid) {
        RunState::Gone => threads(pid).is_none_or(|n| n <= 1),
        _ => !is_ours(layout, pid) && !cmdline(pid).is_empty(),
    }
}

/// The `Threads:` count of `/proc/<pid>/status` (`None` if the process is gone).
fn threads(pid: u32) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_threads(&status)
}

/// The `Threads:` line of a `/proc/<pid>/status` text.
fn parse_threads(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Waits up to `limit` until our JVM `pid` is in the state `want` ([`RunState::Gone`]: see
/// [`has_exited`]). Returns whether it got there.
pub(crate) fn wait_state(layout: &Layout, pid: u32, want: RunState, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let there = match want {
            RunState::Gone => has_exited(layout, pid),
            _ => our_state(layout, pid) == want,
        };
        if there {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(50));
    }
}

/// Every live JVM of this state directory, recorded or not (e.g. a MiddleManager's peon that
/// outlived it), with its command line.
pub(crate) fn scan_ours(layout: &Layout) -> Vec<(u32, String)> {
    let marker = layout.cmdline_marker();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<(u32, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .map(|pid| (pid, cmdline(pid)))
        .filter(|(_, line)| is_our_cmdline(line, &marker))
        .collect();
    found.sort_unstable();
    found
}

/// The resident set size of a process in KiB.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sends `signal` to the process `pid` (never to a process group: 0 and PIDs that would be
/// negative as a `pid_t` are refused). A process that is already gone counts as signalled.
fn signal(pid: u32, signal: Signal) -> Result<(), String> {
    let target = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| format!("{pid} is not the PID of a single process"))?;
    match kill_process(target, signal) {
        Ok(()) | Err(Errno::SRCH) => Ok(()),
        Err(e) => Err(format!("cannot send {signal:?} to pid {pid}: {e}")),
    }
}

/// Waits until `pid` is no longer one of our JVMs, up to `limit`. Returns whether it is gone.
fn wait_gone(layout: &Layout, pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if has_exited(layout, pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(100));
    }
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The PID was not (or no longer) one of our JVMs; nothing was signalled.
    NotRunning,
    /// Exited after SIGTERM.
    Terminated,
    /// Needed SIGKILL after the grace period.
    Killed,
    /// Still alive even after SIGKILL.
    StillAlive,
}

/// Stops one of our JVMs: SIGCONT (a JVM stopped with SIGSTOP would not act on SIGTERM), SIGTERM,
/// wait up to [`TERM_GRACE`], then SIGKILL. The ownership check is repeated right before each
/// signal.
pub(crate) fn stop(layout: &Layout, pid: u32) -> Result<Stopped, String> {
    if !signal_ours(layout, pid, Signal::CONT)? {
        return Ok(Stopped::NotRunning);
    }
    if !signal_ours(layout, pid, Signal::TERM)? {
        return Ok(Stopped::NotRunning);
    }
    if wait_gone(layout, pid, TERM_GRACE) {
        return Ok(Stopped::Terminated);
    }
    if !is_ours(layout, pid) {
        return Ok(Stopped::Terminated);
    }
    signal(pid, Signal::KILL)?;
    if wait_gone(layout, pid, Duration::from_secs(5)) {
        Ok(Stopped::Killed)
    } else {
        Ok(Stopped::StillAlive)
    }
}

/// The last `lines` lines of a file (lossy UTF-8).
pub(crate) fn tail(path: &Path, lines: usize) -> Result<Vec<String>, String> {
    let raw = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&raw);
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    Ok(all[start..].iter().map(|l| (*l).to_owned()).collect())
}

/// Prints the last `lines` lines of a service log under a header.
pub(crate) fn print_tail(layout: &Layout, service: Service, lines: usize) {
    let path = layout.log(service);
    println!("----- {} (last {lines} lines) -----", path.display());
    match tail(&path, lines) {
        Ok(text) => {
            for line in text {
                println!("{line}");
            }
        }
        Err(e) => println!("({e})"),
    }
    println!("----- end of {} -----", path.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_needs_state_dir_and_main_class() {
        let marker = "/tmp/s/conf/";
        let druid = "java -cp /tmp/s/conf/_common:/tmp/s/conf/broker:/tmp/s/dist/27.0.0/lib/* \
                     org.apache.druid.cli.Main server broker";
        let zk = "java -cp /tmp/s/conf/zk:/tmp/s/dist/27.0.0/lib/* \
                  org.apache.zookeeper.server.quorum.QuorumPeerMain /tmp/s/conf/zk/zoo.cfg";
        assert!(is_our_cmdline(druid, marker));
        assert!(is_our_cmdline(zk, marker));
        assert!(!is_our_cmdline(druid, "/tmp/other/conf/"));
        assert!(!is_our_cmdline(
            "/tmp/s2/conf/ org.apache.druid.cli.Main",
            marker
        ));
        assert!(!is_our_cmdline("vim /tmp/s/conf/zk/zoo.cfg", marker));
        assert!(!is_our_cmdline("", marker));
        let derby = "java -cp /tmp/s/conf/derby:/tmp/s/dist/27.0.0/lib/* \
                     org.apache.derby.drda.NetworkServerControl start -h localhost -p 1527";
        assert!(is_our_cmdline(derby, marker));
        assert!(!is_our_cmdline(derby, "/tmp/other/conf/"));
    }

    #[test]
    fn reads_the_thread_count() {
        assert_eq!(
            parse_threads("Name:\tjava\nState:\tZ (zombie)\nThreads:\t37\n"),
            Some(37)
        );
        assert_eq!(parse_threads("Name:\tjava\n"), None);
        assert!(threads(std::process::id()).is_some_and(|n| n >= 1));
        assert_eq!(threads(i32::MAX as u32), None);
    }

    #[test]
    fn reads_the_state_letter() {
        assert_eq!(parse_stat("42 (java) S 1 42 42 0"), RunState::Running);
        assert_eq!(parse_stat("42 (java) R 1"), RunState::Running);
        assert_eq!(parse_stat("42 (java) T 1"), RunState::Stopped);
        assert_eq!(parse_stat("42 (a) b) T 1"), RunState::Stopped);
        assert_eq!(parse_stat("42 (java) Z 1"), RunState::Gone);
        assert_eq!(parse_stat(""), RunState::Gone);
        assert_eq!(run_state(std::process::id()), RunState::Running);
        assert_eq!(run_state(i32::MAX as u32), RunState::Gone);
    }

    #[test]
    fn a_stopped_child_is_seen_as_stopped_and_continues() {
        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id();
        signal(pid, Signal::STOP).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while run_state(pid) != RunState::Stopped && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        assert_eq!(run_state(pid), RunState::Stopped);
        signal(pid, Signal::CONT).unwrap();
        while run_state(pid) != RunState::Running && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        assert_eq!(run_state(pid), RunState::Running);
        // a live process that is not ours counts as gone (its PID was reused)
        let layout = Layout::new(std::path::PathBuf::from("/tmp/s"));
        assert!(has_exited(&layout, pid));
        signal(pid, Signal::KILL).unwrap();
        child.wait().unwrap();
        assert_eq!(run_state(pid), RunState::Gone);
        assert!(has_exited(&layout, pid));
    }

    #[test]
    fn signal_terminates_a_child_and_refuses_process_groups() {
        use std::os::unix::process::ExitStatusExt;

        let mut child = Command::new("sleep").arg("60").spawn().unwrap();
        signal(child.id(), Signal::TERM).unwrap();
        assert_eq!(child.wait().unwrap().signal(), Some(15));
        // 0 and anything that is negative as a pid_t would address a process group
        assert!(signal(0, Signal::TERM).is_err());
        assert!(signal(u32::MAX, Signal::TERM).is_err());
        // above pid_max: no such process, which counts as gone
        assert_eq!(signal(i32::MAX as u32, Signal::TERM), Ok(()));
    }

    #[test]
    fn the_test_process_is_not_ours() {
        let layout = Layout::new(std::env::temp_dir());
        assert!(!is_ours(&layout, std::process::id()));
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
