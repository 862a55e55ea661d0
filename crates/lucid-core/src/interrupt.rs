//! Stopping long work when the user asks (Ctrl-C in Python).
//!
//! NOTE \[interrupts\]: a host wraps a long call in [`watch`], giving a check that says
//! whether the user asked to stop (the Python bindings run the interpreter's pending
//! signal handlers, taking the GIL for a moment). Long loops call [`checkpoint`]: the
//! sweeps at every node, the Jacobian between blocks. On the watching thread a
//! checkpoint runs the check at most every `CHECK_EVERY`; once it says stop, that
//! thread and every pool helper working for the same call get `Error::Interrupted` at
//! their next checkpoint, so a Jacobian stops within a node's time of the signal and
//! nothing half-written is returned. Without a watch a checkpoint costs one
//! thread-local read.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often the watching thread asks the host whether to stop.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// One watched call: the host's check and whether it said stop.
pub struct Watch {
    stop: AtomicBool,
    check: Box<dyn Fn() -> bool + Send + Sync>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Watch>>> = const { RefCell::new(None) };
    /// Whether this thread is the one a watch was started on (only it runs the check).
    static OWNER: Cell<bool> = const { Cell::new(false) };
    /// When the check last ran, and when the clock was last read.
    static LAST_CHECK: Cell<Option<Instant>> = const { Cell::new(None) };
    static LAST_READ: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Checkpoints left before the next clock read, and the current stride.
    static COUNTDOWN: Cell<(u32, u32)> = const { Cell::new((0, 1)) };
}

/// The clock is read at every checkpoint while they come slower than this, and at
/// doubling strides (up to `MAX_STRIDE`) while they come faster: a clock read costs
/// more than a fast node, and a slow node must not hide a signal for long.
const SLOW_CHECKPOINTS: Duration = Duration::from_millis(2);
const MAX_STRIDE: u32 = 64;

/// Run `f` with `check` watching it on this thread (and on the pool helpers that work
/// for it): checkpoints inside `f` return `Error::Interrupted` once `check` says stop.
pub fn watch<R>(check: impl Fn() -> bool + Send + Sync + 'static, f: impl FnOnce() -> R) -> R {
    let watch = Arc::new(Watch { stop: AtomicBool::new(false), check: Box::new(check) });
    let now = Some(Instant::now());
    LAST_CHECK.with(|c| c.set(now));
    LAST_READ.with(|c| c.set(now));
    COUNTDOWN.with(|c| c.set((1, 1)));
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            OWNER.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OWNER.with(|o| o.replace(true)));
    with_watch(Some(watch), f)
}

/// The watch of the call this thread works for, if any (the pool hands it to its
/// helpers with each job).
pub(crate) fn current() -> Option<Arc<Watch>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Run `f` under `watch` on this thread, restoring the previous one after (a pool
/// helper: it stops with the call but never runs the check).
pub(crate) fn with_watch<R>(watch: Option<Arc<Watch>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<Watch>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), watch));
    let _restore = Restore(prev);
    f()
}

/// `Err(Error::Interrupted)` when the watched call this thread works for was asked to
/// stop (see NOTE \[interrupts\]); `Ok` otherwise, and always without a watch.
pub fn checkpoint(op: &'static str) -> Result<()> {
    let stop = CURRENT.with(|c| {
        let current = c.borrow();
        let Some(watch) = current.as_ref() else { return false };
        if watch.stop.load(Ordering::Relaxed) {
            return true;
        }
        if !OWNER.with(Cell::get) || !clock_due() {
            return false;
        }
        let now = Instant::now();
        let due = LAST_CHECK.with(|last| {
            let due = last.get().is_none_or(|t| now.duration_since(t) >= CHECK_EVERY);
            if due {
                last.set(Some(now));
            }
            due
        });
        if due && (watch.check)() {
            watch.stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    });
    if stop {
        Err(Error::interrupted(op))
    } else {
        Ok(())
    }
}

/// Whether this checkpoint reads the clock (see `SLOW_CHECKPOINTS`).
fn clock_due() -> bool {
    let (left, stride) = COUNTDOWN.with(Cell::get);
    if left > 1 {
        COUNTDOWN.with(|c| c.set((left - 1, stride)));
        return false;
    }
    let now = Instant::now();
    let since = LAST_READ.with(|r| r.replace(Some(now))).map_or(Duration::ZERO, |t| now.duration_since(t));
    let stride = if since >= SLOW_CHECKPOINTS { 1 } else { (stride * 2).min(MAX_STRIDE) };
    COUNTDOWN.with(|c| c.set((stride, stride)));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_checkpoint_stops_once_the_check_says_so_and_only_under_its_watch() {
        assert!(checkpoint("test").is_ok());
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let result = watch(
            move || seen.fetch_add(1, Ordering::Relaxed) >= 1,
            || -> Result<usize> {
                let mut passed = 0;
                for _ in 0..1000 {
                    std::thread::sleep(Duration::from_millis(1));
                    checkpoint("test")?;
                    passed += 1;
                }
                Ok(passed)
            },
        );
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Interrupted { .. }), "{err:?}");
        assert!(calls.load(Ordering::Relaxed) >= 2);
        // the watch ends with the call
        assert!(checkpoint("test").is_ok());
    }

    #[test]
    fn helpers_under_the_same_watch_stop_too_but_never_run_the_check() {
        let result = watch(
            || true,
            || {
                let w = current();
                let helper = std::thread::spawn(move || {
                    with_watch(w, || {
                        std::thread::sleep(Duration::from_millis(60));
                        checkpoint("helper")
                    })
                });
                std::thread::sleep(Duration::from_millis(30));
                let mine = checkpoint("caller");
                (mine, helper.join().unwrap())
            },
        );
        assert!(result.0.is_err() && result.1.is_err(), "{result:?}");
    }
}
