//! Every lenient case goes through the flattened endpoint structs, not the helpers alone:
//! `#[serde(flatten)]` hands fields to them buffered, which is where leniency breaks.

use super::*;
use serde_json::json;

fn body(v: Value) -> Body {
    match v {
        Value::Object(map) => Body(map),
        _ => panic!("an object"),
    }
}

fn ok<T: serde::de::DeserializeOwned>(v: Value) -> T {
    match parse::<T>(&body(v)) {
        Ok(t) => t,
        Err(e) => panic!("{}: {:?}", e.message, e.extra),
    }
}

fn err<T: serde::de::DeserializeOwned + std::fmt::Debug>(v: Value) -> ApiError {
    parse::<T>(&body(v)).expect_err("should be refused")
}

#[test]
fn strings_accept_numbers_are_trimmed_and_blank_is_absent() {
    let r: GetContainersRequest =
        ok(json!({"session_id": "  s1 ", "username": 123, "target_container_id": "   "}));
    assert_eq!(r.session.session_id.as_deref(), Some("s1"));
    assert_eq!(r.session.credentials.username.as_deref(), Some("123"));
    assert_eq!(r.target_container_id, None);
    let w: CheckAppointmentsRequest =
        ok(json!({"pin_code": 4321, "truck_plate": 12.5, "terminal": null, "line": ""}));
    assert_eq!(w.wizard.pin_code.as_deref(), Some("4321"));
    assert_eq!(w.wizard.truck_plate.as_deref(), Some("12.5"));
    assert_eq!(w.wizard.terminal, None);
    assert_eq!(w.wizard.line, None);
}

#[test]
fn bools_accept_words_in_any_case() {
    for (sent, want) in [
        (json!(true), Some(true)),
        (json!(false), Some(false)),
        (json!("TRUE"), Some(true)),
        (json!("False"), Some(false)),
        (json!("yes"), Some(true)),
        (json!(" No "), Some(false)),
        (json!(""), None),
        (json!(null), None),
    ] {
        let r: GetContainersRequest =
            ok(json!({"infinite_scrolling": sent.clone(), "debug": sent.clone()}));
        assert_eq!(r.infinite_scrolling, want, "{sent}");
        assert_eq!(r.session.debug, want, "{sent}");
        let s: GetSessionRequest = ok(json!({"keep_browser_alive": sent.clone()}));
        assert_eq!(s.keep_alive, want, "{sent}");
    }
    let e = err::<GetAppointmentsRequest>(json!({"return_url": "maybe"}));
    assert_eq!(e.status, 400);
    assert_eq!(e.message, "field 'return_url' must be true or false");
    assert_eq!(e.extra["invalid_fields"], json!(["return_url"]));
    assert!(parse::<GetContainersRequest>(&body(json!({"debug": 1}))).is_err());
}

#[test]
fn whole_numbers_accept_numeric_strings() {
    for (sent, want) in [
        (json!(25), Some(25)),
        (json!("25"), Some(25)),
        (json!(" 7 "), Some(7)),
        (json!(10.0), Some(10)),
        (json!(""), None),
        (json!(null), None),
    ] {
        let r: GetContainersRequest = ok(json!({"target_count": sent.clone()}));
        assert_eq!(r.target_count, want, "{sent}");
        let a: GetAppointmentsRequest = ok(json!({"target_count": sent.clone()}));
        assert_eq!(a.target_count, want, "{sent}");
        let m: MakeAppointmentRequest = ok(json!({"quantity": sent.clone()}));
        assert_eq!(m.wizard.quantity, want, "{sent}");
    }
    for bad in [json!("ten"), json!(-1), json!(2.5), json!(true), json!([1])] {
        let e = err::<GetContainersRequest>(json!({"session_id": "s", "target_count": bad}));
        assert_eq!(e.message, "field 'target_count' must be a whole number");
        assert_eq!(e.extra["invalid_fields"], json!(["target_count"]));
    }
}

