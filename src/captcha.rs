//! A small client for the 2captcha classic API (`in.php` / `res.php`), token method.
//!
//! The portal's reCAPTCHA v2 is solved by sending its site key and page URL to 2captcha,
//! polling until a token comes back, and putting the token into `g-recaptcha-response`.
//! The base URL is configurable so the same client talks to the sandbox stand-in.

use crate::config::CaptchaSettings;
use crate::secret::Secret;
use serde::Deserialize;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CaptchaError {
    /// The key is wrong, unknown, or has no money left: retrying cannot help.
    #[error("captcha service refused the API key: {0}")]
    Account(String),
    /// The service answered, but could not solve this task.
    #[error("captcha service could not solve the captcha: {0}")]
    Unsolved(String),
    /// No answer within `captcha.timeout`.
    #[error("captcha service gave no solution within {0} s")]
    Timeout(u64),
    /// Transport failure or an answer we do not understand.
    #[error("captcha service failed: {0}")]
    Service(String),
}

impl CaptchaError {
    /// The `kind` label of `emodal_captcha_tasks_failed_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            CaptchaError::Account(_) => "account",
            CaptchaError::Unsolved(_) => "unsolvable",
            CaptchaError::Timeout(_) => "timeout",
            CaptchaError::Service(_) => "service",
        }
    }
}

/// Error codes that mean "this key cannot be used", as opposed to "this task failed".
const ACCOUNT_ERRORS: &[&str] = &[
    "ERROR_WRONG_USER_KEY",
    "ERROR_KEY_DOES_NOT_EXIST",
    "ERROR_ZERO_BALANCE",
    "ERROR_IP_NOT_ALLOWED",
    "IP_BANNED",
];

#[derive(Clone)]
pub struct CaptchaClient {
    http: reqwest::Client,
    base: String,
    first_poll_delay: Duration,
    poll_interval: Duration,
    timeout: Duration,
    /// What one solved task costs, in billionths of a dollar (`captcha.price_per_1000`).
    price_nano_usd: u64,
}

/// The tasks one payer (a session, across its restarts) sent, and what the solved ones cost.
/// 2captcha charges for solved tasks only, so a task it could not solve adds no spend.
#[derive(Debug, Default)]
pub struct Tally {
    submitted: AtomicU32,
    spend_nano_usd: AtomicU64,
}

impl Tally {
    /// Tasks submitted (each login submits one; a retried login one more).
    pub fn tasks(&self) -> u32 {
        self.submitted.load(Ordering::Relaxed)
    }

    /// Estimated spend in US dollars, rounded to 4 decimals.
    pub fn spend_usd(&self) -> f64 {
        let nano = self.spend_nano_usd.load(Ordering::Relaxed) as f64;
        (nano / 1e5).round() / 1e4
    }
}

#[derive(Deserialize)]
struct Answer {
    status: i64,
    request: serde_json::Value,
}

