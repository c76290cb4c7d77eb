//! An operation's progress on `/events`: while a long operation runs, each change of its
//! browser's step (a new step, more rows loaded) becomes an `operation_progress` event, at
//! most one a second, so a client watching the feed sees "scrolled 75 of 120 rows" move.
//!
//! The event is at DEBUG under its own target: the event feed lets that target through at
//! DEBUG (`telemetry::events`), the log's filter does not, so a busy service's log stays one
//! line per request while `/events` shows the counts.

use crate::portal::Progress;
use std::time::Duration;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// At most one event per this long per operation.
const EVERY: Duration = Duration::from_secs(1);

/// The watch of one operation; dropping it ends the watch.
pub(super) struct ProgressWatch(JoinHandle<()>);

impl Drop for ProgressWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Publish `progress`'s changes as `operation_progress` events about `session_id`'s
/// `operation` until the returned watch is dropped.
pub(super) fn watch(
    session_id: String,
    operation: &'static str,
    progress: Progress,
) -> ProgressWatch {
    // In the span of the request the operation serves: its events carry the request's id.
    let span = tracing::Span::current();
    let task = async move {
        // What the step was when the operation began is not news; a change since is.
        let mut seen = progress.changes();
        loop {
            progress.changed().await;
            let changes = progress.changes();
            if changes == seen {
                continue;
            }
            seen = changes;
            let now = progress.now();
            tracing::debug!(
                target: "emodal_api::progress",
                event = "operation_progress",
                session_id = %session_id,
                operation,
                step = %now.step,
                done = now.done,
                total = now.total,
                unit = now.unit,
            );
            // Changes made meanwhile are remembered by `changed` and shown at the next turn.
            tokio::time::sleep(EVERY).await;
        }
    };
    ProgressWatch(tokio::spawn(task.instrument(span)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::ProgressNow;

    #[tokio::test]
    async fn dropping_the_watch_ends_its_task() {
        let progress = Progress::default();
        let watch = watch("s".into(), "get containers", progress.clone());
        let handle = watch.0.abort_handle();
        progress.set(ProgressNow::plain("open containers page"));
        drop(watch);
        tokio::time::timeout(Duration::from_secs(1), async {
            while !handle.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the task ended");
    }
}
