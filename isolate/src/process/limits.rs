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
    /// The CPU-time limit (`RLIMIT_CPU`): the call may use at least this
    /// much of the child's CPU time, and less than a second more (the
    /// kernel counts whole seconds).
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
            set(Resource::Cpu, cpu_seconds_limit(used_cpu_ms(), ms));
        }
        Applied { previous }
    }
}

/// The soft `RLIMIT_CPU`, in whole seconds of the process's CPU time, that
/// lets a call use `call_ms` more than the `used_ms` a warm child has used
/// already: rounded up, so the call gets at least its share and less than a
/// second more (rounding the time used down took up to a second off it).
#[cfg(unix)]
fn cpu_seconds_limit(used_ms: u64, call_ms: u64) -> u64 {
    used_ms.saturating_add(call_ms.max(1)).div_ceil(1000)
}

/// This process's CPU time so far, in milliseconds, rounded up.
#[cfg(unix)]
fn used_cpu_ms() -> u64 {
    let used = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let seconds = u64::try_from(used.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(used.tv_nsec).unwrap_or(0);
    seconds
        .saturating_mul(1000)
        .saturating_add(nanos.div_ceil(1_000_000))
}

#[cfg(unix)]
impl Drop for Applied {
    fn drop(&mut self) {
        for (resource, old) in self.previous.drain(..).rev() {
            let _ = rustix::process::setrlimit(resource, old);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::cpu_seconds_limit;

    #[test]
    fn a_warm_childs_cpu_limit_leaves_the_call_its_whole_share() {
        // 1.9 s used, 1 s allowed: killed at 3 s, not at 2 (0.1 s later).
        assert_eq!(cpu_seconds_limit(1_900, 1_000), 3);
        assert_eq!(cpu_seconds_limit(0, 1_000), 1);
        assert_eq!(cpu_seconds_limit(1, 1_000), 2);
        assert_eq!(cpu_seconds_limit(0, 0), 1);
        assert_eq!(cpu_seconds_limit(u64::MAX, 1), u64::MAX.div_ceil(1000));
    }
}
