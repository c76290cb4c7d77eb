//! The deterministic dataset behind the portal stand-in.
//!
//! Every account gets its containers, trucking companies, plates and export bookings from
//! `(seed, username)` alone, so a test can compare what the pages show with
//! `/__sandbox/dataset` and get the same answer on every run. Dates are relative to the
//! *anchor* (the server's start time), because the real portal shows dates around today.
//!
//! The values follow the reference (`portal-reference.md` sections 3-5): column names, value
//! vocabularies, ISO 6346 container numbers, milestone names and date formats.

use super::rng::SplitMix64;
use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The 18 grid columns, in the portal's order. Also the keys of a container in the dataset JSON.
pub const COLUMNS: [&str; 18] = [
    "Container #",
    "Trade Type",
    "Status",
    "Holds",
    "Pregate Ticket#",
    "Emodal Pregate Status",
    "Gate Status",
    "Origin",
    "Destination",
    "Current Loc",
    "Line",
    "Vessel Name",
    "Vessel Code",
    "Voyage",
    "Size Type",
    "Fees",
    "LFD/GTD",
    "Tags",
];

// Column indexes, to keep the generator readable.
const C_ID: usize = 0;
const C_TRADE: usize = 1;
const C_STATUS: usize = 2;
const C_HOLDS: usize = 3;
const C_TICKET: usize = 4;
const C_EPREGATE: usize = 5;
const C_GATE: usize = 6;
const C_ORIGIN: usize = 7;
const C_DEST: usize = 8;
const C_CURLOC: usize = 9;
const C_LINE: usize = 10;
const C_VESSEL: usize = 11;
const C_VCODE: usize = 12;
const C_VOYAGE: usize = 13;
const C_SIZE: usize = 14;
const C_FEES: usize = 15;
const C_LFD: usize = 16;
const C_TAGS: usize = 17;

pub const IMPORT_MILESTONES: [&str; 9] = [
    "Container Manifested",
    "Discharged",
    "Last Free Day",
    "Ready for pick up",
    "Pregate",
    "Departed Terminal",
    "Arrived at customer",
    "Empty released by customer",
    "Empty Received",
];
pub const EXPORT_MILESTONES: [&str; 5] = [
    "Empty Pickup",
    "Empty Received",
    "Terminal In-Gate",
    "Loaded",
    "Load Departure",
];
const PREGATE_INDEX: usize = 4;
const LFD_INDEX: usize = 2;

/// Terminal option texts of the wizard, with the location code the grid uses.
pub const TERMINALS: [(&str, &str); 6] = [
    ("ITS Long Beach", "ITS"),
    ("TraPac LLC - Los Angeles", "TRP1"),
    ("Everport Terminal Services - Los Angeles", "ETSLAX"),
    ("Total Terminals Intl LLC", "TTI"),
    ("Pacific Container Terminal", "PCT"),
    ("SSA Terminal - PierA / LB", "PNCT"),
];
pub const MOVE_TYPES: [&str; 4] = ["DROP EMPTY", "DROP FULL", "PICK FULL", "PICK EMPTY"];
const LOCATIONS: [&str; 6] = ["TTI", "ITS", "PNCT", "TRP1", "PCT", "ETSLAX"];
/// Shipping line, owner prefixes of its boxes, its vessels.
const LINES: [(&str, &[&str], &[&str]); 6] = [
    (
        "MSCU",
        &["MSDU", "MEDU", "MSCU"],
        &["MSC ANNA", "MSC TINA", "MSC ARIANE"],
    ),
    ("HDMU", &["HDMU"], &["HYUNDAI PRIDE", "HMM BLESSING"]),
    (
        "ONEY",
        &["ONEU", "TCLU"],
        &["ONE HARMONY", "ONE COMMITMENT"],
    ),
    (
        "CMDU",
        &["CMAU", "CGMU"],
        &["CMA CGM MARCO POLO", "APL TEMASEK"],
    ),
    ("YMJA", &["YMLU", "YMMU"], &["YM WELLNESS", "YM WARRANTY"]),
    (
        "EGLV",
        &["EGHU", "EMCU", "EISU"],
        &["EVER LOVELY", "EVER LOADING"],
    ),
];
const SIZE_TYPES: [&str; 6] = ["20GP", "40DH", "45DH", "40RH", "40HC", "40GP"];
const TRUCKING_COMPANIES: [&str; 8] = [
    "K & R TRANSPORTATION LLC",
    "PACIFIC COAST DRAYAGE INC",
    "HARBOR EXPRESS TRUCKING",
    "SOCAL CONTAINER LINES LLC",
    "GOLDEN STATE TRANSPORT",
    "LONG BEACH CARTAGE CO",
    "WEST PORT LOGISTICS INC",
    "BLUE WAVE DRAYAGE",
];
const SCACS: [&str; 6] = ["KRTL", "PCDI", "HBXT", "SCLL", "GSTP", "LBCC"];
const DRIVERS: [&str; 6] = [
    "JOSE MARTINEZ",
    "DAVID NGUYEN",
    "MICHAEL BROWN",
    "LUIS HERNANDEZ",
    "JAMES KIM",
    "CARLOS GARCIA",
];
const FEES: [&str; 5] = ["$75.00", "$150.00", "$285.00", "$420.50", "$1,125.00"];

