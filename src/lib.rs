//! emodal-api: persistent, supervised browser sessions for the E-Modal trucker portal.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | `settings.toml` + `EMODAL__*` environment, the portal profile |
//! | [`secret`] | a string type that never prints itself |
//! | [`telemetry`] | text or JSON logs |
//! | [`app`] | wiring and graceful shutdown: [`app::Application`] |
//! | [`http`] | the warp layer: filters, handlers, JSON errors |
//! | [`error`] | [`error::ApiError`], the JSON error every endpoint answers with |
//! | [`model`] | operations as data: [`model::Operation`], its arguments and typed results |
//! | [`actors`] | SessionManager supervising one SessionActor per session (see `actors.md`) |
//! | [`portal`] | the browser driver: login, refresh, pages; all selectors from the profile |
//! | [`captcha`] | a 2captcha classic-API client |
//! | [`check_profile`] | `check-profile`: what each profile strategy matches on each page |
//! | [`cleanup`] | one instance per data directory; leftovers of a killed run |
//! | [`cluster`] | cluster mode: nodes sharing sessions through NATS JetStream |
//! | [`credentials`] | credentials, their keyed hash, session ids |
//! | [`metrics`] | Prometheus metrics: counters where things happen, gauges when scraped |
//! | [`files`] | files written for clients, served from `/files`, swept on a timer |
//! | [`sheet`] | `.xlsx` export |
//! | [`timefmt`] | timestamps as clients see them |
//! | [`snapshot`] | encrypted session snapshots: what brings a session back without a login |
//! | [`sandbox`] | the local stand-in for the E-Modal portal and for 2captcha |

pub mod actors;
pub mod app;
pub mod captcha;
pub mod check_profile;
pub mod cleanup;
pub mod cluster;
pub mod config;
pub mod credentials;
pub mod error;
pub mod files;
pub mod http;
pub mod metrics;
pub mod model;
pub mod portal;
pub mod sandbox;
pub mod secret;
pub mod sheet;
pub mod snapshot;
pub mod telemetry;
pub mod timefmt;
