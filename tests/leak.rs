//! Leak check: waves of create, use, delete, crash, expire. After every wave nothing of it
//! may be left: no session, no browser thread, no Chrome process, no profile or scratch
//! directory. `LEAK_WAVES` sets the number of waves (default 2 here; `scripts/leak-check.sh`
//! runs more and also holds the service's RSS growth per wave under 2 MB after warm-up,
//! with `LEAK_MAX_RSS_GROWTH_KB`).

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn scratch_left(ids: &[String]) -> Vec<std::path::PathBuf> {
    let prefixes: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "emodal-chrome-{}",
                id.trim_start_matches("session_")
                    .chars()
                    .take(20)
                    .collect::<String>()
            )
        })
        .collect();
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            prefixes.iter().any(|pre| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(pre.as_str())
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waves_leave_nothing_behind() {
    let waves: usize = std::env::var("LEAK_WAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let max_growth_kb: Option<u64> = std::env::var("LEAK_MAX_RSS_GROWTH_KB")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut t = start(&[
        ("sessions.session_timeout", "2"),
        ("login.max_attempts", "1000"),
    ])
    .await;
    let data = t.dataset(USER).await;
    let cid = data["containers"][2]["Container #"].clone();
    let mut rss = Vec::new();
    for wave in 0..waves {
        let mut ids = Vec::new();
        // Create and use.
        let a = t.demo_session().await;
        let (status, b) = t.get_session("demo2", "demo2-password", KEY).await;
        assert_eq!(status, 200);
        let b = b["session_id"].as_str().unwrap().to_string();
        let (status, _) = t
            .post(
                "/get_containers",
                json!({"session_id": a, "format": "json", "target_count": 5}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = t
            .post(
                "/get_container_timeline",
                json!({"session_id": a, "container_id": cid, "debug": true}),
            )
            .await;
        assert_eq!(status, 200);
        // Crash: b's Chrome is killed and the session restarts under the same id.
        let before = chrome_pids_under(&t.data_dir);
        let (_, list) = t.get("/sessions").await;
        assert_eq!(list["active_sessions"], 2);
        for pid in &before {
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
        eventually(
            "both sessions restarted",
            Duration::from_secs(40),
            || async {
                let rows = t.sessions().await;
                (rows.len() == 2
                    && rows
                        .iter()
                        .all(|r| r["state"] == "ready" && r["restarts"] == 1))
                .then_some(())
            },
        )
        .await;
        // Delete both.
        for id in [&a, &b] {
            let (status, _) = t.delete(&format!("/sessions/{id}")).await;
            assert_eq!(status, 200);
        }
        ids.extend([a, b]);
        // Expire: a regular session left unused.
        let (status, c) = t
            .post("/get_session", json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "keep_alive": false}))
            .await;
        assert_eq!(status, 200);
        ids.push(c["session_id"].as_str().unwrap().to_string());
        eventually(
            "the regular session to expire",
            Duration::from_secs(20),
            || async { t.sessions().await.is_empty().then_some(()) },
        )
        .await;

        // Nothing of this wave is left.
        wait_until("no Chrome left", Duration::from_secs(10), || {
            t.chrome_pids().is_empty()
        })
        .await;
        wait_until("no browser thread left", Duration::from_secs(10), || {
            emodal_api::portal::live_browsers() == 0
        })
        .await;
        assert!(
            t.profile_dirs().is_empty(),
            "wave {wave}: {:?}",
            t.profile_dirs()
        );
        assert!(
            scratch_left(&ids).is_empty(),
            "wave {wave}: {:?}",
            scratch_left(&ids)
        );
        let (_, health) = t.get("/health").await;
        assert_eq!(health["active_sessions"], 0);
        rss.push(rss_kb());
        println!("wave {wave}: ok, RSS {} kB", rss[wave]);
    }
    if let (Some(limit), true) = (max_growth_kb, rss.len() >= 3) {
        // Wave 0 warms up allocator pools and lazily built state.
        let growth = (rss[rss.len() - 1] as f64 - rss[1] as f64) / (rss.len() - 2) as f64;
        println!("RSS growth per wave after warm-up: {growth:.0} kB (limit {limit} kB)");
        assert!(
            growth < limit as f64,
            "RSS grows {growth:.0} kB per wave: {rss:?}"
        );
    }
    t.shutdown_clean().await;
}
