//! Appointment endpoints against the sandbox with real Chromium: free slots, the phased
//! resume path, appointment-session expiry, booking, idempotency, My Appointments.

mod support;

use serde_json::{Value, json};
use support::*;

const TERMINAL: &str = "Total Terminals Intl LLC";
const MOVE: &str = "PICK FULL";

fn import_request(id: &str, data: &Value) -> Value {
    let container = data["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT")
        .unwrap();
    json!({
        "session_id": id,
        "container_type": "import",
        "trucking_company": data["trucking_companies"][0],
        "terminal": "TTI",
        "move_type": MOVE,
        "container_id": container["Container #"],
        "truck_plate": "ABC123",
        "own_chassis": false,
        "pin_code": "1234",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_returns_the_portals_free_slots_and_resumes() {
    let mut t = start(&[("sandbox.render_delay_ms", "50")]).await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    let request = import_request(&id, &data);
    let (status, body) = t.post("/check_appointments", request.clone()).await;
    assert_eq!(status, 200, "{body}");
    let expected = t.free_slots(TERMINAL, MOVE).await;
    assert!(!expected.is_empty());
    assert_eq!(body["available_times"], Value::Array(expected.clone()));
    assert_eq!(body["count"], expected.len());
    assert_eq!(
        body["truck_plate"], data["truck_plates"][0],
        "ABC123 means the first plate offered"
    );
    assert_eq!(body["session_id"], id);

    // Missing phase-1 fields: 400 with an appointment session to resume.
    let mut partial = request.clone();
    partial.as_object_mut().unwrap().remove("terminal");
    partial.as_object_mut().unwrap().remove("move_type");
    let (status, body) = t.post("/check_appointments", partial).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["current_phase"], 1);
    assert_eq!(body["missing_fields"], json!(["terminal", "move_type"]));
    let appt = body["appointment_session_id"].as_str().unwrap().to_string();
    let (status, body) = t
        .post(
            "/check_appointments",
            json!({"appointment_session_id": appt, "terminal": "TTI", "move_type": MOVE}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available_times"], Value::Array(expected));

    // An export without a unit number stops at phase 2.
    let export = json!({"session_id": id, "container_type": "export", "trucking_company": data["trucking_companies"][0],
        "terminal": "TTI", "move_type": "DROP FULL", "booking_number": data["export_bookings"][0]});
    let (status, body) = t.post("/check_appointments", export).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["current_phase"], 2);
    assert_eq!(body["missing_fields"], json!(["unit_number"]));
    let appt = body["appointment_session_id"].as_str().unwrap();
    let (status, body) = t
        .post(
            "/check_appointments",
            json!({"appointment_session_id": appt, "unit_number": "TRK-7"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["available_times"],
        Value::Array(t.free_slots(TERMINAL, "DROP FULL").await)
    );

    // Portal-side errors keep their meaning.
    let mut unknown = request.clone();
    unknown["container_id"] = json!("ZZZU0000000");
    let (status, body) = t.post("/check_appointments", unknown).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = t
        .post("/check_appointments", json!({"session_id": id, "container_type": "export",
            "trucking_company": data["trucking_companies"][0], "terminal": "TTI", "move_type": "DROP FULL",
            "booking_number": "NOSUCHBOOKING1", "unit_number": "U1"}))
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("No open transactions"),
        "{body}"
    );
    let mut bad_terminal = request.clone();
    bad_terminal["terminal"] = json!("Nowhere Terminal");
    let (status, body) = t.post("/check_appointments", bad_terminal).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("ITS Long Beach"),
        "lists the options: {body}"
    );
    assert_eq!(
        t.sandbox_stats().await["appointments_booked"],
        0,
        "check never submits"
    );
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appointment_sessions_expire_without_touching_the_browser_session() {
    let mut t = start(&[("sessions.appointment_session_timeout", "1")]).await;
    let id = t.demo_session().await;
    let (status, body) = t
        .post(
            "/check_appointments",
            json!({"session_id": id, "terminal": "TTI"}),
        )
        .await;
    assert_eq!(status, 400);
    let appt = body["appointment_session_id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, body) = t
        .post(
            "/check_appointments",
            json!({"appointment_session_id": appt, "move_type": MOVE}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("expired"));
    let row = t.session(&id).await.expect("the browser session lives on");
    assert_eq!(row["state"], "ready");
    assert_eq!(t.chrome_pids().len(), 1);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn make_appointment_books_once_per_idempotency_key() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    let slots = t.free_slots(TERMINAL, MOVE).await;
    let slot = slots[1].as_str().unwrap().to_string();
    let mut request = import_request(&id, &data);
    request["appointment_time"] = json!(slot);
    request["idempotency_key"] = json!("dispatch-42");
    let (status, first) = t.post("/make_appointment", request.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["appointment_confirmed"], true);
    let confirmation = first["confirmation_number"].as_str().unwrap().to_string();
    assert!(!confirmation.is_empty());
    assert!(
        first["appointment_details"]
            .as_object()
            .is_some_and(|d| !d.is_empty()),
        "{first}"
    );
    assert_eq!(t.sandbox_stats().await["appointments_booked"], 1);
    let after = t.free_slots(TERMINAL, MOVE).await;
    assert!(!after.contains(&json!(slot)), "the booked slot is gone");
    assert_eq!(after.len(), slots.len() - 1);

    // The same key again: the first result, nothing booked.
    let (status, again) = t.post("/make_appointment", request.clone()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["confirmation_number"], confirmation);
    assert_eq!(again["idempotent_replay"], true);
    assert_eq!(t.sandbox_stats().await["appointments_booked"], 1);

    // The same key for another booking: a conflict, not the first booking's answer.
    let mut other = request.clone();
    other["appointment_time"] = slots[2].clone();
    let (status, body) = t.post("/make_appointment", other).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error_code"], "idempotency_key_reused");
    assert_eq!(
        body["first_request"]["appointment_time"],
        json!(slot),
        "{body}"
    );
    assert_eq!(t.sandbox_stats().await["appointments_booked"], 1);

    // Without a time: phase 3 is missing.
    let mut no_time = import_request(&id, &data);
    no_time["idempotency_key"] = json!("dispatch-43");
    let (status, body) = t.post("/make_appointment", no_time).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["current_phase"], 3);
    assert_eq!(body["missing_fields"], json!(["appointment_time"]));

    // A slot that is no longer offered.
    let mut taken = import_request(&id, &data);
    taken["appointment_time"] = json!(slot);
    let (status, body) = t.post("/make_appointment", taken).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(t.sandbox_stats().await["appointments_booked"], 1);

    let (status, list) = t
        .post(
            "/get_appointments",
            json!({"session_id": id, "return_url": true}),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let rows = list["appointments"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .as_object()
            .unwrap()
            .values()
            .any(|v| v == &json!(confirmation)),
        "{list}"
    );
    assert_eq!(list["selected_count"], 1);
    let sheet = t
        .http
        .get(list["file_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(sheet.status(), 200);
    t.shutdown_clean().await;
}

async fn bookings(t: &TestApp) -> usize {
    t.dataset(USER).await["appointments"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn sandbox_config(t: &TestApp, change: Value) {
    t.sandbox_post("/__sandbox/config", change).await;
}

/// The real wizard has no Import/Export choice: the move type and terminal decide which
/// items it asks for. Each form returns exactly the sandbox's free slots, and a full
/// terminal's single "No Appointments Available" option is no time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_move_form_returns_the_portals_slots() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    let trucking = data["trucking_companies"][0].clone();

    // Export: a booking number and a quantity. The second booking makes the portal show
    // "Booking shippingline is required", which is closed and the flow goes on.
    let booking = data["export_bookings"][1].as_str().unwrap();
    let (status, body) = t
        .post(
            "/check_appointments",
            json!({"session_id": id, "container_type": "export", "trucking_company": trucking,
                   "terminal": "TTI", "move_type": "DROP FULL", "booking_number": booking,
                   "quantity": 1, "unit_number": "TGBU1234567", "seal_value": "S1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let expected = t.free_slots(TERMINAL, "DROP FULL").await;
    assert!(!expected.is_empty());
    assert_eq!(body["available_times"], Value::Array(expected));

    // Empty move at TraPac: Line, Equip Size and Quantity instead of a container number.
    let (status, body) = t
        .post(
            "/check_appointments",
            json!({"session_id": id, "trucking_company": trucking, "terminal": "TRP1",
                   "move_type": "DROP EMPTY", "line": "GMSU", "equip_size": "40DH", "quantity": 1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let expected = t.free_slots("TraPac LLC - Los Angeles", "DROP EMPTY").await;
    assert!(!expected.is_empty());
    assert_eq!(body["available_times"], Value::Array(expected));

    // The same move without line and equip size says what the page asked for.
    let (status, body) = t
        .post(
            "/check_appointments",
            json!({"session_id": id, "trucking_company": trucking, "terminal": "TRP1",
                   "move_type": "DROP EMPTY", "container_id": "TGBU1234567"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("equip_size"),
        "{body}"
    );

    // A full terminal: no times, and the portal's words as the message.
    sandbox_config(&t, json!({"full_terminals": ["ITS Long Beach"]})).await;
    let mut request = import_request(&id, &data);
    request["terminal"] = json!("ITS Long Beach");
    let (status, body) = t.post("/check_appointments", request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available_times"], json!([]), "{body}");
    assert_eq!(body["count"], 0);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("No Appointments Available"),
        "{body}"
    );
    t.shutdown_clean().await;
}

/// Nothing real is recorded of what follows Submit. Whatever the page shows (a numbered
/// confirmation, a snack-bar, My Appointments), and also when its answer is too slow to
/// wait for, the booking is made exactly once and the response says how it was verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_after_submit_behaviour_books_exactly_once() {
    let mut t = start(&[("portal.wizard.submit_wait_ms", "2000")]).await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    let cases = [
        ("confirmation", 0, "confirmation"),
        ("snackbar", 0, "snackbar"),
        ("my_appointments", 0, "my_appointments"),
        // The answer to Submit takes longer than the driver waits: My Appointments decides.
        ("confirmation", 5000, "my_appointments"),
    ];
    for (behaviour, delay, verified_by) in cases {
        sandbox_config(
            &t,
            json!({"after_submit": behaviour, "submit_delay_ms": delay}),
        )
        .await;
        let free = t.free_slots(TERMINAL, MOVE).await;
        let slot = free.last().unwrap().clone();
        let before = bookings(&t).await;
        let mut request = import_request(&id, &data);
        request["appointment_time"] = slot.clone();
        let (status, body) = t.post("/make_appointment", request).await;
        assert_eq!(status, 200, "{behaviour}/{delay}: {body}");
        assert_eq!(body["appointment_confirmed"], true);
        assert_eq!(
            body["verified_by"], verified_by,
            "{behaviour}/{delay}: {body}"
        );
        assert_eq!(body["appointment_time"], slot);
        if verified_by == "confirmation" {
            assert!(body["confirmation_number"].as_str().is_some(), "{body}");
        }
        assert_eq!(
            bookings(&t).await,
            before + 1,
            "{behaviour}/{delay}: exactly one booking"
        );
        let after = t.free_slots(TERMINAL, MOVE).await;
        assert!(!after.contains(&slot), "{slot} is still free");
    }

    // My Appointments as far as the client asks (the original's target modes).
    let (status, all) = t.post("/get_appointments", json!({"session_id": id})).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["total_appointments"], cases.len(), "{all}");
    let (status, two) = t
        .post(
            "/get_appointments",
            json!({"session_id": id, "target_count": "2"}),
        )
        .await;
    assert_eq!(status, 200, "{two}");
    assert_eq!(two["total_appointments"], 2, "{two}");
    assert_eq!(
        two["appointments"],
        json!(all["appointments"].as_array().unwrap()[..2])
    );
    let first_row = all["appointments"][0].as_object().unwrap();
    let wanted = first_row
        .values()
        .filter_map(Value::as_str)
        .find(|v| v.len() >= 6)
        .unwrap()
        .to_string();
    let (status, found) = t
        .post(
            "/get_appointments",
            json!({"session_id": id, "target_appointment_id": wanted}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["target_found"], true, "{found}");
    let (status, bad) = t
        .post(
            "/get_appointments",
            json!({"session_id": id, "target_count": 0}),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["invalid_fields"], json!(["target_count"]));
    t.shutdown_clean().await;
}
