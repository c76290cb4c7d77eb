//! The shapes the handlers answer, written down for `/openapi.json` only: the handlers build
//! their JSON themselves, and `scripts/fuzz.sh` checks every answer against these.
//!
//! Fields a response does not always carry are `Option`s (absent or null); required ones are
//! sent on every answer of that kind. Unlisted extra fields are allowed.

// Never built: these types exist to be described.
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Every error: `{"success": false, "error": ...}` and what the client can act on.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Always false.
    #[schema(value_type = bool, example = false)]
    pub success: bool,
    /// What went wrong, in words (never a secret's value).
    pub error: String,
    /// A stable name for the kind of error, e.g. `session_not_found` (unknown or expired
    /// session id: log in again), `bad_credentials`, `at_capacity`, `session_busy`,
    /// `session_restarting`, `portal_unavailable` (the portal is down; the session waits for
    /// it), `timeout`, `portal_error`, `idempotency_key_reused`. The README lists them all.
    pub error_code: Option<String>,
    /// Fields the request must add (400).
    pub missing_fields: Option<Vec<String>>,
    /// Fields the request sent in a shape or value that is refused (400).
    pub invalid_fields: Option<Vec<String>>,
    /// The draft collecting the wizard's fields: send it back with the missing ones (400 from
    /// `check_appointments` / `make_appointment`).
    pub appointment_session_id: Option<String>,
    /// The wizard phase that lacks fields: 1, 2 or 3.
    pub current_phase: Option<u32>,
    /// That phase's name.
    pub phase_name: Option<String>,
    /// True when the same request may succeed once retried (a session being restarted).
    pub retryable: Option<bool>,
    /// A JSON file under `/files/` with what the page showed when a portal step failed.
    pub debug_bundle_url: Option<String>,
    /// More about a refused login (401 from `/get_session`).
    pub details: Option<Value>,
}

/// The fields every business answer carries.
#[derive(Serialize, ToSchema)]
pub struct BusinessFields {
    /// Always true.
    #[schema(value_type = bool, example = true)]
    pub success: bool,
    /// The session that ran the request (send it next time).
    pub session_id: String,
    /// True when this request logged in (credentials sent, no live session).
    pub is_new_session: bool,
    /// With `debug`: URLs of labelled PNG screenshots of each step.
    pub screenshots: Option<Vec<String>>,
    /// With `debug`: a ZIP of this request's screenshots.
    pub debug_bundle_url: Option<String>,
}

/// `GET /health`.
#[derive(Serialize, ToSchema)]
pub struct HealthResponse {
    /// `healthy`, or `draining` (503) while the service shuts down.
    #[schema(example = "healthy")]
    pub status: String,
    pub service: String,
    pub version: String,
    pub active_sessions: u64,
    pub persistent_sessions: u64,
    pub max_sessions: u64,
    /// Chromes launched ahead of need (`chrome.spares`), waiting for the next session or
    /// restart; they count towards memory.
    pub spare_browsers: u64,
    /// `active/max`, as the original answered it.
    #[schema(example = "1/10")]
    pub session_capacity: Option<String>,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// `POST /get_session`.
#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    #[schema(value_type = bool, example = true)]
    pub success: bool,
    pub session_id: String,
    /// True when this call logged in; false when a live session for these credentials existed.
    pub is_new: bool,
    pub username: String,
    pub keep_alive: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When an unused regular session expires; null for a kept-alive one.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    pub message: String,
}

/// `GET /ready`.
#[derive(Serialize, ToSchema)]
pub struct ReadyResponse {
    pub ready: bool,
    /// Why not, when not ready.
    pub reasons: Option<Vec<String>>,
    /// Cluster mode only (absent on a single node).
    pub cluster: Option<ReadyCluster>,
}

/// `GET /ready`'s `cluster`: how this node sees the cluster (not ready while NATS is not
/// connected: no new session could be registered).
#[derive(Serialize, ToSchema)]
pub struct ReadyCluster {
    /// This node's `cluster.node_id` (configured, or generated and kept in the data dir).
    pub node_id: String,
    /// Connected to NATS now, with the JetStream buckets open.
    pub connected: bool,
    /// The node ids whose heartbeats this node sees (itself included), sorted.
    pub live_nodes: Vec<String>,
}

/// `GET /sessions`.
#[derive(Serialize, ToSchema)]
pub struct SessionsResponse {
    #[schema(value_type = bool, example = true)]
    pub success: bool,
    pub active_sessions: u64,
    pub sessions: Vec<SessionRow>,
}

