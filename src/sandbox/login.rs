//! The login page, its POST handler, the identity hop and logout.
//!
//! Flow, as on the real portal: `GET /login` shows the form; `POST /Account/Login` checks the
//! reCAPTCHA token with the captcha stand-in, then the credentials; success sets the HttpOnly
//! session cookie and redirects through `/signin-oidc?code=...` to the app home `/`. Failures
//! re-render the form at `/Account/Login` with an error and create no session.

use super::captcha::TokenError;
use super::html::{BRAND, document};
use super::request::{Req, Resp, esc, html, redirect};
use super::state::{SESSION_COOKIE, State, Stats};
use std::time::Duration;
use warp::http::StatusCode;

pub const CAPTCHA_ERROR: &str = "The captcha was not solved. Please try again.";
pub const CAPTCHA_EXPIRED: &str = "The captcha has expired. Please solve the captcha again.";
pub const BAD_CREDENTIALS: &str = "Invalid username or password";

const LOGIN_JS: &str = include_str!("assets/login.js");

/// `GET /login` and `GET /Account/Login`.
pub fn page(state: &State) -> Resp {
    html(StatusCode::OK, render(state, &[], ""))
}

fn render(state: &State, errors: &[&str], username: &str) -> String {
    let errors_html = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors
            .iter()
            .map(|e| format!("<li>{}</li>", esc(e)))
            .collect();
        format!(
            "<div class=\"validation-summary-errors text-danger alert alert-danger\" role=\"alert\" \
             data-valmsg-summary=\"true\"><ul>{items}</ul></div>"
        )
    };
    let body = format!(
        "<div class=\"login-page\"><div class=\"login-card\">\
         <div class=\"login-brand\"><span class=\"brand-logo\">eM</span><div><h1>eModal</h1>\
         <p>{brand}</p></div></div>\
         <h2>Sign in to your account</h2>{errors_html}\
         <form method=\"post\" action=\"/Account/Login\" id=\"loginForm\" novalidate>\
           <label class=\"field\" for=\"Username\">Username</label>\
           <input class=\"form-control\" type=\"text\" id=\"Username\" name=\"Username\" \
             autocomplete=\"username\" value=\"{user}\" autofocus>\
           <label class=\"field\" for=\"Password\">Password</label>\
           <input class=\"form-control\" type=\"password\" id=\"Password\" name=\"Password\" \
             autocomplete=\"current-password\">\
           <div class=\"row-between\"><label><input type=\"checkbox\" name=\"RememberLogin\" value=\"true\"> \
             Remember me</label><a href=\"#\" onclick=\"return false\">Forgot password?</a></div>\
           <div class=\"g-recaptcha\" data-sitekey=\"{site_key}\" data-callback=\"onRecaptchaSuccess\" \
             data-expired-callback=\"onRecaptchaExpired\">\
             <div class=\"rc-anchor\" role=\"presentation\">\
               <span class=\"rc-anchor-checkbox\" role=\"checkbox\" aria-checked=\"false\" tabindex=\"0\" \
                 id=\"recaptcha-anchor\"></span>\
               <span class=\"rc-anchor-label\">I'm not a robot</span>\
               <span class=\"rc-anchor-logo\"><span class=\"rc-logo-img\"></span>reCAPTCHA\
                 <small>Privacy - Terms</small></span>\
             </div>\
             <textarea id=\"g-recaptcha-response\" name=\"g-recaptcha-response\" \
               class=\"g-recaptcha-response\" style=\"width:250px;height:40px;border:1px solid #c1c1c1;\
               margin:10px 25px;padding:0;resize:none;display:none;\"></textarea>\
           </div>\
           <div class=\"rc-message\" id=\"rc-message\"></div>\
           <input type=\"hidden\" name=\"ReturnUrl\" value=\"/\">\
           <button type=\"submit\" class=\"mat-mdc-raised-button login-submit\" id=\"login-submit\" \
             disabled>LOGIN</button>\
         </form></div>\
         <div class=\"login-footer\">&copy; CargoSprint &middot; eModal Community Portal &middot; \
           <a href=\"#\">Terms of use</a></div></div>\
         <script>{LOGIN_JS}</script>",
        brand = esc(BRAND),
        user = esc(username),
        site_key = esc(&state.settings.site_key),
    );
    document(&format!("Login - {BRAND}"), "login-body", &body)
}

fn failed(state: &State, error: &str, username: &str) -> Resp {
    Stats::bump(&state.stats.logins_failed);
    html(StatusCode::OK, render(state, &[error], username))
}

/// `POST /Account/Login`.
pub fn submit(state: &State, req: &Req) -> Resp {
    let form = req.form();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let username = field("Username").trim();
    let password = field("Password");

    let mut missing = Vec::new();
    if username.is_empty() {
        missing.push("The Username field is required.");
    }
    if password.is_empty() {
        missing.push("The Password field is required.");
    }
    if !missing.is_empty() {
        Stats::bump(&state.stats.logins_failed);
        return html(StatusCode::OK, render(state, &missing, username));
    }

    // The token is checked (and used up) before the credentials, like a server that calls
    // Google's siteverify first.
    let ttl = Duration::from_secs(state.settings.token_ttl);
    match state
        .captcha
        .verify(field("g-recaptcha-response"), &state.settings.site_key, ttl)
    {
        Ok(()) => {}
        Err(TokenError::Expired) => return failed(state, CAPTCHA_EXPIRED, username),
        Err(_) => return failed(state, CAPTCHA_ERROR, username),
    }
    if !state.credentials_ok(username, password) {
        return failed(state, BAD_CREDENTIALS, username);
    }

    Stats::bump(&state.stats.logins_ok);
    let (session, code) = state.create_session(username);
    tracing::debug!(username, "sandbox portal login");
    redirect(
        &format!("/signin-oidc?code={code}&state=OpenIdConnect"),
        Some(format!(
            "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
        )),
    )
}

/// `GET /signin-oidc?code=...`: the identity provider's redirect back into the app.
pub fn signin_oidc(state: &State, req: &Req) -> Resp {
    if req.q("code").is_some_and(|c| state.take_oidc_code(c)) {
        redirect("/", None)
    } else {
        redirect("/login", None)
    }
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
