//! Page shell, the logged-in app frame, and the portal's stock pages (logged out, maintenance,
//! not found).
//!
//! The markup imitates the Angular Material app the real portal serves (`app-root`,
//! `mat-sidenav-container`, `mat-toolbar`, MDC class names), because drivers locate elements by
//! those names. Styles and scripts are inlined: one request per page, like a server-rendered
//! shell, and nothing for Chromium to fetch from the internet.

use super::hosts::{Hosts, Role};
use super::request::{esc, script_json};
use serde_json::{Value, json};

pub const CSS: &str = include_str!("assets/portal.css");
/// Styles of the recorded portal's header, Welcome page, containers grid and login.
pub const ECP_CSS: &str = include_str!("assets/ecp.css");
/// Shared client helpers: icons, `mat-select` overlays, dialogs, `fetch` with 401 handling.
pub const MATERIAL_JS: &str = include_str!("assets/material.js");

/// A complete HTML document.
pub fn document(title: &str, body_class: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style><style>{ECP_CSS}</style></head>\
         <body class=\"{body_class}\">{body}</body></html>",
        title = esc(title),
    )
}

/// Which page of the portal a frame belongs to: it picks the highlighted sidenav entry and the
/// header's product name, as the real hosts differ (account: none, ecp2: "Port Manager",
/// termops: "eModal Community Portal").
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Welcome,
    Containers,
    AddVisit,
    MyAppointments,
}

/// `<img>` logos as the real header has them (their alt texts are in the page's text).
const COMPANY_LOGO: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='200' height='40'%3E\
%3Cpath d='M8 4h10v10h10v10H18v10H8V24H-2' fill='%2359b88a'/%3E%3Crect x='4' y='14' width='24' height='10' fill='%2359b88a'/%3E\
%3Ctext x='36' y='29' font-family='Arial' font-size='24' font-weight='700' fill='%23182444'%3ECargo%3Ctspan font-weight='400'%3ESprint%3C/tspan%3E%3C/text%3E%3C/svg%3E";
const PRODUCT_LOGO: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='130' height='40'%3E\
%3Ctext x='0' y='30' font-family='Arial' font-size='30' font-weight='700' fill='%23182444'%3Ee%3Ctspan fill='%2359b88a'%3EModal%3C/tspan%3E%3C/text%3E%3C/svg%3E";

/// A mat-icon with its ligature name as text, like Angular renders it.
pub fn icon(name: &str) -> String {
    format!(
        "<mat-icon class=\"mat-icon notranslate material-icons mat-icon-no-color\" role=\"img\" \
         aria-hidden=\"true\" data-mat-icon-type=\"font\">{name}</mat-icon>"
    )
}

/// Material class names that differ between the two generations.
pub struct Classes {
    pub legacy: bool,
}

impl Classes {
    pub fn of(config: &Value) -> Classes {
        Classes {
            legacy: config["generation"].as_str() != Some("mdc"),
        }
    }

    /// An icon-only button.
    pub fn icon_button(&self, extra: &str, inner: &str) -> String {
        if self.legacy {
            format!(
                "<button type=\"button\" mat-icon-button class=\"mat-focus-indicator mat-icon-button \
                 mat-button-base {extra}\"><span class=\"mat-button-wrapper\">{inner}</span>\
                 <span matripple class=\"mat-ripple mat-button-ripple mat-button-ripple-round\"></span>\
                 <span class=\"mat-button-focus-overlay\"></span></button>"
            )
        } else {
            format!(
                "<button type=\"button\" mat-icon-button class=\"mdc-icon-button mat-mdc-icon-button \
                 mat-unthemed mat-mdc-button-base {extra}\"><span class=\"mat-mdc-button-persistent-ripple \
                 mdc-icon-button__ripple\"></span>{inner}<span class=\"mat-mdc-focus-indicator\"></span></button>"
            )
        }
    }

    /// An outlined (stroked) text button; `disabled` greys it out.
    pub fn stroked_button(&self, extra: &str, inner: &str, disabled: bool) -> String {
        let dis = if disabled { " disabled=\"true\"" } else { "" };
        if self.legacy {
            let dc = if disabled { " mat-button-disabled" } else { "" };
            format!(
                "<button type=\"button\" mat-stroked-button class=\"mat-focus-indicator mat-stroked-button \
                 mat-button-base {extra}{dc}\"{dis}><span class=\"mat-button-wrapper\">{inner}</span>\
                 <span class=\"mat-button-focus-overlay\"></span></button>"
            )
        } else {
            format!(
                "<button type=\"button\" mat-stroked-button class=\"mdc-button mdc-button--outlined \
                 mat-mdc-outlined-button mat-unthemed mat-mdc-button-base {extra}\"{dis}>\
                 <span class=\"mdc-button__label\">{inner}</span>\
                 <span class=\"mat-mdc-focus-indicator\"></span></button>"
            )
        }
    }
}

