//! One headless Chrome, owned by one dedicated thread.
//!
//! headless_chrome's launch and close, and our page connection (`cdp.rs`), are synchronous:
//! every call blocks its thread until Chrome answers. So each session's `Browser` and page
//! connection live on a thread of their own that takes jobs over a channel; the async side
//! awaits the answer with a timeout and never blocks a runtime worker. The same thread also
//! runs the blocking `Drop` of the browser and removes the profile directory, so closing
//! never stalls the runtime either.
//!
//! How Chrome is started (flags, directories, priority, the first tab) is in `launch`; what
//! the operating system says of its process (alive, exited, killed) in `process`.

mod launch;
mod process;

pub use launch::scratch_dir;
use launch::{lower_priority, start_browser};
use process::kill;
pub use process::{process_alive, wait_exit};

use super::{DriverError, Page};
use crate::config::{ChromeSettings, PortalProfile};
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
