//! One headless Chrome, owned by one dedicated thread.
//!
//! headless_chrome's launch and close, and our page connection (`cdp.rs`), are synchronous:
//! every call blocks its thread until Chrome answers. So each session's `Browser` and page
//! connection live on a thread of their own that takes jobs over a channel; the async side
//! awaits the answer with a timeout and never blocks a runtime worker. The same thread also runs the blocking `Drop` of the browser and
//! removes the profile directory, so closing never stalls the runtime either.

use super::cdp::{Cdp, CdpError, page_url};
use super::{DriverError, Page};
use crate::config::{ChromeSettings, PortalProfile};
use headless_chrome::{Browser, LaunchOptions};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut Page) + Send>;

/// Where a job's time went: waiting for the browser thread (behind an earlier job), and
/// running on it.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobTimes {
    pub waited: Duration,
    pub ran: Duration,
}

/// Browser threads that have not yet finished cleaning up.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many browser threads are still running (including ones still removing their
/// profile). Shutdown waits for this to reach zero.
pub fn live_browsers() -> usize {
    LIVE.load(Ordering::SeqCst)
}

pub struct BrowserHandle {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    pid: u32,
    progress: super::page::Progress,
    finished: Option<oneshot::Receiver<()>>,
}

/// Why the last Chrome launch failed, while no launch has succeeded since (readiness: a
/// service that cannot launch Chrome cannot serve a login).
static LAUNCH_FAILURE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The last launch's failure, if no launch has succeeded since.
pub fn launch_failure() -> Option<String> {
    LAUNCH_FAILURE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

impl BrowserHandle {
    /// Start Chrome with a fresh profile in `profile_dir` and connect to its tab.
    pub async fn launch(
        chrome: &ChromeSettings,
        profile: Arc<PortalProfile>,
        profile_dir: PathBuf,
    ) -> Result<BrowserHandle, DriverError> {
        let launched = Self::start(chrome, profile, profile_dir).await;
        *LAUNCH_FAILURE.lock().unwrap_or_else(|p| p.into_inner()) =
            launched.as_ref().err().map(|e| e.to_string());
        launched
    }

    async fn start(
        chrome: &ChromeSettings,
        profile: Arc<PortalProfile>,
        profile_dir: PathBuf,
    ) -> Result<BrowserHandle, DriverError> {
        let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = oneshot::channel();
        let (finished_tx, finished_rx) = oneshot::channel();
        let chrome = chrome.clone();
        let progress = super::page::Progress::default();
        let shown = progress.clone();
        LIVE.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("chrome".into())
            .spawn(move || {
                browser_thread(chrome, profile, profile_dir, jobs_rx, ready_tx, shown);
                LIVE.fetch_sub(1, Ordering::SeqCst);
                let _ = finished_tx.send(());
            });
        if let Err(e) = spawned {
            LIVE.fetch_sub(1, Ordering::SeqCst);
            return Err(DriverError::Browser(format!(
                "cannot start browser thread: {e}"
            )));
        }
        // If the launch outlives this wait, dropping `jobs_tx` makes the thread clean up.
        let launch_timeout = Duration::from_secs(30);
        let pid = match tokio::time::timeout(launch_timeout, ready_rx).await {
            Ok(Ok(Ok(pid))) => pid,
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(_)) => return Err(DriverError::Browser("browser thread ended".into())),
            Err(_) => {
                return Err(DriverError::Browser(
                    "Chrome did not start within 30 s".into(),
                ));
            }
        };
        Ok(BrowserHandle {
            jobs: Some(jobs_tx),
            pid,
            progress,
            finished: Some(finished_rx),
        })
    }

    /// The step the browser thread is on (its last job's, once that job ended).
    pub fn progress(&self) -> super::page::Progress {
        self.progress.clone()
    }

    /// Chrome's process id (the browser process; renderers are its children).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Run `job` on the browser thread. `timeout` bounds the wait; a job that overruns it
    /// means the browser is stuck, which is fatal for the session.
    pub async fn run<R, F>(&self, step: &str, timeout: Duration, job: F) -> Result<R, DriverError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Page) -> Result<R, DriverError> + Send + 'static,
    {
        self.run_timed(step, timeout, job).await.0
    }

    /// [`run`](Self::run), also saying how long the job waited for the thread and how long
    /// it ran there (zero for a job that never ran).
    pub async fn run_timed<R, F>(
        &self,
        step: &str,
        timeout: Duration,
        job: F,
    ) -> (Result<R, DriverError>, JobTimes)
    where
        R: Send + 'static,
        F: FnOnce(&mut Page) -> Result<R, DriverError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let sent = Instant::now();
        let deadline = sent + timeout;
        let step_name = step.to_string();
        let wrapped: Job = Box::new(move |page: &mut Page| {
            let picked = Instant::now();
            page.begin(&step_name, deadline);
            let result = job(page);
            let times = JobTimes {
                waited: picked - sent,
                ran: picked.elapsed(),
            };
            let _ = tx.send((result, times));
        });
        let Some(jobs) = self.jobs.as_ref() else {
            return (
                Err(DriverError::Browser("closed".into())),
                JobTimes::default(),
            );
        };
        if jobs.send(wrapped).is_err() {
            return (
                Err(DriverError::Browser("browser thread has ended".into())),
                JobTimes::default(),
            );
        }
        // Jobs watch their own deadline; the grace period covers one CDP call in flight.
        match tokio::time::timeout(timeout + Duration::from_secs(5), rx).await {
            Ok(Ok((result, times))) => (result, times),
            Ok(Err(_)) => (
                Err(DriverError::Browser(format!(
                    "{step}: browser thread ended"
                ))),
                JobTimes::default(),
            ),
            Err(_) => (
                Err(DriverError::Browser(format!(
                    "{step}: browser did not answer"
                ))),
                JobTimes::default(),
            ),
        }
    }

    /// Is the Chrome process still running? Cheap: reads `/proc`, never touches the browser.
    pub fn is_alive(&self) -> bool {
        process_alive(self.pid)
    }

    /// Close Chrome and remove its profile; returns once both are gone (at most ~10 s).
    pub async fn close(mut self) {
        self.jobs.take();
        if let Some(finished) = self.finished.take() {
            let graceful = tokio::time::timeout(Duration::from_secs(5), finished).await;
            if graceful.is_err() {
                // The thread is stuck in a call; killing Chrome makes that call fail at once.
                kill(self.pid);
            }
        }
    }
}

