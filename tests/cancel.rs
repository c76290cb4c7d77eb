//! Clients that hang up mid-request, against the sandbox with real Chromium: nothing taken
//! for a request may outlive it (the session stays usable and still expires), a booking
//! whose caller left is still recorded under its idempotency key, and the browser job a
//! caller abandoned leaves the next one a clean wizard.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

const TERMINAL: &str = "Total Terminals Intl LLC";
const MOVE: &str = "PICK FULL";

/// Send `body` to `path` on a connection of its own and hang up after `after`: `Some(status)`
/// if the service answered first, `None` if the client left with the request in flight.
async fn hang_up_after(t: &TestApp, path: &str, body: &Value, after: Duration) -> Option<u16> {
    // A client of its own: dropping the request closes this connection, not a pooled one
    // another request might reuse.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let request = client.post(format!("{}{path}", t.api)).json(body).send();
    match tokio::time::timeout(after, request).await {
        Ok(answer) => Some(answer.unwrap().status().as_u16()),
        Err(_) => None,
    }
}

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

/// Today a dropped handler never gives back its queue slot: after `max_queue` hang-ups the
/// session answers 429 for good, and a session that looks busy never expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hang_ups_leave_the_session_usable_and_expiring() {
    let mut t = start(&[
        ("sessions.max_queue", "4"),
        ("sessions.session_timeout", "10"),
    ])
    .await;
    let (status, grant) = t
        .post(
            "/get_session",
            json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "keep_alive": false}),
        )
        .await;
    assert_eq!(status, 200, "{grant}");
    let id = grant["session_id"].as_str().unwrap().to_string();
    // Every grid fetch takes a second: a get_containers runs for seconds, so each caller
    // below leaves while its request is queued or driving Chrome.
    t.sandbox_post("/__sandbox/config", json!({"render_delay_ms": 1000}))
        .await;
    let slow = json!({"session_id": id, "format": "json", "target_count": 5});
    let mut left = 0;
    for _ in 0..20 {
        match hang_up_after(&t, "/get_containers", &slow, Duration::from_millis(300)).await {
            None => left += 1,
            Some(status) => assert_eq!(status, 429, "only a full queue answers this fast"),
        }
    }
    assert!(left >= 4, "only {left} of 20 callers left mid-request");
    // The portal at its normal pace again, so what the service still owes drains quickly.
    t.sandbox_post("/__sandbox/config", json!({"render_delay_ms": 0}))
        .await;

    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 3}),
        )
        .await;
    assert_eq!(status, 200, "after 20 hang-ups: {body}");
    assert_eq!(body["session_id"], id);
    eventually("the session not busy", Duration::from_secs(60), || async {
        t.session(&id).await.filter(|row| row["busy"] == false)
    })
    .await;
    // Unused from here on: it expires after its 10 s idle timeout and takes Chrome with it.
    eventually(
        "the regular session to expire",
        Duration::from_secs(40),
        || async { t.session(&id).await.is_none().then_some(()) },
    )
    .await;
    wait_until("no Chrome left", Duration::from_secs(10), || {
        t.chrome_pids().is_empty()
    })
    .await;
    t.shutdown_clean().await;
}

/// The booking goes on when its caller leaves; today the key's cell stays empty, so the
/// same key again starts a second booking (of a slot the first one already took).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_whose_caller_left_answers_its_idempotency_key() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    let slot = t.free_slots(TERMINAL, MOVE).await[1].clone();
    let mut request = import_request(&id, &data);
    request["appointment_time"] = slot.clone();
    request["idempotency_key"] = json!("dispatch-cancel-1");
    // The portal takes the booking at Submit and answers 4 s later.
    t.sandbox_post("/__sandbox/config", json!({"submit_delay_ms": 4000}))
        .await;

    let first = {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let url = format!("{}/make_appointment", t.api);
        let body = request.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        })
    };
    eventually(
        "the portal to take the booking",
        Duration::from_secs(90),
        || async { (t.sandbox_stats().await["appointments_booked"] == 1).then_some(()) },
    )
    .await;
    assert!(
        !first.is_finished(),
        "the first caller must leave mid-booking"
    );
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());

    // The same key while the booking runs: its outcome, not a booking of its own.
    let (status, second) = t.post("/make_appointment", request.clone()).await;
    assert_eq!(
        status, 200,
        "the retry gets the booking's outcome: {second}"
    );
    assert_eq!(second["appointment_confirmed"], true, "{second}");
    let booked = t.dataset(USER).await["appointments"].clone();
    assert_eq!(booked.as_array().unwrap().len(), 1, "one booking: {booked}");
    assert_eq!(t.sandbox_stats().await["appointments_booked"], 1);
    assert_eq!(second["appointment_time"], slot, "{second}");
    let confirmation = &booked[0]["confirmation_number"];
    assert_eq!(second["confirmation_number"], *confirmation, "{second}");

    let (status, third) = t.post("/make_appointment", request).await;
    assert_eq!(status, 200, "{third}");
    assert_eq!(third["idempotent_replay"], true, "{third}");
    assert_eq!(third["confirmation_number"], *confirmation, "{third}");
    assert_eq!(third["appointment_details"], second["appointment_details"]);
    assert_eq!(third["verified_by"], second["verified_by"]);
    assert_eq!(t.sandbox_stats().await["appointments_booked"], 1);
    t.shutdown_clean().await;
}

/// Callers that leave at different points of the wizard: the next check on the same
/// session starts from a clean wizard and answers the portal's free slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn check_appointments_after_five_hang_ups_starts_clean() {
    // Five slots: five leaked ones would refuse the check that follows.
    let mut t = start(&[("sessions.max_queue", "5")]).await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    let request = import_request(&id, &data);
    // Each wizard fetch takes a second: a check runs for seconds, and the hang-ups below
    // land in different steps of it (or while it waits behind an abandoned one).
    t.sandbox_post("/__sandbox/config", json!({"render_delay_ms": 1000}))
        .await;
    for after_ms in [300, 1000, 1800, 2600, 3500] {
        let answered = hang_up_after(
            &t,
            "/check_appointments",
            &request,
            Duration::from_millis(after_ms),
        )
        .await;
        assert_eq!(
            answered, None,
            "the check at {after_ms} ms was meant to be left"
        );
    }
    t.sandbox_post("/__sandbox/config", json!({"render_delay_ms": 0}))
        .await;
    let (status, body) = t.post("/check_appointments", request).await;
    assert_eq!(status, 200, "after 5 hang-ups: {body}");
    let expected = t.free_slots(TERMINAL, MOVE).await;
    assert!(!expected.is_empty());
    assert_eq!(body["available_times"], Value::Array(expected));
    assert_eq!(t.sandbox_stats().await["appointments_booked"], 0);
    eventually("the session not busy", Duration::from_secs(60), || async {
        t.session(&id).await.filter(|row| row["busy"] == false)
    })
    .await;
    t.shutdown_clean().await;
}
