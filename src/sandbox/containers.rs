//! `/containers`: the infinite-scroll grid and its JSON APIs.
//!
//! As on the real portal, the page arrives without rows; the script fetches pages of
//! `page_size` rows when the `div#searchres` box is scrolled to its bottom, and a row's detail
//! card and timeline when the row is expanded. Both fetches wait `render_delay_ms`.

use super::data::{COLUMNS, timeline_json};
use super::html::{Nav, app_page};
use super::request::{Req, Resp, esc, html, json};
use super::state::State;
use serde_json::{Value, json as j};
use warp::http::StatusCode;

const CONTAINERS_JS: &str = include_str!("assets/containers.js");

/// `GET /containers`.
pub fn page(state: &State, username: &str) -> Resp {
    let headers: String = COLUMNS
        .iter()
        .map(|c| {
            format!(
                "<th role=\"columnheader\" class=\"mat-mdc-header-cell mdc-data-table__header-cell \
                 cdk-header-cell\">{}</th>",
                esc(c)
            )
        })
        .collect();
    let content = format!(
        "<div class=\"breadcrumb\">Home / Containers</div>\
         <h1 class=\"page-title\">Containers</h1>\
         <p class=\"page-subtitle\">Containers on your watch list. Scroll to load more; click a row \
         for details.</p>\
         <mat-card class=\"mat-mdc-card table-card\">\
           <div class=\"table-toolbar\"><h2>My Containers</h2><span class=\"count\" \
             id=\"container-count\"></span></div>\
           <div id=\"searchres\" matinfinitescroll class=\"search-results\" \
             infinitescrolldistance=\"1\" infinitescrollthrottle=\"50\" style=\"overflow:auto\">\
             <table mat-table role=\"table\" class=\"mat-mdc-table mdc-data-table__table cdk-table\">\
               <thead role=\"rowgroup\"><tr role=\"row\" class=\"mat-mdc-header-row \
                 mdc-data-table__header-row cdk-header-row\">\
                 <th class=\"mat-mdc-header-cell select-cell\"><mat-checkbox class=\"mat-mdc-checkbox\">\
                   <input type=\"checkbox\" class=\"mdc-checkbox__native-control\" \
                   aria-label=\"Select all\"></mat-checkbox></th>\
                 {headers}\
                 <th class=\"mat-mdc-header-cell expand-cell\" aria-label=\"Expand\"></th>\
               </tr></thead>\
               <tbody role=\"rowgroup\" class=\"mdc-data-table__content\"></tbody>\
             </table>\
           </div>\
         </mat-card>"
    );
    let config = j!({ "columns": COLUMNS, "page_size": state.settings.page_size });
    html(
        StatusCode::OK,
        app_page(
            "eModal - Containers",
            username,
            Nav::Containers,
            &content,
            &config,
            CONTAINERS_JS,
        ),
    )
}

/// `GET /api/containers?page=N` (0-based): one page of grid rows.
pub async fn api_page(state: &State, username: &str, req: &Req) -> Resp {
    state.render_pause().await;
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
        .map(|c| j!({"id": c.id(), "cells": c.columns}))
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
    state.render_pause().await;
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
        }),
    )
}
