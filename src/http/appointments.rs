//! Appointment endpoints: `check_appointments` (steps 1-3, never submits),
//! `make_appointment` (submits; never retried automatically; idempotency keys) and
//! `get_appointments` (My Appointments).
//!
//! A request that lacks a step's fields answers 400 with an `appointment_session_id`, the
//! `current_phase` and the missing names; sending that id again with just those fields
//! resumes where it stopped.

use super::operation::resolve;
use super::{Body, Ctx, business, json_reply, respond};
use crate::error::ApiError;
use crate::portal::{self, ContainerType, Visit};
use serde_json::{Map, Value, json};
use warp::http::StatusCode;
use warp::{Filter, Rejection};

/// The phases of the portal's wizard, as clients see them.
const PHASES: [&str; 3] = [
    "Add required data",
    "Add move details",
    "Choose appointment time",
];
/// Plates that mean "the first plate the portal offers" (the original's clients send ABC123).
const ANY_PLATE: [&str; 2] = ["", "ABC123"];

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let check = business(&ctx, "check_appointments")
        .then(check_appointments)
        .map(respond);
    let make = business(&ctx, "make_appointment")
        .then(make_appointment)
        .map(respond);
    let list = business(&ctx, "get_appointments")
        .then(get_appointments)
        .map(respond);
    check.or(make).unify().or(list).unify()
}

/// The draft's fields overlaid by this request's, and the draft id if one was sent.
fn merged(ctx: &Ctx, scope: &str, body: Body) -> Result<(Body, Option<String>), ApiError> {
    let Some(id) = body.string("appointment_session_id")? else {
        return Ok((body, None));
    };
    let mut fields = ctx.appointments.draft(scope, &id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("appointment session not found or expired: {id}"),
        )
    })?;
    for (k, v) in body.0 {
        if !v.is_null() {
            fields.insert(k, v);
        }
    }
    Ok((Body(fields), Some(id)))
}

/// Build the wizard input, or the 400 that names the first incomplete phase.
fn visit(
    ctx: &Ctx,
    scope: &str,
    body: &Body,
    draft: Option<String>,
    need_time: bool,
) -> Result<(Visit, Option<String>), ApiError> {
    let container_type = match body
        .string("container_type")?
        .map(|s| s.to_lowercase())
        .as_deref()
    {
        None | Some("import") => ContainerType::Import,
        Some("export") => ContainerType::Export,
        Some(_) => {
            return Err(
                ApiError::bad_request("container_type must be \"import\" or \"export\"")
                    .with("invalid_fields", json!(["container_type"])),
            );
        }
    };
    let container_ids = list(body, "container_id")?;
    let mut phase1 = Vec::new();
    for field in ["trucking_company", "terminal", "move_type"] {
        if body.string(field)?.is_none() {
            phase1.push(field);
        }
    }
    // Which item the portal asks for depends on the move and terminal (container numbers,
    // a booking number, or Line and Equip Size for some empty moves): any of them will do
    // here, and the wizard says which one it needed.
    let empty_move = body.string("line")?.is_some() && body.string("equip_size")?.is_some();
    let has_item =
        !container_ids.is_empty() || body.string("booking_number")?.is_some() || empty_move;
    if !has_item {
        phase1.push(match container_type {
            ContainerType::Import => "container_id",
            ContainerType::Export => "booking_number",
        });
    }
    let mut phase2 = Vec::new();
    if container_type == ContainerType::Export && body.string("unit_number")?.is_none() {
        phase2.push("unit_number");
    }
    let phase3: Vec<&str> = if need_time && body.string("appointment_time")?.is_none() {
        vec!["appointment_time"]
    } else {
        Vec::new()
    };
    for (phase, missing) in [(1, &phase1), (2, &phase2), (3, &phase3)] {
        if !missing.is_empty() {
            let id = ctx.appointments.save_draft(scope, draft, body.0.clone());
            return Err(ApiError::bad_request(format!(
                "phase {phase} ({}) needs: {}; send them with appointment_session_id to continue",
                PHASES[phase - 1],
                missing.join(", ")
            ))
            .with("missing_fields", json!(missing))
            .with("appointment_session_id", json!(id))
            .with("current_phase", json!(phase))
            .with("phase_name", json!(PHASES[phase - 1])));
        }
    }
    let plate = body
        .string("truck_plate")?
        .filter(|p| !ANY_PLATE.contains(&p.to_uppercase().as_str()));
    let quantity = match body.0.get("quantity") {
        Some(v) if !v.is_null() => v.as_u64().filter(|q| (1..=99).contains(q)).ok_or_else(|| {
            ApiError::bad_request("quantity must be a number from 1 to 99")
                .with("invalid_fields", json!(["quantity"]))
        })? as u32,
        _ => 1,
    };
    let visit = Visit {
        container_type,
        trucking_company: body.string("trucking_company")?.unwrap_or_default(),
        terminal: body.string("terminal")?.unwrap_or_default(),
        move_type: body.string("move_type")?.unwrap_or_default(),
        container_ids,
        booking_number: body.string("booking_number")?.map(|b| b.to_uppercase()),
        line: body.string("line")?.map(|l| l.to_uppercase()),
        equip_size: body.string("equip_size")?.map(|e| e.to_uppercase()),
        quantity,
        truck_plate: plate,
        own_chassis: yes_no(body, "own_chassis")?,
        pin_code: body.string("pin_code")?,
        unit_number: body.string("unit_number")?,
        seals: list(body, "seal_value")?,
    };
    Ok((visit, draft))
}

