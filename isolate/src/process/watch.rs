//! The watcher: one thread that kills (`SIGKILL`) every watched child whose
//! call was cancelled or whose deadline passed, and notes why.

use std::thread::{self, Thread};
use std::time::Instant;

use crate::sync::process::{lock, Mutex, OnceLock};
use crate::sync::Arc;
use crate::task::header::Runnable;

/// Why the watcher killed a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kill {
    Cancelled,
    TimedOut,
}

/// The children running a call, for the watcher.
#[derive(Default)]
pub(super) struct Watch {
    list: Mutex<WatchList>,
    thread: OnceLock<Option<Thread>>,
}

#[derive(Default)]
struct WatchList {
    next: u64,
    watched: Vec<Watched>,
}

struct Watched {
    ticket: u64,
    pid: u32,
    task: Option<Arc<dyn Runnable>>,
    deadline: Option<Instant>,
    killed: Option<Kill>,
}

impl Watch {
    fn watcher(&'static self) -> Option<&'static Thread> {
        self.thread
            .get_or_init(|| {
                thread::Builder::new()
                    .name("isolate-process-watch".to_owned())
                    .spawn(move || self.run())
                    .ok()
                    .map(|handle| handle.thread().clone())
            })
            .as_ref()
    }

    /// Watches a child running a call (or starting); returns its ticket.
    pub(super) fn add(
        &'static self,
        pid: u32,
        task: Option<Arc<dyn Runnable>>,
        deadline: Option<Instant>,
    ) -> u64 {
        let watcher = self.watcher();
        let cancelled = task.as_ref().is_some_and(|task| {
            task.header().set_async_runner(watcher.cloned());
            task.header().is_cancelled()
        });
        let ticket = {
            let mut list = lock(&self.list);
            list.next += 1;
            let ticket = list.next;
            list.watched.push(Watched {
                ticket,
                pid,
                task,
                deadline,
                killed: None,
            });
            ticket
        };
        if cancelled || deadline.is_some() {
            if let Some(watcher) = watcher {
                watcher.unpark();
            }
        }
        ticket
    }

    /// Stops watching; says whether (and why) the watcher killed the child.
    pub(super) fn remove(&self, ticket: u64) -> Option<Kill> {
        let mut list = lock(&self.list);
        let index = list.watched.iter().position(|w| w.ticket == ticket)?;
        list.watched.swap_remove(index).killed
    }

    fn run(&self) {
        loop {
            let next = {
                let mut list = lock(&self.list);
                let now = Instant::now();
                let mut next: Option<Instant> = None;
                for watched in list.watched.iter_mut().filter(|w| w.killed.is_none()) {
                    let cancelled = watched
                        .task
                        .as_ref()
                        .is_some_and(|task| task.header().is_cancelled());
                    let expired = watched.deadline.is_some_and(|deadline| deadline <= now);
                    if cancelled || expired {
                        if let Some(pid) = rustix::process::Pid::from_raw(watched.pid as i32) {
                            let _ =
                                rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                        }
                        watched.killed = Some(if cancelled {
                            Kill::Cancelled
                        } else {
                            Kill::TimedOut
                        });
                    } else if let Some(deadline) = watched.deadline {
                        next = Some(next.map_or(deadline, |next| next.min(deadline)));
                    }
                }
                next
            };
            match next {
                Some(next) => thread::park_timeout(next.saturating_duration_since(Instant::now())),
                None => thread::park(),
            }
        }
    }
}