/// One session of `GET /sessions`.
#[derive(Serialize, ToSchema)]
pub struct SessionRow {
    pub session_id: String,
    pub username: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used: String,
    pub keep_alive: bool,
    pub state: SessionState,
    #[schema(format = DateTime)]
    pub last_refresh: Option<String>,
    pub restarts: u32,
    pub current_url: Option<String>,
    pub busy: bool,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// 2captcha tasks its logins submitted, across its restarts (a session restored at
    /// start counts from then).
    pub captcha_tasks: u32,
    /// Their estimated cost in USD: solved tasks x `captcha.price_per_1000` / 1000, rounded
    /// to 4 decimals.
    #[schema(example = 0.00299)]
    pub captcha_spend_usd: f64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Starting,
    Ready,
    Restarting,
    /// Logged in, waiting for a portal that is down (requests answer 503).
    Waiting,
    /// Coming back from its snapshot (after a Chrome crash or a service restart); requests
    /// wait for it.
    Restoring,
    /// Unused for `sessions.hibernate_after`: no Chrome, its portal login kept alive over
    /// plain HTTP; the next request wakes it (no captcha).
    Hibernating,
    Closing,
}

/// `GET /sessions/{session_id}`.
#[derive(Serialize, ToSchema)]
pub struct SessionDetailResponse {
    #[schema(value_type = bool, example = true)]
    pub success: bool,
    pub session: SessionDetail,
}

/// One session in detail: its row of `GET /sessions` and what it is doing now.
#[derive(Serialize, ToSchema)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub row: SessionRow,
    /// Requests queued or running on it.
    pub queue_length: u64,
    pub operation: Option<OperationNow>,
    pub last_error: Option<Stamped>,
    /// Its latest restarts (at most 20), oldest first.
    pub restart_history: Vec<Stamped>,
    /// Summed PSS of its Chrome's process tree, in bytes.
    pub memory_bytes: Option<u64>,
}

/// The operation running on a session.
#[derive(Serialize, ToSchema)]
pub struct OperationNow {
    #[schema(example = "get containers")]
    pub name: String,
    /// The driver's current step, with its counts when it counts something.
    #[schema(example = "scrolled 75 of 120 rows")]
    pub step: String,
    /// How far the step is, when it counts something (rows scrolled, wizard steps).
    pub progress: Option<StepProgress>,
    #[schema(format = DateTime)]
    pub started_at: String,
    pub elapsed_ms: u64,
}

/// `done` of `total` `unit`s.
#[derive(Serialize, ToSchema)]
pub struct StepProgress {
    #[schema(example = 75)]
    pub done: u64,
    /// `null` when the total is not known (scrolling to the end of the grid).
    #[schema(example = 120)]
    pub total: Option<u64>,
    #[schema(example = "rows")]
    pub unit: String,
}

/// Something that happened to a session, and when.
#[derive(Serialize, ToSchema)]
pub struct Stamped {
    #[schema(format = DateTime)]
    pub at: String,
    pub message: String,
}

/// `DELETE /sessions/{session_id}`.
#[derive(Serialize, ToSchema)]
pub struct ClosedResponse {
    #[schema(value_type = bool, example = true)]
    pub success: bool,
    pub message: String,
}

/// A spreadsheet the service saved (`return_url`).
#[derive(Serialize, ToSchema)]
pub struct FileFields {
    /// Unguessable link to the file under `/files/`.
    pub file_url: Option<String>,
    pub file_name: Option<String>,
    /// Bytes.
    pub file_size: Option<u64>,
}

/// `POST /get_containers` with `format: "json"` or `return_url`.
#[derive(Serialize, ToSchema)]
pub struct ContainersResponse {
    #[serde(flatten)]
    pub business: BusinessFields,
    #[serde(flatten)]
    pub file: FileFields,
    pub total_containers: u64,
    /// The original's name for `total_containers`.
    pub containers_count: Option<u64>,
    pub scroll_cycles: u64,
    /// One object per row, keyed by the grid's column names (absent with `return_url`).
    pub containers: Option<Vec<BTreeMap<String, String>>>,
    pub target_container_id: Option<String>,
    pub target_found: Option<bool>,
    /// The target container, when it was found (the original's name).
    pub found_target_container: Option<String>,
    /// Why scrolling stopped, with a target.
    pub stopped_reason: Option<String>,
}

/// One milestone of a container's timeline.
#[derive(Serialize, ToSchema)]
pub struct Milestone {
    #[schema(example = "Pregate")]
    pub milestone: String,
    pub date: String,
    pub status: MilestoneStatus,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    Completed,
    Pending,
}

