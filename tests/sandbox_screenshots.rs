//! Screenshots of every sandbox page, for a person to check that it looks like a portal.
//! Run by `scripts/sandbox-screenshots.sh` (ignored in the normal test run); PNGs go to
//! `target/sandbox-screenshots/`.

#[path = "common/sandbox_driver.rs"]
mod driver;

use anyhow::Result;
use driver::{Driver, get_json, http, settings, solve_captcha, xpath_literal};
use emodal_api::sandbox::SandboxServer;
use std::path::{Path, PathBuf};

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("sandbox-screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes PNGs; run scripts/sandbox-screenshots.sh"]
async fn sandbox_screenshots() {
    let server = SandboxServer::start(&settings(&[])).await.unwrap();
    let base = server.base_url();
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let result = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || shoot(&base, &dir)
    })
    .await
    .unwrap();
    server.shutdown().await;
    result.unwrap();
    println!("screenshots in {}", dir.display());
}

fn shoot(base: &str, dir: &Path) -> Result<()> {
    let ds = block(get_json(
        &http(),
        &format!("{base}/__sandbox/dataset?username=demo"),
    ));
    let d = Driver::launch()?;
    let snap = |name: &str| -> Result<()> {
        // Let fonts and layout settle: two animation frames.
        d.eval_promise(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))",
        )?;
        d.screenshot(&dir.join(format!("{name}.png")))
    };

    d.goto(&format!("{base}/trucker/web/"))?;
    snap("00-logged-out")?;

    let token = block(solve_captcha(&http(), base, "screenshots"))?;
    d.goto(&format!("{base}/login"))?;
    d.type_into("input[name=Username]", "demo")?;
    d.type_into("input[name=Password]", "demo-password")?;
    snap("01-login")?;
    d.eval(&format!(
        "document.querySelector('textarea#g-recaptcha-response').value = {}",
        serde_json::to_string(&token)?
    ))?;
    d.wait_js(
        "LOGIN enabled",
        "!document.querySelector('button[type=submit]').disabled",
    )?;
    snap("02-login-captcha-solved")?;
    d.click("button[type=submit]")?;
    d.wait_js(
        "home",
        "location.pathname === '/' && document.querySelector('button.user-button')",
    )?;
    snap("03-home")?;

    d.goto(&format!("{base}/containers"))?;
    d.wait_js(
        "rows",
        "document.querySelectorAll('#searchres tr.mat-mdc-row').length > 0",
    )?;
    let export = ds["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Trade Type"] == "EXPORT" && c["Status"] == "ON VESSEL")
        .unwrap_or(&ds["containers"][1]);
    snap("04-containers")?;
    let id = export["Container #"].as_str().unwrap();
    let cell = format!(
        "//div[@id='searchres']//tr[contains(@class,'mat-mdc-row')][td[2][normalize-space(.)={}]]/td[2]",
        xpath_literal(id)
    );
    d.wait_for("row", 15, || Ok(d.exists_xpath(&cell)?.then_some(())))?;
    d.click_xpath(&cell)?;
    d.wait_js(
        "detail",
        "document.querySelector('tr.detail-row app-containerflow div[fxlayout=row]')",
    )?;
    d.eval(
        "(b => { const r = document.querySelector('tr.detail-row').previousElementSibling; \
         b.scrollTop = r.offsetTop - b.querySelector('thead').offsetHeight; b.scrollLeft = 0; return 1; })\
         (document.querySelector('#searchres'))",
    )?;
    snap("05-containers-row-expanded")?;

    d.goto(&format!("{base}/trucker/web/addvisit"))?;
    d.wait_js(
        "wizard",
        "document.querySelector('mat-select[formcontrolname=trucking]')",
    )?;
    snap("06-wizard-step1-empty")?;
    d.choose("Trucking", ds["trucking_companies"][0].as_str().unwrap())?;
    d.click_xpath("//mat-form-field[.//mat-label[normalize-space(.)='Terminal']]//mat-select")?;
    d.wait_js(
        "options",
        "document.querySelector('.cdk-overlay-pane mat-option')",
    )?;
    snap("07-wizard-select-open")?;
    d.click_xpath("//div[contains(@class,'cdk-overlay-pane')]//mat-option[normalize-space(.)='Total Terminals Intl LLC']")?;
    d.choose("Move", "PICK FULL")?;
    let import = ds["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT")
        .unwrap();
    d.type_into(
        "input[formcontrolname=containerNumber]",
        import["Container #"].as_str().unwrap(),
    )?;
    d.tab.press_key("Enter")?;
    d.wait_js("chip", "document.querySelector('mat-chip-row')")?;
    snap("08-wizard-step1-filled")?;
    d.click_xpath("//div[@data-step='1']//button[normalize-space(.)='Next']")?;
    d.wait_js("step 2", "document.querySelector('mat-step-header[aria-posinset=\"2\"]').getAttribute('aria-selected') === 'true'")?;
    d.type_into("input[formcontrolname=Pin]", "4711")?;
    d.click("input[formcontrolname=Plate]")?;
    d.wait_js(
        "plates",
        "document.querySelector('.cdk-overlay-pane mat-option')",
    )?;
    snap("09-wizard-step2-plate-autocomplete")?;
    d.click(".cdk-overlay-pane mat-option")?;
    d.click_xpath("//mat-button-toggle[normalize-space(.)='YES']")?;
    snap("10-wizard-step2")?;
    d.click_xpath("//div[@data-step='2']//button[normalize-space(.)='Next']")?;
    d.wait_js("step 3", "document.querySelector('mat-step-header[aria-posinset=\"3\"]').getAttribute('aria-selected') === 'true'")?;
    d.click_xpath("//mat-form-field[.//mat-label[normalize-space(.)='Appointment']]//mat-select")?;
    d.wait_js(
        "slots",
        "document.querySelector('.cdk-overlay-pane mat-option')",
    )?;
    snap("11-wizard-step3-slots")?;
    d.click(".cdk-overlay-pane mat-option")?;
    d.wait_js(
        "check-in",
        "document.querySelector('.checkin-info').style.display !== 'none'",
    )?;
    snap("12-wizard-step3-chosen")?;
    d.click_xpath("//div[@data-step='3']//button[normalize-space(.)='Submit']")?;
    d.wait_js(
        "confirmation",
        "/^APT/.test(document.querySelector('.confirmation-number').textContent)",
    )?;
    snap("13-wizard-confirmation")?;

    d.goto(&format!("{base}/trucker/web/addvisit"))?;
    d.wait_js(
        "wizard",
        "document.querySelector('mat-select[formcontrolname=trucking]')",
    )?;
    d.click("mat-radio-button[value=EXPORT] input")?;
    d.click_xpath("//div[@data-step='1']//button[normalize-space(.)='Next']")?;
    d.wait_js(
        "errors",
        "document.querySelectorAll('mat-error').length >= 3",
    )?;
    snap("14-wizard-validation-errors")?;
    d.choose("Trucking", ds["trucking_companies"][0].as_str().unwrap())?;
    d.choose("Terminal", "ITS Long Beach")?;
    d.choose("Move", "DROP FULL")?;
    d.type_into("input[formcontrolname=bookingNumber]", "NOPE00000000")?;
    d.tab.press_key("Enter")?;
    d.click_xpath("//div[@data-step='1']//button[normalize-space(.)='Next']")?;
    d.wait_js("dialog", "document.querySelector('mat-dialog-container')")?;
    snap("15-wizard-no-open-transactions")?;

    d.goto(&format!("{base}/myappointments"))?;
    d.wait_js("appointments", "document.querySelector('tr.mat-mdc-row')")?;
    snap("16-my-appointments")?;
    Ok(())
}
