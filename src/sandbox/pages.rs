//! The simple logged-in pages: the account host's Welcome page (`/Home/Welcome`, where `/`
//! redirects) and the keep-alive target (`/trucker/web/`).

use super::hosts::Role;
use super::html::{Nav, app_page, icon};
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

/// One disabled preference of the Welcome page's card.
fn pref(label: &str, value: &str, highlight: bool) -> String {
    format!(
        "<div class=\"pref{h}\"><label>{label}</label><div class=\"value\" aria-disabled=\"true\">\
         <span>{value}</span>{arrow}</div></div>",
        h = if highlight { " highlight" } else { "" },
        arrow = icon("arrow_drop_down"),
    )
}

/// `GET /Home/Welcome`: the account host's page where every recorded login ended (facts §3):
/// no Continue button, no link into the app; the driver must open the app's URL itself.
pub fn welcome(state: &State, username: &str) -> Resp {
    let content = format!(
        "<div class=\"welcome-page\">\
         <h1>Welcome to eModal</h1>\
         <p>with ecp2.0 now you can set your favorite page as your default page.</p>\
         <p>To set your default page go to <b>User Profile &gt;&gt; User Preferences and Settings</b></p>\
         <div class=\"welcome-card\"><h3>User Preferences and Settings</h3>\
           <button type=\"button\" class=\"edit-prefs\" aria-label=\"Edit\">{edit}</button>\
           <div class=\"prefs\">{a}{b}{c}{d}</div></div>\
         </div>",
        edit = icon("edit"),
        a = pref("Preferred Language", "English - United States", false),
        b = pref("Date Format", "MM/dd/yyyy", false),
        c = pref("Default page", "User Profile", true),
        d = pref("Time Format", "24 Hour", false),
    );
    let config = json!({ "generation": state.settings.generation });
    html(
        StatusCode::OK,
        app_page(
            state.hosts(),
            "Welcome",
            username,
            Nav::Welcome,
            &content,
            &config,
            "",
        ),
    )
}

/// `GET /trucker/web/`: the trucker portal's landing page, which sessions reload to stay alive.
pub fn keepalive(state: &State, username: &str) -> Resp {
    let content = format!(
        "<div class=\"breadcrumb\">Trucker Portal</div>\
         <h1 class=\"page-title\">Trucker Portal</h1>\
         <p class=\"page-subtitle\">Signed in as {user}</p>\
         <div class=\"card-grid\">{c1}{c2}</div>",
        user = esc(username),
        c1 = dash_card(
            &esc(&state.hosts().url(Role::Termops, "/trucker/web/addvisit")),
            "Add Appointment",
            "+",
            "book a terminal visit"
        ),
        c2 = dash_card(
            &esc(&state.hosts().url(Role::TruckerPortal, "/myappointments")),
            "My Appointments",
            "\u{2630}",
            "see booked visits"
        ),
    );
    html(
        StatusCode::OK,
        app_page(
            state.hosts(),
            "eModal Trucker Portal",
            username,
            Nav::Home,
            &content,
            &json!({ "generation": state.settings.generation }),
            "",
        ),
    )
}
