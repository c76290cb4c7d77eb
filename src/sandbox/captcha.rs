//! The 2captcha stand-in: the classic `in.php` / `res.php` API for `userrecaptcha` tasks.
//!
//! Answers have the classic shapes: `{"status":1,"request":"..."}` / `{"status":0,"request":
//! "ERROR_..."}` with `json=1`, otherwise the plain-text `OK|...` / `ERROR_...`. Always HTTP 200,
//! like the real service. A solved task yields a token that the portal stand-in's login accepts
//! once, for the site key it was solved for, until `token_ttl` seconds after solving.
//!
//! Magic keys let tests reach every error path: `sandbox-wrong-key` (ERROR_WRONG_USER_KEY),
//! `sandbox-zero-balance` (ERROR_ZERO_BALANCE), `sandbox-unsolvable` (ERROR_CAPTCHA_UNSOLVABLE
//! once the solve delay has passed). Any other non-empty key solves.

use super::request::{Req, Resp, json, parse_urlencoded, text};
use super::state::{State, Stats, lock};
use serde_json::json as j;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use warp::http::StatusCode;

pub const WRONG_KEY: &str = "sandbox-wrong-key";
pub const ZERO_BALANCE_KEY: &str = "sandbox-zero-balance";
pub const UNSOLVABLE_KEY: &str = "sandbox-unsolvable";

/// Tasks older than this are forgotten (the real service keeps answers for a few minutes too).
const TASK_RETENTION: Duration = Duration::from_secs(3600);
/// What one solve costs on the pretend balance (USD, roughly 2captcha's reCAPTCHA price).
const PRICE_PER_SOLVE: f64 = 0.00299;
const START_BALANCE: f64 = 10.0;

struct Task {
    key: String,
    created: Instant,
    ready_at: Instant,
    /// `None` for unsolvable tasks.
    token: Option<String>,
    counted: bool,
}

struct Token {
    site_key: String,
    ready_at: Instant,
    used: bool,
}

#[derive(Default)]
struct Inner {
    tasks: HashMap<String, Task>,
    tokens: HashMap<String, Token>,
    next_id: u64,
    solved: u64,
}

/// Tasks and tokens of the stand-in.
#[derive(Default)]
pub struct CaptchaStore {
    inner: Mutex<Inner>,
}

/// Why the portal refused a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Missing,
    Unknown,
    Reused,
    Expired,
    WrongSiteKey,
}

impl CaptchaStore {
    /// Check and consume a token, as the portal's server-side `siteverify` call would: any
    /// verification attempt uses the token up, even when the credentials then turn out wrong.
    pub fn verify(&self, token: &str, site_key: &str, ttl: Duration) -> Result<(), TokenError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        let mut g = lock(&self.inner);
        let t = g.tokens.get_mut(token).ok_or(TokenError::Unknown)?;
        let now = Instant::now();
        if now < t.ready_at {
            // Nobody can know a token before it is solved; treat a guess like garbage.
            return Err(TokenError::Unknown);
        }
        if t.used {
            return Err(TokenError::Reused);
        }
        t.used = true;
        if now - t.ready_at > ttl {
            return Err(TokenError::Expired);
        }
        if t.site_key != site_key {
            return Err(TokenError::WrongSiteKey);
        }
        Ok(())
    }
}

/// Request parameters from the query string and, for POSTs, a form body (the body wins).
fn params(req: &Req) -> HashMap<String, String> {
    let mut p = req.query.clone();
    if let Ok(body) = std::str::from_utf8(&req.body) {
        p.extend(parse_urlencoded(body));
    }
    p
}

/// Format an answer in the caller's chosen style. `ok` answers in plain text are `OK|value`,
/// except the bare values the classic API returns for balance and "not ready".
fn answer(as_json: bool, ok: bool, value: &str, plain_bare: bool) -> Resp {
    if as_json {
        json(
            StatusCode::OK,
            &j!({"status": i32::from(ok), "request": value}),
        )
    } else if ok && !plain_bare {
        text(StatusCode::OK, format!("OK|{value}"))
    } else {
        text(StatusCode::OK, value)
    }
}

fn error(state: &State, as_json: bool, code: &str) -> Resp {
    Stats::bump(&state.stats.captcha_errors);
    answer(as_json, false, code, true)
}

/// Key problems shared by both endpoints.
fn key_error(key: &str) -> Option<&'static str> {
    match key {
        "" => Some("ERROR_KEY_DOES_NOT_EXIST"),
        WRONG_KEY => Some("ERROR_WRONG_USER_KEY"),
        _ => None,
    }
}

