//! Where log lines go: stderr, written by a thread of its own in batches.
//!
//! A request formats its line and appends it to a buffer; the writer thread writes it out. The
//! first line after a quiet [`EVERY`] wakes the writer at once (a line an operator or a test
//! waits for shows at once); lines that follow within [`EVERY`] are written together when it
//! has passed (or once [`SOON`] bytes wait). A request so never waits for stderr (a slow pipe
//! to a log shipper, a full disk), and a busy service wakes the writer at most once per
//! [`EVERY`]: with a wake per line, a warm request's line cost as much as the request itself
//! (benchmark row 14). Nothing is dropped: past [`CAP`]
//! bytes a logging thread waits for the writer. The [`Flusher`] guard writes out what is left
//! when the process ends normally; a SIGKILL can lose the last [`EVERY`] of lines.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// How often the buffer is written out.
const EVERY: Duration = Duration::from_millis(50);
/// A buffer this full is written out without waiting for [`EVERY`].
const SOON: usize = 256 * 1024;
/// A buffer this full makes logging threads wait (the writer is stuck behind stderr).
const CAP: usize = 8 * 1024 * 1024;

struct Shared {
    state: Mutex<State>,
    /// Signalled when the buffer should be written now (full, or the end).
    wake: Condvar,
    /// Signalled after each write-out, for threads waiting at [`CAP`].
    drained: Condvar,
}

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    ending: bool,
    /// A line came after a quiet spell: write it now.
    urgent: bool,
    /// When the writer last wrote (`None`: never).
    last_write: Option<std::time::Instant>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The `MakeWriter` the log layer writes through.
#[derive(Clone)]
pub struct Batched(Arc<Shared>);

/// Ends the writer thread, writing out what is still buffered, when dropped.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A writer to `out` and the guard that flushes it.
pub fn batched<W: Write + Send + 'static>(mut out: W) -> (Batched, Flusher) {
    let shared = Arc::new(Shared {
        state: Mutex::default(),
        wake: Condvar::new(),
        drained: Condvar::new(),
    });
    let theirs = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            let mut spare = Vec::new();
            loop {
                let ending = {
                    let state = theirs.state();
                    let (mut state, _) = theirs
                        .wake
                        .wait_timeout_while(state, EVERY, |s| {
                            s.buffer.len() < SOON && !s.ending && !s.urgent
                        })
                        .unwrap_or_else(|p| p.into_inner());
                    std::mem::swap(&mut state.buffer, &mut spare);
                    state.urgent = false;
                    if !spare.is_empty() {
                        state.last_write = Some(std::time::Instant::now());
                    }
                    state.ending
                };
                if !spare.is_empty() {
                    // Nowhere to report a failed log write: the line is gone either way.
                    let _ = out.write_all(&spare);
                    let _ = out.flush();
                    spare.clear();
                }
                theirs.drained.notify_all();
                if ending && theirs.state().buffer.is_empty() {
                    return;
                }
            }
        })
        .ok();
    let writer = Batched(shared.clone());
    (writer, Flusher { shared, thread })
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.state().ending = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer: appends to the shared buffer.
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut state = self.0.state();
        while state.buffer.len() >= CAP && !state.ending {
            self.0.wake.notify_all();
            state = self
                .0
                .drained
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        let quiet =
            state.buffer.is_empty() && state.last_write.is_none_or(|t| t.elapsed() >= EVERY);
        state.buffer.extend_from_slice(bytes);
        if quiet || state.buffer.len() >= SOON {
            state.urgent = true;
            self.0.wake.notify_all();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` that keeps what it is given.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_soon_and_all_of_them_at_the_end() {
        let sink = Sink::default();
        let (writer, flusher) = batched(sink.clone());
        writer.make_writer().write_all(b"first\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.0.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        for i in 0..10_000 {
            writeln!(writer.make_writer(), "line {i}").unwrap();
        }
        drop(flusher);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_001);
        assert_eq!(lines[0], "first");
        assert_eq!(lines[10_000], "line 9999");
    }
}
