//! Operations as data: what a client can ask a session to do on the portal, and what comes
//! back. Neither the HTTP layer nor the driver owns these types: HTTP builds an
//! [`Operation`] from a request, the session actor maps it to driver calls, and the typed
//! result travels back. Every type is plain serde data, so an operation can be logged,
//! queued, retried, or sent to another machine.

mod appointments;
mod browser_state;
mod containers;

pub use appointments::{AppointmentList, AvailableTimes, Booked, ContainerType, ListTarget, Visit};
pub use browser_state::{BrowserState, Cookie, OriginStorage};
pub use containers::{ContainerDetail, Grid, Milestone, Target};

use serde::{Deserialize, Serialize};

/// One business operation on one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "operation")]
pub enum Operation {
    /// Load the containers grid as far as `target` and read its rows.
    GetContainers { target: Target },
    /// Find a container's row, expand it, read its card and timeline (the timeline, the
    /// booking number and the bulk reads all come from this).
    ContainerDetail { container_id: String },
    /// Steps 1-3 of the appointment wizard; never submits.
    CheckAppointments { visit: Visit },
    /// Steps 1-3, pick `time`, submit, and decide from the page whether it was booked.
    MakeAppointment { visit: Visit, time: String },
    /// Read My Appointments.
    GetAppointments { target: ListTarget },
}

impl Operation {
    /// The step name logs and errors use.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::GetContainers { .. } => "get containers",
            Operation::ContainerDetail { .. } => "container detail",
            Operation::CheckAppointments { .. } => "check appointments",
            Operation::MakeAppointment { .. } => "make appointment",
            Operation::GetAppointments { .. } => "get appointments",
        }
    }

    /// A read may be run again on a restarted session; a write (a booking) never is,
    /// behind the client's back.
    pub fn is_read(&self) -> bool {
        !matches!(self, Operation::MakeAppointment { .. })
    }

    /// The container a debug screenshot's label names, if the operation is about one.
    pub fn container(&self) -> Option<&str> {
        match self {
            Operation::ContainerDetail { container_id } => Some(container_id),
            Operation::CheckAppointments { visit } | Operation::MakeAppointment { visit, .. } => {
                visit.container_ids.first().map(String::as_str)
            }
            _ => None,
        }
    }
}

/// What an operation produced, one variant per [`Operation`] variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Containers(Grid),
    Detail(ContainerDetail),
    Times(AvailableTimes),
    Booked(Booked),
    Appointments(AppointmentList),
}

/// A labelled screenshot taken at one step of a `debug` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screenshot {
    pub step: String,
    #[serde(with = "png_base64")]
    pub png: Vec<u8>,
}

/// An operation's result with the screenshots a `debug` request asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done<T> {
    pub value: T,
    pub screenshots: Vec<Screenshot>,
}

/// Screenshots for a `debug: true` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Debug {
    /// Defaults to the session's username.
    pub label: Option<String>,
    /// Written after the label (a check's `vm_email`, as the original did).
    pub note: Option<String>,
}

/// What the page showed when a step failed: the page's HTML and what each profile strategy
/// found there (JSON), for the operator. Never shown in logs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureBundle(#[serde(with = "png_base64")] pub Vec<u8>);

impl std::fmt::Debug for FailureBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailureBundle({} bytes)", self.0.len())
    }
}

/// Bytes as base64 in serialized form (JSON would spell a PNG as a list of numbers).
mod png_base64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip_as_json() {
        let ops = [
            Operation::GetContainers {
                target: Target::Count(40),
            },
            Operation::GetContainers {
                target: Target::All,
            },
            Operation::ContainerDetail {
                container_id: "MSDU5772413".into(),
            },
            Operation::MakeAppointment {
                visit: Visit {
                    terminal: "TTI".into(),
                    container_ids: vec!["MSDU5772413".into()],
                    ..Visit::default()
                },
                time: "Friday 10/24/2025 18:30 - 19:30".into(),
            },
            Operation::GetAppointments {
                target: ListTarget::all(),
            },
        ];
        for op in ops {
            let text = serde_json::to_string(&op).unwrap();
            assert_eq!(
                serde_json::from_str::<Operation>(&text).unwrap(),
                op,
                "{text}"
            );
        }
        let text = serde_json::to_string(&Operation::GetContainers {
            target: Target::Count(3),
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"operation":"get_containers","target":{"until":"count","value":3}}"#
        );
    }

    #[test]
    fn only_bookings_are_writes() {
        let visit = Visit::default();
        assert!(
            !Operation::MakeAppointment {
                visit: visit.clone(),
                time: String::new()
            }
            .is_read()
        );
        assert!(Operation::CheckAppointments { visit }.is_read());
    }

    #[test]
    fn screenshots_serialize_as_base64() {
        let shot = Screenshot {
            step: "result".into(),
            png: vec![0x89, b'P', b'N', b'G'],
        };
        let text = serde_json::to_string(&shot).unwrap();
        assert!(text.contains("iVBORw"), "{text}");
        assert_eq!(serde_json::from_str::<Screenshot>(&text).unwrap(), shot);
    }
}
