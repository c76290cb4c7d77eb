//! Every URL the service hands out (file URLs) starts where clients can reach it:
//! `server.public_base_url` when set, a trusted proxy's `X-Forwarded-*` headers when allowed,
//! else the request's own Host. A file URL downloads without a bearer token: it is an
//! unguessable capability, as documented.

mod support;

use serde_json::{Value, json};

/// A `get_containers` with `return_url`, sent with `headers`; answers the `file_url`.
async fn file_url(t: &support::TestApp, token: Option<&str>, headers: &[(&str, &str)]) -> String {
    let mut request = t.http.post(format!("{}/get_containers", t.api));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let body = json!({"username": support::USER, "password": support::PASS,
        "captcha_api_key": support::KEY, "return_url": true, "target_count": 2});
    let response = request.json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["file_url"].as_str().expect("a file_url").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn urls_use_the_public_base_url_and_trusted_proxy_headers_only() {
    let proxy = [
        ("x-forwarded-host", "api.example.com"),
        ("x-forwarded-proto", "https"),
    ];

    // Not trusted (the default): a client cannot steer the links others get.
    let mut t = support::start(&[("server.api_tokens", "tok-1")]).await;
    let url = file_url(&t, Some("tok-1"), &proxy).await;
    assert!(url.starts_with(&format!("{}/files/", t.api)), "{url}");
    // The link works without the bearer token.
    let response = t.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    t.shutdown_clean().await;

    // Behind a trusted proxy: the proxy's scheme and host.
    let mut t = support::start(&[("server.trust_forwarded_headers", "true")]).await;
    let url = file_url(&t, None, &proxy).await;
    assert!(url.starts_with("https://api.example.com/files/"), "{url}");
    t.shutdown_clean().await;

    // A configured public base wins over both.
    let mut t = support::start(&[
        ("server.public_base_url", "https://emodal.example.net/api/"),
        ("server.trust_forwarded_headers", "true"),
    ])
    .await;
    let url = file_url(&t, None, &proxy).await;
    assert!(
        url.starts_with("https://emodal.example.net/api/files/"),
        "{url}"
    );
    t.shutdown_clean().await;
}
