//! Memory from `/proc`: the summed PSS of a Chrome's process tree (what one session really
//! costs: its renderer, GPU and utility processes share pages, and PSS splits them fairly),
//! and the service's own RSS.
//!
//! PSS is dear to read: the kernel walks every mapping of the process for `smaps_rollup`,
//! and a Chrome has many. With 50 sessions (some 450 processes) one pass takes over a second
//! of CPU, which a scrape must not wait for. So a sampler thread of its own keeps a number
//! per browser: every browser every 30 s, and a new browser within a second of its launch
//! (it watches the service's child processes, which the browsers are), then every 5 s while
//! it is young and still growing. A scrape only adds up
//! the cached numbers of the browsers it names. The thread starts with the first scrape, so
//! a service nobody scrapes never pays for it; that first scrape waits for the first pass.

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Every browser's tree is sampled again this often.
const EVERY: Duration = Duration::from_secs(30);
/// How often the sampler looks for new browsers among the service's children.
const WATCH: Duration = Duration::from_secs(1);
/// A browser's tree grows for a while after its launch (pages, renderers): a young one is
/// sampled again this often, until it is `YOUNG` old, so its first number is not kept 30 s.
const YOUNG: Duration = Duration::from_secs(20);
const YOUNG_EVERY: Duration = Duration::from_secs(5);
/// The first scrape waits at most this long for the first pass.
const FIRST_PASS_WAIT: Duration = Duration::from_secs(10);

/// (total, largest session) over the browsers `roots`, from the sampler's cache. A browser
/// the sampler has not seen yet is left out, and sampled at once for the next scrape.
pub fn sessions_pss(roots: &[u32]) -> (u64, u64) {
    let sampler = Sampler::get();
    let mut state = sampler.lock();
    if state.passes == 0 {
        state = sampler
            .changed
            .wait_timeout_while(state, FIRST_PASS_WAIT, |s| s.passes == 0)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    let mut seen = HashSet::new();
    let mut per_session = Vec::with_capacity(roots.len());
    for root in roots.iter().filter(|r| **r != 0 && seen.insert(**r)) {
        match state.pss.get(root) {
            Some(s) => per_session.push(s.pss),
            None if !state.absent.contains(root) => state.asked.push(*root),
            None => {}
        }
    }
    if !state.asked.is_empty() {
        sampler.wake.notify_one();
    }
    (
        per_session.iter().sum(),
        per_session.iter().copied().max().unwrap_or(0),
    )
}

/// Summed PSS in bytes of `root` and every process below it, read now.
pub fn tree_pss(root: u32) -> u64 {
    let children = children_by_parent();
    tree(&children, root).iter().filter_map(|p| pss(*p)).sum()
}

/// The service's resident set in bytes.
pub fn own_rss() -> Option<u64> {
    kb_field("/proc/self/status", "VmRSS:")
}

/// The process's one sampler: its cache, and the thread that fills it.
struct Sampler {
    state: Mutex<State>,
    /// The sampler waits on this: a scrape named a browser with no sample.
    wake: Condvar,
    /// Scrapes wait on this for the first pass.
    changed: Condvar,
}

struct Sample {
    /// Summed PSS of the browser's tree, in bytes.
    pss: u64,
    first: Instant,
    at: Instant,
}

impl Sample {
    /// Young and not sampled for a while.
    fn due(&self) -> bool {
        self.at - self.first < YOUNG && self.at.elapsed() >= YOUNG_EVERY
    }
}

#[derive(Default)]
struct State {
    /// Each browser's last sample, by the browser's pid.
    pss: HashMap<u32, Sample>,
    /// Browsers a scrape named that have no sample yet.
    asked: Vec<u32>,
    /// Named, but no process to sample (a browser that just exited): not asked for again
    /// until the next full pass, so a stale name cannot make every scrape start a pass.
    absent: HashSet<u32>,
    /// Passes completed (a full pass or the sampling of new browsers).
    passes: u64,
}

impl Sampler {
    /// The sampler, its thread started on first use.
    fn get() -> &'static Sampler {
        static SAMPLER: OnceLock<Sampler> = OnceLock::new();
        let mut first = false;
        let sampler = SAMPLER.get_or_init(|| {
            first = true;
            Sampler {
                state: Mutex::default(),
                wake: Condvar::new(),
                changed: Condvar::new(),
            }
        });
        if first {
            let spawned = std::thread::Builder::new()
                .name("memory-sampler".into())
                .spawn(|| sampler.run());
            if let Err(e) = spawned {
                // Then every scrape shows 0 after its wait; the service goes on.
                tracing::warn!(error = %e, "could not start the memory sampler");
            }
        }
        sampler
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        // A pass is a second of CPU with 50 sessions: at the lowest priority (Linux keeps
        // niceness per thread), requests on the same cores go first.
        // SAFETY: plain syscalls on this thread's own id.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 19);
        }
        let mut last_full: Option<Instant> = None;
        loop {
            let children = own_children();
            let asked = std::mem::take(&mut self.lock().asked);
            let full = last_full.is_none_or(|t| t.elapsed() >= EVERY);
            // Browsers with a sample that is not due yet.
            let known: HashSet<u32> = self
                .lock()
                .pss
                .iter()
                .filter(|(_, s)| !s.due())
                .map(|(root, _)| *root)
                .collect();
            let todo: Vec<u32> = match &children {
                Some(c) if full => c.iter().chain(&asked).copied().collect(),
                Some(c) => c
                    .iter()
                    .chain(&asked)
                    .filter(|r| !known.contains(r))
                    .copied()
                    .collect(),
                // Without per-thread children files: the browsers scrapes named, and those
                // already known when their 30 s are up.
                None if full => {
                    let all = self.lock().pss.keys().copied().collect::<Vec<_>>();
                    all.into_iter().chain(asked.iter().copied()).collect()
                }
                None => {
                    let young = self
                        .lock()
                        .pss
                        .iter()
                        .filter(|(_, s)| s.due())
                        .map(|(r, _)| *r)
                        .collect::<Vec<_>>();
                    asked
                        .iter()
                        .filter(|r| !known.contains(r))
                        .copied()
                        .chain(young)
                        .collect()
                }
            };
            let todo: Vec<u32> = todo
                .into_iter()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let sampled = if todo.is_empty() && !full {
                None
            } else {
                let map = children_by_parent();
                Some(
                    todo.iter()
                        .map(|root| (*root, tree_pss_in(&map, *root)))
                        .collect::<Vec<_>>(),
                )
            };
            if let Some(sampled) = sampled {
                let mut state = self.lock();
                // Forget browsers that have exited.
                state
                    .pss
                    .retain(|root, _| std::path::Path::new(&format!("/proc/{root}")).exists());
                if full {
                    state.absent.clear();
                }
                for (root, pss) in sampled {
                    // A browser gone before its sample is not a session's memory.
                    if pss > 0 {
                        let now = Instant::now();
                        let first = state.pss.get(&root).map_or(now, |s| s.first);
                        state.pss.insert(
                            root,
                            Sample {
                                pss,
                                first,
                                at: now,
                            },
                        );
                    } else {
                        state.absent.insert(root);
                    }
                }
                state.passes += 1;
                drop(state);
                self.changed.notify_all();
                if full {
                    last_full = Some(Instant::now());
                }
            }
            let state = self.lock();
            if state.asked.is_empty() {
                let _ = self.wake.wait_timeout(state, WATCH);
            }
        }
    }
}

