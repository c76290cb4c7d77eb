//! Launching Chrome: the flags, the profile and scratch directories, the priority it runs
//! at, and the connection to its first tab. Apart from `browser.rs`, which owns a running
//! Chrome (its thread, jobs and close), because how to start one is a set of decisions of its
//! own (each flag and limit here was measured or forced by Chrome) that nothing after the
//! launch needs to know.

use crate::config::{ChromeSettings, PortalProfile};
use crate::portal::DriverError;
use crate::portal::cdp::{Cdp, CdpError, page_url};
use headless_chrome::{Browser, LaunchOptions};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Chromium's scratch directory (its `TMPDIR`). It holds a Unix socket, whose path may not
/// exceed 107 bytes, so it cannot live inside a deep profile path: it gets a short name in
/// the system temp folder, derived from the profile's name so cleanup can find it.
pub fn scratch_dir(profile_dir: &Path) -> PathBuf {
    let name = profile_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let short: String = name
        .trim_start_matches("session_")
        .chars()
        .take(20)
        .collect();
    std::env::temp_dir().join(format!(
        "{SCRATCH_PREFIX}{short}-{}",
        name.rsplit('-').next().unwrap_or("0")
    ))
}

/// Scratch directories in the temp folder start with this.
const SCRATCH_PREFIX: &str = "emodal-chrome-";

/// Create the profile and scratch directories, launch Chrome on `about:blank` with
/// [`CHROME_ARGS`], and connect to its first tab.
pub(super) fn start_browser(
    chrome: &ChromeSettings,
    profile: &PortalProfile,
    profile_dir: &Path,
    scratch: &Path,
) -> Result<(Browser, Cdp), DriverError> {
    for dir in [profile_dir, scratch] {
        std::fs::create_dir_all(dir)
            .map_err(|e| DriverError::Browser(format!("cannot create {}: {e}", dir.display())))?;
    }
    // Chromium leaves org.chromium.Chromium.* directories in TMPDIR: give each browser its
    // own, removed with it.
    let envs = HashMap::from([("TMPDIR".to_string(), scratch.display().to_string())]);
    // Chrome's first tab would otherwise open the New Tab Page, which fetches the default
    // search engine's start page and navigates twice more while we start driving the tab.
    let args: Vec<&OsStr> = CHROME_ARGS
        .iter()
        .chain(&["about:blank"])
        .map(OsStr::new)
        .collect();
    let ignore: Vec<&OsStr> = vec![OsStr::new(
        "--disable-features=TranslateUI,BlinkGenPropertyTrees",
    )];
    let options = LaunchOptions {
        headless: chrome.headless,
        // Chrome's sandbox cannot run as root; elsewhere keep it.
        sandbox: !running_as_root(),
        path: Some(chrome.path.clone()),
        user_data_dir: Some(profile_dir.to_path_buf()),
        window_size: Some((1366, 900)),
        idle_browser_timeout: Duration::from_secs(chrome.idle_browser_timeout),
        ignore_certificate_errors: profile.ignore_certificate_errors,
        process_envs: Some(envs),
        args,
        ignore_default_args: ignore,
        ..LaunchOptions::default()
    };
    let browser = Browser::new(options)
        .map_err(|e| DriverError::Browser(format!("cannot launch Chrome: {e:#}")))?;
    let cdp = open_tab(&browser)
        .map_err(|e| DriverError::Browser(format!("cannot open a tab: {e:?}")))?;
    Ok((browser, cdp))
}

/// A direct connection to Chrome's first tab (see `cdp.rs` for why not headless_chrome's).
/// Headless Chrome starts with one blank tab: using it, rather than opening another, saves
/// a second page and its DevTools set-up.
fn open_tab(browser: &Browser) -> Result<Cdp, CdpError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let browser_url = browser.get_ws_url();
    let mut control = Cdp::open(&browser_url)?;
    let targets = control.call("Target.getTargets", serde_json::json!({}), deadline)?;
    let first_page = targets["targetInfos"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["type"] == "page"))
        .and_then(|t| t["targetId"].as_str())
        .map(str::to_string);
    let target = match first_page {
        Some(id) => id,
        None => control.call(
            "Target.createTarget",
            serde_json::json!({"url": "about:blank"}),
            deadline,
        )?["targetId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CdpError::Protocol("Target.createTarget gave no targetId".into()))?,
    };
    let url = page_url(&browser_url, &target)
        .ok_or_else(|| CdpError::Protocol(format!("unexpected DevTools URL {browser_url}")))?;
    Cdp::open_page(&url, deadline)
}

/// Flags for a closed network and a small footprint: one renderer, no site isolation, and
/// none of the browser-UI pages (omnibox popups) that Chrome preloads even when headless,
/// each of which took a renderer of its own (~40 MB); no software rasteriser (~10 MB).
/// Measured with 3 sessions, summed PSS per session: 240 MB before, 188 MB after.
const CHROME_ARGS: &[&str] = &[
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--renderer-process-limit=1",
    "--disable-software-rasterizer",
    "--disable-features=TranslateUI,BlinkGenPropertyTrees,site-per-process,IsolateOrigins,PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup,AimEnabled",
    "--disable-site-isolation-trials",
];

/// `CAP_SYS_NICE` from linux/capability.h (not exported by the libc crate).
const CAP_SYS_NICE: libc::c_ulong = 23;

/// Lower this thread's scheduling priority. Linux keeps niceness per thread and a child
/// process inherits its creator's, so Chrome, launched from this thread, and every process
/// Chrome forks run at `nice`. The thread itself only waits on DevTools answers.
pub(super) fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    // SAFETY: plain syscalls on the calling thread; no memory is shared with the kernel.
    let done = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice.min(19))
    };
    if done != 0 {
        tracing::warn!(nice, "could not lower Chrome's priority");
        return;
    }
    // Chrome raises its own threads' priority when it may (as root, it may): take that right
    // away from this thread and so from the Chrome it starts.
    if running_as_root() {
        // SAFETY: prctl with integer arguments only; affects the calling thread.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0) };
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
