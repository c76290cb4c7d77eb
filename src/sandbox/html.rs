//! Page shell, the logged-in app frame, and the portal's stock pages (logged out, maintenance,
//! not found).
//!
//! The markup imitates the Angular Material app the real portal serves (`app-root`,
//! `mat-sidenav-container`, `mat-toolbar`, MDC class names), because drivers locate elements by
//! those names. Styles and scripts are inlined: one request per page, like a server-rendered
//! shell, and nothing for Chromium to fetch from the internet.

use super::request::{esc, script_json};
use serde_json::Value;

pub const CSS: &str = include_str!("assets/portal.css");
/// Shared client helpers: icons, `mat-select` overlays, dialogs, `fetch` with 401 handling.
pub const MATERIAL_JS: &str = include_str!("assets/material.js");

pub const BRAND: &str = "CargoSprint eModal Community Portal";

/// A complete HTML document.
pub fn document(title: &str, body_class: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head>\
         <body class=\"{body_class}\">{body}</body></html>",
        title = esc(title),
    )
}

/// Which sidenav entry is highlighted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Containers,
    AddVisit,
    MyAppointments,
}

/// A logged-in page: toolbar with the user button, sidenav, and `content` in the outlet.
/// `config` is exposed to the page script as `window.SANDBOX`.
pub fn app_page(
    title: &str,
    username: &str,
    nav: Nav,
    content: &str,
    config: &Value,
    script: &str,
) -> String {
    let link = |n: Nav, href: &str, glyph: &str, label: &str| {
        format!(
            "<a class=\"mat-mdc-list-item nav-link{active}\" href=\"{href}\">\
             <span class=\"css-icon\" aria-hidden=\"true\" data-glyph=\"{glyph}\"></span>\
             <span class=\"mdc-list-item__primary-text\">{label}</span></a>",
            active = if n == nav { " active" } else { "" },
        )
    };
    let initial = username
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    let body = format!(
        "<app-root ng-version=\"17.3.12\"><mat-sidenav-container class=\"mat-drawer-container mat-sidenav-container\">\
         <mat-toolbar class=\"mat-toolbar mat-primary mat-toolbar-single-row\" color=\"primary\">\
           <a class=\"brand\" href=\"/\" style=\"color:#fff;text-decoration:none\"><span class=\"brand-logo\">eM</span>\
             <span>eModal<small>Community Portal</small></span></a>\
           <span class=\"toolbar-spacer\"></span>\
           <a class=\"toolbar-link\" href=\"/trucker/web/\">Trucker Portal</a>\
           <button type=\"button\" mat-button class=\"mat-mdc-button user-button\" aria-haspopup=\"menu\">\
             <span class=\"user-avatar\" aria-hidden=\"true\" data-initial=\"{initial}\"></span>\
             <span class=\"user-name\">{user}</span></button>\
           <div class=\"user-menu mat-mdc-menu-panel\" role=\"menu\">\
             <a role=\"menuitem\" class=\"mat-mdc-menu-item\" href=\"/myappointments\">My Appointments</a>\
             <a role=\"menuitem\" class=\"mat-mdc-menu-item logout-link\" href=\"/Account/Logout\">Logout</a></div>\
         </mat-toolbar>\
         <div class=\"shell-body\">\
           <mat-sidenav class=\"mat-drawer mat-sidenav mat-drawer-side mat-drawer-opened\" mode=\"side\" opened>\
             <div class=\"nav-heading\">Trucker</div>\
             {l_home}{l_cont}{l_add}{l_my}</mat-sidenav>\
           <mat-sidenav-content class=\"mat-drawer-content mat-sidenav-content\">\
             <router-outlet></router-outlet>{content}</mat-sidenav-content>\
         </div></mat-sidenav-container></app-root>\
         <script>window.SANDBOX = {config};</script>\
         <script>{MATERIAL_JS}</script><script>{script}</script>",
        user = esc(username),
        l_home = link(Nav::Home, "/", "\u{2302}", "Dashboard"),
        l_cont = link(Nav::Containers, "/containers", "\u{25A6}", "Containers"),
        l_add = link(
            Nav::AddVisit,
            "/trucker/web/addvisit",
            "\u{271A}",
            "Add Appointment"
        ),
        l_my = link(
            Nav::MyAppointments,
            "/myappointments",
            "\u{2630}",
            "My Appointments"
        ),
        config = script_json(config),
    );
    document(title, "mat-typography", &body)
}

/// What every app page shows without a live session (text as on the real portal).
pub const LOGGED_OUT_TEXT: &str = "You are either not logged in or your session has expired ... \
     please use your back button to return to the previous page, or log in again.";

pub fn logged_out_page() -> String {
    document(
        "eModal - Session expired",
        "",
        &format!(
            "<div class=\"plain-page\"><mat-card class=\"mat-mdc-card notice\">\
             <h1>Session expired</h1><p class=\"logged-out-message\">{LOGGED_OUT_TEXT}</p>\
             <p><a class=\"mat-mdc-raised-button\" href=\"/login\">Log in</a></p>\
             </mat-card></div>"
        ),
    )
}

pub fn maintenance_page(seconds: u64) -> String {
    document(
        "503 Service Unavailable",
        "",
        &format!(
            "<div class=\"plain-page\"><mat-card class=\"mat-mdc-card notice\">\
             <h1>503 Service Unavailable</h1>\
             <p class=\"maintenance-message\">eModal is temporarily unavailable due to scheduled \
             maintenance. Please try again later.</p>\
             <p style=\"color:rgba(0,0,0,.5)\">Expected back in about {seconds} s.</p>\
             </mat-card></div>"
        ),
    )
}

pub fn not_found_page(path: &str) -> String {
    document(
        "404 Not Found",
        "",
        &format!(
            "<div class=\"plain-page\"><mat-card class=\"mat-mdc-card\"><h1>404 Not Found</h1>\
             <p>The page <code>{}</code> does not exist.</p><p><a href=\"/\">Home</a></p>\
             </mat-card></div>",
            esc(path)
        ),
    )
}
