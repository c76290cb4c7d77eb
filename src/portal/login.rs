//! Logging in with the token method, and checking that a login is still alive.
//!
//! The login is split in two browser jobs around the captcha solve, which is async HTTP and
//! takes seconds to minutes: the browser thread is not held while 2captcha works.

use super::{DriverError, Page};
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What the login page tells the captcha solver.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginForm {
    pub site_key: String,
    pub page_url: String,
}

const LOGIN_OPEN: &str = include_str!("js/login_open.js");
const LOGIN_FILL: &str = include_str!("js/login_fill.js");
const LOGIN_SUBMIT: &str = include_str!("js/login_submit.js");
const LOGIN_AFTER: &str = include_str!("js/login_after.js");
const KEEPALIVE: &str = include_str!("js/keepalive.js");

/// The profile keys of the login page and the identity hop.
pub const LOGIN_KEYS: &[&str] = &[
    "username",
    "password",
    "recaptcha",
    "recaptcha_response",
    "submit",
    "keepalive_ready",
    "prompt_controls",
];

/// How long the page after LOGIN may stay the same non-app page (an identity or Welcome
/// page) before the driver opens the app itself.
const HOP_SETTLE: Duration = Duration::from_millis(1500);
/// Interstitial prompts pressed at most this often in one login.
const MAX_PROMPTS: u32 = 5;

#[derive(Deserialize)]
struct Probe {
    state: String,
    #[serde(default)]
    site_key: String,
    #[serde(default)]
    url: String,
}

#[derive(Deserialize)]
struct Filled {
    ok: bool,
    #[serde(default)]
    why: String,
}

#[derive(Deserialize)]
struct After {
    state: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    text: String,
}

fn login_args(page: &Page) -> Result<Value, DriverError> {
    let mut args = page.args(LOGIN_KEYS)?;
    let t = &page.profile.texts;
    let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
    args["bad_credentials"] = json!(lower(&t.bad_credentials));
    args["captcha_error"] = json!(lower(&t.captcha_error));
    args["prompt_buttons"] = json!(t.prompt_buttons);
    Ok(args)
}

/// Open the login page and read the reCAPTCHA site key.
pub fn open_login(page: &mut Page) -> Result<LoginForm, DriverError> {
    page.step("open login page");
    let args = login_args(page)?;
    page.goto(&page.profile.login_url.clone())?;
    let probe: Probe = page.wait_new_page_js(
        "the login form with a reCAPTCHA site key (data-sitekey or the anchor iframe's k)",
        LOGIN_OPEN,
        &args,
    )?;
    if probe.state != "form" {
        return Err(page.marker_error(&probe.state, "the login form"));
    }
    Ok(LoginForm {
        site_key: probe.site_key,
        page_url: probe.url,
    })
}

/// Fill the form, hand the captcha token to the page, submit, and verify that the portal
/// knows us. Success is judged by the app's own element on the keep-alive page, never by a
/// host name: after the identity hop the real portal lands on a Welcome page of another host.
pub fn submit_login(
    page: &mut Page,
    username: &str,
    password: &Secret,
    token: &str,
) -> Result<String, DriverError> {
    page.step("fill login form");
    let mut args = login_args(page)?;
    args["username"] = json!(username);
    args["password"] = json!(password.expose());
    args["token"] = json!(token);
    let filled: Filled = page.run_js(LOGIN_FILL, &args)?;
    // The password goes no further than this one call.
    args["password"] = Value::Null;
    args["token"] = Value::Null;
    if !filled.ok {
        return Err(DriverError::unexpected("fill login form", filled.why));
    }

    // The LOGIN button stays disabled until the page has seen the token.
    page.step("submit login");
    page.mark_document()?;
    page.wait_js::<bool>("the login button to enable", LOGIN_SUBMIT, &args)?;

    page.step("follow the identity hop");
    let mut prompts = 0;
    let mut other: Option<(String, Instant)> = None;
    loop {
        let got: Option<After> = match page.run_js(LOGIN_AFTER, &args) {
            Ok(v) => v,
            Err(e @ DriverError::Browser(_)) => return Err(e),
            Err(_) => None,
        };
        match got {
            None => other = None,
            Some(a) => match a.state.as_str() {
                "app" => break,
                "bad_credentials" => return Err(DriverError::BadCredentials),
                "captcha" => return Err(DriverError::CaptchaRejected(String::new())),
                "login_form" => {
                    return Err(DriverError::CaptchaRejected(
                        " (the login form came back without a recognised error)".into(),
                    ));
                }
                "prompt" => {
                    prompts += 1;
                    tracing::info!(event = "login_prompt_pressed", button = %a.text);
                    if prompts > MAX_PROMPTS {
                        return Err(DriverError::unexpected(
                            "follow the identity hop",
                            format!("the app, got prompt after prompt (last: '{}')", a.text),
                        ));
                    }
                    other = None;
                }
                "other" => match &other {
                    Some((url, since)) if *url == a.url => {
                        if since.elapsed() >= HOP_SETTLE {
                            break;
                        }
                    }
                    _ => other = Some((a.url, Instant::now())),
                },
                marker => return Err(page.marker_error(marker, "the app after login")),
            },
        }
        if page.remaining() < Duration::from_millis(20) {
            return Err(DriverError::Timeout {
                step: "follow the identity hop (waiting for the app or a login error)".into(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Wherever the hop landed (the app, a Welcome page), the portal knows us only if its
    // app opens.
    check_logged_in(page)
}

/// Open the keep-alive page and check that the portal still knows us: the page must show
/// `portal.selectors.keepalive_ready`, not merely load. Returns the URL.
pub fn check_logged_in(page: &mut Page) -> Result<String, DriverError> {
    page.step("open keep-alive page");
    let args = page.args(&["username", "keepalive_ready"])?;
    page.goto(&page.profile.keepalive_url.clone())?;
    let state: String = page.wait_new_page_js("the keep-alive page", KEEPALIVE, &args)?;
    match state.as_str() {
        "ok" => Ok(page.url()),
        other => Err(page.marker_error(other, "the keep-alive page")),
    }
}
