//! Recipes built in the library on the node operations, so every backend has them:
//! leader election ([`Election`]), leader detection ([`Detector`]), group membership
//! ([`Group`]) and a mutex ([`Lock`]).
//!
//! Each recipe works under a group key `G`; each participant is an ephemeral
//! sequential child `G/member-…` holding its payload, and the lowest sequence leads
//! (or holds the lock). [`Client::labeled`] gives the election, detector and group in
//! Mesos' layout instead: members named `G/<label>_<10 digits>`, exactly as a Mesos
//! master names its own ([`MESOS_MASTER_LABEL`]). Handles may outlive their client (calls then fail with
//! [`ErrorKind::Closed`]); dropping a handle stops it, after which its closure is
//! never called again.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use offkv_sys as sys;

use crate::callback::{recipe_trampoline, Handler};
use crate::client::Client;
use crate::error::{check, Error, ErrorKind, Result};
use crate::event::SessionState;
use crate::util::{c_string, copy_buf, copy_opt_str, copy_str, millis};

/// One member of a group (an election contender, a lock holder, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member node, e.g. `"/svc/member-3f…-0000000007"`.
    pub key: String,
    /// Its sequence number: lower joined earlier. With the key, a fencing token.
    pub sequence: i64,
    /// The node's version when read (payload updates); -1 if unknown.
    pub version: i64,
    /// The member's payload.
    pub payload: Vec<u8>,
}

impl Member {
    fn from_raw(m: &sys::offkv_member) -> Member {
        Member {
            key: copy_str(m.key),
            sequence: m.sequence,
            version: m.version,
            payload: copy_buf(&m.payload),
        }
    }

    /// Copies a member filled by the library and frees it.
    fn take(mut m: sys::offkv_member) -> Member {
        let copy = Member::from_raw(&m);
        // SAFETY: filled by the library; freed exactly once.
        unsafe { sys::offkv_member_free(&mut m) };
        copy
    }

    fn empty() -> sys::offkv_member {
        sys::offkv_member {
            size: std::mem::size_of::<sys::offkv_member>(),
            key: ptr::null_mut(),
            sequence: 0,
            version: 0,
            payload: crate::util::empty_buf(),
        }
    }
}

