//! Settings that are wrong are refused at start, naming where they were set (file,
//! environment variable, override), the key and the reason; and logs carry no colour codes
//! when nobody reads them at a terminal. The binary is run as operators run it.

mod support;

use emodal_api::config::Settings;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{chrome_pids_under, wait_until};
use tempfile::TempDir;

/// `emodal-api --config <dir>/settings.toml <command>`, stderr to a file, its own data
/// directory and a free port; stopped (SIGTERM, then SIGKILL) when dropped.
struct Run {
    child: Child,
    stderr_path: PathBuf,
    dir: TempDir,
}

impl Run {
    fn start(config: &str, command: &str, env: &[(&str, &str)]) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), config);
        let stderr_path = dir.path().join("stderr.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_emodal-api"));
        cmd.arg("--config").arg(&path).arg(command);
        // What the developer's shell may carry must not change what is tested.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if k.to_uppercase().starts_with("EMODAL__") || k == "NO_COLOR" || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("EMODAL__CHROME__DATA_DIR", dir.path().join("data"));
        cmd.envs(env.iter().copied());
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        Run {
            child,
            stderr_path,
            dir,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<i32> {
        self.child
            .try_wait()
            .unwrap()
            .map(|s| s.code().unwrap_or(-1))
    }

    /// The exit code, once the process has ended (it must end within `limit`).
    async fn exit_code(&mut self, limit: Duration) -> i32 {
        let mut code = None;
        wait_until("the process to exit", limit, || {
            code = self.exited();
            code.is_some()
        })
        .await;
        code.unwrap()
    }

    /// Refused at start: exits non-zero by itself; its stderr.
    async fn refused(mut self) -> String {
        let code = self.exit_code(Duration::from_secs(30)).await;
        let stderr = self.stderr();
        assert_ne!(code, 0, "the start was not refused; stderr:\n{stderr}");
        stderr
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.exited().is_none() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            for _ in 0..200 {
                if self.exited().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `body` plus a free port (the data directory comes from the environment, so that `body`
/// may have a `[chrome]` table of its own).
fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("settings.toml");
    std::fs::write(&path, format!("{body}\n[server]\nport = 0\n")).unwrap();
    path
}

/// A settings file in a temporary directory, for [`Settings::load`].
fn config_file(body: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(&path, body).unwrap();
    (dir, path)
}

fn load_error(body: &str) -> (String, String) {
    let (_dir, path) = config_file(body);
    let err = Settings::load(Some(&path)).expect_err("settings must be refused");
    (format!("{err:#}"), path.display().to_string())
}

#[tokio::test]
async fn a_typo_in_the_config_file_fails_the_start_naming_the_key_and_the_file() {
    let run = Run::start("[sessions]\nmax_sesions = 3\n", "serve", &[]);
    let file = run.dir.path().join("settings.toml").display().to_string();
    let stderr = run.refused().await;
    assert!(
        stderr.contains(&format!(
            "{file}: sessions.max_sesions: unknown key; did you mean sessions.max_sessions?"
        )),
        "{stderr}"
    );

    let (err, file) = load_error("[sessions]\nmax_sesions = 3\n");
    assert!(err.contains(&file), "{err}");
    assert!(err.contains("sessions.max_sesions: unknown key"), "{err}");
    // A key in the wrong section, and one inside a list of tables.
    let (err, _) = load_error(
        "[server]\nmax_sessions = 3\n[[sandbox.accounts]]\nusrname = \"a\"\npassword = \"b\"\n",
    );
    assert!(
        err.contains("server.max_sessions: unknown key; did you mean sessions.max_sessions?"),
        "{err}"
    );
    assert!(
        err.contains("sandbox.accounts[0].usrname: unknown key"),
        "{err}"
    );
    // Free keys stay free: new selectors and wizard texts are the profile's to add.
    let (_dir, path) = config_file(
        "[portal.selectors]\nsomething_new = \"div\"\n[portal.wizard]\nterminal_alias_xyz = \"XYZ\"\n",
    );
    Settings::load(Some(&path)).expect("free profile keys load");
}

#[tokio::test]
async fn an_environment_typo_fails_the_start_naming_the_variable() {
    let run = Run::start("", "serve", &[("EMODAL__SESSIONS__MAX_SESIONS", "3")]);
    let stderr = run.refused().await;
    assert!(
        stderr.contains("environment variable EMODAL__SESSIONS__MAX_SESIONS"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sessions.max_sesions: unknown key; did you mean sessions.max_sessions"),
        "{stderr}"
    );
}

#[test]
fn a_log_format_other_than_text_or_json_is_refused() {
    let (err, file) = load_error("[log]\nformat = \"xml\"\n");
    assert!(
        err.contains(&format!(
            "{file}: log.format: must be one of text, json, got 'xml'"
        )),
        "{err}"
    );
    let err = Settings::from_overrides(&[("log.format", "pretty")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("override: log.format: must be one of"),
        "{err}"
    );
    let err = Settings::from_overrides(&[("sandbox.pace", "slow")]).unwrap_err();
    assert!(err.to_string().contains("sandbox.pace"), "{err}");
}

#[tokio::test]
async fn a_chrome_path_that_is_not_a_browser_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("chromium");
    std::fs::write(&not_executable, "not a browser").unwrap();
    let not_executable = not_executable.display().to_string();
    for (path, reason) in [
        ("/nonexistent/chromium", "does not exist"),
        ("/bin/false", "exited with"),
        (not_executable.as_str(), "does not start"),
    ] {
        let run = Run::start(&format!("[chrome]\npath = \"{path}\"\n"), "serve", &[]);
        let file = run.dir.path().join("settings.toml").display().to_string();
        let stderr = run.refused().await;
        assert!(
            stderr.contains(&format!("{file}: chrome.path: {path} {reason}")),
            "{path}: {stderr}"
        );
    }
    // The same check on its own, and the real browser passing it.
    let mut settings = Settings::from_overrides(&[("chrome.path", "/bin/false")]).unwrap();
    let err = settings.check_chrome().unwrap_err().to_string();
    assert!(err.contains("override: chrome.path: /bin/false"), "{err}");
    settings.chrome.path = "/usr/bin/chromium".into();
    let version = settings.check_chrome().expect("/usr/bin/chromium answers");
    assert!(version.to_lowercase().contains("chrom"), "{version}");
}

#[test]
fn unknown_override_keys_are_refused() {
    let err = Settings::from_overrides(&[("sessions.max_sesions", "3")]).unwrap_err();
    assert!(
        err.to_string().contains(
            "override: sessions.max_sesions: unknown key; did you mean sessions.max_sessions?"
        ),
        "{err}"
    );
    // Selectors and wizard texts are free keys.
    Settings::from_overrides(&[
        ("portal.selectors.container_rows", "tr"),
        ("portal.wizard.terminal_alias_xyz", "XYZ"),
    ])
    .expect("free profile keys");
}

#[test]
fn a_selector_the_driver_needs_cannot_be_left_empty() {
    let err = Settings::from_overrides(&[("portal.selectors.username", "")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("override: portal.selectors.username: empty, but the driver needs it"),
        "{err}"
    );
    let (err, file) = load_error("[portal.selectors]\nwizard_slot_select = []\n");
    assert!(
        err.contains(&format!(
            "{file}: portal.selectors.wizard_slot_select: empty"
        )),
        "{err}"
    );
    // Every key the driver asks for is in the shipped profile.
    let shipped = Settings::from_overrides(&[]).unwrap();
    for key in emodal_api::config::required_selectors() {
        assert!(shipped.portal.strategies(key).is_ok(), "{key}");
    }
    let err = Settings::from_overrides(&[("portal.wizard.next_wait_ms", "soon")]).unwrap_err();
    assert!(
        err.to_string().contains("portal.wizard.next_wait_ms"),
        "{err}"
    );
}

#[test]
fn public_base_url_is_checked_and_loses_its_trailing_slash() {
    let s = Settings::from_overrides(&[]).unwrap();
    assert_eq!(s.server.public_base_url, "");
    assert!(!s.server.trust_forwarded_headers);
    let s = Settings::from_overrides(&[
        ("server.public_base_url", "https://api.example.com/emodal/"),
        ("server.trust_forwarded_headers", "true"),
    ])
    .unwrap();
    assert_eq!(s.server.public_base_url, "https://api.example.com/emodal");
    assert!(s.server.trust_forwarded_headers);
    for bad in ["api.example.com", "ftp://api.example.com", "https://"] {
        let err = Settings::from_overrides(&[("server.public_base_url", bad)]).unwrap_err();
        assert!(
            err.to_string().contains("server.public_base_url"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn the_shipped_settings_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("settings.toml");
    let s = Settings::load(Some(&path)).expect("settings.toml loads");
    assert_eq!(s.log.format, "text");
    assert!(s.origin("server.port").contains("settings.toml"));
}

#[tokio::test]
async fn text_logs_carry_no_colour_codes_off_a_terminal() {
    for env in [&[][..], &[("NO_COLOR", "1")][..]] {
        let mut run = Run::start("", "serve", env);
        wait_until(
            "the API to log that it listens",
            Duration::from_secs(30),
            || run.stderr().contains("API listening") || run.exited().is_some(),
        )
        .await;
        let data_dir = run.dir.path().join("data");
        unsafe { libc::kill(run.child.id() as i32, libc::SIGTERM) };
        let code = run.exit_code(Duration::from_secs(30)).await;
        let stderr = run.stderr();
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("API listening"), "{stderr}");
        // A line the service always logs at start (no API tokens configured), besides.
        assert!(stderr.contains("NO API TOKENS"), "{stderr}");
        assert!(!stderr.contains('\x1b'), "colour codes in {stderr:?}");
        assert!(chrome_pids_under(&data_dir).is_empty());
    }
}
