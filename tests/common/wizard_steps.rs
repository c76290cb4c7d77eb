//! Wizard and My Appointments steps as a person does them, for tests/sandbox_wizard.rs:
//! choose by label, type chips, pick autocomplete options, click Next / CLOSE, wait for the
//! stepper and the page spinner. Waits poll for conditions, never sleep.

use super::driver::{Driver, get_json, http, settings, solve_captcha, xpath_literal};
use anyhow::{Result, ensure};
use emodal_api::sandbox::SandboxServer;
use serde_json::{Value, json};
use std::future::Future;

/// Run async HTTP helpers from the blocking browser thread.
pub fn block<F: Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

pub fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Start a sandbox of `generation`, run `flow` on a blocking thread, shut down.
pub async fn with_sandbox(
    generation: &'static str,
    extra: &'static [(&'static str, &'static str)],
    flow: fn(&str, &str) -> Result<()>,
) {
    // One host: these tests are about the pages; the hops between hosts are tested in
    // tests/sandbox_hosts.rs and, with Chromium, tests/sandbox_browser.rs.
    let mut o = vec![
        ("sandbox.generation", generation),
        ("sandbox.separate_hosts", "false"),
    ];
    o.extend_from_slice(extra);
    let server = SandboxServer::start(&settings(&o)).await.unwrap();
    let base = server.base_url();
    let result = tokio::task::spawn_blocking(move || flow(&base, generation))
        .await
        .unwrap();
    server.shutdown().await;
    result.unwrap_or_else(|e| panic!("{generation}: {e:#}"));
}

/// Log in over HTTP (following the login's redirects by hand) and return the cookies set.
/// The login page itself is tested elsewhere; this keeps these tests about the wizard.
pub async fn login_cookies(base: &str, user: &str, password: &str) -> Result<Vec<String>> {
    let c = http();
    let token = solve_captcha(&c, base, "test-key").await?;
    let mut cookies: Vec<String> = Vec::new();
    let mut r = c
        .post(format!("{base}/Account/Login"))
        .form(&[
            ("Username", user),
            ("Password", password),
            ("g-recaptcha-response", &token),
        ])
        .send()
        .await?;
    for _ in 0..8 {
        for v in r.headers().get_all("set-cookie") {
            let kv = v.to_str()?.split(';').next().unwrap_or("").to_string();
            let name = kv.split('=').next().unwrap_or("").to_string();
            cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !kv.ends_with('=') {
                cookies.push(kv);
            }
        }
        let Some(loc) = r.headers().get("location").and_then(|l| l.to_str().ok()) else {
            break;
        };
        let url = if loc.starts_with("http") {
            loc.to_string()
        } else {
            format!("{base}{loc}")
        };
        r = c
            .get(url)
            .header("cookie", cookies.join("; "))
            .send()
            .await?;
    }
    ensure!(!cookies.is_empty(), "login set no cookie");
    Ok(cookies)
}

/// A browser logged in as demo.
pub fn browser(base: &str) -> Result<Driver> {
    let cookies = block(login_cookies(base, "demo", "demo-password"))?;
    let d = Driver::launch()?;
    d.goto(&format!("{base}/__sandbox/stats"))?;
    for c in cookies {
        d.eval(&format!("document.cookie = {} + '; path=/'", js(&c)))?;
    }
    Ok(d)
}

pub fn dataset(base: &str) -> Value {
    block(get_json(
        &http(),
        &format!("{base}/__sandbox/dataset?username=demo"),
    ))
}

pub fn set_config(base: &str, body: Value) -> Result<()> {
    let r = block(
        http()
            .post(format!("{base}/__sandbox/config"))
            .json(&body)
            .send(),
    )?;
    ensure!(r.status().is_success(), "config {body}: {}", r.status());
    Ok(())
}

pub fn free_slots(base: &str, terminal: &str, mv: &str) -> Vec<String> {
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/__sandbox/slots"),
        &[
            ("username", "demo"),
            ("terminal", terminal),
            ("move_type", mv),
        ],
    )
    .unwrap();
    serde_json::from_value(block(get_json(&http(), url.as_str()))["slots"].clone()).unwrap()
}

