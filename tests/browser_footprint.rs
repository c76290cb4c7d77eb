//! The browser as the portal sees it and as the machine carries it: whatever Chromium runs
//! (`chrome.path`), the page looks like a desktop Chrome (user agent, no webdriver flag,
//! a desktop window, US English), and a logged-in session's Chrome runs only the processes
//! the portal needs.

mod support;

use emodal_api::config::Settings;
use emodal_api::sandbox::SandboxServer;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

/// What `/__sandbox/whoami` reports, loaded in a Chrome launched by the service's own
/// launch code.
async fn whoami() -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let data = data_dir.display().to_string();
    let settings =
        Settings::from_overrides(&[("chrome.data_dir", &data), ("sandbox.port", "0")]).unwrap();
    let sandbox = SandboxServer::start(&settings.sandbox).await.unwrap();
    let url = format!("{}/__sandbox/whoami", sandbox.base_url());
    let browser = launch_browser(&settings, &data_dir).await;
    let seen = browser
        .run("whoami", Duration::from_secs(30), move |page| {
            page.goto(&url)?;
            page.wait_for::<Value>(
                "the whoami report",
                "return window.__whoami && window.__whoami.done ? window.__whoami : null;",
            )
        })
        .await;
    browser.close().await;
    sandbox.shutdown().await;
    assert!(chrome_pids_under(&data_dir).is_empty());
    seen.expect("whoami page answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_sees_a_desktop_chrome() {
    let seen = whoami().await;
    let report = serde_json::to_string_pretty(&seen).unwrap();

    // One user agent everywhere: the page's request, page scripts, a worker's request and
    // the worker's scripts; a desktop Chrome's, not a headless one's.
    let ua = seen["headers"]["user_agent"].as_str().unwrap_or_default();
    assert!(
        ua.starts_with("Mozilla/5.0 (X11; Linux x86_64)") && ua.contains(" Chrome/"),
        "{report}"
    );
    assert!(!ua.contains("Headless"), "{report}");
    for other in [
        &seen["navigator"]["user_agent"],
        &seen["worker"]["headers"]["user_agent"],
        &seen["worker"]["user_agent"],
    ] {
        assert_eq!(other.as_str(), Some(ua), "{report}");
    }
    let app_version = seen["navigator"]["app_version"]
        .as_str()
        .unwrap_or_default();
    assert!(!app_version.contains("Headless"), "{report}");
    // Client hints, where Chrome sends or exposes them, name no headless brand either.
    for hints in [
        &seen["headers"]["sec_ch_ua"],
        &seen["worker"]["headers"]["sec_ch_ua"],
        &seen["navigator"]["brands"],
    ] {
        assert!(!hints.to_string().contains("Headless"), "{report}");
    }

    // Not an automated browser, to scripts of the page or of a worker.
    assert_eq!(seen["navigator"]["webdriver"], json!(false), "{report}");
    // Workers have no `navigator.webdriver`; one that did must not say true.
    assert_ne!(seen["worker"]["webdriver"], json!(true), "{report}");

    // US English, in the page and on the wire.
    assert_eq!(seen["navigator"]["language"], "en-US", "{report}");
    assert_eq!(seen["navigator"]["languages"][0], "en-US", "{report}");
    assert_eq!(seen["worker"]["languages"][0], "en-US", "{report}");
    for header in [
        &seen["headers"]["accept_language"],
        &seen["worker"]["headers"]["accept_language"],
    ] {
        assert_eq!(header.as_str(), Some("en-US,en;q=0.9"), "{report}");
    }

    // A desktop window: the 1366 px wide viewport the service asks for (full Chromium's
    // headless window keeps some of its height for a toolbar it does not draw), on a
    // bigger screen. (`outerWidth`/`outerHeight` are 0 in every headless mode.)
    let w = &seen["window"];
    assert_eq!(w["inner_width"], 1366, "{report}");
    let between =
        |key: &str, min: u64, max: u64| w[key].as_u64().is_some_and(|v| (min..=max).contains(&v));
    assert!(between("inner_height", 700, 900), "{report}");
    assert_eq!(w["screen_width"], 1920, "{report}");
    assert_eq!(w["screen_height"], 1080, "{report}");
    assert_eq!(w["device_pixel_ratio"], 1, "{report}");
}

