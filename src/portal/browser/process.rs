//! Chrome's process as the operating system sees it: alive or not (`/proc`), exited (a
//! pidfd), killed. Plain process calls with no browser in them, so the liveness check, the
//! cleanup at start and `/sessions/{id}`'s memory figure use them too.

/// Resolves when process `pid` exits, at once (a Linux pidfd becomes readable then), so a
/// killed Chrome is noticed in milliseconds rather than at the next liveness check. Where
/// pidfds are unavailable it never resolves, and the periodic check still notices.
pub async fn wait_exit(pid: u32) {
    use std::os::fd::{FromRawFd, OwnedFd};
    if pid == 0 {
        return std::future::pending().await;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
            return; // Already gone.
        }
        return std::future::pending().await;
    }
    // SAFETY: the descriptor was just returned to us and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the AsyncFd owns the descriptor and nothing else closes or replaces it.
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
    };
    match registered {
        Ok(watch) => {
            let _ = watch.readable().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// A process is alive when `/proc/<pid>` exists and it is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name, which may contain spaces.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // Anything else (too many open files, say) is our own trouble, not a dead Chrome:
        // restarting sessions would only make it worse.
        Err(_) => true,
    }
}

pub(crate) fn kill(pid: u32) {
    if pid != 0 && process_alive(pid) {
        // SAFETY: sending a signal has no memory-safety preconditions.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}
