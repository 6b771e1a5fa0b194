//! Ordered parallel map under a memory window. Knows no format.
//!
//! [`map_in_order`] runs `work` on every job with a few worker threads and hands the
//! results to `consume` on the calling thread **in job order**, so whatever `consume` does
//! (sorting records, counting, reporting the first error) happens exactly as it would
//! sequentially: the result and the first error are the same for any thread count.
//!
//! Workers claim jobs a few at a time ([`CLAIM`] consecutive indices under one lock) and
//! hand their results over in small groups, and nobody is woken unless it waits: with many
//! small jobs (the files of a dump tree average a few KiB) the synchronisation stays a small
//! fraction of the work.
//!
//! Memory: results that are finished but not yet consumed are held back. Before each job a
//! worker checks the held weight; at or over `window` it hands over what it has and waits,
//! unless its job is the very one the consumer needs next (so the window never deadlocks).
//! The held weight therefore exceeds `window` by at most one result per worker, plus the
//! results a worker gathers before handing them over (bounded by [`HANDOVER_WEIGHT`] and
//! one result).
//!
//! A worker that panics stops the map: the consumer stops waiting and the panic is resumed
//! on the calling thread, with its own payload, when the workers are joined.
//!
//! The other way round, [`Behind`] runs jobs handed over by one thread on a worker, in
//! submission order, and reports their first failure when the caller asks (`behind.rs`).

mod behind;

pub use behind::{Behind, Handle};

use std::collections::BTreeMap;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Consecutive jobs a worker claims at once.
pub const CLAIM: usize = 16;

/// A worker hands its gathered results over once they weigh this much (or its claim is done).
pub const HANDOVER_WEIGHT: usize = 1 << 20;

/// A finished job: its index, result and weight.
type Finished<T, E> = (usize, Result<T, E>, usize);

/// Shared state of one [`map_in_order`] call.
struct State<T, E> {
    /// The next job to hand to a worker.
    next: usize,
    /// The job the consumer needs next.
    consumed: usize,
    /// Finished, unconsumed results by job index, with their weight.
    done: BTreeMap<usize, (Result<T, E>, usize)>,
    /// Total weight of `done`.
    held: usize,
    /// The consumer has stopped (an error, or every job consumed): take no new job.
    stop: bool,
    /// A worker panicked: the consumer must not wait for its result.
    panicked: bool,
    /// Workers waiting on `Shared::to_workers`; the consumer waiting on `to_consumer`.
    workers_waiting: usize,
    consumer_waiting: bool,
}

struct Shared<T, E> {
    state: Mutex<State<T, E>>,
    to_workers: Condvar,
    to_consumer: Condvar,
    jobs: usize,
    window: usize,
}

