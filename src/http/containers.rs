//! Container endpoints: `get_containers`, `get_container_timeline`, `get_booking_number`,
//! `get_info_bulk`. All are reads: the session layer retries them once across a restart.

use super::operation::{Ran, SessionUse, internal, resolve};
use super::requests::{self, ContainerRequest, GetContainersRequest, InfoBulkRequest};
use super::{Body, Ctx, business, json_reply, respond};
use crate::error::ApiError;
use crate::model::{ContainerDetail, Target};
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
    let req: GetContainersRequest = requests::parse(&body)?;
    let target = grid_target(&req)?;
    let format = req.format.as_deref().unwrap_or("xlsx").to_lowercase();
    if format != "json" && format != "xlsx" {
        return Err(ApiError::bad_request("format must be \"json\" or \"xlsx\"")
            .with("invalid_fields", json!(["format"])));
    }
    let return_url = req.return_url.unwrap_or(false);
    let mut session = resolve(&ctx, &scope, &base, &req.session).await?;
    let ran = session
        .run(&ctx, |id, debug| {
            let (sessions, scope, target) = (ctx.sessions.clone(), scope.clone(), target.clone());
            async move { sessions.get_containers(&scope, &id, target, debug).await }
        })
        .await?;
    let columns = ctx.sessions.settings().portal.container_columns.clone();
    let grid = &ran.value;
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
        "containers_count": grid.rows.len(),
        "scroll_cycles": grid.scroll_cycles,
        "containers": objects,
    });
    match &target {
        Target::Container(id) => {
            let found = grid.rows.iter().any(|r| r.first() == Some(id));
            fields["target_container_id"] = json!(id);
            fields["target_found"] = json!(found);
            // The original's names: the id when found, and why the scrolling stopped.
            if found {
                fields["found_target_container"] = json!(id);
                fields["stopped_reason"] = json!(format!("Container {id} found"));
            } else {
                fields["stopped_reason"] =
                    json!(format!("Container {id} not found; the grid ended"));
            }
        }
        Target::Count(n) => {
            fields["stopped_reason"] = json!(if grid.rows.len() >= *n {
                format!("Target count {n} reached")
            } else {
                format!("The grid ended at {} of {n} containers", grid.rows.len())
            });
        }
        Target::All | Target::FirstPage => {}
    }
    if format == "json" && !return_url {
        return Ok(json_reply(StatusCode::OK, &session.response(&ran, fields)));
    }
    // Writing a spreadsheet is CPU work: keep it off the async workers.
    let rows = grid.rows.clone();
    let sheet_columns = columns.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        crate::sheet::xlsx("Containers", &sheet_columns, &rows)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    if return_url {
        let size = bytes.len();
        let name = ctx
            .files
            .save("containers", "xlsx", bytes)
            .await
            .map_err(internal)?;
        fields["file_url"] = json!(session.file_url(&name));
        fields["file_name"] = json!(name);
        fields["file_size"] = json!(size);
        return Ok(json_reply(StatusCode::OK, &session.response(&ran, fields)));
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
            .map_err(|_| internal("bad session id"))?,
    );
    headers.insert("x-total-containers", grid.rows.len().into());
    Ok(response.into_response())
}

/// `target_container_id` > `target_count` > `infinite_scrolling` (the reference's priority).
fn grid_target(req: &GetContainersRequest) -> Result<Target, ApiError> {
    if let Some(id) = &req.target_container_id {
        return Ok(Target::Container(container_id(id, "target_container_id")?));
    }
    if let Some(n) = req.target_count {
        if !(1..=MAX_TARGET_COUNT).contains(&n) {
            return Err(ApiError::bad_request(format!(
                "target_count must be a whole number from 1 to {MAX_TARGET_COUNT}"
            ))
            .with("invalid_fields", json!(["target_count"])));
        }
        return Ok(Target::Count(n as usize));
    }
    Ok(if req.infinite_scrolling.unwrap_or(true) {
        Target::All
    } else {
        Target::FirstPage
    })
}

/// A container number as the portal writes it: letters and digits, upper case.
pub fn container_id(raw: &str, field: &str) -> Result<String, ApiError> {
    let id = raw.trim().to_uppercase();
    if id.is_empty() || id.len() > 20 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::bad_request(format!(
            "{field} must be a container number such as MSDU5772413"
        ))
        .with("invalid_fields", json!([field])));
    }
    Ok(id)
}

