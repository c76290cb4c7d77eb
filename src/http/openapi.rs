//! `GET /openapi.json`, generated with utoipa from the request types the handlers parse
//! ([`super::requests`]) and the answer shapes in [`responses`]; `scripts/fuzz.sh` holds the
//! service to it with schemathesis.

mod errors;
mod paths;
mod responses;

use super::requests::*;
use errors::ErrorResponses;
use responses::*;
use serde_json::{Map, Value, json};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi};
use warp::{Filter, Rejection};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "emodal-api",
        description = "Persistent, supervised E-Modal portal sessions. Every business endpoint \
            takes `session_id`, or `username` + `password` + `captcha_api_key` (which get or \
            create the persistent session as `/get_session` does). Unknown fields are ignored; \
            numbers are accepted where text is expected, numeric strings where whole numbers \
            are, and \"true\"/\"false\"/\"yes\"/\"no\" where booleans are. With \
            `server.api_tokens` set, every endpoint but `/health` and `/openapi.json` needs \
            `Authorization: Bearer <token>`."
    ),
    paths(
        paths::health,
        paths::openapi,
        paths::get_session,
        paths::list_sessions,
        paths::close_session,
        paths::get_containers,
        paths::get_container_timeline,
        paths::get_booking_number,
        paths::get_info_bulk,
        paths::check_appointments,
        paths::make_appointment,
        paths::get_appointments,
        paths::get_file,
        paths::events,
        paths::metrics,
        paths::ready,
        paths::session_detail,
        paths::session_screenshot,
    ),
    components(schemas(ErrorBody, WizardFields, BusinessFields, FileFields)),
    modifiers(&Bearer, &SessionOrCredentials, &ErrorResponses),
    tags(
        (name = "sessions", description = "Log in once, reuse the session"),
        (name = "containers", description = "The containers grid and each container's details"),
        (name = "appointments", description = "The appointment wizard and My Appointments"),
        (name = "files", description = "Sheets, screenshots and bundles the service wrote"),
        (name = "service", description = "Health and this document"),
    )
)]
struct ApiDoc;

/// The document, version from Cargo.toml.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

pub fn routes() -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    // Serialised once: warp clones filters freely.
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

/// The bearer scheme; operations accept it or nothing (an open API has no tokens).
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Business requests need `session_id` or all three credentials. Their `#[serde(flatten)]`
/// parts (nested `allOf`s of references) are inlined into one flat object per request, as
/// clients send it, and that rule across fields is said in words: as an `anyOf` of
/// `required` sets it crashed schemathesis' coverage phase (a CPython 3.11 AST error inside
/// Hypothesis, now and then), and the server answers 400 naming what is missing anyway.
struct SessionOrCredentials;

/// The business request schemas, and the fields at least one of which each also needs.
const BUSINESS_REQUESTS: &[(&str, &[&str])] = &[
    ("GetContainersRequest", &[]),
    ("ContainerRequest", &[]),
    (
        "InfoBulkRequest",
        &["import_containers", "export_containers"],
    ),
    ("CheckAppointmentsRequest", &[]),
    ("MakeAppointmentRequest", &[]),
    ("GetAppointmentsRequest", &[]),
];

/// Only ever inlined (flattened into the requests above).
const INLINED: &[&str] = &["Credentials", "SessionRef"];

impl Modify for SessionOrCredentials {
    fn modify(&self, doc: &mut Document) {
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        let all: Map<String, Value> = components
            .schemas
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), serde_json::to_value(v).ok()?)))
            .collect();
        for (name, one_of) in BUSINESS_REQUESTS {
            let Some(schema) = all.get(*name) else {
                continue;
            };
            let (mut properties, mut required) = (Map::new(), Vec::new());
            collect(&all, schema, &mut properties, &mut required);
            let mut rule =
                String::from("Send `session_id`, or `username` + `password` + `captcha_api_key`");
            if !one_of.is_empty() {
                rule += &format!(", and at least one of `{}`", one_of.join("`, `"));
            }
            let description = format!(
                "{} {rule}.",
                schema["description"].as_str().unwrap_or_default()
            );
            let mut flat =
                json!({"type": "object", "description": description, "properties": properties});
            if !required.is_empty() {
                flat["required"] = json!(required);
            }
            match serde_json::from_value::<RefOr<Schema>>(flat) {
                Ok(flat) => {
                    components.schemas.insert(name.to_string(), flat);
                }
                Err(e) => {
                    tracing::error!(schema = name, error = %e, "request schema not flattened")
                }
            }
        }
        for name in INLINED {
            components.schemas.remove(*name);
        }
    }
}

/// Gather the properties and required names of a schema built of `allOf`s and references.
fn collect(
    all: &Map<String, Value>,
    schema: &Value,
    properties: &mut Map<String, Value>,
    required: &mut Vec<Value>,
) {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap_or_default();
        if let Some(s) = all.get(name) {
            collect(all, s, properties, required);
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        collect(all, part, properties, required);
    }
    if let Some(p) = schema["properties"].as_object() {
        properties.extend(p.clone());
    }
    required.extend(schema["required"].as_array().into_iter().flatten().cloned());
}

#[cfg(test)]
mod tests;
