//! A child's stack overflow, told apart from other segfaults.
//!
//! The child serves calls before `main`, where the standard library has not
//! installed its stack overflow handler: an overflow is a bare `SIGSEGV`,
//! like a wild pointer. On Linux the child installs a handler of its own
//! (on an alternate stack, since the thread's own is the one used up). A
//! fault the kernel raised at an address in the guard gap below the main
//! thread's stack writes [`STACK_OVERFLOWED`] to stderr; the handler is then
//! reset and the signal raised again, so every `SIGSEGV` and `SIGBUS`
//! still kills the child as before. The parent finds the line in the stderr tail and
//! reports [`CrashReason::StackOverflow`](super::CrashReason::StackOverflow).

/// The line the child writes to stderr before it dies of a stack overflow.
pub(super) const STACK_OVERFLOWED: &[u8] =
    b"isolate: the call overflowed the child process's stack\n";

/// Installs the handler (Linux; elsewhere an overflow stays a `SIGSEGV` or
/// `SIGBUS`). Called once, on the main thread, before the first call.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn report_stack_overflows() {
    linux::install();
}

/// Elsewhere an overflow stays a plain `SIGSEGV` or `SIGBUS`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn report_stack_overflows() {}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)] // signal handling has no safe interface in std or rustix
mod linux {
    use crate::sync::process::{AtomicUsize, Ordering};

    use super::STACK_OVERFLOWED;

    /// How far below the stack's lowest address a fault still counts as an
    /// overflow: the kernel keeps a guard gap of 256 pages (1 MiB with 4 KiB
    /// pages) below a growing main stack, and the stack probes rustc emits
    /// touch every page, so an overflow faults within it.
    const GUARD_GAP: usize = 2 << 20;
    /// A fault this far above the lowest address also counts: a stack that
    /// could not grow there (an address-space limit) faults inside its range.
    const ABOVE: usize = 64 << 10;
    /// Bytes of the alternate stack the handler runs on.
    const ALT_STACK: usize = 64 << 10;

    /// The lowest address of the main thread's stack; 0 until installed.
    static STACK_LOW: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn install() {
        let Some(low) = main_stack_low() else {
            return;
        };
        STACK_LOW.store(low, Ordering::Relaxed);
        // Leaked on purpose: the handler may run until the process ends.
        let alt_stack: &'static mut [u8] = Box::leak(vec![0_u8; ALT_STACK].into_boxed_slice());
        let stack = libc::stack_t {
            ss_sp: alt_stack.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: alt_stack.len(),
        };
        // SAFETY: `stack` describes a live, leaked buffer of `ss_size`
        // bytes that nothing else uses; the old stack is not asked for.
        if unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) } != 0 {
            return;
        }
        for signal in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: an all-zero `sigaction` is a valid value (no flags,
            // an empty mask, `SIG_DFL`); the fields set next are in range.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                on_fault;
            action.sa_sigaction = handler as *const () as libc::sighandler_t;
            // Reset to the default on entry: the fault, raised again when
            // the handler returns, then ends the process as it would have.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESETHAND;
            // SAFETY: `action` is initialised, its handler has the
            // `SA_SIGINFO` signature and only makes async-signal-safe calls;
            // the old action is not asked for.
            unsafe {
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }

    /// The main thread's lowest stack address, as glibc or musl report it
    /// (from the stack size limit and the `[stack]` mapping).
    fn main_stack_low() -> Option<usize> {
        // SAFETY: `attr` is initialised by `pthread_getattr_np` before it is
        // read and destroyed once; `addr` and `size` are written by
        // `pthread_attr_getstack` on success and read only then.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                return None;
            }
            let mut addr: *mut libc::c_void = std::ptr::null_mut();
            let mut size: libc::size_t = 0;
            let got = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
            libc::pthread_attr_destroy(&mut attr);
            (got == 0 && !addr.is_null()).then_some(addr as usize)
        }
    }

    extern "C" fn on_fault(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        _context: *mut libc::c_void,
    ) {
        let low = STACK_LOW.load(Ordering::Relaxed);
        // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO`
        // handler; `si_addr` is meaningful for a fault it raised itself
        // (`si_code > 0`), which is checked first (a `kill` has
        // `si_code <= 0`).
        let address = unsafe {
            match info.as_ref() {
                Some(info) if info.si_code > 0 => Some(info.si_addr() as usize),
                _ => None,
            }
        };
        if address.is_some_and(|address| {
            low != 0 && address >= low.saturating_sub(GUARD_GAP) && address < low + ABOVE
        }) {
            // SAFETY: `write` is async-signal-safe; the buffer is static.
            unsafe {
                libc::write(
                    libc::STDERR_FILENO,
                    STACK_OVERFLOWED.as_ptr().cast(),
                    STACK_OVERFLOWED.len(),
                );
            }
        }
        // Sent again under the default action that `SA_RESETHAND` restored,
        // it ends the child once the handler returns: a signal sent with
        // `kill` would otherwise be spent here (a fault would recur anyway).
        // SAFETY: `raise` is async-signal-safe.
        unsafe {
            libc::raise(signal);
        }
    }
}
