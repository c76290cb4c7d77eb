//! A minimal test-local browser driver and HTTP helpers for the sandbox tests.
//!
//! Not library code: just enough to drive the sandbox like a person would (clicks, typing,
//! scrolling) and to wait for conditions with a deadline, never with fixed sleeps.
#![allow(dead_code)]

use anyhow::{Context, Result, anyhow, bail};
use emodal_api::config::{SandboxSettings, Settings};
use headless_chrome::browser::tab::point::Point;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;
use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const SITE_KEY: &str = "6LcSandboxSiteKey-emodal-0000000000000000";

/// Sandbox settings for tests: a free port, quick captcha, plus `extra` overrides.
pub fn settings(extra: &[(&str, &str)]) -> SandboxSettings {
    let mut o = vec![
        ("sandbox.port", "0"),
        ("sandbox.captcha_solve_delay_ms", "50"),
        ("sandbox.render_delay_ms", "0"),
    ];
    let generation = std::env::var("EMODAL_TEST_GENERATION").unwrap_or_default();
    if !generation.is_empty() {
        o.push(("sandbox.generation", &generation));
    }
    o.extend_from_slice(extra);
    Settings::from_overrides(&o).expect("settings").sandbox
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// Submit a reCAPTCHA task and poll `res.php` until the token is ready.
pub async fn solve_captcha(c: &reqwest::Client, base: &str, key: &str) -> Result<String> {
    let v: Value = c
        .post(format!("{base}/in.php"))
        .form(&[
            ("key", key),
            ("method", "userrecaptcha"),
            ("googlekey", SITE_KEY),
            ("pageurl", &format!("{base}/login")),
            ("json", "1"),
        ])
        .send()
        .await?
        .json()
        .await?;
    if v["status"] != 1 {
        bail!("in.php: {v}");
    }
    let id = v["request"].as_str().context("task id")?.to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r: Value = c
            .get(format!("{base}/res.php"))
            .query(&[("key", key), ("action", "get"), ("id", &id), ("json", "1")])
            .send()
            .await?
            .json()
            .await?;
        match (r["status"].as_i64(), r["request"].as_str()) {
            (Some(1), Some(token)) => return Ok(token.to_string()),
            (Some(0), Some("CAPCHA_NOT_READY")) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            _ => bail!("res.php: {r}"),
        }
    }
}

