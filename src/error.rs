//! The one error type the HTTP layer answers with: `{"success": false, "error": ...}` and
//! the status that tells the client what to do next.

use crate::actors::SessionError;
use crate::portal::DriverError;
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
        let message = e.to_string();
        match e {
            SessionError::BadCredentials => ApiError::new(StatusCode::UNAUTHORIZED, message),
            SessionError::CaptchaAccount(_) => ApiError::new(StatusCode::PAYMENT_REQUIRED, message),
            SessionError::Upstream(_) => ApiError::new(StatusCode::BAD_GATEWAY, message),
            SessionError::AtCapacity(_) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(30)
            }
            SessionError::NotFound => ApiError::new(StatusCode::NOT_FOUND, message),
            SessionError::LoginRefused(wait) => {
                ApiError::new(StatusCode::UNAUTHORIZED, message).retry_after(wait)
            }
            SessionError::TooManyLogins(wait) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(wait)
            }
            SessionError::Busy(_) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(2)
            }
            SessionError::ShuttingDown => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).retry_after(5)
            }
            SessionError::Internal(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message),
            SessionError::Driver(d) => ApiError::from(d),
        }
    }
}

impl From<DriverError> for ApiError {
    fn from(e: DriverError) -> ApiError {
        let message = e.to_string();
        match e {
            DriverError::Browser(_) | DriverError::LoggedOut => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{message}; the session is being restarted, retry shortly"),
            )
            .with("retryable", Value::Bool(true))
            .retry_after(5),
            DriverError::BadCredentials => ApiError::new(StatusCode::UNAUTHORIZED, message),
            DriverError::CaptchaRejected(_) | DriverError::Unexpected { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, message)
            }
            DriverError::Timeout { .. } => ApiError::new(StatusCode::GATEWAY_TIMEOUT, message),
            DriverError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, message),
            DriverError::Invalid(_) => ApiError::new(StatusCode::BAD_REQUEST, message),
        }
    }
}
