//! Matching what a client asked for against what a dropdown offers, and small text helpers
//! shared by the wizard and My Appointments.

use super::{DriverError, Page};

/// Pick the option for `requested`: the exact text (trimmed, case-insensitive); else the
/// `alias` from the profile (e.g. terminal code TTI -> "Total Terminals Intl LLC"); else the
/// only option containing `requested` as a whole word or phrase (so "ITS" finds
/// "ITS Long Beach" and "TTI" finds "Total Terminals Intl LLC (TTI)"); else `Invalid`.
pub(crate) fn match_option(
    what: &str,
    requested: &str,
    options: &[String],
    alias: Option<&str>,
) -> Result<usize, DriverError> {
    let want = norm(requested).to_lowercase();
    let exact = |w: &str| options.iter().position(|o| norm(o).to_lowercase() == w);
    if let Some(i) = exact(&want) {
        return Ok(i);
    }
    if let Some(i) = alias.and_then(|a| exact(&norm(a).to_lowercase())) {
        return Ok(i);
    }
    let hits: Vec<usize> = if want.is_empty() {
        Vec::new()
    } else {
        options
            .iter()
            .enumerate()
            .filter(|(_, o)| contains_word(&norm(o).to_lowercase(), &want))
            .map(|(i, _)| i)
            .collect()
    };
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(DriverError::Invalid(format!(
            "{what} '{requested}' is not offered; options: {}",
            list_or_none(options)
        ))),
        many => Err(DriverError::Invalid(format!(
            "{what} '{requested}' matches several options ({}); options: {}",
            many.iter()
                .map(|&i| options[i].as_str())
                .collect::<Vec<_>>()
                .join(", "),
            list_or_none(options)
        ))),
    }
}

/// Does `hay` contain `needle` with no letter or digit right before or after it?
fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, m)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `portal.wizard` key of an alias: `terminal_alias_tti` for terminal "TTI".
pub(super) fn alias_key(prefix: &str, requested: &str) -> String {
    let code: String = norm(requested)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_alias_{code}")
}

/// A millisecond setting from `portal.wizard`, or `default` when absent or not a number.
pub(super) fn wizard_ms(page: &Page, key: &str, default: u64) -> u64 {
    page.profile
        .wizard_text(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

pub(super) fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn list_or_none(options: &[String]) -> String {
    if options.is_empty() {
        "(none)".into()
    } else {
        options.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_then_alias_then_whole_word() {
        let terminals = opts(&[
            "ITS Long Beach",
            "TraPac LLC - Los Angeles",
            "Total Terminals Intl LLC",
            "Pacific Container Terminal",
            "SSA Terminal - PierA / LB",
        ]);
        assert_eq!(
            match_option("terminal", " its long beach ", &terminals, None),
            Ok(0)
        );
        assert_eq!(match_option("terminal", "ITS", &terminals, None), Ok(0));
        assert_eq!(
            match_option(
                "terminal",
                "TTI",
                &terminals,
                Some("Total Terminals Intl LLC")
            ),
            Ok(2)
        );
        assert_eq!(match_option("terminal", "lb", &terminals, None), Ok(4));
        let coded = opts(&[
            "Total Terminals Intl LLC (TTI)",
            "Pacific Container Terminal (PCT)",
        ]);
        assert_eq!(match_option("terminal", "tti", &coded, None), Ok(0));
        // "TraPac" is part of no whole word in another option, but "Terminal" is ambiguous.
        let err = match_option("terminal", "Terminal", &terminals, None).unwrap_err();
        assert!(
            matches!(&err, DriverError::Invalid(m) if m.contains("several")),
            "{err}"
        );
        // A word prefix is not a word.
        let err = match_option("terminal", "TTI", &terminals, None).unwrap_err();
        let DriverError::Invalid(m) = err else {
            panic!("{err:?}")
        };
        assert!(
            m.starts_with("terminal 'TTI' is not offered; options: ITS Long Beach, "),
            "{m}"
        );
        assert_eq!(
            match_option("move type", "PICK", &opts(&["PICK FULL"]), None),
            Ok(0)
        );
        assert!(
            match_option(
                "move type",
                "PICK",
                &opts(&["PICK FULL", "PICK EMPTY"]),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn alias_keys_are_lowercase_codes() {
        assert_eq!(alias_key("terminal", " TTI "), "terminal_alias_tti");
        assert_eq!(alias_key("terminal", "TRP-1"), "terminal_alias_trp_1");
    }
}
