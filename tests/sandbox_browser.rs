//! The sandbox driven by real headless Chromium, as a person (or our driver) would use it:
//! captcha solved through the stand-in's 2captcha API, login, the infinite-scroll grid compared
//! cell by cell with `/__sandbox/dataset`, a row's detail card and timeline, the appointment
//! wizard to a confirmation, and My Appointments. Waits poll for conditions, never sleep.

#[path = "common/sandbox_driver.rs"]
mod driver;

use anyhow::{Result, ensure};
use driver::{Driver, get_json, http, settings, solve_captcha, xpath_literal};
use emodal_api::sandbox::SandboxServer;
use serde_json::{Value, json};
use std::future::Future;

/// Run async HTTP helpers from the blocking browser thread.
fn block<F: Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

const COLUMNS: [&str; 18] = [
    "Container #",
    "Trade Type",
    "Status",
    "Holds",
    "Pregate Ticket#",
    "Emodal Pregate Status",
    "Gate Status",
    "Origin",
    "Destination",
    "Current Loc",
    "Line",
    "Vessel Name",
    "Vessel Code",
    "Voyage",
    "Size Type",
    "Fees",
    "LFD/GTD",
    "Tags",
];

fn login_to_home(d: &Driver, base: &str, via_callback: bool) -> Result<()> {
    let token = block(solve_captcha(&http(), base, "test-key"))?;
    d.login_with(base, "demo", "demo-password", &token, via_callback)?;
    d.wait_js(
        "app home",
        "location.pathname === '/' && document.querySelector('app-root mat-sidenav-container mat-toolbar button.user-button')",
    )?;
    ensure!(d.text("mat-toolbar button[class*=user]")?.trim() == "demo");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_grid_scrolls_expands_and_matches_dataset() {
    let server = SandboxServer::start(&settings(&[("sandbox.render_delay_ms", "120")]))
        .await
        .unwrap();
    let base = server.base_url();
    let result = tokio::task::spawn_blocking(move || grid_flow(&base))
        .await
        .unwrap();
    server.shutdown().await;
    result.unwrap();
}

fn grid_flow(base: &str) -> Result<()> {
    let ds = block(get_json(
        &http(),
        &format!("{base}/__sandbox/dataset?username=demo"),
    ));
    let containers = ds["containers"].as_array().unwrap().clone();
    let d = Driver::launch()?;
    login_to_home(&d, base, true)?;

    d.goto(&format!("{base}/containers"))?;
    let box_ok = d.eval(
        "(b => b && b.hasAttribute('matinfinitescroll') && b.classList.contains('search-results') && \
         getComputedStyle(b).overflowY === 'auto')(document.querySelector('div#searchres'))",
    )?;
    ensure!(box_ok == json!(true), "scroll box markup");
    // Rows are never in the server's HTML: the script fetches them.
    let server_html_has_no_rows = d.eval_promise(
        "fetch('/containers').then(r => r.text()).then(t => \
         t.includes('<tbody role=\"rowgroup\" class=\"mdc-data-table__content\"></tbody>'))",
    )?;
    ensure!(
        server_html_has_no_rows == json!(true),
        "rows must not be in the server HTML"
    );
    let headers = d.eval("Array.from(document.querySelectorAll('#searchres thead th')).map(t => t.textContent.trim())")?;
    let mut want = vec![String::new()];
    want.extend(COLUMNS.iter().map(|c| c.to_string()));
    want.push(String::new());
    ensure!(headers == json!(want), "headers: {headers}");
    ensure!(
        d.eval("!!document.querySelector('#searchres thead th input[type=checkbox]')")?
            == json!(true)
    );

    // Scroll to the bottom until every row has loaded.
    let count = || -> Result<usize> {
        Ok(
            d.eval("document.querySelectorAll('#searchres tbody tr.mat-mdc-row').length")?
                .as_u64()
                .unwrap() as usize,
        )
    };
    d.wait_for("first page", 15, || Ok((count()? > 0).then_some(())))?;
    let mut saw_bar = false;
    let mut cycles = 0;
    while count()? < containers.len() {
        let before = count()?;
        let bar = d.eval_promise(
            "new Promise(r => { const b = document.querySelector('#searchres'); b.scrollTop = b.scrollHeight; \
             b.addEventListener('scroll', () => r(!!document.querySelector('#searchres mat-progress-bar')), {once: true}); })",
        )?;
        saw_bar |= bar == json!(true);
        d.wait_for("next page", 15, || Ok((count()? > before).then_some(())))?;
        d.wait_js(
            "progress bar gone",
            "!document.querySelector('#searchres mat-progress-bar')",
        )?;
        cycles += 1;
        ensure!(cycles < 50, "too many scroll cycles");
    }
    ensure!(saw_bar, "a progress bar shows while a page loads");
    ensure!(count()? == containers.len());
    // Everything loaded: scrolling again loads nothing and shows no progress bar.
    let bar = d.eval_promise(
        "new Promise(r => { const b = document.querySelector('#searchres'); b.scrollTop = 0; \
         b.addEventListener('scroll', () => { b.scrollTop = b.scrollHeight; \
           b.addEventListener('scroll', () => r(!!document.querySelector('#searchres mat-progress-bar')), {once: true}); }, {once: true}); })",
    )?;
    ensure!(
        bar == json!(false),
        "no progress bar once all rows are loaded"
    );

    let rows = d.eval(
        "Array.from(document.querySelectorAll('#searchres tbody tr.mat-mdc-row')).map(tr => ({ \
           n: tr.children.length, cb: !!tr.children[0].querySelector('input[type=checkbox]'), \
           icon: tr.lastElementChild.querySelector('mat-icon').textContent, \
           cells: Array.from(tr.children).slice(1, 19).map(td => td.textContent) }))",
    )?;
    for (i, (row, c)) in rows.as_array().unwrap().iter().zip(&containers).enumerate() {
        ensure!(
            row["n"] == 20 && row["cb"] == true && row["icon"] == "keyboard_arrow_right",
            "row {i}: {row}"
        );
        for (j, col) in COLUMNS.iter().enumerate() {
            ensure!(
                row["cells"][j] == c[*col],
                "row {i} column {col}: {} != {}",
                row["cells"][j],
                c[*col]
            );
        }
    }

    // Expand an export row with history, then an import row; compare card and timeline.
    let export = containers
        .iter()
        .find(|c| {
            c["Trade Type"] == "EXPORT"
                && c["timeline"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["status"] == "completed")
        })
        .unwrap();
    let import = containers
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT" && c["passed_pregate"] == true)
        .unwrap();
    for c in [export, import] {
        let id = c["Container #"].as_str().unwrap();
        d.click_xpath(&format!(
            "//div[@id='searchres']//tr[contains(@class,'mat-mdc-row')][td[2][normalize-space(.)={}]]/td[2]",
            xpath_literal(id)
        ))?;
        let n = c["timeline"].as_array().unwrap().len();
        let detail_js = format!(
            "(tr => tr && tr.nextElementSibling && tr.nextElementSibling.classList.contains('detail-row') ? tr.nextElementSibling : null)\
             (Array.from(document.querySelectorAll('#searchres tr.mat-mdc-row')).find(r => r.children[1].textContent === {}))",
            js(id)
        );
        d.wait_js(
            "timeline",
            &format!("(d => d && d.querySelectorAll('app-containerflow div[fxlayout=row]').length === {n})({detail_js})"),
        )?;
        let got = d.eval(&format!(
            "(d => ({{ colspan: d.firstElementChild.getAttribute('colspan'), cells: d.children.length, \
               icon: d.previousElementSibling.lastElementChild.textContent, \
               timeline: Array.from(d.querySelectorAll('app-containerflow div[fxlayout=row]')).map(r => ({{ \
                 labels: Array.from(r.querySelectorAll('span.location-details-label')).map(s => s.textContent), \
                 done: r.querySelector('div.timeline-divider').classList.contains('dividerflowcolor'), \
                 pending: r.querySelector('div.timeline-divider').classList.contains('dividerflowcolor2') }})), \
               fields: Array.from(d.querySelectorAll('div.field-label')).map(l => [l.textContent, \
                 l.nextElementSibling.textContent, l.nextElementSibling.className]) }}))({detail_js})"
        ))?;
        ensure!(got["colspan"] == "20" && got["cells"] == 1, "{got}");
        ensure!(got["icon"] == "keyboard_arrow_down", "{got}");
        for (m, g) in c["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .zip(got["timeline"].as_array().unwrap())
        {
            ensure!(
                g["labels"] == json!([m["milestone"], m["date"]]),
                "{g} vs {m}"
            );
            let done = m["status"] == "completed";
            ensure!(g["done"] == done && g["pending"] == !done, "{g} vs {m}");
        }
        let fields = got["fields"].as_array().unwrap();
        ensure!(
            fields.len() == c["details"].as_object().unwrap().len(),
            "{got}"
        );
        for f in fields {
            let label = f[0].as_str().unwrap();
            ensure!(
                f[1] == c["details"][label],
                "{label}: {} vs {}",
                f[1],
                c["details"][label]
            );
            if label == "Booking #" {
                ensure!(f[2] == "field-data btn-link", "{f}");
                let want = c["booking_number"].as_str().unwrap_or("N/A");
                ensure!(f[1] == want, "booking {f}");
            }
        }
        // Collapse again.
        d.click_xpath(&format!(
            "//div[@id='searchres']//tr[contains(@class,'mat-mdc-row')][td[2][normalize-space(.)={}]]/td[2]",
            xpath_literal(id)
        ))?;
        d.wait_js("collapsed", &format!("!({detail_js})"))?;
    }
    ensure!(c_export_has_booking(export));
    Ok(())
}

fn c_export_has_booking(c: &Value) -> bool {
    c["booking_number"].as_str().is_some_and(|b| b.len() == 12)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wizard_books_a_slot_and_my_appointments_lists_it() {
    let server = SandboxServer::start(&settings(&[("sandbox.render_delay_ms", "100")]))
        .await
        .unwrap();
    let base = server.base_url();
    let result = tokio::task::spawn_blocking(move || wizard_flow(&base))
        .await
        .unwrap();
    server.shutdown().await;
    result.unwrap();
}

fn step_selected(d: &Driver, n: u32) -> Result<()> {
    d.wait_js(
        &format!("step {n}"),
        &format!(
            "document.querySelector('mat-step-header[aria-posinset=\"{n}\"]').getAttribute('aria-selected') === 'true' && \
             getComputedStyle(document.querySelector('.mat-horizontal-stepper-content[data-step=\"{n}\"]')).display !== 'none'"
        ),
    )
}

/// Click the visible button labelled `label` in the current step.
fn click_step_button(d: &Driver, label: &str) -> Result<()> {
    d.click_xpath(&format!(
        "//div[contains(@class,'mat-horizontal-stepper-content') and not(contains(@style,'none'))]//button[normalize-space(.)={}]",
        xpath_literal(label)
    ))
}

fn errors(d: &Driver) -> Result<Vec<String>> {
    Ok(serde_json::from_value(d.eval(
        "Array.from(document.querySelectorAll('mat-error')).map(e => e.textContent)",
    )?)?)
}

fn add_chip(d: &Driver, control: &str, value: &str) -> Result<()> {
    d.type_into(&format!("input[formcontrolname={control}]"), value)?;
    d.tab.press_key("Enter")?;
    d.wait_js(
        "chip",
        &format!(
            "Array.from(document.querySelectorAll('mat-chip-row')).some(c => c.textContent.includes({}))",
            js(value)
        ),
    )
}

fn pick_plate(d: &Driver, plate: &str) -> Result<()> {
    d.click("input[formcontrolname=Plate]")?;
    let opt = format!(
        "//div[contains(@class,'cdk-overlay-pane')]//mat-option[normalize-space(.)={}]",
        xpath_literal(plate)
    );
    d.wait_for("plate options", 15, || {
        Ok(d.exists_xpath(&opt)?.then_some(()))
    })?;
    d.click_xpath(&opt)?;
    d.wait_js(
        "plate filled",
        &format!(
            "document.querySelector('input[formcontrolname=Plate]').value === {}",
            js(plate)
        ),
    )
}

fn slots(base: &str, user: &str, terminal: &str, mv: &str) -> Vec<String> {
    let url = reqwest::Url::parse_with_params(
        &format!("{base}/__sandbox/slots"),
        &[
            ("username", user),
            ("terminal", terminal),
            ("move_type", mv),
        ],
    )
    .unwrap();
    serde_json::from_value(block(get_json(&http(), url.as_str()))["slots"].clone()).unwrap()
}

/// Steps 1 and 2 of an import visit; ends on step 3 with the slot list open.
fn import_to_step3(
    d: &Driver,
    base: &str,
    ds: &Value,
    terminal: &str,
    mv: &str,
    container: &str,
) -> Result<Vec<String>> {
    d.goto(&format!("{base}/trucker/web/addvisit"))?;
    d.wait_js(
        "wizard",
        "document.querySelector('mat-select[formcontrolname=trucking]')",
    )?;
    step_selected(d, 1)?;
    d.choose("Trucking", ds["trucking_companies"][0].as_str().unwrap())?;
    d.choose("Terminal", terminal)?;
    d.choose("Move", mv)?;
    add_chip(d, "containerNumber", container)?;
    click_step_button(d, "Next")?;
    step_selected(d, 2)?;
    pick_plate(d, ds["truck_plates"][1].as_str().unwrap())?;
    click_step_button(d, "Next")?;
    step_selected(d, 3)?;
    d.click_xpath("//mat-form-field[.//mat-label[normalize-space(.)='Appointment']]//mat-select")?;
    d.wait_js(
        "slot options",
        "document.querySelector('.cdk-overlay-pane mat-option, .cdk-overlay-pane .no-options')",
    )?;
    d.overlay_options()
}

fn wizard_flow(base: &str) -> Result<()> {
    let ds = block(get_json(
        &http(),
        &format!("{base}/__sandbox/dataset?username=demo"),
    ));
    let containers = ds["containers"].as_array().unwrap();
    let import = containers
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT")
        .unwrap()["Container #"]
        .as_str()
        .unwrap()
        .to_string();
    let terminal = "ITS Long Beach";
    let mv = "PICK FULL";
    let d = Driver::launch()?;
    login_to_home(&d, base, false)?;

    // Step 1: stepper markup, required-field errors, unknown container, chip removal.
    d.goto(&format!("{base}/trucker/web/addvisit"))?;
    ensure!(d.eval("document.title")? == "Add Appointment");
    d.wait_js(
        "wizard",
        "document.querySelector('mat-select[formcontrolname=trucking]')",
    )?;
    let headers = d.eval(
        "Array.from(document.querySelectorAll('mat-step-header')).map(h => [h.getAttribute('aria-posinset'), \
         h.querySelector('.mat-step-text-label').textContent, h.getAttribute('aria-selected')])",
    )?;
    ensure!(
        headers
            == json!([
                ["1", "Add required data", "true"],
                ["2", "Add move details", "false"],
                ["3", "Choose appointment time", "false"],
                ["4", "Confirmation", "false"]
            ]),
        "{headers}"
    );
    d.choose("Trucking", ds["trucking_companies"][0].as_str().unwrap())?;
    d.choose("Terminal", terminal)?;
    d.choose("Move", mv)?;
    add_chip(&d, "containerNumber", "ABCU1234560")?;
    click_step_button(&d, "Next")?;
    d.wait_js("not found", "Array.from(document.querySelectorAll('mat-error')).some(e => e.textContent.includes('Container not found'))")?;
    step_selected(&d, 1)?;
    d.click("mat-chip-row button.mat-mdc-chip-remove")?;
    d.wait_js("chip removed", "!document.querySelector('mat-chip-row')")?;
    add_chip(&d, "containerNumber", &import)?;
    click_step_button(&d, "Next")?;

    // Step 2: the container checkbox, plate required, plate autocomplete, own chassis.
    step_selected(&d, 2)?;
    ensure!(d.eval(&format!(
        "(i => i && i.checked)(document.querySelector('.move-items mat-checkbox input[value={}]'))",
        js(&import)
    ))? == json!(true));
    click_step_button(&d, "Next")?;
    d.wait_js("plate required", "Array.from(document.querySelectorAll('mat-error')).some(e => e.textContent === 'Truck plate is required')")?;
    let plate_opts = {
        d.click("input[formcontrolname=Plate]")?;
        d.wait_js(
            "plates",
            "document.querySelectorAll('.cdk-overlay-pane mat-option').length > 0",
        )?;
        d.overlay_options()?
    };
    ensure!(json!(plate_opts) == ds["truck_plates"], "{plate_opts:?}");
    pick_plate(&d, ds["truck_plates"][1].as_str().unwrap())?;
    d.click_xpath("//mat-button-toggle[normalize-space(.)='YES']")?;
    d.wait_js("YES", "document.querySelector('mat-button-toggle[value=YES]').classList.contains('mat-button-toggle-checked')")?;
    click_step_button(&d, "Next")?;

    // Step 3: the slots are exactly the free ones; check-in text; Submit.
    step_selected(&d, 3)?;
    let free = slots(base, "demo", terminal, mv);
    ensure!(!free.is_empty());
    d.click_xpath("//mat-form-field[.//mat-label[normalize-space(.)='Appointment']]//mat-select")?;
    d.wait_js(
        "slot options",
        "document.querySelectorAll('.cdk-overlay-pane mat-option').length > 0",
    )?;
    let offered = d.overlay_options()?;
    ensure!(offered == free, "{offered:?} vs {free:?}");
    let slot = free[0].clone();
    d.click_xpath(&format!(
        "//div[contains(@class,'cdk-overlay-pane')]//mat-option[normalize-space(.)={}]",
        xpath_literal(&slot)
    ))?;
    let check_in = block(get_json(
        &http(),
        reqwest::Url::parse_with_params(
            &format!("{base}/__sandbox/slots"),
            &[
                ("username", "demo"),
                ("terminal", terminal),
                ("move_type", mv),
            ],
        )?
        .as_str(),
    ))["check_in_by"][0]
        .as_str()
        .unwrap()
        .to_string();
    d.wait_js(
        "check-in info",
        &format!(
            "document.body.innerText.includes({})",
            js(&format!(
                "Check-In for this visit should be completed by {check_in}"
            ))
        ),
    )?;
    click_step_button(&d, "Submit")?;
    step_selected(&d, 4)?;
    d.wait_js(
        "confirmation",
        "/^APT\\d{8}$/.test((document.querySelector('.confirmation-number') || {}).textContent)",
    )?;
    let conf = d.text(".confirmation-number")?;
    ensure!(
        !slots(base, "demo", terminal, mv).contains(&slot),
        "booked slot must disappear"
    );

    // A later visitor no longer gets that slot; a slot taken meanwhile gives an error.
    let offered = import_to_step3(&d, base, &ds, terminal, mv, &import)?;
    ensure!(
        !offered.contains(&slot) && offered == slots(base, "demo", terminal, mv),
        "{offered:?}"
    );
    let second = offered[0].clone();
    d.click_xpath(&format!(
        "//div[contains(@class,'cdk-overlay-pane')]//mat-option[normalize-space(.)={}]",
        xpath_literal(&second)
    ))?;
    d.wait_js("chosen", "!document.querySelector('.cdk-overlay-pane')")?;
    // Someone else (demo2) books the same slot through the portal's API first.
    block(async {
        let c = http();
        let token = solve_captcha(&c, base, "k").await.unwrap();
        let r = c
            .post(format!("{base}/Account/Login"))
            .form(&[
                ("Username", "demo2"),
                ("Password", "demo2-password"),
                ("g-recaptcha-response", &token),
            ])
            .send()
            .await
            .unwrap();
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let ds2 = get_json(&c, &format!("{base}/__sandbox/dataset?username=demo2")).await;
        let c2 = ds2["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["Trade Type"] == "IMPORT")
            .unwrap()["Container #"]
            .clone();
        let v: Value = c
            .post(format!("{base}/api/wizard/book"))
            .header("cookie", cookie)
            .json(&json!({"container_type": "IMPORT", "trucking": ds2["trucking_companies"][0], "terminal": terminal,
                          "move_type": mv, "containers": [c2], "selected": [c2], "plate": "1A23456", "slot": second}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["ok"], true, "{v}");
    });
    click_step_button(&d, "Submit")?;
    d.wait_js("slot taken", "Array.from(document.querySelectorAll('mat-error')).some(e => e.textContent.includes('no longer available'))")?;
    step_selected(&d, 3)?;

    // My appointments lists the booking.
    d.goto(&format!("{base}/myappointments"))?;
    d.wait_js(
        "appointment row",
        &format!("Array.from(document.querySelectorAll('tr.mat-mdc-row')).some(r => r.textContent.includes({}))", js(&conf)),
    )?;
    let row = d.eval(
        "Array.from(document.querySelector('tr.mat-mdc-row').children).map(td => td.textContent)",
    )?;
    ensure!(
        row[1] == conf.as_str()
            && row[2] == slot.as_str()
            && row[3] == terminal
            && row[5] == import.as_str(),
        "{row}"
    );
    ensure!(d.eval("!!document.querySelector('thead input[type=checkbox]') && !!document.querySelector('tr.mat-mdc-row input[type=checkbox]')")? == json!(true));
    // The header checkbox selects and clears every row, as Material's select-all does.
    let ticked = "Array.from(document.querySelectorAll('tr.mat-mdc-row input[type=checkbox]')).filter(c => c.checked).length";
    let rows = d.eval("document.querySelectorAll('tr.mat-mdc-row').length")?;
    ensure!(rows.as_u64() >= Some(1), "{rows}");
    d.eval("document.querySelector('thead input[type=checkbox]').click()")?;
    ensure!(d.eval(ticked)? == rows, "select all");
    d.eval("document.querySelector('thead input[type=checkbox]').click()")?;
    ensure!(d.eval(ticked)? == json!(0), "clear all");
    d.eval("document.querySelector('tr.mat-mdc-row input[type=checkbox]').click()")?;
    ensure!(
        d.eval("document.querySelector('thead input[type=checkbox]').indeterminate || document.querySelector('thead input[type=checkbox]').checked")? == json!(true),
        "the header box reflects a row's selection"
    );
    let stats = block(get_json(&http(), &format!("{base}/__sandbox/stats")));
    ensure!(stats["appointments_booked"] == 2, "{stats}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wizard_validates_and_refuses_a_booking_without_open_transactions() {
    let server = SandboxServer::start(&settings(&[("sandbox.render_delay_ms", "100")]))
        .await
        .unwrap();
    let base = server.base_url();
    let result = tokio::task::spawn_blocking(move || export_flow(&base))
        .await
        .unwrap();
    server.shutdown().await;
    result.unwrap();
}

fn export_flow(base: &str) -> Result<()> {
    let ds = block(get_json(
        &http(),
        &format!("{base}/__sandbox/dataset?username=demo"),
    ));
    let terminal = "ITS Long Beach";
    let d = Driver::launch()?;
    login_to_home(&d, base, false)?;

    // Export: a booking without open transactions shows the dialog; a good one needs a unit.
    d.goto(&format!("{base}/trucker/web/addvisit"))?;
    d.wait_js(
        "wizard",
        "document.querySelector('mat-select[formcontrolname=trucking]')",
    )?;
    d.click("mat-radio-button[value=EXPORT] input")?;
    d.wait_js(
        "export fields",
        "document.querySelector('input[formcontrolname=bookingNumber]').offsetParent !== null",
    )?;
    click_step_button(&d, "Next")?;
    d.wait_js(
        "errors",
        "document.querySelectorAll('mat-error').length >= 4",
    )?;
    let e = errors(&d)?;
    for want in [
        "Trucking is required",
        "Terminal is required",
        "Move is required",
        "Booking number is required",
    ] {
        ensure!(e.iter().any(|x| x == want), "{want} in {e:?}");
    }
    d.choose("Trucking", ds["trucking_companies"][0].as_str().unwrap())?;
    d.choose("Terminal", terminal)?;
    d.choose("Move", "DROP FULL")?;
    add_chip(&d, "bookingNumber", "NOPE00000000")?;
    click_step_button(&d, "Next")?;
    d.wait_js(
        "dialog",
        "(c => c && c.textContent.includes('No open transactions for this booking number.'))(document.querySelector('mat-dialog-container'))",
    )?;
    d.click_xpath("//mat-dialog-container//button[normalize-space(.)='OK']")?;
    d.wait_js(
        "dialog closed",
        "!document.querySelector('mat-dialog-container')",
    )?;
    step_selected(&d, 1)?;
    add_chip(
        &d,
        "bookingNumber",
        ds["export_bookings"][0].as_str().unwrap(),
    )?;
    ensure!(
        d.eval("document.querySelectorAll('mat-chip-row').length")? == json!(1),
        "one booking"
    );
    click_step_button(&d, "Next")?;
    step_selected(&d, 2)?;
    click_step_button(&d, "Next")?;
    d.wait_js("unit required", "Array.from(document.querySelectorAll('mat-error')).some(e => e.textContent === 'Unit # is required')")?;
    ensure!(errors(&d)?.contains(&"Truck plate is required".to_string()));

    Ok(())
}
