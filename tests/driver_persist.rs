//! Carrying a login from one Chrome to another with real Chromium against the sandbox: the
//! portal's cookies and the web storage of its origins are read from a logged-in browser
//! and installed in a fresh one before its first navigation, which is then logged in.

mod support;

use emodal_api::captcha::CaptchaClient;
use emodal_api::config::Settings;
use emodal_api::portal::{self, BrowserHandle};
use emodal_api::sandbox::SandboxServer;
use emodal_api::secret::Secret;
use std::sync::Arc;
use std::time::Duration;
use support::{PASS, USER, chrome_pids_under};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_its_web_storage_move_to_a_fresh_chrome() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let data = data_dir.display().to_string();
    let mut settings = Settings::from_overrides(&[
        ("chrome.data_dir", &data),
        ("sandbox.port", "0"),
        ("sandbox.captcha_solve_delay_ms", "0"),
    ])
    .unwrap();
    let sandbox = SandboxServer::start(&settings.sandbox).await.unwrap();
    settings.wire_to_sandbox(&sandbox.base_url());
    let profile = Arc::new(settings.portal.clone());
    let call = Duration::from_secs(30);
    let launch = |name: &str| {
        BrowserHandle::launch(
            &settings.chrome,
            profile.clone(),
            data_dir.join("profiles").join(name),
        )
    };

    // A logged-in browser, whose app page keeps something in both kinds of web storage.
    let first = launch("first").await.unwrap();
    let form = first.run("open", call, portal::open_login).await.unwrap();
    let token = CaptchaClient::new(&settings.captcha)
        .solve_recaptcha(&Secret::new("key"), &form.site_key, &form.page_url)
        .await
        .unwrap();
    first
        .run("login", call, move |page| {
            portal::submit_login(page, USER, &Secret::new(PASS), &token)
        })
        .await
        .unwrap();
    let state = first
        .run("capture", call, |page| {
            portal::check_logged_in(page)?;
            page.eval::<bool>(
                "localStorage.setItem('probe', 'L-7731'); sessionStorage.setItem('probe', 'S-0042'); return true;",
            )?;
            portal::capture_state(page)
        })
        .await
        .unwrap();
    first.close().await;
    assert!(!state.cookies.is_empty(), "{state:?}");
    let (origin, saved) = state.storage.iter().next().expect("the page's origin");
    assert_eq!(saved.local.get("probe").map(String::as_str), Some("L-7731"));
    assert_eq!(
        saved.session.get("probe").map(String::as_str),
        Some("S-0042")
    );
    let origin = origin.clone();

    // A fresh Chrome with none of it, given the state: logged in at the first page it opens,
    // with the storage back (the app never set it in this browser).
    let second = launch("second").await.unwrap();
    let seen = second
        .run("restore", call, move |page| {
            portal::restore_state(page, &state)?;
            let here: String = page.eval("return location.origin;")?;
            let items: (Option<String>, Option<String>) = page
                .eval("return [localStorage.getItem('probe'), sessionStorage.getItem('probe')];")?;
            Ok((here, items))
        })
        .await;
    second.close().await;
    let (here, items) = seen.unwrap();
    assert_eq!(
        here, origin,
        "the keep-alive page is on the captured origin"
    );
    assert_eq!(items, (Some("L-7731".into()), Some("S-0042".into())));
    assert!(chrome_pids_under(&data_dir).is_empty());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_chrome_without_the_state_is_logged_out() {
    // The negative control of the test above: the same steps with nothing installed.
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let data = data_dir.display().to_string();
    let mut settings =
        Settings::from_overrides(&[("chrome.data_dir", &data), ("sandbox.port", "0")]).unwrap();
    let sandbox = SandboxServer::start(&settings.sandbox).await.unwrap();
    settings.wire_to_sandbox(&sandbox.base_url());
    let browser = BrowserHandle::launch(
        &settings.chrome,
        Arc::new(settings.portal.clone()),
        data_dir.join("profiles").join("bare"),
    )
    .await
    .unwrap();
    let got = browser
        .run("restore", Duration::from_secs(30), |page| {
            portal::restore_state(page, &Default::default())
        })
        .await;
    browser.close().await;
    assert_eq!(got, Err(portal::DriverError::LoggedOut));
    sandbox.shutdown().await;
}
