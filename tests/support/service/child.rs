//! The harness's child processes: ports, signals, exits.

use std::process::Child;
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn signal(child: &Child, signal: i32) {
    // SAFETY: a plain kill(2) on a child this harness started and has not reaped.
    unsafe { libc::kill(child.id() as i32, signal) };
}

/// Poll for the child's exit; its exit code (None: killed by a signal).
pub async fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            start.elapsed() < limit,
            "process {} did not exit within {limit:?}",
            child.id()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A failing test must not leave a process behind: SIGTERM, a grace period, then SIGKILL.
pub fn stop(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        signal(child, libc::SIGTERM);
        let start = Instant::now();
        while child.try_wait().ok().flatten().is_none() && start.elapsed() < Duration::from_secs(15)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
