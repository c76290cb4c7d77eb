//! Container endpoints: `get_containers`, `get_container_timeline`, `get_booking_number`,
//! `get_info_bulk`. All are reads: retried once across a session restart.

use super::operation::{SessionUse, resolve};
use super::{Body, Ctx, business, json_reply, respond};
use crate::error::ApiError;
use crate::portal::{self, ContainerDetail, Target};
use serde_json::{Map, Value, json};
use warp::http::{StatusCode, header};
use warp::{Filter, Rejection, Reply};

/// Longest container list `get_info_bulk` takes per kind.
const MAX_BULK: usize = 200;
/// Largest `target_count`.
const MAX_TARGET_COUNT: u64 = 100_000;

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let containers = business(&ctx, "get_containers")
        .then(get_containers)
        .map(respond);
    let timeline = business(&ctx, "get_container_timeline")
        .then(get_timeline)
        .map(respond);
    let booking = business(&ctx, "get_booking_number")
        .then(get_booking_number)
        .map(respond);
    let bulk = business(&ctx, "get_info_bulk")
        .then(get_info_bulk)
        .map(respond);
    containers
        .or(timeline)
        .unify()
        .or(booking)
        .unify()
        .or(bulk)
        .unify()
}

async fn get_containers(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let target = grid_target(&body)?;
    let format = body
        .string("format")?
        .unwrap_or_else(|| "xlsx".into())
        .to_lowercase();
    if format != "json" && format != "xlsx" {
        return Err(ApiError::bad_request("format must be \"json\" or \"xlsx\"")
            .with("invalid_fields", json!(["format"])));
    }
    let return_url = body.bool("return_url", false)?;
    let mut session = resolve(&ctx, &scope, &base, &body).await?;
    let wanted = target.clone();
    let ran = session
        .run(&ctx, &body, "get containers", true, None, move |page| {
            portal::read_grid(page, &wanted)
        })
        .await?;
    let columns = ctx.sessions.settings().portal.container_columns.clone();
    let grid = ran.value;
    let objects: Vec<Value> = grid
        .rows
        .iter()
        .map(|row| {
            Value::Object(
                columns
                    .iter()
                    .cloned()
                    .zip(row.iter().map(|v| json!(v)))
                    .collect::<Map<_, _>>(),
            )
        })
        .collect();
    let mut fields = json!({
        "total_containers": grid.rows.len(),
        "scroll_cycles": grid.scroll_cycles,
        "containers": objects,
    });
    if let Target::Container(id) = &target {
        fields["target_container_id"] = json!(id);
        fields["target_found"] = json!(grid.rows.iter().any(|r| r.first() == Some(id)));
    }
    if format == "json" && !return_url {
        return Ok(json_reply(
            StatusCode::OK,
            &session.response(&ran.screenshots, fields),
        ));
    }
    let bytes = crate::sheet::xlsx("Containers", &columns, &grid.rows).map_err(internal)?;
    if return_url {
        let size = bytes.len();
        let name = ctx
            .files
            .save("containers", "xlsx", bytes)
            .await
            .map_err(|e| internal(e.to_string()))?;
        fields["file_url"] = json!(session.file_url(&name));
        fields["file_name"] = json!(name);
        fields["file_size"] = json!(size);
        return Ok(json_reply(
            StatusCode::OK,
            &session.response(&ran.screenshots, fields),
        ));
    }
    let mut response = warp::reply::Response::new(bytes.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            .parse()
            .expect("static"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        "attachment; filename=\"containers.xlsx\""
            .parse()
            .expect("static"),
    );
    headers.insert(
        "x-session-id",
        session
            .session_id
            .parse()
            .map_err(|_| internal("bad session id".into()))?,
    );
    headers.insert("x-total-containers", grid.rows.len().into());
    Ok(response.into_response())
}

/// `target_container_id` > `target_count` > `infinite_scrolling` (the reference's priority).
fn grid_target(body: &Body) -> Result<Target, ApiError> {
    if let Some(id) = body.string("target_container_id")? {
        return Ok(Target::Container(container_id(&id, "target_container_id")?));
    }
    match body.0.get("target_count") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(n) if (1..=MAX_TARGET_COUNT).contains(&n) => {
                    return Ok(Target::Count(n as usize));
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "target_count must be a whole number from 1 to {MAX_TARGET_COUNT}"
                    ))
                    .with("invalid_fields", json!(["target_count"])));
                }
            }
        }
    }
    Ok(if body.bool("infinite_scrolling", true)? {
        Target::All
    } else {
        Target::FirstPage
    })
}

