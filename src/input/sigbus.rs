//! A mapped input truncated while it is read: a clean error (exit 3) instead of a crash.
//!
//! Reading a page of a memory map that lies wholly beyond the end of its file (another process
//! truncated it) raises `SIGBUS`, which by default kills the process (exit status 135) without a
//! word. While at least one input is mapped, a `SIGBUS` handler is installed (`SA_SIGINFO`); every
//! mapping is registered in a fixed table with its address range and a message rendered in
//! advance. The handler looks the faulting address up in the table and, when it falls in a
//! registered range, writes that message (naming the file) to stderr and ends the process with
//! exit status 3. It makes only async-signal-safe calls: atomic loads, `write(2)`, `_exit(2)`,
//! `pause(2)` and `sigaction(2)`. A fault outside every registered range is not ours: the handler
//! puts back the action that was installed before it and returns, so the fault repeats and is
//! handled as it would have been (by default, the process is killed as before).
//!
//! What is left behind is never trusted: `validate` and `stats` write nothing, and `prepare`
//! publishes `manifest.json` last (after checking its inputs are unchanged), so a prepare stopped
//! here leaves a run without a manifest, which the next prepare starts clean (temporary shard
//! files included). The process exits with `_exit`, so buffered output and destructors do not run:
//! nothing half-built is flushed either.
//!
//! The kernel raises the same signal when the storage under a mapped file fails to deliver a page
//! (an I/O error on a network file system, say); that ends the same way, with the same message.
//!
//! The table has [`SLOTS`] entries; a mapping beyond that is simply not watched (its truncation
//! ends in `SIGBUS`, as without this module).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many mappings can be watched at once (inputs are mapped one per file and kept for the
/// run; the run's own files are mapped one at a time).
pub const SLOTS: usize = 4096;

/// One watched mapping. `start == 0` means free (or being filled or emptied).
struct Slot {
    start: AtomicUsize,
    len: AtomicUsize,
    msg: AtomicPtr<u8>,
    msg_len: AtomicUsize,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        msg: AtomicPtr::new(std::ptr::null_mut()),
        msg_len: AtomicUsize::new(0),
    }
}; SLOTS];

/// Set by the first thread that reports a truncation; any other thread that faults meanwhile
/// waits for the process to end instead of writing a second message.
static REPORTING: AtomicBool = AtomicBool::new(false);

/// The registry's bookkeeping, touched only outside the handler.
struct State {
    /// Which slots are taken.
    used: Vec<bool>,
    /// Slots taken; the handler is installed while this is above zero.
    count: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    used: Vec::new(),
    count: 0,
});

/// The `SIGBUS` action that was installed before ours (written only while ours is not
/// installed, read by the handler to pass on a fault that is not ours).
struct Previous(std::cell::UnsafeCell<std::mem::MaybeUninit<libc::sigaction>>);
// SAFETY: written only under `STATE`'s lock while our handler is not installed; read only by the
// handler, which runs only while it is installed.
unsafe impl Sync for Previous {}
static PREVIOUS: Previous = Previous(std::cell::UnsafeCell::new(std::mem::MaybeUninit::zeroed()));

/// Keeps a mapping watched; unregisters it when dropped. Drop it before the mapping is unmapped.
#[derive(Debug)]
pub struct Watch {
    slot: Option<usize>,
}

/// The line written to stderr when `path` is truncated while mapped.
pub fn message(path: &Path) -> String {
    let shown: String = path
        .display()
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    format!(
        "error: {shown}: the file was truncated while it was being read; stopped before anything was published (a run folder is left without a manifest, and the next prepare starts it clean): run again once the file is complete\n"
    )
}

fn state() -> std::sync::MutexGuard<'static, State> {
    // The state is consistent between statements: a poisoned lock is still usable.
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Watches the mapped bytes `bytes` of the file `path` until the returned guard is dropped.
pub fn watch(bytes: &[u8], path: &Path) -> Watch {
    if bytes.is_empty() {
        return Watch { slot: None };
    }
    let mut st = state();
    if st.used.is_empty() {
        st.used = vec![false; SLOTS];
    }
    let Some(i) = st.used.iter().position(|u| !u) else {
        return Watch { slot: None };
    };
    if st.count == 0 && !install() {
        return Watch { slot: None };
    }
    st.used[i] = true;
    st.count += 1;
    let msg = message(path).into_bytes().into_boxed_slice();
    let msg_len = msg.len();
    let slot = &TABLE[i];
    slot.msg
        .store(Box::into_raw(msg).cast::<u8>(), Ordering::Release);
    slot.msg_len.store(msg_len, Ordering::Release);
    slot.len.store(bytes.len(), Ordering::Release);
    // Last: from here on the handler may match this slot.
    slot.start.store(bytes.as_ptr() as usize, Ordering::Release);
    Watch { slot: Some(i) }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let Some(i) = self.slot.take() else { return };
        let mut st = state();
        let slot = &TABLE[i];
        // First: the handler no longer matches this slot.
        slot.start.store(0, Ordering::Release);
        slot.len.store(0, Ordering::Release);
        let len = slot.msg_len.swap(0, Ordering::AcqRel);
        let msg = slot.msg.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !msg.is_null() {
            // SAFETY: made by `Box::into_raw` of a boxed slice of `len` bytes in `watch`.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(msg, len)) });
        }
        st.used[i] = false;
        st.count -= 1;
        if st.count == 0 {
            uninstall();
        }
    }
}

