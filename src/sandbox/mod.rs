//! The sandbox: a local stand-in for the E-Modal trucker portal and for the 2captcha API.
//!
//! Tests, benchmarks and first-time users cannot (and must not) reach the real portal, so every
//! browser-driving code path runs against this server instead. It is only useful if it is
//! faithful: pages use the real portal's element names, classes, texts and flows (see
//! `portal-reference.md`), render client-side where the real app does, and can be slowed down
//! (`render_delay_ms`) so that a driver which sleeps instead of waiting fails here too.
//!
//! All pages live on one host; the real portal spreads them over several, and the driver keeps
//! only the path (`Settings::wire_to_sandbox`).
//!
//! | path | what |
//! |---|---|
//! | `GET /login`, `POST /Account/Login`, `GET /identity/Account/Continue`, `GET /signin-oidc`, `GET /Account/Logout`, `GET /recaptcha/api2/anchor` | `login` |
//! | `GET /` (redirects), `GET /Home/Welcome`, `GET /trucker/web/` | `pages` |
//! | `GET /containers`, `GET /api/containers`, `GET /api/containers/detail` | `containers` |
//! | `GET /trucker/web/addvisit`, `/api/wizard/*` | `wizard` |
//! | `GET /myappointments`, `GET /api/appointments` | `appointments` |
//! | `POST /in.php`, `GET /res.php` | `captcha` (2captcha) |
//! | `/__sandbox/*` | `controls` |

mod appointments;
mod captcha;
mod containers;
mod controls;
mod data;
mod html;
mod login;
mod pages;
mod request;
mod rng;
mod state;
mod wizard;

use crate::config::{SandboxSettings, Settings};
use request::{Req, Resp, html as html_resp, json};
use serde_json::json as j;
use state::{SESSION_COOKIE, State, Stats};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use warp::Filter;
use warp::http::{Method, StatusCode};

pub use captcha::{UNSOLVABLE_KEY, WRONG_KEY, ZERO_BALANCE_KEY};
/// ISO 6346 helpers, for tests and for callers validating container numbers.
pub use data::{is_valid_container_number, iso6346_check_digit};

