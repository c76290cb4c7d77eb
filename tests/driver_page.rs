//! The page layer with real Chromium: a JavaScript dialog the page opens is answered, so it
//! cannot block the session (an unanswered `alert` blocks every later call on the page).

mod support;

use emodal_api::config::Settings;
use std::time::Duration;
use support::{chrome_pids_under, launch_browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_dialogs_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let data = data_dir.display().to_string();
    let settings =
        Settings::from_overrides(&[("chrome.data_dir", &data), ("chrome.call_timeout", "5")])
            .unwrap();
    let browser = launch_browser(&settings, &data_dir).await;
    let outcome = browser
        .run("dialogs", Duration::from_secs(15), |page| {
            // An alert from a timer, between two calls, as a page script would open it.
            page.eval::<bool>(
                "setTimeout(() => { alert('Session will expire'); window.__afterAlert = true; }, 0); return true;",
            )?;
            page.wait_for::<bool>(
                "the script after the alert",
                "return window.__afterAlert ? true : null;",
            )?;
            // A confirm inside a call: the call returns, with the dialog accepted.
            page.eval::<bool>("return confirm('Leave this page?');")
        })
        .await;
    browser.close().await;
    assert!(chrome_pids_under(&data_dir).is_empty());
    assert_eq!(outcome, Ok(true));
}