/// The service's direct children (every browser is one), from the per-thread `children`
/// files; `None` where the kernel does not provide them.
fn own_children() -> Option<Vec<u32>> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut out = Vec::new();
    let mut any = false;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        any = true;
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    any.then_some(out)
}

/// `roots` and every process below them, as `/proc` shows them now.
pub fn process_trees(roots: &[u32]) -> Vec<u32> {
    let children = children_by_parent();
    let mut out: Vec<u32> = roots.iter().flat_map(|r| tree(&children, *r)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn tree_pss_in(children: &HashMap<u32, Vec<u32>>, root: u32) -> u64 {
    tree(children, root).iter().filter_map(|p| pss(*p)).sum()
}

fn tree(children: &HashMap<u32, Vec<u32>>, root: u32) -> Vec<u32> {
    if root == 0 {
        return Vec::new();
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            out.extend(kids);
        }
        i += 1;
    }
    out
}

fn children_by_parent() -> HashMap<u32, Vec<u32>> {
    let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent follows the state, after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            map.entry(ppid).or_default().push(pid);
        }
    }
    map
}

fn pss(pid: u32) -> Option<u64> {
    kb_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

fn kb_field(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_memory() {
        let me = std::process::id();
        assert!(own_rss().unwrap() > 0);
        assert!(tree_pss(me) > 0);
        assert_eq!(tree_pss(0), 0);
    }

    /// A child process is sampled by the thread, and a scrape naming it then finds it in the
    /// cache; a pid that is not a running process never counts.
    #[test]
    fn the_sampler_finds_a_child_and_forgets_nothing_alive() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let found = loop {
            let (total, max) = sessions_pss(&[pid, u32::MAX - 1]);
            if total > 0 {
                break (total, max);
            }
            assert!(Instant::now() < deadline, "no sample of the child in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(found.0, found.1, "one tree: total and largest are the same");
        let _ = child.kill();
        let _ = child.wait();
    }
}
