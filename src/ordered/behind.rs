//! [`Behind`]: jobs run behind the caller, on one background thread, in submission order,
//! under a memory window. Knows no format.
//!
//! The caller hands a job over ([`Handle::submit`]) and goes on; one worker thread runs the
//! jobs on a state it owns, one at a time, in the order they were submitted, so whatever
//! they do to the world (create files, say) happens exactly as it would sequentially. A job's
//! outcome is never seen at submission: the first failure is kept and reported by
//! [`Handle::settle`], which waits until every job handed over so far has run. Later jobs
//! still run (as they would after an error the caller ignored); their failures are dropped
//! while an earlier one waits to be reported.
//!
//! With `threads <= 1` there is no worker: a job runs at once on the caller's thread, and
//! its failure is kept and reported by `settle` all the same. What the caller observes (the
//! results of `settle` and of [`Handle::with_state`]) is therefore the same for any thread
//! count; only the timing differs.
//!
//! Memory: jobs handed over and not yet run weigh at most `window` plus one job; a
//! submission over the window waits until the worker has brought the weight down to half
//! of it. The worker is woken once a few jobs wait ([`WAKE_JOBS`]), not for every job, so a
//! fast worker does not cost the caller a wake-up per job.
//!
//! A job that panics stops the worker; the panic is resumed on the caller's thread at its
//! next `submit`, `settle` or `with_state`.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Jobs (or [`WAKE_WEIGHT`] bytes) that wait before a sleeping worker is woken.
pub const WAKE_JOBS: usize = 32;

/// Weight that wakes a sleeping worker whatever the number of jobs.
pub const WAKE_WEIGHT: usize = 256 << 10;

type Panic = Box<dyn Any + Send>;

struct Queue<J, E> {
    jobs: VecDeque<(J, usize)>,
    /// The worker is running jobs it took from `jobs`.
    busy: bool,
    /// The first failure not yet reported.
    failed: Option<E>,
    panic: Option<Panic>,
    stop: bool,
    worker_waiting: bool,
}

struct Shared<S, J, E> {
    state: Mutex<S>,
    queue: Mutex<Queue<J, E>>,
    to_worker: Condvar,
    to_caller: Condvar,
    /// Weight of the jobs handed over and not yet run.
    held: AtomicUsize,
    caller_waiting: AtomicBool,
    run: fn(&mut S, J) -> Result<(), E>,
    window: usize,
    /// A worker runs the jobs (else they run at once on the caller's thread).
    threaded: AtomicBool,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock is still consistent here: panics are handled explicitly.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<S, J, E> Shared<S, J, E> {
    fn wait_caller<'a>(&self, q: MutexGuard<'a, Queue<J, E>>) -> MutexGuard<'a, Queue<J, E>> {
        self.to_caller.wait(q).unwrap_or_else(|p| p.into_inner())
    }

    fn keep(&self, e: E) {
        let mut q = relock(&self.queue);
        if q.failed.is_none() {
            q.failed = Some(e);
        }
    }

    /// The worker: take every waiting job, run them in order, repeat until stopped.
    fn work(&self) {
        loop {
            let batch = {
                let mut q = relock(&self.queue);
                while q.jobs.is_empty() && !q.stop {
                    q.worker_waiting = true;
                    q = self.to_worker.wait(q).unwrap_or_else(|p| p.into_inner());
                    q.worker_waiting = false;
                }
                if q.stop {
                    return;
                }
                q.busy = true;
                std::mem::take(&mut q.jobs)
            };
            let mut state = relock(&self.state);
            for (job, weight) in batch {
                match panic::catch_unwind(AssertUnwindSafe(|| (self.run)(&mut state, job))) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => self.keep(e),
                    Err(payload) => {
                        let mut q = relock(&self.queue);
                        q.panic = Some(payload);
                        q.stop = true;
                        q.busy = false;
                        self.to_caller.notify_all();
                        return;
                    }
                }
                let held = self.held.fetch_sub(weight, Ordering::SeqCst) - weight;
                if held <= self.window / 2 && self.caller_waiting.load(Ordering::SeqCst) {
                    let _q = relock(&self.queue);
                    self.to_caller.notify_all();
                }
            }
            drop(state);
            let mut q = relock(&self.queue);
            q.busy = false;
            if self.caller_waiting.load(Ordering::SeqCst) {
                self.to_caller.notify_all();
            }
        }
    }
}