/// Runs a C call that fills a member; `NoEntry` becomes `Ok(None)`.
fn member_call(
    key: &str,
    call: impl FnOnce(*mut sys::offkv_member) -> c_int,
) -> Result<Option<Member>> {
    let mut m = Member::empty();
    let code = call(&mut m);
    let member = Member::take(m);
    match check(code, Some(key)) {
        Ok(()) => Ok(Some(member)),
        Err(e) if e.kind == ErrorKind::NoEntry => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a recipe event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecipeEventKind {
    /// This contender became the leader.
    Leader,
    /// This contender lost leadership; [`RecipeEvent::error`] says why.
    NotLeader,
    /// A detector's view of the leader changed.
    Detected,
    /// A group's membership (or a payload) changed.
    Members,
    /// A type this crate does not know (from a newer library).
    Other(i32),
}

/// An event of an [`Election`], a [`Detector`] or a [`Group`], copied out of the C
/// event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeEvent {
    /// What happened.
    pub kind: RecipeEventKind,
    /// Leader / NotLeader: this contender's member. Detected: the leader, or `None`
    /// when there is none. Members: `None`.
    pub member: Option<Member>,
    /// The group key.
    pub group: String,
    /// Members: every member, by sequence.
    pub members: Vec<Member>,
    /// The session state when this was decided.
    pub session_state: Option<SessionState>,
    /// Why, for losses: [`ErrorKind::ConnLoss`], [`ErrorKind::Session`],
    /// [`ErrorKind::Closed`], [`ErrorKind::NoEntry`] (node erased); `None` when
    /// withdrawn or for ordinary changes.
    pub error: Option<ErrorKind>,
    /// A human-readable detail, may be empty.
    pub message: String,
}

impl RecipeEvent {
    pub(crate) fn from_raw(e: &sys::offkv_recipe_event) -> RecipeEvent {
        let kind = match e.type_ as u32 {
            sys::OFFKV_EVENT_LEADER => RecipeEventKind::Leader,
            sys::OFFKV_EVENT_NOT_LEADER => RecipeEventKind::NotLeader,
            sys::OFFKV_EVENT_DETECTED => RecipeEventKind::Detected,
            sys::OFFKV_EVENT_MEMBERS => RecipeEventKind::Members,
            _ => RecipeEventKind::Other(e.type_),
        };
        let members = if e.members.is_null() {
            Vec::new()
        } else {
            // SAFETY: during the callback `members` points to `member_count` pointers
            // to members.
            unsafe { std::slice::from_raw_parts(e.members, e.member_count) }
                .iter()
                // SAFETY: each pointer is a live member during the callback.
                .map(|&m| Member::from_raw(unsafe { &*m }))
                .collect()
        };
        RecipeEvent {
            kind,
            // SAFETY: `member` is NULL or valid for the length of the callback.
            member: unsafe { e.member.as_ref() }.map(Member::from_raw),
            group: copy_opt_str(e.group).unwrap_or_default(),
            members,
            session_state: SessionState::from_raw(e.session_state),
            error: ErrorKind::from_code(e.error),
            message: copy_str(e.message),
        }
    }
}

type RecipeHandler = Arc<Handler<RecipeEvent>>;

fn recipe_args(handler: &Option<RecipeHandler>) -> (sys::offkv_recipe_cb, *mut c_void) {
    match handler {
        Some(h) => (Some(recipe_trampoline), Handler::user(h)),
        None => (None, ptr::null_mut()),
    }
}

fn payload_args(payload: &[u8]) -> (*const c_void, usize) {
    (payload.as_ptr() as *const c_void, payload.len())
}

fn wait_result(code: c_int, key: &str) -> Result<bool> {
    match check(code, Some(key)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind == ErrorKind::Timeout => Ok(false),
        Err(e) => Err(e),
    }
}

macro_rules! recipe_handle {
    ($name:ident, $raw:ty) => {
        // SAFETY: the C API says recipe handles may be used from many threads; the
        // free function, their last call, is only made from Drop (`&mut self`). The
        // closure state is Send (FnMut + Send behind a Mutex).
        unsafe impl Send for $name {}
        // SAFETY: see above.
        unsafe impl Sync for $name {}

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("key", &self.key)
                    .field("callback", &self.handler.is_some())
                    .finish()
            }
        }

        impl $name {
            fn ptr(&self) -> *mut $raw {
                self.raw.as_ptr()
            }

            /// The group (or lock) key of this handle.
            pub fn key(&self) -> &str {
                &self.key
            }
        }
    };
}

// ---------------------------------------------------------------- Election

/// A contender in a leader election under a group key: see
/// [`Client::contend`]. Dropping it withdraws.
///
/// ```
/// use std::time::Duration;
/// let client = offkv::Client::open("mem://doc-election", &offkv::Options::new())?;
/// let first = client.contend("/service/leader", b"host-a:80")?;
/// let second = client.contend("/service/leader", b"host-b:80")?;
/// assert!(first.wait_leader(true, Some(Duration::from_secs(5)))?);
/// assert!(!second.is_leader()?);
/// drop(first); // withdraws: the second takes over
/// assert!(second.wait_leader(true, Some(Duration::from_secs(5)))?);
/// # Ok::<(), offkv::Error>(())
/// ```
pub struct Election {
    raw: NonNull<sys::offkv_election>,
    key: String,
    label: Option<String>,
    handler: Option<RecipeHandler>,
}
recipe_handle!(Election, sys::offkv_election);

