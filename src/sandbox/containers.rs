//! `/containers`: the infinite-scroll grid and its JSON APIs.
//!
//! As on the real portal (facts §5-§7), the page arrives without rows; the script fetches
//! pages of `page_size` rows when the `div#searchres` box is scrolled to its bottom, and a
//! row's card and timeline when its chevron is clicked. Each page waits `Pace::GridPage`
//! (1-5 s at realistic pace) plus the render delay. The markup follows `sandbox.generation`:
//! `legacy` = pre-MDC Material (`mat-row`, `mat-checkbox-input`, no progress bar: a spinner
//! or nothing), `mdc` = today's Material (`mat-mdc-row`, a `mat-progress-bar`).

use super::data::{COLUMNS, TERMINALS, timeline_json};
use super::html::{Classes, Nav, app_page, icon};
use super::request::{Req, Resp, esc, html, json};
use super::state::{Pace, State};
use serde_json::{Value, json as j};
use warp::http::StatusCode;

const CONTAINERS_JS: &str = include_str!("assets/containers.js");

/// The Excel icon as the portal's HTML has it (`mat-icon[svgicon=xls]`, `g#excel_icon`,
/// `path#Path_346` in green).
const XLS_ICON: &str = "<mat-icon role=\"img\" svgicon=\"xls\" class=\"mat-icon notranslate svg-xls-icon \
    mat-icon-no-color\" aria-hidden=\"true\" data-mat-icon-type=\"svg\" data-mat-icon-name=\"xls\">\
    <svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\" fit=\"\" preserveAspectRatio=\"xMidYMid meet\" \
    focusable=\"false\"><g id=\"excel_icon\" transform=\"translate(0 0)\">\
    <path id=\"Path_346\" data-name=\"Path 346\" fill=\"#1a8e07\" d=\"M2 3l12-2v22L2 21V3zm13 2h7v14h-7v-2h5v-2h-5v-2h5v-2h-5V9h5V7h-5V5z\
    M5.2 8l1.9 3.6L5.1 15h1.6l1.2-2.4L9.1 15h1.7l-2-3.5L10.7 8H9.1L7.9 10.4 6.8 8H5.2z\"></path></g></svg></mat-icon>";

const PDF_ICON: &str = "<mat-icon role=\"img\" svgicon=\"pdf\" class=\"mat-icon notranslate svg-pdf-icon \
    mat-icon-no-color\" aria-hidden=\"true\" data-mat-icon-type=\"svg\" data-mat-icon-name=\"pdf\">\
    <svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\" focusable=\"false\"><g id=\"pdf_icon\">\
    <path fill=\"none\" stroke=\"#777\" d=\"M5 2h10l4 4v16H5z M8 16c3-6 4-9 3-10s-2 3 3 8 4 1 0 1-7 3-6 1\"></path>\
    </g></svg></mat-icon>";

/// The grid's toolbar, in the recorded order: title, Actions (disabled until a row is
/// checked), Add to My Containers; email / PDF / Excel; refresh, filter, Saved Views, save.
fn toolbar(c: &Classes) -> String {
    let icon_btn = |extra: &str, title: &str, inner: &str| {
        let cls = if c.legacy {
            "mat-focus-indicator mat-icon-button mat-button-base"
        } else {
            "mdc-icon-button mat-mdc-icon-button mat-mdc-button-base"
        };
        format!(
            "<button type=\"button\" class=\"{cls} {extra}\" mattooltip=\"{title}\" \
             aria-label=\"{title}\">{inner}</button>"
        )
    };
    let views = format!(
        "<button type=\"button\" class=\"saved-views\" aria-haspopup=\"listbox\">\
         <span>Saved Views</span>{}</button>",
        icon("arrow_drop_down")
    );
    format!(
        "<div class=\"containers-toolbar\">\
           <span class=\"page-title\">Containers</span>\
           {actions}{add}<span class=\"toolbar-spacer\"></span>\
           <div class=\"icon-group export-group\">{email}{pdf}{xls}</div>\
           <div class=\"icon-group view-group\">{refresh}{filter}{views}{save}</div>\
         </div>",
        actions = c.stroked_button(
            "actions-button",
            &format!("Actions {}", icon("arrow_drop_down")),
            true
        ),
        add = c.stroked_button("add-my-containers", "Add to My Containers", false),
        email = icon_btn("email-button", "Email", &icon("email")),
        pdf = icon_btn("pdf-button", "PDF", PDF_ICON),
        xls = icon_btn("excel-button", "Excel", XLS_ICON),
        refresh = icon_btn("refresh-button", "Refresh", &icon("refresh")),
        filter = icon_btn("filter-button", "Filter", &icon("filter_alt")),
        views = views,
        save = icon_btn("save-button", "Save", &icon("save")),
    )
}

