//! How the live-node view ages heartbeats (see `nodes.rs` for which clock dates them).
//!
//! A node is dead when its heartbeat is `cluster.node_timeout` older than the newest
//! heartbeat this node has seen (any node's, its own included), not than this node's
//! clock. When the heartbeats stop reaching this node for a reason that is not
//! the other nodes' (the watch's consumer lived on a NATS server that died and is not
//! re-created until JetStream elects a new meta leader; the `nodes` stream itself has no
//! leader for a while, so no heartbeat is stored at all), every record stops advancing
//! together and nobody looks dead: measured against the clock, every other node would
//! look dead after `node_timeout` and its sessions would be taken over from a node that
//! is fine. A node that really died stops advancing while the others go on.
//!
//! When the heartbeats come again after such a silence, they do not all come at once: the
//! first one (often this node's own) would put every other node `node_timeout` behind for
//! the few milliseconds until theirs arrive. So for `node_timeout` after a silence (no
//! heartbeat arrived for a few beats, by this node's clock) nobody turns dead either.

use super::NodeRecord;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub(super) record: NodeRecord,
    /// When the NATS server stored it, ms since the Unix epoch.
    pub(super) written_at_ms: u64,
}

/// When the last heartbeat arrived, and when the first one after a silence did (this
/// node's clock).
#[derive(Default)]
pub(super) struct Arrivals {
    last: Option<Instant>,
    resumed: Option<Instant>,
}

impl Arrivals {
    pub(super) fn arrived(&mut self, now: Instant, silence: Duration) {
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) > silence)
        {
            self.resumed = Some(now);
        }
        self.last = Some(now);
    }

    pub(super) fn resumed_within(&self, now: Instant, timeout: Duration) -> bool {
        self.resumed
            .is_some_and(|at| now.saturating_duration_since(at) < timeout)
    }
}

pub(super) fn fresh(seen: &Seen, now_ms: u64, timeout_ms: u64) -> bool {
    now_ms.saturating_sub(seen.written_at_ms) < timeout_ms
}

/// When the newest heartbeat seen was stored (the "now" ages are measured against).
pub(super) fn newest_ms(seen: &HashMap<String, Seen>) -> u64 {
    seen.values().map(|s| s.written_at_ms).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str) -> NodeRecord {
        NodeRecord {
            node_id: id.into(),
            advertise_url: String::new(),
            heartbeat_at_ms: 0,
            started_at_ms: 0,
            sessions: 0,
            capacity: 10,
            spares: 0,
            live_browsers: 0,
            mem_available_kb: 0,
            cpu_load: 0.0,
            draining: false,
        }
    }

    #[test]
    fn a_view_that_stands_still_has_nobody_dead_one_that_goes_on_without_a_node_has_it_dead() {
        let view = |at: &[(&str, u64)]| -> Vec<String> {
            let seen: HashMap<String, Seen> = at
                .iter()
                .map(|&(id, ms)| {
                    let record = node(id);
                    (
                        id.to_string(),
                        Seen {
                            record,
                            written_at_ms: ms,
                        },
                    )
                })
                .collect();
            let newest = newest_ms(&seen);
            let mut dead: Vec<String> = seen
                .iter()
                .filter(|(_, s)| !fresh(s, newest, 10_000))
                .map(|(id, _)| id.clone())
                .collect();
            dead.sort();
            dead
        };
        // No heartbeat reaches this node any more (all last seen long ago): nobody dead.
        assert!(view(&[("a", 1_000), ("b", 1_200), ("c", 1_400)]).is_empty());
        // a and b went on for 12 s without c: c is dead, b (2.5 s behind a) is not.
        assert_eq!(view(&[("a", 13_400), ("b", 10_900), ("c", 1_400)]), ["c"]);
    }

    #[test]
    fn heartbeats_coming_again_after_a_silence_start_a_grace() {
        let (t0, ms) = (Instant::now(), Duration::from_millis);
        let mut arrivals = Arrivals::default();
        for i in 0..10 {
            arrivals.arrived(t0 + ms(200 * i), ms(900));
        }
        assert!(!arrivals.resumed_within(t0 + ms(2_000), ms(10_000)));
        // 7 s without any (a NATS server died): the first one after starts the grace.
        arrivals.arrived(t0 + ms(9_000), ms(900));
        assert!(arrivals.resumed_within(t0 + ms(18_000), ms(10_000)));
        assert!(!arrivals.resumed_within(t0 + ms(19_000), ms(10_000)));
    }
}
