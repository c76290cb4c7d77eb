//! The appointment wizard driver against the sandbox portal, with real Chromium and real
//! HTTP: available times compared with `/__sandbox/slots`, import and export, the first
//! plate by default, unknown container / booking / terminal, a real booking, and
//! My Appointments listing it.

mod support;

use emodal_api::captcha::CaptchaClient;
use emodal_api::config::Settings;
use emodal_api::portal::{
    self, BrowserHandle, ContainerType, DriverError, Page, Visit, check_appointments,
    make_appointment, my_appointments,
};
use emodal_api::sandbox::SandboxServer;
use emodal_api::secret::Secret;
use serde_json::Value;
use std::time::Duration;
use support::{chrome_pids_under, launch_browser};

const JOB: Duration = Duration::from_secs(30);

async fn get(url: &str, query: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .get(url)
        .query(query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn slots(base: &str, terminal: &str, move_type: &str) -> Vec<String> {
    let v = get(
        &format!("{base}/__sandbox/slots"),
        &[
            ("username", "demo"),
            ("terminal", terminal),
            ("move_type", move_type),
        ],
    )
    .await;
    serde_json::from_value(v["slots"].clone()).unwrap()
}

async fn booked(base: &str) -> u64 {
    get(&format!("{base}/__sandbox/stats"), &[]).await["appointments_booked"]
        .as_u64()
        .unwrap()
}

/// Run one driver job on the browser thread.
async fn job<R, F>(browser: &BrowserHandle, step: &str, f: F) -> Result<R, DriverError>
where
    R: Send + 'static,
    F: FnOnce(&mut Page) -> Result<R, DriverError> + Send + 'static,
{
    browser.run(step, JOB, f).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wizard_checks_books_and_lists_appointments() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let data = data_dir.display().to_string();
    let mut settings = Settings::from_overrides(&[
        ("sandbox.port", "0"),
        ("sandbox.captcha_solve_delay_ms", "50"),
        ("sandbox.render_delay_ms", "150"),
        ("chrome.data_dir", &data),
    ])
    .unwrap();
    let sandbox = SandboxServer::start(&settings.sandbox).await.unwrap();
    let base = sandbox.base_url();
    settings.wire_to_sandbox(&base);
    let browser = launch_browser(&settings, &data_dir).await;

    let outcome = scenario(&settings, &browser, &base).await;
    browser.close().await;
    sandbox.shutdown().await;
    let left = chrome_pids_under(&data_dir);
    assert!(left.is_empty(), "Chrome left running: {left:?}");
    outcome.unwrap_or_else(|e| panic!("{e}"));
}

async fn scenario(settings: &Settings, browser: &BrowserHandle, base: &str) -> Result<(), String> {
    // Log in as the session actor does.
    let form = job(browser, "open login page", portal::open_login)
        .await
        .map_err(|e| e.to_string())?;
    let token = CaptchaClient::new(&settings.captcha)
        .solve_recaptcha(&Secret::new("test-key"), &form.site_key, &form.page_url)
        .await
        .map_err(|e| e.to_string())?;
    job(browser, "submit login", move |page| {
        portal::submit_login(page, "demo", &Secret::new("demo-password"), &token)
    })
    .await
    .map_err(|e| e.to_string())?;

    let ds = get(
        &format!("{base}/__sandbox/dataset"),
        &[("username", "demo")],
    )
    .await;
    let strings = |key: &str| -> Vec<String> { serde_json::from_value(ds[key].clone()).unwrap() };
    let trucking = strings("trucking_companies");
    let plates = strings("truck_plates");
    let bookings = strings("export_bookings");
    let containers = ds["containers"].as_array().unwrap();
    let imports: Vec<String> = containers
        .iter()
        .filter(|c| c["Trade Type"] == "IMPORT")
        .map(|c| c["Container #"].as_str().unwrap().to_string())
        .take(2)
        .collect();
    assert_eq!(imports.len(), 2);
    assert!(
        !containers.iter().any(|c| c["Container #"] == "ABCU1234560"),
        "the unknown container is in the dataset"
    );

    // Import: the offered times are exactly the free slots; the given plate is used.
    let import_visit = Visit {
        container_type: ContainerType::Import,
        trucking_company: trucking[0].clone(),
        terminal: "ITS".into(), // a whole word of "ITS Long Beach"
        move_type: "pick full".into(),
        // Two chips; the second typed in lower case.
        container_ids: vec![imports[0].clone(), imports[1].to_lowercase()],
        truck_plate: Some(plates[1].clone()),
        own_chassis: Some(true),
        pin_code: Some("1234".into()),
        ..Visit::default()
    };
    let v = import_visit.clone();
    let times = job(browser, "check appointments", move |p| {
        check_appointments(p, &v)
    })
    .await
    .map_err(|e| format!("import check: {e}"))?;
    let free = slots(base, "ITS Long Beach", "PICK FULL").await;
    assert!(!free.is_empty());
    assert_eq!(times.available_times, free);
    assert_eq!(times.truck_plate, plates[1]);

    // Export by terminal code, no plate given: the first plate the autocomplete offers.
    let export_visit = Visit {
        container_type: ContainerType::Export,
        trucking_company: trucking[1].clone(),
        terminal: "TTI".into(),
        move_type: "DROP FULL".into(),
        booking_number: Some(bookings[0].clone()),
        quantity: 2,
        truck_plate: None,
        unit_number: Some("UNIT-7".into()),
        seals: vec!["SEAL1".into(), "SEAL2".into()],
        ..Visit::default()
    };
    let v = export_visit.clone();
    let times = job(browser, "check appointments", move |p| {
        check_appointments(p, &v)
    })
    .await
    .map_err(|e| format!("export check: {e}"))?;
    assert_eq!(
        times.available_times,
        slots(base, "Total Terminals Intl LLC", "DROP FULL").await
    );
    assert_eq!(times.truck_plate, plates[0]);

    // An unknown container is NotFound.
    let v = Visit {
        container_ids: vec!["ABCU1234560".into()],
        ..import_visit.clone()
    };
    let err = job(browser, "check appointments", move |p| {
        check_appointments(p, &v)
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, DriverError::NotFound(m) if m.contains("ABCU1234560")),
        "{err:?}"
    );

    // A booking with no open transactions is NotFound with the portal's dialog text.
    let v = Visit {
        booking_number: Some("NOPE000000".into()),
        ..export_visit.clone()
    };
    let err = job(browser, "check appointments", move |p| {
        check_appointments(p, &v)
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, DriverError::NotFound(m) if m.contains(&settings.portal.texts.no_open_transactions)),
        "{err:?}"
    );

    // An unknown terminal is Invalid and lists the options.
    let v = Visit {
        terminal: "Nowhere Terminal".into(),
        ..import_visit.clone()
    };
    let err = job(browser, "check appointments", move |p| {
        check_appointments(p, &v)
    })
    .await
    .unwrap_err();
    let DriverError::Invalid(msg) = &err else {
        return Err(format!("unknown terminal: {err:?}"));
    };
    assert!(
        msg.starts_with("terminal 'Nowhere Terminal' is not offered; options: ")
            && msg.contains("ITS Long Beach")
            && msg.contains("Total Terminals Intl LLC"),
        "{msg}"
    );

    // A slot that is not offered is Invalid and lists the offered ones; nothing is booked.
    let before = booked(base).await;
    let v = import_visit.clone();
    let err = job(browser, "make appointment", move |p| {
        make_appointment(p, &v, "Someday 01/01/2000 06:00 - 07:00")
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, DriverError::Invalid(m) if m.contains("not offered") && m.contains(&free[0])),
        "{err:?}"
    );
    assert_eq!(booked(base).await, before);

    // Book the last free slot.
    let slot = free.last().unwrap().clone();
    let v = import_visit.clone();
    let s = slot.clone();
    let done = job(browser, "make appointment", move |p| {
        make_appointment(p, &v, &s)
    })
    .await
    .map_err(|e| format!("make appointment: {e}"))?;
    let number_shown = done
        .confirmation_number
        .clone()
        .expect("a confirmation number");
    assert_eq!(done.verified_by, "confirmation");
    assert_eq!(done.appointment_time, slot);
    assert!(
        done.details
            .iter()
            .any(|(l, v)| l == "Container #" && v == &imports.join(", ")),
        "{:?}",
        done.details
    );
    assert_eq!(booked(base).await, before + 1);
    let after = slots(base, "ITS Long Beach", "PICK FULL").await;
    assert!(!after.contains(&slot), "{slot} still free");
    assert_eq!(after.len(), free.len() - 1);

    // My Appointments lists it, every row selected.
    let list = job(browser, "my appointments", |p| {
        my_appointments(p, &emodal_api::model::ListTarget::all())
    })
    .await
    .map_err(|e| format!("my appointments: {e}"))?;
    let col = |name: &str| list.columns.iter().position(|c| c == name);
    let number = col("Confirmation #").ok_or(format!("columns {:?}", list.columns))?;
    let time = col("Appointment Time").ok_or(format!("columns {:?}", list.columns))?;
    assert!(
        !list.columns.iter().any(|c| c.is_empty()),
        "{:?}",
        list.columns
    );
    assert_eq!(list.rows.len(), 1, "{:?}", list.rows);
    assert_eq!(list.rows[0][number], number_shown);
    assert_eq!(list.rows[0][time], slot);
    assert_eq!(list.selected_count, 1);

    // A session the portal has ended is LoggedOut, whichever page the job opens.
    reqwest::Client::new()
        .post(format!("{base}/__sandbox/logout_all"))
        .send()
        .await
        .unwrap();
    let v = import_visit.clone();
    let err = job(browser, "check appointments", move |p| {
        check_appointments(p, &v)
    })
    .await
    .unwrap_err();
    assert_eq!(err, DriverError::LoggedOut);
    let err = job(browser, "my appointments", |p| {
        my_appointments(p, &emodal_api::model::ListTarget::all())
    })
    .await
    .unwrap_err();
    assert_eq!(err, DriverError::LoggedOut);
    Ok(())
}
