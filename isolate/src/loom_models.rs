//! loom models of the task protocol (see `task/state.rs`), of a service's
//! reply (`task/promise.rs`), of a service's pause gate and ping control
//! (`long_running/control.rs`), of a long-running thread's end
//! (`long_running/lifecycle.rs`), of the pool's submits, retirement and
//! blocked-thread replacement (`pool/threads.rs`) and of the channel's wait
//! protocol (`channel/`): every interleaving of a runner completing, a
//! handle waiting (by `join` or by polling), a cancel or kill, a listener
//! added, a ping meeting a busy, idle or paused service thread, and a send
//! or receive meeting a waiter. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p isolates --lib --release`.
//!
//! In the task models the runner is a loom thread calling `Runnable::run`,
//! standing in for a pool thread; the pool's own models build a pool of
//! their own.
//!
//! The file holds one concept, the loom models of every protocol, compiled
//! only under `--cfg loom` (and in tests), so it is kept in one file past
//! 600 lines of code.

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};

use loom::thread;

use crate::name::Name;
use crate::sync::Arc;
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::header::Runnable;
use crate::task::state::{Outcome, Task};

/// Counts drops of the value it guards, with std atomics: the count is an
/// observation, not part of the protocol under test.
struct Counted(std::sync::Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, StdOrdering::SeqCst);
    }
}

/// A task whose job returns `value` and holds `argument` until it runs or
/// is dropped unrun, with its runner side and its handle.
fn task_with(value: u32, argument: Counted) -> (Arc<dyn Runnable>, IsolateHandle<u32>) {
    let job = move || -> Outcome<u32, std::convert::Infallible> {
        drop(argument);
        Ok(value)
    };
    let task = Task::new(job, Name::default(), true);
    (task.clone(), IsolateHandle::new(task))
}

/// Explores every interleaving of `model` (the models are small enough for
/// loom to be exhaustive) and prints how many it ran.
fn check(name: &str, model: impl Fn() + Sync + Send + 'static) {
    check_bounded(name, None, model);
}

/// Like [`check`], with at most `preemptions` preemptions per interleaving
/// (`None`: exhaustive). The pool's models have several threads and locks;
/// bounding them as tokio's CI does keeps each to seconds while still
/// exploring every ordering of a few racing steps.
fn check_bounded(name: &str, preemptions: Option<usize>, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = preemptions;
    // A pool's run (start a thread, count a blocked worker, sleep, retire)
    // takes more steps than loom's default bound of 1,000 allows; a real
    // livelock still exceeds this one.
    builder.max_branches = 20_000;
    let explored = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = explored.clone();
    builder.check(move || {
        counter.fetch_add(1, StdOrdering::Relaxed);
        model();
    });
    println!(
        "loom: {name}: {} interleavings",
        explored.load(StdOrdering::Relaxed)
    );
}

#[test]
fn join_receives_the_value_whenever_the_runner_completes() {
    check(
        "join_receives_the_value_whenever_the_runner_completes",
        || {
            let drops = std::sync::Arc::new(AtomicUsize::new(0));
            let (runner, handle) = task_with(7, Counted(drops.clone()));
            let worker = thread::spawn(move || runner.run());
            assert_eq!(handle.join().unwrap(), 7);
            worker.join().unwrap();
            assert_eq!(drops.load(StdOrdering::SeqCst), 1);
        },
    );
}

#[test]
fn cancel_races_the_runner_and_the_argument_drops_once() {
    check(
        "cancel_races_the_runner_and_the_argument_drops_once",
        || {
            let drops = std::sync::Arc::new(AtomicUsize::new(0));
            let (runner, handle) = task_with(7, Counted(drops.clone()));
            let worker = thread::spawn(move || runner.run());
            handle.cancel();
            match handle.join() {
                Ok(7) | Err(IsolateError::Cancelled { .. }) => {}
                other => panic!("unexpected {other:?}"),
            }
            worker.join().unwrap();
            assert_eq!(drops.load(StdOrdering::SeqCst), 1);
        },
    );
}

#[test]
fn dropping_the_handle_races_the_runner() {
    check("dropping_the_handle_races_the_runner", || {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (runner, handle) = task_with(7, Counted(drops.clone()));
        let worker = thread::spawn(move || runner.run());
        drop(handle);
        worker.join().unwrap();
        assert_eq!(drops.load(StdOrdering::SeqCst), 1);
    });
}