/// `POST /in.php` (GET works too, as on the real service): submit a task.
pub fn in_php(state: &State, req: &Req) -> Resp {
    let p = params(req);
    let get = |k: &str| p.get(k).map(|s| s.trim()).unwrap_or("");
    let as_json = get("json") == "1";
    let key = get("key");
    if let Some(code) = key_error(key) {
        return error(state, as_json, code);
    }
    if key == ZERO_BALANCE_KEY {
        return error(state, as_json, "ERROR_ZERO_BALANCE");
    }
    if get("method") != "userrecaptcha" {
        return error(state, as_json, "ERROR_BAD_PARAMETERS");
    }
    let googlekey = get("googlekey");
    if googlekey.is_empty() {
        return error(state, as_json, "ERROR_GOOGLEKEY");
    }
    if get("pageurl").is_empty() {
        return error(state, as_json, "ERROR_PAGEURL");
    }

    let now = Instant::now();
    let ready_at = now + state.captcha_solve_delay();
    let token = (key != UNSOLVABLE_KEY).then(new_token);
    let mut g = lock(&state.captcha.inner);
    g.tasks.retain(|_, t| t.created.elapsed() < TASK_RETENTION);
    g.tokens
        .retain(|_, t| t.ready_at.elapsed() < TASK_RETENTION);
    if g.next_id == 0 {
        // Real task ids are large decimal numbers; start somewhere random so ids from two
        // sandbox runs are unlikely to collide in a log.
        g.next_id = 70_000_000_000 + rand::random_range(0..9_000_000_000u64);
    }
    g.next_id += 1;
    let id = g.next_id.to_string();
    if let Some(t) = &token {
        g.tokens.insert(
            t.clone(),
            Token {
                site_key: googlekey.to_string(),
                ready_at,
                used: false,
            },
        );
    }
    g.tasks.insert(
        id.clone(),
        Task {
            key: key.to_string(),
            created: now,
            ready_at,
            token,
            counted: false,
        },
    );
    drop(g);
    Stats::bump(&state.stats.captcha_tasks);
    answer(as_json, true, &id, false)
}

/// `GET /res.php`: `action=get` (poll a task), `action=getbalance`, `reportgood`/`reportbad`.
pub fn res_php(state: &State, req: &Req) -> Resp {
    let p = params(req);
    let get = |k: &str| p.get(k).map(|s| s.trim()).unwrap_or("");
    let as_json = get("json") == "1";
    let key = get("key");
    if let Some(code) = key_error(key) {
        return error(state, as_json, code);
    }
    match get("action") {
        "get" => poll(state, as_json, key, get("id")),
        "getbalance" => {
            let balance = if key == ZERO_BALANCE_KEY {
                0.0
            } else {
                let solved = lock(&state.captcha.inner).solved;
                (START_BALANCE - PRICE_PER_SOLVE * solved as f64).max(0.0)
            };
            answer(as_json, true, &format!("{balance:.5}"), true)
        }
        "reportgood" | "reportbad" => answer(as_json, true, "OK_REPORT_RECORDED", true),
        "" => error(state, as_json, "ERROR_EMPTY_ACTION"),
        _ => error(state, as_json, "ERROR_BAD_PARAMETERS"),
    }
}

fn poll(state: &State, as_json: bool, key: &str, id: &str) -> Resp {
    let mut g = lock(&state.captcha.inner);
    let Some(task) = g.tasks.get_mut(id).filter(|t| t.key == key) else {
        drop(g);
        return error(state, as_json, "ERROR_WRONG_CAPTCHA_ID");
    };
    if Instant::now() < task.ready_at {
        return answer(as_json, false, "CAPCHA_NOT_READY", true);
    }
    let Some(token) = task.token.clone() else {
        drop(g);
        return error(state, as_json, "ERROR_CAPTCHA_UNSOLVABLE");
    };
    if !task.counted {
        task.counted = true;
        g.solved += 1;
        Stats::bump(&state.stats.captcha_solved);
    }
    answer(as_json, true, &token, false)
}

/// A token that looks like a reCAPTCHA response (they start with `03A` and run long).
fn new_token() -> String {
    let mut t = String::from("03AFcWeA");
    for _ in 0..5 {
        t.push_str(&format!("{:032x}", rand::random::<u128>()));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_single_use_and_bound() {
        let store = CaptchaStore::default();
        let ttl = Duration::from_secs(60);
        let past = Instant::now() - Duration::from_secs(1);
        {
            let mut g = lock(&store.inner);
            for (t, k) in [("a", "site"), ("b", "other")] {
                g.tokens.insert(
                    t.into(),
                    Token {
                        site_key: k.into(),
                        ready_at: past,
                        used: false,
                    },
                );
            }
        }
        assert_eq!(store.verify("", "site", ttl), Err(TokenError::Missing));
        assert_eq!(store.verify("zzz", "site", ttl), Err(TokenError::Unknown));
        assert_eq!(store.verify("a", "site", ttl), Ok(()));
        assert_eq!(store.verify("a", "site", ttl), Err(TokenError::Reused));
        assert_eq!(
            store.verify("b", "site", ttl),
            Err(TokenError::WrongSiteKey)
        );
        let old = Instant::now() - Duration::from_secs(120);
        lock(&store.inner).tokens.insert(
            "c".into(),
            Token {
                site_key: "site".into(),
                ready_at: old,
                used: false,
            },
        );
        assert_eq!(store.verify("c", "site", ttl), Err(TokenError::Expired));
    }
}
