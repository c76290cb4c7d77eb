//! Memory from `/proc`: the summed PSS of a Chrome's process tree (what one session really
//! costs: its renderer, GPU and utility processes share pages, and PSS splits them fairly),
//! and the service's own RSS. Reading every session's tree walks `/proc`, so the result is
//! kept for 30 s: a scrape every few seconds costs nothing most of the time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(30);

/// When the last sample was taken, of which browsers, and its (total, largest).
type Sample = (Instant, Vec<u32>, (u64, u64));

/// (total, largest session) over `roots`, at most 30 s old.
pub fn sessions_pss(roots: &[u32]) -> (u64, u64) {
    static CACHE: Mutex<Option<Sample>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let mut key = roots.to_vec();
    key.sort_unstable();
    if let Some((at, seen, value)) = cache.as_ref()
        && at.elapsed() < EVERY
        && *seen == key
    {
        return *value;
    }
    let children = children_by_parent();
    let per_session: Vec<u64> = key
        .iter()
        .map(|root| tree(&children, *root).iter().filter_map(|p| pss(*p)).sum())
        .collect();
    let value = (
        per_session.iter().sum(),
        per_session.iter().copied().max().unwrap_or(0),
    );
    *cache = Some((Instant::now(), key, value));
    value
}

/// Summed PSS in bytes of `root` and every process below it.
pub fn tree_pss(root: u32) -> u64 {
    let children = children_by_parent();
    tree(&children, root).iter().filter_map(|p| pss(*p)).sum()
}

/// The service's resident set in bytes.
pub fn own_rss() -> Option<u64> {
    kb_field("/proc/self/status", "VmRSS:")
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
}
