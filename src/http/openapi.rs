//! `GET /openapi.json`: the API as it really behaves, requests, responses and errors.
//! `scripts/fuzz.sh` holds the service to it with schemathesis.

use serde_json::{Value, json};
use warp::{Filter, Rejection};

pub fn routes() -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    // Serialised once: warp clones filters freely, and a JSON tree is costly to clone.
    let doc = bytes::Bytes::from(serde_json::to_vec(&document()).expect("the document serialises"));
    warp::path!("openapi.json").and(warp::get()).map(move || {
        let mut response = warp::reply::Response::new(doc.clone().into());
        response.headers_mut().insert(
            warp::http::header::CONTENT_TYPE,
            "application/json".parse().expect("static header"),
        );
        response
    })
}

/// Error statuses every authenticated endpoint may answer, and why.
const COMMON_ERRORS: &[(&str, &str)] = &[
    (
        "400",
        "Missing or invalid fields (named in missing_fields / invalid_fields)",
    ),
    (
        "401",
        "Missing or invalid API token, or E-Modal rejected the credentials",
    ),
    (
        "402",
        "The captcha service refused the key (wrong key, no balance)",
    ),
    ("404", "Unknown session, container or appointment session"),
    ("405", "Wrong method"),
    ("411", "Chunked body without Content-Length"),
    ("413", "Body larger than 256 KiB"),
    ("415", "Unsupported media type"),
    (
        "429",
        "At capacity, too many logins, or the session's queue is full (Retry-After)",
    ),
    (
        "502",
        "The portal or the captcha service answered something unexpected",
    ),
    (
        "503",
        "Session restarting (retryable) or the service is draining (Retry-After)",
    ),
    ("504", "A portal step timed out"),
];

