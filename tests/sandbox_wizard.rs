//! The sandbox's appointment wizard and My Appointments driven in real headless Chromium like a
//! person would (clicks, typing, scrolling), on both markup generations: an import PICK FULL
//! booked once per `after_submit` behaviour, an export DROP FULL through the shipping-line
//! popup, the no-open-transactions dialog, an empty DROP EMPTY at TraPac (Line, Equip Size,
//! Quantity), a full terminal's single option, and My Appointments' loading route, window
//! scroll and master checkbox. Waits poll for conditions, never sleep.

#[path = "common/sandbox_driver.rs"]
mod driver;

#[path = "common/wizard_steps.rs"]
mod steps;

use anyhow::{Context, Result, ensure};
use driver::{Driver, http};
use serde_json::{Value, json};
use steps::*;

const GENERATIONS: [&str; 2] = ["legacy", "mdc"];

// ----- import PICK FULL, once per after_submit behaviour -----

fn import_flow(base: &str, generation: &str) -> Result<()> {
    let ds = dataset(base);
    let import = first_import(&ds);
    let terminal = "ITS Long Beach";
    let d = browser(base)?;

    // Step 1's markup as recorded: labels with required markers, no Import/Export radio.
    open_wizard(&d, base)?;
    ensure!(d.eval("document.querySelector('mat-radio-group, input[type=radio]')")? == Value::Null);
    let labels = d.eval(
        "Array.from(document.querySelectorAll('[data-step=\"1\"] mat-form-field label')).map(l => l.textContent)",
    )?;
    ensure!(
        labels == json!(["Trucking company *", "Terminal *", "Move Type *"]),
        "{labels}"
    );
    if generation == "legacy" {
        ensure!(d.exists_xpath(
            "//mat-form-field[contains(@class,'mat-form-field')]/div[@class='mat-form-field-wrapper']/div[@class='mat-form-field-flex']/div[@class='mat-form-field-infix']/mat-select/div[@class='mat-select-trigger']"
        )?);
    }
    choose_terminal(&d, terminal)?;
    open_select(&d, "Move")?;
    let moves = d.eval(
        "Array.from(document.querySelectorAll('.cdk-overlay-pane mat-option')).map(o => [o.textContent.trim(), !!o.querySelector('mat-icon[svgicon]')])",
    )?;
    ensure!(
        moves
            == json!([
                ["PICK FULL", true],
                ["DROP FULL", true],
                ["PICK EMPTY", true],
                ["DROP EMPTY", true]
            ]),
        "{moves}"
    );
    if generation == "legacy" {
        ensure!(d.exists_xpath(
            "//mat-option//span[@class='mat-option-text' and normalize-space(text())='PICK FULL']"
        )?);
    }
    shot(&d, generation, "1-move-types")?;
    pick_option(&d, "PICK FULL")?;
    let hint = d.text("[data-field=containerNumber] mat-hint")?;
    ensure!(hint == "0 / Maximum Allowed(10)", "{hint}");
    ensure!(
        d.eval("document.querySelector('input[formcontrolname=containerNumber]').placeholder")?
            == "Container number(s)"
    );
    add_chip(&d, "containerNumber", "ABCU1234560")?;
    ensure!(d.text("[data-field=containerNumber] mat-hint")? == "1 / Maximum Allowed(10)");
    shot(&d, generation, "2-step1-chip")?;
    let remove = if generation == "legacy" {
        "//mat-icon[@matchipremove and contains(text(),'cancel')]"
    } else {
        "//button[@matchipremove]"
    };
    d.click_xpath(remove)?;
    d.wait_js(
        "chip removed",
        "!document.querySelector('mat-chip, mat-chip-row')",
    )?;

    for after in ["confirmation", "snackbar", "my_appointments"] {
        set_config(base, json!({"after_submit": after}))?;
        let before = booked(base);
        import_to_step3(&d, base, &ds, terminal, &import)?;
        let free = free_slots(base, terminal, "PICK FULL");
        shot(&d, generation, &format!("4-step3-{after}"))?;
        ensure!(
            select_value(&d, "slot")? == free[0],
            "first slot preselected"
        );
        let label = slot_label(&d)?;
        if generation == "legacy" {
            ensure!(
                label == Value::Null,
                "legacy slot select has no label: {label}"
            );
        } else {
            ensure!(label == "Appointment", "{label}");
        }
        d.wait_js(
            "check-in",
            "document.querySelector('.checkin-text').textContent.startsWith('Check-In for this visit should be completed by ')",
        )?;
        click_button(&d, "Submit")?;
        match after {
            "confirmation" => {
                step_selected(&d, 4)?;
                d.wait_js(
                    "number",
                    "/^APT\\d{8}$/.test(document.querySelector('.confirmation-number').textContent)",
                )?;
                shot(&d, generation, "5-confirmation")?;
            }
            "snackbar" => {
                d.wait_js(
                    "snack-bar",
                    "Array.from(document.querySelectorAll('simple-snack-bar')).some(s => s.textContent.includes('Appointment created successfully'))",
                )?;
                step_selected(&d, 1)?;
                ensure!(
                    d.eval("document.querySelector('.confirmation-number').textContent")? == "",
                    "no confirmation number after a snack-bar"
                );
            }
            _ => {
                d.wait_js(
                    "my appointments",
                    &format!(
                        "location.pathname === '/myappointments' && !location.search && Array.from(document.querySelectorAll('tr[data-confirmation]')).some(r => r.textContent.includes({}))",
                        js(&free[0])
                    ),
                )?;
            }
        }
        ensure!(booked(base) == before + 1, "{after}: exactly one booking");
        ensure!(!free_slots(base, terminal, "PICK FULL").contains(&free[0]));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_pick_full_books_once_per_after_submit_legacy() {
    with_sandbox(GENERATIONS[0], &[], import_flow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_pick_full_books_once_per_after_submit_mdc() {
    with_sandbox(GENERATIONS[1], &[], import_flow).await;
}

// ----- exports: dialogs -----

fn export_flow(base: &str, generation: &str) -> Result<()> {
    let ds = dataset(base);
    let terminal = "Everport Terminal Services - Los Angeles";
    let d = browser(base)?;
    open_wizard(&d, base)?;
    choose_terminal(&d, terminal)?;
    choose(&d, "Move", "DROP FULL")?;
    ensure!(
        d.eval("document.querySelector('input[formcontrolname=containerNumber]')")? == Value::Null
    );
    add_chip(&d, "bookingNumber", "NOPE00000000")?;
    let t = dialog_text(&d)?;
    ensure!(t == "No open transactions for this booking number.", "{t}");
    close_dialog(&d, generation)?;
    d.click("mat-chip [matchipremove], mat-chip-row [matchipremove]")?;
    // A booking whose shipping line the portal lacks (odd positions): the blocking popup.
    let booking = ds["export_bookings"][1].as_str().context("booking")?;
    add_chip(&d, "bookingNumber", booking)?;
    let t = dialog_text(&d)?;
    ensure!(t == "Booking shippingline is required", "{t}");
    shot(&d, generation, "6-shippingline-popup")?;
    close_dialog(&d, generation)?;
    d.type_into("input[formcontrolname=quantity][type=number][min='1']", "1")?;
    next(&d, 1)?;
    step2(&d, &ds, Some("TEMU1234567"))?;
    let before = booked(base);
    click_button(&d, "Submit")?;
    step_selected(&d, 4)?;
    let v = dataset(base);
    ensure!(booked(base) == before + 1);
    let a = v["appointments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    ensure!(
        a["booking_number"] == booking && a["container_type"] == "EXPORT",
        "{a}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_drop_full_dialogs_closed_by_close() {
    for g in GENERATIONS {
        with_sandbox(g, &[], export_flow).await;
    }
}

// ----- empty drop at TraPac, full terminal -----

fn empty_and_full_flow(base: &str, _generation: &str) -> Result<()> {
    let ds = dataset(base);
    let d = browser(base)?;
    let trapac = "TraPac LLC - Los Angeles";
    open_wizard(&d, base)?;
    choose_terminal(&d, trapac)?;
    choose(&d, "Move", "DROP EMPTY")?;
    ensure!(
        d.eval("document.querySelector('input[formcontrolname=containerNumber]')")? == Value::Null
    );
    for (label, value) in [("Line", "GMSU"), ("Equip Size", "40DH")] {
        let xp = format!(
            "//mat-form-field[.//mat-label[normalize-space(.)='{label}']]//input[@matinput and contains(@class,'mat-autocomplete-trigger') or @matinput and contains(@class,'mat-mdc-autocomplete-trigger')]"
        );
        d.click_xpath(&format!("({xp})[1]"))?;
        pick_option(&d, value)?;
    }
    d.type_into("input[formcontrolname=quantity]", "1")?;
    shot(&d, _generation, "3-empty-form")?;
    next(&d, 1)?;
    ensure!(
        d.eval("document.querySelector('.move-card input[formcontrolname=Line]').value")? == "GMSU"
    );
    step2(&d, &ds, None)?;
    ensure!(select_value(&d, "slot")? == free_slots(base, trapac, "DROP EMPTY")[0]);

    // A full terminal: the select holds one option saying so.
    let tti = "Total Terminals Intl LLC";
    set_config(base, json!({"full_terminals": [tti, "ITS Long Beach"]}))?;
    for (terminal, text) in [
        (tti, "No Appointments Available!"),
        ("ITS Long Beach", "No Appointments Available"),
    ] {
        import_to_step3(&d, base, &ds, terminal, &first_import(&ds))?;
        d.click("mat-select[formcontrolname=slot]")?;
        d.wait_js(
            "options",
            "document.querySelector('.cdk-overlay-pane mat-option')",
        )?;
        let opts = d.overlay_options()?;
        ensure!(opts == [text], "{opts:?}");
        pick_option(&d, text)?;
        let before = booked(base);
        click_button(&d, "Submit")?;
        d.wait_js(
            "refused",
            "document.querySelector('[data-field=slot] mat-error')",
        )?;
        ensure!(booked(base) == before);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_drop_at_trapac_and_full_terminals() {
    for g in GENERATIONS {
        with_sandbox(g, &[], empty_and_full_flow).await;
    }
}

// ----- My Appointments -----

fn my_appointments_flow(base: &str, generation: &str) -> Result<()> {
    let ds = dataset(base);
    let cookies = block(login_cookies(base, "demo", "demo-password"))?.join("; ");
    let import = first_import(&ds);
    let terminal = "Pacific Container Terminal";
    for slot in free_slots(base, terminal, "PICK FULL").into_iter().take(12) {
        let v: Value = block(async {
            http()
                .post(format!("{base}/api/wizard/book"))
                .header("cookie", &cookies)
                .json(
                    &json!({"trucking": ds["trucking_companies"][0], "terminal": terminal,
                    "move_type": "PICK FULL", "containers": [import], "selected": [import],
                    "plate": ds["truck_plates"][0], "slot": slot}),
                )
                .send()
                .await?
                .json()
                .await
        })?;
        ensure!(v["ok"] == true, "{v}");
    }
    ensure!(booked(base) == 12);
    let d = browser(base)?;
    // A window shorter than ten rows, so the list must be scrolled for more.
    d.tab.set_bounds(headless_chrome::types::Bounds::Normal {
        left: Some(0),
        top: Some(0),
        width: Some(1400.0),
        height: Some(560.0),
    })?;
    // The loading route shows first (the API waits the render delay), then the list.
    d.tab.navigate_to(&format!("{base}/myappointments"))?;
    d.wait_js("loading route", "location.search === '?loading=true'")?;
    let row = if generation == "legacy" {
        "tr.mat-row"
    } else {
        "tr.mat-mdc-row"
    };
    d.wait_js(
        "rows",
        &format!("location.search === '' && document.querySelectorAll('{row}').length === 10"),
    )?;
    ensure!(d.eval("!!document.querySelector('mat-icon[svgicon=xls]')")? == json!(true));
    if generation == "legacy" {
        ensure!(d.exists_xpath(
            "//tbody//input[@type='checkbox' and contains(@class,'mat-checkbox-input')]"
        )?);
    }
    // More rows when the WINDOW is scrolled to the bottom.
    d.eval("window.scrollTo(0, document.body.scrollHeight)")?;
    d.wait_js(
        "more rows",
        &format!("document.querySelectorAll('{row}').length === 12"),
    )?;
    let checked = |d: &Driver| -> Result<Value> {
        d.eval("Array.from(document.querySelectorAll('tbody input[type=checkbox]')).filter(i => i.getAttribute('aria-checked') === 'true').length")
    };
    d.eval("window.scrollTo(0, 0)")?;
    d.click("thead mat-checkbox label, thead mat-checkbox .mdc-checkbox")?;
    d.wait_js("all checked", "document.querySelector('thead input[type=checkbox]').getAttribute('aria-checked') === 'true'")?;
    ensure!(checked(&d)? == json!(12));
    shot(&d, generation, "7-my-appointments")?;
    d.click("tbody mat-checkbox label, tbody mat-checkbox .mdc-checkbox")?;
    d.wait_js("mixed", "document.querySelector('thead input[type=checkbox]').getAttribute('aria-checked') === 'mixed'")?;
    ensure!(checked(&d)? == json!(11));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_appointments_loading_route_window_scroll_and_master_checkbox() {
    for g in GENERATIONS {
        with_sandbox(
            g,
            &[("sandbox.render_delay_ms", "300")],
            my_appointments_flow,
        )
        .await;
    }
}

// ----- realistic pace -----

/// Click Next until the step advances, as the original did (it re-clicked when the stepper did
/// not move): at realistic pace Next takes seconds and now and then does not advance.
fn next_patiently(d: &Driver, from: u32) -> Result<()> {
    let advanced = format!(
        "document.querySelector('mat-step-header[aria-posinset=\"{}\"]').getAttribute('aria-selected') === 'true'",
        from + 1
    );
    for _ in 0..8 {
        d.click_xpath(&format!(
            "//div[@data-step='{from}']//button[contains(@class,'text-next') and normalize-space(.)='Next']"
        ))?;
        d.wait_for("Next answered", 30, || {
            let v = d.eval("!document.querySelector('.ngx-spinner-overlay')")?;
            Ok((v == json!(true)).then_some(()))
        })?;
        if d.eval(&advanced)? == json!(true) {
            return step_selected(d, from + 1);
        }
    }
    anyhow::bail!("Next never advanced from step {from}")
}

fn realistic_flow(base: &str, generation: &str) -> Result<()> {
    let ds = dataset(base);
    let import = first_import(&ds);
    let terminal = "Total Terminals Intl LLC";
    let d = browser(base)?;
    d.tab
        .set_default_timeout(std::time::Duration::from_secs(40));
    open_wizard(&d, base)?;
    choose_terminal(&d, terminal)?;
    add_chip(&d, "containerNumber", &import)?;
    next_patiently(&d, 1)?;
    ensure!(
        d.eval("document.querySelector('mat-button-toggle .pill-text').textContent")? == "YES",
        "own chassis defaults to YES at TTI"
    );
    d.click_xpath("(//div[@data-step='2']//mat-checkbox)[1]")?;
    autocomplete(&d, "Plate", ds["truck_plates"][0].as_str().unwrap())?;
    next_patiently(&d, 2)?;
    // A slow first answer: the booking is already recorded, so the same request again (a
    // driver retrying after a timeout) finds the slot taken instead of booking twice.
    set_config(base, json!({"submit_delay_ms": 1500}))?;
    let slot = select_value(&d, "slot")?;
    let before = booked(base);
    click_button(&d, "Submit")?;
    d.wait_for("booking recorded", 30, || {
        Ok((booked(base) == before + 1).then_some(()))
    })?;
    let cookies = block(login_cookies(base, "demo", "demo-password"))?.join("; ");
    let again: Value = block(async {
        http()
            .post(format!("{base}/api/wizard/book"))
            .header("cookie", &cookies)
            .json(
                &json!({"trucking": ds["trucking_companies"][0], "terminal": terminal,
                "move_type": "PICK FULL", "containers": [import], "selected": [import],
                "plate": ds["truck_plates"][0], "slot": slot}),
            )
            .send()
            .await?
            .json()
            .await
    })?;
    ensure!(again["slot_taken"] == true, "{again}");
    d.wait_for("confirmation", 30, || {
        let v = d.eval(
            "/^APT\\d{8}$/.test(document.querySelector('.confirmation-number').textContent)",
        )?;
        Ok((v == json!(true)).then_some(()))
    })?;
    ensure!(
        booked(base) == before + 1,
        "{generation}: exactly one booking"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realistic_pace_import_retries_next_and_books_once() {
    with_sandbox("legacy", &[("sandbox.pace", "realistic")], realistic_flow).await;
}
