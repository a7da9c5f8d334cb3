//! offkv's log lines (`offkv_set_log_callback`): one process-wide callback.

use std::borrow::Cow;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Mutex;

use offkv_sys as sys;

use crate::callback::count_panic;
use crate::error::{check, Result};

/// The level of a log line (`OFFKV_LOG_*`); `Error` is the most severe, and the
/// order is that of verbosity (`Level::Error < Level::Debug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `OFFKV_LOG_ERROR`.
    Error,
    /// `OFFKV_LOG_WARN`.
    Warn,
    /// `OFFKV_LOG_INFO`: e.g. every session transition to CONNECTED or CLOSED.
    Info,
    /// `OFFKV_LOG_DEBUG`.
    Debug,
}

impl Level {
    /// The C value (`OFFKV_LOG_ERROR` = 1 … `OFFKV_LOG_DEBUG` = 4).
    ///
    /// ```
    /// assert_eq!(offkv::Level::Info.code(), 3);
    /// ```
    pub fn code(self) -> i32 {
        let code = match self {
            Level::Error => sys::OFFKV_LOG_ERROR,
            Level::Warn => sys::OFFKV_LOG_WARN,
            Level::Info => sys::OFFKV_LOG_INFO,
            Level::Debug => sys::OFFKV_LOG_DEBUG,
        };
        code as i32
    }

    /// The level of a C value; `Debug` for one this crate does not know.
    fn from_code(code: c_int) -> Level {
        match code as u32 {
            sys::OFFKV_LOG_ERROR => Level::Error,
            sys::OFFKV_LOG_WARN => Level::Warn,
            sys::OFFKV_LOG_INFO => Level::Info,
            _ => Level::Debug,
        }
    }
}

/// A log callback: `callback(level, component, message)`. `component` is the scheme
/// (`"zk"`, `"etcd"`, `"consul"`, `"mem"`) for offkv's own lines, `"zookeeper"` for
/// the ZooKeeper C client's and `"grpc"` for gRPC's.
pub type LogCallback = Box<dyn Fn(Level, &str, &str) + Send + Sync + 'static>;

/// The callback C holds now (a `Box<LogCallback>` as a thin raw pointer, C's `user`).
struct Installed(*mut LogCallback);
// SAFETY: the pointee is `Send + Sync`; the pointer is only dereferenced by the
// trampoline and freed by `install`.
unsafe impl Send for Installed {}

static INSTALLED: Mutex<Option<Installed>> = Mutex::new(None);

/// Passes offkv's log lines of `max_level` and more severe to `callback`
/// (`offkv_set_log_callback`). Off by default: offkv prints nothing by itself;
/// [`clear_log_callback`] turns it off again. Process-wide: one callback for every
/// client.
///
/// The callback runs on whatever thread logs, the library's own threads included,
/// possibly on several at once: it must be quick and must not call offkv. A panic in
/// it is stopped at the C boundary (counted by [`callback_panics`](crate::callback_panics)).
/// When this returns, the previous callback is no longer running and has been
/// dropped.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let lines = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&lines);
/// offkv::set_log_callback(
///     Box::new(move |level, component, message| {
///         sink.lock().unwrap().push(format!("{level:?} {component}: {message}"));
///     }),
///     offkv::Level::Info,
/// )?;
/// drop(offkv::Client::open("mem://doc-log", &offkv::Options::new())?);
/// offkv::clear_log_callback()?;
/// let lines = lines.lock().unwrap();
/// assert!(lines.iter().any(|l| l.starts_with("Info mem:") && l.contains("session CONNECTED")));
/// # Ok::<(), offkv::Error>(())
/// ```
pub fn set_log_callback(callback: LogCallback, max_level: Level) -> Result<()> {
    install(Some(callback), max_level)
}

/// Turns offkv's log lines off (`offkv_set_log_callback(NULL, …)`): when this
/// returns, the callback is no longer running and has been dropped.
pub fn clear_log_callback() -> Result<()> {
    install(None, Level::Error)
}

fn install(callback: Option<LogCallback>, max_level: Level) -> Result<()> {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let new = callback.map(|cb| Box::into_raw(Box::new(cb)));
    let (trampoline, user): (sys::offkv_log_cb, *mut c_void) = match new {
        Some(p) => (Some(log_trampoline), p as *mut c_void),
        None => (None, ptr::null_mut()),
    };
    // SAFETY: `user` stays valid until a later call has replaced it (below, after
    // offkv_set_log_callback returned, when no call of it runs any more). The
    // trampoline never takes INSTALLED, so waiting here for its calls cannot deadlock.
    let code = unsafe { sys::offkv_set_log_callback(trampoline, user, max_level.code()) };
    if let Err(e) = check(code, None) {
        if let Some(p) = new {
            // SAFETY: not installed; from Box::into_raw above.
            drop(unsafe { Box::from_raw(p) });
        }
        return Err(e);
    }
    let old = std::mem::replace(&mut *installed, new.map(Installed));
    drop(installed);
    if let Some(Installed(p)) = old {
        // SAFETY: from Box::into_raw in an earlier call; C no longer calls it.
        drop(unsafe { Box::from_raw(p) });
    }
    Ok(())
}

/// A borrowed C string as text (NULL gives "").
fn text<'a>(s: *const c_char) -> Cow<'a, str> {
    if s.is_null() {
        return Cow::Borrowed("");
    }
    // SAFETY: the library passes NUL-terminated strings valid during the call; the
    // Cow does not outlive the trampoline.
    unsafe { CStr::from_ptr(s) }.to_string_lossy()
}

/// The `offkv_log_cb` given to the C API: any thread. Nothing unwinds into C.
extern "C" fn log_trampoline(
    level: c_int,
    component: *const c_char,
    message: *const c_char,
    user: *mut c_void,
) {
    if user.is_null() {
        return;
    }
    let call = || {
        // SAFETY: `user` is the installed `Box<LogCallback>` (see `install`): freed
        // only after offkv_set_log_callback replaced it and no call of it runs.
        let callback = unsafe { &*(user as *const LogCallback) };
        callback(Level::from_code(level), &text(component), &text(message));
    };
    if catch_unwind(AssertUnwindSafe(call)).is_err() {
        count_panic();
    }
}
