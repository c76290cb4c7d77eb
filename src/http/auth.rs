//! API tokens. With `server.api_tokens` set, every request but `/health` needs
//! `Authorization: Bearer <token>`; the token's scope keeps its sessions apart from other
//! tokens' sessions. Without tokens everything shares the empty scope.

use crate::error::ApiError;
use crate::secret::Secret;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

/// The caller's scope: "" when the API is open, else a digest naming the token.
pub fn scope(
    tokens: Arc<Vec<Secret>>,
) -> impl Filter<Extract = (String,), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization").and_then(move |header: Option<String>| {
        let tokens = tokens.clone();
        async move { check(&tokens, header.as_deref()).map_err(warp::reject::custom) }
    })
}

pub(super) fn check(tokens: &[Secret], header: Option<&str>) -> Result<String, ApiError> {
    if tokens.is_empty() {
        return Ok(String::new());
    }
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m);
    let presented = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| unauthorized("missing 'Authorization: Bearer <token>' header"))?;
    // Compare against every token, in constant time, so timing reveals neither which
    // token matched nor how much of one did.
    let mut matched = None;
    for token in tokens {
        let digest_a = Sha256::digest(token.expose().as_bytes());
        let digest_b = Sha256::digest(presented.as_bytes());
        if bool::from(digest_a.as_slice().ct_eq(digest_b.as_slice())) {
            matched = Some(crate::credentials::token_scope(token.expose()));
        }
    }
    matched.ok_or_else(|| unauthorized("invalid API token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_api_has_one_scope() {
        assert_eq!(check(&[], None).unwrap(), "");
    }

    #[test]
    fn tokens_are_required_and_scoped() {
        let tokens = vec![Secret::new("alpha"), Secret::new("beta")];
        assert_eq!(
            check(&tokens, None).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            check(&tokens, Some("Bearer gamma")).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        let a = check(&tokens, Some("Bearer alpha")).unwrap();
        let b = check(&tokens, Some("Bearer beta")).unwrap();
        assert!(!a.is_empty() && a != b);
        assert!(!a.contains("alpha"));
    }
}
