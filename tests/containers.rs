//! Container endpoints against the sandbox with real Chromium: every row and field equals
//! the sandbox's ground truth; timelines and booking numbers too; files and screenshots.

mod support;

use serde_json::{Value, json};
use support::*;

/// A test app with one demo session, and the demo dataset.
async fn with_session(overrides: &[(&str, &str)]) -> (TestApp, String, Value) {
    let t = start(overrides).await;
    let id = t.demo_session().await;
    let data = t.dataset(USER).await;
    (t, id, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn get_containers_returns_every_row_exactly() {
    let (mut t, id, data) = with_session(&[("sandbox.render_delay_ms", "100")]).await;
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["session_id"], id);
    assert_eq!(body["is_new_session"], false);
    let expected = data["containers"].as_array().unwrap();
    let got = body["containers"].as_array().unwrap();
    assert!(
        expected.len() >= 100,
        "the demo account has about 120 containers"
    );
    assert_eq!(got.len(), expected.len());
    assert_eq!(body["total_containers"], expected.len());
    assert!(
        body["scroll_cycles"].as_u64().unwrap() >= 4,
        "{}",
        body["scroll_cycles"]
    );
    let columns = data["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 18);
    for (row, truth) in got.iter().zip(expected) {
        for column in columns {
            let c = column.as_str().unwrap();
            assert_eq!(row[c], truth[c], "{} / {c}", truth["Container #"]);
        }
    }
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn targets_stop_early_and_the_sheet_holds_the_rows() {
    let (mut t, id, data) = with_session(&[]).await;
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 10}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_containers"], 10);
    assert_eq!(
        body["scroll_cycles"], 0,
        "the first page already holds 10 rows"
    );

    let far = &data["containers"][60]["Container #"];
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_container_id": far}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["target_found"], true);
    let n = body["total_containers"].as_u64().unwrap();
    assert!(
        n > 60 && n < data["containers"].as_array().unwrap().len() as u64,
        "{n}"
    );

    // return_url: an absolute URL on the Host the client used, serving a real sheet.
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "target_count": 25, "return_url": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let url = body["file_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/files/", t.api)), "{url}");
    let bytes = t.http.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, body["file_size"].as_u64().unwrap());
    let rows = read_sheet(&bytes);
    assert_eq!(rows.len(), 26, "header + 25 rows");
    assert_eq!(rows[0][0], "Container #");
    assert_eq!(rows[0].len(), 18);
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(
            row[0],
            data["containers"][i]["Container #"].as_str().unwrap()
        );
        assert_eq!(row[17], data["containers"][i]["Tags"].as_str().unwrap());
    }

    // Default: the .xlsx itself.
    let r = t
        .http
        .post(format!("{}/get_containers", t.api))
        .json(&json!({"session_id": id, "infinite_scrolling": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let rows = read_sheet(&r.bytes().await.unwrap());
    assert!(rows.len() > 1 && rows.len() < data["containers"].as_array().unwrap().len());
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timelines_and_booking_numbers_match_the_dataset() {
    let (mut t, id, data) = with_session(&[("sandbox.render_delay_ms", "100")]).await;
    let containers = data["containers"].as_array().unwrap();
    let import = containers
        .iter()
        .rev()
        .find(|c| c["Trade Type"] == "IMPORT")
        .unwrap();
    let export = containers
        .iter()
        .find(|c| c["Trade Type"] == "EXPORT" && c["booking_number"].is_string())
        .unwrap();

    for c in [import, export] {
        let cid = c["Container #"].as_str().unwrap();
        let (status, body) = t
            .post(
                "/get_container_timeline",
                json!({"session_id": id, "container_id": cid}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let mut expected = c["timeline"].as_array().unwrap().clone();
        expected.reverse();
        assert_eq!(body["timeline"], Value::Array(expected.clone()), "{cid}");
        assert_eq!(body["milestone_count"], expected.len());
        assert_eq!(body["passed_pregate"], c["passed_pregate"]);
        assert_eq!(body["container_id"], cid);
    }

    let (status, body) = t
        .post(
            "/get_booking_number",
            json!({"session_id": id, "container_id": export["Container #"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["booking_number"], export["booking_number"]);
    let (status, body) = t
        .post(
            "/get_booking_number",
            json!({"session_id": id, "container_id": import["Container #"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["booking_number"], Value::Null);
    assert!(body["message"].is_string());

    let (status, body) = t
        .post(
            "/get_container_timeline",
            json!({"session_id": id, "container_id": "ZZZU0000000"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], false);
    let (status, body) = t
        .post("/get_container_timeline", json!({"session_id": id}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["missing_fields"], json!(["container_id"]));

    // Bulk: one bad container never fails the batch.
    let (status, body) = t
        .post(
            "/get_info_bulk",
            json!({"session_id": id,
                   "import_containers": [import["Container #"], "ZZZU0000000"],
                   "export_containers": [export["Container #"]]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["results"];
    assert_eq!(
        r["summary"],
        json!({"total_import": 2, "total_export": 1, "import_success": 1,
        "import_failed": 1, "export_success": 1, "export_failed": 0})
    );
    assert_eq!(
        r["import_results"][0]["passed_pregate"],
        import["passed_pregate"]
    );
    assert_eq!(r["import_results"][1]["success"], false);
    assert_eq!(
        r["export_results"][0]["booking_number"],
        export["booking_number"]
    );
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_and_unknown_sessions() {
    let mut t = start(&[]).await;
    // Credentials instead of session_id get or create the persistent session.
    let creds = json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "format": "json",
                       "target_count": 5, "container_number": "ignored", "vm_email": "ignored"});
    let (status, first) = t.post("/get_containers", creds.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["is_new_session"], true);
    let (status, second) = t.post("/get_containers", creds).await;
    assert_eq!(status, 200);
    assert_eq!(second["is_new_session"], false);
    assert_eq!(second["session_id"], first["session_id"]);

    // Unknown session id: 400 session_not_found without credentials (the original's
    // clients log in again on a 400), the credentials' session with them.
    let unknown = "session_0123456789abcdef0123456789abcdef";
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": unknown, "format": "json"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], "session_not_found", "{body}");
    let (status, body) = t
        .post("/get_containers", json!({"session_id": unknown, "format": "json", "target_count": 3,
                                        "username": USER, "password": PASS, "captcha_api_key": KEY}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], first["session_id"]);
    let (status, body) = t.post("/get_containers", json!({"format": "json"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = t
        .post(
            "/get_containers",
            json!({"session_id": unknown, "target_count": -1}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(t.sandbox_stats().await["logins_ok"], 1);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn debug_screenshots_and_file_safety() {
    let (mut t, id, data) = with_session(&[]).await;
    let cid = data["containers"][3]["Container #"].as_str().unwrap();
    let (status, body) = t
        .post(
            "/get_container_timeline",
            json!({"session_id": id, "container_id": cid, "debug": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let shots = body["screenshots"].as_array().unwrap();
    assert!(shots.len() >= 2, "{shots:?}");
    for url in shots {
        let bytes = t
            .http
            .get(url.as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }
    let (status, body) = t
        .post(
            "/get_container_timeline",
            json!({"session_id": id, "container_id": cid}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body.get("screenshots").is_none(),
        "no screenshots without debug"
    );

    for bad in [
        "/files/..%2Fsecret.key",
        "/files/../secret.key",
        "/files/secret.key",
        "/files/%2e%2e%2fsecret.key",
    ] {
        let r = t.http.get(format!("{}{bad}", t.api)).send().await.unwrap();
        assert!(
            r.status() == 400 || r.status() == 404,
            "{bad}: {}",
            r.status()
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["success"], false);
    }
    let (status, _) = t
        .get("/files/screenshot_20250101_000000_00000000.png")
        .await;
    assert_eq!(status, 404);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_on_one_session_get_their_own_answers() {
    let (mut t, id, data) = with_session(&[]).await;
    let containers = data["containers"].as_array().unwrap();
    let picks: Vec<&Value> = containers.iter().step_by(17).take(5).collect();
    let calls = picks.iter().map(|c| {
        t.post(
            "/get_container_timeline",
            json!({"session_id": id, "container_id": c["Container #"]}),
        )
    });
    let answers = futures::future::join_all(calls).await;
    for (c, (status, body)) in picks.iter().zip(answers) {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["container_id"], c["Container #"]);
        let mut expected = c["timeline"].as_array().unwrap().clone();
        expected.reverse();
        assert_eq!(body["timeline"], Value::Array(expected));
    }
    t.shutdown_clean().await;
}

fn read_sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range("Containers").unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_scroll_does_not_block_another_session() {
    let mut t = start(&[("sandbox.render_delay_ms", "400")]).await;
    let a = t.demo_session().await;
    let (status, b) = t.get_session("demo2", "demo2-password", KEY).await;
    assert_eq!(status, 200);
    let b = b["session_id"].as_str().unwrap().to_string();
    let order = std::sync::Mutex::new(Vec::new());
    let long = async {
        // Every page of the grid waits 400 ms: several seconds in all.
        let (status, _) = t
            .post(
                "/get_containers",
                json!({"session_id": a, "format": "json"}),
            )
            .await;
        order.lock().unwrap().push(("long", status));
    };
    let short = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (status, _) = t
            .post(
                "/get_containers",
                json!({"session_id": b, "format": "json", "infinite_scrolling": false}),
            )
            .await;
        order.lock().unwrap().push(("short", status));
    };
    tokio::join!(long, short);
    assert_eq!(*order.lock().unwrap(), vec![("short", 200), ("long", 200)]);
    t.shutdown_clean().await;
}

/// A profile selector that misses the real rows must fail the request, not answer success
/// with zero containers, and leave a failure bundle showing the page it missed them on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broken_selector_fails_with_a_failure_bundle() {
    let (mut t, id, data) = with_session(&[(
        "portal.selectors.container_rows",
        "#searchres tbody tr.no-such-row",
    )])
    .await;
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json"}),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["success"], false);
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("container_rows"), "{error}");
    let url = body["debug_bundle_url"].as_str().expect("a bundle URL");
    let response = t.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/zip"
    );
    // A ZIP, like the original's debug bundles, holding the bundle as JSON.
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("bundle.json").unwrap(), &mut text).unwrap();
    let bundle: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bundle["step"], "scroll containers grid");
    // The HTML holds the rows the selector missed.
    let html = bundle["page"]["html"].as_str().unwrap();
    let first = data["containers"][0]["Container #"].as_str().unwrap();
    assert!(html.contains(first), "bundle HTML lacks {first}");
    // Each strategy of the broken key is listed with what it matched: nothing.
    let rows = bundle["page"]["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "container_rows")
        .expect("container_rows in the bundle");
    assert_eq!(rows["strategies"][0]["matches"], 0, "{rows}");
    assert!(
        !bundle["screenshot_png_base64"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    // No secret of the session is in it.
    for secret in [PASS, KEY] {
        assert!(!text.contains(secret), "the bundle holds a secret");
    }
    t.shutdown_clean().await;
}

/// The real grid takes seconds a page and sometimes shows no loading indicator at all: the
/// driver must not take a quiet second for the end of the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_pages_without_a_spinner_still_load_every_row() {
    let (mut t, id, data) = with_session(&[("sandbox.containers_per_account", "60")]).await;
    t.sandbox_post(
        "/__sandbox/config",
        json!({"render_delay_ms": 1500, "grid_spinner": "none"}),
    )
    .await;
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["containers"].as_array().unwrap().len(),
        data["containers"].as_array().unwrap().len(),
        "stopped early at {} rows",
        body["containers"].as_array().unwrap().len()
    );
    t.shutdown_clean().await;
}