/// The owner of a [`Behind`] runner: stops and joins its worker when dropped (jobs not run
/// by then are dropped). Hand out [`Handle`]s to submit.
pub struct Behind<S, J, E> {
    handle: Handle<S, J, E>,
    worker: Option<JoinHandle<()>>,
}

/// Submits jobs to a [`Behind`] runner (cheap to clone).
pub struct Handle<S, J, E> {
    shared: Arc<Shared<S, J, E>>,
}

impl<S, J, E> Clone for Handle<S, J, E> {
    fn clone(&self) -> Self {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S, J, E> Behind<S, J, E>
where
    S: Send + 'static,
    J: Send + 'static,
    E: Send + 'static,
{
    /// Run `run(&mut state, job)` for every job submitted: on a worker thread when more than
    /// one thread is given (one worker: the jobs must run in order), else at once on the
    /// caller's thread. If the thread cannot be started, the jobs run on the caller's thread.
    pub fn new(state: S, threads: usize, window: usize, run: fn(&mut S, J) -> Result<(), E>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                busy: false,
                failed: None,
                panic: None,
                stop: false,
                worker_waiting: false,
            }),
            to_worker: Condvar::new(),
            to_caller: Condvar::new(),
            held: AtomicUsize::new(0),
            caller_waiting: AtomicBool::new(false),
            run,
            window: window.max(1),
            threaded: AtomicBool::new(false),
        });
        let mut worker = None;
        if threads > 1 {
            let for_worker = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name("ekv-behind".into())
                .spawn(move || for_worker.work());
            if let Ok(h) = spawned {
                shared.threaded.store(true, Ordering::SeqCst);
                worker = Some(h);
            }
        }
        Behind {
            handle: Handle { shared },
            worker,
        }
    }
}

impl<S, J, E> Behind<S, J, E> {
    /// A handle to submit jobs.
    pub fn handle(&self) -> &Handle<S, J, E> {
        &self.handle
    }

    /// Stop the worker and wait for it; jobs not run yet are dropped. Idempotent.
    pub fn close(&mut self) {
        let shared = &self.handle.shared;
        {
            let mut q = relock(&shared.queue);
            q.stop = true;
            q.jobs.clear();
            shared.to_worker.notify_all();
        }
        if let Some(worker) = self.worker.take() {
            // A panic was (or will not be) reported to the caller; nothing to resume here.
            let _ = worker.join();
        }
    }
}

impl<S, J, E> Drop for Behind<S, J, E> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<S, J, E> Handle<S, J, E> {
    fn resume_panic(&self, q: &mut Queue<J, E>) {
        if let Some(payload) = q.panic.take() {
            panic::resume_unwind(payload);
        }
    }

    /// Hand `job` (weighing `weight`, e.g. its bytes) over to be run after those before it.
    /// Waits while the jobs not yet run weigh more than the window. After
    /// [`Behind::close`] the job is dropped.
    pub fn submit(&self, job: J, weight: usize) {
        let s = &*self.shared;
        if !s.threaded.load(Ordering::SeqCst) {
            let outcome = (s.run)(&mut relock(&s.state), job);
            if let Err(e) = outcome {
                s.keep(e);
            }
            return;
        }
        let mut q = relock(&s.queue);
        self.resume_panic(&mut q);
        if q.stop {
            return;
        }
        if s.held.load(Ordering::SeqCst) > s.window {
            s.caller_waiting.store(true, Ordering::SeqCst);
            while s.held.load(Ordering::SeqCst) > s.window / 2 && !q.stop {
                if q.worker_waiting {
                    s.to_worker.notify_one();
                }
                q = s.wait_caller(q);
            }
            s.caller_waiting.store(false, Ordering::SeqCst);
            self.resume_panic(&mut q);
        }
        s.held.fetch_add(weight, Ordering::SeqCst);
        q.jobs.push_back((job, weight));
        let due = q.jobs.len() >= WAKE_JOBS || s.held.load(Ordering::SeqCst) >= WAKE_WEIGHT;
        if q.worker_waiting && due {
            s.to_worker.notify_one();
        }
    }