pub async fn get_json(c: &reqwest::Client, url: &str) -> Value {
    c.get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// A headless Chromium with a fresh profile; dropping it closes Chrome and removes the profile.
pub struct Driver {
    pub tab: Arc<Tab>,
    // Field order matters: the browser must go before its profile directory.
    pub browser: Browser,
    _profile: TempDir,
}

impl Driver {
    pub fn launch() -> Result<Driver> {
        let profile = TempDir::new()?;
        let args: Vec<&OsStr> = [
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-gpu",
        ]
        .iter()
        .map(OsStr::new)
        .collect();
        let opts = LaunchOptions::default_builder()
            .path(Some("/usr/bin/chromium".into()))
            .sandbox(false)
            .headless(true)
            .user_data_dir(Some(profile.path().to_path_buf()))
            .window_size(Some((1400, 900)))
            .args(args)
            .idle_browser_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| anyhow!("launch options: {e}"))?;
        let browser = Browser::new(opts)?;
        let tab = browser.new_tab()?;
        tab.set_default_timeout(Duration::from_secs(20));
        Ok(Driver {
            tab,
            browser,
            _profile: profile,
        })
    }

    /// Evaluate `expr` and return its value as JSON (the page stringifies it).
    pub fn eval(&self, expr: &str) -> Result<Value> {
        let js = format!("JSON.stringify((function(){{ return ({expr}); }})())");
        let r = self.tab.evaluate(&js, false)?;
        match r.value {
            Some(Value::String(s)) => Ok(serde_json::from_str(&s)?),
            _ => Ok(Value::Null),
        }
    }

    /// Evaluate a promise-valued `expr` and return its resolved value as JSON.
    pub fn eval_promise(&self, expr: &str) -> Result<Value> {
        let js = format!("(async () => JSON.stringify(await ({expr})))()");
        let r = self.tab.evaluate(&js, true)?;
        match r.value {
            Some(Value::String(s)) => Ok(serde_json::from_str(&s)?),
            _ => Ok(Value::Null),
        }
    }

    /// Poll `f` every 25 ms until it yields `Some`, or fail after `secs` seconds.
    pub fn wait_for<T>(
        &self,
        what: &str,
        secs: u64,
        mut f: impl FnMut() -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f()? {
                return Ok(v);
            }
            if Instant::now() > deadline {
                let url = self.tab.get_url();
                bail!("timed out waiting for {what} (at {url})");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Wait until the JS expression is truthy.
    pub fn wait_js(&self, what: &str, expr: &str) -> Result<()> {
        self.wait_for(what, 15, || {
            let v = self.eval(&format!("!!({expr})"))?;
            Ok((v == Value::Bool(true)).then_some(()))
        })
    }

    /// Navigate and wait until the new document is loaded at a URL ending with `path_suffix`.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.tab.navigate_to(url)?;
        let want = url.to_string();
        self.wait_js(
            &format!("navigation to {want}"),
            &format!(
                "location.href === {} && document.readyState === 'complete'",
                serde_json::to_string(&want)?
            ),
        )
    }

    /// A real mouse click at the centre of the element `element_js` evaluates to, after
    /// scrolling it into view. One evaluation plus the mouse events: headless_chrome 1.0.22 takes
    /// about 100 ms per protocol call here, so `Element::click` (nine calls) is avoided.
    fn click_js(&self, what: &str, element_js: &str) -> Result<()> {
        let v = self.eval(&format!(
            "(e => {{ if (!e) return null; e.scrollIntoView({{block: 'center', inline: 'center', behavior: 'instant'}}); \
             const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2, r.width * r.height]; }})({element_js})"
        ))?;
        let Some([x, y, area]) = v
            .as_array()
            .map(|a| [0, 1, 2].map(|i| a[i].as_f64().unwrap_or(0.0)))
        else {
            bail!("no element {what}");
        };
        if area <= 0.0 {
            bail!("element {what} is not visible");
        }
        self.tab.click_point(Point { x, y })?;
        Ok(())
    }

    /// A real mouse click on the element a JS expression evaluates to.
    pub fn click_element(&self, element_js: &str) -> Result<()> {
        self.click_js(element_js, element_js)
    }

    pub fn click(&self, selector: &str) -> Result<()> {
        self.click_js(
            selector,
            &format!(
                "document.querySelector({})",
                serde_json::to_string(selector)?
            ),
        )
    }

    pub fn click_xpath(&self, xpath: &str) -> Result<()> {
        self.click_js(
            xpath,
            &format!(
                "document.evaluate({}, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue",
                serde_json::to_string(xpath)?
            ),
        )
    }

    /// True when the XPath matches an element.
    pub fn exists_xpath(&self, xpath: &str) -> Result<bool> {
        let v = self.eval(&format!(
            "!!document.evaluate({}, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue",
            serde_json::to_string(xpath)?
        ))?;
        Ok(v == Value::Bool(true))
    }

    pub fn text(&self, selector: &str) -> Result<String> {
        let v = self.eval(&format!(
            "(document.querySelector({s}) || {{}}).textContent || null",
            s = serde_json::to_string(selector)?
        ))?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no element {selector}"))
    }

    /// Type into an input: click to focus, then insert the text as the keyboard would
    /// (one `input` event; per-key typing costs two protocol calls a character).
    pub fn type_into(&self, selector: &str, text: &str) -> Result<()> {
        self.click(selector)?;
        self.tab.send_character(text)?;
        Ok(())
    }

    /// Pick `option` in the Angular-Material-style select labelled `label`.
    pub fn choose(&self, label: &str, option: &str) -> Result<()> {
        let field = format!(
            "//mat-form-field[.//mat-label[normalize-space(.)={}]]",
            xpath_literal(label)
        );
        self.click_xpath(&format!("{field}//mat-select"))?;
        let opt = format!(
            "//div[contains(@class,'cdk-overlay-pane')]//mat-option[normalize-space(.)={}]",
            xpath_literal(option)
        );
        self.wait_for(&format!("option {option}"), 15, || {
            Ok(self.exists_xpath(&opt)?.then_some(()))
        })?;
        self.click_xpath(&opt)?;
        let sel = serde_json::to_string(label)?;
        self.wait_js(
            &format!("{label} = {option}"),
            &format!(
                "Array.from(document.querySelectorAll('mat-form-field')).some(f => \
                 f.querySelector('mat-label').textContent.trim() === {sel} && \
                 (f.querySelector('.mat-mdc-select-min-line') || {{}}).textContent === {o}) && \
                 !document.querySelector('.cdk-overlay-pane')",
                o = serde_json::to_string(option)?
            ),
        )
    }

    /// The option texts currently listed in the open overlay.
    pub fn overlay_options(&self) -> Result<Vec<String>> {
        let v = self.eval(
            "Array.from(document.querySelectorAll('.cdk-overlay-pane mat-option')).map(o => o.textContent.trim())",
        )?;
        Ok(serde_json::from_value(v)?)
    }

    pub fn screenshot(&self, path: &std::path::Path) -> Result<()> {
        let png = self.tab.capture_screenshot(
            headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption::Png,
            None,
            None,
            true,
        )?;
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Log in through the page: token from the stand-in's 2captcha API into the textarea.
    pub fn login(&self, base: &str, user: &str, password: &str, token: &str) -> Result<()> {
        self.login_with(base, user, password, token, false)
    }

    /// As [`Driver::login`]; with `via_callback` the token goes to the callback registered in
    /// `___grecaptcha_cfg.clients[0]` (found by walking its nested objects, as solver scripts
    /// do), instead of into the textarea.
    pub fn login_with(
        &self,
        base: &str,
        user: &str,
        password: &str,
        token: &str,
        via_callback: bool,
    ) -> Result<()> {
        self.goto(&format!("{base}/login"))?;
        self.wait_js(
            "login form",
            "document.querySelector('button[type=submit]')",
        )?;
        let disabled = self.eval("document.querySelector('button[type=submit]').disabled")?;
        if disabled != Value::Bool(true) {
            bail!("LOGIN must be disabled before the captcha is solved");
        }
        self.type_into("input[name=Username]", user)?;
        self.type_into("input[name=Password]", password)?;
        let token = serde_json::to_string(token)?;
        if via_callback {
            self.eval(&format!(
                "(function find(o, depth) {{ if (!o || typeof o !== 'object' || depth > 4) return null; \
                   if (o.sitekey && typeof o.callback === 'function') return o.callback; \
                   for (const k of Object.keys(o)) {{ const f = find(o[k], depth + 1); if (f) return f; }} \
                   return null; }})(window.___grecaptcha_cfg.clients[0], 0)({token})"
            ))?;
        } else {
            self.eval(&format!(
                "document.querySelector('textarea#g-recaptcha-response').value = {token}"
            ))?;
        }
        self.wait_js(
            "LOGIN enabled",
            "!document.querySelector('button[type=submit]').disabled",
        )?;
        self.click("button[type=submit]")?;
        Ok(())
    }
}

/// An XPath string literal for `s` (handles quotes).
pub fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
