//! Child processes for functions and jobs: a time limit, a memory limit on the whole process
//! tree, a cap on the output, stderr to the log, and nothing left running when they end.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) argv: Vec<String>,
    pub(crate) dir: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) memory_bytes: Option<u64>,
    pub(crate) max_output: usize,
    /// Names the process in log lines: `function NAME` or `job NAME`.
    pub(crate) label: String,
    /// The execution and state it works for, in log lines.
    pub(crate) execution: String,
    pub(crate) state: String,
}

/// How a process ended.
#[derive(Debug)]
pub(crate) enum End {
    /// It exited (`code` is `None` when a signal ended it).
    Exited { code: Option<i32>, stdout: Vec<u8> },
    /// It ran past its time limit and was stopped.
    TimedOut,
    /// Its process tree used more memory than allowed and was stopped.
    OutOfMemory,
    /// It wrote more than the allowed output and was stopped.
    OutputTooLarge,
    /// It could not be started.
    SpawnFailed(String),
}

/// Kills a process group when dropped, unless disarmed: a cancelled task leaves nothing behind.
pub(crate) struct GroupGuard(Option<u32>);

impl GroupGuard {
    pub(crate) fn new(pid: Option<u32>) -> Self {
        GroupGuard(pid)
    }
    pub(crate) fn kill(&mut self) {
        if let Some(pid) = self.0.take() {
            kill_group(pid);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Starts `spec` in its own process group with piped stdio.
pub(crate) fn spawn(spec: &Spec) -> Result<Child, String> {
    let (program, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| "the command is empty".to_owned())?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    command
        .spawn()
        .map_err(|e| format!("cannot start {program:?} in {}: {e}", spec.dir.display()))
}

/// Logs each stderr line of a process.
pub(crate) fn log_stderr(
    stderr: impl AsyncRead + Unpin + Send + 'static,
    label: String,
    execution: String,
    state: String,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(target: "aslan::task", execution = %execution, state = %state, "{label}: {line}");
        }
    });
}

/// Runs a process to its end: `input` on stdin, stdout collected.
pub(crate) async fn run(spec: &Spec, input: Vec<u8>) -> End {
    let mut child = match spawn(spec) {
        Ok(child) => child,
        Err(e) => return End::SpawnFailed(e),
    };
    let mut guard = GroupGuard::new(child.id());
    let pid = child.id();
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
            let _ = stdin.shutdown().await;
        });
    }
    if let Some(stderr) = child.stderr.take() {
        log_stderr(
            stderr,
            spec.label.clone(),
            spec.execution.clone(),
            spec.state.clone(),
        );
    }
    let Some(stdout) = child.stdout.take() else {
        return End::SpawnFailed("no stdout".into());
    };
    let max_output = spec.max_output;
    let work = async {
        let mut stdout = stdout;
        let mut collected = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match stdout.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if collected.len() + n > max_output {
                        return End::OutputTooLarge;
                    }
                    collected.extend_from_slice(&chunk[..n]);
                }
            }
        }
        let status = child.wait().await;
        End::Exited {
            code: status.ok().and_then(|s| s.code()),
            stdout: collected,
        }
    };
    let end = tokio::select! {
        end = work => end,
        () = tokio::time::sleep(spec.timeout) => End::TimedOut,
        () = watch_memory(pid, spec.memory_bytes) => End::OutOfMemory,
    };
    // Whatever the leader did, its group goes with it (helpers it started included).
    guard.kill();
    end
}

/// Resolves when the process group of `pid` uses more than `limit` bytes of resident memory.
pub(crate) async fn watch_memory(pid: Option<u32>, limit: Option<u64>) {
    let (Some(pid), Some(limit)) = (pid, limit) else {
        return std::future::pending().await;
    };
    let mut interval = tokio::time::interval(Duration::from_millis(50));
    loop {
        interval.tick().await;
        if group_rss(pid) > limit {
            return;
        }
    }
}

/// Resident memory of every process in the group `pgid`, bytes (Linux: `/proc`; elsewhere 0).
pub(crate) fn group_rss(pgid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let page = 4096u64;
    let mut total = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) in parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // rest: state ppid pgrp session ... ; rss is field 24 overall, index 21 here.
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) != Some(pgid) {
            continue;
        }
        if let Some(rss) = fields.get(21).and_then(|r| r.parse::<u64>().ok()) {
            total += rss * page;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv: &[&str]) -> Spec {
        Spec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            dir: PathBuf::from("."),
            env: vec![],
            timeout: Duration::from_secs(10),
            memory_bytes: None,
            max_output: 1024,
            label: "test".into(),
            execution: "e".into(),
            state: "s".into(),
        }
    }

    #[tokio::test]
    async fn stdin_to_stdout_and_exit_codes() {
        match run(&spec(&["cat"]), b"{\"a\":1}".to_vec()).await {
            End::Exited { code, stdout } => {
                assert_eq!(code, Some(0));
                assert_eq!(stdout, b"{\"a\":1}");
            }
            other => panic!("{other:?}"),
        }
        match run(&spec(&["sh", "-c", "exit 3"]), vec![]).await {
            End::Exited { code, .. } => assert_eq!(code, Some(3)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(&spec(&["/nonexistent/program"]), vec![]).await,
            End::SpawnFailed(_)
        ));
    }

    #[tokio::test]
    async fn limits_stop_the_whole_group() {
        let mut slow = spec(&["sh", "-c", "sleep 30 & sleep 30"]);
        slow.timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        assert!(matches!(run(&slow, vec![]).await, End::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(5));

        let chatty = spec(&["sh", "-c", "yes"]);
        assert!(matches!(run(&chatty, vec![]).await, End::OutputTooLarge));

        let mut hungry = spec(&[
            "python3",
            "-c",
            "import time\nx = bytearray(200 * 1024 * 1024)\nx[::4096] = b'1' * len(x[::4096])\ntime.sleep(30)",
        ]);
        hungry.memory_bytes = Some(64 * 1024 * 1024);
        assert!(matches!(run(&hungry, vec![]).await, End::OutOfMemory));
    }
}
