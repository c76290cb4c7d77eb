//! Why a session request failed, in terms a client can act on. The driver's own error type
//! stops here: [`SessionError::from`] sorts each driver failure by whose fault it is.

use crate::captcha::CaptchaError;
use crate::model::FailureBundle;
use crate::portal::DriverError;

/// Whose fault a failed operation was, which decides the status a client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The request asked for something the portal cannot do (an unknown terminal, a time
    /// not offered): 400.
    Client,
    /// The portal has no such thing (container, booking): 404.
    Missing,
    /// The portal answered a page the driver does not recognise, or refused the captcha
    /// token: 502.
    Portal,
    /// A step did not finish in time: 504.
    Timeout,
    /// The session's Chrome or portal login died; it is being restarted: 503, retry.
    Restarting,
    /// The portal is down or unreachable; the session waits for it: 503, retry later.
    Unavailable,
    /// The service's own configuration is wrong (a profile key the driver needs is
    /// missing): 500.
    Config,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SessionError {
    #[error("E-Modal rejected the username or password")]
    BadCredentials,
    #[error("{0}")]
    CaptchaAccount(String),
    /// The captcha service or the portal failed the login.
    #[error("{0}")]
    Upstream(String),
    /// The captcha service cannot be reached or answers nonsense: an outage, like the
    /// portal's.
    #[error("{0}")]
    CaptchaUnavailable(String),
    #[error("login did not finish within {0} s")]
    LoginTimeout(u64),
    #[error(
        "all {0} session slots are in use by persistent or busy sessions; close one or retry later"
    )]
    AtCapacity(usize),
    #[error(
        "this API token already holds its quota of {0} sessions; close one (DELETE /sessions/{{id}}) or retry later"
    )]
    OverQuota(usize),
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
    /// A quick look (a screenshot) could not get a turn within its bound.
    #[error("{0}")]
    Occupied(String),
    #[error("the service is shutting down")]
    ShuttingDown,
    /// A business operation (or a login step) failed on the portal.
    #[error("{message}")]
    Operation {
        fault: Fault,
        message: String,
        /// What the page showed, when the step met a page it did not expect.
        bundle: Option<FailureBundle>,
    },
    #[error(
        "the portal no longer honours this session's cookies and its password was not kept (sessions.persist_credentials = false); the session was dropped: call get_session to log in again"
    )]
    CredentialsNotKept,
    #[error("the portal has been unreachable for {0} s; the session was dropped")]
    PortalUnreachable(u64),
    #[error("internal error: {0}")]
    Internal(String),
}

impl SessionError {
    /// A login failure that a restart cannot cure.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SessionError::BadCredentials
                | SessionError::CaptchaAccount(_)
                | SessionError::PortalUnreachable(_)
                | SessionError::CredentialsNotKept
        )
    }

    /// The portal is down or unreachable: not a broken session.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            SessionError::Operation {
                fault: Fault::Unavailable,
                ..
            } | SessionError::CaptchaUnavailable(_)
        )
    }

    /// The session's browser or login is gone: a restarted session may do what this one
    /// could not.
    pub fn is_restarting(&self) -> bool {
        matches!(
            self,
            SessionError::Operation {
                fault: Fault::Restarting,
                ..
            }
        )
    }

    pub fn restarting(message: impl Into<String>) -> SessionError {
        SessionError::Operation {
            fault: Fault::Restarting,
            message: message.into(),
            bundle: None,
        }
    }

    /// Attach what the page showed.
    pub fn with_bundle(self, bundle: FailureBundle) -> SessionError {
        match self {
            SessionError::Operation { fault, message, .. } => SessionError::Operation {
                fault,
                message,
                bundle: Some(bundle),
            },
            other => other,
        }
    }
}

impl From<CaptchaError> for SessionError {
    fn from(e: CaptchaError) -> Self {
        match e {
            CaptchaError::Account(_) => SessionError::CaptchaAccount(e.to_string()),
            CaptchaError::Service(_) => SessionError::CaptchaUnavailable(e.to_string()),
            other => SessionError::Upstream(other.to_string()),
        }
    }
}

impl From<DriverError> for SessionError {
    fn from(e: DriverError) -> Self {
        let message = e.to_string();
        let fault = match e {
            DriverError::BadCredentials => return SessionError::BadCredentials,
            DriverError::Browser(_) | DriverError::LoggedOut => {
                return SessionError::restarting(format!(
                    "{message}; the session is being restarted, retry shortly"
                ));
            }
            DriverError::CaptchaRejected(_) | DriverError::Unexpected { .. } => Fault::Portal,
            DriverError::Timeout { .. } => Fault::Timeout,
            DriverError::NotFound(_) => Fault::Missing,
            DriverError::Invalid(_) => Fault::Client,
            DriverError::Config(_) => Fault::Config,
            DriverError::Unavailable(_) => Fault::Unavailable,
        };
        SessionError::Operation {
            fault,
            message,
            bundle: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_profile_key_is_the_services_fault() {
        let e = SessionError::from(DriverError::Config("no selector 'grid_rows'".into()));
        assert!(matches!(
            e,
            SessionError::Operation {
                fault: Fault::Config,
                ..
            }
        ));
        let e = SessionError::from(DriverError::Browser("gone".into()));
        assert!(e.is_restarting());
    }
}
