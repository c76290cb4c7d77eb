//! The sandbox over plain HTTP: the 2captcha API shapes and errors, the login's failure modes,
//! sessions, controls and malformed input. Each test runs its own server on a free port.

#[path = "common/sandbox_driver.rs"]
mod driver;

use driver::{SITE_KEY, get_json, http, settings, solve_captcha};
use emodal_api::sandbox::SandboxServer;
use serde_json::{Value, json};
use std::time::Duration;

async fn in_php(c: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> (String, String) {
    let r = c
        .post(format!("{base}/in.php"))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    (ct, r.text().await.unwrap())
}

async fn res_php(c: &reqwest::Client, base: &str, q: &[(&str, &str)]) -> String {
    let r = c
        .get(format!("{base}/res.php"))
        .query(q)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

fn task<'a>(key: &'a str, json: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("key", key),
        ("method", "userrecaptcha"),
        ("googlekey", SITE_KEY),
        ("pageurl", "http://127.0.0.1/login"),
        ("json", json),
    ]
}

fn err(code: &str) -> String {
    json!({"status": 0, "request": code}).to_string()
}

#[tokio::test]
async fn captcha_api_shapes_and_errors() {
    let server = SandboxServer::start(&settings(&[("sandbox.captcha_solve_delay_ms", "300")]))
        .await
        .unwrap();
    let base = server.base_url();
    let c = http();

    // Submit: JSON shape and plain-text shape.
    let (ct, body) = in_php(&c, &base, &task("k1", "1")).await;
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], 1);
    let id = v["request"].as_str().unwrap().to_string();
    assert!(id.chars().all(|c| c.is_ascii_digit()), "{id}");
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    let (_, plain) = in_php(&c, &base, &task("k1", "0")).await;
    assert!(plain.starts_with("OK|"), "{plain}");

    // Not ready until the solve delay has passed, then the token (same token on every poll).
    let poll = [
        ("key", "k1"),
        ("action", "get"),
        ("id", id.as_str()),
        ("json", "1"),
    ];
    assert_eq!(res_php(&c, &base, &poll).await, err("CAPCHA_NOT_READY"));
    let plain_poll = [("key", "k1"), ("action", "get"), ("id", id.as_str())];
    assert_eq!(res_php(&c, &base, &plain_poll).await, "CAPCHA_NOT_READY");
    let token = loop {
        let v: Value = serde_json::from_str(&res_php(&c, &base, &poll).await).unwrap();
        if v["status"] == 1 {
            break v["request"].as_str().unwrap().to_string();
        }
        assert_eq!(v["request"], "CAPCHA_NOT_READY");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(token.len() > 100);
    assert_eq!(res_php(&c, &base, &plain_poll).await, format!("OK|{token}"));

    // Error keys on in.php.
    for (key, code) in [
        ("", "ERROR_KEY_DOES_NOT_EXIST"),
        ("sandbox-wrong-key", "ERROR_WRONG_USER_KEY"),
        ("sandbox-zero-balance", "ERROR_ZERO_BALANCE"),
    ] {
        assert_eq!(
            in_php(&c, &base, &task(key, "1")).await.1,
            err(code),
            "{key}"
        );
        assert_eq!(in_php(&c, &base, &task(key, "0")).await.1, code, "{key}");
    }
    let bad = |k: &'static str, v: &'static str| {
        let mut t = task("k1", "1");
        t.retain(|(n, _)| *n != k);
        if !v.is_empty() {
            t.push((k, v));
        }
        t
    };
    assert_eq!(
        in_php(&c, &base, &bad("method", "post")).await.1,
        err("ERROR_BAD_PARAMETERS")
    );
    assert_eq!(
        in_php(&c, &base, &bad("method", "")).await.1,
        err("ERROR_BAD_PARAMETERS")
    );
    assert_eq!(
        in_php(&c, &base, &bad("googlekey", "")).await.1,
        err("ERROR_GOOGLEKEY")
    );
    assert_eq!(
        in_php(&c, &base, &bad("pageurl", "")).await.1,
        err("ERROR_PAGEURL")
    );

    // res.php errors.
    let unknown = [
        ("key", "k1"),
        ("action", "get"),
        ("id", "123"),
        ("json", "1"),
    ];
    assert_eq!(
        res_php(&c, &base, &unknown).await,
        err("ERROR_WRONG_CAPTCHA_ID")
    );
    let other_key = [
        ("key", "k2"),
        ("action", "get"),
        ("id", id.as_str()),
        ("json", "1"),
    ];
    assert_eq!(
        res_php(&c, &base, &other_key).await,
        err("ERROR_WRONG_CAPTCHA_ID")
    );
    let no_id = [("key", "k1"), ("action", "get"), ("json", "1")];
    assert_eq!(
        res_php(&c, &base, &no_id).await,
        err("ERROR_WRONG_CAPTCHA_ID")
    );
    let wrong = [
        ("key", "sandbox-wrong-key"),
        ("action", "get"),
        ("id", id.as_str()),
        ("json", "1"),
    ];
    assert_eq!(
        res_php(&c, &base, &wrong).await,
        err("ERROR_WRONG_USER_KEY")
    );
    let empty = [("action", "get"), ("id", id.as_str()), ("json", "1")];
    assert_eq!(
        res_php(&c, &base, &empty).await,
        err("ERROR_KEY_DOES_NOT_EXIST")
    );

    // Unsolvable: not ready first, then the error.
    let v: Value =
        serde_json::from_str(&in_php(&c, &base, &task("sandbox-unsolvable", "1")).await.1).unwrap();
    let uid = v["request"].as_str().unwrap().to_string();
    let upoll = [
        ("key", "sandbox-unsolvable"),
        ("action", "get"),
        ("id", uid.as_str()),
        ("json", "1"),
    ];
    assert_eq!(res_php(&c, &base, &upoll).await, err("CAPCHA_NOT_READY"));
    loop {
        let r = res_php(&c, &base, &upoll).await;
        if r != err("CAPCHA_NOT_READY") {
            assert_eq!(r, err("ERROR_CAPTCHA_UNSOLVABLE"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // Balance.
    let v: Value = serde_json::from_str(
        &res_php(
            &c,
            &base,
            &[("key", "k1"), ("action", "getbalance"), ("json", "1")],
        )
        .await,
    )
    .unwrap();
    assert_eq!(v["status"], 1);
    let balance: f64 = v["request"].as_str().unwrap().parse().unwrap();
    assert!(balance > 0.0 && balance < 10.0, "{balance}");
    let plain = res_php(&c, &base, &[("key", "k1"), ("action", "getbalance")]).await;
    assert!(plain.parse::<f64>().is_ok(), "{plain}");
    let zero = res_php(
        &c,
        &base,
        &[("key", "sandbox-zero-balance"), ("action", "getbalance")],
    )
    .await;
    assert_eq!(zero.parse::<f64>().unwrap(), 0.0);

    // Malformed requests still get 2captcha answers.
    let r = c
        .post(format!("{base}/in.php"))
        .body("\u{0}\u{1}garbage=%%%")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ERROR_KEY_DOES_NOT_EXIST");
    let r = c.get(format!("{base}/res.php")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ERROR_KEY_DOES_NOT_EXIST");

    let stats = get_json(&c, &format!("{base}/__sandbox/stats")).await;
    assert_eq!(stats["captcha_tasks"], 3, "{stats}");
    assert_eq!(stats["captcha_solved"], 1, "{stats}");
    server.shutdown().await;
}

/// POST the login form; returns (status, location, set-cookie, body).
async fn post_login(
    c: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>, String) {
    let r = c
        .post(format!("{base}/Account/Login"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let (loc, cookie) = (h("location"), h("set-cookie"));
    (status, loc, cookie, r.text().await.unwrap())
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn page(c: &reqwest::Client, base: &str, path: &str, cookie: &str) -> (u16, String) {
    let r = c
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

const LOGGED_OUT: &str =
    "You are either not logged in or your session has expired ... please use your back button";

#[tokio::test]
async fn login_failures_sessions_and_counters() {
    // One host: the login's own cookie opens every page (the separate hosts' hops are
    // `hosts_are_separate_origins_with_their_own_cookies`).
    let server = SandboxServer::start(&settings(&[
        ("sandbox.token_ttl", "1"),
        ("sandbox.separate_hosts", "false"),
    ]))
    .await
    .unwrap();
    let base = server.base_url();
    let c = http();
    let creds = |token: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("Username", "demo"),
            ("Password", "demo-password"),
            ("g-recaptcha-response", token),
        ]
    };

    // The login page.
    let r = c.get(format!("{base}/login")).send().await.unwrap();
    let body = r.text().await.unwrap();
    for needle in [
        "Cargo<span>Sprint</span>",
        "name=\"Username\"",
        "type=\"password\" id=\"Password\" name=\"Password\"",
        "<div id=\"recaptcha-container\" class=\"recaptcha-container\"></div>",
        &format!("\"sitekey\":\"{SITE_KEY}\""),
        "disabled>LOGIN</button>",
        "Forgot your Username or Password?",
        "Register Now",
    ] {
        assert!(body.contains(needle), "login page lacks {needle}");
    }
    // Google's explicit render: no data-sitekey / data-callback attributes in the markup.
    assert!(!body.contains("data-sitekey") && !body.contains("data-callback"));
    let anchor = c
        .get(format!(
            "{base}/recaptcha/api2/anchor?ar=1&k={SITE_KEY}&hl=en&size=normal"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        anchor.contains("id=\"recaptcha-anchor\"") && anchor.contains("aria-checked=\"false\"")
    );

    // Missing token, garbage token.
    let (s, loc, cookie, body) = post_login(&c, &base, &creds("")).await;
    assert_eq!((s, loc, cookie), (200, None, None));
    assert!(body.contains("The captcha was not solved"), "{body}");
    let (_, _, cookie, body) = post_login(&c, &base, &creds("03Agarbage")).await;
    assert!(cookie.is_none() && body.contains("captcha"));

    // Wrong password with a good token, then the same token again (reused).
    let token = solve_captcha(&c, &base, "k").await.unwrap();
    let form = [
        ("Username", "demo"),
        ("Password", "nope"),
        ("g-recaptcha-response", &token),
    ];
    let (s, _, cookie, body) = post_login(&c, &base, &form).await;
    assert_eq!(s, 200);
    assert!(cookie.is_none());
    assert!(body.contains("Invalid username or password"));
    assert!(body.contains("value=\"demo\""), "username kept");
    let form = [
        ("Username", "demo"),
        ("Password", "demo-password"),
        ("g-recaptcha-response", &token),
    ];
    let (_, _, cookie, body) = post_login(&c, &base, &form).await;
    assert!(cookie.is_none(), "a reused token must not log in");
    assert!(body.contains("captcha"));

    // A token solved for another site key.
    let v: Value = c
        .post(format!("{base}/in.php"))
        .form(&[
            ("key", "k"),
            ("method", "userrecaptcha"),
            ("googlekey", "other"),
            ("pageurl", "x"),
            ("json", "1"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = v["request"].as_str().unwrap().to_string();
    let other = loop {
        let r: Value = c
            .get(format!("{base}/res.php?key=k&action=get&id={id}&json=1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["status"] == 1 {
            break r["request"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let form = [
        ("Username", "demo"),
        ("Password", "demo-password"),
        ("g-recaptcha-response", &other),
    ];
    let (_, _, cookie, body) = post_login(&c, &base, &form).await;
    assert!(cookie.is_none() && body.contains("captcha"));

    // Expired token (token_ttl = 1 s): time has to pass, there is no page state to wait for.
    let token = solve_captcha(&c, &base, "k").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let form = [
        ("Username", "demo"),
        ("Password", "demo-password"),
        ("g-recaptcha-response", &token),
    ];
    let (_, _, cookie, body) = post_login(&c, &base, &form).await;
    assert!(cookie.is_none() && body.contains("captcha"), "{body}");

    // Malformed posts: missing fields, JSON, binary. The login page with an error, never a 500.
    let (s, _, cookie, body) = post_login(&c, &base, &[("Username", "demo")]).await;
    assert_eq!(s, 200);
    assert!(cookie.is_none() && body.contains("The Password field is required."));
    for raw in ["{\"Username\":\"demo\"}", "\u{0}\u{ff}%%%=&&="] {
        let r = c
            .post(format!("{base}/Account/Login"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("field is required"));
    }

    let stats = get_json(&c, &format!("{base}/__sandbox/stats")).await;
    assert_eq!(stats["logins_ok"], 0, "{stats}");
    assert_eq!(stats["logins_failed"], 9, "{stats}");
    assert_eq!(stats["active_portal_sessions"], 0, "{stats}");

    // Success: cookie, identity hop, app home.
    let token = solve_captcha(&c, &base, "k").await.unwrap();
    let form = [
        ("Username", "demo"),
        ("Password", "demo-password"),
        ("g-recaptcha-response", &token),
    ];
    let (s, loc, cookie, _) = post_login(&c, &base, &form).await;
    assert_eq!(s, 302);
    let loc = loc.unwrap();
    assert!(loc.starts_with("/signin-oidc?code="), "{loc}");
    let set_cookie = cookie.unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = cookie_pair(&set_cookie);
    assert_eq!(
        cookie.split_once('=').unwrap().1.len(),
        32,
        "128-bit session id"
    );
    let r = c
        .get(format!("{base}{loc}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/Home/Welcome");
    let r = c.get(format!("{base}{loc}")).send().await.unwrap();
    assert_eq!(
        r.headers()["location"],
        "/login",
        "identity codes are single use"
    );
    let (s, _) = page(&c, &base, "/", &cookie).await;
    assert_eq!(s, 302, "the ecp2 root redirects to the Welcome page");
    for path in [
        "/Home/Welcome",
        "/containers",
        "/trucker/web/",
        "/trucker/web/addvisit",
        "/myappointments",
    ] {
        let (s, body) = page(&c, &base, path, &cookie).await;
        assert_eq!(s, 200);
        assert!(
            body.contains("user-button") && body.contains(">demo</span>"),
            "{path}"
        );
        assert!(!body.contains(LOGGED_OUT), "{path}");
    }
    assert!(
        page(&c, &base, "/Home/Welcome", &cookie)
            .await
            .1
            .contains("Welcome to eModal")
    );
    let r = c
        .get(format!("{base}/api/containers?page=0"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Unknown or missing cookie: the logged-out text on every app page, 401 on the APIs.
    for cookie in ["ecp_session=0123456789abcdef0123456789abcdef", ""] {
        for path in [
            "/",
            "/containers",
            "/trucker/web/",
            "/trucker/web/addvisit",
            "/myappointments",
        ] {
            let (s, body) = page(&c, &base, path, cookie).await;
            assert_eq!(s, 200);
            assert!(body.contains(LOGGED_OUT), "{path}");
        }
        let r = c
            .get(format!("{base}/api/containers"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }

    let stats = get_json(&c, &format!("{base}/__sandbox/stats")).await;
    assert_eq!(stats["logins_ok"], 1, "{stats}");
    assert_eq!(stats["active_portal_sessions"], 1, "{stats}");

    // Idle expiry: with a 0 s idle timeout the next page load finds the session expired.
    let r = c
        .post(format!("{base}/__sandbox/config"))
        .json(&json!({"portal_idle_timeout": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["portal_idle_timeout"], 0);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(page(&c, &base, "/", &cookie).await.1.contains(LOGGED_OUT));
    server.shutdown().await;
}

async fn login_http(c: &reqwest::Client, base: &str, user: &str, pw: &str) -> String {
    let token = solve_captcha(c, base, "k").await.unwrap();
    let form = [
        ("Username", user),
        ("Password", pw),
        ("g-recaptcha-response", &token),
    ];
    let (s, _, cookie, _) = post_login(c, base, &form).await;
    assert_eq!(s, 302);
    cookie_pair(&cookie.unwrap())
}

#[tokio::test]
async fn controls_outage_logout_and_bad_input() {
    let server = SandboxServer::start(&settings(&[("sandbox.separate_hosts", "false")]))
        .await
        .unwrap();
    let base = server.base_url();
    let c = http();
    let cookie = login_http(&c, &base, "demo", "demo-password").await;
    let cookie2 = login_http(&c, &base, "demo2", "demo2-password").await;
    assert_eq!(
        get_json(&c, &format!("{base}/__sandbox/stats")).await["active_portal_sessions"],
        2
    );

    // logout_all ends every session.
    let r = c
        .post(format!("{base}/__sandbox/logout_all"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["ended_sessions"], 2);
    for ck in [&cookie, &cookie2] {
        assert!(
            page(&c, &base, "/containers", ck)
                .await
                .1
                .contains(LOGGED_OUT)
        );
    }
    assert_eq!(
        get_json(&c, &format!("{base}/__sandbox/stats")).await["active_portal_sessions"],
        0
    );

    // Outage: the portal answers 503 with a maintenance page; 2captcha and controls stay up.
    let r = c
        .post(format!("{base}/__sandbox/outage"))
        .json(&json!({"seconds": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for path in ["/login", "/", "/containers", "/trucker/web/"] {
        let r = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 503, "{path}");
        assert!(r.text().await.unwrap().contains("maintenance"));
    }
    let r = c
        .post(format!("{base}/Account/Login"))
        .form(&[("Username", "demo")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        get_json(&c, &format!("{base}/__sandbox/stats")).await["outage_seconds_remaining"],
        30
    );
    assert!(solve_captcha(&c, &base, "k").await.is_ok());
    c.post(format!("{base}/__sandbox/outage"))
        .json(&json!({"seconds": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Config changes.
    let v: Value = c
        .post(format!("{base}/__sandbox/config"))
        .json(&json!({"render_delay_ms": 7, "captcha_solve_delay_ms": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (k, want) in [
        ("render_delay_ms", json!(7)),
        ("captcha_solve_delay_ms", json!(0)),
        ("portal_idle_timeout", json!(1200)),
        ("identity_prompt", json!("sometimes")),
    ] {
        assert_eq!(v[k], want, "{k}: {v}");
    }
    // The identity prompt: forced on, the login's hop stops on the Continue page.
    let r = c
        .post(format!("{base}/__sandbox/config"))
        .json(&json!({"identity_prompt": "always"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = solve_captcha(&c, &base, "k").await.unwrap();
    let form = [
        ("Username", "demo"),
        ("Password", "demo-password"),
        ("g-recaptcha-response", token.as_str()),
    ];
    let (_, loc, _, _) = post_login(&c, &base, &form).await;
    let loc = loc.unwrap();
    assert!(
        loc.starts_with("/identity/Account/Continue?returnUrl=%2Fsignin-oidc"),
        "{loc}"
    );
    let prompt = c
        .get(format!("{base}{loc}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        prompt.contains(">Continue</button>") && prompt.contains("name=\"code\""),
        "{prompt}"
    );
    c.post(format!("{base}/__sandbox/config"))
        .json(&json!({"identity_prompt": "sometimes"}))
        .send()
        .await
        .unwrap();

    // Bad control input: JSON errors with 4xx.
    for (path, body) in [
        ("config", "not json"),
        ("outage", "{}"),
        ("config", "{\"bogus\":1}"),
        ("config", "{\"identity_prompt\":\"maybe\"}"),
    ] {
        let r = c
            .post(format!("{base}/__sandbox/{path}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
        assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    }
    let r = c
        .get(format!("{base}/__sandbox/dataset?username=nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    let r = c
        .get(format!(
            "{base}/__sandbox/slots?username=nobody&terminal=x&move_type=y"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .post(format!("{base}/in.php"))
        .body(vec![b'a'; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        413,
        "oversized bodies are refused, not buffered"
    );

    // The app APIs with bad bodies.
    let cookie = login_http(&c, &base, "demo", "demo-password").await;
    for path in ["/api/wizard/step1", "/api/wizard/book", "/api/wizard/slots"] {
        let r = c
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .body("{{{")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
    }
    let r = c
        .get(format!("{base}/api/containers/detail?id=NOPE"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(format!("{base}/api/containers?page=abc"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a bad page number is page 0");
    server.shutdown().await;
}

#[tokio::test]
async fn dataset_grid_api_and_booking_over_http() {
    let server = SandboxServer::start(&settings(&[("sandbox.separate_hosts", "false")]))
        .await
        .unwrap();
    let base = server.base_url();
    let c = http();
    let ds = get_json(&c, &format!("{base}/__sandbox/dataset?username=demo")).await;
    let containers = ds["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 120);
    for k in [
        "trucking_companies",
        "terminals",
        "move_types",
        "truck_plates",
        "export_bookings",
    ] {
        assert!(!ds[k].as_array().unwrap().is_empty(), "{k}");
    }
    for ct in containers {
        assert!(emodal_api::sandbox::is_valid_container_number(
            ct["Container #"].as_str().unwrap()
        ));
    }
    // Deterministic: a second server with the same seed serves the same data.
    let server2 = SandboxServer::start(&settings(&[])).await.unwrap();
    let ds2 = get_json(
        &c,
        &format!("{}/__sandbox/dataset?username=demo", server2.base_url()),
    )
    .await;
    assert_eq!(ds["containers"], ds2["containers"]);
    server2.shutdown().await;

    // The grid API pages through the dataset in order.
    let cookie = login_http(&c, &base, "demo", "demo-password").await;
    let mut ids = Vec::new();
    for p in 0.. {
        let v: Value = c
            .get(format!("{base}/api/containers?page={p}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.extend(
            v["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].clone()),
        );
        if v["has_more"] == false {
            break;
        }
    }
    let want: Vec<Value> = containers
        .iter()
        .map(|c| c["Container #"].clone())
        .collect();
    assert_eq!(ids, want);

    // Book a slot through the API; it disappears, and booking it again fails.
    let terminal = "Total Terminals Intl LLC";
    let mv = "PICK FULL";
    let slots_url = format!(
        "{base}/__sandbox/slots?username=demo&terminal={}&move_type={}",
        "Total%20Terminals%20Intl%20LLC", "PICK%20FULL"
    );
    let slots = get_json(&c, &slots_url).await;
    let slot = slots["slots"][0].as_str().unwrap().to_string();
    let import = containers
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT")
        .unwrap()["Container #"]
        .clone();
    let body = json!({
        "container_type": "IMPORT", "trucking": ds["trucking_companies"][0], "terminal": terminal,
        "move_type": mv, "containers": [import], "selected": [import], "plate": ds["truck_plates"][0],
        "own_chassis": "NO", "slot": slot,
    });
    let book = |body: Value| {
        let c = c.clone();
        let url = format!("{base}/api/wizard/book");
        let cookie = cookie.clone();
        async move {
            c.post(url)
                .header("cookie", cookie)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let v = book(body.clone()).await;
    assert_eq!(v["ok"], true, "{v}");
    let conf = v["appointment"]["confirmation_number"].as_str().unwrap();
    assert!(conf.len() == 11 && conf.starts_with("APT"), "{conf}");
    let after = get_json(&c, &slots_url).await;
    assert!(
        !after["slots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == &slot)
    );
    let v = book(body).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["slot_taken"], true);
    assert!(v["error"].as_str().unwrap().contains("no longer available"));
    // The other account sees the slot gone too; its dataset lists no appointments of demo's.
    let other = format!(
        "{base}/__sandbox/slots?username=demo2&terminal=Total%20Terminals%20Intl%20LLC&move_type=PICK%20FULL"
    );
    assert_eq!(get_json(&c, &other).await["slots"], after["slots"]);
    let ds = get_json(&c, &format!("{base}/__sandbox/dataset?username=demo")).await;
    assert_eq!(ds["appointments"][0]["confirmation_number"], conf);
    assert_eq!(
        get_json(&c, &format!("{base}/__sandbox/stats")).await["appointments_booked"],
        1
    );

    // A bad booking number: the dialog text.
    let v: Value = c
        .post(format!("{base}/api/wizard/step1"))
        .header("cookie", &cookie)
        .json(&json!({"container_type": "EXPORT", "trucking": ds["trucking_companies"][0], "terminal": terminal,
                      "move_type": "DROP FULL", "booking_number": "NOPE00000000", "quantity": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["dialog"], "No open transactions for this booking number.");
    server.shutdown().await;
}
