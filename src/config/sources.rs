//! Where each setting came from, and which keys exist at all.
//!
//! The `config` crate merges its sources before serde sees them, so a typo is reported
//! (if at all) without the file or variable that holds it. Each source's keys are therefore
//! checked here, on their own, against the key set of the compiled-in defaults (the shipped
//! `settings.toml`), and every later message names the source that set the key it is about.

use config::{Value, ValueKind};
use std::path::Path;

/// Tables whose keys are free (each names a selector or a wizard text), not a schema.
const FREE_TABLES: &[&str] = &["portal.selectors", "portal.wizard"];

/// The environment prefix, as `config::Environment` matches it (case-insensitively).
pub const ENV_PREFIX: &str = "EMODAL__";

/// One key a source set: its dotted path and how to name it to a person.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    /// `the file x.toml`, `environment variable EMODAL__A__B`, `override`.
    origin: String,
}

/// Every source's keys, in the order they were applied (later wins).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    entries: Vec<Entry>,
}

impl Sources {
    /// The leaf keys of a parsed file (`path` only names it).
    pub fn add_file(&mut self, path: &Path, table: &config::Map<String, Value>) {
        let origin = path.display().to_string();
        let mut keys = Vec::new();
        flatten("", table, &mut keys);
        self.entries.extend(keys.into_iter().map(|key| Entry {
            key,
            origin: origin.clone(),
        }));
    }

    /// An `EMODAL__SECTION__KEY` variable; `key` is its dotted form.
    pub fn add_env(&mut self, var: &str, key: &str) {
        self.entries.push(Entry {
            key: key.to_string(),
            origin: format!("environment variable {var}"),
        });
    }

    pub fn add_override(&mut self, key: &str) {
        self.entries.push(Entry {
            key: key.to_string(),
            origin: "override".to_string(),
        });
    }

    /// Who set `key` last (or a table above it, or a key below it): a file path,
    /// `environment variable ...`, `override`, or the built-in defaults.
    pub fn origin(&self, key: &str) -> String {
        self.entries
            .iter()
            .rev()
            .find(|e| related(&e.key, key))
            .map_or_else(
                || "settings.toml (built-in defaults)".to_string(),
                |e| e.origin.clone(),
            )
    }
}