/// `POST /get_container_timeline`.
#[derive(Serialize, ToSchema)]
pub struct TimelineResponse {
    #[serde(flatten)]
    pub business: BusinessFields,
    pub container_id: String,
    /// The container passed the terminal's pregate.
    pub passed_pregate: bool,
    /// Newest first.
    pub timeline: Vec<Milestone>,
    pub milestone_count: u64,
    pub detection_method: String,
}

/// `POST /get_booking_number`.
#[derive(Serialize, ToSchema)]
pub struct BookingNumberResponse {
    #[serde(flatten)]
    pub business: BusinessFields,
    pub container_id: String,
    /// Null when the container has none (imports).
    pub booking_number: Option<String>,
    pub message: String,
}

/// `POST /get_info_bulk`.
#[derive(Serialize, ToSchema)]
pub struct InfoBulkResponse {
    #[serde(flatten)]
    pub business: BusinessFields,
    pub results: BulkResults,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResults {
    pub import_results: Vec<ImportResult>,
    pub export_results: Vec<ExportResult>,
    pub summary: BulkSummary,
}

/// One import container: its timeline, or why it could not be read.
#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub container_id: String,
    pub success: bool,
    pub error: Option<String>,
    pub passed_pregate: Option<bool>,
    /// The original's name for `passed_pregate` (its clients pick the move type by it).
    pub pregate_status: Option<bool>,
    /// The pregate milestone in words.
    pub pregate_details: Option<String>,
    pub timeline: Option<Vec<Milestone>>,
    pub milestone_count: Option<u64>,
    pub detection_method: Option<String>,
}

/// One export container: its booking number, or why it could not be read.
#[derive(Serialize, ToSchema)]
pub struct ExportResult {
    pub container_id: String,
    pub success: bool,
    pub error: Option<String>,
    pub booking_number: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkSummary {
    pub total_import: u64,
    pub total_export: u64,
    pub import_success: u64,
    pub import_failed: u64,
    pub export_success: u64,
    pub export_failed: u64,
}

/// `POST /check_appointments`.
#[derive(Serialize, ToSchema)]
pub struct CheckAppointmentsResponse {
    #[serde(flatten)]
    pub business: BusinessFields,
    /// The slots the portal offers; `[]` for a full terminal (then `message` says why).
    pub available_times: Vec<String>,
    pub count: u64,
    /// The plate the wizard used.
    pub truck_plate: Option<String>,
    /// Send with `make_appointment` (and `appointment_time`) to book from this draft.
    pub appointment_session_id: String,
    /// `import` or `export`.
    pub container_type: Option<String>,
    /// The wizard's fields as they were used.
    pub phase_data: Option<BTreeMap<String, Value>>,
    /// The wizard reached its time step.
    pub calendar_found: Option<bool>,
    /// With `debug`, imports: the last screenshot (the time list).
    pub dropdown_screenshot_url: Option<String>,
    /// With `debug`, exports: the last screenshot (the calendar).
    pub calendar_screenshot_url: Option<String>,
    pub message: Option<String>,
}

/// `POST /make_appointment`.
#[derive(Serialize, ToSchema)]
pub struct MakeAppointmentResponse {
    #[serde(flatten)]
    pub business: BusinessFields,
    #[schema(value_type = bool, example = true)]
    pub appointment_confirmed: bool,
    /// Null when the portal showed none.
    pub confirmation_number: Option<String>,
    /// What showed the booking: `confirmation`, `snackbar` or `my_appointments`.
    #[schema(example = "confirmation")]
    pub verified_by: String,
    pub appointment_time: String,
    /// The request's container, terminal, move type, trucking company, plate and time, then
    /// what the portal showed under its own labels.
    pub appointment_details: BTreeMap<String, Value>,
    /// True when this answer repeats an earlier booking with the same `idempotency_key`.
    pub idempotent_replay: Option<bool>,
}

/// `POST /get_appointments`.
#[derive(Serialize, ToSchema)]
pub struct AppointmentsResponse {
    #[serde(flatten)]
    pub business: BusinessFields,
    #[serde(flatten)]
    pub file: FileFields,
    /// One object per row, keyed by the page's column names.
    pub appointments: Vec<BTreeMap<String, String>>,
    pub total_appointments: u64,
    pub selected_count: u64,
    /// With `target_appointment_id`: a row mentions it.
    pub target_found: Option<bool>,
}
