//! The original API's real client against our service (issue 10, item 3).
//!
//! Follows `EModalClient` of mohamed-ali0/main_bots_api at commit ccbcb7836f50 (2025-10-17;
//! services/emodal_client.py) and the dispatch flow that drives it
//! (services/query_service.py `_execute_query_steps`): get a session (reusing a listed one),
//! all containers as a file, bulk info, one check per container, all appointments. Payloads
//! are the client's (tests/support/original.rs). The client raises on every non-2xx and
//! recovers only when the status is 400: it logs in again and repeats the call once. So a
//! service restarted with an empty data dir must answer a stale `session_id` with 400.
//!
//! Calls the client does not make (target modes of get_containers, make_appointment, the
//! 401 of get_session) are sent as the original server documented them.

#[path = "support/original.rs"]
mod original;
mod support;

use original::{Check, Client, required_str};
use serde_json::{Value, json};
use support::*;

/// Every field the client reads, or the original answered, on the session's first life.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_original_client_gets_through_and_recovers_after_a_restart() {
    let mut t = start(&[]).await;
    let client = Client::new(&t.api);
    let data = t.dataset(USER).await;
    let rows = data["containers"].as_array().unwrap().clone();

    // /health: the client's setup only wants 200; the original also said how full it was.
    let (status, health) = t.get("/health").await;
    assert_eq!(status, 200, "{health}");
    assert!(
        health["session_capacity"]
            .as_str()
            .is_some_and(|s| s.contains('/')),
        "session_capacity \"active/max\": {health}"
    );

    // get_session: nothing listed yet, so it logs in; the second time it finds the row.
    let (status, session) = client.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["success"], true);
    assert_eq!(session["is_new"], true);
    let sid = required_str(&session, "session_id").to_string();
    let (_, again) = client.get_session(USER, PASS, KEY).await;
    assert_eq!(
        again["session_id"],
        sid.as_str(),
        "reused from GET /sessions"
    );

    // get_containers, the client's only mode: all rows, as a file it downloads.
    let (status, containers) = client.get_containers(&sid).await;
    assert_eq!(status, 200, "{containers}");
    assert_eq!(containers["success"], true);
    assert_eq!(containers["total_containers"], rows.len());
    let (status, size) = client.download(required_str(&containers, "file_url")).await;
    assert_eq!(status, 200);
    assert_eq!(json!(size), containers["file_size"]);

    // The original's other modes say why they stopped.
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": sid, "target_count": 5, "return_url": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["stopped_reason"].is_string(), "{body}");
    let far = rows[12]["Container #"].as_str().unwrap();
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": sid, "target_container_id": far, "return_url": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["found_target_container"], far, "{body}");
    assert!(body["stopped_reason"].is_string(), "{body}");

    // The sheet rows the dispatch flow keeps, one import and one export it can route.
    let open = data["export_bookings"].as_array().unwrap();
    let import = pick(&rows, "IMPORT", open);
    let export = pick(&rows, "EXPORT", open);
    let import_id = import["Container #"].as_str().unwrap();
    let export_id = export["Container #"].as_str().unwrap();

    // get_container_timeline / get_booking_number (the client's per-container path).
    let (status, timeline) = client.get_container_timeline(&sid, import_id).await;
    assert_eq!(status, 200, "{timeline}");
    assert_eq!(timeline["success"], true);
    assert_eq!(timeline["passed_pregate"], import["passed_pregate"]);
    let (status, booking) = client.get_booking_number(&sid, export_id).await;
    assert_eq!(status, 200, "{booking}");
    assert_eq!(booking["success"], true);
    assert_eq!(booking["booking_number"], export["booking_number"]);
    // The original took `container` for `container_id`.
    let (status, body) = t
        .post(
            "/get_container_timeline",
            json!({"session_id": sid, "container": import_id}),
        )
        .await;
    assert_eq!(status, 200, "`container` alias: {body}");
    assert_eq!(body["container_id"], import_id);

    // get_info_bulk: pregate_status picks the import's move type (absent reads as "not
    // passed": a box that passed pregate would be sent to pick up full), so one that passed
    // goes along; booking numbers for exports.
    let passed = rows
        .iter()
        .find(|r| r["Trade Type"] == "IMPORT" && r["passed_pregate"] == true)
        .expect("an import that passed pregate");
    let passed_id = passed["Container #"].as_str().unwrap();
    let (status, bulk) = client
        .get_info_bulk(&sid, &[import_id, passed_id], &[export_id])
        .await;
    assert_eq!(status, 200, "{bulk}");
    assert_eq!(bulk["success"], true);
    assert!(bulk["results"]["summary"].is_object(), "{bulk}");
    let imported = &bulk["results"]["import_results"][0];
    assert_eq!(imported["container_id"], import_id);
    assert_eq!(imported["success"], true);
    assert_eq!(
        imported["pregate_status"], import["passed_pregate"],
        "the original's name for passed_pregate: {imported}"
    );
    assert!(imported["pregate_details"].is_string(), "{imported}");
    let passed_row = &bulk["results"]["import_results"][1];
    assert_eq!(passed_row["pregate_status"], true, "{passed_row}");
    assert_eq!(
        original::move_type("IMPORT", &passed_row["pregate_status"]),
        "DROP EMPTY"
    );
    assert!(imported["timeline"].is_array());
    assert_eq!(
        imported["milestone_count"],
        imported["timeline"].as_array().unwrap().len()
    );
    let exported = &bulk["results"]["export_results"][0];
    assert_eq!(exported["success"], true);
    assert_eq!(exported["booking_number"], export["booking_number"]);

    // check_appointments for the import, as the flow builds it from the bulk answer.
    let import_move = original::move_type("IMPORT", &imported["pregate_status"]);
    let import_terminal = original::terminal(&import, import_move).unwrap();
    let check = Check {
        container_type: "import",
        trucking_company: original::TRUCKING_COMPANY,
        terminal: import_terminal,
        move_type: import_move,
        optional: original::import_fields(&import, &imported["timeline"]),
    };
    let (status, checked) = client.check_appointments(&sid, &check).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(checked["success"], true);
    let times = checked["available_times"].as_array().unwrap().clone();
    assert_eq!(times, t.free_slots(import_terminal, import_move).await);
    assert_eq!(checked["container_type"], "import");
    assert!(
        checked["phase_data"]["truck_plate"].is_string(),
        "{checked}"
    );
    let shot = checked["dropdown_screenshot_url"].as_str();
    let (status, _) = client
        .download(shot.expect("dropdown_screenshot_url"))
        .await;
    assert_eq!(status, 200);

    // ...and for the export: container and booking number, no unit number, no seal.
    // The sandbox's exports with open bookings have not left for a terminal yet (Origin and
    // Current Loc "N/A"), which the flow cannot route; any terminal takes the booking there.
    let export_terminal =
        original::terminal(&export, "DROP FULL").unwrap_or("Total Terminals Intl LLC");
    let booking_number = exported["booking_number"].as_str().unwrap().to_string();
    let check = Check {
        container_type: "export",
        trucking_company: original::TRUCKING_COMPANY,
        terminal: export_terminal,
        move_type: "DROP FULL",
        optional: vec![
            ("container_number", export_id.to_string()),
            ("container_id", export_id.to_string()),
            ("booking_number", booking_number),
        ],
    };
    let (status, checked) = client.check_appointments(&sid, &check).await;
    assert_eq!(
        status, 200,
        "an export check needs no unit_number: {checked}"
    );
    assert_eq!(checked["success"], true);
    assert_eq!(
        checked["calendar_found"], true,
        "the flow's export success: {checked}"
    );
    let shot = checked["calendar_screenshot_url"].as_str();
    let (status, _) = client
        .download(shot.expect("calendar_screenshot_url"))
        .await;
    assert_eq!(status, 200);

    // make_appointment as the original took it (the client has no such method): the
    // answer echoes what was booked.
    let slot = times.first().expect("a free slot").clone();
    let (status, booked) = t
        .post(
            "/make_appointment",
            json!({"session_id": sid, "trucking_company": original::TRUCKING_COMPANY,
                   "terminal": import_terminal, "move_type": import_move,
                   "container_id": import_id, "truck_plate": "ABC123",
                   "own_chassis": "ignore", "appointment_time": slot}),
        )
        .await;
    assert_eq!(status, 200, "{booked}");
    assert_eq!(booked["appointment_confirmed"], true);
    let details = &booked["appointment_details"];
    for (key, value) in [
        ("container_id", json!(import_id)),
        ("terminal", json!(import_terminal)),
        ("move_type", json!(import_move)),
        ("trucking_company", json!(original::TRUCKING_COMPANY)),
        ("appointment_time", slot),
    ] {
        assert_eq!(details[key], value, "echoed {key}: {booked}");
    }

    // get_appointments: the file it downloads and how many were selected.
    let (status, listed) = client.get_appointments(&sid).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["success"], true);
    assert_eq!(listed["selected_count"], 1);
    let (status, _) = client.download(required_str(&listed, "file_url")).await;
    assert_eq!(status, 200);

    // The service restarts with an empty data dir; the client still holds the old id.
    t.shutdown_clean().await;
    let mut t = start(&[]).await;
    let client = Client::new(&t.api);
    for (path, body) in [
        (
            "/get_containers",
            json!({"session_id": sid, "infinite_scrolling": true, "debug": false, "return_url": true}),
        ),
        (
            "/check_appointments",
            json!({"session_id": sid, "container_type": "import", "trucking_company": original::TRUCKING_COMPANY,
                   "terminal": import_terminal, "move_type": import_move, "truck_plate": "ABC123",
                   "debug": true, "container_id": import_id}),
        ),
        (
            "/get_appointments",
            json!({"session_id": sid, "infinite_scrolling": true, "debug": false, "return_url": true}),
        ),
    ] {
        let (status, stale) = t.post(path, body).await;
        assert_eq!(
            status, 400,
            "{path}: the client logs in again only on 400: {stale}"
        );
        assert_eq!(stale["success"], false);
        assert_eq!(stale["error_code"], "session_not_found", "{path}: {stale}");
        assert!(stale["error"].is_string());
    }
    let (status, _) = t.delete(&format!("/sessions/{sid}")).await;
    assert_eq!(status, 404, "DELETE keeps its 404");

    // Its recovery: get_session (nothing listed, so a new login), then the same call.
    let (status, session) = client.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 200, "{session}");
    let fresh = required_str(&session, "session_id").to_string();
    assert_ne!(fresh, sid);
    let (status, containers) = client.get_containers(&fresh).await;
    assert_eq!(status, 200, "{containers}");
    assert_eq!(containers["success"], true);
    let (status, _) = client.download(required_str(&containers, "file_url")).await;
    assert_eq!(status, 200);

    // A refused login answers 401 with the original's `details`.
    let (status, refused) = t.get_session(USER, "wrong-password", KEY).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["success"], false);
    assert!(refused["details"].is_string(), "{refused}");
    t.shutdown_clean().await;
}

/// The first row of `trade` the dispatch flow keeps and can route to a terminal the
/// sandbox has (an import's move type depends on its pregate, so both must resolve). An
/// export must have a booking with open transactions (its box not at the terminal yet),
/// else the portal itself refuses the drop.
fn pick(rows: &[Value], trade: &str, open_bookings: &[Value]) -> Value {
    rows.iter()
        .find(|r| {
            r["Trade Type"] == trade
                && original::wanted(r)
                && if trade == "IMPORT" {
                    let m = original::move_type("IMPORT", &r["passed_pregate"]);
                    original::terminal(r, m).is_some()
                } else {
                    open_bookings.contains(&r["booking_number"])
                }
        })
        .unwrap_or_else(|| panic!("the demo account has a routable {trade} row"))
        .clone()
}