#[test]
fn string_lists_accept_one_comma_separated_string() {
    let r: InfoBulkRequest = ok(json!({
        "import_containers": "MSDU1, TGHU2 ,,",
        "export_containers": ["A1", " ", 42],
    }));
    assert_eq!(
        r.import_containers,
        Some(vec!["MSDU1".into(), "TGHU2".into()])
    );
    assert_eq!(r.export_containers, Some(vec!["A1".into(), "42".into()]));
    let empty: InfoBulkRequest = ok(json!({"import_containers": [], "export_containers": ""}));
    assert_eq!(empty.import_containers, None);
    assert_eq!(empty.export_containers, None);
    let w: CheckAppointmentsRequest = ok(json!({"container": "MSDU1", "seal_value": ["S1", "S2"]}));
    assert_eq!(w.wizard.container_id, Some(vec!["MSDU1".into()]));
    assert_eq!(w.wizard.seal_value, Some(vec!["S1".into(), "S2".into()]));
    let e = err::<InfoBulkRequest>(json!({"import_containers": {"a": 1}}));
    assert_eq!(e.extra["invalid_fields"], json!(["import_containers"]));
    let e = err::<MakeAppointmentRequest>(json!({"seal_value": [["S1"]]}));
    assert_eq!(e.extra["invalid_fields"], json!(["seal_value"]));
}

#[test]
fn the_originals_aliases_are_read() {
    let c: ContainerRequest = ok(json!({"container": "MSDU5772413", "screens_label": "L"}));
    assert_eq!(c.container_id.as_deref(), Some("MSDU5772413"));
    assert_eq!(c.session.screenshot_label.as_deref(), Some("L"));
    let s: GetSessionRequest = ok(json!({"keep_browser_alive": false}));
    assert_eq!(s.keep_alive, Some(false));
    let e = err::<ContainerRequest>(json!({"container": "A1", "container_id": "B2"}));
    assert_eq!(e.extra["invalid_fields"], json!(["container_id"]));
    let e = err::<CheckAppointmentsRequest>(json!({"container": "A1", "container_id": "B2"}));
    assert_eq!(e.extra["invalid_fields"], json!(["container_id"]));
    let e = err::<ContainerRequest>(json!({"container": ["x"]}));
    assert_eq!(e.message, "field 'container' must be a string");
    assert_eq!(e.extra["invalid_fields"], json!(["container"]));
}

#[test]
fn own_chassis_is_kept_as_text() {
    for (sent, want) in [
        (json!(true), Some("true")),
        (json!(false), Some("false")),
        (json!("YES"), Some("YES")),
        (json!(" ignore "), Some("ignore")),
        (json!(""), None),
    ] {
        let r: MakeAppointmentRequest = ok(json!({"own_chassis": sent.clone()}));
        assert_eq!(r.wizard.own_chassis.as_deref(), want, "{sent}");
    }
    let e = err::<CheckAppointmentsRequest>(json!({"own_chassis": {"x": 1}}));
    assert_eq!(e.extra["invalid_fields"], json!(["own_chassis"]));
}

#[test]
fn unknown_fields_are_ignored() {
    let r: CheckAppointmentsRequest = ok(json!({
        "session_id": "s", "manifested_date": "10/10/2025", "departed_date": {"x": [1]},
        "terminal": "TTI", "appointment_session_id": "appt_1",
    }));
    assert_eq!(r.wizard.terminal.as_deref(), Some("TTI"));
    assert_eq!(r.appointment_session_id.as_deref(), Some("appt_1"));
    let _: GetSessionRequest = ok(json!({"anything": [1, 2, {"deep": true}]}));
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    let r: GetContainersRequest = ok(json!({
        "username": "u", "password": "hunter2", "captcha_api_key": 987654,
    }));
    let creds = &r.session.credentials;
    assert_eq!(creds.password.as_ref().map(Secret::expose), Some("hunter2"));
    assert_eq!(
        creds.captcha_api_key.as_ref().map(Secret::expose),
        Some("987654")
    );
    assert!(!format!("{r:?}").contains("hunter2"));
    assert!(!format!("{r:?}").contains("987654"));
    let s: GetSessionRequest = ok(json!({"password": " spaced ", "captcha_api_key": ""}));
    assert_eq!(s.password.as_ref().map(Secret::expose), Some(" spaced "));
    assert!(s.captcha_api_key.is_none());
    for bad in [
        json!(1.5),
        json!(["hunter2"]),
        json!({"p": "hunter2"}),
        json!(true),
    ] {
        for name in ["password", "captcha_api_key"] {
            let e = err::<MakeAppointmentRequest>(json!({ name: bad.clone() }));
            assert_eq!(e.message, format!("field '{name}' must be a string"));
            assert!(!e.body().to_string().contains("hunter2"));
            let e = err::<GetSessionRequest>(json!({ name: bad.clone() }));
            assert_eq!(e.extra["invalid_fields"], json!([name]));
        }
    }
}

