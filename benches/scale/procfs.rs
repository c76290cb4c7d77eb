//! What the scale run reads from `/proc`: process trees, memory (RSS, PSS, MemAvailable)
//! and CPU ticks. The shared bench harness (`processes.rs`) needs `processes`, `cmdline`,
//! `our_tree` and `signal` at the crate root; `scale.rs` re-exports them from here.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

pub struct Proc {
    pub pid: u32,
    ppid: u32,
    comm: String,
    /// utime + stime, in clock ticks.
    ticks: u64,
}

pub fn processes() -> Vec<Proc> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if f.len() < 13 || f[0] == "Z" {
            continue;
        }
        let num = |i: usize| f[i].parse::<u64>().unwrap_or(0);
        out.push(Proc {
            pid,
            ppid: num(1) as u32,
            comm,
            ticks: num(11) + num(12),
        });
    }
    out
}

pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// A process's `TMPDIR` (each Chrome gets a scratch one of its own).
fn tmpdir(pid: u32) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(b"TMPDIR="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The Chrome processes of a data directory: every process whose command line names a path
/// under `dir`, the descendants of those and of `roots`, and every Chrome sharing the
/// `TMPDIR` of one of them (crashpad handlers are re-parented to init and name neither).
pub fn our_tree(roots: &[u32], dir: &Path) -> Vec<u32> {
    let all = processes();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for p in &all {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let needle = dir.display().to_string();
    let mut set: HashSet<u32> = all
        .iter()
        .filter(|p| !roots.contains(&p.pid) && cmdline(p.pid).contains(&needle))
        .map(|p| p.pid)
        .collect();
    // The headless shell gives its children neither the profile path nor its environment:
    // they are found as descendants.
    let mut stack: Vec<u32> = roots.iter().chain(set.iter()).copied().collect();
    while let Some(pid) = stack.pop() {
        for &c in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            if set.insert(c) {
                stack.push(c);
            }
        }
    }
    let scratch: HashSet<String> = all
        .iter()
        .filter(|p| set.contains(&p.pid) && p.comm.starts_with("chrom"))
        .filter_map(|p| tmpdir(p.pid))
        .collect();
    for p in &all {
        if p.comm.starts_with("chrom") && tmpdir(p.pid).is_some_and(|t| scratch.contains(&t)) {
            set.insert(p.pid);
        }
    }
    let mut v: Vec<u32> = set.into_iter().collect();
    v.sort_unstable();
    v
}

/// The browser (top-level) processes among `pids`: no `--type=` on their command line.
pub fn browsers(pids: &[u32]) -> usize {
    pids.iter()
        .filter(|&&p| {
            let line = cmdline(p);
            !line.is_empty() && line.contains("--remote-debugging") && !line.contains("--type=")
        })
        .count()
}

/// The process whose command line contains every one of `needles` (the service, found by
/// its `--config` path).
pub fn find(needles: &[&str]) -> Option<u32> {
    let me = std::process::id();
    processes().into_iter().map(|p| p.pid).find(|&pid| {
        let line = cmdline(pid);
        pid != me && needles.iter().all(|n| line.contains(n))
    })
}

/// A `kB` field of a `/proc` file, in bytes.
fn kb_field(path: &str, field: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        let kb: f64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024.0)
    })
}

/// MemAvailable averaged over a few reads a little apart, to smooth the page cache's jitter.
pub async fn mem_available_settled() -> f64 {
    let mut sum = 0.0;
    for _ in 0..5 {
        sum += kb_field("/proc/meminfo", "MemAvailable").unwrap_or(f64::NAN);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sum / 5.0
}

pub fn rss(pid: u32) -> f64 {
    kb_field(&format!("/proc/{pid}/status"), "VmRSS").unwrap_or(f64::NAN)
}

pub fn pss_sum(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|p| kb_field(&format!("/proc/{p}/smaps_rollup"), "Pss").unwrap_or(0.0))
        .sum()
}

pub fn ticks_of(pids: &[u32]) -> HashMap<u32, u64> {
    let wanted: HashSet<u32> = pids.iter().copied().collect();
    processes()
        .into_iter()
        .filter(|p| wanted.contains(&p.pid))
        .map(|p| (p.pid, p.ticks))
        .collect()
}

/// CPU seconds spent between two readings (a process born in between counts whole).
pub fn cpu_seconds(before: &HashMap<u32, u64>, after: &HashMap<u32, u64>) -> f64 {
    let ticks: u64 = after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks as f64 / if hz > 0 { hz as f64 } else { 100.0 }
}

pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: sending a signal has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// The executable of the first browser process among `pids` (which Chromium ran).
pub fn browser_exe(pids: &[u32]) -> Option<String> {
    pids.iter().find_map(|&p| {
        let line = cmdline(p);
        if line.contains("--remote-debugging") && !line.contains("--type=") {
            std::fs::read_link(format!("/proc/{p}/exe"))
                .ok()
                .map(|e| e.display().to_string())
        } else {
            None
        }
    })
}
