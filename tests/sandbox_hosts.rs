//! The sandbox's hosts as separate origins, over plain HTTP with a per-host cookie jar (as a
//! browser keeps one): each host's cookie stays on that host, a host without its cookie signs
//! in through the identity host's authorize endpoint, and the logged-out page still appears
//! where the portal session has ended.

#[path = "common/sandbox_driver.rs"]
mod driver;

use driver::{get_json, http, settings, solve_captcha};
use emodal_api::sandbox::SandboxServer;
use std::collections::HashMap;

const LOGGED_OUT: &str = "You are either not logged in or your session has expired";

/// Cookies by host (`ip:port`; a browser keys them by host alone, and every sandbox host has
/// its own address).
#[derive(Default)]
struct Jar(HashMap<String, HashMap<String, String>>);

struct Answer {
    url: String,
    status: u16,
    location: Option<String>,
    body: String,
}

fn authority(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap();
    rest.split('/').next().unwrap()
}

impl Jar {
    fn header(&self, url: &str) -> String {
        self.0
            .get(authority(url))
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    fn get(&self, url: &str, name: &str) -> Option<String> {
        self.0.get(authority(url))?.get(name).cloned()
    }

    fn store(&mut self, url: &str, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            assert!(v.contains("HttpOnly"), "{v}");
            assert!(
                !v.to_ascii_lowercase().contains("domain="),
                "host-only: {v}"
            );
            let (k, val) = v.split(';').next().unwrap().split_once('=').unwrap();
            let host = self.0.entry(authority(url).to_string()).or_default();
            if v.contains("Max-Age=0") {
                host.remove(k);
            } else {
                host.insert(k.to_string(), val.to_string());
            }
        }
    }

    async fn send(&mut self, rb: reqwest::RequestBuilder, url: &str) -> Answer {
        let r = rb.header("cookie", self.header(url)).send().await.unwrap();
        self.store(url, &r);
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| absolute(url, v.to_str().unwrap()));
        Answer {
            url: url.to_string(),
            status,
            location,
            body: r.text().await.unwrap(),
        }
    }

    /// GET `url` and follow redirects (across hosts, with each host's cookies); returns every
    /// answer in order.
    async fn follow(&mut self, c: &reqwest::Client, url: &str) -> Vec<Answer> {
        let mut chain = Vec::new();
        let mut next = url.to_string();
        for _ in 0..15 {
            let a = self.send(c.get(&next), &next.clone()).await;
            let loc = a.location.clone();
            chain.push(a);
            match loc {
                Some(l) => next = l,
                None => return chain,
            }
        }
        panic!("redirect loop from {url}");
    }
}

/// Resolve a `Location` against the URL that answered it.
fn absolute(base: &str, loc: &str) -> String {
    if loc.starts_with("http://") {
        loc.to_string()
    } else {
        format!("http://{}{loc}", authority(base))
    }
}

fn urls(chain: &[Answer]) -> Vec<String> {
    chain
        .iter()
        .map(|a| {
            let u = &a.url;
            u.split_once('?').map_or(u.as_str(), |(p, _)| p).to_string()
        })
        .collect()
}

async fn login(
    c: &reqwest::Client,
    jar: &mut Jar,
    identity: &str,
    ret: Option<&str>,
) -> Vec<Answer> {
    let token = solve_captcha(c, identity, "k").await.unwrap();
    let mut form = vec![
        ("Username", "demo"),
        ("Password", "demo-password"),
        ("g-recaptcha-response", token.as_str()),
    ];
    if let Some(r) = ret {
        form.push(("ReturnUrl", r));
    }
    let url = format!("{identity}/Account/Login");
    let a = jar.send(c.post(&url).form(&form), &url).await;
    assert_eq!(a.status, 302, "{}", a.body);
    let mut chain = jar.follow(c, a.location.as_ref().unwrap()).await;
    chain.insert(0, a);
    chain
}

