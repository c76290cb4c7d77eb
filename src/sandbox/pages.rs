//! The simple logged-in pages: the app home (`/`) and the keep-alive target (`/trucker/web/`).

use super::html::{Nav, app_page};
use super::request::{Resp, esc, html};
use super::state::State;
use serde_json::json;
use warp::http::StatusCode;

fn dash_card(href: &str, title: &str, big: &str, text: &str) -> String {
    format!(
        "<a class=\"mat-mdc-card dash-card\" href=\"{href}\"><h3>{title}</h3>\
         <div class=\"big\">{big}</div><p>{text}</p></a>",
        title = esc(title),
        big = esc(big),
        text = esc(text),
    )
}

/// `GET /`: the app home with a few dashboard cards.
pub fn home(state: &State, username: &str) -> Resp {
    let containers = state.account(username).map_or(0, |a| a.containers.len());
    let appointments = state.bookings.for_user(username).len();
    let content = format!(
        "<div class=\"breadcrumb\">Home</div>\
         <h1 class=\"page-title\">Welcome, {user}</h1>\
         <p class=\"page-subtitle\">{brand}</p>\
         <div class=\"card-grid\">{c1}{c2}{c3}</div>\
         <mat-card class=\"mat-mdc-card notice\"><b>Sandbox.</b> This is a local stand-in for the \
         eModal trucker portal: data is generated, appointments are not real.</mat-card>",
        user = esc(username),
        brand = esc(super::html::BRAND),
        c1 = dash_card(
            "/containers",
            "Containers",
            &containers.to_string(),
            "in your watch list"
        ),
        c2 = dash_card(
            "/trucker/web/addvisit",
            "Add Appointment",
            "+",
            "book a terminal visit"
        ),
        c3 = dash_card(
            "/myappointments",
            "My Appointments",
            &appointments.to_string(),
            "booked visits"
        ),
    );
    html(
        StatusCode::OK,
        app_page("eModal", username, Nav::Home, &content, &json!({}), ""),
    )
}

/// `GET /trucker/web/`: the trucker portal's landing page, which sessions reload to stay alive.
pub fn keepalive(username: &str) -> Resp {
    let content = format!(
        "<div class=\"breadcrumb\">Trucker Portal</div>\
         <h1 class=\"page-title\">Trucker Portal</h1>\
         <p class=\"page-subtitle\">Signed in as {user}</p>\
         <div class=\"card-grid\">{c1}{c2}</div>",
        user = esc(username),
        c1 = dash_card(
            "/trucker/web/addvisit",
            "Add Appointment",
            "+",
            "book a terminal visit"
        ),
        c2 = dash_card(
            "/myappointments",
            "My Appointments",
            "\u{2630}",
            "see booked visits"
        ),
    );
    html(
        StatusCode::OK,
        app_page(
            "eModal Trucker Portal",
            username,
            Nav::Home,
            &content,
            &json!({}),
            "",
        ),
    )
}
