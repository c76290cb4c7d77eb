//! Why a session request failed, in terms a client can act on.

use crate::captcha::CaptchaError;
use crate::portal::DriverError;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SessionError {
    #[error("E-Modal rejected the username or password")]
    BadCredentials,
    #[error("{0}")]
    CaptchaAccount(String),
    #[error("{0}")]
    Upstream(String),
    #[error(
        "all {0} session slots are in use by persistent or busy sessions; close one or retry later"
    )]
    AtCapacity(usize),
    #[error(
        "E-Modal rejected this password recently; the same credentials are refused for {0} more seconds so the portal account is not locked"
    )]
    LoginRefused(u64),
    #[error("too many logins for these credentials; retry in {0} seconds")]
    TooManyLogins(u64),
    #[error("the session already has {0} requests waiting; retry shortly")]
    Busy(usize),
    #[error("session not found")]
    NotFound,
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("{0}")]
    Driver(DriverError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl SessionError {
    /// A login failure that a restart cannot cure.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SessionError::BadCredentials | SessionError::CaptchaAccount(_)
        )
    }
}

impl From<CaptchaError> for SessionError {
    fn from(e: CaptchaError) -> Self {
        match e {
            CaptchaError::Account(_) => SessionError::CaptchaAccount(e.to_string()),
            other => SessionError::Upstream(other.to_string()),
        }
    }
}

impl From<DriverError> for SessionError {
    fn from(e: DriverError) -> Self {
        match e {
            DriverError::BadCredentials => SessionError::BadCredentials,
            other => SessionError::Driver(other),
        }
    }
}
