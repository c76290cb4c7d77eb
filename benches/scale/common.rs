//! What the scale and cluster benches both need at their crate root: the sandbox accounts,
//! an HTTP client, a free port and a progress line. Included by `#[path]` (a file directly
//! in `benches/` would be a bench target of its own).

use anyhow::Result;
use std::time::Duration;

/// The sandbox's accounts `bench01` ..; each bench takes its own range, so that no account
/// logs in twice (`login.max_attempts`).
pub fn user(n: usize) -> String {
    format!("bench{n:02}")
}

pub fn password(n: usize) -> String {
    format!("bench{n:02}-password")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .pool_max_idle_per_host(16)
        .build()
        .expect("reqwest client")
}

pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A progress line on stderr, tagged with the bench's name (`[scale 15:02:11] ...`).
pub fn note(msg: impl AsRef<str>) {
    eprintln!(
        "[{} {}] {}",
        env!("CARGO_CRATE_NAME"),
        chrono::Local::now().format("%H:%M:%S"),
        msg.as_ref()
    );
}
