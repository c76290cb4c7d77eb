//! JSON request bodies: size-, depth- and length-limited objects. Each endpoint then reads
//! its own request type from one (`requests::parse`), so every error names the field.

use crate::error::ApiError;
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