/// A string or a list of strings (comma-separated strings split), upper-cased.
fn list(body: &Body, field: &str) -> Result<Vec<String>, ApiError> {
    let bad = || {
        ApiError::bad_request(format!("{field} must be a string or a list of strings"))
            .with("invalid_fields", json!([field]))
    };
    let items: Vec<String> = match body.0.get(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(Value::Array(a)) if a.len() <= 20 => a
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad()),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_uppercase())
        .filter(|s| !s.is_empty())
        .collect())
}

/// `true`/`false`/"yes"/"no"; absent (or "ignore", as the original's clients send) leaves
/// the portal's default, which differs by terminal.
fn yes_no(body: &Body, field: &str) -> Result<Option<bool>, ApiError> {
    match body.0.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("yes") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("no") => Ok(Some(false)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("ignore") => Ok(None),
        _ => body.bool(field, false).map(Some),
    }
}

async fn check_appointments(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let (body, draft) = merged(&ctx, &scope, body)?;
    let (visit, draft) = visit(&ctx, &scope, &body, draft, false)?;
    let mut session = resolve(&ctx, &scope, &base, &body).await?;
    let container = visit.container_ids.first().cloned();
    let ran = session
        .run(
            &ctx,
            &body,
            "check appointments",
            true,
            container.as_deref(),
            move |page| portal::check_appointments(page, &visit),
        )
        .await?;
    // Keep the collected fields so make_appointment can follow with just the time.
    let mut fields = body.0.clone();
    fields.insert("session_id".into(), json!(session.session_id));
    let appointment_session_id = ctx.appointments.save_draft(&scope, draft, fields);
    let times = ran.value;
    let mut response = json!({
        "available_times": times.available_times,
        "count": times.available_times.len(),
        "truck_plate": times.truck_plate,
        "appointment_session_id": appointment_session_id,
    });
    if times.available_times.is_empty() {
        // A full terminal offers one option that is no time ("No Appointments Available").
        response["message"] = json!(
            times
                .message
                .unwrap_or_else(|| "the portal offers no appointment times".into())
        );
    }
    Ok(json_reply(
        StatusCode::OK,
        &session.response(&ran.screenshots, response),
    ))
}

async fn make_appointment(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let key = body.string("idempotency_key")?;
    if key.as_ref().is_some_and(|k| k.len() > 200) {
        return Err(ApiError::bad_request(
            "idempotency_key is longer than 200 characters",
        ));
    }
    let (body, draft) = merged(&ctx, &scope, body)?;
    let (visit, draft) = visit(&ctx, &scope, &body, draft, true)?;
    let time = body.string("appointment_time")?.unwrap_or_default();
    let book = async {
        let mut session = resolve(&ctx, &scope, &base, &body).await?;
        let container = visit.container_ids.first().cloned();
        // A write: never retried behind the client's back.
        let ran = session
            .run(
                &ctx,
                &body,
                "make appointment",
                false,
                container.as_deref(),
                move |page| portal::make_appointment(page, &visit, &time),
            )
            .await?;
        let booked = ran.value;
        let details: Map<String, Value> = booked
            .details
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        Ok::<Value, ApiError>(session.response(
            &ran.screenshots,
            json!({
                "appointment_confirmed": true,
                "confirmation_number": booked.confirmation_number,
                "verified_by": booked.verified_by,
                "appointment_time": booked.appointment_time,
                "appointment_details": details,
            }),
        ))
    };
    let result = match &key {
        None => book.await?,
        Some(key) => {
            let cell = ctx.appointments.idempotency_cell(&scope, key);
            let mut first = false;
            let value = cell
                .get_or_try_init(|| {
                    first = true;
                    book
                })
                .await?
                .clone();
            if first {
                value
            } else {
                let mut replay = value;
                replay["idempotent_replay"] = json!(true);
                replay
            }
        }
    };
    if let Some(id) = draft {
        ctx.appointments.remove_draft(&id);
    }
    Ok(json_reply(StatusCode::OK, &result))
}

async fn get_appointments(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let return_url = body.bool("return_url", false)?;
    let mut session = resolve(&ctx, &scope, &base, &body).await?;
    let ran = session
        .run(
            &ctx,
            &body,
            "get appointments",
            true,
            None,
            portal::my_appointments,
        )
        .await?;
    let list = ran.value;
    let appointments: Vec<Value> = list
        .rows
        .iter()
        .map(|row| {
            Value::Object(
                list.columns
                    .iter()
                    .cloned()
                    .zip(row.iter().map(|v| json!(v)))
                    .collect(),
            )
        })
        .collect();
    let mut fields = json!({
        "appointments": appointments,
        "total_appointments": list.rows.len(),
        "selected_count": list.selected_count,
    });
    if return_url {
        let bytes = crate::sheet::xlsx("Appointments", &list.columns, &list.rows)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let size = bytes.len();
        let name = ctx
            .files
            .save("appointments", "xlsx", bytes)
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        fields["file_url"] = json!(session.file_url(&name));
        fields["file_name"] = json!(name);
        fields["file_size"] = json!(size);
    }
    Ok(json_reply(
        StatusCode::OK,
        &session.response(&ran.screenshots, fields),
    ))
}