/// One milestone of a container timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    pub milestone: &'static str,
    /// `MM/DD/YYYY HH:MM`, `MM/DD/YYYY` (Last Free Day) or `N/A`.
    pub date: String,
    pub completed: bool,
}

/// A section of the detail card: title and `(label, value)` pairs, in display order.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailSection {
    pub title: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    /// The 18 grid values, in [`COLUMNS`] order.
    pub columns: [String; 18],
    pub booking_number: Option<String>,
    /// Oldest first.
    pub timeline: Vec<Milestone>,
    pub passed_pregate: bool,
    pub details: Vec<DetailSection>,
    /// The grid's round badge after the number: `L` (laden) or `E` (empty); `None` for rows the
    /// portal shows without one. Display only: the dataset's `Container #` has no badge.
    pub badge: Option<&'static str>,
    /// The small grey number the grid shows after TTI/ITSLB tickets (`TTI-1007-88006 396220`).
    /// Display only: the portal's own export, and the dataset, have the ticket alone.
    pub ticket_suffix: Option<String>,
    /// False for containers the portal knows nothing about (every column N/A): their rows
    /// have no chevron, so no detail card or timeline can be opened.
    pub expandable: bool,
}

impl Container {
    pub fn id(&self) -> &str {
        &self.columns[C_ID]
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (name, value) in COLUMNS.iter().zip(&self.columns) {
            m.insert((*name).to_string(), json!(value));
        }
        m.insert("booking_number".into(), json!(self.booking_number));
        m.insert("timeline".into(), timeline_json(&self.timeline));
        m.insert("passed_pregate".into(), json!(self.passed_pregate));
        m.insert("expandable".into(), json!(self.expandable));
        let mut details = Map::new();
        for section in &self.details {
            for (label, value) in &section.fields {
                details.insert((*label).to_string(), json!(value));
            }
        }
        m.insert("details".into(), Value::Object(details));
        Value::Object(m)
    }
}

pub fn timeline_json(timeline: &[Milestone]) -> Value {
    timeline
        .iter()
        .map(|m| {
            json!({
                "milestone": m.milestone,
                "date": m.date,
                "status": if m.completed { "completed" } else { "pending" },
            })
        })
        .collect()
}

/// Everything one account sees in the portal.
#[derive(Debug, Clone)]
pub struct AccountData {
    pub username: String,
    pub containers: Vec<Container>,
    pub trucking_companies: Vec<String>,
    pub truck_plates: Vec<String>,
    /// Booking numbers the wizard accepts (they have open transactions).
    pub export_bookings: Vec<String>,
}

impl AccountData {
    pub fn container(&self, id: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.id() == id)
    }

    pub fn terminals() -> Vec<&'static str> {
        TERMINALS.iter().map(|(name, _)| *name).collect()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "username": self.username,
            "columns": COLUMNS,
            "containers": self.containers.iter().map(Container::to_json).collect::<Vec<_>>(),
            "trucking_companies": self.trucking_companies,
            "terminals": Self::terminals(),
            "move_types": MOVE_TYPES,
            "truck_plates": self.truck_plates,
            "export_bookings": self.export_bookings,
        })
    }
}

/// ISO 6346 check digit of the first 10 characters (owner code, category, serial).
/// Returns `None` for malformed input. A remainder of 10 is written as 0, per the standard.
pub fn iso6346_check_digit(first10: &str) -> Option<u32> {
    iso6346_remainder(first10).map(|r| r % 10)
}

