//! Events of watches and of the session.

use std::ffi::CStr;
use std::fmt;

use offkv_sys as sys;

use crate::error::ErrorKind;
use crate::util::{copy_opt_str, copy_str};

/// What a watch or session event reports (`offkv_event_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// The node was created.
    Created,
    /// The node was erased.
    Deleted,
    /// The node's value was replaced.
    Changed,
    /// A direct child was added or removed.
    Children,
    /// The watch ended: session lost or client closed ([`Event::error`] says which).
    Ended,
    /// The session state changed ([`Event::session_state`]).
    Session,
    /// A type this crate does not know (from a newer library).
    Other(i32),
}

impl EventKind {
    pub(crate) fn from_raw(code: i32) -> EventKind {
        match code as u32 {
            sys::OFFKV_EVENT_CREATED => EventKind::Created,
            sys::OFFKV_EVENT_DELETED => EventKind::Deleted,
            sys::OFFKV_EVENT_CHANGED => EventKind::Changed,
            sys::OFFKV_EVENT_CHILDREN => EventKind::Children,
            sys::OFFKV_EVENT_ENDED => EventKind::Ended,
            sys::OFFKV_EVENT_SESSION => EventKind::Session,
            _ => EventKind::Other(code),
        }
    }
}

impl EventKind {
    fn to_raw(self) -> i32 {
        (match self {
            EventKind::Created => sys::OFFKV_EVENT_CREATED,
            EventKind::Deleted => sys::OFFKV_EVENT_DELETED,
            EventKind::Changed => sys::OFFKV_EVENT_CHANGED,
            EventKind::Children => sys::OFFKV_EVENT_CHILDREN,
            EventKind::Ended => sys::OFFKV_EVENT_ENDED,
            EventKind::Session => sys::OFFKV_EVENT_SESSION,
            EventKind::Other(code) => return code,
        }) as i32
    }
}

/// The library's name of a code (`offkv_event_type_name`,
/// `offkv_session_state_name`), or `what(N)` for a number it does not know.
fn write_library_name(
    f: &mut fmt::Formatter<'_>,
    name_of: unsafe extern "C" fn(std::os::raw::c_int) -> *const std::os::raw::c_char,
    code: i32,
    what: &str,
) -> fmt::Result {
    // SAFETY: both functions return a static NUL-terminated string, never NULL.
    let name = unsafe { CStr::from_ptr(name_of(code)) }.to_string_lossy();
    if name == "UNKNOWN" {
        write!(f, "{what}({code})")
    } else {
        f.write_str(&name)
    }
}

/// The C API's name: `CREATED`, `DELETED`, ... (`offkv_event_type_name`).
///
/// ```
/// assert_eq!(offkv::EventKind::Created.to_string(), "CREATED");
/// ```
impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_library_name(f, sys::offkv_event_type_name, self.to_raw(), "EventKind")
    }
}

/// The state of a client's session (`offkv_session_state`).
///
/// ```
/// let client = offkv::Client::open("mem://doc-state", &offkv::Options::new())?;
/// assert_eq!(client.session_state()?, offkv::SessionState::Connected);
/// client.close()?;
/// # Ok::<(), offkv::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Session live, server reachable.
    Connected,
    /// Connection lost; the session may still live.
    Suspended,
    /// Session expired: its ephemerals and watches are gone.
    Lost,
    /// The client was closed.
    Closed,
    /// A state this crate does not know (from a newer library).
    Other(i32),
}

impl SessionState {
    /// The state for a C value; `None` for 0 ("no state").
    pub(crate) fn from_raw(code: i32) -> Option<SessionState> {
        Some(match code as u32 {
            0 => return None,
            sys::OFFKV_SESSION_CONNECTED => SessionState::Connected,
            sys::OFFKV_SESSION_SUSPENDED => SessionState::Suspended,
            sys::OFFKV_SESSION_LOST => SessionState::Lost,
            sys::OFFKV_SESSION_CLOSED => SessionState::Closed,
            _ => SessionState::Other(code),
        })
    }
}

impl SessionState {
    fn to_raw(self) -> i32 {
        (match self {
            SessionState::Connected => sys::OFFKV_SESSION_CONNECTED,
            SessionState::Suspended => sys::OFFKV_SESSION_SUSPENDED,
            SessionState::Lost => sys::OFFKV_SESSION_LOST,
            SessionState::Closed => sys::OFFKV_SESSION_CLOSED,
            SessionState::Other(code) => return code,
        }) as i32
    }
}

/// The C API's name: `CONNECTED`, `SUSPENDED`, `LOST`, `CLOSED`
/// (`offkv_session_state_name`).
///
/// ```
/// assert_eq!(offkv::SessionState::Lost.to_string(), "LOST");
/// ```
impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_library_name(
            f,
            sys::offkv_session_state_name,
            self.to_raw(),
            "SessionState",
        )
    }
}

/// One event of a watch or of the session, copied out of the C event.
///
/// ```
/// use std::time::Duration;
/// let client = offkv::Client::open("mem://doc-event", &offkv::Options::new())?;
/// let (_, watch) = client.exists_watch("/k")?;
/// client.set("/k", b"v")?;
/// let event = watch.wait(Some(Duration::from_secs(5)))?;
/// assert_eq!(event.kind, offkv::EventKind::Created);
/// assert_eq!(event.key.as_deref(), Some("/k"));
/// assert_eq!(event.version, 1);
/// # Ok::<(), offkv::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The key that changed (relative to the client's root); `None` for session
    /// events.
    pub key: Option<String>,
    /// The node's version after the change, 0 if it no longer exists, -1 if not known
    /// (children, ended and session events).
    pub version: i64,
    /// For session and ended events: the session state.
    pub session_state: Option<SessionState>,
    /// For ended events: why ([`ErrorKind::Closed`], [`ErrorKind::Session`]).
    pub error: Option<ErrorKind>,
    /// A human-readable detail, may be empty.
    pub message: String,
}

impl Event {
    pub(crate) fn from_raw(e: &sys::offkv_event) -> Event {
        Event {
            kind: EventKind::from_raw(e.type_),
            key: copy_opt_str(e.key),
            version: e.version,
            session_state: SessionState::from_raw(e.session_state),
            error: ErrorKind::from_code(e.error),
            message: copy_str(e.message),
        }
    }

    /// Copies an event returned by `offkv_watch_wait` and frees it.
    pub(crate) fn take(event: *mut sys::offkv_event) -> Event {
        // SAFETY: `event` came from a successful offkv_watch_wait: a valid event
        // owned by us, freed exactly once below after being copied.
        let copy = Event::from_raw(unsafe { &*event });
        // SAFETY: see above.
        unsafe { sys::offkv_event_free(event) };
        copy
    }
}