fn required_container(req: &ContainerRequest) -> Result<String, ApiError> {
    match &req.container_id {
        Some(id) => container_id(id, "container_id"),
        None => Err(ApiError::missing(&["container_id"])),
    }
}

async fn detail(
    ctx: &Ctx,
    scope: &str,
    session: &mut SessionUse,
    id: &str,
) -> Result<Ran<ContainerDetail>, ApiError> {
    session
        .run(ctx, |sid, debug| {
            let (sessions, scope, id) = (ctx.sessions.clone(), scope.to_string(), id.to_string());
            async move { sessions.container_detail(&scope, &sid, &id, debug).await }
        })
        .await
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
    let req: ContainerRequest = requests::parse(&body)?;
    let id = required_container(&req)?;
    let mut session = resolve(&ctx, &scope, &base, &req.session).await?;
    let ran = detail(&ctx, &scope, &mut session, &id).await?;
    let fields = timeline_fields(&ran.value);
    Ok(json_reply(StatusCode::OK, &session.response(&ran, fields)))
}

async fn get_booking_number(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let req: ContainerRequest = requests::parse(&body)?;
    let id = required_container(&req)?;
    let mut session = resolve(&ctx, &scope, &base, &req.session).await?;
    let ran = detail(&ctx, &scope, &mut session, &id).await?;
    let d = &ran.value;
    let message = match &d.booking_number {
        Some(_) => "Booking number found",
        None => "This container has no booking number (import containers have none)",
    };
    let fields = json!({ "container_id": d.container_id, "booking_number": d.booking_number, "message": message });
    Ok(json_reply(StatusCode::OK, &session.response(&ran, fields)))
}

async fn get_info_bulk(
    ctx: Ctx,
    scope: String,
    base: String,
    body: Body,
) -> Result<warp::reply::Response, ApiError> {
    let req: InfoBulkRequest = requests::parse(&body)?;
    let imports = id_list(req.import_containers.as_deref(), "import_containers")?;
    let exports = id_list(req.export_containers.as_deref(), "export_containers")?;
    if imports.is_empty() && exports.is_empty() {
        return Err(ApiError::missing(&[
            "import_containers",
            "export_containers",
        ]));
    }
    let pregate = ctx
        .sessions
        .settings()
        .portal
        .texts
        .pregate_milestone
        .clone();
    let mut session = resolve(&ctx, &scope, &base, &req.session).await?;
    let mut import_results = Vec::new();
    let mut export_results = Vec::new();
    // One container at a time on the session; one bad container never fails the batch.
    for id in &imports {
        import_results.push(match detail(&ctx, &scope, &mut session, id).await {
            Ok(ran) => {
                let d = &ran.value;
                let mut v = timeline_fields(d);
                v["success"] = json!(true);
                // The original's names, which its clients read to pick the move type.
                v["pregate_status"] = json!(d.passed_pregate);
                v["pregate_details"] = json!(match d.pregate(&pregate) {
                    Some(m) if d.passed_pregate => format!("{} {}", m.milestone, m.date).trim().to_string(),
                    Some(m) => format!("{}: {}", m.milestone, m.status),
                    None => "no pregate milestone in the timeline".to_string(),
                });
                v
            }
            Err(e) => json!({
                "container_id": id, "success": false, "error": e.message,
                "pregate_status": null, "pregate_details": null, "timeline": [], "milestone_count": 0,
            }),
        });
    }
    for id in &exports {
        export_results.push(match detail(&ctx, &scope, &mut session, id).await {
            Ok(ran) => json!({ "container_id": id, "success": true, "booking_number": ran.value.booking_number }),
            Err(e) => json!({ "container_id": id, "success": false, "error": e.message, "booking_number": null }),
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
    let message = format!(
        "Processed {} import and {} export containers",
        imports.len(),
        exports.len()
    );
    let fields = json!({
        "results": { "import_results": import_results, "export_results": export_results, "summary": summary },
        "message": message,
    });
    let none = Ran {
        value: (),
        screenshots: Vec::new(),
        bundle_url: None,
    };
    Ok(json_reply(StatusCode::OK, &session.response(&none, fields)))
}

/// A list of container numbers, at most [`MAX_BULK`]; absent means empty.
fn id_list(items: Option<&[String]>, field: &str) -> Result<Vec<String>, ApiError> {
    let items = items.unwrap_or_default();
    if items.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "{field} must be a list of at most {MAX_BULK} container numbers"
        ))
        .with("invalid_fields", json!([field])));
    }
    items.iter().map(|s| container_id(s, field)).collect()
}
