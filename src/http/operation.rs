//! One business request's session: find or create it, call a typed [`Sessions`] function on
//! it (falling back to the request's credentials when its `session_id` is unknown), save
//! debug screenshots and failure bundles as files, and shape the fields every business
//! response carries.
//!
//! [`Sessions`]: crate::actors::Sessions

use super::Ctx;
use super::requests::{Credentials as SentCredentials, SessionRef};
use crate::actors::SessionError;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::model::{Debug, Done, Screenshot};
use serde_json::{Value, json};
use warp::http::StatusCode;

/// Which session a request uses.
pub struct SessionUse {
    pub scope: String,
    /// Base URL for the absolute file URLs this request hands out.
    pub base_url: String,
    pub session_id: String,
    pub is_new_session: bool,
    /// The id came from the client (so an unknown id may fall back to credentials).
    from_client: bool,
    credentials: Option<Credentials>,
    debug: Option<Debug>,
}

/// What an operation produced, with its debug files already saved.
pub struct Ran<T> {
    pub value: T,
    /// Absolute URLs of the debug screenshots, in step order.
    pub screenshots: Vec<String>,
    /// A ZIP of the screenshots (the original's `debug_bundle_url`).
    pub bundle_url: Option<String>,
}

/// The credentials a request sent: none, all three, or a 400 naming the missing ones.
pub fn credentials(sent: &SentCredentials) -> Result<Option<Credentials>, ApiError> {
    let SentCredentials {
        username,
        password,
        captcha_api_key,
    } = sent;
    if !sent.any() {
        return Ok(None);
    }
    match (username, password, captcha_api_key) {
        (Some(u), Some(p), Some(k)) => Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
            captcha_key: k.clone(),
        })),
        _ => {
            let missing: Vec<&str> = [
                ("username", username.is_none()),
                ("password", password.is_none()),
                ("captcha_api_key", captcha_api_key.is_none()),
            ]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| *n)
            .collect();
            Err(ApiError::missing(&missing))
        }
    }
}

/// `session_id`, or `username` + `password` + `captcha_api_key` (get or create the
/// persistent session exactly as `/get_session` does).
pub async fn resolve(
    ctx: &Ctx,
    scope: &str,
    base_url: &str,
    sent: &SessionRef,
) -> Result<SessionUse, ApiError> {
    let credentials = credentials(&sent.credentials)?;
    let debug = sent.debug.unwrap_or(false).then(|| Debug {
        label: sent.screenshot_label.clone(),
        note: None,
    });
    let mut session = SessionUse {
        scope: scope.to_string(),
        base_url: base_url.to_string(),
        session_id: String::new(),
        is_new_session: false,
        from_client: true,
        credentials,
        debug,
    };
    match &sent.session_id {
        Some(id) => session.session_id = id.clone(),
        None => {
            if session.credentials.is_none() {
                return Err(ApiError::bad_request(
                    "send session_id, or username + password + captcha_api_key to get or create a session",
                )
                .with("missing_fields", json!(["session_id"])));
            }
            session.from_client = false;
            session.log_in(ctx).await?;
        }
    }
    Ok(session)
}

impl SessionUse {
    async fn log_in(&mut self, ctx: &Ctx) -> Result<(), ApiError> {
        let credentials = self.credentials.clone().expect("checked by the caller");
        let grant = ctx
            .sessions
            .get_session(&self.scope, credentials, true)
            .await?;
        self.session_id = grant.session_id;
        self.is_new_session = grant.is_new;
        Ok(())
    }

    /// True when the session exists now (drafts are kept only for live sessions). An
    /// unknown id with credentials falls back to the credentials' session.
    pub async fn ensure_live(&mut self, ctx: &Ctx) -> Result<(), ApiError> {
        if ctx.sessions.exists(&self.scope, &self.session_id).await {
            return Ok(());
        }
        if self.from_client && self.credentials.is_some() {
            self.from_client = false;
            return self.log_in(ctx).await;
        }
        Err(SessionError::NotFound.into())
    }

    /// Run `op` (a typed [`Sessions`](crate::actors::Sessions) call given the session id and
    /// the debug settings) on this session.
    pub async fn run<T, F, Fut>(&mut self, ctx: &Ctx, op: F) -> Result<Ran<T>, ApiError>
    where
        F: Fn(String, Option<Debug>) -> Fut,
        Fut: Future<Output = Result<Done<T>, SessionError>>,
    {
        let outcome = match op(self.session_id.clone(), self.debug.clone()).await {
            // An unknown (expired, closed) session id with credentials: use those, once.
            Err(SessionError::NotFound) if self.from_client && self.credentials.is_some() => {
                self.from_client = false;
                self.log_in(ctx).await?;
                op(self.session_id.clone(), self.debug.clone()).await
            }
            other => other,
        };
        match outcome {
            Ok(done) => self.saved(ctx, done).await,
            Err(SessionError::Operation {
                fault,
                message,
                bundle: Some(bundle),
            }) => {
                let mut api = ApiError::from(SessionError::Operation {
                    fault,
                    message,
                    bundle: None,
                });
                let entries = vec![("bundle.json".to_string(), bundle.0)];
                match ctx.files.save_zip("bundle", entries).await {
                    Ok(name) => api = api.with("debug_bundle_url", json!(self.file_url(&name))),
                    Err(e) => tracing::warn!(error = %e, "failure bundle not saved"),
                }
                Err(api)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Save a debug request's screenshots, one by one and as a ZIP.
    async fn saved<T>(&self, ctx: &Ctx, done: Done<T>) -> Result<Ran<T>, ApiError> {
        let mut screenshots = Vec::new();
        let mut bundle_url = None;
        if !done.screenshots.is_empty() {
            let mut entries = Vec::new();
            for (i, Screenshot { step, png }) in done.screenshots.into_iter().enumerate() {
                entries.push((format!("{:02}-{step}.png", i + 1), png.clone()));
                let name = ctx
                    .files
                    .save("screenshot", "png", png)
                    .await
                    .map_err(internal)?;
                screenshots.push(self.file_url(&name));
            }
            let name = ctx
                .files
                .save_zip("debug", entries)
                .await
                .map_err(internal)?;
            bundle_url = Some(self.file_url(&name));
        }
        Ok(Ran {
            value: done.value,
            screenshots,
            bundle_url,
        })
    }

    /// Add `note` to the label on this request's debug screenshots (the original wrote a
    /// check's `vm_email` there).
    pub fn annotate(&mut self, note: Option<&str>) {
        if let Some(debug) = self.debug.as_mut() {
            debug.note = note.map(str::to_string);
        }
    }

    pub fn file_url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base_url)
    }

    /// The fields every business response carries.
    pub fn response<T>(&self, ran: &Ran<T>, mut fields: Value) -> Value {
        fields["success"] = json!(true);
        fields["session_id"] = json!(self.session_id);
        fields["is_new_session"] = json!(self.is_new_session);
        if !ran.screenshots.is_empty() {
            fields["screenshots"] = json!(ran.screenshots);
        }
        if let Some(url) = &ran.bundle_url {
            fields["debug_bundle_url"] = json!(url);
        }
        fields
    }
}

pub fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        .with("error_code", json!("internal"))
}
