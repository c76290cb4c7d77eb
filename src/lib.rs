//! emodal-api: persistent, supervised browser sessions for the E-Modal trucker portal.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | `settings.toml` + `EMODAL__*` environment, the portal profile |
//! | [`secret`] | a string type that never prints itself |
//! | [`telemetry`] | text or JSON logs |
//! | [`sandbox`] | the local stand-in for the E-Modal portal and for 2captcha |

pub mod config;
pub mod sandbox;
pub mod secret;
pub mod telemetry;
