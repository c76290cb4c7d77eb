//! Launching Chrome: the flags, the profile and scratch directories, the priority it runs
//! at, and the connection to its first tab. Apart from `browser.rs`, which owns a running
//! Chrome (its thread, jobs and close), because how to start one is a set of decisions of its
//! own (each flag and limit here was measured or forced by Chrome) that nothing after the
//! launch needs to know.

mod identity;

use crate::config::{ChromeSettings, PortalProfile};
use crate::portal::DriverError;
use crate::portal::cdp::{Cdp, CdpError, page_url};
use headless_chrome::{Browser, LaunchOptions};
use identity::{identity_flags, user_agent_for};
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
/// [`chrome_flags`], and connect to its first tab.
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
    let flags = chrome_flags(chrome)?;
    // Chrome's first tab would otherwise open the New Tab Page, which fetches the default
    // search engine's start page and navigates twice more while we start driving the tab.
    let args: Vec<&OsStr> = flags
        .iter()
        .map(String::as_str)
        .chain(["about:blank"])
        .map(OsStr::new)
        .collect();
    // headless_chrome's defaults we replace: its feature lists (Chrome honours only the last
    // `--disable-features`/`--enable-features`, so ours carry them, merged) and
    // `--enable-automation`, which sets `navigator.webdriver` and shows an automation bar.
    let ignore: Vec<&OsStr> = HEADLESS_CHROME_DEFAULTS_REPLACED
        .iter()
        .map(OsStr::new)
        .collect();
    let options = LaunchOptions {
        headless: chrome.headless,
        // Chrome's sandbox cannot run as root; elsewhere keep it.
        sandbox: !running_as_root(),
        path: Some(chrome.path.clone()),
        user_data_dir: Some(profile_dir.to_path_buf()),
        window_size: Some(WINDOW),
        idle_browser_timeout: Duration::from_secs(chrome.idle_browser_timeout),
        ignore_certificate_errors: profile.ignore_certificate_errors,
        process_envs: Some(envs),
        args,
        ignore_default_args: ignore,
        ..LaunchOptions::default()
    };
    let browser = Browser::new(options)
        .map_err(|e| DriverError::Browser(format!("cannot launch Chrome: {e:#}")))?;
    let mut cdp = open_tab(&browser)
        .map_err(|e| DriverError::Browser(format!("cannot open a tab: {e:?}")))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    // The DevTools server's own address: http on the loopback, so a secure context.
    let secure_url = browser
        .get_ws_url()
        .split("/devtools/")
        .next()
        .map(|origin| format!("{}/json/version", origin.replacen("ws://", "http://", 1)))
        .unwrap_or_default();
    let user_agent = user_agent_for(&chrome.path)?;
    identity::hide_headless_brand(&mut cdp, &user_agent, &secure_url, deadline)
        .map_err(|e| DriverError::Browser(format!("cannot set the tab's identity: {e:?}")))?;
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

/// The window, and so the viewport and the screen, of a desktop user of the portal.
const WINDOW: (u32, u32) = (1366, 900);

/// headless_chrome's default flags that [`chrome_flags`] replaces (see `start_browser`).
const HEADLESS_CHROME_DEFAULTS_REPLACED: &[&str] = &[
    "--disable-features=TranslateUI,BlinkGenPropertyTrees",
    "--enable-features=NetworkService,NetworkServiceInProcess",
    "--enable-automation",
];

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
    "--disable-site-isolation-trials",
];

/// Chrome features turned off. Beyond site isolation and the preloaded UI pages (above),
/// the services a full Chromium starts for its own sake, none of which the portal needs:
/// the optimisation guide and its on-device model, the media router (Cast discovery),
/// translate, and the autofill server and safe-browsing lookups that would fetch from
/// Google. Not enough for full Chromium 156's `OnDeviceModelService` utility process
/// (~48 MB), which still starts 3 minutes after launch with every on-device and
/// optimisation-guide feature found in the binary turned off (and with
/// `--optimization-guide-disable-installer`): one reason the headless shell, which has none
/// of these services, is the default. Unknown names are ignored, so one list serves both.
const DISABLED_FEATURES: &[&str] = &[
    "TranslateUI",
    "BlinkGenPropertyTrees",
    "site-per-process",
    "IsolateOrigins",
    "PreloadTopChromeWebUI",
    "WebUIOmniboxPopup",
    "WebUIOmniboxFullPopup",
    "WebUIOmniboxAimPopup",
    "AimEnabled",
    "OptimizationHints",
    "OptimizationGuideModelExecution",
    "LogOnDeviceMetricsOnStartup",
    "OnDeviceModelPerformanceParams",
    "OnDeviceModelFetchPerformanceClassEveryStartup",
    "OnDeviceModelWarmDrivers",
    "MediaRouter",
    "DialMediaRouteProvider",
    "CastMediaRouteProvider",
    "Translate",
    "AutofillServerCommunication",
    "SafeBrowsingHashPrefixRealTimeLookups",
];

