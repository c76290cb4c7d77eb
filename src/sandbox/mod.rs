//! The sandbox: a local stand-in for the E-Modal trucker portal and for the 2captcha API.
//!
//! Tests, benchmarks and first-time users cannot (and must not) reach the real portal, so every
//! browser-driving code path runs against this server instead. It is only useful if it is
//! faithful: pages use the real portal's element names, classes, texts and flows (see
//! `portal-reference.md`), render client-side where the real app does, and can be slowed down
//! (`render_delay_ms`) so that a driver which sleeps instead of waiting fails here too.
//!
//! As on the real portal, the pages live on several hosts, served as separate origins on
//! consecutive loopback addresses (`hosts`): each host has its own cookie and the login hops
//! between them through OIDC redirects (`oidc`). `sandbox.separate_hosts = false` serves every
//! page on one host instead (the driver then keeps only each URL's path:
//! `Settings::wire_to_sandbox`).
//!
//! | host | path | what |
//! |---|---|---|
//! | identity (`sandbox.host`, 127.0.0.1) | `GET /login`, `GET\|POST /Account/Login`, `GET /identity/Account/Continue`, `GET /Account/Logout`, `GET /recaptcha/api2/anchor` | `login` |
//! | identity | `GET /connect/authorize` | `oidc` |
//! | every app host | `GET /signin-oidc` | `oidc` |
//! | ecp2 (127.0.0.2) | `GET /` (redirects to account), `GET /containers`, `GET /api/containers`, `GET /api/containers/detail` | `pages`, `containers` |
//! | account (127.0.0.3) | `GET /Home/Welcome` | `pages` |
//! | termops (127.0.0.4) | `GET /trucker/web/`, `GET /trucker/web/addvisit`, `/api/wizard/*` | `pages`, `wizard` |
//! | truckerportal (127.0.0.5) | `GET /myappointments`, `GET /api/appointments` | `appointments` |
//! | every host | `POST /in.php`, `GET /res.php` | `captcha` (2captcha) |
//! | every host | `/__sandbox/*` | `controls` |
//! | every host | `/__sandbox/whoami` | `whoami` (what the browser sends and shows) |

mod appointments;
mod captcha;
mod containers;
mod controls;
mod data;
mod hosts;
mod html;
mod login;
mod oidc;
mod pages;
mod request;
mod rng;
mod state;
mod whoami;
mod wizard;

use crate::config::{SandboxSettings, Settings};
use hosts::{Hosts, Role};
use oidc::Gate;
use request::{Req, Resp, html as html_resp, json};
use serde_json::json as j;
use state::{State, Stats};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use warp::Filter;
use warp::http::{Method, StatusCode};

pub use captcha::{UNSOLVABLE_KEY, WRONG_KEY, ZERO_BALANCE_KEY};
/// ISO 6346 helpers, for tests and for callers validating container numbers.
pub use data::{is_valid_container_number, iso6346_check_digit};

/// A running sandbox server.
pub struct SandboxServer {
    addr: SocketAddr,
    hosts: Hosts,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Tries at finding one port free on every host's address before giving up.
const PORT_TRIES: usize = 20;

impl SandboxServer {
    /// Bind `settings.host:settings.port` (port 0 picks a free port) and serve in the
    /// background; with `separate_hosts`, the other hosts on the next loopback addresses with
    /// the same port.
    pub async fn start(settings: &SandboxSettings) -> anyhow::Result<SandboxServer> {
        let listeners = bind(settings).await?;
        let addr = listeners[0].1.local_addr()?;
        let hosts = if listeners.len() > 1 {
            let mut urls = Vec::new();
            for (_, l) in &listeners {
                urls.push(format!("http://{}", l.local_addr()?));
            }
            Hosts::separate(urls.try_into().expect("five hosts"))
        } else {
            Hosts::single(format!("http://{addr}"))
        };
        let state = Arc::new(State::new(settings));
        state.set_hosts(hosts.clone());
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for (role, listener) in listeners {
            let mut stopped = stopped.clone();
            let server = warp::serve(routes(state.clone(), role))
                .incoming(listener)
                .graceful(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                });
            tasks.push(tokio::spawn(server.run()));
        }
        tracing::info!(%addr, separate_hosts = hosts.separate, "sandbox portal listening");
        Ok(SandboxServer {
            addr,
            hosts,
            stop,
            tasks,
        })
    }

    /// The identity host's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The identity host's `http://<ip>:<port>` without a trailing slash (the login page,
    /// the controls and the 2captcha stand-in answer there).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Each host's role (`identity`, `ecp2`, `account`, `termops`, `truckerportal`) and base
    /// URL; all the same URL on one host.
    pub fn host_urls(&self) -> Vec<(&'static str, String)> {
        self.hosts.list()
    }