/// The kinds of process a session's Chrome may run. Anything else (an on-device model,
/// the optimisation guide, the media router, translate, safe browsing, audio, a second
/// renderer) is memory and network traffic the portal does not need.
const ALLOWED_TYPES: &[&str] = &["browser", "zygote", "renderer", "gpu-process"];
const ALLOWED_UTILITIES: &[&str] = &[
    "network.mojom.NetworkService",
    "storage.mojom.StorageService",
];

/// `browser`, `renderer`, or `utility:<sub-type>` for each process of the tree rooted at
/// the browser process `root`.
fn process_kinds(root: u32) -> Vec<(u32, String)> {
    let mut kinds = Vec::new();
    for pid in tree(root) {
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        // Chrome rewrites its child processes' command lines into one space-separated
        // string.
        let args: Vec<String> = raw
            .split(|b| *b == 0 || *b == b' ')
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let value = |name: &str| {
            args.iter()
                .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
        };
        let kind = match value("type").as_deref() {
            None => "browser".to_string(),
            Some("utility") => format!("utility:{}", value("utility-sub-type").unwrap_or_default()),
            Some(other) => other.to_string(),
        };
        kinds.push((pid, kind));
    }
    kinds
}

/// `root` and every process below it, by parent pid.
fn tree(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
            Some((pid, ppid.parse().ok()?))
        })
        .collect();
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    out
}

fn allowed(kind: &str) -> bool {
    match kind.strip_prefix("utility:") {
        Some(sub) => ALLOWED_UTILITIES.contains(&sub),
        None => ALLOWED_TYPES.contains(&kind),
    }
}

/// The kinds of process outside the allowed set in the Chromes under `data_dir`, with at
/// most one renderer each (the service runs one per browser).
fn unwanted(data_dir: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    for browser in chrome_pids_under(data_dir) {
        let kinds = process_kinds(browser);
        bad.extend(
            kinds
                .iter()
                .filter(|(_, k)| !allowed(k))
                .map(|(pid, k)| format!("{k} (pid {pid})")),
        );
        let renderers = kinds.iter().filter(|(_, k)| k == "renderer").count();
        if renderers > 1 {
            bad.push(format!("{renderers} renderers in browser {browser}"));
        }
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logged_in_session_runs_only_what_the_portal_needs() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 10}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let browsers = t.chrome_pids();
    assert_eq!(browsers.len(), 1, "one session, one Chrome: {browsers:?}");

    // The services Chrome starts on its own come within seconds of the page (those started
    // by start-up timers minutes later are turned off by flag: checked below). Watch the
    // tree for a while; any process outside the allowed set fails at once.
    let watch = Duration::from_secs(8);
    let started = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    while started.elapsed() < watch {
        let bad = unwanted(&t.data_dir);
        assert!(
            bad.is_empty(),
            "processes the portal does not need: {bad:?}"
        );
        seen.extend(process_kinds(browsers[0]).into_iter().map(|(_, k)| k));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(seen.contains("renderer"), "the page's renderer: {seen:?}");

    // One feature list reaches Chrome (it honours only the last `--disable-features`), and
    // it turns off what would start an on-device model service minutes after launch.
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", browsers[0])).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let lists: Vec<&String> = args
        .iter()
        .filter(|a| a.starts_with("--disable-features="))
        .collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    for feature in [
        "LogOnDeviceMetricsOnStartup",
        "OptimizationHints",
        "MediaRouter",
    ] {
        assert!(
            lists[0].split([',', '=']).any(|f| f == feature),
            "{feature} not disabled: {}",
            lists[0]
        );
    }
    t.shutdown_clean().await;
}