impl Election {
    /// The member label (Mesos' layout), or `None` for offkv's own member names.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// True if this contender leads right now.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-is-leader", &offkv::Options::new())?;
    /// let e = client.contend("/g", b"")?;
    /// e.wait_leader(true, None)?;
    /// assert!(e.is_leader()?);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn is_leader(&self) -> Result<bool> {
        let mut leader: c_int = 0;
        // SAFETY: live handle (freed in Drop); `leader` is a valid out-parameter.
        let code = unsafe { sys::offkv_election_is_leader(self.ptr(), &mut leader) };
        check(code, Some(&self.key))?;
        Ok(leader != 0)
    }

    /// Waits up to `timeout` (`None`: forever) until [`is_leader`](Self::is_leader)
    /// would give `leader`. `Ok(false)` on timeout; [`ErrorKind::Closed`] when waiting
    /// for leadership of a withdrawn election or a closed client.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = offkv::Client::open("mem://doc-wait-leader", &offkv::Options::new())?;
    /// let a = client.contend("/g", b"")?;
    /// let b = client.contend("/g", b"")?;
    /// assert!(a.wait_leader(true, Some(Duration::from_secs(5)))?);
    /// assert!(!b.wait_leader(true, Some(Duration::from_millis(50)))?);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn wait_leader(&self, leader: bool, timeout: Option<Duration>) -> Result<bool> {
        // SAFETY: live handle.
        let code =
            unsafe { sys::offkv_election_wait(self.ptr(), leader as c_int, millis(timeout)) };
        wait_result(code, &self.key)
    }

    /// This contender's member node, or `None` while it has none (session lost,
    /// being re-created, withdrawn).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-member", &offkv::Options::new())?;
    /// let e = client.contend("/g", b"me")?;
    /// assert_eq!(e.member()?.unwrap().payload, b"me");
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn member(&self) -> Result<Option<Member>> {
        // SAFETY: live handle; `m` is a valid out-parameter (freed by member_call).
        member_call(&self.key, |m| unsafe {
            sys::offkv_election_member(self.ptr(), m)
        })
    }

    /// Leaves the election: if leader, `NotLeader` is delivered first, then the member
    /// node is erased. No callback after it returns. Twice is fine.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-withdraw", &offkv::Options::new())?;
    /// let e = client.contend("/g", b"")?;
    /// e.withdraw()?;
    /// assert!(!e.is_leader()?);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn withdraw(&self) -> Result<()> {
        // SAFETY: live handle.
        check(
            unsafe { sys::offkv_election_withdraw(self.ptr()) },
            Some(&self.key),
        )
    }
}

impl Drop for Election {
    fn drop(&mut self) {
        // SAFETY: last use of a live handle; after it returns no callback runs (one
        // running further up this stack holds its own reference to the state).
        unsafe { sys::offkv_election_free(self.ptr()) };
        self.handler.take();
    }
}

// ---------------------------------------------------------------- Detector

/// Follows a group's leader without contending: see [`Client::detector`].
///
/// ```
/// use std::time::Duration;
/// let client = offkv::Client::open("mem://doc-detector", &offkv::Options::new())?;
/// let detector = client.detector("/service/leader")?;
/// let _e = client.contend("/service/leader", b"host-a:80")?;
/// let leader = detector.wait(None, Some(Duration::from_secs(5)))?.unwrap();
/// assert_eq!(leader.payload, b"host-a:80");
/// # Ok::<(), offkv::Error>(())
/// ```
pub struct Detector {
    raw: NonNull<sys::offkv_detector>,
    key: String,
    label: Option<String>,
    handler: Option<RecipeHandler>,
}
recipe_handle!(Detector, sys::offkv_detector);

impl Detector {
    /// The member label (Mesos' layout), or `None` for offkv's own member names.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The current leader, or `None` if there is none (or none known yet).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-detector-leader", &offkv::Options::new())?;
    /// let detector = client.detector("/g")?;
    /// assert!(detector.leader()?.is_none());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn leader(&self) -> Result<Option<Member>> {
        // SAFETY: live handle; `m` is a valid out-parameter.
        member_call(&self.key, |m| unsafe {
            sys::offkv_detector_leader(self.ptr(), m)
        })
    }

    /// Waits up to `timeout` (`None`: forever) until the leader's key differs from
    /// `previous_key` (`None`: no leader), then returns the leader (`None`: the change
    /// was to "no leader"). [`ErrorKind::Timeout`] if nothing changed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = offkv::Client::open("mem://doc-detector-wait", &offkv::Options::new())?;
    /// let detector = client.detector("/g")?;
    /// let err = detector.wait(None, Some(Duration::from_millis(20))).unwrap_err();
    /// assert_eq!(err.kind, offkv::ErrorKind::Timeout);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn wait(
        &self,
        previous_key: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Option<Member>> {
        let previous = previous_key.map(c_string).transpose()?;
        let previous_ptr: *const c_char = previous.as_ref().map_or(ptr::null(), |p| p.as_ptr());
        member_call(&self.key, |m| {
            // SAFETY: live handle; `previous_ptr` is NULL or a C string alive for the
            // call; `m` is a valid out-parameter.
            unsafe { sys::offkv_detector_wait(self.ptr(), previous_ptr, millis(timeout), m) }
        })
    }

    /// Stops detecting; no callback after it returns. Twice is fine.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-detector-close", &offkv::Options::new())?;
    /// let detector = client.detector("/g")?;
    /// detector.close()?;
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn close(&self) -> Result<()> {
        // SAFETY: live handle.
        check(
            unsafe { sys::offkv_detector_close(self.ptr()) },
            Some(&self.key),
        )
    }
}