#[test]
fn await_is_woken_whenever_the_runner_completes() {
    check("await_is_woken_whenever_the_runner_completes", || {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (runner, handle) = task_with(9, Counted(drops.clone()));
        let worker = thread::spawn(move || runner.run());
        assert_eq!(loom::future::block_on(handle).unwrap(), 9);
        worker.join().unwrap();
    });
}

#[test]
fn two_runners_claim_the_job_once() {
    // A pool worker and a helping joiner may both try to run a task.
    check("two_runners_claim_the_job_once", || {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (runner, handle) = task_with(3, Counted(drops.clone()));
        let second = runner.clone();
        let worker = thread::spawn(move || runner.run());
        second.run();
        assert_eq!(handle.join().unwrap(), 3);
        worker.join().unwrap();
        assert_eq!(drops.load(StdOrdering::SeqCst), 1);
    });
}

#[test]
fn is_finished_is_true_once_join_would_not_block() {
    check("is_finished_is_true_once_join_would_not_block", || {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (runner, handle) = task_with(1, Counted(drops));
        let worker = thread::spawn(move || runner.run());
        if handle.is_finished() {
            // The outcome must already be in the slot: join cannot wait.
            assert_eq!(handle.join().unwrap(), 1);
        } else {
            assert_eq!(handle.join().unwrap(), 1);
        }
        worker.join().unwrap();
    });
}

#[test]
fn join_timeout_receives_the_value_through_the_timed_wait() {
    check(
        "join_timeout_receives_the_value_through_the_timed_wait",
        || {
            let drops = std::sync::Arc::new(AtomicUsize::new(0));
            let (runner, handle) = task_with(4, Counted(drops.clone()));
            let worker = thread::spawn(move || runner.run());
            // Never runs out within a model run: exercises the timed parking.
            let outcome = handle.join_timeout(std::time::Duration::from_secs(3_600));
            assert_eq!(outcome.unwrap(), 4);
            worker.join().unwrap();
            assert_eq!(drops.load(StdOrdering::SeqCst), 1);
        },
    );
}