/// `a.b` and `a.b.c` (either way round) or equal; `a.b[0].c` counts as below `a.b`.
fn related(set: &str, asked: &str) -> bool {
    let below = |long: &str, short: &str| {
        long.strip_prefix(short)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    set == asked || below(set, asked) || below(asked, set)
}

fn flatten(prefix: &str, table: &config::Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = join(prefix, k);
        match &v.kind {
            ValueKind::Table(t) if !t.is_empty() => flatten(&path, t, out),
            _ => out.push(path),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The key set every source is held to: the compiled-in defaults.
pub struct Schema {
    root: Value,
    /// Every path of the defaults (tables and leaves), for suggestions across sections.
    known: Vec<String>,
}

/// A key no setting has, and the nearest one that exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown {
    pub key: String,
    pub suggestion: Option<String>,
}

impl Schema {
    pub fn new(defaults: config::Map<String, Value>) -> Schema {
        let mut known = Vec::new();
        collect_known("", &defaults, &mut known);
        Schema {
            root: Value::new(None, ValueKind::Table(defaults)),
            known,
        }
    }

    /// Unknown keys in a parsed file.
    pub fn check_tree(&self, table: &config::Map<String, Value>) -> Vec<Unknown> {
        let mut out = Vec::new();
        if let ValueKind::Table(schema) = &self.root.kind {
            self.walk("", "", table, schema, &mut out);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    fn walk(
        &self,
        path: &str,
        shape: &str,
        table: &config::Map<String, Value>,
        schema: &config::Map<String, Value>,
        out: &mut Vec<Unknown>,
    ) {
        if FREE_TABLES.contains(&shape) {
            return;
        }
        for (k, v) in table {
            let (path, shape) = (join(path, k), join(shape, k));
            let Some(expected) = schema.get(k) else {
                out.push(self.unknown(path, &shape));
                continue;
            };
            match (&v.kind, &expected.kind) {
                (ValueKind::Table(t), ValueKind::Table(s)) => self.walk(&path, &shape, t, s, out),
                // A list of tables (`[[sandbox.accounts]]`): each item against the first default.
                (ValueKind::Array(items), ValueKind::Array(defaults)) => {
                    if let Some(ValueKind::Table(s)) = defaults.first().map(|d| &d.kind) {
                        for (i, item) in items.iter().enumerate() {
                            if let ValueKind::Table(t) = &item.kind {
                                self.walk(&format!("{path}[{i}]"), &shape, t, s, out);
                            }
                        }
                    }
                }
                // A wrong type is serde's to report, with the expected type.
                _ => {}
            }
        }
    }

    /// Whether a dotted key (`sessions.max_sessions`, `sandbox.accounts[0].username`) exists.
    pub fn check_key(&self, key: &str) -> Option<Unknown> {
        let mut current = &self.root;
        let mut shape = String::new();
        for segment in key.split('.') {
            if FREE_TABLES.contains(&shape.as_str()) {
                return None;
            }
            let (name, indexed) = match segment.split_once('[') {
                Some((name, _)) => (name, true),
                None => (segment, false),
            };
            shape = join(&shape, name);
            let ValueKind::Table(table) = &current.kind else {
                return Some(self.unknown(key.to_string(), &shape));
            };
            let Some(next) = table.get(name) else {
                return Some(self.unknown(key.to_string(), &shape));
            };
            current = next;
            if indexed {
                match &current.kind {
                    ValueKind::Array(items) if !items.is_empty() => current = &items[0],
                    _ => return Some(self.unknown(key.to_string(), &shape)),
                }
            }
        }
        None
    }

    fn unknown(&self, key: String, shape: &str) -> Unknown {
        Unknown {
            suggestion: suggest(shape, &self.known),
            key,
        }
    }
}

fn collect_known(prefix: &str, table: &config::Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = join(prefix, k);
        match &v.kind {
            ValueKind::Table(t) if !FREE_TABLES.contains(&path.as_str()) => {
                collect_known(&path, t, out)
            }
            ValueKind::Array(items) => {
                if let Some(ValueKind::Table(t)) = items.first().map(|i| &i.kind) {
                    collect_known(&path, t, out);
                }
            }
            _ => {}
        }
        out.push(path);
    }
}

/// The known path nearest to `wrong`: a small edit away (`sessions.max_sesions`), or the same
/// last name in another section (`server.max_sessions` -> `sessions.max_sessions`).
fn suggest(wrong: &str, known: &[String]) -> Option<String> {
    let best = known
        .iter()
        .map(|k| (edit_distance(wrong, k), k))
        .min_by_key(|(d, _)| *d)?;
    let limit = (wrong.len() / 4).max(2);
    if best.0 <= limit {
        return Some(best.1.clone());
    }
    let last = wrong.rsplit('.').next()?;
    known
        .iter()
        .find(|k| k.rsplit('.').next() == Some(last))
        .cloned()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `sessions.max_sessions` -> `EMODAL__SESSIONS__MAX_SESSIONS`.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase())
}

/// `EMODAL__SESSIONS__MAX_SESSIONS` -> `sessions.max_sessions`, as `config::Environment`
/// reads it; `None` for variables without the prefix.
pub fn env_key(var: &str) -> Option<String> {
    let lower = var.to_lowercase();
    let rest = lower.strip_prefix(&ENV_PREFIX.to_lowercase())?;
    Some(rest.replace("__", "."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        use config::Source;
        let defaults = config::File::from_str(super::super::DEFAULTS, config::FileFormat::Toml)
            .collect()
            .unwrap();
        Schema::new(defaults)
    }

    #[test]
    fn typos_get_the_nearest_key() {
        let s = schema();
        let u = s.check_key("sessions.max_sesions").unwrap();
        assert_eq!(u.suggestion.as_deref(), Some("sessions.max_sessions"));
        let u = s.check_key("server.max_sessions").unwrap();
        assert_eq!(u.suggestion.as_deref(), Some("sessions.max_sessions"));
        assert_eq!(s.check_key("sessions.max_sessions"), None);
    }

    #[test]
    fn free_tables_and_lists_of_tables() {
        let s = schema();
        assert_eq!(s.check_key("portal.selectors.anything_new"), None);
        assert_eq!(s.check_key("portal.wizard.terminal_alias_xyz"), None);
        assert_eq!(s.check_key("sandbox.accounts[1].username"), None);
        let u = s.check_key("sandbox.accounts[0].usrname").unwrap();
        assert_eq!(u.suggestion.as_deref(), Some("sandbox.accounts.username"));
        assert!(s.check_key("portal.texts.no_such_text").is_some());
        assert!(s.check_key("server.port.inner").is_some());
    }

    #[test]
    fn env_names_round_trip() {
        assert_eq!(
            env_key("EMODAL__SESSIONS__MAX_SESIONS").as_deref(),
            Some("sessions.max_sesions")
        );
        assert_eq!(env_key("EMODAL_CHECK_USERNAME"), None);
        assert_eq!(
            env_name("sessions.max_sessions"),
            "EMODAL__SESSIONS__MAX_SESSIONS"
        );
    }

    #[test]
    fn origin_is_the_last_source_that_set_the_key() {
        let mut s = Sources::default();
        assert!(s.origin("chrome.path").contains("defaults"));
        s.add_override("chrome");
        s.add_env("EMODAL__CHROME__PATH", "chrome.path");
        assert_eq!(
            s.origin("chrome.path"),
            "environment variable EMODAL__CHROME__PATH"
        );
        assert_eq!(s.origin("chrome.nice"), "override");
        assert!(s.origin("chromex.path").contains("defaults"));
    }
}
