//! Every answer carries `X-Request-Id`: the client's (a proxy's) when it is a sane token, a
//! new one otherwise, so one request can be followed through the proxy's and our logs.

mod support;

use support::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_kept_or_made() {
    let mut t = start(&[]).await;
    let get = |id: Option<&str>| {
        let mut req = t.http.get(format!("{}/sessions", t.api));
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    let r = get(Some("proxy-7f3a.91:b")).await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "proxy-7f3a.91:b");
    let made = get(None).await.unwrap().headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(made.len(), 16, "{made}");
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));
    // Not a token (spaces, a newline-free but forged log field): replaced, never echoed.
    let r = get(Some("x\" status=200 evil")).await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!id.contains("evil") && id.len() == 16, "{id}");
    // Errors carry one too.
    let r = t
        .http
        .get(format!("{}/no-such-endpoint", t.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().contains_key("x-request-id"));
    t.shutdown_clean().await;
}