fn error_responses() -> serde_json::Map<String, Value> {
    COMMON_ERRORS
        .iter()
        .map(|(code, why)| {
            (
                code.to_string(),
                json!({"description": why, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
            )
        })
        .collect()
}

fn ok(schema: Value) -> Value {
    json!({"description": "Success", "content": {"application/json": {"schema": schema}}})
}

/// A POST endpoint taking a JSON object body.
fn post(summary: &str, body: Value, success: Value) -> Value {
    let mut responses = error_responses();
    responses.insert("200".into(), success);
    json!({"post": {
        "summary": summary,
        "requestBody": {"required": false, "content": {"application/json": {"schema": body}}},
        "responses": responses,
        "security": [{"bearer": []}, {}],
    }})
}

/// Session selection fields every business endpoint accepts.
fn business_body(extra: Value) -> Value {
    let mut props = json!({
        "session_id": {"type": "string"},
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "captcha_api_key": {"type": "string", "format": "password"},
        "debug": {"type": "boolean"},
        "screenshot_label": {"type": "string"},
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        props[k] = v;
    }
    json!({"type": "object", "properties": props, "additionalProperties": true})
}

fn business_ok(extra: Value) -> Value {
    let mut props = json!({
        "success": {"type": "boolean", "const": true},
        "session_id": {"type": "string"},
        "is_new_session": {"type": "boolean"},
        "screenshots": {"type": "array", "items": {"type": "string"}},
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        props[k] = v;
    }
    ok(
        json!({"type": "object", "required": ["success", "session_id", "is_new_session"], "properties": props}),
    )
}

fn document() -> Value {
    let string = json!({"type": "string"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let nullable_time = json!({"type": ["string", "null"], "format": "date-time"});
    let timeline = json!({"type": "array", "items": {"$ref": "#/components/schemas/Milestone"}});
    let visit = json!({
        "container_type": {"type": "string", "enum": ["import", "export", "IMPORT", "EXPORT"]},
        "trucking_company": string, "terminal": string, "move_type": string,
        "container_id": {"oneOf": [string, strings]}, "booking_number": string,
        "truck_plate": string, "own_chassis": {"type": ["boolean", "string"]},
        "pin_code": string, "unit_number": string, "seal_value": {"oneOf": [string, strings]},
        "line": string, "equip_size": string,
        "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
        "appointment_session_id": string,
    });
    let mut make_fields = visit.clone();
    make_fields["appointment_time"] = string.clone();
    make_fields["idempotency_key"] = json!({"type": "string", "maxLength": 200});

    let mut health_responses = serde_json::Map::new();
    health_responses.insert(
        "200".into(),
        ok(json!({"$ref": "#/components/schemas/Health"})),
    );
    health_responses.insert(
        "503".into(),
        json!({"description": "Draining", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}),
    );

    let mut list_responses = error_responses();
    list_responses.insert(
        "200".into(),
        ok(json!({"type": "object", "required": ["success", "active_sessions", "sessions"], "properties": {
            "success": {"type": "boolean"}, "active_sessions": {"type": "integer"},
            "sessions": {"type": "array", "items": {"$ref": "#/components/schemas/SessionRow"}}}})),
    );
    let mut delete_responses = error_responses();
    delete_responses.insert(
        "200".into(),
        ok(
            json!({"type": "object", "required": ["success", "message"], "properties": {
            "success": {"type": "boolean"}, "message": string}}),
        ),
    );
    let mut file_responses = error_responses();
    file_responses.insert(
        "200".into(),
        json!({"description": "The file", "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}}),
    );
    let mut containers_ok = business_ok(json!({
        "total_containers": {"type": "integer"}, "scroll_cycles": {"type": "integer"},
        "containers": {"type": "array", "items": {"type": "object", "additionalProperties": string}},
        "file_url": string, "file_name": string, "file_size": {"type": "integer"},
        "target_container_id": string, "target_found": {"type": "boolean"},
    }));
    containers_ok["content"]["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] =
        json!({"schema": {"type": "string", "format": "binary"}});

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "emodal-api",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Persistent, supervised E-Modal portal sessions. Every business endpoint takes session_id, or username + password + captcha_api_key (which get or create the persistent session).",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["success", "error"], "properties": {
                    "success": {"type": "boolean", "enum": [false]}, "error": string,
                    "missing_fields": strings, "invalid_fields": strings,
                    "appointment_session_id": string, "current_phase": {"type": "integer"},
                    "phase_name": string, "retryable": {"type": "boolean"}, "debug_bundle_url": string}},
                "Health": {"type": "object", "required": ["status", "service", "version", "active_sessions", "persistent_sessions", "max_sessions", "timestamp"], "properties": {
                    "status": {"type": "string", "enum": ["healthy", "draining"]}, "service": string, "version": string,
                    "active_sessions": {"type": "integer"}, "persistent_sessions": {"type": "integer"},
                    "max_sessions": {"type": "integer"}, "timestamp": {"type": "string", "format": "date-time"}}},
                "SessionRow": {"type": "object", "required": ["session_id", "username", "created_at", "last_used", "keep_alive", "state", "restarts"], "properties": {
                    "session_id": string, "username": string,
                    "created_at": {"type": "string", "format": "date-time"}, "last_used": {"type": "string", "format": "date-time"},
                    "keep_alive": {"type": "boolean"}, "state": {"type": "string", "enum": ["starting", "ready", "restarting", "closing"]},
                    "last_refresh": nullable_time, "restarts": {"type": "integer"},
                    "current_url": {"type": ["string", "null"]}, "busy": {"type": "boolean"}, "expires_at": nullable_time}},
                "Milestone": {"type": "object", "required": ["milestone", "date", "status"], "properties": {
                    "milestone": string, "date": string, "status": {"type": "string", "enum": ["completed", "pending"]}}},
            },
        },
        "paths": {
            "/health": {"get": {"summary": "Service health (no token needed)", "responses": health_responses}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": ok(json!({"type": "object"}))}}},
            "/get_session": post(
                "The live session for these credentials, or a new one",
                json!({"type": "object", "properties": {
                    "username": string, "password": {"type": "string", "format": "password"},
                    "captcha_api_key": {"type": "string", "format": "password"}, "keep_alive": {"type": "boolean"}},
                    "required": ["username", "password", "captcha_api_key"], "additionalProperties": true}),
                ok(json!({"type": "object", "required": ["success", "session_id", "is_new", "username", "created_at", "expires_at", "message"], "properties": {
                    "success": {"type": "boolean"}, "session_id": string, "is_new": {"type": "boolean"},
                    "username": string, "created_at": {"type": "string", "format": "date-time"},
                    "expires_at": nullable_time, "keep_alive": {"type": "boolean"}, "message": string}})),
            ),
            "/sessions": {"get": {"summary": "This token's sessions", "responses": list_responses, "security": [{"bearer": []}, {}]}},
            "/sessions/{session_id}": {"delete": {
                "summary": "Close a session (Chrome exits, profile removed)",
                "parameters": [{"name": "session_id", "in": "path", "required": true, "schema": string}],
                "responses": delete_responses, "security": [{"bearer": []}, {}]}},
            "/files/{name}": {"get": {
                "summary": "A sheet or screenshot the service wrote",
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": string}],
                "responses": file_responses, "security": [{"bearer": []}, {}]}},
            "/get_containers": post(
                "Scroll the containers grid and read its 18 columns",
                business_body(json!({"infinite_scrolling": {"type": "boolean"}, "target_count": {"type": "integer", "minimum": 1, "maximum": 100000},
                    "target_container_id": string, "return_url": {"type": "boolean"}, "format": {"type": "string", "enum": ["json", "xlsx"]}})),
                containers_ok,
            ),
            "/get_container_timeline": post(
                "A container's timeline, newest first",
                business_body(json!({"container_id": string})),
                business_ok(json!({"container_id": string, "passed_pregate": {"type": "boolean"}, "timeline": timeline,
                    "milestone_count": {"type": "integer"}, "detection_method": string})),
            ),
            "/get_booking_number": post(
                "An export container's booking number",
                business_body(json!({"container_id": string})),
                business_ok(json!({"container_id": string, "booking_number": {"type": ["string", "null"]}, "message": string})),
            ),
            "/get_info_bulk": post(
                "Timelines and booking numbers for lists of containers",
                business_body(json!({"import_containers": strings, "export_containers": strings})),
                business_ok(json!({"results": {"type": "object"}})),
            ),
            "/check_appointments": post(
                "Walk the appointment wizard to its time slots; never submits",
                business_body(visit),
                business_ok(json!({"available_times": strings, "count": {"type": "integer"}, "truck_plate": string, "appointment_session_id": string, "message": string})),
            ),
            "/make_appointment": post(
                "Book an appointment (never retried; idempotency_key answers repeats with the first result)",
                business_body(make_fields),
                business_ok(json!({"appointment_confirmed": {"type": "boolean"}, "confirmation_number": {"type": ["string", "null"]},
                    "verified_by": {"type": "string", "enum": ["confirmation", "snackbar", "my_appointments"]},
                    "appointment_time": string, "appointment_details": {"type": "object"}, "idempotent_replay": {"type": "boolean"}})),
            ),
            "/get_appointments": post(
                "My Appointments",
                business_body(json!({"return_url": {"type": "boolean"}})),
                business_ok(json!({"appointments": {"type": "array", "items": {"type": "object"}}, "total_appointments": {"type": "integer"},
                    "selected_count": {"type": "integer"}, "file_url": string, "file_name": string, "file_size": {"type": "integer"}})),
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_path_answers_json_errors_and_success() {
        let doc = super::document();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 13);
        for (path, item) in paths {
            for (_, op) in item.as_object().unwrap() {
                assert!(op["responses"]["200"].is_object(), "{path}");
            }
        }
    }
}