/// A running sandbox server.
pub struct SandboxServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl SandboxServer {
    /// Bind `settings.host:settings.port` (port 0 picks a free port) and serve in the background.
    pub async fn start(settings: &SandboxSettings) -> anyhow::Result<SandboxServer> {
        let listener = tokio::net::TcpListener::bind((settings.host.as_str(), settings.port))
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "sandbox: cannot listen on {}:{}: {e}",
                    settings.host,
                    settings.port
                )
            })?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(settings));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = warp::serve(routes(state))
            .incoming(listener)
            .graceful(async move {
                let _ = stopped.await;
            });
        let task = tokio::spawn(server.run());
        tracing::info!(%addr, "sandbox portal listening");
        Ok(SandboxServer { addr, stop, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<ip>:<port>` without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop serving and wait for the server task to end. Open keep-alive connections (a
    /// browser's) get a few seconds to finish, then the task is aborted.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

/// One catch-all filter: every request reaches [`dispatch`], so nothing ends as a warp
/// rejection (and nothing as a 500).
fn routes(
    state: Arc<State>,
) -> impl Filter<Extract = (Resp,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(
            move |method, path: warp::path::FullPath, query: String, headers, body| {
                let state = state.clone();
                async move {
                    let Some(body) = read_body(body).await else {
                        return json(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            &j!({"error": "request body too large"}),
                        );
                    };
                    let req = Req::new(method, path.as_str().to_string(), &query, headers, body);
                    dispatch(&state, &req).await
                }
            },
        )
}

/// Largest request body the sandbox reads; nothing it serves needs more than a few kB.
const MAX_BODY: usize = 1 << 20;

/// Collect a request body up to [`MAX_BODY`] (`None` when larger). A broken body stream ends
/// the body where it broke: the handlers then see a malformed request and say so.
async fn read_body<S, B>(stream: S) -> Option<warp::hyper::body::Bytes>
where
    S: warp::Stream<Item = Result<B, warp::Error>>,
    B: warp::Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        let Ok(mut chunk) = chunk else { break };
        while chunk.has_remaining() {
            let part = chunk.chunk();
            if out.len() + part.len() > MAX_BODY {
                return None;
            }
            out.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Some(out.into())
}

/// The app pages that need a portal session.
const APP_PAGES: [&str; 7] = [
    "/",
    "/Home/Welcome",
    "/containers",
    "/trucker/web/",
    "/trucker/web",
    "/trucker/web/addvisit",
    "/myappointments",
];

async fn dispatch(state: &State, req: &Req) -> Resp {
    let path = req.path.as_str();
    // 2captcha and the controls are other services: never in the portal's maintenance.
    match path {
        "/in.php" => return captcha::in_php(state, req),
        "/res.php" => return captcha::res_php(state, req),
        _ => {}
    }
    if let Some(name) = path.strip_prefix("/__sandbox/") {
        return controls::handle(state, req, name);
    }

    let is_api = path.starts_with("/api/");
    let outage = state.outage_remaining();
    if outage > 0 {
        return if is_api {
            json(
                StatusCode::SERVICE_UNAVAILABLE,
                &j!({"error": "service unavailable"}),
            )
        } else {
            html_resp(
                StatusCode::SERVICE_UNAVAILABLE,
                html::maintenance_page(outage),
            )
        };
    }

    match (&req.method, path) {
        (&Method::GET, "/login" | "/Account/Login") => return login::page(state),
        (&Method::POST, "/Account/Login" | "/login") => return login::submit(state, req),
        (&Method::GET, "/signin-oidc") => return login::signin_oidc(state, req),
        (&Method::GET, "/identity/Account/Continue") => return login::identity_prompt(req),
        (&Method::GET, "/recaptcha/api2/anchor") => return login::recaptcha_anchor(req),
        (&Method::GET, "/Account/Logout") => return login::logout(state, req),
        _ => {}
    }

    let is_page = req.method == Method::GET && APP_PAGES.contains(&path);
    if !is_page && !is_api {
        return html_resp(StatusCode::NOT_FOUND, html::not_found_page(path));
    }

    let user = req
        .cookie(SESSION_COOKIE)
        .and_then(|id| state.touch_session(&id));
    let Some(user) = user else {
        return if is_api {
            json(StatusCode::UNAUTHORIZED, &j!({"error": "not logged in"}))
        } else {
            Stats::bump(&state.stats.logged_out_pages);
            html_resp(StatusCode::OK, html::logged_out_page())
        };
    };

    if is_page {
        Stats::bump(&state.stats.page_loads);
        return match path {
            // The ecp2 root lands on the account host's Welcome page (all recorded runs).
            "/" => request::redirect("/Home/Welcome", None),
            "/Home/Welcome" => pages::welcome(state, &user),
            "/containers" => containers::page(state, &user),
            "/trucker/web/addvisit" => wizard::page(&user),
            "/myappointments" => appointments::page(&user),
            _ => pages::keepalive(state, &user),
        };
    }

    Stats::bump(&state.stats.api_calls);
    let Some(account) = state.account(&user) else {
        return json(StatusCode::NOT_FOUND, &j!({"error": "unknown account"}));
    };
    match (&req.method, path) {
        (&Method::GET, "/api/containers") => containers::api_page(state, &user, req).await,
        (&Method::GET, "/api/containers/detail") => containers::api_detail(state, &user, req).await,
        (&Method::GET, "/api/appointments") => appointments::api_list(state, &user).await,
        (&Method::GET, "/api/wizard/options") => wizard::api_options(state, &account).await,
        (&Method::POST, "/api/wizard/step1") => wizard::api_step1(state, &account, req).await,
        (&Method::POST, "/api/wizard/slots") => wizard::api_slots(state, req).await,
        (&Method::POST, "/api/wizard/book") => wizard::api_book(state, &account, req).await,
        _ => json(StatusCode::NOT_FOUND, &j!({"error": "not found"})),
    }
}

/// `emodal-api sandbox-portal`: run the stand-in alone until Ctrl-C / SIGTERM.
pub async fn run_standalone(settings: Settings, port: Option<u16>) -> anyhow::Result<()> {
    let mut sb = settings.sandbox.clone();
    if let Some(p) = port {
        sb.port = p;
    }
    let server = SandboxServer::start(&sb).await?;
    let base = server.base_url();
    println!("E-Modal sandbox portal and 2captcha stand-in at {base}");
    println!();
    println!("  Portal login     {base}/login");
    println!("  Containers       {base}/containers");
    println!("  Add appointment  {base}/trucker/web/addvisit");
    println!("  My appointments  {base}/myappointments");
    println!("  2captcha API     {base}/in.php, {base}/res.php");
    println!("  Controls         {base}/__sandbox/stats, /__sandbox/dataset?username=U, ...");
    println!();
    println!("Accounts:");
    for a in &sb.accounts {
        println!("  {:<12} password: {}", a.username, a.password.expose());
    }
    println!();
    println!(
        "Captcha keys: any non-empty key solves (after {} ms). Test keys:",
        sb.captcha_solve_delay_ms
    );
    println!("  {WRONG_KEY:<22} -> ERROR_WRONG_USER_KEY");
    println!("  {ZERO_BALANCE_KEY:<22} -> ERROR_ZERO_BALANCE");
    println!("  {UNSOLVABLE_KEY:<22} -> ERROR_CAPTCHA_UNSOLVABLE");
    println!("Site key: {}", sb.site_key);
    println!();
    println!("Press Ctrl-C to stop.");

    wait_for_signal().await;
    println!("Stopping the sandbox...");
    server.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
