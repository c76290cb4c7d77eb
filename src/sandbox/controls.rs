//! `/__sandbox/*`: controls and ground truth for tests, benchmarks and operators.
//!
//! These endpoints stay up during a simulated outage (tests need them to end it) and need no
//! session. They are JSON in and out; errors are `{"error": "..."}` with a 4xx status.

use super::appointments::free_slots;
use super::request::{Req, Resp, json};
use super::state::State;
use serde::Deserialize;
use serde_json::json as j;
use warp::http::{Method, StatusCode};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigChange {
    render_delay_ms: Option<u64>,
    captcha_solve_delay_ms: Option<u64>,
    portal_idle_timeout: Option<u64>,
    after_submit: Option<String>,
    submit_delay_ms: Option<u64>,
    full_terminals: Option<Vec<String>>,
    identity_prompt: Option<String>,
    grid_spinner: Option<String>,
}

#[derive(Deserialize)]
struct Outage {
    seconds: u64,
}

fn error(status: StatusCode, msg: &str) -> Resp {
    json(status, &j!({ "error": msg }))
}

/// Route `/__sandbox/<name>`.
pub fn handle(state: &State, req: &Req, name: &str) -> Resp {
    match (&req.method, name) {
        (&Method::GET, "stats") => json(StatusCode::OK, &state.stats_json()),
        (&Method::POST, "logout_all") => {
            let ended = state.logout_all();
            json(StatusCode::OK, &j!({ "ended_sessions": ended }))
        }
        (&Method::GET, "dataset") => {
            let username = req.q("username").unwrap_or("");
            match state.account(username) {
                Some(a) => {
                    let mut v = a.to_json();
                    v["appointments"] = j!(state.bookings.for_user(username));
                    json(StatusCode::OK, &v)
                }
                None => error(StatusCode::NOT_FOUND, "unknown username"),
            }
        }
        (&Method::GET, "slots") => {
            let username = req.q("username").unwrap_or("");
            if state.account(username).is_none() {
                return error(StatusCode::NOT_FOUND, "unknown username");
            }
            let terminal = req.q("terminal").unwrap_or("");
            let move_type = req.q("move_type").unwrap_or("");
            let slots = free_slots(state, terminal, move_type);
            json(
                StatusCode::OK,
                &j!({
                    "username": username,
                    "terminal": terminal,
                    "move_type": move_type,
                    "slots": slots.iter().map(|s| &s.slot).collect::<Vec<_>>(),
                    "check_in_by": slots.iter().map(|s| &s.check_in_by).collect::<Vec<_>>(),
                }),
            )
        }
        (&Method::GET, "config") => json(StatusCode::OK, &state.config_json()),
        (&Method::POST, "config") => match req.json::<ConfigChange>() {
            Ok(c)
                if c.after_submit.as_deref().is_some_and(|a| {
                    !["confirmation", "snackbar", "my_appointments"].contains(&a)
                }) =>
            {
                error(
                    StatusCode::BAD_REQUEST,
                    "after_submit must be confirmation, snackbar or my_appointments",
                )
            }
            Ok(c)
                if c.identity_prompt
                    .as_deref()
                    .is_some_and(|m| !["always", "never", "sometimes"].contains(&m)) =>
            {
                error(
                    StatusCode::BAD_REQUEST,
                    "identity_prompt must be always, never or sometimes",
                )
            }
            Ok(c)
                if c.grid_spinner
                    .as_deref()
                    .is_some_and(|m| !["auto", "none"].contains(&m)) =>
            {
                error(StatusCode::BAD_REQUEST, "grid_spinner must be auto or none")
            }
            Ok(c) => {
                if let Some(m) = c.grid_spinner {
                    state.set_grid_spinner(m);
                }
                if let Some(m) = c.identity_prompt {
                    state.set_identity_prompt(m);
                }
                state.set_wizard_config(c.after_submit, c.submit_delay_ms, c.full_terminals);
                state.set_config(
                    c.render_delay_ms,
                    c.captcha_solve_delay_ms,
                    c.portal_idle_timeout,
                );
                json(StatusCode::OK, &state.config_json())
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        (&Method::POST, "outage") => match req.json::<Outage>() {
            Ok(o) => {
                state.set_outage(o.seconds);
                json(
                    StatusCode::OK,
                    &j!({ "outage_seconds_remaining": state.outage_remaining() }),
                )
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        (_, "stats" | "logout_all" | "dataset" | "slots" | "config" | "outage") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => error(StatusCode::NOT_FOUND, "unknown sandbox control"),
    }
}
