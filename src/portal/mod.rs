//! The portal driver: one headless Chrome per session, driven through the portal profile.
//!
//! Nothing here knows a URL or a selector of its own: everything comes from
//! [`PortalProfile`](crate::config::PortalProfile), so the same code drives the sandbox and
//! the real portal.
//!
//! | module | what |
//! |---|---|
//! | `browser` | launch Chrome (headless_chrome) on a thread of its own; jobs, close, cleanup |
//! | `cdp` | our own DevTools socket to the page (headless_chrome's adds ~100 ms per call) |
//! | `page` | evaluate, navigate, wait for page states, debug screenshots |
//! | `login` | the token-method login and the logged-in check |
//! | `containers` | the grid, its rows, a row's detail card and timeline |
//! | `appointments` | check, book (and decide the outcome), My Appointments |
//! | `my_appointments` | My Appointments: loading route, window scroll, select all, read |
//! | `options` | matching a requested value against a dropdown's options |
//! | `persist` | a login's cookies and web storage: read from one Chrome, installed in another |
//! | `keepalive` | a hibernating session's keep-alive over plain HTTP with its cookies |
//! | `spares` | Chromes launched ahead of need, taken by new sessions and restarts |
//! | `shots` | debug screenshots with their label |
//! | `wizard` | the appointment wizard's steps |
//! | `bundle` | failure bundles: the page and the profile's strategies when a step fails |
//! | `error` | `DriverError`, sorted by what the supervisor should do |

mod appointments;
mod browser;
mod bundle;
mod cdp;
mod containers;
mod error;
mod keepalive;
mod login;
mod my_appointments;
mod options;
mod page;
mod persist;
mod shots;
mod spares;
mod wizard;

pub use appointments::{
    AppointmentList, AvailableTimes, Booked, ContainerType, Visit, check_appointments,
    make_appointment, my_appointments, open_wizard,
};
pub use browser::{
    BrowserHandle, JobTimes, launch_failure, live_browsers, process_alive, scratch_dir, wait_exit,
};
pub use bundle::{capture as capture_bundle, probe_strategies};
pub use containers::{
    ContainerDetail, DETAIL_KEYS, GRID_KEYS, Grid, Milestone, Target, container_detail, read_grid,
};
pub use error::DriverError;
pub use keepalive::keep_alive;
pub use login::{LOGIN_KEYS, LoginForm, check_logged_in, open_login, submit_login};
pub use my_appointments::LIST_KEYS;
pub use page::{Page, Progress, ProgressNow, Shot};
pub use persist::{capture as capture_state, restore as restore_state};
pub use spares::Spares;
pub use wizard::WIZARD_KEYS;
