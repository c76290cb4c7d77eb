//! The scale run's HTTP side: logging sandbox accounts in, the warm timeline request, and
//! what the service says about its sessions (`/metrics`, `/sessions`).

use crate::{CAPTCHA_KEY, password, user};
use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// `POST /get_session` for account `n` (persistent); the session id and how long it took.
/// A 429 or 503 is retried after its `Retry-After`, a few times.
pub async fn login(http: &reqwest::Client, api: &str, n: usize) -> Result<(String, f64)> {
    let body = json!({
        "username": user(n),
        "password": password(n),
        "captcha_api_key": CAPTCHA_KEY,
        "keep_alive": true,
    });
    let t = Instant::now();
    for _ in 0..5 {
        let r = http
            .post(format!("{api}/get_session"))
            .json(&body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(2)
            .min(30);
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status == 200 && v["success"] == true {
            let id = v["session_id"]
                .as_str()
                .ok_or_else(|| anyhow!("no session_id in {v}"))?;
            return Ok((id.to_string(), t.elapsed().as_secs_f64()));
        }
        if status != 429 && status != 503 {
            bail!("get_session {}: {status} {v}", user(n));
        }
        // The service said when to come back; this is its pacing, not a guess.
        tokio::time::sleep(Duration::from_secs(retry)).await;
    }
    bail!("get_session {}: still refused after 5 tries", user(n))
}

/// The container account `n`'s timelines are asked for: one on the grid's first page.
pub async fn container_of(http: &reqwest::Client, portal: &str, n: usize) -> Result<String> {
    let v: Value = http
        .get(format!("{portal}/__sandbox/dataset?username={}", user(n)))
        .send()
        .await?
        .json()
        .await?;
    // The grid's first page (25 rows); the tenth row as the service bench uses, or the next
    // one that has details to open (some rows have no expand control).
    let rows = v["containers"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let first_page = &rows[..rows.len().min(25)];
    first_page
        .iter()
        .skip(9)
        .chain(first_page.iter())
        .find(|c| c["expandable"] == true)
        .and_then(|c| c["Container #"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no container with details in {}'s dataset", user(n)))
}

/// A warm `get_container_timeline` on session `id`; seconds to a 200 with `success`.
pub async fn timeline(http: &reqwest::Client, api: &str, id: &str, container: &str) -> Result<f64> {
    let t = Instant::now();
    let r = http
        .post(format!("{api}/get_container_timeline"))
        .json(&json!({"session_id": id, "container_id": container}))
        .send()
        .await?;
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    let secs = t.elapsed().as_secs_f64();
    if status != 200 || v["success"] != true {
        bail!("timeline on {id}: {status} {v}");
    }
    Ok(secs)
}

/// `emodal_sessions` by state, from `/metrics`.
pub async fn states(http: &reqwest::Client, api: &str) -> Result<BTreeMap<String, f64>> {
    let text = http
        .get(format!("{api}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("emodal_sessions{state=\"") else {
            continue;
        };
        let Some((state, value)) = rest.split_once("\"}") else {
            continue;
        };
        if let Ok(v) = value.trim().parse::<f64>() {
            out.insert(state.to_string(), v);
        }
    }
    Ok(out)
}

/// "ready 12, hibernating 88" (states with none left out).
pub fn show_states(states: &BTreeMap<String, f64>) -> String {
    let parts: Vec<String> = states
        .iter()
        .filter(|(_, n)| **n > 0.0)
        .map(|(s, n)| format!("{s} {n:.0}"))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// `/sessions`: its rows, as JSON.
pub async fn session_rows(http: &reqwest::Client, api: &str) -> Result<Vec<Value>> {
    let mut v: Value = http
        .get(format!("{api}/sessions"))
        .send()
        .await?
        .json()
        .await?;
    match v["sessions"].take() {
        Value::Array(rows) => Ok(rows),
        _ => Err(anyhow!("{api}/sessions: {v}")),
    }
}

/// `/sessions`: (session id, username, state) of every session.
pub async fn sessions(http: &reqwest::Client, api: &str) -> Result<Vec<(String, String, String)>> {
    Ok(session_rows(http, api)
        .await?
        .iter()
        .map(|s| {
            let field = |k: &str| s[k].as_str().unwrap_or("").to_string();
            (field("session_id"), field("username"), field("state"))
        })
        .collect())
}

/// `/health`'s `spare_browsers`.
pub async fn spares(http: &reqwest::Client, api: &str) -> Option<u64> {
    let r = http.get(format!("{api}/health")).send().await.ok()?;
    let v: Value = r.json().await.ok()?;
    v["spare_browsers"].as_u64()
}

/// A uniformly random index below `n`.
pub fn pick(n: usize) -> usize {
    rand::random_range(0..n.max(1))
}

/// `k` distinct items of `v`, in random order (partial Fisher-Yates).
pub fn sample<T: Clone>(v: &[T], k: usize) -> Vec<T> {
    let mut v = v.to_vec();
    let k = k.min(v.len());
    for i in 0..k {
        let j = i + rand::random_range(0..v.len() - i);
        v.swap(i, j);
    }
    v.truncate(k);
    v
}
