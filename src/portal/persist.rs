//! Carrying a portal login from one Chrome to another: read the portal's cookies and web
//! storage from a logged-in browser, and put them into a fresh one before its first
//! navigation. A session restored this way is logged in without a captcha, as long as the
//! portal still honours its cookies (the keep-alive page then says so).

use super::{DriverError, Page};
use crate::config::PortalProfile;
use crate::model::{BrowserState, Cookie, OriginStorage};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const STORAGE_READ: &str = include_str!("js/storage_read.js");
const STORAGE_RESTORE: &str = include_str!("js/storage_restore.js");

/// The portal's cookies (every host of the profile's URLs, and the domains above them) and
/// the web storage of the page the session is on. A page can only read its own origin's
/// storage, so each capture sees one origin; [`BrowserState::merged`] keeps the others.
pub fn capture(page: &mut Page) -> Result<BrowserState, DriverError> {
    let hosts = portal_hosts(&page.profile);
    let reply = cookie_call(page, "getCookies", "getAllCookies", json!({}))?;
    let cookies = reply["cookies"]
        .as_array()
        .map(|all| all.iter().filter_map(parse_cookie).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| hosts.iter().any(|h| domain_matches(h, &c.domain)))
        .collect();
    let mut storage = BTreeMap::new();
    // Storage is a bonus on top of the cookies: a page being replaced cannot be asked,
    // and then the last capture's copy stands.
    if let Ok(Some(seen)) = page.run_js::<Option<SeenStorage>>(STORAGE_READ, &json!({})) {
        let host = host_of(&seen.origin);
        if hosts.iter().any(|h| Some(h.as_str()) == host) {
            storage.insert(
                seen.origin,
                OriginStorage {
                    local: seen.local,
                    session: seen.session,
                },
            );
        }
    }
    Ok(BrowserState { cookies, storage })
}

/// Install `state` in a browser that has not navigated yet: the cookies at once, the web
/// storage by a script that runs first in every new document of a saved origin. Returns the
/// script's id, for [`forget_restore_script`] once the session is known to be logged in.
pub fn install(page: &mut Page, state: &BrowserState) -> Result<Option<String>, DriverError> {
    if !state.cookies.is_empty() {
        let cookies: Vec<Value> = state.cookies.iter().map(cookie_param).collect();
        cookie_call(
            page,
            "setCookies",
            "setCookies",
            json!({"cookies": cookies}),
        )?;
    }
    if state.storage.is_empty() {
        return Ok(None);
    }
    let source = format!(
        "const A = {};\n{STORAGE_RESTORE}",
        json!({"storage": state.storage})
    );
    let reply = page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": source}),
        false,
    )?;
    Ok(reply["identifier"].as_str().map(str::to_string))
}

/// Stop putting the saved storage into new documents.
pub fn forget_restore_script(page: &mut Page, id: &str) -> Result<(), DriverError> {
    page.call(
        "Page.removeScriptToEvaluateOnNewDocument",
        json!({"identifier": id}),
        false,
    )
    .map(|_| ())
}

/// Restore a session in a fresh browser: install `state`, open the keep-alive page and check
/// the app's ready element. The URL when logged in; `DriverError::LoggedOut` when the portal
/// no longer honours the cookies.
pub fn restore(page: &mut Page, state: &BrowserState) -> Result<String, DriverError> {
    page.step("install the snapshot");
    let script = install(page, state)?;
    let url = super::check_logged_in(page)?;
    if let Some(id) = script {
        forget_restore_script(page, &id)?;
    }
    Ok(url)
}

/// `Storage.<modern>`, or `Network.<legacy>` on a Chrome that lacks it (the Storage domain's
/// cookie calls are newer; `Network.getAllCookies` is deprecated but older Chromes have
/// only that).
fn cookie_call(
    page: &mut Page,
    modern: &str,
    legacy: &str,
    params: Value,
) -> Result<Value, DriverError> {
    match page.call(&format!("Storage.{modern}"), params.clone(), false) {
        Ok(v) => Ok(v),
        Err(DriverError::Browser(why)) => Err(DriverError::Browser(why)),
        Err(_) => page.call(&format!("Network.{legacy}"), params, false),
    }
}

#[derive(Deserialize)]
struct SeenStorage {
    origin: String,
    local: BTreeMap<String, String>,
    session: BTreeMap<String, String>,
}

