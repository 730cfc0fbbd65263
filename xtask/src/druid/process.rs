//! Starting, finding and stopping the cluster's JVMs, by PID only.
//!
//! A JVM is "ours" when `/proc/<pid>/cmdline` contains `<state>/conf/` (every class path
//! starts there) and the main class of a Druid service or of ZooKeeper. That check runs before
//! every signal, so a PID that was reused by an unrelated process is never signalled.

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

/// Starts `program args...` detached from the xtask: its own process group (so Ctrl-C in the
/// terminal does not reach it), stdin from /dev/null, stdout and stderr into `log`, working
/// directory `cwd`. It keeps running when the xtask exits.
pub(crate) fn spawn_detached(
    program: &Path,
    args: &[String],
    cwd: &Path,
    log: &Path,
) -> Result<Child, String> {
    let stdout =
        fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
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
    cmdline.contains(marker)
        && (cmdline.contains("org.apache.druid.cli.Main") || cmdline.contains("QuorumPeerMain"))
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
        if !is_ours(layout, pid) {
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

/// Stops one of our JVMs: SIGTERM, wait up to [`TERM_GRACE`], then SIGKILL. The ownership
/// check is repeated right before each signal.
pub(crate) fn stop(layout: &Layout, pid: u32) -> Result<Stopped, String> {
    if !is_ours(layout, pid) {
        return Ok(Stopped::NotRunning);
    }
    signal(pid, Signal::TERM)?;
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
