//! The login page, its POST handler, the identity hop and logout.
//!
//! Flow, as recorded (facts §1-§3): `GET /login` shows the form; its script renders Google's
//! reCAPTCHA the explicit way (an `iframe` from `/recaptcha/api2/anchor?k=<site key>` plus the
//! hidden response textarea; the callback is registered only inside `___grecaptcha_cfg`).
//! `POST /Account/Login` checks the token with the captcha stand-in, then the credentials;
//! success sets the HttpOnly session cookie and goes through the identity hop
//! (`/identity/Account/Continue` now and then, then `/signin-oidc?code=...`) to the account
//! host's Welcome page, not into the app. Failures re-render the form with an error.

use super::captcha::TokenError;
use super::hosts::Role;
use super::html::document;
use super::request::{Req, Resp, esc, html, redirect, script_json};
use super::state::{SESSION_COOKIE, State, Stats};
use serde_json::json;
use std::time::Duration;
use warp::http::StatusCode;

pub const CAPTCHA_ERROR: &str = "The captcha was not solved. Please try again.";
pub const CAPTCHA_EXPIRED: &str = "The captcha has expired. Please solve the captcha again.";
pub const BAD_CREDENTIALS: &str = "Invalid username or password";

const LOGIN_JS: &str = include_str!("assets/login.js");
const ANCHOR_JS: &str = include_str!("assets/recaptcha_anchor.js");

/// The login form's `ReturnUrl` when no authorize request sent the browser here.
const DEFAULT_RETURN: &str = "/connect/authorize/callback?client_id=ecp2&response_type=code&scope=openid%20profile&code_challenge_method=S256";

/// A `ReturnUrl` the login may go on to: an authorize request of this identity host.
fn return_url(raw: Option<&str>) -> Option<&str> {
    raw.filter(|u| u.starts_with("/connect/authorize?"))
}

/// `GET /login` and `GET /Account/Login[?ReturnUrl=/connect/authorize?...]` (the latter is
/// where an app host without its cookie ends up when nobody is signed in: facts §1's re-login
/// URL shape).
pub fn page(state: &State, req: &Req) -> Resp {
    let ret = return_url(req.q("ReturnUrl")).unwrap_or(DEFAULT_RETURN);
    html(StatusCode::OK, render(state, &[], "", ret))
}

fn render(state: &State, errors: &[&str], username: &str, return_url: &str) -> String {
    let errors_html = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors
            .iter()
            .map(|e| format!("<li>{}</li>", esc(e)))
            .collect();
        format!(
            "<div class=\"validation-summary-errors text-danger\" role=\"alert\" \
             data-valmsg-summary=\"true\"><ul>{items}</ul></div>"
        )
    };
    // The site key reaches the page only as the render call's parameter, as on sites that
    // call grecaptcha.render() themselves.
    let widget = json!({ "sitekey": state.settings.site_key });
    let body = format!(
        "<div class=\"emodal-login\">\
         <div class=\"logos\"><div class=\"logo-cargosprint\">Cargo<span>Sprint</span></div>\
           <div class=\"logo-emodal\">e<span>Modal</span></div></div>\
         <form method=\"post\" action=\"/Account/Login\" id=\"loginForm\" novalidate>{errors_html}\
           <label for=\"Username\">Username</label>\
           <input class=\"form-control\" type=\"text\" id=\"Username\" name=\"Username\" \
             autocomplete=\"username\" value=\"{user}\" autofocus>\
           <label for=\"Password\">Password</label>\
           <input class=\"form-control\" type=\"password\" id=\"Password\" name=\"Password\" \
             autocomplete=\"current-password\">\
           <div id=\"recaptcha-container\" class=\"recaptcha-container\"></div>\
           <a class=\"forgot\" href=\"#\" onclick=\"return false\">Forgot your Username or Password?</a>\
           <input type=\"hidden\" name=\"ReturnUrl\" value=\"{ret}\">\
           <button type=\"submit\" class=\"btn btn-primary btn-login\" id=\"login-submit\" \
             disabled>LOGIN</button>\
           <div class=\"register\">Don't have an account? <a href=\"#\" onclick=\"return false\">Register Now</a></div>\
         </form>\
         <p class=\"notice\"><i>Unauthorized automated access to this site, including page-scraping, \
           robots, spiders and similar tools, is prohibited.</i></p></div>\
         <script>window.RECAPTCHA_WIDGET = {widget};</script>\
         <script>{LOGIN_JS}</script>",
        user = esc(username),
        ret = esc(return_url),
        widget = script_json(&widget),
    );
    document("eModal - Login", "login-body", &body)
}

