//! Running one business operation for a request: find or create its session, run the
//! operation on that session's browser, retry a read once across a restart, save debug
//! screenshots, and shape the common response fields.

use super::{Body, Ctx};
use crate::actors::{DebugSpec, SessionError};
use crate::error::ApiError;
use crate::portal::{DriverError, Page};
use serde_json::{Value, json};
use std::sync::Arc;

/// Which session a request uses.
pub struct SessionUse {
    pub scope: String,
    /// `http://<Host of the request>`, for absolute file URLs.
    pub base_url: String,
    pub session_id: String,
    pub is_new_session: bool,
    /// The id came from the client (so an unknown id may fall back to credentials).
    from_client: bool,
    fell_back: bool,
}

/// The result of an operation and what the response must say about it.
pub struct Ran<R> {
    pub value: R,
    /// Absolute URLs of the debug screenshots.
    pub screenshots: Vec<String>,
}

/// `session_id`, or `username` + `password` + `captcha_api_key` (get or create the
/// persistent session exactly as `/get_session` does).
pub async fn resolve(
    ctx: &Ctx,
    scope: &str,
    base_url: &str,
    body: &Body,
) -> Result<SessionUse, ApiError> {
    if let Some(id) = body.string("session_id")? {
        return Ok(SessionUse {
            scope: scope.to_string(),
            base_url: base_url.to_string(),
            session_id: id,
            is_new_session: false,
            from_client: true,
            fell_back: false,
        });
    }
    if !body.has_credentials() {
        return Err(ApiError::bad_request(
            "send session_id, or username + password + captcha_api_key to get or create a session",
        )
        .with("missing_fields", json!(["session_id"])));
    }
    let grant = ctx
        .sessions
        .get_session(scope, body.credentials()?, true)
        .await?;
    Ok(SessionUse {
        scope: scope.to_string(),
        base_url: base_url.to_string(),
        session_id: grant.session_id,
        is_new_session: grant.is_new,
        from_client: false,
        fell_back: false,
    })
}

impl SessionUse {
    /// Run `op` on this session. A read (`read = true`) whose session was lost mid-way
    /// (Chrome died, the portal logged out) is retried once on the restarted session;
    /// writes never are.
    pub async fn run<R, F>(
        &mut self,
        ctx: &Ctx,
        body: &Body,
        step: &str,
        read: bool,
        container: Option<&str>,
        op: F,
    ) -> Result<Ran<R>, ApiError>
    where
        R: Send + 'static,
        F: Fn(&mut Page) -> Result<R, DriverError> + Send + Sync + 'static,
    {
        let op = Arc::new(op);
        let debug = if body.bool("debug", false)? {
            Some(DebugSpec {
                label: body.string("screenshot_label")?,
                container: container.map(str::to_string),
            })
        } else {
            None
        };
        let mut retried = false;
        loop {
            // A step that met a page it did not expect leaves a failure bundle (the page
            // and what each profile strategy found there) for the operator.
            let job = {
                let op = op.clone();
                move |page: &mut Page| match op(page) {
                    Ok(v) => Ok(Ok(v)),
                    Err(e) if e.wants_bundle() => {
                        let bundle = crate::portal::capture_bundle(page, &e);
                        Ok(Err((e, bundle)))
                    }
                    Err(e) => Err(e),
                }
            };
            let outcome = ctx
                .sessions
                .run(&self.scope, &self.session_id, step, debug.clone(), job)
                .await;
            match outcome {
                Ok((Err((error, bundle)), _)) => {
                    let mut api = ApiError::from(error);
                    match ctx.files.save("bundle", "json", bundle).await {
                        Ok(name) => api = api.with("debug_bundle_url", json!(self.file_url(&name))),
                        Err(e) => tracing::warn!(error = %e, "failure bundle not saved"),
                    }
                    return Err(api);
                }
                Ok((Ok(value), shots)) => {
                    let mut screenshots = Vec::new();
                    for shot in shots {
                        let name = ctx
                            .files
                            .save("screenshot", "png", shot.png)
                            .await
                            .map_err(|e| {
                                ApiError::new(
                                    warp::http::StatusCode::INTERNAL_SERVER_ERROR,
                                    e.to_string(),
                                )
                            })?;
                        screenshots.push(self.file_url(&name));
                    }
                    return Ok(Ran { value, screenshots });
                }
                Err(SessionError::NotFound)
                    if self.from_client && !self.fell_back && body.has_credentials() =>
                {
                    // An unknown (expired, closed) session id with credentials: use those.
                    let grant = ctx
                        .sessions
                        .get_session(&self.scope, body.credentials()?, true)
                        .await?;
                    self.session_id = grant.session_id;
                    self.is_new_session = grant.is_new;
                    self.fell_back = true;
                }
                Err(SessionError::NotFound) => {
                    return Err(ApiError::new(
                        warp::http::StatusCode::NOT_FOUND,
                        format!("session not found: {}", self.session_id),
                    ));
                }
                Err(SessionError::Driver(e)) if read && !retried && e.needs_restart() => {
                    tracing::info!(event = "request_retried", session_id = %self.session_id, step, reason = %e);
                    retried = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub fn file_url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base_url)
    }

    /// The fields every business response carries.
    pub fn response(&self, screenshots: &[String], mut fields: Value) -> Value {
        fields["success"] = json!(true);
        fields["session_id"] = json!(self.session_id);
        fields["is_new_session"] = json!(self.is_new_session);
        if !screenshots.is_empty() {
            fields["screenshots"] = json!(screenshots);
        }
        fields
    }
}
