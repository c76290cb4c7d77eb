//! The generated document says what the brief of `/openapi.json` promises: every operation
//! named, tagged, secured, with its errors; the request types' fields and rules in it.

use serde_json::{Value, json};

fn doc() -> Value {
    serde_json::to_value(super::document()).unwrap()
}

#[test]
fn every_operation_is_named_tagged_and_answers_its_errors() {
    let doc = doc();
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 17, "{:?}", paths.keys());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}"));
            assert!(op["tags"].as_array().is_some_and(|t| t.len() == 1), "{id}");
            assert!(op["responses"]["200"].is_object(), "{id}");
            if path.starts_with("/get_")
                || path.ends_with("_appointments")
                || path.ends_with("appointment")
            {
                assert_eq!(id, &path[1..], "operationId is the endpoint's name");
                for status in ["400", "401", "413", "429", "500", "502", "503", "504"] {
                    let r = &op["responses"][status];
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{id} {status}"
                    );
                }
                assert_eq!(op["security"], json!([{"bearer": []}, {}]), "{id}");
            }
            for status in ["429", "503"] {
                if let Some(r) = op["responses"]
                    .get(status)
                    .filter(|_| id != "health" && id != "ready")
                {
                    assert!(r["headers"]["Retry-After"].is_object(), "{id} {status}");
                }
            }
        }
    }
    assert!(doc["paths"]["/make_appointment"]["post"]["responses"]["409"].is_object());
    assert!(doc["paths"]["/get_container_timeline"]["post"]["responses"]["404"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let xlsx = &doc["paths"]["/get_containers"]["post"]["responses"]["200"]["content"]["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"];
    assert!(
        xlsx.is_object(),
        "get_containers answers the spreadsheet too"
    );
}

#[test]
fn request_fields_and_rules_come_from_the_request_types() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let session = &schemas["GetSessionRequest"];
    assert_eq!(
        session["required"],
        json!(["username", "password", "captcha_api_key"])
    );
    assert_eq!(session["properties"]["password"]["format"], "password");
    let text = schemas.to_string();
    for field in [
        "session_id",
        "screenshot_label",
        "target_count",
        "infinite_scrolling",
        "target_container_id",
        "import_containers",
        "vm_email",
        "container_number",
        "equip_size",
        "seal_value",
        "idempotency_key",
        "target_appointment_id",
        "appointment_session_id",
        "keep_alive",
        "screens_label",
        "keep_browser_alive",
    ] {
        assert!(
            text.contains(&format!("\"{field}\"")) || text.contains(&format!("`{field}`")),
            "{field}"
        );
    }
    // Business requests: one flat object; session_id or the three credentials, in words.
    let containers = &schemas["GetContainersRequest"];
    assert_eq!(containers["type"], "object");
    assert!(containers["properties"]["screenshot_label"].is_object());
    assert!(containers["properties"]["password"].is_object());
    let said = containers["description"].as_str().unwrap();
    assert!(
        said.contains("`session_id`, or `username` + `password` + `captcha_api_key`"),
        "{said}"
    );
    assert_eq!(
        schemas["ContainerRequest"]["required"],
        json!(["container_id"])
    );
    let bulk = schemas["InfoBulkRequest"]["description"].as_str().unwrap();
    assert!(
        bulk.contains("`import_containers`, `export_containers`"),
        "{bulk}"
    );
    assert!(schemas["CheckAppointmentsRequest"]["properties"]["vm_email"].is_object());
    assert!(!doc.to_string().contains("#/components/schemas/SessionRef"));
}
