//! The OIDC hops between the identity host and the app hosts, as an OIDC app does them.
//!
//! Each app host keeps its own host-only, HttpOnly session cookie. Without it, a page on that
//! host sends the browser to the identity host's `/connect/authorize` (PKCE, `state` = the
//! page asked for); with a live identity session that answers at once with a redirect back to
//! the host's `/signin-oidc?code=...`, which trades the one-time code for the host's cookie and
//! goes on to the page. Without one, authorize shows the login form at
//! `/Account/Login?ReturnUrl=/connect/authorize?...` (the recorded re-login URL shape).
//!
//! A host cookie whose portal session has ended (logout, idle expiry) gets the portal's
//! logged-out page (facts §4), and the host drops the cookie, so after a new login the host
//! signs in again through authorize instead of showing the logged-out page forever.

use super::hosts::Role;
use super::html;
use super::request::{Req, Resp, html as html_resp, redirect};
use super::state::{SESSION_COOKIE, State, Stats, random_id};
use warp::http::{StatusCode, header};

/// What an app host knows about the browser asking for a page.
pub enum Gate {
    /// Its own live session: the user.
    User(String),
    /// No cookie for this host: it must sign in through the identity host.
    NoCookie,
    /// A cookie whose session is unknown or over.
    Ended,
}

/// Check the browser's session on `role`'s host.
pub fn gate(state: &State, role: Role, req: &Req) -> Gate {
    let Some(id) = req.cookie(SESSION_COOKIE) else {
        return Gate::NoCookie;
    };
    // On one host the cookie names the portal session itself.
    let user = if role == Role::All {
        state.touch_session(&id)
    } else {
        state.host_user(role, &id)
    };
    user.map_or(Gate::Ended, Gate::User)
}

/// The portal's logged-out page; an app host also drops its dead cookie.
pub fn logged_out(state: &State, role: Role) -> Resp {
    Stats::bump(&state.stats.logged_out_pages);
    let login = state.hosts().url(Role::Identity, "/login");
    let mut r = html_resp(StatusCode::OK, html::logged_out_page(&login));
    if role != Role::All
        && let Ok(v) = header::HeaderValue::from_str(&clear_cookie())
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

fn host_cookie(id: &str) -> String {
    format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
}

fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Max-Age=0")
}

/// A page path of this host to return to (never another origin).
fn local_path(p: Option<&str>) -> Option<&str> {
    p.filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
}

/// An app host's redirect to the identity host's authorize endpoint, to come back to `path`.
pub fn challenge(state: &State, role: Role, path: &str) -> Resp {
    let hosts = state.hosts();
    let redirect_uri = hosts.url(role, "/signin-oidc");
    // PKCE as the recorded ReturnUrl shows it; the sandbox does not check the verifier.
    let challenge = random_id();
    let q = serde_urlencoded::to_string([
        ("client_id", role.client_id()),
        ("redirect_uri", redirect_uri.as_str()),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", path),
    ])
    .unwrap_or_default();
    redirect(
        &format!("{}?{q}", hosts.url(Role::Identity, "/connect/authorize")),
        None,
    )
}

/// `GET /connect/authorize?...` on the identity host.
pub fn authorize(state: &State, req: &Req) -> Resp {
    let hosts = state.hosts();
    let redirect_uri = req.q("redirect_uri").unwrap_or("");
    if hosts.signin_role(redirect_uri).is_none() || req.q("response_type") != Some("code") {
        return html_resp(
            StatusCode::BAD_REQUEST,
            html::document(
                "eModal Identity - Error",
                "",
                "<div class=\"plain-page\"><h1>Sorry, there was an error : unauthorized_client</h1>\
                 <p>Invalid redirect_uri</p></div>",
            ),
        );
    }
    let session = req
        .cookie(SESSION_COOKIE)
        .filter(|id| state.touch_session(id).is_some());
    match session {
        Some(portal) => {
            let code = state.issue_code(&portal);
            let q = serde_urlencoded::to_string([
                ("code", code.as_str()),
                ("state", req.q("state").unwrap_or("")),
            ])
            .unwrap_or_default();
            redirect(&format!("{redirect_uri}?{q}"), None)
        }
        None => {
            let full = format!("/connect/authorize?{}", req.raw_query);
            let q = serde_urlencoded::to_string([("ReturnUrl", full.as_str())]).unwrap_or_default();
            redirect(&format!("/Account/Login?{q}"), None)
        }
    }
}

/// `GET /signin-oidc?code=...&state=...` on an app host: the identity provider's redirect
/// back. On one host the login's cookie already is the session; every recorded run then
/// ended on the account host's Welcome page.
pub fn signin_oidc(state: &State, role: Role, req: &Req) -> Resp {
    let portal = req.q("code").and_then(|c| state.take_oidc_code(c));
    if role == Role::All {
        return match portal {
            Some(_) => redirect("/Home/Welcome", None),
            None => redirect("/login", None),
        };
    }
    let Some(portal) = portal else {
        return redirect(&state.hosts().url(Role::Identity, "/login"), None);
    };
    let id = state.create_host_session(role, &portal);
    let next = local_path(req.q("state")).unwrap_or(role.landing());
    redirect(next, Some(host_cookie(&id)))
}

/// A 404 page for a path this host does not serve.
pub fn not_found(path: &str) -> Resp {
    html_resp(StatusCode::NOT_FOUND, html::not_found_page(path))
}
