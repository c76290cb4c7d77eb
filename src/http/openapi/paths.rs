//! One documentation-only function per operation: the request type it reads, its success
//! answers, its tag and `operationId`. Error answers are added per operation by
//! [`super::errors`], from one table.

// Never called: utoipa reads their attributes.
#![allow(dead_code)]

use super::responses::*;
use crate::http::requests::*;

#[utoipa::path(get, path = "/health", operation_id = "health", tag = "service",
    responses(
        (status = 200, description = "The service is up", body = HealthResponse),
        (status = 503, description = "Draining: the service is shutting down", body = HealthResponse),
    ))]
fn health() {}

#[utoipa::path(get, path = "/ready", operation_id = "ready", tag = "service",
    responses(
        (status = 200, description = "Ready: not draining, Chrome launches, the data directory takes writes", body = ReadyResponse),
        (status = 503, description = "Not ready, with every reason (draining; the last Chrome launch failed; the data directory is not writable)", body = ReadyResponse),
    ))]
fn ready() {}

#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "service",
    responses((status = 200, description = "This document", body = Object)))]
fn openapi() {}

#[utoipa::path(post, path = "/get_session", operation_id = "get_session", tag = "sessions",
    request_body(content = GetSessionRequest, description = "E-Modal credentials"),
    responses((status = 200, description = "The live session for these credentials, or a new one (logs in: a captcha solve)", body = SessionResponse)))]
fn get_session() {}

#[utoipa::path(get, path = "/sessions", operation_id = "list_sessions", tag = "sessions",
    responses((status = 200, description = "This token's sessions", body = SessionsResponse)))]
fn list_sessions() {}

#[utoipa::path(get, path = "/sessions/{session_id}", operation_id = "session_detail", tag = "sessions",
    params(("session_id" = String, Path, description = "A session id from /get_session")),
    responses((status = 200, description = "The session's row of /sessions, and what it is doing now: the operation in progress and its step, queue length, last error, restart history, memory", body = SessionDetailResponse)))]
fn session_detail() {}

#[utoipa::path(get, path = "/sessions/{session_id}/screenshot", operation_id = "session_screenshot", tag = "sessions",
    params(("session_id" = String, Path, description = "A session id from /get_session")),
    responses((status = 200, description = "A PNG of what the session's Chrome shows now. It takes its turn between requests: behind one that runs longer than 5 s it answers 409 `session_occupied`.",
        content((Vec<u8> = "image/png")))))]
fn session_screenshot() {}

#[utoipa::path(delete, path = "/sessions/{session_id}", operation_id = "close_session", tag = "sessions",
    params(("session_id" = String, Path, description = "A session id from /get_session")),
    responses((status = 200, description = "Closed: its Chrome exited, its profile is removed", body = ClosedResponse)))]
fn close_session() {}

#[utoipa::path(post, path = "/get_containers", operation_id = "get_containers", tag = "containers",
    request_body(content = GetContainersRequest, description = "Which session, how far to scroll, and the answer's form"),
    responses((status = 200,
        description = "The grid's rows (18 columns): as JSON (`format: json`), as a file URL (`return_url`), or the spreadsheet itself (default)",
        headers(
            ("X-Session-Id" = String, description = "With the spreadsheet: the session that read it"),
            ("X-Total-Containers" = u64, description = "With the spreadsheet: its row count"),
        ),
        content(
            (ContainersResponse = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ))))]
fn get_containers() {}

#[utoipa::path(post, path = "/get_container_timeline", operation_id = "get_container_timeline", tag = "containers",
    request_body(content = ContainerRequest),
    responses((status = 200, description = "The container's timeline, newest first", body = TimelineResponse)))]
fn get_container_timeline() {}

#[utoipa::path(post, path = "/get_booking_number", operation_id = "get_booking_number", tag = "containers",
    request_body(content = ContainerRequest),
    responses((status = 200, description = "The container's booking number, or null with a message", body = BookingNumberResponse)))]
fn get_booking_number() {}

#[utoipa::path(post, path = "/get_info_bulk", operation_id = "get_info_bulk", tag = "containers",
    request_body(content = InfoBulkRequest),
    responses((status = 200, description = "Per container: timelines for imports, booking numbers for exports; one failure never fails the batch", body = InfoBulkResponse)))]
fn get_info_bulk() {}

#[utoipa::path(post, path = "/check_appointments", operation_id = "check_appointments", tag = "appointments",
    request_body(content = CheckAppointmentsRequest,
        description = "The wizard's fields (the move decides which item it asks for); never submits"),
    responses((status = 200, description = "The time slots the portal offers", body = CheckAppointmentsResponse)))]
fn check_appointments() {}

#[utoipa::path(post, path = "/make_appointment", operation_id = "make_appointment", tag = "appointments",
    request_body(content = MakeAppointmentRequest,
        description = "As check_appointments, plus appointment_time; submits once, never retried behind the client's back"),
    responses((status = 200, description = "Booked, and what showed it", body = MakeAppointmentResponse)))]
fn make_appointment() {}

#[utoipa::path(post, path = "/get_appointments", operation_id = "get_appointments", tag = "appointments",
    request_body(content = GetAppointmentsRequest),
    responses((status = 200, description = "My Appointments", body = AppointmentsResponse)))]
fn get_appointments() {}

#[utoipa::path(get, path = "/files/{name}", operation_id = "get_file", tag = "files",
    params(("name" = String, Path, description = "A file name from a `file_url`, `screenshots` or `debug_bundle_url` (128 random bits: the link is the capability)")),
    responses((status = 200, description = "The file", content(
        (Vec<u8> = "image/png"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (Vec<u8> = "application/zip"),
        (Object = "application/json"),
    ))))]
fn get_file() {}

#[utoipa::path(get, path = "/events", operation_id = "events", tag = "sessions",
    params(("session_id" = Option<String>, Query, description = "Only this session's events (one of this token's sessions; 404 otherwise)")),
    responses((status = 200,
        description = "Server-Sent Events, live: each supervision event the log has (`session_started`, `login_succeeded`, `session_restarting`, ...) for this token's sessions, and the service-wide ones (`shutdown_started`, ...), and `operation_progress` while a long operation runs (at most one a second per operation: `session_id`, `operation`, `step` with its counts, and `done`, `total`, `unit` when the step counts something; not in the log at info). Each is `event:<name>`, `data:<the log line's fields as one line of JSON, with level and timestamp>`, `id:<increasing number>`; `: keep-alive` every 15 s, `: lagged <n>` when a slow client skipped n events. Ends when the service drains.",
        content((String = "text/event-stream")))))]
fn events() {}

#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "service",
    responses((status = 200,
        description = "Prometheus text exposition (version 0.0.4): sessions by state, spare browsers, logins and restores by result, captcha tasks, solve time and estimated spend, restarts and drops by reason, expiries, evictions, refreshes, requests and latency per endpoint, 429s by cause, queue depth, Chrome memory, service RSS. No session id, username or container id is a label. Needs the API token unless `server.metrics_public`.",
        content((String = "text/plain")))))]
fn metrics() {}
