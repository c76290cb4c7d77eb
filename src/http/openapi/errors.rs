//! Which errors each operation answers, and why: one table, so a status sent in a new place
//! is one line here. Every error body is [`super::responses::ErrorBody`]; 429 and 503 carry
//! `Retry-After`.

use utoipa::Modify;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

/// Statuses any business endpoint (session_id or credentials) answers.
const BUSINESS: &[u16] = &[400, 401, 402, 404, 413, 429, 500, 502, 503, 504];
/// The same for `make_appointment`, plus a reused idempotency key.
const BOOKING: &[u16] = &[400, 401, 402, 404, 409, 413, 429, 500, 502, 503, 504];

/// Error statuses by `operationId`.
const BY_OPERATION: &[(&str, &[u16])] = &[
    ("health", &[]),
    ("ready", &[]),
    ("openapi", &[]),
    (
        "get_session",
        &[400, 401, 402, 413, 429, 500, 502, 503, 504],
    ),
    ("list_sessions", &[401, 503]),
    ("close_session", &[401, 404, 503]),
    ("get_file", &[400, 401, 404]),
    ("get_containers", BUSINESS),
    ("get_container_timeline", BUSINESS),
    ("get_booking_number", BUSINESS),
    ("get_info_bulk", BUSINESS),
    ("check_appointments", BUSINESS),
    ("make_appointment", BOOKING),
    ("get_appointments", BUSINESS),
    ("events", &[400, 401, 404, 503]),
    ("session_detail", &[401, 404, 503]),
    ("session_screenshot", &[401, 404, 409, 503]),
    ("metrics", &[401]),
];

/// Why a status is answered; the same words for every operation that answers it, with the
/// operation-specific cases named.
fn why(status: u16, operation: &str) -> &'static str {
    match (status, operation) {
        (400, "get_file") => "Not a file name the service could have written",
        (400, "get_session") => {
            "Missing or invalid fields (named in `missing_fields` / `invalid_fields`)"
        }
        (400, "check_appointments" | "make_appointment") => {
            "Missing or invalid fields (`missing_fields` / `invalid_fields`); a wizard phase \
             that lacks fields also answers `appointment_session_id`, `current_phase` and \
             `phase_name` (resend the id with those fields); the portal refused a value; or \
             `error_code: session_not_found`: the session_id is unknown or expired (log in again)"
        }
        (400, _) => {
            "Missing or invalid fields (`missing_fields` / `invalid_fields`), the portal \
             refused a value, or `error_code: session_not_found`: the session_id is unknown or \
             expired (log in again)"
        }
        (401, "get_session") => {
            "Missing or invalid API token, or E-Modal rejected the credentials (`details`; \
             a rejected password is refused for a while, with `Retry-After`)"
        }
        (401, _) => "Missing or invalid API token, or E-Modal rejected the credentials",
        (402, _) => "The captcha service refused the key (wrong key, no balance)",
        (404, "close_session" | "events" | "session_detail" | "session_screenshot") => {
            "No such session for this token"
        }
        (409, "session_screenshot") => {
            "The session is busy with a request for more than 5 s (`session_occupied`, \
             `Retry-After`): try again when it is done"
        }
        (404, "get_file") => "No such file (or it expired, `files.retention`)",
        (404, "check_appointments" | "make_appointment") => {
            "The portal has no such container or booking, or the appointment_session_id is \
             unknown or expired"
        }
        (404, _) => "The portal has no such container or booking",
        (409, _) => "This idempotency_key was already used for a different booking",
        (413, _) => "Body larger than 256 KiB",
        (429, _) => {
            "At capacity, too many logins for these credentials, this session's queue is full, \
             or too many appointment drafts: retry after `Retry-After` seconds"
        }
        (500, _) => "The service's configuration or the service itself failed",
        (502, _) => {
            "The portal or the captcha service answered something unexpected (the step and \
             what was expected are named; `debug_bundle_url` shows the page)"
        }
        (503, _) => {
            "The session is being restarted (`retryable: true`) or the service is shutting \
             down: retry after `Retry-After` seconds"
        }
        (504, _) => "A portal step or the login did not finish in time",
        _ => "Error",
    }
}

pub struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, doc: &mut OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let operations = [item.get.as_mut(), item.post.as_mut(), item.delete.as_mut()];
            for operation in operations.into_iter().flatten() {
                let id = operation.operation_id.clone().unwrap_or_default();
                let statuses = BY_OPERATION
                    .iter()
                    .find(|(name, _)| *name == id)
                    .map_or(BUSINESS, |(_, s)| *s);
                for &status in statuses {
                    operation
                        .responses
                        .responses
                        .insert(status.to_string(), response(status, &id).into());
                }
                // Every authenticated operation takes a bearer token, or none on an open API.
                if !matches!(id.as_str(), "health" | "ready" | "openapi") {
                    operation.security = Some(vec![
                        utoipa::openapi::security::SecurityRequirement::new(
                            "bearer",
                            Vec::<String>::new(),
                        ),
                        utoipa::openapi::security::SecurityRequirement::default(),
                    ]);
                }
            }
        }
    }
}

fn response(status: u16, operation: &str) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new()
        .description(why(status, operation))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        );
    // 429 and 503 always carry it; a 401 does when a rejected password is held back.
    if matches!(status, 401 | 429 | 503) {
        let when = if status == 401 {
            "Seconds until these credentials may be tried again (a recently rejected password)"
        } else {
            "Seconds to wait before retrying"
        };
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some(when))
                .build(),
        );
    }
    response.build()
}
