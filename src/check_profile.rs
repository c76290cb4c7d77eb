//! `emodal-api check-profile`: walk the portal's pages read-only and report, for each page,
//! what every strategy of the portal profile matches there.
//!
//! This is how an operator tells whether the profile still fits the real portal before (or
//! after) something breaks: log in, open the containers grid (first page only), expand the
//! first row, open the appointment wizard's first step and My Appointments. Nothing is
//! filled in, selected or submitted. Credentials come from the environment
//! (`EMODAL_CHECK_USERNAME`, `EMODAL_CHECK_PASSWORD`, `EMODAL_CHECK_CAPTCHA_KEY`), never
//! from the command line, where any user of the machine could read them.

use crate::captcha::CaptchaClient;
use crate::config::Settings;
use crate::portal::{
    self, BrowserHandle, DETAIL_KEYS, DriverError, GRID_KEYS, LIST_KEYS, LOGIN_KEYS, Page, Target,
    WIZARD_KEYS,
};
use crate::secret::Secret;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Who logs in for the check.
pub struct CheckLogin {
    pub username: String,
    pub password: Secret,
    pub captcha_key: Secret,
}

/// The keepalive page's own key; the other pages' keys are the driver's.
const APP_KEYS: &[&str] = &["keepalive_ready"];

/// Run the check and return its report (one entry per page).
pub async fn run(settings: &Settings, login: Option<CheckLogin>) -> anyhow::Result<Value> {
    let profile = Arc::new(settings.portal.clone());
    let dir = settings
        .profiles_dir()
        .join(format!("check-{:016x}", rand::random::<u64>()));
    let browser = BrowserHandle::launch(&settings.chrome, profile, dir).await?;
    let report = walk(settings, &browser, login).await;
    browser.close().await;
    Ok(json!({ "pages": report }))
}

async fn walk(
    settings: &Settings,
    browser: &BrowserHandle,
    login: Option<CheckLogin>,
) -> Vec<Value> {
    let call = Duration::from_secs(settings.chrome.call_timeout.max(30));
    let mut pages = Vec::new();
    let form = browser
        .run("open login page", call, |page| {
            let form = portal::open_login(page);
            let site_key = form.as_ref().ok().map(|f| f.site_key.clone());
            let found = form.map(|f| json!({"site_key": f.site_key, "page_url": f.page_url}));
            Ok((entry(page, "login", found, LOGIN_KEYS).0, site_key))
        })
        .await;
    let form = match form {
        Ok((report, form)) => {
            pages.push(report);
            form
        }
        Err(e) => {
            pages.push(json!({"page": "login", "ok": false, "error": e.to_string()}));
            return pages;
        }
    };
    let (Some(login), Some(site_key)) = (login, form) else {
        return pages;
    };
    let captcha = CaptchaClient::new(&settings.captcha);
    let url = settings.portal.login_url.clone();
    let token = match captcha
        .solve_recaptcha(&login.captcha_key, &site_key, &url)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            pages.push(json!({"page": "captcha", "ok": false, "error": e.to_string()}));
            return pages;
        }
    };
    let steps: Vec<(&str, &[&str], Job)> = vec![
        (
            "app",
            APP_KEYS,
            Box::new(move |page: &mut Page| {
                portal::submit_login(page, &login.username, &login.password, &token)
                    .map(|u| json!({"url": u}))
            }),
        ),
        (
            "containers",
            GRID_KEYS,
            Box::new(|page: &mut Page| {
                portal::read_grid(page, &Target::FirstPage).map(|g| json!({"rows": g.rows.len(), "first": g.rows.first().and_then(|r| r.first())}))
            }),
        ),
        (
            "container detail",
            DETAIL_KEYS,
            Box::new(|page: &mut Page| {
                let grid = portal::read_grid(page, &Target::FirstPage)?;
                let Some(id) = grid.rows.first().and_then(|r| r.first()).cloned() else {
                    return Err(DriverError::NotFound(
                        "the account has no containers".into(),
                    ));
                };
                portal::container_detail(page, &id).map(|d| json!({"container": id, "milestones": d.timeline.len(), "fields": d.fields.len()}))
            }),
        ),
        (
            "appointment wizard",
            WIZARD_KEYS,
            Box::new(|page: &mut Page| portal::open_wizard(page).map(|_| json!({}))),
        ),
        (
            "my appointments",
            LIST_KEYS,
            Box::new(|page: &mut Page| {
                portal::my_appointments(page, &crate::model::ListTarget::all())
                    .map(|l| json!({"rows": l.rows.len(), "columns": l.columns}))
            }),
        ),
    ];
    for (name, keys, job) in steps {
        let got = browser
            .run(
                name,
                Duration::from_secs(settings.sessions.operation_timeout),
                move |page| {
                    let found = job(page);
                    Ok(entry(page, name, found, keys))
                },
            )
            .await;
        match got {
            Ok((report, ok)) => {
                pages.push(report);
                if !ok && name == "app" {
                    break;
                }
            }
            Err(e) => {
                pages.push(json!({"page": name, "ok": false, "error": e.to_string()}));
                break;
            }
        }
    }
    pages
}

type Job = Box<dyn FnOnce(&mut Page) -> Result<Value, DriverError> + Send>;

/// One page's report: the step's result and what each strategy of `keys` matches now.
fn entry(
    page: &mut Page,
    name: &str,
    found: Result<Value, DriverError>,
    keys: &[&str],
) -> (Value, bool) {
    let strategies = portal::probe_strategies(page, keys);
    let url = page.url();
    match found {
        Ok(v) => (
            json!({"page": name, "ok": true, "url": url, "found": v, "strategies": strategies}),
            true,
        ),
        Err(e) => (
            json!({"page": name, "ok": false, "url": url, "error": e.to_string(), "strategies": strategies}),
            false,
        ),
    }
}

/// The command: against the configured portal (credentials from the environment; without
/// them only the login page is checked), or with `sandbox` against an embedded sandbox.
/// Prints the report as JSON; fails when a page did not open as the profile expects.
pub async fn cli(mut settings: Settings, sandbox: bool) -> anyhow::Result<()> {
    let mut server = None;
    let login = if sandbox {
        settings.sandbox.port = 0;
        let s = crate::sandbox::SandboxServer::start(&settings.sandbox).await?;
        settings.wire_to_sandbox(&s.base_url());
        let account = settings.sandbox.accounts.first().cloned();
        server = Some(s);
        account.map(|a| CheckLogin {
            username: a.username,
            password: a.password,
            captcha_key: Secret::new("check-profile"),
        })
    } else {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (
            var("EMODAL_CHECK_USERNAME"),
            var("EMODAL_CHECK_PASSWORD"),
            var("EMODAL_CHECK_CAPTCHA_KEY"),
        ) {
            (Some(username), Some(password), Some(key)) => Some(CheckLogin {
                username,
                password: Secret::new(password),
                captcha_key: Secret::new(key),
            }),
            _ => {
                tracing::warn!(
                    "EMODAL_CHECK_USERNAME, EMODAL_CHECK_PASSWORD and EMODAL_CHECK_CAPTCHA_KEY are not all set: checking the login page only"
                );
                None
            }
        }
    };
    let report = run(&settings, login).await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    let report = report?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    let failed: Vec<String> = report["pages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["ok"] != true)
        .map(|p| p["page"].as_str().unwrap_or("?").to_string())
        .collect();
    anyhow::ensure!(
        failed.is_empty(),
        "pages that did not match the profile: {}",
        failed.join(", ")
    );
    Ok(())
}