impl<T, E> Shared<T, E> {
    fn lock(&self) -> MutexGuard<'_, State<T, E>> {
        // A poisoned lock is still consistent here: panics are handled explicitly.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wait as a worker until `until` holds or the map stops; `false` when it stopped.
    fn worker_wait<'a>(
        &self,
        mut st: MutexGuard<'a, State<T, E>>,
        until: impl Fn(&State<T, E>) -> bool,
    ) -> Option<MutexGuard<'a, State<T, E>>> {
        while !st.stop && !until(&st) {
            st.workers_waiting += 1;
            st = self.to_workers.wait(st).unwrap_or_else(|p| p.into_inner());
            st.workers_waiting -= 1;
        }
        (!st.stop).then_some(st)
    }

    /// Claim the next jobs, once the held weight is under the window.
    fn claim(&self) -> Option<Range<usize>> {
        let st = self.lock();
        let mut st = self.worker_wait(st, |st| st.next >= self.jobs || st.held < self.window.max(1))?;
        if st.next >= self.jobs {
            return None;
        }
        let start = st.next;
        st.next = (start + CLAIM).min(self.jobs);
        Some(start..st.next)
    }

    /// Before running claimed job `index`: under window pressure, hand over and wait until
    /// the pressure is gone or `index` is the job the consumer needs. `false`: stopped.
    fn may_run(&self, index: usize, gathered: &mut Vec<Finished<T, E>>) -> bool {
        {
            let st = self.lock();
            if st.stop {
                return false;
            }
            if st.held < self.window.max(1) || st.consumed == index {
                return true;
            }
        }
        self.hand_over(gathered);
        let st = self.lock();
        self.worker_wait(st, |st| st.held < self.window.max(1) || st.consumed == index)
            .is_some()
    }

    fn hand_over(&self, gathered: &mut Vec<Finished<T, E>>) {
        if gathered.is_empty() {
            return;
        }
        let mut st = self.lock();
        for (index, result, w) in gathered.drain(..) {
            st.held += w;
            st.done.insert(index, (result, w));
        }
        if st.consumer_waiting {
            self.to_consumer.notify_one();
        }
    }

    /// The consumer's next result; `None` when a worker panicked.
    fn take(&self, index: usize) -> Option<Result<T, E>> {
        let mut st = self.lock();
        loop {
            if let Some((result, w)) = st.done.remove(&index) {
                st.held -= w;
                st.consumed = index + 1;
                if st.workers_waiting > 0 {
                    self.to_workers.notify_all();
                }
                return Some(result);
            }
            if st.panicked {
                return None;
            }
            st.consumer_waiting = true;
            st = self.to_consumer.wait(st).unwrap_or_else(|p| p.into_inner());
            st.consumer_waiting = false;
        }
    }

    fn stop(&self, panicked: bool) {
        let mut st = self.lock();
        st.stop = true;
        st.panicked |= panicked;
        self.to_workers.notify_all();
        self.to_consumer.notify_all();
    }
}

