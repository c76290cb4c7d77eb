//! The supervision tree: one [`manager::SessionManager`] supervising one
//! [`session::SessionActor`] per portal session. `actors.md` draws the map.
//! Callers use the [`Sessions`] handle and never see a message type.

mod admission;
mod directory;
mod error;
mod handle;
pub mod manager;
mod membership;
mod operations;
pub mod session;
mod shared;

pub use directory::scope_of;
pub use error::{Fault, SessionError};
pub use handle::Sessions;
pub use membership::Membership;
pub use shared::{
    OperationNow, SessionDetail, SessionGrant, SessionShared, SessionState, SessionSummary, Stamped,
};
