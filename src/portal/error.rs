//! What can go wrong while driving the portal, sorted by what the supervisor should do.

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum DriverError {
    /// Chrome died, hung, or its DevTools connection broke: the session needs a new browser.
    #[error("browser failure: {0}")]
    Browser(String),
    /// The portal shows its logged-out page: the session needs a new login.
    #[error("the portal session is logged out")]
    LoggedOut,
    /// The portal rejected the username or password.
    #[error("the portal rejected the username or password")]
    BadCredentials,
    /// The portal did not accept the captcha token.
    #[error("the portal did not accept the captcha token{0}")]
    CaptchaRejected(String),
    /// The portal answered something the driver does not recognise.
    #[error("unexpected portal page at step '{step}': expected {expected}")]
    Unexpected { step: String, expected: String },
    /// A step took longer than its timeout.
    #[error("timed out at step '{step}'")]
    Timeout { step: String },
    /// The portal has no such thing (container, booking).
    #[error("{0}")]
    NotFound(String),
    /// The request itself cannot be carried out (bad value, missing option).
    #[error("{0}")]
    Invalid(String),
    /// The portal cannot be reached or answers server errors (down, in maintenance): the
    /// session itself is fine and waits for the portal to come back.
    #[error("the portal is unavailable: {0}")]
    Unavailable(String),
    /// The portal profile lacks something the driver needs (a selector or text key).
    #[error("portal profile: {0}")]
    Config(String),
}

impl DriverError {
    /// True when the session's browser or login is gone and a restart is the cure.
    pub fn needs_restart(&self) -> bool {
        matches!(self, DriverError::Browser(_) | DriverError::LoggedOut)
    }

    pub fn unexpected(step: &str, expected: impl Into<String>) -> DriverError {
        DriverError::Unexpected {
            step: step.to_string(),
            expected: expected.into(),
        }
    }
}
