//! A plain request value and response helpers.
//!
//! The sandbox routes by hand (one `match` in `mod.rs`) instead of composing warp filters: every
//! request, however malformed, reaches our code, so each one gets the portal's or 2captcha's own
//! kind of answer rather than a warp rejection.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use warp::http::{HeaderMap, Method, Response, StatusCode, header};
use warp::hyper::body::Bytes;

pub type Resp = Response<String>;

pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    /// The query as sent (authorize passes it on whole).
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// `a=1&b=2` -> map (first value wins); anything unparsable yields what parsed, or nothing.
pub fn parse_urlencoded(s: &str) -> HashMap<String, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(s).unwrap_or_default();
    let mut map = HashMap::new();
    for (k, v) in pairs {
        map.entry(k).or_insert(v);
    }
    map
}

impl Req {
    pub fn new(
        method: Method,
        path: String,
        raw_query: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Req {
        Req {
            method,
            path,
            query: parse_urlencoded(raw_query),
            raw_query: raw_query.to_string(),
            headers,
            body,
        }
    }

    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// The body as an HTML form. A body that is not a form gives an empty map (handlers then
    /// answer "field required"), never an error page.
    pub fn form(&self) -> HashMap<String, String> {
        std::str::from_utf8(&self.body)
            .map(parse_urlencoded)
            .unwrap_or_default()
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("invalid JSON body: {e}"))
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn build(status: StatusCode, content_type: &str, body: String) -> Resp {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_str(content_type).expect("static"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

pub fn html(status: StatusCode, body: String) -> Resp {
    build(status, "text/html; charset=utf-8", body)
}

pub fn json(status: StatusCode, value: &Value) -> Resp {
    build(status, "application/json", value.to_string())
}

pub fn text(status: StatusCode, body: impl Into<String>) -> Resp {
    build(status, "text/plain; charset=utf-8", body.into())
}

/// A 302 to `location`, optionally setting a cookie on the way.
pub fn redirect(location: &str, set_cookie: Option<String>) -> Resp {
    let mut r = build(StatusCode::FOUND, "text/html; charset=utf-8", String::new());
    if let Ok(v) = header::HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    if let Some(c) = set_cookie.and_then(|c| header::HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON for embedding in an inline `<script>` (no `</script>` breakout).
pub fn script_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_is_lenient() {
        assert_eq!(parse_urlencoded("a=1&b=x%20y&a=2")["a"], "1");
        assert_eq!(parse_urlencoded("a=1&b=x%20y")["b"], "x y");
        assert!(parse_urlencoded("").is_empty());
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            script_json(&serde_json::json!("</script>")),
            "\"\\u003c/script\\u003e\""
        );
    }
}
