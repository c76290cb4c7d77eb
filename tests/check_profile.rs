//! `check-profile` against the sandbox: every page of the walk opens, and each reports what
//! the profile's strategies match there.

mod support;

use emodal_api::check_profile::{CheckLogin, run};
use emodal_api::config::Settings;
use emodal_api::sandbox::SandboxServer;
use emodal_api::secret::Secret;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_profile_walks_every_page_of_the_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data").display().to_string();
    let mut settings = Settings::from_overrides(&[
        ("sandbox.port", "0"),
        ("sandbox.captcha_solve_delay_ms", "50"),
        ("chrome.data_dir", &data),
    ])
    .unwrap();
    let sandbox = SandboxServer::start(&settings.sandbox).await.unwrap();
    settings.wire_to_sandbox(&sandbox.base_url());
    let report = run(
        &settings,
        Some(CheckLogin {
            username: support::USER.into(),
            password: Secret::new(support::PASS),
            captcha_key: Secret::new(support::KEY),
        }),
    )
    .await
    .unwrap();
    sandbox.shutdown().await;
    let pages = report["pages"].as_array().unwrap();
    let names: Vec<&str> = pages.iter().map(|p| p["page"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "login",
            "app",
            "containers",
            "container detail",
            "appointment wizard",
            "my appointments"
        ],
        "{report:#}"
    );
    for p in pages {
        assert_eq!(p["ok"], true, "{p:#}");
    }
    // The grid's row strategies: at least one matches the rows the page shows.
    let grid = &pages[2];
    assert!(grid["found"]["rows"].as_u64().unwrap() > 0, "{grid:#}");
    let rows = grid["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "container_rows")
        .unwrap();
    assert!(
        rows["strategies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["matches"].as_u64().unwrap_or(0) > 0),
        "{rows:#}"
    );
    let text = report.to_string();
    assert!(
        !text.contains(support::PASS),
        "the report holds the password"
    );
    // Nothing is left running.
    assert!(support::chrome_pids_under(tmp.path()).is_empty());
}