/// The registered slot whose range holds `addr`: its message.
fn find(addr: usize) -> Option<(*const u8, usize)> {
    for slot in &TABLE {
        let start = slot.start.load(Ordering::Acquire);
        if start == 0 || addr < start {
            continue;
        }
        if addr - start < slot.len.load(Ordering::Acquire) {
            let msg = slot.msg.load(Ordering::Acquire);
            let len = slot.msg_len.load(Ordering::Acquire);
            if !msg.is_null() {
                return Some((msg, len));
            }
        }
    }
    None
}

/// Installs the handler, saving the action it replaces. False when the system refuses.
fn install() -> bool {
    // SAFETY: a zeroed `sigaction` is a valid value; the handler has the `SA_SIGINFO` signature;
    // PREVIOUS is written while our handler is not installed (see `Previous`).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, (*PREVIOUS.0.get()).as_mut_ptr()) == 0
    }
}

/// Puts back the action [`install`] replaced.
fn uninstall() {
    // SAFETY: PREVIOUS holds the action `install` saved.
    unsafe {
        libc::sigaction(
            libc::SIGBUS,
            (*PREVIOUS.0.get()).as_ptr(),
            std::ptr::null_mut(),
        );
    }
}

/// True while the handler is the installed `SIGBUS` action (for tests).
pub fn installed() -> bool {
    // SAFETY: querying the current action only.
    unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut now) == 0
            && now.sa_sigaction == on_sigbus as *const () as libc::sighandler_t
    }
}

extern "C" fn on_sigbus(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO.
    let addr = unsafe { (*info).si_addr() } as usize;
    match find(addr) {
        Some((msg, len)) => {
            if !REPORTING.swap(true, Ordering::AcqRel) {
                let mut done = 0;
                while done < len {
                    // SAFETY: `msg` points at `len` bytes kept alive by the mapping's guard,
                    // which cannot be dropped while this thread reads the mapping.
                    let n = unsafe { libc::write(2, msg.add(done).cast(), len - done) };
                    if n <= 0 {
                        break;
                    }
                    done += n as usize;
                }
                // SAFETY: ends the process at once, as the handler must.
                unsafe { libc::_exit(3) };
            }
            loop {
                // SAFETY: waits for the reporting thread to end the process.
                unsafe { libc::pause() };
            }
        }
        None => {
            // Not a mapping of ours: hand the fault back to the previous action, which runs when
            // the faulting instruction repeats.
            uninstall();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_range_is_found_until_its_guard_is_dropped_and_the_handler_lives_as_long() {
        let a = vec![7u8; 100];
        let b = vec![9u8; 10];
        let base_a = a.as_ptr() as usize;
        let base_b = b.as_ptr() as usize;
        let wa = watch(&a, Path::new("dir/a.jsonl"));
        assert!(installed());
        let wb = watch(&b, Path::new("b\u{7}.jsonl"));
        let text = |hit: Option<(*const u8, usize)>| {
            hit.map(|(p, n)| {
                // SAFETY: the message lives while its guard does.
                String::from_utf8(unsafe { std::slice::from_raw_parts(p, n) }.to_vec()).unwrap()
            })
        };
        let expect_a = "error: dir/a.jsonl: the file was truncated while it was being read; stopped before anything was published (a run folder is left without a manifest, and the next prepare starts it clean): run again once the file is complete\n";
        assert_eq!(text(find(base_a)).as_deref(), Some(expect_a));
        assert_eq!(text(find(base_a + 99)).as_deref(), Some(expect_a));
        assert_eq!(text(find(base_a + 100)).filter(|t| t == expect_a), None);
        // A control character in a name is shown escaped, as every other message does.
        assert_eq!(
            text(find(base_b + 5)).as_deref(),
            Some(&message(Path::new("b\u{7}.jsonl"))[..])
        );
        assert!(message(Path::new("b\u{7}.jsonl")).starts_with("error: b\\u{7}.jsonl: "));
        drop(wa);
        assert_eq!(text(find(base_a)).filter(|t| t == expect_a), None);
        assert!(text(find(base_b)).is_some());
        assert!(installed());
        drop(wb);
        // Other tests may hold watches of their own at this moment; only this test's ranges
        // are known here.
        assert_eq!(text(find(base_b)).filter(|t| t.contains("b\\u{7}")), None);
        // Empty bytes are never watched (nothing to read, nothing to fault).
        assert!(watch(&[], Path::new("empty")).slot.is_none());
    }
}
