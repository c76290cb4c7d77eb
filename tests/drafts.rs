//! Drafts ("appointment sessions") stay capped however many requests make them: 10,000
//! `check_appointments` requests that lack fields, over real HTTP to the real server (which
//! runs in this process, so its memory is this process's).

mod support;

use futures::StreamExt;
use serde_json::json;
use support::*;

/// This process's resident set, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_drafts_stay_under_their_caps() {
    let mut t = start(&[]).await;
    let session = t.demo_session().await;
    // 15 KiB a draft (five wizard fields of 3 KiB: the body's strings are capped at 4 KiB):
    // under the one-draft cap, and 10,000 of them kept would be 150 MB, so the memory bound
    // below fails if the caps do not hold. The credentials, sent along as the original's clients
    // do, must not be kept either.
    let long = |c: &str| c.repeat(3 * 1024);
    let body = json!({
        "session_id": session,
        "trucking_company": long("K"),
        "terminal": long("T"),
        "pin_code": long("P"),
        "vm_email": long("V"),
        "truck_plate": long("L"),
        "username": USER,
        "password": PASS,
        "captcha_api_key": KEY,
    });
    let send = |n: usize| {
        let body = body.clone();
        let t = &t;
        async move { (n, t.post("/check_appointments", body).await) }
    };
    // Warm up connections, buffers and the allocator before the baseline.
    let warm: Vec<_> = futures::stream::iter(0..200)
        .map(send)
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(warm.iter().all(|(_, (status, _))| *status == 400));
    let before = rss();
    let mut ids = vec![String::new(); 10_000];
    let mut answers = futures::stream::iter(0..10_000)
        .map(send)
        .buffer_unordered(8);
    while let Some((n, (status, answer))) = answers.next().await {
        assert_eq!(status, 400, "request {n}: {answer}");
        ids[n] = answer["appointment_session_id"]
            .as_str()
            .unwrap_or_else(|| panic!("request {n} has no appointment_session_id: {answer}"))
            .to_string();
    }
    drop(answers);
    let grown = rss().saturating_sub(before);
    println!("RSS {} MB -> grew {} MB", before >> 20, grown >> 20);
    assert!(grown < 64 << 20, "RSS grew {} MB", grown >> 20);

    // The oldest drafts were dropped for the newer ones; the newest still resumes.
    let resume = |id: &str| json!({"session_id": session, "appointment_session_id": id});
    for id in &ids[..20] {
        let (_, answer) = t.post("/check_appointments", resume(id)).await;
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains("not found or expired"), "{id}: {answer}");
    }
    let (status, answer) = t.post("/check_appointments", resume(&ids[9_999])).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["missing_fields"],
        json!(["move_type", "container_id"]),
        "{answer}"
    );
    assert_eq!(answer["appointment_session_id"], json!(ids[9_999]));
    t.shutdown_clean().await;
}