/// A logged-in page: the portal's header (hamburger, logos, gear, help, the user button), a
/// sidenav that the hamburger opens, and `content` in the outlet. `config` is exposed to the
/// page script as `window.SANDBOX` (with `links`: the other pages' URLs, absolute across
/// hosts); its `generation` picks the Material class names.
pub fn app_page(
    hosts: &Hosts,
    title: &str,
    username: &str,
    nav: Nav,
    content: &str,
    config: &Value,
    script: &str,
) -> String {
    let cls = Classes::of(config);
    let welcome = hosts.url(Role::Account, "/Home/Welcome");
    let containers = hosts.url(Role::Ecp2, "/containers");
    let addvisit = hosts.url(Role::Termops, "/trucker/web/addvisit");
    let myappointments = hosts.url(Role::TruckerPortal, "/myappointments");
    let logout = hosts.url(Role::Identity, "/Account/Logout");
    let mut config = config.clone();
    config["links"] = json!({
        "welcome": welcome,
        "containers": containers,
        "addvisit": addvisit,
        "myappointments": myappointments,
        "logout": logout,
    });
    let link = |n: Nav, href: &str, glyph: &str, label: &str| {
        let item = if cls.legacy {
            "mat-list-item mat-focus-indicator"
        } else {
            "mat-mdc-list-item mdc-list-item"
        };
        format!(
            "<a class=\"{item} nav-link{active}\" href=\"{href}\">\
             <span class=\"css-icon\" aria-hidden=\"true\" data-glyph=\"{glyph}\"></span>\
             <span class=\"nav-label\">{label}</span></a>",
            active = if n == nav { " active" } else { "" },
        )
    };
    let product = match nav {
        Nav::Welcome => "",
        Nav::Containers => "Port Manager",
        Nav::Home | Nav::AddVisit | Nav::MyAppointments => "eModal Community Portal",
    };
    // The cart sits on the ecp2 and termops hosts only, not on the account host.
    let cart = if nav == Nav::Welcome {
        String::new()
    } else {
        cls.icon_button("header-icon cart-button", &icon("shopping_cart"))
    };
    let menu_item = if cls.legacy {
        "mat-menu-item mat-focus-indicator"
    } else {
        "mat-mdc-menu-item mdc-list-item"
    };
    let body = format!(
        "<app-root ng-version=\"{ng}\"><mat-sidenav-container class=\"mat-drawer-container mat-sidenav-container\">\
         <mat-toolbar class=\"mat-toolbar app-header mat-toolbar-single-row\">\
           {menu}\
           <a class=\"brand\" href=\"{welcome_e}\"><img class=\"company-logo\" alt=\"company-logo\" src=\"{COMPANY_LOGO}\"></a>\
           <span class=\"product-name\">{product}</span>\
           <span class=\"toolbar-spacer\"></span>\
           <img class=\"product-logo\" alt=\"product-logo\" src=\"{PRODUCT_LOGO}\">\
           {cart}{gear}{help}\
           <button type=\"button\" class=\"{user_cls} header-icon user-button\" aria-haspopup=\"menu\" title=\"{user}\">\
             {person}<span class=\"user-name\">{user}</span></button>\
           <div class=\"user-menu {panel}\" role=\"menu\">\
             <a role=\"menuitem\" class=\"{menu_item}\" href=\"{my_e}\">My Appointments</a>\
             <a role=\"menuitem\" class=\"{menu_item} logout-link\" href=\"{logout_e}\">Logout</a></div>\
         </mat-toolbar>\
         <div class=\"shell-body\">\
           <mat-sidenav class=\"mat-drawer mat-sidenav mat-drawer-over\" mode=\"over\">\
             <div class=\"nav-heading\">eModal</div>\
             {l_home}{l_cont}{l_add}{l_my}</mat-sidenav>\
           <mat-sidenav-content class=\"mat-drawer-content mat-sidenav-content\">\
             <router-outlet></router-outlet>{content}</mat-sidenav-content>\
         </div></mat-sidenav-container></app-root>\
         <script>window.SANDBOX = {config};</script>\
         <script>{MATERIAL_JS}</script><script>{SHELL_JS}</script><script>{script}</script>",
        ng = if cls.legacy { "14.2.12" } else { "17.3.12" },
        menu = cls.icon_button("menu-button", &icon("menu")),
        gear = cls.icon_button("header-icon settings-button", &icon("settings")),
        help = cls.icon_button("header-icon help-button", &icon("help")),
        person = icon("person"),
        user_cls = if cls.legacy {
            "mat-focus-indicator mat-icon-button mat-button-base"
        } else {
            "mdc-icon-button mat-mdc-icon-button mat-mdc-button-base"
        },
        panel = if cls.legacy {
            "mat-menu-panel"
        } else {
            "mat-mdc-menu-panel"
        },
        user = esc(username),
        welcome_e = esc(&welcome),
        my_e = esc(&myappointments),
        logout_e = esc(&logout),
        l_home = link(Nav::Welcome, &esc(&welcome), "\u{2302}", "Home"),
        l_cont = link(Nav::Containers, &esc(&containers), "\u{25A6}", "Containers"),
        l_add = link(
            Nav::AddVisit,
            &esc(&addvisit),
            "\u{271A}",
            "Add Appointment"
        ),
        l_my = link(
            Nav::MyAppointments,
            &esc(&myappointments),
            "\u{2630}",
            "My Appointments"
        ),
        config = script_json(&config),
    );
    document(title, "mat-typography", &body)
}

/// The hamburger opens and closes the sidenav (the real header has no visible nav otherwise).
const SHELL_JS: &str = "(function(){var b=document.querySelector('.menu-button'),n=document.querySelector('mat-sidenav');\
if(b&&n)b.addEventListener('click',function(e){e.stopPropagation();n.classList.toggle('mat-drawer-opened');});})();";

/// What every app page shows without a live session (text as on the real portal).
pub const LOGGED_OUT_TEXT: &str = "You are either not logged in or your session has expired ... \
     please use your back button to return to the previous page, or log in again.";

/// `login_url`: the identity host's login page (the link is absolute across hosts).
pub fn logged_out_page(login_url: &str) -> String {
    document(
        "eModal - Session expired",
        "",
        &format!(
            "<div class=\"plain-page\"><mat-card class=\"mat-mdc-card notice\">\
             <h1>Session expired</h1><p class=\"logged-out-message\">{LOGGED_OUT_TEXT}</p>\
             <p><a class=\"mat-mdc-raised-button\" href=\"{login}\">Log in</a></p>\
             </mat-card></div>",
            login = esc(login_url),
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