/// `GET /containers`.
pub fn page(state: &State, username: &str) -> Resp {
    let generation = state.settings.generation.as_str();
    let config = j!({
        "columns": COLUMNS,
        "page_size": state.settings.page_size,
        "generation": generation,
        // Legacy pages show a spinner while a page loads, or now and then at realistic pace
        // (or always, with the grid_spinner control at none) nothing at all; mdc pages a
        // progress bar.
        "spinner": if generation == "mdc" { "bar" } else if state.grid_spinner_now() { "spinner" } else { "none" },
    });
    let cls = Classes::of(&config);
    let (table, header_row, header_cell) = if cls.legacy {
        (
            "mat-table cdk-table",
            "mat-header-row cdk-header-row ng-star-inserted",
            "mat-header-cell cdk-header-cell",
        )
    } else {
        (
            "mat-mdc-table mdc-data-table__table cdk-table",
            "mat-mdc-header-row mdc-data-table__header-row cdk-header-row",
            "mat-mdc-header-cell mdc-data-table__header-cell cdk-header-cell",
        )
    };
    let headers: String = COLUMNS
        .iter()
        .map(|c| {
            format!(
                "<th role=\"columnheader\" mat-header-cell class=\"{header_cell} cdk-column-{k} \
                 mat-column-{k} ng-star-inserted\">{}</th>",
                esc(c),
                k = column_key(c),
            )
        })
        .collect();
    let content = format!(
        "<div class=\"containers-page\">{toolbar}\
           <div id=\"searchres\" matinfinitescroll class=\"search-results\" \
             infinitescrolldistance=\"1\" infinitescrollthrottle=\"50\" style=\"overflow:auto\">\
             <table mat-table role=\"table\" class=\"{table}\">\
               <thead role=\"rowgroup\"><tr role=\"row\" mat-header-row class=\"{header_row}\">\
                 <th role=\"columnheader\" class=\"{header_cell} cdk-column-select mat-column-select\"></th>\
                 <th role=\"columnheader\" class=\"{header_cell} cdk-column-expand mat-column-expand\"></th>\
                 {headers}\
                 <th role=\"columnheader\" class=\"{header_cell} cdk-column-more mat-column-more\"></th>\
               </tr></thead>\
               <tbody role=\"rowgroup\"></tbody>\
             </table>\
           </div></div>",
        toolbar = toolbar(&cls),
    );
    html(
        StatusCode::OK,
        app_page(
            state.hosts(),
            "Containers",
            username,
            Nav::Containers,
            &content,
            &config,
            CONTAINERS_JS,
        ),
    )
}

/// The card's route strip: the places of Origin and Destination in capitals, as recorded
/// ("TOTAL TERMINALS INTL LLC"); `UNKNOWN` for a missing end.
fn route(columns: &[String; 18]) -> Vec<String> {
    let place = |code: &str| {
        TERMINALS
            .iter()
            .find(|(_, c)| *c == code)
            .map_or_else(|| "UNKNOWN".to_string(), |(name, _)| name.to_uppercase())
    };
    vec![place(&columns[7]), place(&columns[8])]
}

/// `Pregate Ticket#` -> `pregate-ticket`: the `cdk-column-*` suffix of a column.
fn column_key(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// `GET /api/containers?page=N` (0-based): one page of grid rows. `cells` are the clean
/// values; `badge`, `ticket_suffix` and `expandable` say how the grid decorates them.
pub async fn api_page(state: &State, username: &str, req: &Req) -> Resp {
    state.pace_pause(Pace::GridPage).await;
    let Some(account) = state.account(username) else {
        return json(StatusCode::NOT_FOUND, &j!({"error": "unknown account"}));
    };
    let page: usize = req.q("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let size = state.settings.page_size.max(1);
    let total = account.containers.len();
    let start = page.saturating_mul(size).min(total);
    let end = (start + size).min(total);
    let rows: Vec<Value> = account.containers[start..end]
        .iter()
        .map(|c| {
            j!({
                "id": c.id(),
                "cells": c.columns,
                "badge": c.badge,
                "ticket_suffix": c.ticket_suffix,
                "expandable": c.expandable,
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &j!({
            "total": total,
            "page": page,
            "page_size": size,
            "rows": rows,
            "has_more": end < total,
        }),
    )
}

/// `GET /api/containers/detail?id=...`: the detail card and timeline of one container.
pub async fn api_detail(state: &State, username: &str, req: &Req) -> Resp {
    state.pace_pause(Pace::Render).await;
    let account = state.account(username);
    let id = req.q("id").unwrap_or("");
    let Some(c) = account.as_ref().and_then(|a| a.container(id)) else {
        return json(StatusCode::NOT_FOUND, &j!({"error": "container not found"}));
    };
    let sections: Vec<Value> = c
        .details
        .iter()
        .map(|s| {
            j!({
                "title": s.title,
                "fields": s.fields.iter().map(|(l, v)| j!({"label": l, "value": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &j!({
            "id": c.id(),
            "booking_number": c.booking_number,
            "sections": sections,
            "timeline": timeline_json(&c.timeline),
            "passed_pregate": c.passed_pregate,
            "route": route(&c.columns),
        }),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn column_keys() {
        assert_eq!(super::column_key("Pregate Ticket#"), "pregate-ticket");
        assert_eq!(super::column_key("LFD/GTD"), "lfd-gtd");
        assert_eq!(super::column_key("Container #"), "container");
    }
}
