//! What the browser thread is doing now, readable from any thread: the step's text and, for
//! the long loops (grid scroll, list scroll, wizard steps), how far along it is.
//!
//! The browser thread writes it; `GET /sessions/{id}` reads it and the session's progress
//! watcher waits for it to move (to publish `operation_progress` on `/events`). Writes are a
//! short lock and a notify, so reporting a count costs the driver nothing measurable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The page's side: the driver names its steps and counts its loops; each change is
/// published at once.
impl super::Page {
    /// Rename the current step, keeping the job's deadline.
    pub fn step(&mut self, step: &str) {
        self.step = step.to_string();
        self.show_progress();
    }

    pub(super) fn show_progress(&self) {
        let numbered = self
            .wizard_steps
            .and_then(|total| wizard_step(&self.step, total));
        self.progress
            .set(numbered.unwrap_or_else(|| ProgressNow::plain(&self.step)));
    }

    /// Show how far the current step's loop is (`text` is what operators read, counts
    /// included), keeping the step's name for errors.
    pub fn count(&self, text: String, done: u64, total: Option<u64>, unit: &'static str) {
        self.progress
            .set(ProgressNow::counted(text, done, total, unit));
    }

    /// From now until the job ends, show the wizard's steps ("wizard step 2: ...") as
    /// "wizard step 2 of `total`: ...".
    pub fn number_wizard_steps(&mut self, total: u32) {
        self.wizard_steps = Some(total);
        self.show_progress();
    }
}

/// A browser's current step, shared with whoever wants to show it. Cloning shares it.
#[derive(Clone, Default)]
pub struct Progress(Arc<Shared>);

#[derive(Default)]
struct Shared {
    now: Mutex<ProgressNow>,
    /// Bumped on every change, so a reader can tell that something moved without comparing.
    changes: AtomicU64,
    /// Wakes a watcher (a tokio task) from the browser thread, which is no tokio thread.
    changed: tokio::sync::Notify,
}

/// One reading of the progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressNow {
    /// Readable, counts included ("scrolled 75 of 120 rows", "wizard step 2 of 4: PIN").
    pub step: String,
    /// How many `unit`s are done, when the step counts something.
    pub done: Option<u64>,
    /// How many there are in all, when that is known (a requested count, the wizard's steps).
    pub total: Option<u64>,
    /// What is counted: "rows", "steps".
    pub unit: Option<&'static str>,
}

impl ProgressNow {
    /// A step that counts nothing.
    pub fn plain(step: &str) -> ProgressNow {
        ProgressNow {
            step: step.to_string(),
            ..ProgressNow::default()
        }
    }

    /// A step that counts `done` of `total` `unit`s.
    pub fn counted(step: String, done: u64, total: Option<u64>, unit: &'static str) -> ProgressNow {
        ProgressNow {
            step,
            done: Some(done),
            total,
            unit: Some(unit),
        }
    }
}

impl Progress {
    fn lock(&self) -> MutexGuard<'_, ProgressNow> {
        // Plain data: a panic while it was held cannot leave it half-written in a way
        // that matters to a reader.
        self.0.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What it says now (a copy: the lock is not held while the caller uses it).
    pub fn now(&self) -> ProgressNow {
        self.lock().clone()
    }

    /// How many times it changed since it was made.
    pub fn changes(&self) -> u64 {
        self.0.changes.load(Ordering::SeqCst)
    }

    /// Wait until it changes after this call's first poll, or until it changed since the
    /// last wait ended (one change is remembered, so none is lost between two waits).
    pub async fn changed(&self) {
        self.0.changed.notified().await;
    }

    /// Replace it; nothing happens (no change counted, no watcher woken) when it is the same.
    pub fn set(&self, next: ProgressNow) {
        {
            let mut now = self.lock();
            if *now == next {
                return;
            }
            *now = next;
        }
        self.0.changes.fetch_add(1, Ordering::SeqCst);
        self.0.changed.notify_one();
    }
}

/// The wizard's step texts ("wizard step 2: PIN") numbered out of `total`
/// ("wizard step 2 of 4: PIN"); `None` for a text that names no step.
pub(super) fn wizard_step(text: &str, total: u32) -> Option<ProgressNow> {
    let rest = text.strip_prefix("wizard step ")?;
    let (n, what) = rest.split_once(':')?;
    let n: u32 = n.trim().parse().ok()?;
    Some(ProgressNow::counted(
        format!("wizard step {n} of {total}:{what}"),
        n.into(),
        Some(total.into()),
        "steps",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_counted_once_and_wakes_a_watcher() {
        let p = Progress::default();
        assert_eq!(p.changes(), 0);
        p.set(ProgressNow::plain("open containers page"));
        p.set(ProgressNow::plain("open containers page"));
        assert_eq!(p.changes(), 1, "the same reading twice is no change");
        p.set(ProgressNow::counted(
            "scrolled 75 of 120 rows".into(),
            75,
            Some(120),
            "rows",
        ));
        assert_eq!(p.changes(), 2);
        let now = p.clone().now();
        assert_eq!(now.step, "scrolled 75 of 120 rows");
        assert_eq!(
            (now.done, now.total, now.unit),
            (Some(75), Some(120), Some("rows"))
        );
        // The change made before anyone waited is remembered.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), p.changed())
                .await
                .expect("a remembered change");
        });
    }

    #[test]
    fn wizard_steps_are_numbered_out_of_the_total() {
        let got = wizard_step("wizard step 2: truck plate", 4).unwrap();
        assert_eq!(got.step, "wizard step 2 of 4: truck plate");
        assert_eq!(
            (got.done, got.total, got.unit),
            (Some(2), Some(4), Some("steps"))
        );
        assert_eq!(wizard_step("open appointment wizard", 4), None);
        assert_eq!(wizard_step("wizard: outcome of submit", 4), None);
    }
}