impl Drop for Detector {
    fn drop(&mut self) {
        // SAFETY: last use of a live handle; see Election's Drop.
        unsafe { sys::offkv_detector_free(self.ptr()) };
        self.handler.take();
    }
}

// ---------------------------------------------------------------- Group

/// A handle on a membership group: join it (at most once per handle) and/or observe
/// it. See [`Client::group`]. Dropping it leaves and stops observing.
///
/// ```
/// let client = offkv::Client::open("mem://doc-group", &offkv::Options::new())?;
/// let a = client.group("/workers")?;
/// let b = client.group("/workers")?;
/// a.join(b"a:1")?;
/// b.join(b"b:1")?;
/// let payloads: Vec<_> = a.members()?.into_iter().map(|m| m.payload).collect();
/// assert_eq!(payloads, [b"a:1".to_vec(), b"b:1".to_vec()]);
/// # Ok::<(), offkv::Error>(())
/// ```
pub struct Group {
    raw: NonNull<sys::offkv_group>,
    key: String,
    label: Option<String>,
    handler: Option<RecipeHandler>,
}
recipe_handle!(Group, sys::offkv_group);

impl Group {
    /// The member label (Mesos' layout), or `None` for offkv's own member names.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Joins with `payload`; the membership lives as long as the session (and is
    /// re-created after a lost one). [`ErrorKind::Invalid`] if already a member.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-join", &offkv::Options::new())?;
    /// let g = client.group("/g")?;
    /// g.join(b"me")?;
    /// assert_eq!(g.join(b"again").unwrap_err().kind, offkv::ErrorKind::Invalid);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn join(&self, payload: &[u8]) -> Result<()> {
        let (p, n) = payload_args(payload);
        // SAFETY: live handle; payload valid for the call (copied).
        check(
            unsafe { sys::offkv_group_join(self.ptr(), p, n) },
            Some(&self.key),
        )
    }

    /// Replaces this handle's payload. [`ErrorKind::Invalid`] if not joined.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-update", &offkv::Options::new())?;
    /// let g = client.group("/g")?;
    /// g.join(b"v1")?;
    /// g.update(b"v2")?;
    /// assert_eq!(g.self_member()?.unwrap().payload, b"v2");
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn update(&self, payload: &[u8]) -> Result<()> {
        let (p, n) = payload_args(payload);
        // SAFETY: live handle; payload valid for the call (copied).
        check(
            unsafe { sys::offkv_group_update(self.ptr(), p, n) },
            Some(&self.key),
        )
    }

    /// Leaves the group. [`ErrorKind::Invalid`] if not joined.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-leave", &offkv::Options::new())?;
    /// let g = client.group("/g")?;
    /// g.join(b"")?;
    /// g.leave()?;
    /// assert!(g.members()?.is_empty());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn leave(&self) -> Result<()> {
        // SAFETY: live handle.
        check(
            unsafe { sys::offkv_group_leave(self.ptr()) },
            Some(&self.key),
        )
    }

    /// This handle's own member node, or `None` if it has none right now.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-self", &offkv::Options::new())?;
    /// let g = client.group("/g")?;
    /// assert!(g.self_member()?.is_none());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn self_member(&self) -> Result<Option<Member>> {
        // SAFETY: live handle; `m` is a valid out-parameter.
        member_call(&self.key, |m| unsafe {
            sys::offkv_group_self(self.ptr(), m)
        })
    }

    /// Reads the membership now, by sequence (a group that does not exist has none).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-members", &offkv::Options::new())?;
    /// assert!(client.group("/nobody")?.members()?.is_empty());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn members(&self) -> Result<Vec<Member>> {
        let mut members = sys::offkv_members {
            size: std::mem::size_of::<sys::offkv_members>(),
            items: ptr::null_mut(),
            count: 0,
        };
        // SAFETY: live handle; `members` is a valid out-parameter, freed below.
        let code = unsafe { sys::offkv_group_members(self.ptr(), &mut members) };
        let list = if members.items.is_null() {
            Vec::new()
        } else {
            // SAFETY: `items` holds `count` pointers to members until freed below.
            unsafe { std::slice::from_raw_parts(members.items, members.count) }
                .iter()
                // SAFETY: each pointer is a live member until freed below.
                .map(|&m| Member::from_raw(unsafe { &*m }))
                .collect()
        };
        // SAFETY: filled by the library (or zeroed); freed once.
        unsafe { sys::offkv_members_free(&mut members) };
        check(code, Some(&self.key))?;
        Ok(list)
    }

    /// Leaves (if joined) and stops observing; no callback after it returns. Twice is
    /// fine.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-group-close", &offkv::Options::new())?;
    /// let g = client.group("/g")?;
    /// g.close()?;
    /// g.close()?;
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn close(&self) -> Result<()> {
        // SAFETY: live handle.
        check(
            unsafe { sys::offkv_group_close(self.ptr()) },
            Some(&self.key),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: last use of a live handle; see Election's Drop.
        unsafe { sys::offkv_group_free(self.ptr()) };
        self.handler.take();
    }
}