/// Chrome features turned on (headless_chrome's, kept).
const ENABLED_FEATURES: &[&str] = &["NetworkService", "NetworkServiceInProcess"];

/// Every flag Chrome gets besides headless_chrome's own: [`CHROME_ARGS`], the desktop
/// identity ([`identity_flags`]), then `chrome.extra_args`, with every feature list merged
/// into one `--disable-features` and one `--enable-features` (Chrome would honour only the
/// last of each, so an operator's list would otherwise drop ours).
pub fn chrome_flags(chrome: &ChromeSettings) -> Result<Vec<String>, DriverError> {
    let mut disabled: Vec<String> = DISABLED_FEATURES.iter().map(|f| f.to_string()).collect();
    let mut enabled: Vec<String> = ENABLED_FEATURES.iter().map(|f| f.to_string()).collect();
    let mut flags = Vec::new();
    let given = CHROME_ARGS
        .iter()
        .map(|f| f.to_string())
        .chain(identity_flags(&chrome.path)?)
        .chain(chrome.extra_args.iter().cloned());
    for flag in given {
        let (list, names) = if let Some(names) = flag.strip_prefix("--disable-features=") {
            (&mut disabled, names)
        } else if let Some(names) = flag.strip_prefix("--enable-features=") {
            (&mut enabled, names)
        } else {
            flags.push(flag);
            continue;
        };
        for name in names.split(',').filter(|n| !n.is_empty()) {
            if !list.iter().any(|n| n == name) {
                list.push(name.to_string());
            }
        }
    }
    // A feature both turned on and off by an operator: the later word (the extra flag) wins.
    let user_enabled: Vec<String> = chrome
        .extra_args
        .iter()
        .filter_map(|f| f.strip_prefix("--enable-features="))
        .flat_map(|names| names.split(','))
        .map(str::to_string)
        .collect();
    disabled.retain(|n| !user_enabled.contains(n));
    flags.push(format!("--disable-features={}", disabled.join(",")));
    flags.push(format!("--enable-features={}", enabled.join(",")));
    Ok(flags)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    /// The flags Chrome would get with `chrome.extra_args` set to `extra`.
    fn flags_with(extra: &str) -> Vec<String> {
        let settings = Settings::from_overrides(&[("chrome.extra_args", extra)]).unwrap();
        chrome_flags(&settings.chrome).unwrap()
    }

    fn list<'a>(flags: &'a [String], prefix: &str) -> Vec<&'a str> {
        let lists: Vec<&String> = flags.iter().filter(|f| f.starts_with(prefix)).collect();
        assert_eq!(lists.len(), 1, "one {prefix} list: {flags:?}");
        lists[0][prefix.len()..].split(',').collect()
    }

    #[test]
    fn extra_feature_lists_merge_into_the_built_in_ones() {
        let flags = flags_with(
            "--js-flags=--max-old-space-size=256 --disable-features=Foo,Bar --enable-features=Baz,Translate",
        );
        assert!(flags.contains(&"--js-flags=--max-old-space-size=256".to_string()));
        let disabled = list(&flags, "--disable-features=");
        for f in [
            "Foo",
            "Bar",
            "LogOnDeviceMetricsOnStartup",
            "site-per-process",
        ] {
            assert!(disabled.contains(&f), "{f} in {disabled:?}");
        }
        // The operator's word wins over the built-in list.
        assert!(!disabled.contains(&"Translate"), "{disabled:?}");
        let enabled = list(&flags, "--enable-features=");
        assert_eq!(
            enabled,
            [
                "NetworkService",
                "NetworkServiceInProcess",
                "Baz",
                "Translate"
            ]
        );
    }

    #[test]
    fn no_extra_args_gives_the_built_in_flags_and_a_desktop_user_agent() {
        let flags = flags_with("");
        assert!(flags.contains(&"--disable-blink-features=AutomationControlled".to_string()));
        let ua = flags
            .iter()
            .find_map(|f| f.strip_prefix("--user-agent="))
            .expect("a user agent");
        assert!(
            ua.contains(" Chrome/") && ua.ends_with(".0.0.0 Safari/537.36"),
            "{ua}"
        );
        assert!(!ua.contains("Headless"), "{ua}");
    }
}