impl Drop for BrowserHandle {
    /// A handle dropped without `close` (a panic, a killed actor): kill Chrome at once;
    /// the thread then ends and removes the profile directory on its own.
    fn drop(&mut self) {
        if self.finished.is_some() {
            self.jobs.take();
            kill(self.pid);
        }
    }
}

fn browser_thread(
    chrome: ChromeSettings,
    profile: Arc<PortalProfile>,
    profile_dir: PathBuf,
    jobs: std::sync::mpsc::Receiver<Job>,
    ready: oneshot::Sender<Result<u32, DriverError>>,
    progress: super::page::Progress,
) {
    let scratch = scratch_dir(&profile_dir);
    lower_priority(chrome.nice);
    match start_browser(&chrome, &profile, &profile_dir, &scratch) {
        Ok((browser, cdp)) => {
            let pid = browser.get_process_id().unwrap_or(0);
            let mut page = Page::new(browser, cdp, profile, &chrome, progress);
            if ready.send(Ok(pid)).is_ok() {
                while let Ok(job) = jobs.recv() {
                    job(&mut page);
                }
            }
            // Dropping the page drops the Browser: Chrome is closed and reaped.
            drop(page);
            // Killing the browser process does not wait for its children (renderers, GPU,
            // network service), which can still write to the profile and so defeat its
            // removal: end every process still using this profile first.
            crate::cleanup::kill_processes_with(&format!(
                "--user-data-dir={} ",
                profile_dir.display()
            ));
        }
        Err(e) => {
            let _ = ready.send(Err(e));
        }
    }
    remove_dir(&profile_dir);
    remove_dir(&scratch);
}

/// Chromium's scratch directory (its `TMPDIR`). It holds a Unix socket, whose path may not
/// exceed 107 bytes, so it cannot live inside a deep profile path: it gets a short name in
/// the system temp folder, derived from the profile's name so cleanup can find it.
pub fn scratch_dir(profile_dir: &Path) -> PathBuf {
    let name = profile_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let short: String = name
        .trim_start_matches("session_")
        .chars()
        .take(20)
        .collect();
    std::env::temp_dir().join(format!(
        "{SCRATCH_PREFIX}{short}-{}",
        name.rsplit('-').next().unwrap_or("0")
    ))
}

/// Scratch directories in the temp folder start with this.
pub const SCRATCH_PREFIX: &str = "emodal-chrome-";

fn start_browser(
    chrome: &ChromeSettings,
    profile: &PortalProfile,
    profile_dir: &Path,
    scratch: &Path,
) -> Result<(Browser, Cdp), DriverError> {
    for dir in [profile_dir, scratch] {
        std::fs::create_dir_all(dir)
            .map_err(|e| DriverError::Browser(format!("cannot create {}: {e}", dir.display())))?;
    }
    // Chromium leaves org.chromium.Chromium.* directories in TMPDIR: give each browser its
    // own, removed with it.
    let envs = HashMap::from([("TMPDIR".to_string(), scratch.display().to_string())]);
    // Chrome's first tab would otherwise open the New Tab Page, which fetches the default
    // search engine's start page and navigates twice more while we start driving the tab.
    let args: Vec<&OsStr> = CHROME_ARGS
        .iter()
        .chain(&["about:blank"])
        .map(OsStr::new)
        .collect();
    let ignore: Vec<&OsStr> = vec![OsStr::new(
        "--disable-features=TranslateUI,BlinkGenPropertyTrees",
    )];
    let options = LaunchOptions {
        headless: chrome.headless,
        // Chrome's sandbox cannot run as root; elsewhere keep it.
        sandbox: !running_as_root(),
        path: Some(chrome.path.clone()),
        user_data_dir: Some(profile_dir.to_path_buf()),
        window_size: Some((1366, 900)),
        idle_browser_timeout: Duration::from_secs(chrome.idle_browser_timeout),
        ignore_certificate_errors: profile.ignore_certificate_errors,
        process_envs: Some(envs),
        args,
        ignore_default_args: ignore,
        ..LaunchOptions::default()
    };
    let browser = Browser::new(options)
        .map_err(|e| DriverError::Browser(format!("cannot launch Chrome: {e:#}")))?;
    let cdp = open_tab(&browser)
        .map_err(|e| DriverError::Browser(format!("cannot open a tab: {e:?}")))?;
    Ok((browser, cdp))
}