// ---------------------------------------------------------------- Lock

/// A mutual-exclusion lock named by a key: see [`Client::lock`]. Not reentrant; two
/// handles (even of one client) exclude each other. [`acquire`](Lock::acquire)
/// returns a [`LockGuard`] that releases the lock when dropped.
///
/// ```
/// use std::time::Duration;
/// let client = offkv::Client::open("mem://doc-lock", &offkv::Options::new())?;
/// let a = client.lock("/locks/db")?;
/// let b = client.lock("/locks/db")?;
/// let guard = a.acquire(None)?;
/// assert!(b.try_acquire()?.is_none());
/// drop(guard);
/// assert!(b.acquire(Some(Duration::from_secs(5)))?.is_some());
/// # Ok::<(), offkv::Error>(())
/// ```
pub struct Lock {
    raw: NonNull<sys::offkv_lock>,
    key: String,
    handler: Option<RecipeHandler>,
}
recipe_handle!(Lock, sys::offkv_lock);

/// Holds a [`Lock`]; releases it when dropped (or with [`release`](Self::release)).
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
    released: bool,
}

impl Lock {
    /// Waits up to `timeout` (`None`: forever; zero: try once) for the lock.
    /// `Ok(None)` if it was not acquired in time; [`ErrorKind::Session`] /
    /// [`ErrorKind::Closed`] if the session ended meanwhile; [`ErrorKind::Invalid`] if
    /// this handle already holds it.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-acquire", &offkv::Options::new())?;
    /// let lock = client.lock("/l")?;
    /// let guard = lock.acquire(None)?.expect("no timeout");
    /// assert!(lock.is_held()?);
    /// guard.release()?;
    /// assert!(!lock.is_held()?);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn acquire(&self, timeout: Option<Duration>) -> Result<Option<LockGuard<'_>>> {
        // SAFETY: live handle.
        let code = unsafe { sys::offkv_lock_acquire(self.ptr(), millis(timeout)) };
        Ok(wait_result(code, &self.key)?.then_some(LockGuard {
            lock: self,
            released: false,
        }))
    }

    /// Tries once, without waiting (`acquire(Some(Duration::ZERO))`).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-try", &offkv::Options::new())?;
    /// let lock = client.lock("/l")?;
    /// assert!(lock.try_acquire()?.is_some());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Result<Option<LockGuard<'_>>> {
        self.acquire(Some(Duration::ZERO))
    }

    /// True if this handle holds the lock and its session is connected (a local
    /// belief: fence writes with [`member`](Self::member)).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-held", &offkv::Options::new())?;
    /// assert!(!client.lock("/l")?.is_held()?);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn is_held(&self) -> Result<bool> {
        let mut held: c_int = 0;
        // SAFETY: live handle; `held` is a valid out-parameter.
        check(
            unsafe { sys::offkv_lock_is_held(self.ptr(), &mut held) },
            Some(&self.key),
        )?;
        Ok(held != 0)
    }

    /// The holder's member node (a fencing token), or `None` if not held.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-lock-member", &offkv::Options::new())?;
    /// let lock = client.lock("/l")?;
    /// let _guard = lock.acquire(None)?;
    /// assert!(lock.member()?.unwrap().key.starts_with("/l/member-"));
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn member(&self) -> Result<Option<Member>> {
        // SAFETY: live handle; `m` is a valid out-parameter.
        member_call(&self.key, |m| unsafe {
            sys::offkv_lock_member(self.ptr(), m)
        })
    }

    fn release_raw(&self) -> Result<()> {
        // SAFETY: live handle.
        check(
            unsafe { sys::offkv_lock_release(self.ptr()) },
            Some(&self.key),
        )
    }
}

