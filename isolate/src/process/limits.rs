//! Limits of one call in a child process: the memory and CPU time the child
//! sets on itself (soft `RLIMIT_AS` and `RLIMIT_CPU`) around the call, and
//! puts back after it, so that a warm child serves the next call unlimited.

use std::fmt;
use std::time::Duration;

/// A limit of a process isolate that a child went over.
///
/// # Examples
///
/// ```
/// use isolate::process::Limit;
///
/// assert_eq!(Limit::Memory(1 << 20).to_string(), "memory limit of 1048576 bytes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// The address-space limit (`RLIMIT_AS`), in bytes: an allocation
    /// failed under it.
    Memory(u64),
    /// The CPU-time limit (`RLIMIT_CPU`), counted in whole seconds of the
    /// child's CPU time from the start of the call.
    CpuTime(Duration),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Memory(bytes) => write!(f, "memory limit of {bytes} bytes"),
            Limit::CpuTime(time) => write!(f, "CPU-time limit of {time:?}"),
        }
    }
}

/// Sets the limits of one call on this (child) process; dropping the guard
/// puts the previous soft limits back.
#[cfg(unix)]
pub(crate) struct Applied {
    previous: Vec<(rustix::process::Resource, rustix::process::Rlimit)>,
}

#[cfg(unix)]
impl Applied {
    pub(crate) fn apply(memory: Option<u64>, cpu_ms: Option<u64>) -> Applied {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let mut previous = Vec::new();
        let mut set = |resource: Resource, soft: u64| {
            let old = getrlimit(resource);
            let soft = match old.maximum {
                Some(hard) => soft.min(hard),
                None => soft,
            };
            let new = Rlimit {
                current: Some(soft),
                maximum: old.maximum,
            };
            if setrlimit(resource, new).is_ok() {
                previous.push((resource, old));
            }
        };
        if let Some(bytes) = memory {
            set(Resource::As, bytes);
        }
        if let Some(ms) = cpu_ms {
            // RLIMIT_CPU counts the process's whole CPU time, in seconds:
            // the limit is what was used so far plus this call's share.
            let used =
                rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime).tv_sec as u64;
            set(Resource::Cpu, used + ms.div_ceil(1000).max(1));
        }
        Applied { previous }
    }
}

#[cfg(unix)]
impl Drop for Applied {
    fn drop(&mut self) {
        for (resource, old) in self.previous.drain(..).rev() {
            let _ = rustix::process::setrlimit(resource, old);
        }
    }
}