/// Run `work` on every job with `threads` workers (sequentially on the calling thread when
/// `threads <= 1`) and pass each `Ok` result to `consume` in job order. Returns the first
/// error in job order, whether from `work` or from `consume`; jobs after it may have run
/// but their results are dropped. `weight` measures a result against `window`.
pub fn map_in_order<J, T, E>(
    jobs: &[J],
    threads: usize,
    window: usize,
    work: impl Fn(&J) -> Result<T, E> + Sync,
    weight: impl Fn(&T) -> usize + Sync,
    mut consume: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E>
where
    J: Sync,
    T: Send,
    E: Send,
{
    if threads <= 1 || jobs.len() <= 1 {
        for job in jobs {
            consume(work(job)?)?;
        }
        return Ok(());
    }
    let shared = Shared {
        state: Mutex::new(State {
            next: 0,
            consumed: 0,
            done: BTreeMap::new(),
            held: 0,
            stop: false,
            panicked: false,
            workers_waiting: 0,
            consumer_waiting: false,
        }),
        to_workers: Condvar::new(),
        to_consumer: Condvar::new(),
        jobs: jobs.len(),
        window,
    };
    let worker = || {
        let mut gathered = Vec::new();
        let mut gathered_weight = 0;
        while let Some(range) = shared.claim() {
            for index in range {
                if !shared.may_run(index, &mut gathered) {
                    return;
                }
                if gathered.is_empty() {
                    gathered_weight = 0; // handed over while waiting
                }
                match panic::catch_unwind(AssertUnwindSafe(|| work(&jobs[index]))) {
                    Ok(result) => {
                        let w = result.as_ref().map_or(0, &weight);
                        gathered.push((index, result, w));
                        gathered_weight += w;
                    }
                    Err(payload) => {
                        shared.stop(true);
                        panic::resume_unwind(payload);
                    }
                }
                if gathered_weight >= HANDOVER_WEIGHT {
                    shared.hand_over(&mut gathered);
                    gathered_weight = 0;
                }
            }
            shared.hand_over(&mut gathered);
            gathered_weight = 0;
        }
    };

    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(jobs.len()))
            .map(|_| scope.spawn(worker))
            .collect();
        let outcome = (|| {
            for index in 0..jobs.len() {
                match shared.take(index) {
                    // A worker panicked: it is resumed below, once the workers are joined.
                    None => return Ok(()),
                    Some(result) => consume(result?)?,
                }
            }
            Ok(())
        })();
        shared.stop(false);
        for worker in workers {
            if let Err(payload) = worker.join() {
                panic::resume_unwind(payload);
            }
        }
        outcome
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn squares(threads: usize, window: usize, n: usize) -> Vec<usize> {
        let jobs: Vec<usize> = (0..n).collect();
        let mut out = Vec::new();
        map_in_order(
            &jobs,
            threads,
            window,
            |&j| Ok::<_, String>(j * j),
            |_| 1,
            |v| {
                out.push(v);
                Ok(())
            },
        )
        .unwrap();
        out
    }

    #[test]
    fn results_arrive_in_job_order_for_any_thread_count_and_window() {
        let expected: Vec<usize> = (0..500).map(|j| j * j).collect();
        for threads in [0, 1, 2, 3, 8] {
            for window in [0, 1, 7, 1 << 20] {
                assert_eq!(
                    squares(threads, window, 500),
                    expected,
                    "{threads} threads, window {window}"
                );
            }
        }
        assert!(squares(4, 4, 0).is_empty());
    }

    #[test]
    fn the_first_error_in_job_order_wins_whichever_thread_finishes_first() {
        let jobs: Vec<usize> = (0..200).collect();
        for threads in [1, 2, 4] {
            let mut consumed = Vec::new();
            let err = map_in_order(
                &jobs,
                threads,
                1 << 10,
                |&j| {
                    if j == 150 {
                        Err(format!("job {j}"))
                    } else if j == 40 {
                        // A later-indexed failure that is likely to finish first.
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Err(format!("job {j}"))
                    } else {
                        Ok(j)
                    }
                },
                |_| 1,
                |v| {
                    consumed.push(v);
                    Ok(())
                },
            )
            .unwrap_err();
            assert_eq!(err, "job 40");
            assert_eq!(consumed, (0..40).collect::<Vec<_>>());
        }
    }

    #[test]
    fn an_error_from_consume_stops_the_map() {
        let jobs: Vec<usize> = (0..10_000).collect();
        let ran = AtomicUsize::new(0);
        let err = map_in_order(
            &jobs,
            2,
            16,
            |&j| {
                ran.fetch_add(1, Ordering::Relaxed);
                Ok::<_, String>(j)
            },
            |_| 1,
            |v| {
                if v == 5 {
                    Err("stop at 5".to_owned())
                } else {
                    Ok(())
                }
            },
        )
        .unwrap_err();
        assert_eq!(err, "stop at 5");
        // The window keeps the workers from running far ahead of the consumer.
        assert!(
            ran.load(Ordering::Relaxed) < 100,
            "{} jobs ran",
            ran.load(Ordering::Relaxed)
        );
    }

    #[test]
    fn held_weight_stays_within_the_window_plus_one_handover_per_worker() {
        let jobs: Vec<usize> = (0..2_000).collect();
        let held = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let window = 100;
        map_in_order(
            &jobs,
            3,
            window,
            |&j| {
                let w = 1 + j % 13;
                let now = held.fetch_add(w, Ordering::SeqCst) + w;
                peak.fetch_max(now, Ordering::SeqCst);
                Ok::<_, String>(w)
            },
            |&w| w,
            |w| {
                held.fetch_sub(w, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        // Each worker may also hold one claim's results it has not handed over yet.
        let bound = window + 3 * (CLAIM + 1) * 13;
        assert!(
            peak.load(Ordering::SeqCst) <= bound,
            "peak {}",
            peak.load(Ordering::SeqCst)
        );
    }

    #[test]
    #[should_panic(expected = "worker panic")]
    fn a_worker_panic_reaches_the_caller_instead_of_hanging() {
        let jobs: Vec<usize> = (0..100).collect();
        let _ = map_in_order(
            &jobs,
            2,
            1 << 10,
            |&j| {
                if j == 30 {
                    panic!("worker panic");
                }
                Ok::<_, String>(j)
            },
            |_| 1,
            |_| Ok(()),
        );
    }
}