impl LockGuard<'_> {
    /// Releases the lock now. [`ErrorKind::Session`] if it had already been lost
    /// (session ended or node erased): the critical section was not protected.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-release", &offkv::Options::new())?;
    /// let lock = client.lock("/l")?;
    /// lock.acquire(None)?.unwrap().release()?;
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        self.lock.release_raw()
    }

    /// The lock this guard holds.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-guard-lock", &offkv::Options::new())?;
    /// let lock = client.lock("/l")?;
    /// let guard = lock.acquire(None)?.unwrap();
    /// assert_eq!(guard.lock().key(), "/l");
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn lock(&self) -> &Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if !self.released {
            // A lost lock cannot be reported from drop; use `release` to see it.
            let _ = self.lock.release_raw();
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: last use of a live handle (a LockGuard borrows the Lock, so none is
        // left); it releases the lock if held.
        unsafe { sys::offkv_lock_free(self.ptr()) };
        self.handler.take();
    }
}

// ---------------------------------------------------------------- constructors

impl Client {
    fn recipe_handler(&self, callback: impl FnMut(RecipeEvent) + Send + 'static) -> RecipeHandler {
        Handler::new(self.id(), Box::new(callback))
    }

    fn contend_impl(
        &self,
        group: &str,
        label: Option<&CStr>,
        payload: &[u8],
        handler: Option<RecipeHandler>,
    ) -> Result<Election> {
        let c_group = c_string(group)?;
        let (cb, user) = recipe_args(&handler);
        let (p, n) = payload_args(payload);
        let mut raw: *mut sys::offkv_election = ptr::null_mut();
        // SAFETY: live client; group, label and payload valid for the call (copied);
        // `user` points to the handler the Election keeps until offkv_election_free.
        let code = unsafe {
            sys::offkv_election_contend_labeled(
                self.raw(),
                c_group.as_ptr(),
                label_ptr(label),
                p,
                n,
                cb,
                user,
                &mut raw,
            )
        };
        check(code, Some(group))?;
        Ok(Election {
            raw: non_null(raw)?,
            key: group.to_owned(),
            label: label_string(label),
            handler,
        })
    }

