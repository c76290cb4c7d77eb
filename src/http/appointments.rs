//! Appointment endpoints: `check_appointments` (steps 1-3, never submits),
//! `make_appointment` (submits; never retried automatically; idempotency keys) and
//! `get_appointments` (My Appointments).
//!
//! A request that lacks a step's fields answers 400 with an `appointment_session_id`, the
//! `current_phase` and the missing names; sending that id again with just those fields
//! resumes where it stopped.

use super::operation::{SessionUse, internal, resolve};
use super::requests::{
    self, CheckAppointmentsRequest, GetAppointmentsRequest, MakeAppointmentRequest, SessionRef,
    WizardFields,
};
use super::wizard_input::{Missing, PHASES, fingerprint, phase_data, visit};
use super::{Body, Ctx, business, json_reply, respond};
use crate::error::ApiError;
use crate::model::{ContainerType, ListTarget, Visit};
use serde_json::{Map, Value, json};
use warp::http::StatusCode;
use warp::{Filter, Rejection};

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

/// A request's wizard fields laid over its draft's, and the session the draft was made for.
struct Merged {
    wizard: WizardFields,
    draft: Option<String>,
    session: SessionRef,
}

/// The draft's fields overlaid by this request's, if a draft id was sent.
fn merged(
    ctx: &Ctx,
    scope: &str,
    draft: Option<String>,
    wizard: WizardFields,
    mut session: SessionRef,
) -> Result<Merged, ApiError> {
    let Some(id) = draft else {
        return Ok(Merged {
            wizard,
            draft: None,
            session,
        });
    };
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("appointment session not found or expired: {id}"),
        )
        .with("error_code", json!("appointment_session_not_found"))
    };
    let mut fields = ctx.appointments.draft(scope, &id).ok_or_else(not_found)?;
    // The draft remembers which session it was made for.
    if session.session_id.is_none() && !session.credentials.any() {
        session.session_id = fields
            .remove("session_id")
            .and_then(|v| v.as_str().map(str::to_string));
    }
    let mut base: WizardFields =
        serde_json::from_value(Value::Object(fields)).map_err(|_| not_found())?;
    base.overlay(wizard);
    Ok(Merged {
        wizard: base,
        draft: Some(id),
        session,
    })
}

/// Keep the fields collected so far (only wizard fields and the session id, never
/// credentials) for a live session, and answer the 400 that names what is missing.
async fn ask_for(
    ctx: &Ctx,
    scope: &str,
    session: &mut SessionUse,
    merged: &Merged,
    missing: Missing,
) -> ApiError {
    let phase = missing.phase;
    let mut error = ApiError::bad_request(format!(
        "phase {phase} ({}) needs: {}; send them with appointment_session_id to continue",
        PHASES[phase - 1],
        missing.fields.join(", ")
    ))
    .with("missing_fields", json!(missing.fields))
    .with("current_phase", json!(phase))
    .with("phase_name", json!(PHASES[phase - 1]));
    if let Err(e) = session.ensure_live(ctx).await {
        return e;
    }
    match save_draft(ctx, scope, merged.draft.clone(), &merged.wizard, session) {
        Ok(id) => error = error.with("appointment_session_id", json!(id)),
        Err(e) => return e,
    }
    error
}

fn save_draft(
    ctx: &Ctx,
    scope: &str,
    id: Option<String>,
    wizard: &WizardFields,
    session: &SessionUse,
) -> Result<String, ApiError> {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(wizard) else {
        return Err(internal("draft fields are not an object"));
    };
    fields.insert("session_id".into(), json!(session.session_id));
    Ok(ctx.appointments.save_draft(scope, id, fields)?)
}

async fn check_appointments(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let req: CheckAppointmentsRequest = requests::parse(&body)?;
    let merged = merged(
        &ctx,
        &scope,
        req.appointment_session_id,
        req.wizard,
        req.session,
    )?;
    let checked = visit(&merged.wizard, false)?;
    let mut session = resolve(&ctx, &scope, &base, &merged.session).await?;
    let visit = match checked {
        Ok(v) => v,
        Err(missing) => return Err(ask_for(&ctx, &scope, &mut session, &merged, missing).await),
    };
    session.annotate(merged.wizard.vm_email.as_deref());
    let ran = session
        .run(&ctx, |id, debug| {
            let (sessions, scope, visit) = (ctx.sessions.clone(), scope.clone(), visit.clone());
            async move { sessions.check_appointments(&scope, &id, visit, debug).await }
        })
        .await?;
    // Keep the collected fields so make_appointment can follow with just the time.
    let appointment_session_id =
        save_draft(&ctx, &scope, merged.draft.clone(), &merged.wizard, &session)?;
    let times = &ran.value;
    let mut response = json!({
        "available_times": times.available_times,
        "count": times.available_times.len(),
        "truck_plate": times.truck_plate,
        "appointment_session_id": appointment_session_id,
        "container_type": visit.container_type,
        "phase_data": phase_data(&visit),
        // The wizard reached its time step (the original's success mark for exports).
        "calendar_found": true,
    });
    // The original handed out a picture of the time list (imports) or calendar (exports):
    // with `debug`, that is the last screenshot.
    let last = ran.screenshots.last().cloned();
    let picture = match visit.container_type {
        ContainerType::Import => "dropdown_screenshot_url",
        ContainerType::Export => "calendar_screenshot_url",
    };
    response[picture] = json!(last);
    if times.available_times.is_empty() {
        // A full terminal offers one option that is no time ("No Appointments Available").
        response["message"] = json!(
            times
                .message
                .clone()
                .unwrap_or_else(|| "the portal offers no appointment times".into())
        );
    }
    Ok(json_reply(
        StatusCode::OK,
        &session.response(&ran, response),
    ))
}

