//! Starting a session's actor for its current incarnation: the one place that builds
//! `SessionArgs`, shared by a new session, a restart and a start-up restore.

use super::{ManagerMsg, Registry};
use crate::actors::SessionError;
use crate::actors::session::{SessionActor, SessionArgs};
use ractor::{Actor, ActorRef};

impl Registry {
    /// Start the actor for `id`'s current incarnation.
    pub(super) async fn spawn_session(&mut self, myself: &ActorRef<ManagerMsg>, id: &str) {
        let Some(entry) = self.by_id.get_mut(id) else {
            return;
        };
        let restore = if entry.restore_next {
            self.store.latest(id)
        } else {
            None
        };
        let args = SessionArgs {
            shared: entry.shared.clone(),
            credentials: entry.credentials.clone(),
            scope: entry.scope.clone(),
            credential_key: entry.key.clone(),
            settings: self.settings.clone(),
            profile: self.profile.clone(),
            captcha: self.captcha.clone(),
            manager: myself.clone(),
            incarnation: entry.incarnation,
            spares: self.spares.clone(),
            store: self.store.clone(),
            restore,
            request_id: entry.request_id.take(),
        };
        // pre_start is trivial, so this returns at once; Chrome starts inside the actor.
        match Actor::spawn_linked(None, SessionActor, args, myself.get_cell()).await {
            Ok((actor, _)) => entry.actor = Some(actor),
            Err(e) => {
                let error = SessionError::Internal(format!("cannot start session actor: {e}"));
                self.drop_session(id, "spawn_failed", &error);
            }
        }
    }
}
