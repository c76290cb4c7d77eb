//! Request bodies, one type per endpoint: what each endpoint reads, under the names the
//! original API's clients send (aliases included), parsed as leniently as the original
//! did (see [`lenient`]). Unknown fields are ignored: the original's clients send extras.
//!
//! These types are pure data: checking values against the portal's rules (container number
//! shapes, ranges, which wizard fields a move needs) is the handlers' work. They also feed
//! `/openapi.json` (their doc comments become the field descriptions).

mod lenient;
#[cfg(test)]
mod tests;
mod wizard;

pub use wizard::WizardFields;

use super::Body;
use crate::error::ApiError;
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};

/// Deserialize an endpoint's request from the already parsed (size- and depth-limited) body.
///
/// A field of the wrong shape answers 400 naming it: `field 'target_count' must be a whole
/// number` with `invalid_fields: ["target_count"]` (the name as the client sent it, alias
/// or not). The message never carries the value, so a secret cannot leak through it.
pub fn parse<T: serde::de::DeserializeOwned>(body: &Body) -> Result<T, ApiError> {
    let value = Value::Object(body.0.clone());
    match serde_path_to_error::deserialize::<_, T>(&value) {
        Ok(parsed) => Ok(parsed),
        Err(e) => {
            // The path is lost inside `#[serde(flatten)]` (serde buffers the fields and
            // deserializes them again without the tracker), so fall back to trying each
            // field alone: every field is optional, so only a bad one fails by itself.
            let name = top_field(e.path())
                .or_else(|| bad_field::<T>(&body.0))
                .unwrap_or_default();
            let message = e.into_inner().to_string();
            if let Some(field) = duplicate(&message) {
                return Err(ApiError::bad_request(format!(
                    "field '{field}' is sent twice (under its own name and an alias)"
                ))
                .with("invalid_fields", json!([field])));
            }
            Err(invalid(&name, &message))
        }
    }
}

/// The body's first-level key a path starts with, if it names one.
fn top_field(path: &serde_path_to_error::Path) -> Option<String> {
    match path.iter().next()? {
        serde_path_to_error::Segment::Map { key } => Some(key.clone()),
        _ => None,
    }
}

fn bad_field<T: serde::de::DeserializeOwned>(body: &Map<String, Value>) -> Option<String> {
    body.iter()
        .find(|(k, v)| {
            let one = Value::Object(Map::from_iter([((*k).clone(), (*v).clone())]));
            T::deserialize(&one).is_err()
        })
        .map(|(k, _)| k.clone())
}

/// The field serde names in "duplicate field `container_id`": sent under its name and an alias.
fn duplicate(message: &str) -> Option<&str> {
    message.strip_prefix("duplicate field `")?.strip_suffix('`')
}

/// 400 for one bad field. Only the lenient parsers' own phrases ("must be ...") are passed
/// on: serde's generic messages quote the value.
fn invalid(name: &str, message: &str) -> ApiError {
    let why = if message.starts_with("must ") && !is_secret(name) {
        message
    } else if is_secret(name) {
        "must be a string"
    } else {
        "has the wrong type"
    };
    if name.is_empty() {
        return ApiError::bad_request(format!("a field {why}"));
    }
    ApiError::bad_request(format!("field '{name}' {why}")).with("invalid_fields", json!([name]))
}

fn is_secret(name: &str) -> bool {
    matches!(name, "password" | "captcha_api_key")
}

/// E-Modal credentials. With them a business endpoint gets or creates the persistent
/// session for this account, exactly as `/get_session` does.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct Credentials {
    /// E-Modal user name. Numbers are accepted as their text.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>, example = "demo")]
    pub username: Option<String>,
    /// E-Modal password. Never logged, never echoed.
    #[serde(default, deserialize_with = "lenient::secret")]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Secret>,
    /// 2captcha API key used for the login's captcha. Never logged, never echoed.
    #[serde(default, deserialize_with = "lenient::secret")]
    #[schema(value_type = Option<String>, format = Password)]
    pub captcha_api_key: Option<Secret>,
}

impl Credentials {
    /// Whether any of the three was sent (all three are then required).
    pub fn any(&self) -> bool {
        self.username.is_some() || self.password.is_some() || self.captcha_api_key.is_some()
    }
}

/// Which session a business request uses: `session_id`, or the credentials.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SessionRef {
    /// A session id from `/get_session`. An unknown or expired id answers 400 with
    /// `error_code: "session_not_found"` (log in again), unless credentials are sent too.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>)]
    pub session_id: Option<String>,
    #[serde(flatten)]
    pub credentials: Credentials,
    /// Take a labelled screenshot of each step and answer their URLs in `screenshots`.
    /// Also accepts "true"/"false"/"yes"/"no".
    #[serde(default, deserialize_with = "lenient::boolean")]
    #[schema(value_type = Option<bool>)]
    pub debug: Option<bool>,
    /// Label written on debug screenshots instead of the user name. Alias: `screens_label`.
    #[serde(default, alias = "screens_label", deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>)]
    pub screenshot_label: Option<String>,
}