pub fn open_wizard(d: &Driver, base: &str) -> Result<()> {
    d.goto(&format!("{base}/trucker/web/addvisit"))?;
    d.wait_js(
        "wizard",
        "document.querySelector('mat-select[formcontrolname=terminal]')",
    )?;
    step_selected(d, 1)
}

pub fn step_selected(d: &Driver, n: u32) -> Result<()> {
    d.wait_js(
        &format!("step {n}"),
        &format!(
            "document.querySelector('mat-step-header[aria-posinset=\"{n}\"]').getAttribute('aria-selected') === 'true' && \
             getComputedStyle(document.querySelector('.mat-horizontal-stepper-content[data-step=\"{n}\"]')).display !== 'none' && \
             !document.querySelector('.ngx-spinner-overlay')"
        ),
    )
}

/// The text a select shows (either generation's min-line span).
pub fn select_value(d: &Driver, control: &str) -> Result<String> {
    let v = d.eval(&format!(
        "(s => s ? s.textContent.trim() : null)(document.querySelector('mat-select[formcontrolname={control}] .mat-select-min-line, mat-select[formcontrolname={control}] .mat-mdc-select-min-line'))"
    ))?;
    Ok(v.as_str().unwrap_or("").to_string())
}

/// Open the select labelled `label` (label text contains, as a careful driver matches).
pub fn open_select(d: &Driver, label: &str) -> Result<()> {
    d.wait_js(
        "no overlay",
        "!document.querySelector('.ngx-spinner-overlay')",
    )?;
    d.click_xpath(&format!(
        "//mat-form-field[.//mat-label[contains(normalize-space(.), {})]]//mat-select",
        xpath_literal(label)
    ))?;
    d.wait_js(
        "options",
        "document.querySelector('.cdk-overlay-pane mat-option')",
    )
}

pub fn pick_option(d: &Driver, text: &str) -> Result<()> {
    let opt = format!(
        "//div[contains(@class,'cdk-overlay-pane')]//mat-option[normalize-space(.)={}]",
        xpath_literal(text)
    );
    d.wait_for(&format!("option {text}"), 15, || {
        Ok(d.exists_xpath(&opt)?.then_some(()))
    })?;
    d.click_xpath(&opt)?;
    d.wait_js(
        "panel closed",
        "!document.querySelector('.cdk-overlay-pane mat-option')",
    )
}

pub fn choose(d: &Driver, label: &str, text: &str) -> Result<()> {
    open_select(d, label)?;
    pick_option(d, text)
}

/// Choose the terminal and wait out the white loading layer.
pub fn choose_terminal(d: &Driver, terminal: &str) -> Result<()> {
    choose(d, "Terminal", terminal)?;
    d.wait_js(
        "terminal loaded",
        "!document.querySelector('.ngx-spinner-overlay') && document.querySelector('.move-data-card').style.display !== 'none'",
    )
}

pub fn add_chip(d: &Driver, control: &str, value: &str) -> Result<()> {
    d.type_into(&format!("input[formcontrolname={control}]"), value)?;
    d.tab.press_key("Enter")?;
    d.wait_js(
        "chip",
        &format!(
            "Array.from(document.querySelectorAll('mat-chip, mat-chip-row')).some(c => c.textContent.includes({}))",
            js(value)
        ),
    )
}

pub fn autocomplete(d: &Driver, control: &str, value: &str) -> Result<()> {
    d.click(&format!(
        ".mat-horizontal-stepper-content:not([style*=none]) input[formcontrolname={control}]"
    ))?;
    pick_option(d, value)?;
    d.wait_js(
        "filled",
        &format!(
            "Array.from(document.querySelectorAll('input[formcontrolname={control}]')).some(i => i.value === {})",
            js(value)
        ),
    )
}