/// `GET /recaptcha/api2/anchor?k=...`: the checkbox frame Google serves. A person cannot
/// solve it here (no challenge exists); the page checks its box when the parent page says a
/// token arrived, as Google's frame shows a solved widget.
pub fn recaptcha_anchor(req: &Req) -> Resp {
    let key = req.q("k").unwrap_or("");
    let body = format!(
        "<div class=\"rc-anchor rc-anchor-normal rc-anchor-light\" data-k=\"{k}\">\
         <div class=\"rc-anchor-content\"><div class=\"rc-inline-block\"><div class=\"rc-anchor-center-container\">\
         <span class=\"recaptcha-checkbox goog-inline-block recaptcha-checkbox-unchecked rc-anchor-checkbox\" \
           role=\"checkbox\" aria-checked=\"false\" id=\"recaptcha-anchor\" tabindex=\"0\" dir=\"ltr\" \
           aria-labelledby=\"recaptcha-anchor-label\"></span></div></div>\
         <div class=\"rc-inline-block\"><label class=\"rc-anchor-center-item rc-anchor-checkbox-label\" \
           id=\"recaptcha-anchor-label\">I'm not a robot</label></div></div>\
         <div class=\"rc-anchor-normal-footer\"><div class=\"rc-anchor-logo-portrait\">\
           <div class=\"rc-anchor-logo-img rc-logo-img\"></div><div class=\"rc-anchor-logo-text\">reCAPTCHA</div></div>\
           <div class=\"rc-anchor-pt\"><small>Privacy - Terms</small></div></div>\
         <div class=\"rc-message\" id=\"rc-message\"></div></div>\
         <script>{ANCHOR_JS}</script>",
        k = esc(key),
    );
    html(
        StatusCode::OK,
        document("reCAPTCHA", "recaptcha-frame", &body),
    )
}

fn failed(state: &State, error: &str, username: &str, ret: &str) -> Resp {
    Stats::bump(&state.stats.logins_failed);
    html(StatusCode::OK, render(state, &[error], username, ret))
}

/// `POST /Account/Login`.
pub fn submit(state: &State, req: &Req) -> Resp {
    let form = req.form();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let username = field("Username").trim();
    let password = field("Password");
    let ret = return_url(form.get("ReturnUrl").map(String::as_str));
    let ret_field = ret.unwrap_or(DEFAULT_RETURN);

    let mut missing = Vec::new();
    if username.is_empty() {
        missing.push("The Username field is required.");
    }
    if password.is_empty() {
        missing.push("The Password field is required.");
    }
    if !missing.is_empty() {
        Stats::bump(&state.stats.logins_failed);
        return html(StatusCode::OK, render(state, &missing, username, ret_field));
    }

    // The token is checked (and used up) before the credentials, like a server that calls
    // Google's siteverify first.
    let ttl = Duration::from_secs(state.settings.token_ttl);
    match state
        .captcha
        .verify(field("g-recaptcha-response"), &state.settings.site_key, ttl)
    {
        Ok(()) => {}
        Err(TokenError::Expired) => return failed(state, CAPTCHA_EXPIRED, username, ret_field),
        Err(_) => return failed(state, CAPTCHA_ERROR, username, ret_field),
    }
    if !state.credentials_ok(username, password) {
        return failed(state, BAD_CREDENTIALS, username, ret_field);
    }

    Stats::bump(&state.stats.logins_ok);
    let (session, code) = state.create_session(username);
    tracing::debug!(username, "sandbox portal login");
    // Across origins the login goes on to the authorize request that sent the browser here,
    // else to ecp2's sign-in, whose return path `/` then lands on the account host's Welcome
    // page (facts §3). On one host: straight to the sign-in, as before.
    let hosts = state.hosts();
    let signin = match ret {
        Some(ret) if hosts.separate => ret.to_string(),
        _ if hosts.separate => format!(
            "{}?code={code}&state=%2F",
            hosts.url(Role::Ecp2, "/signin-oidc")
        ),
        _ => format!("/signin-oidc?code={code}&state=OpenIdConnect"),
    };
    let next = if state.identity_prompt_now() {
        let q = serde_urlencoded::to_string([("returnUrl", signin.as_str())]).unwrap_or_default();
        format!("/identity/Account/Continue?{q}")
    } else {
        signin
    };
    redirect(
        &next,
        Some(format!(
            "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
        )),
    )
}

/// `GET /identity/Account/Continue?returnUrl=...`: the identity host's interstitial that a
/// hop stops on now and then; "Continue" goes on to `returnUrl` (only to an app host's
/// `/signin-oidc` or to this host's authorize request).
pub fn identity_prompt(state: &State, req: &Req) -> Resp {
    let hosts = state.hosts();
    let next = req
        .q("returnUrl")
        .filter(|u| hosts.is_signin_url(u) || return_url(Some(u)).is_some())
        .unwrap_or("/login?");
    let action = next.split_once('?').map_or(next, |(a, _)| a);
    let body = format!(
        "<div class=\"identity-page\"><h2>Sign-in notice</h2>\
         <p>You signed in from a browser eModal has not seen recently. Continue to finish \
         signing in to eModal.</p>\
         <form method=\"get\" action=\"{action}\">{fields}\
         <button type=\"submit\" class=\"btn btn-primary btn-continue\">Continue</button></form></div>",
        fields = hidden_fields(next),
        action = esc(action),
    );
    html(StatusCode::OK, document("eModal Identity", "", &body))
}

/// The query of `url` as hidden inputs, so a GET form reproduces it.
fn hidden_fields(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    super::request::parse_urlencoded(query)
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect()
}

/// `GET /Account/Logout`: end the session and go back to the login page.
pub fn logout(state: &State, req: &Req) -> Resp {
    if let Some(id) = req.cookie(SESSION_COOKIE) {
        state.end_session(&id);
    }
    redirect(
        "/login",
        Some(format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Max-Age=0")),
    )
}
