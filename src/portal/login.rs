//! Logging in with the token method, and checking that a login is still alive.
//!
//! The login is split in two browser jobs around the captcha solve, which is async HTTP and
//! takes seconds to minutes: the browser thread is not held while 2captcha works.

use super::page::{js_lower_list, js_str};
use super::{DriverError, Page};
use crate::secret::Secret;
use serde::Deserialize;

/// What the login page tells the captcha solver.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginForm {
    pub site_key: String,
    pub page_url: String,
}

#[derive(Deserialize)]
struct Probe {
    state: String,
    #[serde(default)]
    site_key: String,
    #[serde(default)]
    url: String,
}

/// Open the login page and read the reCAPTCHA site key.
pub fn open_login(page: &mut Page) -> Result<LoginForm, DriverError> {
    page.step("open login page");
    let user = js_str(&page.selector("username")?);
    let recaptcha = js_str(&page.selector("recaptcha")?);
    let markers = page.marker_js();
    page.goto(&page.profile.login_url.clone())?;
    let probe: Probe = page.wait_for_new_page(
        "the login form",
        &format!(
            "const m = {markers}; if (m) return {{state: m}}; \
             const r = document.querySelector({recaptcha}); \
             if (document.querySelector({user}) && r) \
               return {{state: 'form', site_key: r.getAttribute('data-sitekey') || '', url: location.href}}; \
             return null;"
        ),
    )?;
    if probe.state != "form" {
        return Err(page.marker_error(&probe.state, "the login form"));
    }
    if probe.site_key.is_empty() {
        return Err(DriverError::unexpected(
            "open login page",
            "a reCAPTCHA site key (data-sitekey)",
        ));
    }
    Ok(LoginForm {
        site_key: probe.site_key,
        page_url: probe.url,
    })
}

/// Fill the form, hand the captcha token to the page, submit, and verify that the app
/// opened. Success is judged by the app's own element, never by the host name.
pub fn submit_login(
    page: &mut Page,
    username: &str,
    password: &Secret,
    token: &str,
) -> Result<String, DriverError> {
    page.step("fill login form");
    let user = js_str(&page.selector("username")?);
    let pass = js_str(&page.selector("password")?);
    let recaptcha = js_str(&page.selector("recaptcha")?);
    let response = js_str(&page.selector("recaptcha_response")?);
    let submit = js_str(&page.selector("submit")?);
    let app_ready = js_str(&page.selector("app_ready")?);
    let filled: bool = page.eval(&format!(
        "const set = (sel, v) => {{ const e = document.querySelector(sel); if (!e) return false; \
           e.focus(); e.value = v; e.dispatchEvent(new Event('input', {{bubbles: true}})); \
           e.dispatchEvent(new Event('change', {{bubbles: true}})); e.blur(); return true; }}; \
         if (!set({user}, {u}) || !set({pass}, {p})) return false; \
         const t = document.querySelector({response}); if (!t) return false; \
         t.style.display = 'block'; t.value = {tok}; t.innerHTML = {tok}; \
         t.dispatchEvent(new Event('input', {{bubbles: true}})); t.style.display = 'none'; \
         const w = document.querySelector({recaptcha}); const cb = w && w.getAttribute('data-callback'); \
         if (cb && typeof window[cb] === 'function') window[cb]({tok}); \
         return true;",
        u = js_str(username),
        p = js_str(password.expose()),
        tok = js_str(token),
    ))?;
    if !filled {
        return Err(DriverError::unexpected(
            "fill login form",
            "the username, password and g-recaptcha-response fields",
        ));
    }

    // The LOGIN button stays disabled until the page has seen the token.
    page.step("wait for the login button");
    page.wait_for::<bool>(
        "the login button to enable",
        &format!(
            "const b = document.querySelector({submit}); return b && !b.disabled ? true : null;"
        ),
    )?;

    page.step("submit login");
    page.mark_document()?;
    page.eval::<bool>(&format!(
        "document.querySelector({submit}).click(); return true;"
    ))?;
    let markers = page.marker_js();
    let bad = js_lower_list(&page.profile.texts.bad_credentials);
    let outcome: String = page.wait_for_new_page(
        "the app home or a login error",
        &format!(
            "if (document.querySelector({app_ready})) return 'app'; \
             const t = document.body.innerText.toLowerCase(); \
             if ({bad}.some(x => t.includes(x))) return 'bad_credentials'; \
             const m = {markers}; if (m) return m; \
             if (document.querySelector({user})) return 'login_form'; \
             return null;"
        ),
    )?;
    match outcome.as_str() {
        "app" => Ok(page.url()),
        "bad_credentials" => Err(DriverError::BadCredentials),
        "login_form" => {
            let captcha = js_lower_list(&page.profile.texts.captcha_error);
            let said: bool = page.eval(&format!(
                "const t = document.body.innerText.toLowerCase(); return {captcha}.some(x => t.includes(x));"
            ))?;
            Err(DriverError::CaptchaRejected(if said {
                String::new()
            } else {
                " (the login form came back without a recognised error)".into()
            }))
        }
        other => Err(page.marker_error(other, "the app home after login")),
    }
}

/// Open the keep-alive page and check that the portal still knows us: the page must show
/// `portal.selectors.keepalive_ready`, not merely load. Returns the URL.
pub fn check_logged_in(page: &mut Page) -> Result<String, DriverError> {
    page.step("open keep-alive page");
    let user = js_str(&page.selector("username")?);
    let ready = js_str(&page.selector("keepalive_ready")?);
    let markers = page.marker_js();
    page.goto(&page.profile.keepalive_url.clone())?;
    let state: String = page.wait_for_new_page(
        "the keep-alive page",
        &format!(
            "const m = {markers}; if (m) return m; \
             if (document.querySelector({user})) return 'logged_out'; \
             if (document.querySelector({ready})) return 'ok'; \
             return null;"
        ),
    )?;
    match state.as_str() {
        "ok" => Ok(page.url()),
        "logged_out" => Err(DriverError::LoggedOut),
        _ => Err(DriverError::unexpected(
            "open keep-alive page",
            "the keep-alive page, got 403 Forbidden",
        )),
    }
}