    /// Stop serving and wait for the server tasks to end. Open keep-alive connections (a
    /// browser's) get a few seconds to finish, then the tasks are aborted.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

/// The separate hosts' addresses from the identity host's: consecutive loopback addresses
/// (the convention `config::sandbox_host_urls` follows), or `None` when `host` is not an IPv4
/// loopback address with room for four more.
fn separate_addrs(host: &str) -> Option<[Ipv4Addr; 5]> {
    let ip: Ipv4Addr = host.parse().ok()?;
    let [a, b, c, d] = ip.octets();
    (ip.is_loopback() && d <= 250)
        .then(|| std::array::from_fn(|i| Ipv4Addr::new(a, b, c, d + i as u8)))
}

/// Bind the listeners: one for every host on one port, or one for all.
async fn bind(settings: &SandboxSettings) -> anyhow::Result<Vec<(Role, TcpListener)>> {
    let cannot = |host: &str, port: u16, e: std::io::Error| {
        anyhow::anyhow!("sandbox: cannot listen on {host}:{port}: {e}")
    };
    let addrs = if settings.separate_hosts {
        let addrs = separate_addrs(&settings.host);
        if addrs.is_none() {
            tracing::warn!(host = %settings.host, "sandbox: separate hosts need an IPv4 loopback host; serving one host");
        }
        addrs
    } else {
        None
    };
    let Some(addrs) = addrs else {
        let l = TcpListener::bind((settings.host.as_str(), settings.port))
            .await
            .map_err(|e| cannot(&settings.host, settings.port, e))?;
        return Ok(vec![(Role::All, l)]);
    };
    // Cookies are per host, not per port, so one port for all keeps URLs predictable
    // (`config::sandbox_host_urls`); with port 0, retry until one is free everywhere.
    let tries = if settings.port == 0 { PORT_TRIES } else { 1 };
    let mut last = None;
    for _ in 0..tries {
        let first = TcpListener::bind((addrs[0], settings.port))
            .await
            .map_err(|e| cannot(&settings.host, settings.port, e))?;
        let port = first.local_addr()?.port();
        let mut all = vec![(Role::Identity, first)];
        for (role, ip) in Role::SEPARATE[1..].iter().zip(&addrs[1..]) {
            match TcpListener::bind((*ip, port)).await {
                Ok(l) => all.push((*role, l)),
                Err(e) => {
                    last = Some(cannot(&ip.to_string(), port, e));
                    break;
                }
            }
        }
        if all.len() == Role::SEPARATE.len() {
            return Ok(all);
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("sandbox: no free port")))
}

/// One catch-all filter: every request reaches [`dispatch`], so nothing ends as a warp
/// rejection (and nothing as a 500).
fn routes(
    state: Arc<State>,
    role: Role,
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
                    dispatch(&state, role, &req).await
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

async fn dispatch(state: &State, role: Role, req: &Req) -> Resp {
    let path = req.path.as_str();
    // 2captcha and the controls are other services: never in the portal's maintenance.
    match path {
        "/in.php" => return captcha::in_php(state, req),
        "/res.php" => return captcha::res_php(state, req),
        _ => {}
    }
    if path.starts_with("/__sandbox/whoami") {
        return whoami::handle(req);
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

    if !role.serves(&req.method, path) {
        return if is_api {
            json(StatusCode::NOT_FOUND, &j!({"error": "not found"}))
        } else {
            oidc::not_found(path)
        };
    }
    match (&req.method, path) {
        (&Method::GET, "/login" | "/Account/Login") => return login::page(state, req),
        (&Method::POST, "/Account/Login" | "/login") => return login::submit(state, req),
        (&Method::GET, "/signin-oidc") => return oidc::signin_oidc(state, role, req),
        (&Method::GET, "/connect/authorize") => return oidc::authorize(state, req),
        (&Method::GET, "/identity/Account/Continue") => return login::identity_prompt(state, req),
        (&Method::GET, "/recaptcha/api2/anchor") => return login::recaptcha_anchor(req),
        (&Method::GET, "/Account/Logout") => return login::logout(state, req),
        _ => {}
    }

    let is_page = req.method == Method::GET && APP_PAGES.contains(&path);
    if !is_page && !is_api {
        return oidc::not_found(path);
    }

    let user = match oidc::gate(state, role, req) {
        Gate::User(user) => user,
        _ if is_api => return json(StatusCode::UNAUTHORIZED, &j!({"error": "not logged in"})),
        // An app host with no cookie of its own signs in through the identity host.
        Gate::NoCookie if role != Role::All => {
            let back = match req.raw_query.as_str() {
                "" => path.to_string(),
                q => format!("{path}?{q}"),
            };
            return oidc::challenge(state, role, &back);
        }
        _ => return oidc::logged_out(state, role),
    };

    if is_page {
        Stats::bump(&state.stats.page_loads);
        return match path {
            // The ecp2 root lands on the account host's Welcome page (all recorded runs).
            "/" => request::redirect(&state.hosts().url(Role::Account, "/Home/Welcome"), None),
            "/Home/Welcome" => pages::welcome(state, &user),
            "/containers" => containers::page(state, &user),
            "/trucker/web/addvisit" => wizard::page(state, &user),
            "/myappointments" => appointments::page(state, &user),
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
    let hosts = &server.hosts;
    println!("E-Modal sandbox portal and 2captcha stand-in at {base}");
    println!();
    println!("  Portal login     {base}/login");
    println!("  Containers       {}/containers", hosts.base(Role::Ecp2));
    println!(
        "  Add appointment  {}/trucker/web/addvisit",
        hosts.base(Role::Termops)
    );
    println!(
        "  My appointments  {}/myappointments",
        hosts.base(Role::TruckerPortal)
    );
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
