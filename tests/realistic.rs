//! The marked subset at `sandbox.pace = "realistic"`: seeded, jittered delays of the real
//! portal's order (grid pages 1-5 s with a spinner or none, Next 2-10 s and now and then
//! ignored, an identity interstitial, a slow Submit). Login, every business operation once,
//! and one booking per `after_submit` behaviour, each exactly once in the sandbox's records.

mod support;

use serde_json::{Value, json};
use support::*;

const TERMINAL: &str = "Total Terminals Intl LLC";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_operation_at_realistic_pace() {
    let mut t = start(&[
        ("sandbox.pace", "realistic"),
        ("sandbox.containers_per_account", "60"),
    ])
    .await;
    // The identity hop stops at its interstitial prompt this time.
    t.sandbox_post("/__sandbox/config", json!({"identity_prompt": "always"}))
        .await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    let containers = data["containers"].as_array().unwrap();

    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["containers"].as_array().unwrap().len(),
        containers.len(),
        "every row, however slowly the pages came"
    );

    let import = containers
        .iter()
        .find(|c| c["Trade Type"] == "IMPORT" && c["expandable"] != false)
        .unwrap();
    let (status, body) = t
        .post(
            "/get_container_timeline",
            json!({"session_id": id, "container_id": import["Container #"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body["timeline"].as_array().unwrap().is_empty(), "{body}");

    // The export container nearest the top, so the search scrolls little.
    let export = containers
        .iter()
        .find(|c| c["Trade Type"] == "EXPORT" && c["expandable"] != false)
        .unwrap();
    let (status, body) = t
        .post(
            "/get_booking_number",
            json!({"session_id": id, "container_id": export["Container #"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t
        .post(
            "/get_info_bulk",
            json!({"session_id": id, "import_containers": [import["Container #"]],
                   "export_containers": [export["Container #"]]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let summary = &body["results"]["summary"];
    assert_eq!(summary["import_success"], 1, "{body}");
    assert_eq!(summary["export_success"], 1, "{body}");

    let request = json!({
        "session_id": id,
        "trucking_company": data["trucking_companies"][0],
        "terminal": "TTI",
        "move_type": "PICK FULL",
        "container_id": import["Container #"],
        "truck_plate": "ABC123",
    });
    let (status, body) = t.post("/check_appointments", request.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["available_times"],
        Value::Array(t.free_slots(TERMINAL, "PICK FULL").await)
    );

    for behaviour in ["confirmation", "snackbar", "my_appointments"] {
        t.sandbox_post("/__sandbox/config", json!({"after_submit": behaviour}))
            .await;
        let before = t.dataset(USER).await["appointments"]
            .as_array()
            .unwrap()
            .len();
        let slot = t.free_slots(TERMINAL, "PICK FULL").await[0].clone();
        let mut booking = request.clone();
        booking["appointment_time"] = slot;
        let (status, body) = t.post("/make_appointment", booking).await;
        assert_eq!(status, 200, "{behaviour}: {body}");
        let after = t.dataset(USER).await["appointments"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(after, before + 1, "{behaviour}: exactly one booking");
    }

    let (status, body) = t.post("/get_appointments", json!({"session_id": id})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_appointments"], 3, "{body}");
    assert_eq!(body["selected_count"], 3, "{body}");
    t.shutdown_clean().await;
}