#[test]
fn an_expired_join_timeout_races_the_runner() {
    check("an_expired_join_timeout_races_the_runner", || {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (runner, handle) = task_with(4, Counted(drops.clone()));
        let worker = thread::spawn(move || runner.run());
        match handle.join_timeout(std::time::Duration::ZERO) {
            // Finished first: the value is never thrown away.
            Ok(4) | Err(IsolateError::TimedOut { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
        worker.join().unwrap();
        assert_eq!(drops.load(StdOrdering::SeqCst), 1);
    });
}

// ---------------------------------------------------------------------------
// The pool: a submit against a pool thread that spins, sleeps or is being
// woken; submits from two threads; a join inside the pool on a job still
// queued. Each model builds its own pool (leaked: its threads hold
// `&'static Pool`) with `max_threads` at the core count, where the monitor
// is never needed, and shuts it down at the end so that every pool thread
// ends.

use crate::pool::config::Config;
use crate::pool::threads::Pool;

/// The preemption bound of the pool's models (see [`check_bounded`]).
const POOL_PREEMPTIONS: Option<usize> = Some(3);

fn model_pool(cores: usize) -> &'static Pool {
    model_pool_capped(cores, cores)
}

fn model_pool_capped(cores: usize, max_threads: usize) -> &'static Pool {
    let config = Config {
        max_threads,
        keep_alive: std::time::Duration::from_secs(3_600),
        thread_name: "model".to_owned(),
        stack_size: None,
    };
    Box::leak(Box::new(Pool::with_cores(config, cores)))
}

/// A pooled task returning `value`, submitted to `pool`.
fn submit(pool: &'static Pool, value: u32) -> IsolateHandle<u32> {
    let task = Task::new(
        move || -> Outcome<u32, std::convert::Infallible> { Ok(value) },
        Name::default(),
        true,
    );
    let handle = IsolateHandle::new(task.clone());
    pool.submit(task);
    handle
}

#[test]
fn a_submit_is_never_lost_whatever_the_worker_is_doing() {
    check_bounded(
        "a_submit_is_never_lost_whatever_the_worker_is_doing",
        POOL_PREEMPTIONS,
        || {
            let pool = model_pool(1);
            // The first job starts the worker; the second meets it spinning,
            // going to sleep, asleep, or being woken.
            assert_eq!(submit(pool, 1).join().unwrap(), 1);
            assert_eq!(submit(pool, 2).join().unwrap(), 2);
            pool.shutdown();
        },
    );
}

#[test]
fn submits_from_two_threads_are_both_run() {
    check_bounded(
        "submits_from_two_threads_are_both_run",
        POOL_PREEMPTIONS,
        || {
            let pool = model_pool(1);
            let other = thread::spawn(move || submit(pool, 1).join().unwrap());
            assert_eq!(submit(pool, 2).join().unwrap(), 2);
            assert_eq!(other.join().unwrap(), 1);
            pool.shutdown();
        },
    );
}

#[test]
fn a_join_inside_a_full_pool_runs_the_queued_job_itself() {
    check_bounded(
        "a_join_inside_a_full_pool_runs_the_queued_job_itself",
        POOL_PREEMPTIONS,
        || {
            // One thread in all: the outer job's join on the inner one can only
            // finish by running it on the worker itself (the last resort of a
            // wait at a stalled pool).
            let pool = model_pool(1);
            let outer = Task::new(
                move || -> Outcome<u32, std::convert::Infallible> {
                    Ok(submit(pool, 20).join().unwrap() + 1)
                },
                Name::default(),
                true,
            );
            let handle = IsolateHandle::new(outer.clone());
            pool.submit(outer);
            assert_eq!(handle.join().unwrap(), 21);
            pool.shutdown();
        },
    );
}

#[test]
fn a_submit_as_the_only_worker_retires_is_never_stranded() {
    check_bounded(
        "a_submit_as_the_only_worker_retires_is_never_stranded",
        POOL_PREEMPTIONS,
        || {
            // A cap of one, and a clock thread that lets the keep-alive run
            // out at any point: the worker retires while the second submit
            // comes in. Whichever goes first, some thread runs the job.
            let pool = model_pool(1);
            assert_eq!(submit(pool, 1).join().unwrap(), 1);
            let clock = thread::spawn(move || pool.expire_keep_alive());
            assert_eq!(submit(pool, 2).join().unwrap(), 2);
            clock.join().unwrap();
            pool.shutdown();
        },
    );
}

#[test]
fn a_worker_blocked_in_a_join_is_replaced_for_the_job_it_waits_for() {
    check_bounded(
        "a_worker_blocked_in_a_join_is_replaced_for_the_job_it_waits_for",
        POOL_PREEMPTIONS,
        || {
            // One core, a cap of two: the outer job blocks in its join, counts
            // as blocked, and the pool starts a second thread for the inner
            // job, which therefore never runs on the outer job's thread.
            let pool = model_pool_capped(1, 2);
            let outer = Task::new(
                move || -> Outcome<bool, std::convert::Infallible> {
                    let me = thread::current().id();
                    let inner = Task::new(
                        || -> Outcome<thread::ThreadId, std::convert::Infallible> {
                            Ok(thread::current().id())
                        },
                        Name::default(),
                        true,
                    );
                    let handle = IsolateHandle::new(inner.clone());
                    pool.submit(inner);
                    Ok(handle.join().unwrap() != me)
                },
                Name::default(),
                true,
            );
            let handle = IsolateHandle::new(outer.clone());
            pool.submit(outer);
            assert!(
                handle.join().unwrap(),
                "the inner job ran on its joiner's thread"
            );
            pool.shutdown();
        },
    );
}

#[test]
fn a_channel_wait_at_a_stalled_pool_gets_a_sender_queued_after_it_parked() {
    check_bounded(
        "a_channel_wait_at_a_stalled_pool_gets_a_sender_queued_after_it_parked",
        POOL_PREEMPTIONS,
        || {
            // A cap of one: the receiving job holds the only thread, parked
            // in a blind wait (nothing tells it which job will send). The
            // sender is submitted before or after it parks; either its
            // look at the queue or the submit's look at it gives the sender
            // a thread beside the pool.
            let pool = model_pool(1);
            let (tx, rx) = crate::channel::bounded::<u32>(1);
            let receiver = Task::new(
                move || -> Outcome<u32, std::convert::Infallible> { Ok(rx.recv().unwrap_or(0)) },
                Name::default(),
                true,
            );
            let received = IsolateHandle::new(receiver.clone());
            pool.submit(receiver);
            let sender = Task::new(
                move || -> Outcome<bool, std::convert::Infallible> { Ok(tx.send(7).is_ok()) },
                Name::default(),
                true,
            );
            let sent = IsolateHandle::new(sender.clone());
            pool.submit(sender);
            assert_eq!(received.join().unwrap(), 7);
            assert!(sent.join().unwrap());
            pool.shutdown();
        },
    );
}

/// A worker's reply to a request (`promise.rs`): the worker claims the
/// promise and fulfils it while the caller waits, cancels, or both.
mod replies {
    use super::*;
    use crate::task::promise::Promise;

    fn reply() -> (Promise<u32, std::convert::Infallible>, IsolateHandle<u32>) {
        Promise::new(Name::default())
    }

    #[test]
    fn a_fulfilled_reply_reaches_the_waiting_caller() {
        check("a_fulfilled_reply_reaches_the_waiting_caller", || {
            let (mut promise, handle) = reply();
            let worker = thread::spawn(move || {
                assert!(promise.start());
                promise.fulfil(Ok(5));
            });
            assert_eq!(handle.join().unwrap(), 5);
            worker.join().unwrap();
        });
    }

    #[test]
    fn a_cancel_races_the_worker_starting_the_request() {
        check("a_cancel_races_the_worker_starting_the_request", || {
            let (mut promise, handle) = reply();
            let worker = thread::spawn(move || {
                if promise.start() {
                    promise.fulfil(Ok(5));
                    true
                } else {
                    false
                }
            });
            handle.cancel();
            let outcome = handle.join();
            let started = worker.join().unwrap();
            match outcome {
                // Started first: the reply still arrives.
                Ok(value) => assert!(started && value == 5),
                // Withdrawn first: the worker skipped it.
                Err(error) => assert!(!started && matches!(error, IsolateError::Cancelled { .. })),
            }
        });
    }

    #[test]
    fn a_promise_dropped_unfulfilled_ends_the_wait() {
        check("a_promise_dropped_unfulfilled_ends_the_wait", || {
            let (mut promise, handle) = reply();
            let worker = thread::spawn(move || {
                assert!(promise.start());
                drop(promise);
            });
            assert!(matches!(
                handle.join(),
                Err(IsolateError::EndedWithoutResult { .. })
            ));
            worker.join().unwrap();
        });
    }
}

/// A service worker held at its pause gate (`service.rs`): it goes on once
/// the last pause ends, or once it is killed, whatever the interleaving.
mod pause_gate {
    use super::*;
    use crate::long_running::control::PauseGate;
    use loom::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn the_last_resume_lets_the_worker_go_on() {
        check("the_last_resume_lets_the_worker_go_on", || {
            let gate = PauseGate::new();
            let first = gate.pause();
            let second = gate.pause();
            let worker = {
                let gate = Arc::clone(&gate);
                thread::spawn(move || gate.wait(|| false, || {}))
            };
            drop(first);
            drop(second);
            worker.join().unwrap();
        });
    }

    #[test]
    fn a_kill_lets_a_paused_worker_go_on() {
        check("a_kill_lets_a_paused_worker_go_on", || {
            let gate = PauseGate::new();
            let _paused = gate.pause();
            let killed = Arc::new(AtomicBool::new(false));
            let worker = {
                let (gate, killed) = (Arc::clone(&gate), Arc::clone(&killed));
                thread::spawn(move || gate.wait(|| killed.load(Ordering::Acquire), || {}))
            };
            // What `Service::kill` does: cancel, then wake the gate.
            killed.store(true, Ordering::Release);
            gate.wake_all();
            worker.join().unwrap();
        });
    }
}

/// The end of a long-running thread (`lifecycle.rs`): whether its job runs
/// or is dropped unrun by a kill, and whenever a listener is added, every
/// exit listener is called exactly once.
mod exits {
    use super::*;
    use crate::long_running::lifecycle::{Exit, Listeners, ThreadEnd};

    /// A long-running thread's task, whose job reports its end, and the
    /// listeners it reports to.
    fn long_running() -> (
        Arc<Listeners<std::convert::Infallible>>,
        Arc<dyn Runnable>,
        IsolateHandle<u32>,
    ) {
        let listeners = Arc::new(Listeners::new(1));
        let (end, _starting) = ThreadEnd::new(&listeners);
        let job = move || end.ended(Ok(7));
        let task = Task::new(job, Name::default(), false);
        (listeners, task.clone(), IsolateHandle::new(task))
    }

    /// An exit listener that counts its calls and checks the exit.
    fn counting(
        calls: &std::sync::Arc<AtomicUsize>,
        expected: &'static [Exit],
    ) -> Box<dyn FnOnce(Exit) + Send> {
        let calls = calls.clone();
        Box::new(move |exit| {
            assert!(expected.contains(&exit), "unexpected {exit:?}");
            calls.fetch_add(1, StdOrdering::SeqCst);
        })
    }

    #[test]
    fn a_kill_racing_the_start_tells_the_exit_listener_once() {
        check(
            "a_kill_racing_the_start_tells_the_exit_listener_once",
            || {
                let (listeners, runner, handle) = long_running();
                let calls = std::sync::Arc::new(AtomicUsize::new(0));
                listeners.add_exit(counting(&calls, &[Exit::Completed, Exit::Cancelled]));
                let thread = thread::spawn(move || runner.run());
                handle.cancel(); // a kill: it may land before the job is taken
                drop(handle);
                thread.join().unwrap();
                assert_eq!(calls.load(StdOrdering::SeqCst), 1);
            },
        );
    }

    #[test]
    fn a_listener_added_while_the_thread_ends_is_called_once() {
        check(
            "a_listener_added_while_the_thread_ends_is_called_once",
            || {
                let (listeners, runner, handle) = long_running();
                let thread = thread::spawn(move || runner.run());
                let calls = std::sync::Arc::new(AtomicUsize::new(0));
                listeners.add_exit(counting(&calls, &[Exit::Completed]));
                assert_eq!(handle.join().unwrap(), 7);
                thread.join().unwrap();
                assert_eq!(calls.load(StdOrdering::SeqCst), 1);
            },
        );
    }
}

/// A service worker's control (`service.rs`, "Ping"): a ping is answered
/// whether the worker is busy, about to block on its empty inbox, or
/// paused; no wake-up is lost.
mod pings {
    use super::*;
    use crate::long_running::control::{Control, PauseGate, PingTicket};
    use crate::sync::{lock, Condvar, Mutex};
    use std::collections::VecDeque;

    enum Item {
        Wake,
        Ping(PingTicket),
    }

    /// A one-slot inbox of loom primitives standing in for the worker's
    /// channel: `try_send`, a blocking `recv`, `close`.
    struct Inbox {
        queue: Mutex<(VecDeque<Item>, bool)>,
        ready: Condvar,
    }

    impl Inbox {
        fn new() -> Arc<Self> {
            Arc::new(Inbox {
                queue: Mutex::new((VecDeque::new(), false)),
                ready: Condvar::new(),
            })
        }

        fn try_send(&self, item: Item) -> Result<(), Item> {
            let mut queue = lock(&self.queue);
            if queue.1 || !queue.0.is_empty() {
                return Err(item);
            }
            queue.0.push_back(item);
            self.ready.notify_one();
            Ok(())
        }

        fn try_recv(&self) -> Option<Option<Item>> {
            let mut queue = lock(&self.queue);
            match queue.0.pop_front() {
                Some(item) => Some(Some(item)),
                None if queue.1 => Some(None),
                None => None,
            }
        }

        fn recv(&self) -> Option<Item> {
            let mut queue = lock(&self.queue);
            loop {
                if let Some(item) = queue.0.pop_front() {
                    return Some(item);
                }
                if queue.1 {
                    return None;
                }
                queue = self.ready.wait(queue).unwrap();
            }
        }

        fn close(&self) {
            lock(&self.queue).1 = true;
            self.ready.notify_all();
        }
    }

    /// Puts an ordered ping into the stand-in inbox if it has room.
    fn enqueue(inbox: &Inbox, ticket: PingTicket) -> Result<(), PingTicket> {
        match inbox.try_send(Item::Ping(ticket)) {
            Err(Item::Ping(ticket)) => Err(ticket),
            _ => Ok(()),
        }
    }

    /// The worker's loop, as in `Member::serve`, over the stand-in inbox.
    fn worker(inbox: &Inbox, control: &Control) {
        let enqueue = |ticket| enqueue(inbox, ticket);
        loop {
            let item = match inbox.try_recv() {
                Some(item) => item,
                None => {
                    control.idle(&enqueue);
                    let item = inbox.recv();
                    control.busy();
                    item
                }
            };
            let Some(item) = item else {
                control.end();
                return;
            };
            control.serve(&enqueue);
            if let Item::Ping(ticket) = item {
                ticket.answer();
            }
        }
    }

    /// Starts the worker's loop on a loom thread.
    fn start(inbox: &Arc<Inbox>, control: &Arc<Control>) -> thread::JoinHandle<()> {
        let (inbox, control) = (Arc::clone(inbox), Arc::clone(control));
        thread::spawn(move || worker(&inbox, &control))
    }

    #[test]
    fn an_immediate_ping_wakes_a_worker_going_idle() {
        check("an_immediate_ping_wakes_a_worker_going_idle", || {
            let inbox = Inbox::new();
            let control = Control::new();
            let thread = start(&inbox, &control);
            let (group, ping) = PingTicket::group(Name::default());
            control.ping(PingTicket::new(&group), || {
                let _ = inbox.try_send(Item::Wake);
            });
            drop(group);
            ping.join().unwrap();
            inbox.close();
            thread.join().unwrap();
        });
    }

    #[test]
    fn an_ordered_ping_parked_beside_a_full_inbox_is_answered() {
        check(
            "an_ordered_ping_parked_beside_a_full_inbox_is_answered",
            || {
                let inbox = Inbox::new();
                // The inbox is full when the ping comes.
                assert!(inbox.try_send(Item::Wake).is_ok());
                let control = Control::new();
                let thread = start(&inbox, &control);
                let (group, ping) = PingTicket::group(Name::default());
                if let Err(ticket) = enqueue(&inbox, PingTicket::new(&group)) {
                    control.park(ticket, &|ticket| enqueue(&inbox, ticket));
                }
                drop(group);
                ping.join().unwrap();
                inbox.close();
                thread.join().unwrap();
            },
        );
    }

    #[test]
    fn a_paused_worker_answers_a_ping() {
        check("a_paused_worker_answers_a_ping", || {
            use loom::sync::atomic::{AtomicBool, Ordering};

            let gate = PauseGate::new();
            let paused = gate.pause();
            let control = Control::new();
            let stop = Arc::new(AtomicBool::new(false));
            let thread = {
                let (gate, control, stop) =
                    (Arc::clone(&gate), Arc::clone(&control), Arc::clone(&stop));
                thread::spawn(move || {
                    let full = |ticket| Err(ticket);
                    gate.wait(|| stop.load(Ordering::Acquire), || control.serve(&full));
                })
            };
            let (group, ping) = PingTicket::group(Name::default());
            control.ping(PingTicket::new(&group), || {});
            gate.wake_all();
            drop(group);
            // Answered with the pause still held.
            ping.join().unwrap();
            stop.store(true, Ordering::Release);
            gate.wake_all();
            thread.join().unwrap();
            drop(paused);
        });
    }
}

/// The channel's wait protocol (`channel/shared.rs`): a waiter registers,
/// fences and looks again before it sleeps, and every push or pop notifies
/// one waiter of the other side; loom checks that no wake-up is lost, that
/// a cancelled async receive passes its wake-up on, that closing wakes every
/// waiter, and that the last receiver going drops every queued message,
/// even one pushed while it went. The queue under loom is a locked deque
/// (`sync::MessageQueue`).
mod channel_waits {
    use super::*;
    use crate::channel::{self, RecvError};
    use std::future::Future;
    use std::task::{Context, Poll};

    /// Polls `future` once with a waker that does nothing.
    fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        std::pin::Pin::new(future).poll(&mut cx)
    }

    #[test]
    fn a_blocked_receive_is_woken_by_a_send() {
        check("a_blocked_receive_is_woken_by_a_send", || {
            let (tx, rx) = channel::bounded::<u32>(1);
            let sender = thread::spawn(move || tx.send(1).unwrap());
            assert_eq!(rx.recv(), Ok(1));
            sender.join().unwrap();
        });
    }

    #[test]
    fn a_send_into_a_full_channel_is_woken_by_a_receive() {
        check("a_send_into_a_full_channel_is_woken_by_a_receive", || {
            let (tx, rx) = channel::bounded::<u32>(1);
            tx.send(1).unwrap();
            let sender = thread::spawn(move || tx.send(2).unwrap());
            // Lets the sender find the channel full first.
            thread::yield_now();
            assert_eq!(rx.recv(), Ok(1));
            assert_eq!(rx.recv(), Ok(2));
            sender.join().unwrap();
        });
    }

    #[test]
    fn the_last_sender_going_wakes_a_blocked_receiver() {
        check("the_last_sender_going_wakes_a_blocked_receiver", || {
            let (tx, rx) = channel::unbounded::<u32>();
            let closer = thread::spawn(move || drop(tx));
            assert_eq!(rx.recv(), Err(RecvError));
            closer.join().unwrap();
        });
    }

    #[test]
    fn an_async_receive_is_woken_by_a_blocking_send() {
        check("an_async_receive_is_woken_by_a_blocking_send", || {
            let (tx, rx) = channel::bounded::<u32>(1);
            let sender = thread::spawn(move || {
                tx.send(1).unwrap();
                tx
            });
            assert_eq!(loom::future::block_on(rx.recv_async()), Ok(1));
            drop(sender.join().unwrap());
        });
    }

    #[test]
    fn a_dropped_pending_receive_passes_its_wake_up_on() {
        check("a_dropped_pending_receive_passes_its_wake_up_on", || {
            let (tx, rx) = channel::unbounded::<u32>();
            let other = rx.clone();
            let mut pending = Box::pin(rx.recv_async());
            assert!(poll_once(&mut pending).is_pending());
            let blocked = thread::spawn(move || other.recv());
            // Lets the receiver block first (loom's first schedule runs
            // this thread on).
            thread::yield_now();
            tx.send(7).unwrap();
            drop(pending);
            // The sender is still alive: only the send can wake it.
            assert_eq!(blocked.join().unwrap(), Ok(7));
            drop(tx);
        });
    }

    #[test]
    fn the_last_receiver_going_drops_a_message_sent_meanwhile() {
        check(
            "the_last_receiver_going_drops_a_message_sent_meanwhile",
            || {
                let dropped = std::sync::Arc::new(AtomicUsize::new(0));
                let (tx, rx) = channel::unbounded::<Counted>();
                let sender = {
                    let dropped = dropped.clone();
                    thread::spawn(move || {
                        // Queued, handed back, or pushed as the receiver goes:
                        // dropped before the sender is, in every case.
                        drop(tx.send(Counted(dropped)));
                        tx
                    })
                };
                drop(rx);
                let tx = sender.join().unwrap();
                assert_eq!(dropped.load(StdOrdering::SeqCst), 1);
                drop(tx);
            },
        );
    }

    #[test]
    fn select_is_woken_by_a_send_on_either_channel() {
        check("select_is_woken_by_a_send_on_either_channel", || {
            let (a_tx, a) = channel::unbounded::<u32>();
            let (b_tx, b) = channel::unbounded::<u32>();
            let sender = thread::spawn(move || {
                b_tx.send(2).unwrap();
                b_tx
            });
            assert_eq!(channel::select(&[&a, &b]), Ok((1, 2)));
            drop(sender.join().unwrap());
            drop(a_tx);
        });
    }

    #[test]
    fn a_send_racing_the_close_is_received_or_refused() {
        check("a_send_racing_the_close_is_received_or_refused", || {
            let (tx, rx) = channel::unbounded::<u32>();
            let closer = tx.clone();
            let sender = thread::spawn(move || tx.send(1).is_ok());
            closer.close();
            // Once a receive says closed, a send that returned Ok must
            // have been received before it.
            let received = rx.recv().is_ok();
            assert_eq!(rx.recv(), Err(RecvError));
            assert_eq!(sender.join().unwrap(), received);
        });
    }

    #[test]
    fn a_send_racing_a_discarding_close_is_never_received() {
        check("a_send_racing_a_discarding_close_is_never_received", || {
            let dropped = std::sync::Arc::new(AtomicUsize::new(0));
            let (tx, rx) = channel::unbounded::<Counted>();
            let killer = tx.clone();
            let sender = {
                let dropped = dropped.clone();
                thread::spawn(move || drop(tx.send(Counted(dropped))))
            };
            killer.close_and_discard();
            assert!(rx.recv().is_err(), "nothing is delivered after the kill");
            sender.join().unwrap();
            assert_eq!(dropped.load(StdOrdering::SeqCst), 1);
        });
    }

    #[test]
    fn closing_wakes_a_pending_async_send() {
        check("closing_wakes_a_pending_async_send", || {
            let (tx, rx) = channel::bounded::<u32>(1);
            tx.send(1).unwrap();
            let closer = thread::spawn(move || {
                rx.close();
                rx
            });
            assert!(loom::future::block_on(tx.send_async(2)).is_err());
            drop(closer.join().unwrap());
        });
    }
}
