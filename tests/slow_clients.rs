//! Slow and greedy clients: connections that never finish a request head are closed after
//! `server.header_read_timeout`, and no address holds more than its share of connections,
//! so other clients are still served while an attack runs.

mod support;

use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A connection that sent part of a request head and then nothing.
async fn slow(addr: &str) -> Option<TcpStream> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .ok()?;
    Some(s)
}

/// True when the server has closed `s` (a read ends or fails).
async fn closed(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    matches!(
        tokio::time::timeout(within, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_connections_are_capped_per_address_and_timed_out() {
    let mut t = start(&[
        ("server.header_read_timeout", "2"),
        ("server.max_connections_per_ip", "50"),
        ("server.max_connections", "500"),
    ])
    .await;
    let addr = t.api.trim_start_matches("http://").to_string();
    let baseline = open_descriptors();

    // A connection that sends nothing at all, and one idle after a full request, are closed
    // after the header timeout too.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 1024];
    let n = kept.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed(&mut silent, Duration::from_secs(10)).await,
        "a silent connection stayed open"
    );
    assert!(
        closed(&mut kept, Duration::from_secs(10)).await,
        "an idle keep-alive connection stayed open"
    );

    // 600 slow connections from 127.0.0.1: 50 are held, the rest closed at once.
    let mut held = Vec::new();
    for _ in 0..600 {
        if let Some(s) = slow(&addr).await {
            held.push(s);
        }
    }
    let mut refused = 0;
    for s in held.iter_mut().skip(50) {
        if closed(s, Duration::from_millis(500)).await {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 550,
        "connections over the per-address cap are closed at once"
    );

    // Another address is served meanwhile (the sandbox hosts use 127.0.0.2-5 the same way).
    let other = reqwest::Client::builder()
        .local_address(Some("127.0.0.9".parse().unwrap()))
        .build()
        .unwrap();
    let port = addr.rsplit(':').next().unwrap();
    for _ in 0..20 {
        let r = other
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    // The held ones are closed once the header timeout passes, and their descriptors freed.
    for s in held.iter_mut().take(50) {
        assert!(
            closed(s, Duration::from_secs(10)).await,
            "a slow connection outlived the header timeout"
        );
    }
    drop(held);
    wait_until(
        "descriptors back to the baseline",
        Duration::from_secs(10),
        || open_descriptors() <= baseline + 5,
    )
    .await;
    let (status, _) = t.get("/health").await;
    assert_eq!(status, 200);
    t.shutdown_clean().await;
}
