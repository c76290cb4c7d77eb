//! The watches that keep [`super::Owners`]'s copy of `sessions` and `owners` current.

use super::{View, live_value, note};
use crate::cluster::Cluster;
use crate::cluster::records::{OwnerRecord, SessionRecord};
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub(super) enum Bucket {
    Sessions,
    Owners,
}

/// Keep one bucket's copy current: a watch of every key (the current values first, then
/// each change), restarted after a loss; ends when the view is gone.
pub(super) async fn watch(cluster: Cluster, view: std::sync::Weak<View>, bucket: Bucket) {
    let link = cluster.linked().await;
    let store = match bucket {
        Bucket::Sessions => link.sessions.clone(),
        Bucket::Owners => link.owners.clone(),
    };
    loop {
        match store.watch_all().await {
            Ok(mut entries) => {
                while let Some(entry) = entries.next().await {
                    let Some(view) = view.upgrade() else { return };
                    let Ok(entry) = entry else { break };
                    apply(&view, bucket, &entry);
                }
            }
            Err(e) => {
                tracing::debug!(event = "cluster_watch_failed", bucket = ?bucket, error = %e);
            }
        }
        if view.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn apply(view: &View, bucket: Bucket, entry: &kv::Entry) {
    match bucket {
        Bucket::Sessions => {
            let value = live_value::<SessionRecord>(entry);
            note(&view.sessions, &entry.key, value, entry.revision);
        }
        Bucket::Owners => {
            let value = live_value::<OwnerRecord>(entry).map(|r| r.session_id);
            note(&view.owners, &entry.key, value, entry.revision);
        }
    }
}