    /// Joins the leader election of `group` with `payload` (e.g. `"host:port"`);
    /// returns at once, leadership is decided in the background. After a lost
    /// session it re-contends by itself; drop or [`withdraw`](Election::withdraw) to
    /// stop.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-contend", &offkv::Options::new())?;
    /// let election = client.contend("/svc", b"me:80")?;
    /// assert!(election.wait_leader(true, None)?);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn contend(&self, group: &str, payload: &[u8]) -> Result<Election> {
        self.contend_impl(group, None, payload, None)
    }

    /// [`contend`](Client::contend), calling `callback` with `Leader` when this
    /// contender becomes leader and `NotLeader` when it stops (strictly alternating,
    /// `Leader` first).
    ///
    /// ```
    /// use std::sync::mpsc::channel;
    /// let client = offkv::Client::open("mem://doc-contend-with", &offkv::Options::new())?;
    /// let (tx, rx) = channel();
    /// let _e = client.contend_with("/svc", b"me:80", move |e| { let _ = tx.send(e.kind); })?;
    /// assert_eq!(rx.recv().unwrap(), offkv::RecipeEventKind::Leader);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn contend_with(
        &self,
        group: &str,
        payload: &[u8],
        callback: impl FnMut(RecipeEvent) + Send + 'static,
    ) -> Result<Election> {
        self.contend_impl(group, None, payload, Some(self.recipe_handler(callback)))
    }

    fn detector_impl(
        &self,
        group: &str,
        label: Option<&CStr>,
        handler: Option<RecipeHandler>,
    ) -> Result<Detector> {
        let c_group = c_string(group)?;
        let (cb, user) = recipe_args(&handler);
        let mut raw: *mut sys::offkv_detector = ptr::null_mut();
        // SAFETY: as in contend_impl.
        let code = unsafe {
            sys::offkv_detector_open_labeled(
                self.raw(),
                c_group.as_ptr(),
                label_ptr(label),
                cb,
                user,
                &mut raw,
            )
        };
        check(code, Some(group))?;
        Ok(Detector {
            raw: non_null(raw)?,
            key: group.to_owned(),
            label: label_string(label),
            handler,
        })
    }

    /// Follows the leader of `group` (the member with the lowest sequence) without
    /// contending. The group need not exist yet.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-detector-open", &offkv::Options::new())?;
    /// let detector = client.detector("/svc")?;
    /// # drop(detector);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn detector(&self, group: &str) -> Result<Detector> {
        self.detector_impl(group, None, None)
    }

    /// [`detector`](Client::detector), calling `callback` with `Detected` for the first
    /// view and on every change (new leader, changed payload, no leader).
    ///
    /// ```
    /// use std::sync::mpsc::channel;
    /// let client = offkv::Client::open("mem://doc-detector-with", &offkv::Options::new())?;
    /// let (tx, rx) = channel();
    /// let _d = client.detector_with("/svc", move |e| { let _ = tx.send(e.member); })?;
    /// assert_eq!(rx.recv().unwrap(), None); // first view: no leader
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn detector_with(
        &self,
        group: &str,
        callback: impl FnMut(RecipeEvent) + Send + 'static,
    ) -> Result<Detector> {
        self.detector_impl(group, None, Some(self.recipe_handler(callback)))
    }

    fn group_impl(
        &self,
        group: &str,
        label: Option<&CStr>,
        handler: Option<RecipeHandler>,
    ) -> Result<Group> {
        let c_group = c_string(group)?;
        let (cb, user) = recipe_args(&handler);
        let mut raw: *mut sys::offkv_group = ptr::null_mut();
        // SAFETY: as in contend_impl.
        let code = unsafe {
            sys::offkv_group_open_labeled(
                self.raw(),
                c_group.as_ptr(),
                label_ptr(label),
                cb,
                user,
                &mut raw,
            )
        };
        check(code, Some(group))?;
        Ok(Group {
            raw: non_null(raw)?,
            key: group.to_owned(),
            label: label_string(label),
            handler,
        })
    }

    /// A handle on the membership group `group` (which need not exist).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-group-open", &offkv::Options::new())?;
    /// let group = client.group("/workers")?;
    /// group.join(b"w1")?;
    /// assert_eq!(group.members()?.len(), 1);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn group(&self, group: &str) -> Result<Group> {
        self.group_impl(group, None, None)
    }

    /// [`group`](Client::group), calling `callback` with `Members` (the whole
    /// membership) first and after every change.
    ///
    /// ```
    /// use std::sync::mpsc::channel;
    /// let client = offkv::Client::open("mem://doc-group-with", &offkv::Options::new())?;
    /// let (tx, rx) = channel();
    /// let _g = client.group_with("/workers", move |e| { let _ = tx.send(e.members.len()); })?;
    /// assert_eq!(rx.recv().unwrap(), 0);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn group_with(
        &self,
        group: &str,
        callback: impl FnMut(RecipeEvent) + Send + 'static,
    ) -> Result<Group> {
        self.group_impl(group, None, Some(self.recipe_handler(callback)))
    }

    /// A lock named by `key`; no I/O until acquired.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-lock-new", &offkv::Options::new())?;
    /// let lock = client.lock("/locks/a")?;
    /// let _guard = lock.acquire(None)?;
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn lock(&self, key: &str) -> Result<Lock> {
        let c_key = c_string(key)?;
        let mut raw: *mut sys::offkv_lock = ptr::null_mut();
        // SAFETY: live client; key valid for the call; `raw` out-parameter.
        let code = unsafe { sys::offkv_lock_new(self.raw(), c_key.as_ptr(), &mut raw) };
        check(code, Some(key))?;
        Ok(Lock {
            raw: non_null(raw)?,
            key: key.to_owned(),
            handler: None,
        })
    }
}