/// A container number as the portal writes it: letters and digits, upper case.
fn container_id(raw: &str, field: &str) -> Result<String, ApiError> {
    let id = raw.trim().to_uppercase();
    if id.is_empty() || id.len() > 20 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::bad_request(format!(
            "{field} must be a container number such as MSDU5772413"
        ))
        .with("invalid_fields", json!([field])));
    }
    Ok(id)
}

fn required_container(body: &Body) -> Result<String, ApiError> {
    match body.string("container_id")? {
        Some(id) => container_id(&id, "container_id"),
        None => Err(ApiError::missing(&["container_id"])),
    }
}

async fn detail(
    ctx: &Ctx,
    session: &mut SessionUse,
    body: &Body,
    id: &str,
    step: &str,
) -> Result<(ContainerDetail, Vec<String>), ApiError> {
    let wanted = id.to_string();
    let ran = session
        .run(ctx, body, step, true, Some(id), move |page| {
            portal::container_detail(page, &wanted)
        })
        .await?;
    Ok((ran.value, ran.screenshots))
}

fn timeline_fields(d: &ContainerDetail) -> Value {
    json!({
        "container_id": d.container_id,
        "passed_pregate": d.passed_pregate,
        "timeline": d.timeline,
        "milestone_count": d.timeline.len(),
        "detection_method": "timeline_divider_class",
    })
}

async fn get_timeline(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let id = required_container(&body)?;
    let mut session = resolve(&ctx, &scope, &base, &body).await?;
    let (d, shots) = detail(&ctx, &mut session, &body, &id, "get container timeline").await?;
    Ok(json_reply(
        StatusCode::OK,
        &session.response(&shots, timeline_fields(&d)),
    ))
}

async fn get_booking_number(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let id = required_container(&body)?;
    let mut session = resolve(&ctx, &scope, &base, &body).await?;
    let (d, shots) = detail(&ctx, &mut session, &body, &id, "get booking number").await?;
    let message = match &d.booking_number {
        Some(_) => "Booking number found",
        None => "This container has no booking number (import containers have none)",
    };
    let fields = json!({ "container_id": d.container_id, "booking_number": d.booking_number, "message": message });
    Ok(json_reply(
        StatusCode::OK,
        &session.response(&shots, fields),
    ))
}

async fn get_info_bulk(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let imports = id_list(&body, "import_containers")?;
    let exports = id_list(&body, "export_containers")?;
    if imports.is_empty() && exports.is_empty() {
        return Err(ApiError::missing(&[
            "import_containers",
            "export_containers",
        ]));
    }
    let mut session = resolve(&ctx, &scope, &base, &body).await?;
    let mut import_results = Vec::new();
    let mut export_results = Vec::new();
    // One container at a time on the session; one bad container never fails the batch.
    for id in &imports {
        import_results.push(
            match detail(&ctx, &mut session, &body, id, "bulk: timeline").await {
                Ok((d, _)) => {
                    let mut v = timeline_fields(&d);
                    v["success"] = json!(true);
                    v
                }
                Err(e) => json!({ "container_id": id, "success": false, "error": e.message }),
            },
        );
    }
    for id in &exports {
        export_results.push(match detail(&ctx, &mut session, &body, id, "bulk: booking number").await {
            Ok((d, _)) => json!({ "container_id": id, "success": true, "booking_number": d.booking_number }),
            Err(e) => json!({ "container_id": id, "success": false, "error": e.message }),
        });
    }
    let ok = |list: &[Value]| list.iter().filter(|r| r["success"] == true).count();
    let summary = json!({
        "total_import": imports.len(),
        "total_export": exports.len(),
        "import_success": ok(&import_results),
        "import_failed": imports.len() - ok(&import_results),
        "export_success": ok(&export_results),
        "export_failed": exports.len() - ok(&export_results),
    });
    let fields = json!({
        "results": { "import_results": import_results, "export_results": export_results, "summary": summary },
    });
    Ok(json_reply(StatusCode::OK, &session.response(&[], fields)))
}

/// A list of container numbers (strings), at most [`MAX_BULK`]; absent means empty.
fn id_list(body: &Body, field: &str) -> Result<Vec<String>, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{field} must be a list of at most {MAX_BULK} container numbers"
        ))
        .with("invalid_fields", json!([field]))
    };
    match body.0.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= MAX_BULK => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(bad)
                    .and_then(|s| container_id(s, field))
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn internal(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
}