    /// Wait until every job handed over so far has run.
    fn drain(&self) -> MutexGuard<'_, Queue<J, E>> {
        let s = &*self.shared;
        let mut q = relock(&s.queue);
        if !s.threaded.load(Ordering::SeqCst) {
            return q;
        }
        s.caller_waiting.store(true, Ordering::SeqCst);
        while (!q.jobs.is_empty() || q.busy) && !q.stop {
            if q.worker_waiting {
                s.to_worker.notify_one();
            }
            q = s.wait_caller(q);
        }
        s.caller_waiting.store(false, Ordering::SeqCst);
        self.resume_panic(&mut q);
        q
    }

    /// Wait until every job handed over so far has run; the first failure not reported
    /// yet, if any (reported once).
    pub fn settle(&self) -> Result<(), E> {
        match self.drain().failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Wait until every job handed over so far has run, then run `f` on the state here.
    /// A failure of those jobs is not reported here (see [`Handle::settle`]).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let q = self.drain();
        let mut state = relock(&self.shared.state);
        drop(q);
        f(&mut state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends each job to the state; job `n` fails when `n` is in the list.
    fn log(threads: usize, window: usize, jobs: usize, failing: &[usize]) -> (Vec<usize>, Vec<String>) {
        fn run(s: &mut (Vec<usize>, Vec<usize>), j: usize) -> Result<(), String> {
            s.0.push(j);
            if s.1.contains(&j) {
                return Err(format!("job {j}"));
            }
            Ok(())
        }
        let b = Behind::new((Vec::new(), failing.to_vec()), threads, window, run);
        let h = b.handle().clone();
        let mut errors = Vec::new();
        for j in 0..jobs {
            h.submit(j, 1 + j % 7);
            if j % 100 == 99 {
                if let Err(e) = h.settle() {
                    errors.push(e);
                }
            }
        }
        if let Err(e) = h.settle() {
            errors.push(e);
        }
        (h.with_state(|s| s.0.clone()), errors)
    }

    #[test]
    fn jobs_run_in_order_and_the_first_failure_is_reported_at_settle_for_any_thread_count() {
        let want: Vec<usize> = (0..1000).collect();
        let failing = [5, 7, 150, 999];
        let errors = ["job 5", "job 150", "job 999"].map(String::from).to_vec();
        for threads in [0, 1, 2, 4] {
            for window in [1, 10, 1 << 20] {
                let (ran, errs) = log(threads, window, 1000, &failing);
                assert_eq!(ran, want, "{threads} threads, window {window}");
                assert_eq!(errs, errors, "{threads} threads, window {window}");
            }
        }
    }

    #[test]
    fn with_state_sees_every_job_submitted_before_it() {
        fn run(s: &mut u64, j: u64) -> Result<(), ()> {
            *s += j;
            Ok(())
        }
        let b = Behind::new(0u64, 2, 64, run);
        let h = b.handle();
        for i in 1..=10_000u64 {
            h.submit(i, 8);
            if i % 1000 == 0 {
                assert_eq!(h.with_state(|s| *s), i * (i + 1) / 2);
            }
        }
    }

    #[test]
    fn the_window_bounds_the_weight_not_yet_run() {
        use std::sync::atomic::AtomicUsize;
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        static HELD: AtomicUsize = AtomicUsize::new(0);
        fn run(_: &mut (), w: usize) -> Result<(), ()> {
            std::thread::sleep(std::time::Duration::from_micros(20));
            HELD.fetch_sub(w, Ordering::SeqCst);
            Ok(())
        }
        let b = Behind::new((), 2, 1000, run);
        for i in 0..2000 {
            let w = 1 + i % 50;
            PEAK.fetch_max(HELD.fetch_add(w, Ordering::SeqCst) + w, Ordering::SeqCst);
            b.handle().submit(w, w);
        }
        b.handle().settle().unwrap();
        // The window, the job that crossed it, and the one waiting to be submitted.
        assert!(
            PEAK.load(Ordering::SeqCst) <= 1000 + 2 * 50,
            "{}",
            PEAK.load(Ordering::SeqCst)
        );
    }

    #[test]
    #[should_panic(expected = "job panic")]
    fn a_job_panic_reaches_the_caller() {
        fn run(_: &mut (), j: usize) -> Result<(), ()> {
            if j == 30 {
                panic!("job panic");
            }
            Ok(())
        }
        let b = Behind::new((), 2, 1 << 10, run);
        for j in 0..100 {
            b.handle().submit(j, 1);
        }
        let _ = b.handle().settle();
    }

    #[test]
    fn dropping_with_jobs_waiting_does_not_hang() {
        fn run(_: &mut (), _: usize) -> Result<(), ()> {
            std::thread::sleep(std::time::Duration::from_millis(1));
            Ok(())
        }
        let b = Behind::new((), 2, 1 << 20, run);
        let h = b.handle().clone();
        for j in 0..1000 {
            h.submit(j, 1);
        }
        drop(b);
        h.submit(1, 1); // after close: dropped
    }
}