/// A direct connection to Chrome's first tab (see `cdp.rs` for why not headless_chrome's).
/// Headless Chrome starts with one blank tab: using it, rather than opening another, saves
/// a second page and its DevTools set-up.
fn open_tab(browser: &Browser) -> Result<Cdp, CdpError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let browser_url = browser.get_ws_url();
    let mut control = Cdp::open(&browser_url)?;
    let targets = control.call("Target.getTargets", serde_json::json!({}), deadline)?;
    let first_page = targets["targetInfos"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["type"] == "page"))
        .and_then(|t| t["targetId"].as_str())
        .map(str::to_string);
    let target = match first_page {
        Some(id) => id,
        None => control.call(
            "Target.createTarget",
            serde_json::json!({"url": "about:blank"}),
            deadline,
        )?["targetId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CdpError::Protocol("Target.createTarget gave no targetId".into()))?,
    };
    let url = page_url(&browser_url, &target)
        .ok_or_else(|| CdpError::Protocol(format!("unexpected DevTools URL {browser_url}")))?;
    Cdp::open_page(&url, deadline)
}

/// Flags for a closed network and a small footprint: one renderer, no site isolation, and
/// none of the browser-UI pages (omnibox popups) that Chrome preloads even when headless,
/// each of which took a renderer of its own (~40 MB); no software rasteriser (~10 MB).
/// Measured with 3 sessions, summed PSS per session: 240 MB before, 188 MB after.
const CHROME_ARGS: &[&str] = &[
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--renderer-process-limit=1",
    "--disable-software-rasterizer",
    "--disable-features=TranslateUI,BlinkGenPropertyTrees,site-per-process,IsolateOrigins,PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup,AimEnabled",
    "--disable-site-isolation-trials",
];

fn remove_dir(dir: &Path) {
    // Chrome's last writes can race the first attempt; a few retries settle it.
    for _ in 0..20 {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    tracing::warn!(dir = %dir.display(), "could not remove a Chrome directory");
}

/// `CAP_SYS_NICE` from linux/capability.h (not exported by the libc crate).
const CAP_SYS_NICE: libc::c_ulong = 23;

/// Lower this thread's scheduling priority. Linux keeps niceness per thread and a child
/// process inherits its creator's, so Chrome, launched from this thread, and every process
/// Chrome forks run at `nice`. The thread itself only waits on DevTools answers.
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    // SAFETY: plain syscalls on the calling thread; no memory is shared with the kernel.
    let done = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice.min(19))
    };
    if done != 0 {
        tracing::warn!(nice, "could not lower Chrome's priority");
        return;
    }
    // Chrome raises its own threads' priority when it may (as root, it may): take that right
    // away from this thread and so from the Chrome it starts.
    if running_as_root() {
        // SAFETY: prctl with integer arguments only; affects the calling thread.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0) };
    }
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Resolves when process `pid` exits, at once (a Linux pidfd becomes readable then), so a
/// killed Chrome is noticed in milliseconds rather than at the next liveness check. Where
/// pidfds are unavailable it never resolves, and the periodic check still notices.
pub async fn wait_exit(pid: u32) {
    use std::os::fd::{FromRawFd, OwnedFd};
    if pid == 0 {
        return std::future::pending().await;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
            return; // Already gone.
        }
        return std::future::pending().await;
    }
    // SAFETY: the descriptor was just returned to us and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the AsyncFd owns the descriptor and nothing else closes or replaces it.
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
    };
    match registered {
        Ok(watch) => {
            let _ = watch.readable().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// A process is alive when `/proc/<pid>` exists and it is not a zombie.
pub fn process_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name, which may contain spaces.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // Anything else (too many open files, say) is our own trouble, not a dead Chrome:
        // restarting sessions would only make it worse.
        Err(_) => true,
    }
}

pub(crate) fn kill(pid: u32) {
    if pid != 0 && process_alive(pid) {
        // SAFETY: sending a signal has no memory-safety preconditions.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}