/// `POST /get_session`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GetSessionRequest {
    /// E-Modal user name. Numbers are accepted as their text.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = String, required = true, example = "demo")]
    pub username: Option<String>,
    /// E-Modal password. Never logged, never echoed.
    #[serde(default, deserialize_with = "lenient::secret")]
    #[schema(value_type = String, required = true, format = Password)]
    pub password: Option<Secret>,
    /// 2captcha API key for the login's captcha. Never logged, never echoed.
    #[serde(default, deserialize_with = "lenient::secret")]
    #[schema(value_type = String, required = true, format = Password)]
    pub captcha_api_key: Option<Secret>,
    /// Keep the session until it is closed (default true); false: it expires after
    /// `sessions.session_timeout` unused. Alias: `keep_browser_alive`. Also accepts
    /// "true"/"false"/"yes"/"no".
    #[serde(
        default,
        alias = "keep_browser_alive",
        deserialize_with = "lenient::boolean"
    )]
    #[schema(value_type = Option<bool>)]
    pub keep_alive: Option<bool>,
}

/// `POST /get_containers`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GetContainersRequest {
    #[serde(flatten)]
    pub session: SessionRef,
    /// `json` answers the rows; `xlsx` (default) the spreadsheet, or its URL with `return_url`.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>, example = "json")]
    pub format: Option<String>,
    /// Save the spreadsheet and answer its `file_url` instead of the file.
    /// Also accepts "true"/"false"/"yes"/"no".
    #[serde(default, deserialize_with = "lenient::boolean")]
    #[schema(value_type = Option<bool>)]
    pub return_url: Option<bool>,
    /// Scroll until this container's row is loaded (wins over `target_count`).
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>, example = "MSDU5772413")]
    pub target_container_id: Option<String>,
    /// Scroll until at least this many rows are loaded (wins over `infinite_scrolling`).
    /// A numeric string is accepted too.
    #[serde(default, deserialize_with = "lenient::whole")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 100000, example = 50)]
    pub target_count: Option<u64>,
    /// Scroll to the end of the grid (default true); false reads the first page only.
    /// Also accepts "true"/"false"/"yes"/"no".
    #[serde(default, deserialize_with = "lenient::boolean")]
    #[schema(value_type = Option<bool>)]
    pub infinite_scrolling: Option<bool>,
}

/// `POST /get_container_timeline` and `POST /get_booking_number`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ContainerRequest {
    #[serde(flatten)]
    pub session: SessionRef,
    /// The container number. Alias: `container`.
    #[serde(default, alias = "container", deserialize_with = "lenient::string")]
    #[schema(value_type = String, required = true, example = "MSDU5772413")]
    pub container_id: Option<String>,
}

/// `POST /get_info_bulk`: at least one of the two lists.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct InfoBulkRequest {
    #[serde(flatten)]
    pub session: SessionRef,
    /// Import containers: each answers its timeline and pregate status. A list, or one
    /// comma-separated string.
    #[serde(default, deserialize_with = "lenient::string_list")]
    #[schema(schema_with = string_or_list)]
    pub import_containers: Option<Vec<String>>,
    /// Export containers: each answers its booking number. A list, or one comma-separated
    /// string.
    #[serde(default, deserialize_with = "lenient::string_list")]
    #[schema(schema_with = string_or_list)]
    pub export_containers: Option<Vec<String>>,
}

/// `POST /check_appointments`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CheckAppointmentsRequest {
    #[serde(flatten)]
    pub session: SessionRef,
    #[serde(flatten)]
    pub wizard: WizardFields,
    /// Continue a draft: the fields sent earlier under this id, overlaid by this request's.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>)]
    pub appointment_session_id: Option<String>,
}

/// `POST /make_appointment`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MakeAppointmentRequest {
    #[serde(flatten)]
    pub session: SessionRef,
    #[serde(flatten)]
    pub wizard: WizardFields,
    /// Continue a draft: the fields sent earlier under this id, overlaid by this request's.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>)]
    pub appointment_session_id: Option<String>,
    /// Any string up to 200 characters: a repeat with the same key answers the first
    /// booking's result instead of booking again.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub idempotency_key: Option<String>,
}

/// `POST /get_appointments`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GetAppointmentsRequest {
    #[serde(flatten)]
    pub session: SessionRef,
    /// Also save the list as a spreadsheet and answer its `file_url`.
    /// Also accepts "true"/"false"/"yes"/"no".
    #[serde(default, deserialize_with = "lenient::boolean")]
    #[schema(value_type = Option<bool>)]
    pub return_url: Option<bool>,
    /// Stop loading once at least this many appointments are loaded. A numeric string is
    /// accepted too.
    #[serde(default, deserialize_with = "lenient::whole")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 100000)]
    pub target_count: Option<u64>,
    /// Stop loading once a row mentioning this id (appointment or container number) is loaded.
    #[serde(default, deserialize_with = "lenient::string")]
    #[schema(value_type = Option<String>)]
    pub target_appointment_id: Option<String>,
    /// Load every appointment (default true); false reads the first page only.
    /// Also accepts "true"/"false"/"yes"/"no".
    #[serde(default, deserialize_with = "lenient::boolean")]
    #[schema(value_type = Option<bool>)]
    pub infinite_scrolling: Option<bool>,
}

/// Schema of a field that takes one string (comma-separated items) or a list of strings.
pub(super) fn string_or_list() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "one string (items separated by commas) or a list of strings",
        ))
}
