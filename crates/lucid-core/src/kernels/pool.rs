//! Work sharing over all cores: the calling thread and a few long-lived helpers take
//! the chunks of one job from a shared counter.
//!
//! NOTE [sharing work on a shared machine]: a product or a block of Jacobian rows is cut
//! into more chunks than there are cores, and every thread takes the next chunk when it
//! is done with its last. The calling thread works too and never waits for a helper to
//! start, so a helper that wakes late, or a core busy with another process, costs at
//! most the one chunk that helper is still finishing (a static half-and-half split
//! would wait for the slow half).
//!
//! Helpers are started once, on first use. Waking a sleeping thread is the expensive
//! part: on the 2-core VMs this was measured on, the wake-up call blocked the caller for
//! 3-60 µs. So a helper lingers after each job for `LINGER`, yielding its core to any
//! other runnable thread, before it sleeps: the products of one Jacobian, and Jacobians
//! called in a loop, find it awake and pay nothing. (A Jacobian called alone after a
//! pause took about 200 µs where the same call in a loop took 37 µs, from cold caches
//! and an idle core; whether it woke a helper did not show in that.)
//!
//! The risk is the other way round: a helper descheduled while it holds a chunk makes
//! the caller wait for it. So callers share only jobs long beside that (products from
//! about 75 µs; see `gemm::SHARE_MACS`).
//!
//! One job runs at a time. A call that finds the pool busy (another thread's job, or a
//! chunk of a job asking for the pool again) runs all its chunks itself, so nested and
//! concurrent calls never wait on each other.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The number of threads work is shared over: `LUCID_NUM_THREADS` when it is set to a
/// positive integer (1 keeps everything on the calling thread), else the cores this
/// process may use. Read once: `available_parallelism` reads cgroup files on every
/// call, which cost more than a small Jacobian.
pub(crate) fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| {
        let set = std::env::var("LUCID_NUM_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok());
        set.filter(|&n| n > 0).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Run `work(chunk)` once for every chunk in `0..chunks`, on the calling thread and the
/// pool's helpers, in no particular order; returns when all are done. A panic in any
/// chunk is raised again here after every other chunk has finished.
pub(crate) fn share(chunks: usize, work: &(dyn Fn(usize) + Sync)) {
    // helpers work under the caller's watch (NOTE [interrupts]), so they stop with it
    let watch = crate::interrupt::current();
    let watched = |i: usize| crate::interrupt::with_watch(watch.clone(), || work(i));
    let work: &(dyn Fn(usize) + Sync) = if watch.is_some() { &watched } else { work };
    let next = AtomicUsize::new(0);
    let pool = if chunks >= 2 { Pool::get() } else { None };
    let job = Job::new(work, &next, chunks);
    let Some(pool) = pool.filter(|p| p.publish(job)) else {
        return take_chunks(work, &next, chunks);
    };
    // The job is published: it must be withdrawn, and every helper out of it, before
    // `work` and `next` go out of scope, whatever happens here.
    let mine = catch_unwind(AssertUnwindSafe(|| take_chunks(work, &next, chunks)));
    let helper_panicked = pool.withdraw();
    if let Err(payload) = mine {
        resume_unwind(payload);
    }
    assert!(!helper_panicked, "a chunk of shared work panicked on a helper thread");
}

/// A pointer through which the chunks of one job write disjoint parts of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct Disjoint<T>(pub(crate) *mut T);

// SAFETY: sharing the address is safe; each write through it is the writer's
// responsibility (disjoint ranges, inside the buffer).
unsafe impl<T: Send> Send for Disjoint<T> {}
unsafe impl<T: Send> Sync for Disjoint<T> {}

impl<T> Disjoint<T> {
    /// The address of element `i` (a method, so closures capture the whole `Disjoint`).
    ///
    /// SAFETY: `i` must lie inside the buffer.
    pub(crate) unsafe fn at(self, i: usize) -> *mut T {
        // SAFETY: the caller keeps this function's contract (see its doc).
        unsafe { self.0.add(i) }
    }
}

fn take_chunks(work: &(dyn Fn(usize) + Sync), next: &AtomicUsize, chunks: usize) {
    loop {
        let chunk = next.fetch_add(1, Ordering::Relaxed);
        if chunk >= chunks {
            return;
        }
        work(chunk);
    }
}

/// A published job, its lifetime erased: the publisher keeps `work` and `next` alive
/// until `withdraw` returns, and helpers only enter the job while it is published.
#[derive(Clone, Copy)]
struct Job {
    work: *const (dyn Fn(usize) + Sync),
    next: *const AtomicUsize,
    chunks: usize,
}

impl Job {
    fn new(work: &(dyn Fn(usize) + Sync), next: &AtomicUsize, chunks: usize) -> Job {
        let work: *const (dyn Fn(usize) + Sync + '_) = work;
        // SAFETY: only the lifetime is erased (same pointer, same vtable); see `Job`.
        let work = unsafe {
            std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync + 'static)>(work)
        };
        Job { work, next, chunks }
    }
}

// SAFETY: the pointers refer to `Sync` data that outlives every helper's use (see Job).
unsafe impl Send for Job {}

struct Slot {
    job: Option<Job>,
    /// Incremented per published job, so a helper enters each job at most once.
    epoch: u64,
}

struct Pool {
    slot: Mutex<Slot>,
    /// Helpers sleep here between jobs.
    wake: Condvar,
    /// `slot.epoch`, readable without the lock by lingering helpers.
    epoch: AtomicU64,
    /// Helpers inside the current job (entered under the lock, left without it).
    running: AtomicUsize,
    /// Helpers not asleep on `wake` (changed under the lock).
    awake: AtomicUsize,
    panicked: AtomicBool,
    /// The process that started the helpers: a forked child has none.
    pid: u32,
}

/// How long a helper watches for the next job before it sleeps. It yields its core on
/// every look, so it only takes time no other thread wants.
const LINGER: Duration = Duration::from_millis(2);

impl Pool {
    /// The pool, started on first use; None on one core or when no helper could start.
    fn get() -> Option<&'static Pool> {
        static POOL: OnceLock<Option<&'static Pool>> = OnceLock::new();
        let pool = (*POOL.get_or_init(Pool::start))?;
        (pool.pid == std::process::id()).then_some(pool)
    }

    fn start() -> Option<&'static Pool> {
        let helpers = cores().saturating_sub(1);
        if helpers == 0 {
            return None;
        }
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            slot: Mutex::new(Slot { job: None, epoch: 0 }),
            wake: Condvar::new(),
            epoch: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            awake: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            pid: std::process::id(),
        }));
        let started = (0..helpers)
            .filter(|i| {
                pool.awake.fetch_add(1, Ordering::AcqRel);
                let spawned = std::thread::Builder::new().name(format!("lucid-{i}")).spawn(move || pool.serve());
                if spawned.is_err() {
                    pool.awake.fetch_sub(1, Ordering::AcqRel);
                }
                spawned.is_ok()
            })
            .count();
        (started > 0).then_some(pool)
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // no code panics while holding the lock, so poisoning cannot hide a broken state
        self.slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publish `job` unless another job is running; wakes sleeping helpers.
    fn publish(&self, job: Job) -> bool {
        let mut slot = self.lock();
        let awake = self.awake.load(Ordering::Acquire);
        if slot.job.is_some() || self.running.load(Ordering::Acquire) > 0 {
            return false;
        }
        slot.job = Some(job);
        slot.epoch += 1;
        self.epoch.store(slot.epoch, Ordering::Release);
        drop(slot);
        // a helper counts itself asleep under the lock: one asleep before the job was
        // published is seen here, one that checks later finds the job
        if awake < cores() - 1 {
            self.wake.notify_all();
        }
        true
    }

    /// Withdraw the current job and wait until no helper is inside it (they are
    /// finishing their last chunk, so spinning beats sleeping); whether a helper
    /// panicked in it.
    fn withdraw(&self) -> bool {
        self.lock().job = None;
        let mut spins = 0u32;
        while self.running.load(Ordering::Acquire) > 0 {
            spins += 1;
            if spins < 1 << 16 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        self.panicked.swap(false, Ordering::AcqRel)
    }

    /// A helper's life: enter each published job once, take its chunks, leave; linger
    /// for the next job, then sleep.
    fn serve(&self) {
        let mut seen = 0;
        loop {
            let lingering = Instant::now();
            while self.epoch.load(Ordering::Acquire) == seen && lingering.elapsed() < LINGER {
                std::thread::yield_now();
            }
            let job = {
                let mut slot = self.lock();
                loop {
                    match slot.job {
                        Some(job) if slot.epoch != seen => {
                            seen = slot.epoch;
                            self.running.fetch_add(1, Ordering::AcqRel);
                            break job;
                        }
                        _ => {
                            self.awake.fetch_sub(1, Ordering::AcqRel);
                            slot = self.wake.wait(slot).unwrap_or_else(std::sync::PoisonError::into_inner);
                            self.awake.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                }
            };
            // SAFETY: the job stays valid until the publisher's `withdraw` sees
            // `running` drop to zero, which happens only after this returns.
            let ran = catch_unwind(AssertUnwindSafe(|| unsafe { take_chunks(&*job.work, &*job.next, job.chunks) }));
            if ran.is_err() {
                self.panicked.store(true, Ordering::Release);
            }
            self.running.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_runs_once() {
        for chunks in [0, 1, 2, 3, 17, 256] {
            let counts: Vec<AtomicUsize> = (0..chunks).map(|_| AtomicUsize::new(0)).collect();
            share(chunks, &|c| {
                counts[c].fetch_add(1, Ordering::Relaxed);
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1), "{chunks} chunks");
        }
    }

    #[test]
    fn nested_and_concurrent_calls_finish() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    share(8, &|_| {
                        share(4, &|_| {
                            total.fetch_add(1, Ordering::Relaxed);
                        })
                    })
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 3 * 8 * 4);
    }

    #[test]
    fn a_panicking_chunk_is_raised_and_the_pool_still_works() {
        let caught = catch_unwind(|| share(16, &|c| assert!(c != 5, "chunk five")));
        assert!(caught.is_err());
        let done = AtomicUsize::new(0);
        share(16, &|_| {
            done.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(done.load(Ordering::Relaxed), 16);
    }
}
