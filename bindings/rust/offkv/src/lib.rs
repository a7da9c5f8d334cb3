//! offkv: one ZooKeeper-like coordination model over ZooKeeper, etcd v3, Consul KV
//! and an embedded `mem://` store, through liboffkv's C API (`capi/offkv.h`).
//!
//! A [`Client`] stores nodes (a value and a version) under absolute keys
//! (`/a/b`), with ephemeral and sequential nodes, compare-and-set, atomic
//! transactions ([`Txn`]), one-shot and persistent [`Watch`]es (as blocking waits or
//! closures), session events, and the recipes [`Election`], [`Detector`], [`Group`]
//! and [`Lock`]. Every failure is an [`Error`] with an [`ErrorKind`] per C error code.
//!
//! ```
//! use offkv::{Client, CreateMode, Options};
//! use std::time::Duration;
//!
//! let client = Client::open("mem://doc-crate", &Options::new())?;
//! let (_, watch) = client.exists_watch("/config")?;
//! client.create("/config", b"v1", CreateMode::Persistent)?;
//! assert_eq!(watch.wait(Some(Duration::from_secs(5)))?.kind, offkv::EventKind::Created);
//! assert_eq!(client.cas("/config", b"v2", 1)?, 2);
//! assert_eq!(client.get("/config")?, (b"v2".to_vec(), 2));
//! # Ok::<(), offkv::Error>(())
//! ```
//!
//! Closures given to the `*_with` functions run on the client's own event thread,
//! one at a time; they may call any method (including dropping their own handle).
//! A panicking closure is stopped at the C boundary (see [`callback_panics`]).
//!
//! offkv's log lines go to [`set_log_callback`] (off by default); [`Client::stats`]
//! gives a client's counters and [`Client::testkit_end_watches`] ends its watches
//! on demand, for an application's tests; [`Client::testkit_suspend`],
//! [`Client::testkit_resume`] and [`Client::testkit_expire`] cut its connection,
//! give it back and expire its session.
//!
//! Every operation also has an asynchronous form (`create_async`, `set_async`, …,
//! `commit_async`, `get_watch_async`, …) returning an [`AsyncCall`]: a future that
//! works with any executor (no runtime dependency), started when the method is
//! called and completed by the library's event thread.
//!
//! ```
//! use futures::executor::block_on; // or tokio, async-std, …
//! let client = offkv::Client::open("mem://doc-crate-async", &offkv::Options::new())?;
//! let writes: Vec<_> = (1..=3).map(|i| client.set_async("/k", &[i])).collect();
//! let versions = block_on(futures::future::try_join_all(writes))?;
//! assert_eq!(versions, [1, 2, 3]); // same key: in call order
//! # Ok::<(), offkv::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]

mod callback;
mod client;
mod error;
mod event;
mod future;
mod logging;
mod options;
mod recipes;
mod txn;
mod util;
mod watch;

use std::ffi::CStr;
use std::time::Duration;

use offkv_sys as sys;

pub use callback::{callback_panics, live_callback_states};
pub use client::{Client, CreateMode};
pub use error::{Error, ErrorKind, Result, TxnFailure};
pub use event::{Event, EventKind, SessionState};
pub use future::{live_async_states, AsyncCall};
pub use logging::{clear_log_callback, set_log_callback, Level, LogCallback};
pub use options::{Options, ReadConsistency};
pub use recipes::{
    Detector, Election, Group, Labeled, Lock, LockGuard, Member, RecipeEvent, RecipeEventKind,
    MESOS_MASTER_LABEL,
};
pub use txn::{OpResult, Txn};
pub use watch::{Events, Watch};

/// Largest value, in bytes, accepted by every operation on every backend.
pub const MAX_VALUE_SIZE: usize = sys::OFFKV_MAX_VALUE_SIZE as usize;
/// Largest full key (prefix + key), in bytes.
pub const MAX_KEY_SIZE: usize = sys::OFFKV_MAX_KEY_SIZE as usize;
/// Largest key segment, in bytes.
pub const MAX_SEGMENT_SIZE: usize = sys::OFFKV_MAX_SEGMENT_SIZE as usize;
/// Largest number of checks + ops in one transaction.
pub const MAX_TXN_OPS: usize = sys::OFFKV_MAX_TXN_OPS as usize;
/// A transaction check that the node exists, whatever its version.
pub const ANY_VERSION: i64 = sys::OFFKV_ANY_VERSION as i64;
/// Number of C error codes (`OFFKV_OK` included).
pub const ERROR_COUNT: usize = sys::OFFKV_ERROR_COUNT as usize;
/// Default session timeout.
pub const SESSION_TIMEOUT_DEFAULT: Duration =
    Duration::from_millis(sys::OFFKV_SESSION_TIMEOUT_DEFAULT_MS as u64);
/// Shortest session timeout every backend honours.
pub const SESSION_TIMEOUT_MIN: Duration =
    Duration::from_millis(sys::OFFKV_SESSION_TIMEOUT_MIN_MS as u64);
/// Longest session timeout every backend honours.
pub const SESSION_TIMEOUT_MAX: Duration =
    Duration::from_millis(sys::OFFKV_SESSION_TIMEOUT_MAX_MS as u64);

/// The version of the header this crate was built against, `MAJOR*10000 +
/// MINOR*100 + PATCH`, comparable with [`version`].
pub const HEADER_VERSION: i32 = sys::OFFKV_VERSION_NUMBER as i32;

/// The version of the library actually loaded (`MAJOR*10000 + MINOR*100 + PATCH`).
///
/// ```
/// assert_eq!(offkv::version() / 10000, offkv::HEADER_VERSION / 10000);
/// ```
pub fn version() -> i32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::offkv_version() }
}

/// The version of the library actually loaded, `"MAJOR.MINOR.PATCH"`.
///
/// ```
/// assert_eq!(offkv::version_string().split('.').count(), 3);
/// ```
pub fn version_string() -> &'static str {
    // SAFETY: returns static NUL-terminated text.
    let text = unsafe { CStr::from_ptr(sys::offkv_version_string()) };
    text.to_str().unwrap_or("")
}

/// True if the backend `scheme` (`"mem"`, `"zk"`, `"etcd"`, `"consul"`) is compiled
/// into the loaded library.
///
/// ```
/// assert!(offkv::has_backend("mem"));
/// assert!(!offkv::has_backend("nope"));
/// ```
pub fn has_backend(scheme: &str) -> bool {
    let Ok(scheme) = std::ffi::CString::new(scheme) else {
        return false;
    };
    // SAFETY: a valid C string alive for the call.
    unsafe { sys::offkv_has_backend(scheme.as_ptr()) != 0 }
}

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