// ---------------------------------------------------------------- Mesos' layout

/// The member label of a Mesos master's nodes (`json.info_<seq>`, MasterInfo as JSON;
/// `OFFKV_MESOS_MASTER_LABEL`): `client.labeled(MESOS_MASTER_LABEL)` follows or joins
/// a stock Mesos master group.
pub const MESOS_MASTER_LABEL: &str = "json.info";

/// The election, detector and group in Mesos' layout, from [`Client::labeled`]: member
/// nodes are named `<label>_<10 digits>` exactly as a Mesos master's ZooKeeper group
/// names them, and only members with this label take part (`offkv_*_labeled`). The
/// library checks the label on use (non-empty, no `/` or `_`, valid in a key):
/// [`ErrorKind::Invalid`] otherwise.
///
/// ```
/// let client = offkv::Client::open("mem://doc-labeled", &offkv::Options::new())?;
/// let mesos = client.labeled(offkv::MESOS_MASTER_LABEL)?;
/// let election = mesos.contend("/mesos", br#"{"id":"m1"}"#)?;
/// assert!(election.wait_leader(true, None)?);
/// assert!(election.member()?.unwrap().key.starts_with("/mesos/json.info_"));
/// let detector = mesos.detector("/mesos")?;
/// # drop(detector);
/// # Ok::<(), offkv::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Labeled<'a> {
    client: &'a Client,
    label: CString,
}

impl Client {
    /// The recipes of this client in Mesos' layout with member label `label` (see
    /// [`Labeled`]). Fails only for a label with a NUL byte; the library checks the
    /// rest when a recipe is opened.
    pub fn labeled(&self, label: &str) -> Result<Labeled<'_>> {
        Ok(Labeled {
            client: self,
            label: c_string(label)?,
        })
    }
}

impl Labeled<'_> {
    /// The member label.
    pub fn label(&self) -> &str {
        self.label.to_str().unwrap_or_default()
    }

    /// [`Client::contend`] with this label: the member node is `group/<label>_<seq>`.
    pub fn contend(&self, group: &str, payload: &[u8]) -> Result<Election> {
        self.client
            .contend_impl(group, Some(&self.label), payload, None)
    }

    /// [`Client::contend_with`] with this label.
    pub fn contend_with(
        &self,
        group: &str,
        payload: &[u8],
        callback: impl FnMut(RecipeEvent) + Send + 'static,
    ) -> Result<Election> {
        let handler = Some(self.client.recipe_handler(callback));
        self.client
            .contend_impl(group, Some(&self.label), payload, handler)
    }

    /// [`Client::detector`] with this label: the leader is the lowest
    /// `group/<label>_<seq>`.
    pub fn detector(&self, group: &str) -> Result<Detector> {
        self.client.detector_impl(group, Some(&self.label), None)
    }

    /// [`Client::detector_with`] with this label.
    pub fn detector_with(
        &self,
        group: &str,
        callback: impl FnMut(RecipeEvent) + Send + 'static,
    ) -> Result<Detector> {
        let handler = Some(self.client.recipe_handler(callback));
        self.client.detector_impl(group, Some(&self.label), handler)
    }

    /// [`Client::group`] with this label: a join creates `group/<label>_<seq>`, and
    /// only members with this label are listed.
    pub fn group(&self, group: &str) -> Result<Group> {
        self.client.group_impl(group, Some(&self.label), None)
    }

    /// [`Client::group_with`] with this label.
    pub fn group_with(
        &self,
        group: &str,
        callback: impl FnMut(RecipeEvent) + Send + 'static,
    ) -> Result<Group> {
        let handler = Some(self.client.recipe_handler(callback));
        self.client.group_impl(group, Some(&self.label), handler)
    }
}

fn label_ptr(label: Option<&CStr>) -> *const c_char {
    label.map_or(ptr::null(), CStr::as_ptr)
}

fn label_string(label: Option<&CStr>) -> Option<String> {
    label.map(|l| l.to_string_lossy().into_owned())
}

fn non_null<T>(raw: *mut T) -> Result<NonNull<T>> {
    NonNull::new(raw).ok_or_else(|| Error::new(ErrorKind::Internal, None, "OK without a handle"))
}
