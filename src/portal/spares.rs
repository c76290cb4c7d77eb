//! Chromes launched ahead of need (browserless calls it pre-booting).
//!
//! Launching Chrome is most of a restart's time and a good part of a cold login's on a fast
//! portal. `chrome.spares` browsers wait on `about:blank` with a fresh profile of their own;
//! a new session or a restart takes one, and a replacement is launched in the background,
//! on its own browser thread and so at Chrome's lower priority (`chrome.nice`).
//!
//! A spare is recycled before headless_chrome's idle timeout could close its connection
//! (nothing happens in a blank tab), and one whose process died is dropped, so a session
//! never gets a browser that cannot work.

use super::BrowserHandle;
use crate::config::{ChromeSettings, PortalProfile};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Spares {
    inner: Arc<Inner>,
}

struct Inner {
    want: usize,
    chrome: ChromeSettings,
    profile: Arc<PortalProfile>,
    profiles_dir: PathBuf,
    ready: Mutex<Vec<(BrowserHandle, Instant)>>,
    /// Spares ready now, for `/health` without taking the lock.
    count: AtomicUsize,
    closed: AtomicBool,
    /// Wakes the keeper: a spare was taken, or it is time to close.
    wake: Notify,
    /// When a spare was last taken.
    taken_at: Mutex<Option<Instant>>,
}

/// How long after a spare was taken its replacement waits to launch: about one login on a
/// fast portal.
const QUIET: Duration = Duration::from_secs(2);

impl Spares {
    /// Keep `chrome.spares` browsers ready (none when 0). The keeper task runs until
    /// [`Spares::close`].
    pub fn start(
        chrome: &ChromeSettings,
        profile: Arc<PortalProfile>,
        profiles_dir: PathBuf,
    ) -> Spares {
        let spares = Spares {
            inner: Arc::new(Inner {
                want: chrome.spares,
                chrome: chrome.clone(),
                profile,
                profiles_dir,
                ready: Mutex::new(Vec::new()),
                count: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                wake: Notify::new(),
                taken_at: Mutex::new(None),
            }),
        };
        if chrome.spares > 0 {
            tokio::spawn(spares.clone().keep());
        }
        spares
    }

    /// Spare browsers ready now.
    pub fn available(&self) -> usize {
        self.inner.count.load(Ordering::SeqCst)
    }

    /// A ready browser, if one waits (the keeper then launches its replacement).
    pub fn take(&self) -> Option<BrowserHandle> {
        let taken = {
            let mut ready = self.lock();
            let mut taken = None;
            while let Some((browser, _)) = ready.pop() {
                if browser.is_alive() {
                    taken = Some(browser);
                    break;
                }
                // Died while waiting: dropping the handle removes its profile.
                tracing::warn!(pid = browser.pid(), "a spare Chrome had exited; discarded");
            }
            self.inner.count.store(ready.len(), Ordering::SeqCst);
            taken
        };
        if taken.is_some() {
            *self
                .inner
                .taken_at
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        self.inner.wake.notify_one();
        taken
    }

    /// Stop launching and close every spare; returns once their Chromes are gone.
    pub async fn close(&self) {
        // Under the lock, so a launch finishing now either sees `closed` or is taken here.
        let all: Vec<_> = {
            let mut ready = self.lock();
            self.inner.closed.store(true, Ordering::SeqCst);
            std::mem::take(&mut *ready)
        };
        self.inner.wake.notify_one();
        self.inner.count.store(0, Ordering::SeqCst);
        for (browser, _) in all {
            browser.close().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(BrowserHandle, Instant)>> {
        self.inner.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The keeper: top up to `want`, one launch at a time; recycle old or dead spares.
    async fn keep(self) {
        let inner = &self.inner;
        // Half of headless_chrome's idle timeout: a spare is replaced well before its
        // connection, which sees no events in a blank tab, would be closed.
        let max_age = Duration::from_secs((inner.chrome.idle_browser_timeout / 2).max(30));
        let mut failures = 0u32;
        while !inner.closed.load(Ordering::SeqCst) {
            let stale = {
                let mut ready = self.lock();
                let (keep, stale): (Vec<_>, Vec<_>) = std::mem::take(&mut *ready)
                    .into_iter()
                    .partition(|(b, born)| b.is_alive() && born.elapsed() < max_age);
                *ready = keep;
                inner.count.store(ready.len(), Ordering::SeqCst);
                stale
            };
            for (browser, _) in stale {
                browser.close().await;
            }
            if self.available() < inner.want {
                // Not while the login that just took a spare runs: a Chrome starting up
                // takes a core for about half a second, which that login would wait for
                // (measured: a cold login with a spare took as long as one without).
                self.wait_for_quiet().await;
                if inner.closed.load(Ordering::SeqCst) {
                    break;
                }
                match self.launch().await {
                    Ok(()) => failures = 0,
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(event = "spare_launch_failed", error = %e);
                        // Do not spin on a Chrome that cannot start; sessions launch their own.
                        let wait = Duration::from_secs(5u64 << failures.min(6));
                        let _ = tokio::time::timeout(wait, inner.wake.notified()).await;
                    }
                }
                continue;
            }
            let _ = tokio::time::timeout(Duration::from_secs(30), inner.wake.notified()).await;
        }
        // Closed while a launch was under way: that browser was closed by `launch`.
    }

    /// Wait until no spare has been taken for [`QUIET`].
    async fn wait_for_quiet(&self) {
        let inner = &self.inner;
        loop {
            let since = *inner.taken_at.lock().unwrap_or_else(|p| p.into_inner());
            let Some(since) = since else { return };
            let left = QUIET.saturating_sub(since.elapsed());
            if left.is_zero() || inner.closed.load(Ordering::SeqCst) {
                return;
            }
            let _ = tokio::time::timeout(left, inner.wake.notified()).await;
        }
    }

    async fn launch(&self) -> Result<(), super::DriverError> {
        let inner = &self.inner;
        let name = format!("spare-{:016x}", rand::random::<u64>());
        let browser = BrowserHandle::launch(
            &inner.chrome,
            inner.profile.clone(),
            inner.profiles_dir.join(name),
        )
        .await?;
        let late = {
            let mut ready = self.lock();
            if inner.closed.load(Ordering::SeqCst) {
                Some(browser)
            } else {
                ready.push((browser, Instant::now()));
                inner.count.store(ready.len(), Ordering::SeqCst);
                None
            }
        };
        if let Some(browser) = late {
            browser.close().await;
        }
        Ok(())
    }
}