#[tokio::test]
async fn hosts_are_separate_origins_with_their_own_cookies() {
    let server = SandboxServer::start(&settings(&[])).await.unwrap();
    let hosts: HashMap<&str, String> = server.host_urls().into_iter().collect();
    let port = server.addr().port();
    for (i, role) in ["identity", "ecp2", "account", "termops", "truckerportal"]
        .iter()
        .enumerate()
    {
        assert_eq!(hosts[role], format!("http://127.0.0.{}:{port}", i + 1));
    }
    let (identity, ecp2, account, termops, trucker) = (
        &hosts["identity"],
        &hosts["ecp2"],
        &hosts["account"],
        &hosts["termops"],
        &hosts["truckerportal"],
    );
    assert_eq!(&server.base_url(), identity);
    let c = http();
    // The hop's "Continue" prompt is another test's business: make its absence certain.
    c.post(format!("{identity}/__sandbox/config"))
        .json(&serde_json::json!({"identity_prompt": "never"}))
        .send()
        .await
        .unwrap();

    // Each path on its own host only; controls and 2captcha everywhere.
    for (host, path) in [
        (termops, "/containers"),
        (ecp2, "/login"),
        (ecp2, "/myappointments"),
        (identity, "/containers"),
        (account, "/trucker/web/"),
    ] {
        let r = c.get(format!("{host}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{host}{path}");
    }
    for host in [identity, ecp2, termops, trucker] {
        assert_eq!(
            get_json(&c, &format!("{host}/__sandbox/stats")).await["logins_ok"],
            0
        );
    }

    // A good login: identity cookie, then ecp2's sign-in and its cookie, the ecp2 root, and
    // the account host's Welcome page after its own silent sign-in.
    let mut jar = Jar::default();
    let chain = login(&c, &mut jar, identity, None).await;
    assert_eq!(
        urls(&chain),
        vec![
            format!("{identity}/Account/Login"),
            format!("{ecp2}/signin-oidc"),
            format!("{ecp2}/"),
            format!("{account}/Home/Welcome"),
            format!("{identity}/connect/authorize"),
            format!("{account}/signin-oidc"),
            format!("{account}/Home/Welcome"),
        ]
    );
    let last = chain.last().unwrap();
    assert_eq!(last.status, 200);
    assert!(last.body.contains("Welcome to eModal"));
    let authorize = &chain[4].url;
    for part in [
        "client_id=account",
        "response_type=code",
        "code_challenge=",
        "code_challenge_method=S256",
        "state=%2FHome%2FWelcome",
    ] {
        assert!(authorize.contains(part), "{authorize} lacks {part}");
    }
    let cookie = |jar: &Jar, host: &str| jar.get(&format!("{host}/"), "ecp_session");
    let (id_c, ecp_c, acc_c) = (
        cookie(&jar, identity).unwrap(),
        cookie(&jar, ecp2).unwrap(),
        cookie(&jar, account).unwrap(),
    );
    assert!(id_c != ecp_c && ecp_c != acc_c && id_c != acc_c);
    assert!(cookie(&jar, termops).is_none() && cookie(&jar, trucker).is_none());

    // The ecp2 cookie is ecp2's alone: sent to termops it opens nothing.
    let r = c
        .get(format!("{termops}/trucker/web/"))
        .header("cookie", format!("ecp_session={ecp_c}"))
        .send()
        .await
        .unwrap();
    assert!(!r.text().await.unwrap().contains(">demo</span>"));
    let r = c
        .get(format!("{termops}/api/wizard/options"))
        .header("cookie", format!("ecp_session={ecp_c}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Termops without its cookie: authorize answers at once, termops comes back logged in.
    let chain = jar
        .follow(&c, &format!("{termops}/trucker/web/addvisit"))
        .await;
    assert_eq!(
        urls(&chain),
        vec![
            format!("{termops}/trucker/web/addvisit"),
            format!("{identity}/connect/authorize"),
            format!("{termops}/signin-oidc"),
            format!("{termops}/trucker/web/addvisit"),
        ]
    );
    assert!(chain[1].url.contains("client_id=termops"));
    let last = chain.last().unwrap();
    assert_eq!(last.status, 200);
    assert!(last.body.contains(">demo</span>") && !last.body.contains(LOGGED_OUT));
    assert!(cookie(&jar, termops).is_some());
    // Its links reach the other hosts by absolute URL.
    assert!(
        last.body
            .contains(&format!("href=\"{trucker}/myappointments\""))
    );
    assert!(last.body.contains(&format!("href=\"{ecp2}/containers\"")));
    // The APIs answer on their page's host with that host's cookie.
    let url = format!("{ecp2}/api/containers?page=0");
    assert_eq!(jar.send(c.get(&url), &url).await.status, 200);
    let url = format!("{termops}/api/wizard/options");
    assert_eq!(jar.send(c.get(&url), &url).await.status, 200);
    let stats = get_json(&c, &format!("{identity}/__sandbox/stats")).await;
    assert_eq!(stats["logins_ok"], 1, "{stats}");
    assert_eq!(stats["active_portal_sessions"], 1, "{stats}");

    // The portal session ends: pages with a cookie show the logged-out page and drop it; the
    // next load goes to authorize, which (no identity session either) shows the login form
    // at the recorded re-login URL shape.
    c.post(format!("{identity}/__sandbox/logout_all"))
        .send()
        .await
        .unwrap();
    let chain = jar.follow(&c, &format!("{ecp2}/containers")).await;
    assert_eq!(chain.len(), 1);
    assert!(chain[0].body.contains(LOGGED_OUT));
    assert!(
        chain[0]
            .body
            .contains(&format!("href=\"{identity}/login\""))
    );
    assert!(cookie(&jar, ecp2).is_none(), "the dead cookie is dropped");
    let chain = jar.follow(&c, &format!("{ecp2}/containers")).await;
    assert_eq!(
        urls(&chain),
        vec![
            format!("{ecp2}/containers"),
            format!("{identity}/connect/authorize"),
            format!("{identity}/Account/Login"),
        ]
    );
    let login_page = chain.last().unwrap();
    assert!(
        login_page
            .url
            .contains("ReturnUrl=%2Fconnect%2Fauthorize%3F")
    );
    assert!(login_page.url.contains("code_challenge_method%3DS256"));
    assert!(login_page.body.contains("name=\"Username\""));
    let ret = login_page
        .body
        .split("name=\"ReturnUrl\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(
        ret.starts_with("/connect/authorize?client_id=ecp2"),
        "{ret}"
    );

    // Logging in from there goes on to the page that asked.
    let chain = login(&c, &mut jar, identity, Some(&ret)).await;
    assert_eq!(
        urls(&chain),
        vec![
            format!("{identity}/Account/Login"),
            format!("{identity}/connect/authorize"),
            format!("{ecp2}/signin-oidc"),
            format!("{ecp2}/containers"),
        ]
    );
    assert!(chain.last().unwrap().body.contains(">demo</span>"));
    // Termops still holds its old cookie: its portal session is over, so the logged-out page
    // once, then a silent sign-in with the new identity session.
    let chain = jar.follow(&c, &format!("{termops}/trucker/web/")).await;
    assert!(chain[0].body.contains(LOGGED_OUT));
    let chain = jar.follow(&c, &format!("{termops}/trucker/web/")).await;
    assert_eq!(chain.len(), 4);
    assert!(chain.last().unwrap().body.contains(">demo</span>"));

    // A foreign redirect_uri is refused.
    let r = c
        .get(format!(
            "{identity}/connect/authorize?client_id=x&response_type=code&redirect_uri=http://evil.example/signin-oidc"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    server.shutdown().await;
}
