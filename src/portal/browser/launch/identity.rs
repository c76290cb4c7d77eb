//! Looking like a desktop Chrome to the portal, whichever Chromium runs: a portal that
//! turns away or flags headless or automated browsers sees the user agent, the client
//! hints, `navigator.webdriver`, the languages and the window. Flags cover what they can
//! for every request and worker from the first navigation; the headless shell's client
//! hints (a `HeadlessChrome` brand no flag removes) are overridden on the tab before it
//! loads anything.

use crate::portal::DriverError;
use crate::portal::cdp::{Cdp, CdpError};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// What makes the page look like a desktop Chrome to the portal, whichever Chromium runs:
/// the user agent of a desktop Chrome of the same version (headless builds say
/// `HeadlessChrome`; set by flag, so it holds for the first navigation, every request and
/// workers), no `navigator.webdriver`, and US English for the page and `Accept-Language`.
pub(super) fn identity_flags(path: &Path) -> Result<Vec<String>, DriverError> {
    let major = chrome_major_version(path)?;
    Ok(vec![
        format!("--user-agent={}", desktop_user_agent(&major)),
        "--disable-blink-features=AutomationControlled".to_string(),
        "--lang=en-US".to_string(),
        "--accept-lang=en-US,en".to_string(),
        "--screen-info={1920x1080}".to_string(),
    ])
}

/// A desktop Chrome's user agent on Linux. Chrome's reduced user agent names only the
/// major version (`156.0.0.0`) and always `X11; Linux x86_64`.
pub fn desktop_user_agent(major: &str) -> String {
    format!(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/{major}.0.0.0 Safari/537.36"
    )
}

/// The major version of the Chrome at `path` (`Chromium 156.0.8078.108 ...` -> `156`),
/// asked once per path: every launch needs it and the binary does not change under us.
fn chrome_major_version(path: &Path) -> Result<String, DriverError> {
    static KNOWN: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, major)) = known.iter().find(|(p, _)| p == path) {
        return Ok(major.clone());
    }
    let out = std::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            DriverError::Browser(format!("cannot run {} --version: {e}", path.display()))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let major = text
        .split_whitespace()
        .find_map(|word| {
            let (major, rest) = word.split_once('.')?;
            (!major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty())
                .then(|| major.to_string())
        })
        .ok_or_else(|| {
            DriverError::Browser(format!(
                "{} --version printed no version: {}",
                path.display(),
                text.trim()
            ))
        })?;
    known.push((path.to_path_buf(), major.clone()));
    Ok(major)
}

/// The user agent Chrome at `path` is launched with.
pub(super) fn user_agent_for(path: &Path) -> Result<String, DriverError> {
    Ok(desktop_user_agent(&chrome_major_version(path)?))
}

/// What the tab's `navigator.userAgentData` says of the browser (its low- and high-entropy
/// client hints).
const CLIENT_HINTS_JS: &str = r#"(async () => {
  const d = navigator.userAgentData;
  if (!d) return null;
  const h = await d.getHighEntropyValues(
    ["architecture", "bitness", "model", "platformVersion", "fullVersionList", "wow64"]);
  return {brands: d.brands, mobile: d.mobile, platform: d.platform, ...h};
})()"#;

/// The headless shell names a `HeadlessChrome` brand in its client hints (the `Sec-CH-UA`
/// header and `navigator.userAgentData`) whatever `--user-agent` says. On such a browser,
/// override the tab's user agent with the same one and the client hints it reports minus
/// that brand, before the portal's first page. A browser without the brand is left as it
/// is. The hints are only readable in a secure context, which `about:blank` is not: the tab
/// reads them on `secure_url` (the browser's own DevTools address, on the loopback), then
/// goes back to `about:blank`.
pub(super) fn hide_headless_brand(
    cdp: &mut Cdp,
    user_agent: &str,
    secure_url: &str,
    deadline: Instant,
) -> Result<(), CdpError> {
    cdp.call("Page.navigate", json!({"url": secure_url}), deadline)?;
    let answer = loop {
        let answer = cdp.call(
            "Runtime.evaluate",
            json!({"expression": CLIENT_HINTS_JS, "awaitPromise": true, "returnByValue": true}),
            deadline,
        )?;
        if !answer["result"]["value"].is_null() {
            break answer;
        }
        if Instant::now() >= deadline {
            return Err(CdpError::Timeout);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    cdp.call("Page.navigate", json!({"url": "about:blank"}), deadline)?;
    let hints = &answer["result"]["value"];
    let headless = |list: &Value| {
        list.as_array().is_some_and(|all| {
            all.iter()
                .any(|b| b["brand"].as_str().is_some_and(|n| n.contains("Headless")))
        })
    };
    if !headless(&hints["brands"]) && !headless(&hints["fullVersionList"]) {
        return Ok(());
    }
    let without = |list: &Value| -> Vec<Value> {
        list.as_array()
            .map(|all| {
                all.iter()
                    .filter(|b| !b["brand"].as_str().is_some_and(|n| n.contains("Headless")))
                    .map(|b| json!({"brand": b["brand"], "version": b["version"]}))
                    .collect()
            })
            .unwrap_or_default()
    };
    let full_versions = without(&hints["fullVersionList"]);
    let full_version = full_versions
        .iter()
        .find(|b| b["brand"] == "Chromium")
        .map(|b| b["version"].clone())
        .unwrap_or_default();
    let metadata = json!({
        "brands": without(&hints["brands"]),
        "fullVersionList": full_versions,
        "fullVersion": full_version,
        "platform": hints["platform"],
        "platformVersion": hints["platformVersion"],
        "architecture": hints["architecture"],
        "model": hints["model"],
        "mobile": hints["mobile"],
        "bitness": hints["bitness"],
        "wow64": hints["wow64"],
    });
    cdp.call(
        "Emulation.setUserAgentOverride",
        json!({
            "userAgent": user_agent,
            "platform": "Linux x86_64",
            // The shell sends `--accept-lang` as given; an override gets the weights a
            // desktop Chrome sends (`en-US,en;q=0.9`).
            "acceptLanguage": "en-US,en",
            "userAgentMetadata": metadata,
        }),
        deadline,
    )?;
    Ok(())
}
