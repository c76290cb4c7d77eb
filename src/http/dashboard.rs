//! `GET /dashboard`: one static page for operators (sessions, live events, capacity).
//!
//! The page, its scripts and its stylesheet are compiled into the binary: the service must
//! work on networks without internet, so nothing comes from a CDN and nothing is built.
//! They load without a token, because they hold no data: the scripts ask for the token
//! and send it on every call they make to the API, which checks it as for any client.
//!
//! The scripts are ES modules, one concern each (`app.js` imports the rest). A browser
//! refuses to run a module served with a non-JavaScript content type, so every file here
//! gets its type from its extension, and a name not in [`ASSETS`] is a 404.
//!
//! The policy allows only these files and calls back to this origin: no inline script, no
//! other origin, and `blob:` images for the screenshots the script fetches with the token
//! (an `<img src>` cannot send an `Authorization` header).

use crate::error::ApiError;
use warp::http::StatusCode;
use warp::http::header::{self, HeaderValue};
use warp::{Filter, Rejection};

const INDEX: &str = include_str!("dashboard/index.html");

/// Every file the page loads, by its name under `/dashboard/`.
const ASSETS: &[(&str, &str)] = &[
    ("dashboard.css", include_str!("dashboard/dashboard.css")),
    ("app.js", include_str!("dashboard/app.js")),
    ("api.js", include_str!("dashboard/api.js")),
    ("util.js", include_str!("dashboard/util.js")),
    ("table.js", include_str!("dashboard/table.js")),
    ("operation.js", include_str!("dashboard/operation.js")),
    ("details.js", include_str!("dashboard/details.js")),
    ("events.js", include_str!("dashboard/events.js")),
    ("feed.js", include_str!("dashboard/feed.js")),
    ("screenshot.js", include_str!("dashboard/screenshot.js")),
    ("capacity.js", include_str!("dashboard/capacity.js")),
];

const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let page = warp::path!("dashboard").map(|| asset(INDEX, "text/html; charset=utf-8"));
    // A plain map, not an `and_then`: every route's future is nested in the server's one,
    // and a debug build runs it on a thread's stack.
    let file = warp::path!("dashboard" / String).map(|name: String| {
        match ASSETS.iter().find(|(known, _)| *known == name) {
            Some((name, body)) => asset(body, content_type(name)),
            None => ApiError::new(StatusCode::NOT_FOUND, "no such endpoint").into_response(),
        }
    });
    // The path first, then the method: a method filter in front would turn every other
    // route's rejection (413 for a large body, say) into this one's 405.
    page.or(file).unify().and(warp::get())
}

fn content_type(name: &str) -> &'static str {
    if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to the directory but not to `ASSETS` would 404 in the browser, and a
    /// module importing it would take the whole page down with it.
    #[test]
    fn every_file_in_the_directory_is_served_and_every_import_resolves() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/dashboard");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name == "index.html" {
                continue;
            }
            assert!(
                ASSETS.iter().any(|(known, _)| *known == name),
                "{name} is not in ASSETS"
            );
        }
        for (name, body) in ASSETS.iter().filter(|(n, _)| n.ends_with(".js")) {
            for import in body.lines().filter_map(|l| l.split(" from './").nth(1)) {
                let target = import.trim_end_matches("';");
                assert!(
                    ASSETS.iter().any(|(known, _)| *known == target),
                    "{name} imports {target}, which is not served"
                );
            }
        }
    }
}
