//! JSON request bodies: size-limited, parsed by us so every error names the field.

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::secret::Secret;
use serde_json::{Map, Value};
use warp::{Filter, Rejection};

/// Largest accepted request body.
pub const MAX_BODY: u64 = 256 * 1024;
/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 8;
/// Longest string accepted anywhere in a body.
pub const MAX_STRING: usize = 4096;
/// Longest array accepted anywhere in a body.
pub const MAX_ARRAY: usize = 500;

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
        Ok(Value::Object(map)) => {
            let map = Value::Object(map);
            check_shape(&map, 0)?;
            let Value::Object(map) = map else {
                unreachable!("checked above")
            };
            Ok(Body(map))
        }
        Ok(_) => Err(ApiError::bad_request(
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

/// Refuse bodies nested deeper than [`MAX_DEPTH`], or with a string or array too long.
fn check_shape(value: &Value, depth: usize) -> Result<(), ApiError> {
    match value {
        Value::String(s) if s.len() > MAX_STRING => Err(ApiError::bad_request(format!(
            "a string in the body is longer than {MAX_STRING} bytes"
        ))),
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => Err(ApiError::bad_request(
            format!("the body is nested deeper than {MAX_DEPTH} levels"),
        )),
        Value::Array(items) if items.len() > MAX_ARRAY => Err(ApiError::bad_request(format!(
            "a list in the body has more than {MAX_ARRAY} items"
        ))),
        Value::Array(items) => items.iter().try_for_each(|v| check_shape(v, depth + 1)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            if k.len() > MAX_STRING {
                return Err(ApiError::bad_request("a key in the body is too long"));
            }
            check_shape(v, depth + 1)
        }),
        _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_bounded() {
        assert!(parse(b"").unwrap().0.is_empty());
        assert!(parse(b"{\"a\": [1, {\"b\": 2}]}").is_ok());
        assert!(parse(b"[1]").is_err());
        let deep = format!("{}{}", "{\"a\":".repeat(20), "}".repeat(20));
        assert!(parse(deep.as_bytes()).is_err());
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_STRING + 1));
        assert!(parse(long.as_bytes()).is_err());
        let many = format!("{{\"a\": [{}]}}", vec!["1"; MAX_ARRAY + 1].join(","));
        assert!(parse(many.as_bytes()).is_err());
    }
}
