//! What a previous run left behind, and keeping two runs apart.
//!
//! Chrome outlives a service killed with SIGKILL (it is re-parented to PID 1) and its
//! profile stays on disk. At start the service owns its data directory exclusively (a
//! `flock` on `<data_dir>/.lock`), so every Chrome still using a profile under it, and every
//! profile and scratch directory there, is a leftover: killed and removed, and logged.

use anyhow::Context;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held for the life of the service: another instance on the same data directory fails.
pub struct DataDirLock {
    _file: File,
}

pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(".lock");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    anyhow::ensure!(
        locked,
        "another emodal-api is running with data directory {}; give each instance its own chrome.data_dir",
        data_dir.display()
    );
    Ok(DataDirLock { _file: file })
}

#[derive(Debug, Default, PartialEq)]
pub struct Cleaned {
    pub processes_killed: usize,
    pub directories_removed: usize,
}

/// Kill every process using a profile under `profiles_dir` and remove every profile and
/// its scratch directory.
pub fn clean_leftovers(profiles_dir: &Path) -> Cleaned {
    let mut cleaned = Cleaned {
        processes_killed: kill_processes_with(&format!(
            "--user-data-dir={}/",
            profiles_dir.display()
        )),
        directories_removed: 0,
    };
    let profiles: Vec<PathBuf> = match std::fs::read_dir(profiles_dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(_) => Vec::new(),
    };
    for profile in profiles {
        for dir in [crate::portal::scratch_dir(&profile), profile] {
            if dir.exists() && std::fs::remove_dir_all(&dir).is_ok() {
                cleaned.directories_removed += 1;
            }
        }
    }
    cleaned
}

/// SIGKILL every live process whose command line contains `needle`, and every process
/// below it, and wait (at most 5 s) until none is left; returns how many were signalled.
pub fn kill_processes_with(needle: &str) -> usize {
    let mut killed = 0;
    // With their children: the headless shell's zygotes and renderers do not carry the
    // browser's flags, and one left alive after its browser writes into the profile while it
    // is being removed (taken before any kill: an orphan's parent is no longer the browser).
    let targets = crate::metrics::process_trees(&processes_with(needle));
    for pid in targets.iter().copied() {
        // SAFETY: sending a signal has no memory-safety preconditions.
        if unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0 {
            killed += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let any_alive = || targets.iter().any(|p| crate::portal::process_alive(*p));
    while (any_alive() || !processes_with(needle).is_empty()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    killed
}

/// Live (not zombie) processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(needle)
                })
                .unwrap_or(false)
                && crate::portal::process_alive(*pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instance_per_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_data_dir(dir.path()).unwrap();
        assert!(lock_data_dir(dir.path()).is_err());
        drop(first);
        assert!(lock_data_dir(dir.path()).is_ok());
    }

    #[test]
    fn removes_left_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let profiles = dir.path().join("profiles");
        std::fs::create_dir_all(profiles.join("session_abc-0/Default")).unwrap();
        let cleaned = clean_leftovers(&profiles);
        assert_eq!(cleaned.directories_removed, 1);
        assert_eq!(cleaned.processes_killed, 0);
        assert!(std::fs::read_dir(&profiles).unwrap().next().is_none());
    }
}