/// Click the visible button whose text is `label` (legacy: span.mat-button-wrapper).
pub fn click_button(d: &Driver, label: &str) -> Result<()> {
    d.wait_js(
        "no overlay",
        "!document.querySelector('.ngx-spinner-overlay')",
    )?;
    d.click_xpath(&format!(
        "//div[contains(@class,'mat-horizontal-stepper-content') and not(contains(@style,'none'))]//button[normalize-space(.)={}]",
        xpath_literal(label)
    ))
}

pub fn next(d: &Driver, from: u32) -> Result<()> {
    d.click_xpath(&format!(
        "//div[@data-step='{from}']//button[contains(@class,'text-next') and normalize-space(.)='Next']"
    ))?;
    step_selected(d, from + 1)
}

/// Close the open dialog with CLOSE: legacy by the exact span the original used.
pub fn close_dialog(d: &Driver, generation: &str) -> Result<()> {
    let xp = if generation == "legacy" {
        "//span[@class='mat-button-wrapper' and text()='CLOSE']"
    } else {
        "//mat-dialog-container//button[normalize-space(.)='CLOSE']"
    };
    d.click_xpath(xp)?;
    d.wait_js(
        "dialog closed",
        "!document.querySelector('mat-dialog-container')",
    )
}

pub fn dialog_text(d: &Driver) -> Result<String> {
    d.wait_js(
        "dialog",
        "document.querySelector('mat-dialog-container div.dialog-content span')",
    )?;
    d.text("mat-dialog-container div.dialog-content span")
}

/// Step 2: tick the move, fill its fields, Next.
pub fn step2(d: &Driver, ds: &Value, unit: Option<&str>) -> Result<()> {
    ensure!(
        d.eval("document.querySelector('.move-items input[type=checkbox]').checked")?
            == json!(false),
        "the move starts unchecked"
    );
    ensure!(
        d.eval("document.querySelector('.discard-button').disabled")? == json!(true),
        "DISCARD disabled until a move is checked"
    );
    d.click_xpath("(//div[@data-step='2']//mat-checkbox)[1]")?;
    d.wait_js(
        "checked",
        "document.querySelector('.move-items input[type=checkbox]').checked && !document.querySelector('.discard-button').disabled",
    )?;
    shot(d, "step2", if unit.is_some() { "export" } else { "import" })?;
    if let Some(u) = unit {
        d.type_into("input[formcontrolname=Unit]", u)?;
    }
    autocomplete(d, "Plate", ds["truck_plates"][1].as_str().unwrap())?;
    next(d, 2)
}

/// Whether step 3's slot field shows a visible label.
pub fn slot_label(d: &Driver) -> Result<Value> {
    d.eval("(l => l ? l.textContent.trim() : null)(document.querySelector('[data-field=slot] mat-label'))")
}

pub fn import_to_step3(
    d: &Driver,
    base: &str,
    ds: &Value,
    terminal: &str,
    container: &str,
) -> Result<()> {
    open_wizard(d, base)?;
    ensure!(
        select_value(d, "trucking")? == ds["trucking_companies"][0],
        "trucking preselected"
    );
    ensure!(
        select_value(d, "moveType")?.is_empty(),
        "Move Type empty before a terminal"
    );
    choose_terminal(d, terminal)?;
    ensure!(select_value(d, "moveType")? == "PICK FULL");
    add_chip(d, "containerNumber", container)?;
    next(d, 1)?;
    step2(d, ds, None)
}

pub fn first_import(ds: &Value) -> String {
    ds["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT")
        .unwrap()["Container #"]
        .as_str()
        .unwrap()
        .to_string()
}

/// With `EMODAL_WIZARD_SHOTS=<dir>`, save a screenshot (for looking at the pages by eye).
pub fn shot(d: &Driver, generation: &str, name: &str) -> Result<()> {
    if let Ok(dir) = std::env::var("EMODAL_WIZARD_SHOTS") {
        std::fs::create_dir_all(&dir)?;
        d.screenshot(&std::path::Path::new(&dir).join(format!("{generation}-{name}.png")))?;
    }
    Ok(())
}

pub fn booked(base: &str) -> usize {
    dataset(base)["appointments"].as_array().map_or(0, Vec::len)
}
