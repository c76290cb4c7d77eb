//! The one place an [`Operation`] becomes driver calls. Runs on the session's browser
//! thread; the driver's error type goes no further than the session actor.

use crate::model::{Done, FailureBundle, Operation, Outcome};
use crate::portal::{self, DriverError, Page};

/// A driver failure that left a failure bundle, or one that needs none.
pub type Performed = Result<Result<Done<Outcome>, (DriverError, FailureBundle)>, DriverError>;

/// Run `op` on `page`. With a `debug` label, each step is screenshotted. A step that met a
/// page it did not expect leaves a failure bundle (the page and what each profile strategy
/// found there) for the operator.
pub fn perform(page: &mut Page, op: &Operation, debug: Option<&str>) -> Performed {
    if let Some(label) = debug {
        page.start_debug(label, op.container());
    }
    let result = match op {
        Operation::GetContainers { target } => {
            portal::read_grid(page, target).map(Outcome::Containers)
        }
        Operation::ContainerDetail { container_id } => {
            portal::container_detail(page, container_id).map(Outcome::Detail)
        }
        Operation::CheckAppointments { visit } => {
            portal::check_appointments(page, visit).map(Outcome::Times)
        }
        Operation::MakeAppointment { visit, time } => {
            portal::make_appointment(page, visit, time).map(Outcome::Booked)
        }
        Operation::GetAppointments { target } => {
            portal::my_appointments(page, target).map(Outcome::Appointments)
        }
    };
    match result {
        Ok(value) => {
            page.snap("result");
            Ok(Ok(Done {
                value,
                screenshots: page.take_shots(),
            }))
        }
        Err(e) if e.wants_bundle() => {
            let bundle = portal::capture_bundle(page, &e);
            page.take_shots();
            Ok(Err((e, FailureBundle(bundle))))
        }
        Err(e) => {
            page.take_shots();
            Err(e)
        }
    }
}