/// The weighted sum modulo 11 behind the check digit (10 means an ambiguous digit).
fn iso6346_remainder(first10: &str) -> Option<u32> {
    let bytes = first10.as_bytes();
    if bytes.len() != 10 {
        return None;
    }
    let mut sum = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        let v = match b {
            b'A'..=b'Z' if i < 4 => {
                // A=10, then +1 per letter, skipping multiples of 11.
                let mut v = 10;
                for _ in b'A'..b {
                    v += 1;
                    if v % 11 == 0 {
                        v += 1;
                    }
                }
                v
            }
            b'0'..=b'9' if i >= 4 => u32::from(b - b'0'),
            _ => return None,
        };
        sum += v << i;
    }
    Some(sum % 11)
}

/// True for a well-formed container number with the right check digit.
pub fn is_valid_container_number(id: &str) -> bool {
    id.len() == 11
        && id.is_char_boundary(10)
        && id.as_bytes()[3] == b'U'
        && iso6346_check_digit(&id[..10]).is_some_and(|d| id[10..].parse::<u32>().ok() == Some(d))
}

fn fmt_dt(t: NaiveDateTime) -> String {
    t.format("%m/%d/%Y %H:%M").to_string()
}

fn fmt_d(d: NaiveDate) -> String {
    d.format("%m/%d/%Y").to_string()
}

const NA: &str = "N/A";

/// Generate one account's data. `anchor` is "now" for the relative dates.
pub fn generate(seed: u64, username: &str, count: usize, anchor: NaiveDateTime) -> AccountData {
    let mut r = SplitMix64::for_account(seed, username, "containers");
    let mut seen = HashSet::new();
    let mut containers = Vec::with_capacity(count);
    let mut last_booking: Option<String> = None;
    // Badges come from their own stream so that they do not shift the other values.
    let mut rb = SplitMix64::for_account(seed, username, "badges");
    for i in 0..count {
        // The first few containers cycle through every (trade, status) pair so that even a small
        // account shows every status; the rest are drawn at random.
        let mut c = gen_container(&mut r, i, anchor, &mut seen, &mut last_booking);
        c.badge = badge(&c, &mut rb);
        containers.push(c);
    }

    let mut r2 = SplitMix64::for_account(seed, username, "trucking");
    let mut trucking_companies = vec![TRUCKING_COMPANIES[0].to_string()];
    while trucking_companies.len() < 4 {
        let t = r2.pick(&TRUCKING_COMPANIES[1..]).to_string();
        if !trucking_companies.contains(&t) {
            trucking_companies.push(t);
        }
    }

    let mut r3 = SplitMix64::for_account(seed, username, "plates");
    let mut truck_plates = Vec::new();
    while truck_plates.len() < 5 {
        let plate = format!("{}{}{}", r3.range(1, 9), r3.letters(1), r3.digits(5));
        if !truck_plates.contains(&plate) {
            truck_plates.push(plate);
        }
    }

    // Open transactions: bookings whose full container has not reached the terminal yet, plus a
    // few fresh bookings with no container picked up so far.
    let mut export_bookings: Vec<String> = Vec::new();
    for c in &containers {
        if let Some(b) = &c.booking_number
            && (c.columns[C_STATUS] == "GATE OUT" || c.columns[C_STATUS] == NA)
            && !export_bookings.contains(b)
        {
            export_bookings.push(b.clone());
        }
    }
    let mut r4 = SplitMix64::for_account(seed, username, "bookings");
    for _ in 0..3 {
        export_bookings.push(booking_number(&mut r4));
    }

    AccountData {
        username: username.to_string(),
        containers,
        trucking_companies,
        truck_plates,
        export_bookings,
    }
}

/// `E` while the box travels empty (import returned empty, export not yet loaded), else `L`;
/// some rows with data show no badge at all, and unknown containers never do.
fn badge(c: &Container, r: &mut SplitMix64) -> Option<&'static str> {
    let without = r.chance(12);
    if !c.expandable || without {
        return None;
    }
    let done = c.timeline.iter().filter(|m| m.completed).count();
    let empty = match c.columns[C_TRADE].as_str() {
        "IMPORT" => done >= 8,
        _ => done <= 1,
    };
    Some(if empty { "E" } else { "L" })
}