#[test]
fn wizard_fields_round_trip_and_overlay() {
    let first: CheckAppointmentsRequest = ok(json!({
        "session_id": "s", "password": "hunter2", "terminal": "TTI", "move_type": "PICK FULL",
        "container_id": "MSDU1", "quantity": "2",
    }));
    let mut draft = first.wizard;
    let stored = serde_json::to_value(&draft).unwrap();
    assert_eq!(
        stored,
        json!({"terminal": "TTI", "move_type": "PICK FULL", "container_id": ["MSDU1"], "quantity": 2})
    );
    assert_eq!(
        serde_json::from_value::<WizardFields>(stored).unwrap(),
        draft
    );
    let later: MakeAppointmentRequest = ok(json!({
        "terminal": "PCT", "appointment_time": "10/10/2025 08:00 AM - 09:00 AM", "move_type": "",
    }));
    draft.overlay(later.wizard);
    assert_eq!(draft.terminal.as_deref(), Some("PCT"));
    assert_eq!(draft.move_type.as_deref(), Some("PICK FULL"));
    assert_eq!(draft.container_id, Some(vec!["MSDU1".into()]));
    assert_eq!(draft.quantity, Some(2));
    assert!(draft.appointment_time.is_some());
}

#[test]
fn fields_of_every_endpoint_are_read() {
    let r: MakeAppointmentRequest = ok(json!({
        "session_id": "s", "debug": "yes", "screenshot_label": "L",
        "container_type": "export", "trucking_company": "K & R", "terminal": "TTI",
        "move_type": "DROP EMPTY", "booking_number": "RICFEM857500", "line": "MSC",
        "equip_size": "40DH", "quantity": 1, "truck_plate": "ABC123", "own_chassis": "no",
        "pin_code": "1", "unit_number": "U1", "vm_email": "a@b.c", "container_number": "C1",
        "appointment_time": "T", "appointment_session_id": "appt_1", "idempotency_key": "k",
    }));
    let w = &r.wizard;
    assert_eq!(w.container_type.as_deref(), Some("export"));
    assert_eq!(w.trucking_company.as_deref(), Some("K & R"));
    assert_eq!(w.booking_number.as_deref(), Some("RICFEM857500"));
    assert_eq!(w.line.as_deref(), Some("MSC"));
    assert_eq!(w.equip_size.as_deref(), Some("40DH"));
    assert_eq!(w.unit_number.as_deref(), Some("U1"));
    assert_eq!(w.vm_email.as_deref(), Some("a@b.c"));
    assert_eq!(w.container_number.as_deref(), Some("C1"));
    assert_eq!(r.idempotency_key.as_deref(), Some("k"));
    assert_eq!(r.appointment_session_id.as_deref(), Some("appt_1"));
    assert_eq!(r.session.debug, Some(true));
    let g: GetAppointmentsRequest = ok(json!({
        "target_appointment_id": "A1", "infinite_scrolling": "false", "return_url": true,
    }));
    assert_eq!(g.target_appointment_id.as_deref(), Some("A1"));
    assert_eq!(g.infinite_scrolling, Some(false));
    assert_eq!(g.return_url, Some(true));
    let c: GetContainersRequest = ok(json!({"format": "JSON", "return_url": "true"}));
    assert_eq!(c.format.as_deref(), Some("JSON"));
    assert_eq!(c.return_url, Some(true));
}
