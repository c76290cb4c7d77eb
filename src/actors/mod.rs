//! The supervision tree: one [`manager::SessionManager`] supervising one
//! [`session::SessionActor`] per portal session. `actors.md` draws the map.
//! Callers use the [`Sessions`] handle and never see a message type.

mod error;
mod handle;
pub mod manager;
pub mod session;
mod shared;

pub use error::SessionError;
pub use handle::{DebugSpec, Sessions};
pub use shared::{SessionGrant, SessionShared, SessionState, SessionSummary};