fn booking_number(r: &mut SplitMix64) -> String {
    let port = *r.pick(&["RIC", "LAX", "LGB", "OAK", "SEA"]);
    format!("{port}{}{}", r.letters(3), r.digits(6))
}

#[derive(Clone, Copy, PartialEq)]
enum Trade {
    Import,
    Export,
    Unknown,
}

const IMPORT_STATUSES: [&str; 4] = ["ON VESSEL", "IN YARD", "GATE OUT", "N/A"];
const EXPORT_STATUSES: [&str; 5] = ["GATE OUT", "GATE IN", "IN YARD", "ON VESSEL", "N/A"];

fn gen_container(
    r: &mut SplitMix64,
    index: usize,
    anchor: NaiveDateTime,
    seen: &mut HashSet<String>,
    last_booking: &mut Option<String>,
) -> Container {
    let (trade, status) = if index < 9 {
        if index < 4 {
            (Trade::Import, IMPORT_STATUSES[index])
        } else {
            (Trade::Export, EXPORT_STATUSES[index - 4])
        }
    } else {
        let t = r.below(100);
        if t < 57 {
            let s = r.below(100);
            let st = match s {
                0..20 => "ON VESSEL",
                20..58 => "IN YARD",
                58..95 => "GATE OUT",
                _ => NA,
            };
            (Trade::Import, st)
        } else if t < 96 {
            let s = r.below(100);
            let st = match s {
                0..25 => "GATE OUT",
                25..52 => "GATE IN",
                52..68 => "IN YARD",
                68..95 => "ON VESSEL",
                _ => NA,
            };
            (Trade::Export, st)
        } else {
            (Trade::Unknown, NA)
        }
    };

    let (line, prefixes, vessels) = *r.pick(&LINES);
    let id = loop {
        let owner = *r.pick(prefixes);
        let serial = r.digits(6);
        let first10 = format!("{owner}{serial}");
        match iso6346_remainder(&first10) {
            // A remainder of 10 makes an ambiguous check digit: real owners skip such serials.
            Some(d) if d < 10 => {
                let id = format!("{first10}{d}");
                if seen.insert(id.clone()) {
                    break id;
                }
            }
            _ => {}
        }
    };
    let vessel = *r.pick(vessels);
    let vessel_code: String = vessel
        .split_whitespace()
        .flat_map(|w| w.chars().take(2))
        .take(4)
        .collect();
    let voyage = format!(
        "{}{}{}",
        r.letters(2),
        r.digits(3),
        r.pick(&["W", "E", "N", "S"])
    );
    let size = *r.pick(&SIZE_TYPES);
    let loc = *r.pick(&LOCATIONS);
    let fees_masked = r.chance(8);
    let tag = match r.below(100) {
        0..80 => NA,
        80..90 => "HOT",
        _ => "PRIORITY",
    };
    let haz = if r.chance(5) { "Y" } else { "N" };
    let weight_full = 8_000 + r.below(36_000);
    let yard_loc = format!(
        "{}{:02}-{:02}-{}",
        r.letters(1),
        r.range(1, 40),
        r.range(1, 20),
        r.range(1, 5)
    );
    let scac = *r.pick(&SCACS);
    let driver = *r.pick(&DRIVERS);
    let truck_no = format!("T{}", r.digits(4));

    let milestones: &[&'static str] = match trade {
        Trade::Export => &EXPORT_MILESTONES,
        _ => &IMPORT_MILESTONES,
    };
    let done = match (trade, status) {
        (Trade::Import, "ON VESSEL") => 1,
        (Trade::Import, "IN YARD") => r.range(2, 5) as usize,
        (Trade::Import, "GATE OUT") => r.range(6, 9) as usize,
        (Trade::Export, "GATE OUT") => 1,
        (Trade::Export, "GATE IN") => r.range(2, 3) as usize,
        (Trade::Export, "IN YARD") => 3,
        (Trade::Export, "ON VESSEL") => r.range(4, 5) as usize,
        _ => 0,
    };

    // Completed milestone times, newest last: walk back from the anchor.
    let mut times = vec![anchor; done];
    let mut t = anchor - Duration::minutes(r.range(60, 36 * 60));
    for slot in times.iter_mut().rev() {
        *slot = t;
        t -= Duration::minutes(r.range(6 * 60, 72 * 60));
    }
    // Whole minutes: the portal never shows seconds, and the anchor has some.
    for t in &mut times {
        *t = t
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(*t);
    }

    let discharged = (trade == Trade::Import && done >= 2).then(|| times[1].date());
    let lfd = discharged.map(|d| d + Duration::days(4));
    let gtd = lfd.map(|d| d + Duration::days(r.range(0, 5)));

    let mut timeline = Vec::with_capacity(milestones.len());
    for (i, name) in milestones.iter().enumerate() {
        let completed = i < done;
        let date = if !completed {
            NA.to_string()
        } else if trade == Trade::Import && i == LFD_INDEX {
            lfd.map_or(NA.to_string(), fmt_d)
        } else if i != 1 && r.chance(10) {
            // The portal really does mark some milestones done without a date.
            NA.to_string()
        } else {
            fmt_dt(times[i])
        };
        timeline.push(Milestone {
            milestone: name,
            date,
            completed,
        });
    }
    let passed_pregate = trade == Trade::Import && done > PREGATE_INDEX;
    let pregate_time = passed_pregate.then(|| fmt_dt(times[PREGATE_INDEX]));

    // Pregate ticket and statuses.
    let has_ticket = passed_pregate || (trade == Trade::Export && done >= 3);
    // Ticket prefixes as the portal writes them; only TTI and ITSLB tickets get the grey
    // number after them in the grid.
    let (ticket, ticket_suffix) = if has_ticket {
        let mmdd = format!("{:02}{:02}", r.range(1, 12), r.range(1, 28));
        let serial = r.digits(5);
        match loc {
            "TRP1" => (format!("TRPCLA-{mmdd}-{serial}"), None),
            "ITS" => (format!("ITSLB-{mmdd}-{serial}"), Some(r.digits(7))),
            "TTI" => (format!("TTI-{mmdd}-{serial}"), Some(r.digits(6))),
            other => (format!("{other}-{mmdd}-{serial}"), None),
        }
    } else {
        (NA.to_string(), None)
    };
    let (epregate, gate) = match (trade, status) {
        (Trade::Import, "IN YARD") if passed_pregate => {
            if r.chance(30) {
                ("MISSED", NA)
            } else {
                ("CONFIRMED", "CONFIRMED")
            }
        }
        (Trade::Import, "GATE OUT") => ("COMPLETED", "ACCEPTED"),
        (Trade::Export, _) if has_ticket => ("COMPLETED", "ACCEPTED"),
        _ => (NA, NA),
    };

    let holds = matches!(status, "ON VESSEL" | "IN YARD") && trade == Trade::Import && r.chance(30);
    let custom_hold = holds && r.chance(60);
    let line_hold = holds && !custom_hold;

    let booking_number = (trade == Trade::Export).then(|| match last_booking {
        // Several boxes often travel on one booking.
        Some(b) if r.chance(30) => b.clone(),
        _ => booking_number(r),
    });
    if let Some(b) = &booking_number {
        *last_booking = Some(b.clone());
    }

    let fees = if fees_masked {
        "****".to_string()
    } else if trade == Trade::Import && status == "IN YARD" && r.chance(40) {
        r.pick(&FEES).to_string()
    } else {
        "$0.00".to_string()
    };
    let lfd_gtd = match (lfd, gtd) {
        (Some(l), Some(g)) => format!("{} - {}", fmt_d(l), fmt_d(g)),
        _ => NA.to_string(),
    };
    let (origin, dest, curloc) = match (trade, status) {
        (Trade::Import, "IN YARD") => (loc, NA, loc),
        (Trade::Import, _) => (loc, NA, NA),
        (Trade::Export, "GATE IN" | "IN YARD") => (NA, loc, loc),
        (Trade::Export, _) => (NA, loc, NA),
        _ => (NA, NA, NA),
    };
    let trade_text = match trade {
        Trade::Import => "IMPORT",
        Trade::Export => "EXPORT",
        Trade::Unknown => NA,
    };

    let columns: [String; 18] = {
        let mut c: [String; 18] = Default::default();
        c[C_ID] = id.clone();
        c[C_TRADE] = trade_text.into();
        c[C_STATUS] = status.into();
        c[C_HOLDS] = if holds { "YES" } else { "NO" }.into();
        c[C_TICKET] = ticket;
        c[C_EPREGATE] = epregate.into();
        c[C_GATE] = gate.into();
        c[C_ORIGIN] = origin.into();
        c[C_DEST] = dest.into();
        c[C_CURLOC] = curloc.into();
        c[C_LINE] = line.into();
        c[C_VESSEL] = vessel.into();
        c[C_VCODE] = vessel_code.clone();
        c[C_VOYAGE] = voyage.clone();
        c[C_SIZE] = size.into();
        c[C_FEES] = fees.clone();
        c[C_LFD] = lfd_gtd;
        c[C_TAGS] = tag.into();
        if trade == Trade::Unknown {
            // The portal knows nothing of it: every column but the number reads N/A.
            for v in c.iter_mut().skip(1) {
                *v = NA.into();
            }
        }
        c
    };

    let yes_no = |b: bool| if b { "YES" } else { "NO" }.to_string();
    let gated_out_import = trade == Trade::Import && status == "GATE OUT";
    let gated_in_export = trade == Trade::Export && done >= 3;
    let full = !(trade == Trade::Import && done >= 8);
    let weight = if full {
        weight_full
    } else {
        4_000 + weight_full % 1_500
    };
    let discharge_estimate = match (trade, times.get(1)) {
        (Trade::Import, Some(t)) => fmt_d(t.date()),
        (Trade::Import, None) => fmt_d((anchor + Duration::days(r.range(1, 12))).date()),
        _ => NA.into(),
    };
    let truck_fields = |carrier: &'static str, trucked: bool| {
        let v = |s: String| if trucked { s } else { NA.into() };
        vec![
            (carrier, v("MOTOR CARRIER".into())),
            ("Truck #", v(truck_no.clone())),
            ("Trucker Scac", v(scac.into())),
            ("Driver Name", v(driver.into())),
            (
                "Pregate Time",
                pregate_time.clone().unwrap_or_else(|| NA.into()),
            ),
            ("Pregate Status", epregate.into()),
            ("Rail Number", NA.into()),
        ]
    };
    let vessel_fields = |carrier: &'static str, known: bool| {
        let v = |s: String| if known { s } else { NA.into() };
        vec![
            (carrier, v("VESSEL".into())),
            ("Line", v(line.into())),
            ("Vessel Code/Voyage", v(format!("{vessel_code}/{voyage}"))),
        ]
    };
    let details = vec![
        // Exports show their booking; imports the discharge estimate and group code, as the
        // recorded cards do.
        DetailSection {
            title: "Status",
            fields: match trade {
                Trade::Export => vec![
                    ("Status", status.to_string()),
                    (
                        "Booking #",
                        booking_number.clone().unwrap_or_else(|| NA.into()),
                    ),
                ],
                _ => vec![
                    ("Status", status.to_string()),
                    ("Estimated Discharge Date", discharge_estimate),
                    ("Group Code #", NA.into()),
                ],
            },
        },
        DetailSection {
            title: "Holds/Releases",
            fields: vec![
                ("Custom Hold", yes_no(custom_hold)),
                (
                    "Custom Release",
                    yes_no(trade == Trade::Import && done >= 2 && !custom_hold),
                ),
                ("Line Hold", yes_no(line_hold)),
                (
                    "Line Release",
                    yes_no(trade == Trade::Import && done >= 2 && !line_hold),
                ),
                (
                    "Other Holds",
                    if holds && r.chance(30) {
                        "CTF HOLD"
                    } else {
                        "NONE"
                    }
                    .into(),
                ),
                ("LFD", lfd.map_or(NA.into(), fmt_d)),
                ("Good Through", gtd.map_or(NA.into(), fmt_d)),
            ],
        },
        DetailSection {
            title: "Fees",
            fields: vec![("Fees", fees)],
        },
        // The truck side and the vessel side swap with the trade, as recorded: an import
        // arrives by vessel and leaves by truck, an export the other way round.
        DetailSection {
            title: "Arrival Information",
            fields: match trade {
                Trade::Export => truck_fields("Arrival Carrier", gated_in_export),
                _ => vessel_fields("Arrival Carrier", trade == Trade::Import),
            },
        },
        DetailSection {
            title: "Departure Information",
            fields: match trade {
                Trade::Export => vessel_fields("Departure Carrier", true),
                _ => truck_fields("Departure Carrier", gated_out_import),
            },
        },
        DetailSection {
            title: "Other Information",
            fields: vec![
                ("Haz", haz.into()),
                ("OD", "N".into()),
                (
                    "Reefer",
                    if size.ends_with("RH") { "Y" } else { "N" }.into(),
                ),
                (
                    "Yard Location",
                    if curloc != NA { yard_loc } else { NA.into() },
                ),
                ("Weight", group_thousands(weight)),
                ("UOM", "LB".into()),
                (
                    "Yard Status",
                    match status {
                        "IN YARD" | "GATE IN" => "GROUNDED",
                        "GATE OUT" => "DELIVERED",
                        "ON VESSEL" => "ON VESSEL",
                        _ => NA,
                    }
                    .into(),
                ),
            ],
        },
    ];

    Container {
        columns,
        booking_number,
        timeline,
        passed_pregate,
        details,
        badge: None,
        ticket_suffix,
        expandable: trade != Trade::Unknown,
    }
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 10, 5)
            .unwrap()
            .and_hms_opt(10, 30, 0)
            .unwrap()
    }

    #[test]
    fn check_digits_match_known_containers() {
        assert_eq!(iso6346_check_digit("CSQU305438"), Some(3));
        assert_eq!(iso6346_check_digit("MSDU577241"), Some(3));
        assert!(is_valid_container_number("MSDU5772413"));
        assert!(is_valid_container_number("CSQU3054383"));
        assert!(!is_valid_container_number("CSQU3054384"));
        assert!(!is_valid_container_number("CSQ13054383"));
    }

    #[test]
    fn same_seed_and_user_same_data() {
        let a = generate(7, "demo", 120, anchor());
        let b = generate(7, "demo", 120, anchor());
        assert_eq!(a.containers, b.containers);
        assert_eq!(a.truck_plates, b.truck_plates);
        let c = generate(7, "demo2", 120, anchor());
        assert_ne!(a.containers[0].columns, c.containers[0].columns);
        let d = generate(8, "demo", 120, anchor());
        assert_ne!(a.containers[0].columns, d.containers[0].columns);
    }

    #[test]
    fn containers_are_valid_unique_and_varied() {
        let a = generate(20251005, "demo", 120, anchor());
        assert_eq!(a.containers.len(), 120);
        let ids: HashSet<_> = a.containers.iter().map(|c| c.id().to_string()).collect();
        assert_eq!(ids.len(), 120);
        for c in &a.containers {
            assert!(is_valid_container_number(c.id()), "{}", c.id());
            assert_eq!(c.columns.len(), 18);
            let exp = c.columns[C_TRADE] == "EXPORT";
            assert_eq!(c.booking_number.is_some(), exp);
            for (i, m) in c.timeline.iter().enumerate() {
                if !m.completed {
                    assert_eq!(m.date, "N/A");
                    assert!(c.timeline[i..].iter().all(|m| !m.completed));
                }
            }
        }
        for status in ["ON VESSEL", "IN YARD", "GATE IN", "GATE OUT", "N/A"] {
            assert!(
                a.containers.iter().any(|c| c.columns[C_STATUS] == status),
                "{status}"
            );
        }
        for trade in ["IMPORT", "EXPORT"] {
            assert!(a.containers.iter().any(|c| c.columns[C_TRADE] == trade));
        }
        for holds in ["YES", "NO"] {
            assert!(a.containers.iter().any(|c| c.columns[C_HOLDS] == holds));
        }
        assert!(a.containers.iter().any(|c| c.columns[C_FEES] == "****"));
        assert!(a.containers.iter().any(|c| c.passed_pregate));
        assert!(
            a.containers
                .iter()
                .any(|c| c.columns[C_LFD].contains(" - "))
        );
        assert!(!a.export_bookings.is_empty());
    }

    #[test]
    fn timelines_follow_status() {
        let a = generate(1, "demo", 200, anchor());
        for c in &a.containers {
            let done = c.timeline.iter().filter(|m| m.completed).count();
            match (c.columns[C_TRADE].as_str(), c.columns[C_STATUS].as_str()) {
                ("IMPORT", "ON VESSEL") => assert_eq!(done, 1),
                ("IMPORT", "IN YARD") => assert!((2..=5).contains(&done)),
                ("IMPORT", "GATE OUT") => assert!(done >= 6),
                ("EXPORT", "ON VESSEL") => assert!(done >= 4),
                _ => {}
            }
            assert_eq!(c.passed_pregate, c.columns[C_TRADE] == "IMPORT" && done > 4);
        }
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(22450), "22,450");
        assert_eq!(group_thousands(950), "950");
    }
}
