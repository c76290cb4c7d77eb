//! Screenshots of every sandbox page, for a person to check that it looks like the portal as
//! recorded (`../shared/reference/real/`). Run by `scripts/sandbox-screenshots.sh` (ignored
//! in the normal test run); PNGs go to `target/sandbox-screenshots/<generation>/`, one
//! directory per Material generation (legacy, mdc).

#[path = "common/sandbox_driver.rs"]
mod driver;

use anyhow::Result;
use driver::{Driver, get_json, http, settings, solve_captcha};
use emodal_api::sandbox::SandboxServer;
use std::path::{Path, PathBuf};

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

fn out_dir(generation: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("sandbox-screenshots").join(generation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes PNGs; run scripts/sandbox-screenshots.sh"]
async fn sandbox_screenshots() {
    for generation in ["legacy", "mdc"] {
        let server = SandboxServer::start(&settings(&[("sandbox.generation", generation)]))
            .await
            .unwrap();
        let base = server.base_url();
        let dir = out_dir(generation);
        std::fs::create_dir_all(&dir).unwrap();
        http()
            .post(format!("{base}/__sandbox/config"))
            .json(&serde_json::json!({"identity_prompt": "always"}))
            .send()
            .await
            .unwrap();
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
    // Pages of other owners (wizard, My Appointments) change shape while they are rebuilt:
    // wait for a loaded document with some content, and take the picture either way.
    let best_effort = |name: &str, ready_js: &str| -> Result<()> {
        let _ = d.wait_for(name, 10, || {
            let v = d.eval(&format!(
                "document.readyState === 'complete' && !!({ready_js})"
            ))?;
            Ok((v == serde_json::Value::Bool(true)).then_some(()))
        });
        snap(name)
    };

    d.goto(&format!("{base}/trucker/web/"))?;
    snap("00-logged-out")?;

    let token = block(solve_captcha(&http(), base, "screenshots"))?;
    d.goto(&format!("{base}/login"))?;
    d.wait_js(
        "reCAPTCHA frame",
        "(f => f && f.contentDocument && f.contentDocument.querySelector('#recaptcha-anchor'))\
         (document.querySelector(\"iframe[src*='recaptcha/api2/anchor']\"))",
    )?;
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
        "identity prompt",
        "location.pathname.startsWith('/identity/') && document.readyState === 'complete'",
    )?;
    snap("03-identity-continue")?;
    d.click_xpath("//button[normalize-space(.)='Continue']")?;
    d.wait_js(
        "welcome",
        "location.pathname === '/Home/Welcome' && document.readyState === 'complete'",
    )?;
    snap("04-welcome")?;

    d.goto(&format!("{base}/containers"))?;
    d.wait_js(
        "rows",
        "document.querySelectorAll('#searchres tbody tr.cdk-row').length > 0",
    )?;
    snap("05-containers")?;
    let import = ds["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT" && c["passed_pregate"] == true)
        .unwrap_or(&ds["containers"][0]);
    let id = serde_json::to_string(import["Container #"].as_str().unwrap())?;
    let row = format!(
        "Array.from(document.querySelectorAll('#searchres tbody tr.cdk-row')).find(r => \
         r.querySelector('.container-number').textContent === {id})"
    );
    d.wait_js("row", &row)?;
    d.click_element(&format!(
        "{row}.querySelector('td.cdk-column-expand mat-icon')"
    ))?;
    d.wait_js(
        "card",
        &format!("{row}.nextElementSibling.querySelector('app-containerflow div[fxlayout=row]')"),
    )?;
    d.eval(&format!(
        "(b => {{ const r = {row}; b.scrollTop = r.offsetTop - b.querySelector('thead').offsetHeight; \
         b.scrollLeft = 0; return 1; }})(document.querySelector('#searchres'))"
    ))?;
    snap("06-containers-row-expanded")?;
    d.eval(&format!(
        "(b => {{ const f = {row}.nextElementSibling.querySelector('app-containerflow'); \
         b.scrollTop = f.offsetTop + f.offsetHeight - b.clientHeight; return 1; }})(document.querySelector('#searchres'))"
    ))?;
    snap("07-containers-timeline")?;
    d.click_element("document.querySelector('#searchres thead th.cdk-column-select')")?;
    d.wait_js(
        "Actions enabled",
        "!document.querySelector('.actions-button').disabled",
    )?;
    d.eval("document.querySelector('#searchres').scrollTop = 0")?;
    snap("08-containers-all-selected")?;

    d.goto(&format!("{base}/trucker/web/addvisit"))?;
    best_effort(
        "09-wizard",
        "document.querySelector('mat-form-field, mat-select')",
    )?;
    d.goto(&format!("{base}/myappointments"))?;
    best_effort(
        "10-my-appointments",
        "document.querySelector('table, mat-table, .mat-row, .mat-mdc-row')",
    )?;
    Ok(())
}
