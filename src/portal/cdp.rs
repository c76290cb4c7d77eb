//! A direct DevTools connection to one page: request, wait for its answer, nothing else.
//!
//! headless_chrome launches and owns Chrome, but its own connection is slow for our pattern
//! of many small calls: its reader thread holds the socket's lock during a blocking read of
//! up to 100 ms, so every call waits for that read to time out first (measured: ~100 ms per
//! `evaluate`, against under 1 ms on a socket of our own). Chrome accepts several DevTools
//! clients per page, so the browser thread opens this second connection to its tab and
//! drives the page through it. It is synchronous on purpose: it lives on the browser thread,
//! which does nothing else, and each read is bounded by the caller's deadline.
//!
//! Two domains are enabled: `Inspector`, whose events tell us when the page's renderer
//! crashed or the tab went away, and `Page`, for one event: a JavaScript dialog (`alert`,
//! `confirm`, `beforeunload`) blocks the page and every later call until someone answers it,
//! so the connection accepts it at once and logs its text. Other events are skipped.

use serde_json::{Value, json};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// Why a call produced no result.
#[derive(Debug, Clone, PartialEq)]
pub enum CdpError {
    /// The socket closed, the renderer crashed or the tab was detached: the browser is gone.
    Closed(String),
    /// No answer before the deadline.
    Timeout,
    /// Chrome answered with a protocol error (e.g. the page's context was replaced).
    Protocol(String),
}

pub struct Cdp {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Cdp {
    /// Connect to a DevTools endpoint (`ws://host:port/devtools/browser/<id>` or
    /// `.../devtools/page/<id>`).
    pub fn open(url: &str) -> Result<Cdp, CdpError> {
        let (socket, _) = tungstenite::connect(url)
            .map_err(|e| CdpError::Closed(format!("cannot connect to DevTools: {e}")))?;
        Ok(Cdp { socket, next_id: 0 })
    }

    /// Connect to a page target and subscribe to its crash, detach and dialog events.
    pub fn open_page(url: &str, deadline: Instant) -> Result<Cdp, CdpError> {
        let mut cdp = Cdp::open(url)?;
        cdp.call("Inspector.enable", json!({}), deadline)?;
        cdp.call("Page.enable", json!({}), deadline)?;
        Ok(cdp)
    }

    /// Send `method` and return its `result`, reading until its answer or `deadline`.
    pub fn call(
        &mut self,
        method: &str,
        params: Value,
        deadline: Instant,
    ) -> Result<Value, CdpError> {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::text(request.to_string()))
            .map_err(|e| CdpError::Closed(format!("sending {method}: {e}")))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CdpError::Timeout);
            }
            self.set_read_timeout(left)?;
            let message = match self.socket.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(CdpError::Timeout);
                }
                Err(e) => return Err(CdpError::Closed(format!("reading {method}: {e}"))),
            };
            let text = match message {
                Message::Text(t) => t,
                Message::Close(_) => return Err(CdpError::Closed("Chrome closed the page".into())),
                _ => continue,
            };
            let Ok(reply) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            match reply.get("method").and_then(Value::as_str) {
                Some("Inspector.targetCrashed") => {
                    return Err(CdpError::Closed("the page's renderer crashed".into()));
                }
                Some("Inspector.detached") => {
                    return Err(CdpError::Closed("the page was detached".into()));
                }
                Some("Page.javascriptDialogOpening") => {
                    let params = &reply["params"];
                    tracing::warn!(
                        event = "page_dialog_accepted",
                        kind = params["type"].as_str().unwrap_or(""),
                        message = params["message"].as_str().unwrap_or(""),
                        url = params["url"].as_str().unwrap_or(""),
                    );
                    // Its answer arrives like any other and is skipped below.
                    self.send("Page.handleJavaScriptDialog", json!({"accept": true}))?;
                    continue;
                }
                _ => {}
            }
            // Answers to calls abandoned at an earlier deadline arrive late: skip them.
            if reply.get("id").and_then(Value::as_u64) != Some(id) {
                continue;
            }
            if let Some(error) = reply.get("error") {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                return Err(CdpError::Protocol(format!("{method}: {message}")));
            }
            return Ok(reply.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    fn send(&mut self, method: &str, params: Value) -> Result<u64, CdpError> {
        self.next_id += 1;
        let request = json!({"id": self.next_id, "method": method, "params": params});
        self.socket
            .send(Message::text(request.to_string()))
            .map_err(|e| CdpError::Closed(format!("sending {method}: {e}")))?;
        Ok(self.next_id)
    }

    fn set_read_timeout(&mut self, left: Duration) -> Result<(), CdpError> {
        match self.socket.get_mut() {
            MaybeTlsStream::Plain(tcp) => tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .map_err(|e| CdpError::Closed(format!("socket: {e}"))),
            _ => Err(CdpError::Closed(
                "DevTools must be a plain local socket".into(),
            )),
        }
    }
}

/// The page endpoint for `target_id`, next to the browser endpoint headless_chrome uses.
pub fn page_url(browser_ws_url: &str, target_id: &str) -> Option<String> {
    let (base, _) = browser_ws_url.split_once("/devtools/")?;
    Some(format!("{base}/devtools/page/{target_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_url_replaces_the_browser_path() {
        assert_eq!(
            page_url("ws://127.0.0.1:9222/devtools/browser/abc", "T1").as_deref(),
            Some("ws://127.0.0.1:9222/devtools/page/T1")
        );
        assert_eq!(page_url("nonsense", "T1"), None);
    }
}