fn parse_cookie(v: &Value) -> Option<Cookie> {
    let text = |k: &str| v[k].as_str().map(str::to_string);
    let session = v["session"].as_bool().unwrap_or(false);
    Some(Cookie {
        name: text("name")?,
        value: text("value")?,
        domain: text("domain")?,
        path: text("path").unwrap_or_else(|| "/".into()),
        expires: v["expires"].as_f64().filter(|e| !session && *e > 0.0),
        http_only: v["httpOnly"].as_bool().unwrap_or(false),
        secure: v["secure"].as_bool().unwrap_or(false),
        same_site: text("sameSite"),
        source_scheme: text("sourceScheme"),
        source_port: v["sourcePort"].as_i64(),
    })
}

/// `Network.CookieParam` for `c`. A host-only cookie is set through a URL of its host (a
/// `domain` would make it a domain cookie, sent to subdomains too); a domain cookie keeps
/// its domain.
fn cookie_param(c: &Cookie) -> Value {
    let mut p = json!({
        "name": c.name,
        "value": c.value,
        "path": c.path,
        "secure": c.secure,
        "httpOnly": c.http_only,
    });
    if c.domain.starts_with('.') {
        p["domain"] = json!(c.domain);
    } else {
        let secure_scheme = c.secure || c.source_scheme.as_deref() == Some("Secure");
        let scheme = if secure_scheme { "https" } else { "http" };
        let port = match c.source_port {
            Some(p) if p > 0 && p != 80 && p != 443 => format!(":{p}"),
            _ => String::new(),
        };
        p["url"] = json!(format!("{scheme}://{}{port}{}", c.domain, c.path));
    }
    if let Some(e) = c.expires {
        p["expires"] = json!(e);
    }
    if let Some(s) = &c.same_site {
        p["sameSite"] = json!(s);
    }
    if let Some(s) = &c.source_scheme {
        p["sourceScheme"] = json!(s);
    }
    if let Some(port) = c.source_port {
        p["sourcePort"] = json!(port);
    }
    p
}

/// Hosts of every URL in the profile (lower case, no port).
fn portal_hosts(profile: &PortalProfile) -> Vec<String> {
    let mut hosts: Vec<String> = [
        &profile.login_url,
        &profile.home_url,
        &profile.containers_url,
        &profile.keepalive_url,
        &profile.addvisit_url,
        &profile.myappointments_url,
    ]
    .into_iter()
    .filter_map(|u| host_of(u).map(str::to_ascii_lowercase))
    .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// `host` of `scheme://host[:port]/...`.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    (!host.is_empty()).then_some(host)
}

/// Would a cookie of `domain` be sent to `host`? (RFC 6265 domain matching, with a leading
/// dot meaning "and subdomains".)
fn domain_matches(host: &str, domain: &str) -> bool {
    let d = domain.trim_start_matches('.').to_ascii_lowercase();
    host == d || host.ends_with(&format!(".{d}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_domains() {
        assert_eq!(
            host_of("https://ecp2.emodal.com/x?y"),
            Some("ecp2.emodal.com")
        );
        assert_eq!(
            host_of("http://127.0.0.4:5011/trucker/web/"),
            Some("127.0.0.4")
        );
        assert!(domain_matches("ecp2.emodal.com", ".emodal.com"));
        assert!(domain_matches("ecp2.emodal.com", "ecp2.emodal.com"));
        assert!(!domain_matches("ecp2.emodal.com", "evil.com"));
        assert!(!domain_matches("notemodal.com", ".emodal.com"));
    }

    #[test]
    fn host_only_cookies_are_set_through_their_url() {
        let c = Cookie {
            name: "ecp_session".into(),
            value: "v".into(),
            domain: "127.0.0.2".into(),
            path: "/".into(),
            expires: None,
            http_only: true,
            secure: false,
            same_site: Some("Lax".into()),
            source_scheme: Some("NonSecure".into()),
            source_port: Some(5011),
        };
        let p = cookie_param(&c);
        assert_eq!(p["url"], "http://127.0.0.2:5011/");
        assert!(p.get("domain").is_none() && p.get("expires").is_none());
        let d = Cookie {
            domain: ".emodal.com".into(),
            secure: true,
            expires: Some(2e9),
            ..c
        };
        let p = cookie_param(&d);
        assert_eq!(p["domain"], ".emodal.com");
        assert_eq!(p["expires"], 2e9);
    }
}
