//! `GET /dashboard`: one static page for operators (sessions, live events, capacity).
//!
//! The page, its script and its stylesheet are compiled into the binary: the service must
//! work on networks without internet, so nothing comes from a CDN and nothing is built.
//! They load without a token, because they hold no data: the script asks for the token
//! and sends it on every call it makes to the API, which checks it as for any client.
//!
//! The policy allows only these files and calls back to this origin: no inline script, no
//! other origin, and `blob:` images for the screenshots the script fetches with the token
//! (an `<img src>` cannot send an `Authorization` header).

use warp::http::header::{self, HeaderValue};
use warp::{Filter, Rejection};

const INDEX: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");
const STYLE: &str = include_str!("dashboard/dashboard.css");

const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let page = warp::path!("dashboard").map(|| asset(INDEX, "text/html; charset=utf-8"));
    let script = warp::path!("dashboard" / "dashboard.js")
        .map(|| asset(SCRIPT, "text/javascript; charset=utf-8"));
    let style =
        warp::path!("dashboard" / "dashboard.css").map(|| asset(STYLE, "text/css; charset=utf-8"));
    // The path first, then the method: a method filter in front would turn every other
    // route's rejection (413 for a large body, say) into this one's 405.
    page.or(script).unify().or(style).unify().and(warp::get())
}

fn asset(body: &'static str, content_type: &'static str) -> warp::reply::Response {
    let mut response = warp::reply::Response::new(body.into());
    let headers = response.headers_mut();
    let fixed = |v: &'static str| HeaderValue::from_static(v);
    headers.insert(header::CONTENT_TYPE, fixed(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, fixed(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, fixed("nosniff"));
    headers.insert(header::REFERRER_POLICY, fixed("no-referrer"));
    // A new binary may ship a new page: always ask, never serve a stale script.
    headers.insert(header::CACHE_CONTROL, fixed("no-cache"));
    response
}