impl CaptchaClient {
    pub fn new(settings: &CaptchaSettings) -> CaptchaClient {
        CaptchaClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("reqwest client"),
            base: settings.base_url.trim_end_matches('/').to_string(),
            first_poll_delay: Duration::from_millis(settings.first_poll_delay_ms),
            poll_interval: Duration::from_millis(settings.poll_interval_ms.max(10)),
            timeout: Duration::from_secs(settings.timeout),
            price_nano_usd: (settings.price_per_1000.max(0.0) * 1e6).round() as u64,
        }
    }

    /// Solve a reCAPTCHA v2 and return the token for `g-recaptcha-response`.
    pub async fn solve_recaptcha(
        &self,
        key: &Secret,
        site_key: &str,
        page_url: &str,
    ) -> Result<String, CaptchaError> {
        self.solve_recaptcha_for(key, site_key, page_url, &Tally::default())
            .await
    }

    /// [`CaptchaClient::solve_recaptcha`], counting its task and its cost in `tally`.
    pub async fn solve_recaptcha_for(
        &self,
        key: &Secret,
        site_key: &str,
        page_url: &str,
        tally: &Tally,
    ) -> Result<String, CaptchaError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let form = [
            ("key", key.expose()),
            ("method", "userrecaptcha"),
            ("googlekey", site_key),
            ("pageurl", page_url),
            ("json", "1"),
        ];
        let submitted = self
            .http
            .post(format!("{}/in.php", self.base))
            .form(&form)
            .send();
        let task = parse(submitted.await)
            .await
            .inspect_err(|e| crate::metrics::captcha_failed(e.kind()))?;
        tracing::debug!(task_id = %task, "captcha task submitted");
        crate::metrics::captcha_submitted();
        tally.submitted.fetch_add(1, Ordering::Relaxed);
        let began = std::time::Instant::now();

        tokio::time::sleep(self.first_poll_delay).await;
        loop {
            let query = [
                ("key", key.expose()),
                ("action", "get"),
                ("id", task.as_str()),
                ("json", "1"),
            ];
            let polled = self
                .http
                .get(format!("{}/res.php", self.base))
                .query(&query)
                .send();
            match parse(polled.await).await {
                Ok(token) => {
                    crate::metrics::captcha_solved(began.elapsed());
                    tally
                        .spend_nano_usd
                        .fetch_add(self.price_nano_usd, Ordering::Relaxed);
                    return Ok(token);
                }
                Err(CaptchaError::Unsolved(code)) if code == "CAPCHA_NOT_READY" => {}
                Err(e) => {
                    crate::metrics::captcha_failed(e.kind());
                    return Err(e);
                }
            }
            if tokio::time::Instant::now() + self.poll_interval > deadline {
                crate::metrics::captcha_failed("timeout");
                return Err(CaptchaError::Timeout(self.timeout.as_secs()));
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The account balance, in the service's currency.
    pub async fn balance(&self, key: &Secret) -> Result<f64, CaptchaError> {
        let query = [
            ("key", key.expose()),
            ("action", "getbalance"),
            ("json", "1"),
        ];
        let answer = self
            .http
            .get(format!("{}/res.php", self.base))
            .query(&query)
            .send();
        let text = parse(answer.await).await?;
        text.parse()
            .map_err(|_| CaptchaError::Service(format!("balance is not a number: {text}")))
    }
}

/// Turn a classic-API answer into the `request` value or a classified error. Error texts
/// never include the URL, because reqwest puts the query (and with it the key) there.
async fn parse(response: reqwest::Result<reqwest::Response>) -> Result<String, CaptchaError> {
    let response = response.map_err(|e| CaptchaError::Service(describe(&e)))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| CaptchaError::Service(describe(&e)))?;
    let answer: Answer = serde_json::from_str(&body).map_err(|_| {
        CaptchaError::Service(format!(
            "unexpected answer (HTTP {status}): {}",
            snippet(&body)
        ))
    })?;
    let request = match &answer.request {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if answer.status == 1 {
        return Ok(request);
    }
    if ACCOUNT_ERRORS.contains(&request.as_str()) {
        Err(CaptchaError::Account(request))
    } else if request == "CAPCHA_NOT_READY" || request.starts_with("ERROR_CAPTCHA_UNSOLVABLE") {
        Err(CaptchaError::Unsolved(request))
    } else {
        Err(CaptchaError::Service(request))
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // Only the cause chain: reqwest's own Display includes the URL, whose query holds the key.
    let mut detail = String::new();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        detail.push_str(": ");
        detail.push_str(&c.to_string());
        cause = c.source();
    }
    format!("{kind}{detail}")
}

fn snippet(body: &str) -> String {
    body.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_rounds_its_spend_to_four_decimals() {
        let tally = Tally::default();
        assert_eq!((tally.tasks(), tally.spend_usd()), (0, 0.0));
        // Three solved tasks at 2.99 USD per 1,000.
        tally.submitted.store(4, Ordering::Relaxed);
        tally.spend_nano_usd.store(3 * 2_990_000, Ordering::Relaxed);
        assert_eq!((tally.tasks(), tally.spend_usd()), (4, 0.009));
        tally.spend_nano_usd.store(2_994_999, Ordering::Relaxed);
        assert_eq!(tally.spend_usd(), 0.003);
    }
}
