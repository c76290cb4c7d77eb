//! The one error type the HTTP layer answers with: `{"success": false, "error": ...}` and
//! the status that tells the client what to do next.

use crate::actors::{Fault, SessionError};
use serde_json::{Map, Value, json};
use warp::http::StatusCode;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Extra fields merged into the body (e.g. `missing_fields`).
    pub extra: Map<String, Value>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn with(mut self, key: &str, value: Value) -> ApiError {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// 400 naming every missing field.
    pub fn missing(fields: &[&str]) -> ApiError {
        ApiError::bad_request(format!("missing required field(s): {}", fields.join(", ")))
            .with("missing_fields", json!(fields))
    }

    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("success".into(), Value::Bool(false));
        body.insert("error".into(), Value::String(self.message.clone()));
        body.extend(self.extra.clone());
        Value::Object(body)
    }

    pub fn into_response(self) -> warp::reply::Response {
        use warp::Reply;
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            let code = self.extra.get("error_code").and_then(Value::as_str);
            crate::metrics::rejected(code.unwrap_or("other"));
        }
        let mut response =
            warp::reply::with_status(warp::reply::json(&self.body()), self.status).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(warp::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> ApiError {
        use StatusCode as S;
        let message = e.to_string();
        let (status, code, retry_after) = match &e {
            SessionError::BadCredentials => (S::UNAUTHORIZED, "bad_credentials", None),
            SessionError::CaptchaAccount(_) => (S::PAYMENT_REQUIRED, "captcha_account", None),
            SessionError::Upstream(_) => (S::BAD_GATEWAY, "upstream", None),
            SessionError::CaptchaUnavailable(_) => {
                (S::BAD_GATEWAY, "captcha_unavailable", Some(30))
            }
            SessionError::LoginTimeout(_) => (S::GATEWAY_TIMEOUT, "login_timeout", None),
            SessionError::AtCapacity(_) => (S::TOO_MANY_REQUESTS, "at_capacity", Some(30)),
            SessionError::OverQuota(_) => (S::TOO_MANY_REQUESTS, "over_quota", Some(30)),
            SessionError::LoginRefused(wait) => (S::UNAUTHORIZED, "login_refused", Some(*wait)),
            SessionError::TooManyLogins(wait) => {
                (S::TOO_MANY_REQUESTS, "too_many_logins", Some(*wait))
            }
            SessionError::Busy(_) => (S::TOO_MANY_REQUESTS, "session_busy", Some(2)),
            // The original answered 400 here, and its clients log in again only on a 400.
            SessionError::NotFound => (S::BAD_REQUEST, "session_not_found", None),
            SessionError::Occupied(_) => (S::CONFLICT, "session_occupied", Some(5)),
            // Gone for good, like an unknown id: the original's clients log in again on it.
            SessionError::CredentialsNotKept => (S::BAD_REQUEST, "session_not_found", None),
            SessionError::ShuttingDown => (S::SERVICE_UNAVAILABLE, "shutting_down", Some(5)),
            SessionError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", None),
            SessionError::PortalUnreachable(_) => {
                (S::SERVICE_UNAVAILABLE, "portal_unreachable", Some(60))
            }
            SessionError::Operation { fault, .. } => match fault {
                Fault::Client => (S::BAD_REQUEST, "rejected_by_portal", None),
                Fault::Missing => (S::NOT_FOUND, "not_found", None),
                Fault::Portal => (S::BAD_GATEWAY, "portal_error", None),
                Fault::Timeout => (S::GATEWAY_TIMEOUT, "timeout", None),
                Fault::Restarting => (S::SERVICE_UNAVAILABLE, "session_restarting", Some(5)),
                Fault::Config => (S::INTERNAL_SERVER_ERROR, "configuration", None),
                Fault::Unavailable => (S::SERVICE_UNAVAILABLE, "portal_unavailable", Some(30)),
            },
        };
        let mut api = ApiError::new(status, message).with("error_code", json!(code));
        if e.is_restarting() {
            api = api.with("retryable", Value::Bool(true));
        }
        if let Some(seconds) = retry_after {
            api = api.retry_after(seconds);
        }
        api
    }
}