async fn make_appointment(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let req: MakeAppointmentRequest = requests::parse(&body)?;
    let key = req.idempotency_key.clone();
    if key.as_ref().is_some_and(|k| k.len() > 200) {
        return Err(
            ApiError::bad_request("idempotency_key is longer than 200 characters")
                .with("invalid_fields", json!(["idempotency_key"])),
        );
    }
    let merged = merged(
        &ctx,
        &scope,
        req.appointment_session_id,
        req.wizard,
        req.session,
    )?;
    let checked = visit(&merged.wizard, true)?;
    let visit = match checked {
        Ok(v) => v,
        Err(missing) => {
            let mut session = resolve(&ctx, &scope, &base, &merged.session).await?;
            return Err(ask_for(&ctx, &scope, &mut session, &merged, missing).await);
        }
    };
    let time = merged.wizard.appointment_time.clone().unwrap_or_default();
    let fingerprint = fingerprint(&visit, &time, &merged.session);
    // The booking runs in a task of its own: a client that hangs up does not stop it half
    // way, and its outcome is kept under the idempotency key for the client's retry.
    let book = {
        let (ctx, scope, session) = (ctx.clone(), scope.clone(), merged.session.clone());
        let note = merged.wizard.vm_email.clone();
        crate::telemetry::request::carry(async move {
            book(&ctx, &scope, &base, &session, visit, time, note).await
        })
    };
    let (mut result, replay) = match &key {
        None => (tokio::spawn(book).await.map_err(internal)??, false),
        Some(key) => {
            let booking = ctx
                .appointments
                .book_once(&scope, key, fingerprint, book)
                .await?;
            (booking.value, booking.replay)
        }
    };
    if replay {
        result["idempotent_replay"] = json!(true);
    }
    if let Some(id) = merged.draft {
        ctx.appointments.remove_draft(&id);
    }
    Ok(json_reply(StatusCode::OK, &result))
}

/// Resolve the session and book; the answer's fields as the original gave them.
async fn book(
    ctx: &Ctx,
    scope: &str,
    base: &str,
    sent: &SessionRef,
    visit: Visit,
    time: String,
    note: Option<String>,
) -> Result<Value, ApiError> {
    let mut session = resolve(ctx, scope, base, sent).await?;
    session.annotate(note.as_deref());
    let ran = session
        .run(ctx, |id, debug| {
            let (sessions, scope) = (ctx.sessions.clone(), scope.to_string());
            let (visit, time) = (visit.clone(), time.clone());
            async move {
                sessions
                    .make_appointment(&scope, &id, visit, time, debug)
                    .await
            }
        })
        .await?;
    let booked = &ran.value;
    // The request's own values first (the original echoed them), then what the portal
    // showed about the booking under its own labels.
    let mut details = Map::new();
    details.insert("trucking_company".into(), json!(visit.trucking_company));
    details.insert("terminal".into(), json!(visit.terminal));
    details.insert("move_type".into(), json!(visit.move_type));
    if let Some(id) = visit.container_ids.first() {
        details.insert("container_id".into(), json!(id));
    }
    if let Some(b) = &visit.booking_number {
        details.insert("booking_number".into(), json!(b));
    }
    details.insert("truck_plate".into(), json!(visit.truck_plate));
    details.insert("own_chassis".into(), json!(visit.own_chassis));
    details.insert("appointment_time".into(), json!(booked.appointment_time));
    for (k, v) in &booked.details {
        details.entry(k.clone()).or_insert_with(|| json!(v));
    }
    Ok(session.response(
        &ran,
        json!({
            "appointment_confirmed": true,
            "confirmation_number": booked.confirmation_number,
            "verified_by": booked.verified_by,
            "appointment_time": booked.appointment_time,
            "appointment_details": details,
        }),
    ))
}

async fn get_appointments(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let req: GetAppointmentsRequest = requests::parse(&body)?;
    let return_url = req.return_url.unwrap_or(false);
    let count = match req.target_count {
        None => None,
        Some(n) if (1..=100_000).contains(&n) => Some(n as usize),
        Some(_) => {
            return Err(ApiError::bad_request(
                "target_count must be a whole number from 1 to 100000",
            )
            .with("invalid_fields", json!(["target_count"])));
        }
    };
    let target = ListTarget {
        count,
        appointment_id: req.target_appointment_id.clone(),
        scroll: req.infinite_scrolling.unwrap_or(true),
    };
    let mut session = resolve(&ctx, &scope, &base, &req.session).await?;
    let ran = session
        .run(&ctx, |id, debug| {
            let (sessions, scope, target) = (ctx.sessions.clone(), scope.clone(), target.clone());
            async move { sessions.get_appointments(&scope, &id, target, debug).await }
        })
        .await?;
    let list = &ran.value;
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
    if let Some(id) = &target.appointment_id {
        let wanted = id.to_lowercase();
        fields["target_found"] = json!(
            list.rows
                .iter()
                .any(|r| r.iter().any(|c| c.to_lowercase().contains(&wanted)))
        );
    }
    if return_url {
        let (columns, rows) = (list.columns.clone(), list.rows.clone());
        let bytes = tokio::task::spawn_blocking(move || {
            crate::sheet::xlsx("Appointments", &columns, &rows)
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let size = bytes.len();
        let name = ctx
            .files
            .save("appointments", "xlsx", bytes)
            .await
            .map_err(internal)?;
        fields["file_url"] = json!(session.file_url(&name));
        fields["file_name"] = json!(name);
        fields["file_size"] = json!(size);
    }
    Ok(json_reply(StatusCode::OK, &session.response(&ran, fields)))
}
