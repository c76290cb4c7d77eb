//! JSON request bodies: size-limited, parsed by us so every error names the field.

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::secret::Secret;
use serde_json::{Map, Value};
use warp::{Filter, Rejection};

/// Largest accepted request body.
pub const MAX_BODY: u64 = 256 * 1024;

/// A JSON object from the request body.
#[derive(Debug, Clone, Default)]
pub struct Body(pub Map<String, Value>);

/// Extract the body as a JSON object; an empty body counts as `{}`.
pub fn json() -> impl Filter<Extract = (Body,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY)
        .and(warp::body::bytes())
        .and_then(|bytes: bytes::Bytes| async move { parse(&bytes).map_err(warp::reject::custom) })
}

pub fn parse(bytes: &[u8]) -> Result<Body, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::default());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(Body(map)),
        Ok(_) => Err(ApiError::bad_request(
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

impl Body {
    /// A non-empty string field, or None when absent, null or blank. Numbers are accepted
    /// as their text (clients send PINs and plates both ways).
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(
                ApiError::bad_request(format!("field '{name}' must be a string"))
                    .with("invalid_fields", serde_json::json!([name])),
            ),
        }
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(
                ApiError::bad_request(format!("field '{name}' must be true or false"))
                    .with("invalid_fields", serde_json::json!([name])),
            ),
        }
    }

    pub fn has_credentials(&self) -> bool {
        ["username", "password", "captcha_api_key"]
            .iter()
            .any(|f| self.0.contains_key(*f))
    }

    /// `username`, `password` and `captcha_api_key`, naming whichever are missing.
    pub fn credentials(&self) -> Result<Credentials, ApiError> {
        let username = self.string("username")?;
        let password = self.secret("password")?;
        let captcha_key = self.secret("captcha_api_key")?;
        let mut missing = Vec::new();
        if username.is_none() {
            missing.push("username");
        }
        if password.is_none() {
            missing.push("password");
        }
        if captcha_key.is_none() {
            missing.push("captcha_api_key");
        }
        match (username, password, captcha_key) {
            (Some(username), Some(password), Some(captcha_key)) => Ok(Credentials {
                username,
                password,
                captcha_key,
            }),
            _ => Err(ApiError::missing(&missing)),
        }
    }

    /// A secret string field; its value never appears in an error.
    fn secret(&self, name: &str) -> Result<Option<Secret>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(Secret::new(s.clone()))),
            Some(_) => Err(
                ApiError::bad_request(format!("field '{name}' must be a string"))
                    .with("invalid_fields", serde_json::json!([name])),
            ),
        }
    }
}
