//! The client: opening, closing, the node operations and watches.

use std::collections::BTreeMap;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{self, NonNull};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use offkv_sys as sys;

use crate::callback::{event_trampoline, in_callback_of, next_client_id, ClientId, Handler};
use crate::error::{check, Error, ErrorKind, Result};
use crate::event::{Event, SessionState};
use crate::options::Options;
use crate::util::{
    c_string, copy_str, empty_buf, empty_strings, take_buf, take_string, take_strings,
};
use crate::watch::Watch;

/// How [`Client::create`] creates a node (`OFFKV_EPHEMERAL`, `OFFKV_SEQUENTIAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CreateMode {
    /// A plain node that lives until erased.
    #[default]
    Persistent,
    /// Lives as long as the client's session; cannot have children.
    Ephemeral,
    /// The key gets a 10-digit suffix from a counter per parent.
    Sequential,
    /// Both ephemeral and sequential.
    EphemeralSequential,
}

impl CreateMode {
    pub(crate) fn flags(self) -> c_int {
        let flags = match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => sys::OFFKV_EPHEMERAL,
            CreateMode::Sequential => sys::OFFKV_SEQUENTIAL,
            CreateMode::EphemeralSequential => sys::OFFKV_EPHEMERAL | sys::OFFKV_SEQUENTIAL,
        };
        flags as c_int
    }
}

/// Fans session events out to the user's callback and to every subscriber.
struct SessionFanout {
    callback: Option<crate::options::SessionCallback>,
    subscribers: Arc<Mutex<Vec<Sender<Event>>>>,
}

impl SessionFanout {
    fn deliver(&mut self, event: Event) {
        if let Some(cb) = &self.callback {
            let mut cb = cb.lock().unwrap_or_else(|e| e.into_inner());
            (cb)(event.clone());
        }
        let mut subs = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| s.send(event.clone()).is_ok());
    }
}

/// A connection to one store: `mem://`, `zk://`, `etcd://` or `consul://`.
///
/// A client may be shared between threads (`Client: Send + Sync`, e.g. in an
/// `Arc`). Dropping it closes it (its session ends: ephemeral nodes vanish and
/// watches get `Ended`) and frees it. Watches and recipe handles may outlive it.
///
/// ```
/// use offkv::{Client, CreateMode, Options};
/// let client = Client::open("mem://doc-client", &Options::new())?;
/// client.create("/jobs", b"", CreateMode::Persistent)?;
/// let job = client.create("/jobs/job-", b"payload", CreateMode::Sequential)?;
/// assert_eq!(job, "/jobs/job-0000000000");
/// assert_eq!(client.children("/jobs")?, vec![job.clone()]);
/// let (value, version) = client.get(&job)?;
/// assert_eq!((value.as_slice(), version), (&b"payload"[..], 1));
/// # Ok::<(), offkv::Error>(())
/// ```
pub struct Client {
    raw: NonNull<sys::offkv_client>,
    /// The session callback's state; dropped after `offkv_client_free` returned.
    session: Arc<Handler<Event>>,
    /// Tells this client's callbacks apart (see `in_callback_of`).
    id: ClientId,
    subscribers: Arc<Mutex<Vec<Sender<Event>>>>,
    url: String,
}

// SAFETY: the C API says a client handle may be used from many threads at once;
// offkv_client_free, its last call, is only made from Drop (`&mut self`). The
// session state is Send + Sync (closures behind mutexes).
unsafe impl Send for Client {}
// SAFETY: see above; every `&self` method is a C call documented as thread-safe.
unsafe impl Sync for Client {}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("url", &self.url).finish()
    }
}

/// A raw client pointer moved to the thread that frees it.
struct FreeLater(NonNull<sys::offkv_client>, Arc<Handler<Event>>);
// SAFETY: a client handle may be freed from any thread.
unsafe impl Send for FreeLater {}

impl FreeLater {
    fn free(self) {
        // SAFETY: the handle is live and this is its last use (the Client that owned
        // it is gone). offkv_client_free closes, waits for queued callbacks (we are
        // not on the event thread), then frees; after that the session state may go.
        unsafe { sys::offkv_client_free(self.0.as_ptr()) };
        drop(self.1);
    }
}

impl Client {
    /// Opens a client. `url` is one of `mem://NAME[/prefix]`,
    /// `zk://host:port[,host:port…][/prefix]`, `etcd://…`, `etcds://…`,
    /// `consul://host:port[/prefix]`, `consuls://…`, optionally with
    /// `?name=value&…` options that override `options`.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-open/app", &offkv::Options::new())?;
    /// let err = offkv::Client::open("nope://x", &offkv::Options::new()).unwrap_err();
    /// assert_eq!(err.kind, offkv::ErrorKind::Invalid);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn open(url: &str, options: &Options) -> Result<Client> {
        let c_url = c_string(url)?;
        let (mut raw_options, _strings) = options.to_raw()?;
        let subscribers = Arc::new(Mutex::new(Vec::new()));
        let mut fanout = SessionFanout {
            callback: options.session_callback.clone(),
            subscribers: Arc::clone(&subscribers),
        };
        let id = next_client_id();
        let handler = Handler::new(id, Box::new(move |e: Event| fanout.deliver(e)));
        raw_options.session_callback = Some(event_trampoline);
        raw_options.session_user = Handler::user(&handler);
        let mut client: *mut sys::offkv_client = ptr::null_mut();
        // SAFETY: the URL and option strings are valid C strings alive for the call
        // (the library copies them); the session `user` pointer stays valid until
        // the client is freed (Drop) or, on failure, the library keeps nothing.
        let code = unsafe { sys::offkv_open(c_url.as_ptr(), &raw_options, &mut client) };
        check(code, Some(url))?;
        Ok(Client {
            raw: NonNull::new(client).expect("offkv_open returned OK without a client"),
            session: handler,
            id,
            subscribers,
            url: url.to_owned(),
        })
    }

    fn ptr(&self) -> *mut sys::offkv_client {
        self.raw.as_ptr()
    }

    pub(crate) fn id(&self) -> ClientId {
        self.id
    }

    /// Ends the session at once: ephemeral nodes vanish, every watch gets `Ended`,
    /// the session callback gets `Closed`; later calls fail with
    /// [`ErrorKind::Closed`]. Closing twice is fine. Dropping the client closes it too.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-close", &offkv::Options::new())?;
    /// client.close()?;
    /// assert_eq!(client.get("/k").unwrap_err().kind, offkv::ErrorKind::Closed);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn close(&self) -> Result<()> {
        // SAFETY: `raw` is a live client (freed only in Drop).
        check(unsafe { sys::offkv_close(self.ptr()) }, None)
    }

    /// The current session state.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-session", &offkv::Options::new())?;
    /// assert_eq!(client.session_state()?, offkv::SessionState::Connected);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn session_state(&self) -> Result<SessionState> {
        let mut state: c_int = 0;
        // SAFETY: live client; `state` is a valid out-parameter.
        check(
            unsafe { sys::offkv_get_session_state(self.ptr(), &mut state) },
            None,
        )?;
        SessionState::from_raw(state)
            .ok_or_else(|| Error::new(ErrorKind::Internal, None, "session state 0"))
    }

    /// A channel of every session event from now on (kind
    /// [`EventKind::Session`](crate::EventKind::Session)), ending after the client is
    /// dropped. Events are sent even if nobody reads them; drop the receiver to stop.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-session-events", &offkv::Options::new())?;
    /// let events = client.session_events();
    /// drop(client); // closes: the last event is Closed, then the channel ends
    /// let states: Vec<_> = events.iter().filter_map(|e| e.session_state).collect();
    /// assert_eq!(states.last(), Some(&offkv::SessionState::Closed));
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn session_events(&self) -> Receiver<Event> {
        let (tx, rx) = channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    /// The client's counters since it was opened (`offkv_get_stats`): `ops.get`,
    /// `errors.ENOENT`, `retries`, `reconnects`, `session.CONNECTED`,
    /// `watches.armed`, `watches.fired`, … (docs/c-api.md, "Logs and counters"; more
    /// names may be added). A snapshot; readable after [`close`](Client::close) too.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-stats", &offkv::Options::new())?;
    /// assert!(client.get("/missing").is_err());
    /// let stats = client.stats()?;
    /// assert_eq!((stats["ops.get"], stats["errors.ENOENT"]), (1, 1));
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn stats(&self) -> Result<BTreeMap<String, u64>> {
        let mut stats = sys::offkv_stats {
            size: std::mem::size_of::<sys::offkv_stats>(),
            items: ptr::null_mut(),
            count: 0,
        };
        // SAFETY: live client (freed only in Drop); `stats` is a valid out-parameter,
        // freed below.
        check(
            unsafe { sys::offkv_get_stats(self.ptr(), &mut stats) },
            None,
        )?;
        let out = if stats.items.is_null() {
            BTreeMap::new()
        } else {
            // SAFETY: a non-NULL array from the library holds `count` pointers to
            // counters, valid until freed below.
            unsafe { std::slice::from_raw_parts(stats.items, stats.count) }
                .iter()
                .map(|&s| {
                    // SAFETY: each pointer is a live counter of the library.
                    let s = unsafe { &*s };
                    (copy_str(s.name), s.value)
                })
                .collect()
        };
        // SAFETY: filled by the library; freed once.
        unsafe { sys::offkv_stats_free(&mut stats) };
        Ok(out)
    }

    /// Test kit (`offkv_testkit_end_watches`): ends every watch of this client with
    /// an `Ended` event whose [`error`](crate::Event::error) is `error` (e.g.
    /// [`ErrorKind::Auth`]), while the session stays as it is, as a store that
    /// cancels watches does; for an application's tests of re-arming its watches.
    /// The recipes re-run their step.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = offkv::Client::open("mem://doc-testkit", &offkv::Options::new())?;
    /// let (_, watch) = client.exists_watch("/k")?;
    /// client.testkit_end_watches(offkv::ErrorKind::Auth)?;
    /// let event = watch.wait(Some(Duration::from_secs(5)))?;
    /// assert_eq!((event.kind, event.error), (offkv::EventKind::Ended, Some(offkv::ErrorKind::Auth)));
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn testkit_end_watches(&self, error: ErrorKind) -> Result<()> {
        // SAFETY: live client.
        check(
            unsafe { sys::offkv_testkit_end_watches(self.ptr(), error.code() as c_int) },
            None,
        )
    }

    /// Test kit (`offkv_testkit_suspend`): cuts this client's connection, as a
    /// network failure would; returns once the session is
    /// [`Suspended`](SessionState::Suspended). Then operations wait up to the
    /// operation timeout and fail with [`ErrorKind::ConnLoss`] (nothing sent),
    /// watches stay armed, an elected leader gets `NotLeader`
    /// ([`ErrorKind::ConnLoss`]), and once the session timeout has passed the
    /// session is [`Lost`](SessionState::Lost) (ephemerals gone, watches ended).
    /// On mem:// and, through a client-side hook, on every server backend.
    ///
    /// ```
    /// use std::time::Duration;
    /// let opts = offkv::Options::new().operation_timeout(Duration::from_millis(200));
    /// let client = offkv::Client::open("mem://doc-testkit-suspend", &opts)?;
    /// client.testkit_suspend()?;
    /// assert_eq!(client.session_state()?, offkv::SessionState::Suspended);
    /// assert_eq!(client.get("/k").unwrap_err().kind, offkv::ErrorKind::ConnLoss);
    /// client.testkit_resume()?;
    /// assert_eq!(client.session_state()?, offkv::SessionState::Connected);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn testkit_suspend(&self) -> Result<()> {
        // SAFETY: live client.
        check(unsafe { sys::offkv_testkit_suspend(self.ptr()) }, None)
    }

    /// Test kit (`offkv_testkit_resume`): gives the connection back; returns once
    /// [`Connected`](SessionState::Connected): the same session (watch events missed
    /// meanwhile are delivered), or a new one after `Lost` if the session expired
    /// meanwhile. Nothing to do if the client was not cut.
    pub fn testkit_resume(&self) -> Result<()> {
        // SAFETY: live client.
        check(unsafe { sys::offkv_testkit_resume(self.ptr()) }, None)
    }

    /// Test kit (`offkv_testkit_expire`), as Curator's `KillSession`: expires this
    /// client's session at the store; when it returns its ephemeral nodes are gone for
    /// every client. A connected client then goes `Lost` (watches end with
    /// [`ErrorKind::Session`], a leader gets `NotLeader`) and `Connected` in a new
    /// session before this returns; a suspended one hears `Lost` when resumed.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-testkit-expire", &offkv::Options::new())?;
    /// let other = offkv::Client::open("mem://doc-testkit-expire", &offkv::Options::new())?;
    /// client.create("/worker", b"", offkv::CreateMode::Ephemeral)?;
    /// client.testkit_expire()?;
    /// assert_eq!(other.exists("/worker")?, 0);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn testkit_expire(&self) -> Result<()> {
        // SAFETY: live client.
        check(unsafe { sys::offkv_testkit_expire(self.ptr()) }, None)
    }

    /// Creates `key` with `value`. Fails with [`ErrorKind::Exists`] if it exists and
    /// [`ErrorKind::NoEntry`] if its parent does not. Returns the actual key (with
    /// the suffix, for sequential modes).
    ///
    /// ```
    /// use offkv::CreateMode;
    /// let client = offkv::Client::open("mem://doc-create", &offkv::Options::new())?;
    /// assert_eq!(client.create("/a", b"x", CreateMode::Persistent)?, "/a");
    /// let err = client.create("/a", b"x", CreateMode::Persistent).unwrap_err();
    /// assert_eq!(err.kind, offkv::ErrorKind::Exists);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn create(&self, key: &str, value: &[u8], mode: CreateMode) -> Result<String> {
        let c_key = c_string(key)?;
        let mut created: *mut c_char = ptr::null_mut();
        // SAFETY: live client; key and value are valid for the call (copied by the
        // library); `created` is a valid out-parameter we free below.
        let code = unsafe {
            sys::offkv_create(
                self.ptr(),
                c_key.as_ptr(),
                value.as_ptr() as *const c_void,
                value.len(),
                mode.flags(),
                &mut created,
            )
        };
        check(code, Some(key))?;
        Ok(take_string(created).unwrap_or_else(|| key.to_owned()))
    }

    /// Creates `key` or replaces its value; returns the new version. Setting an
    /// ephemeral node keeps it ephemeral.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-set", &offkv::Options::new())?;
    /// assert_eq!(client.set("/k", b"1")?, 1);
    /// assert_eq!(client.set("/k", b"2")?, 2);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn set(&self, key: &str, value: &[u8]) -> Result<i64> {
        let c_key = c_string(key)?;
        let mut version = 0i64;
        // SAFETY: live client; key/value valid for the call; `version` out-parameter.
        let code = unsafe {
            sys::offkv_set(
                self.ptr(),
                c_key.as_ptr(),
                value.as_ptr() as *const c_void,
                value.len(),
                &mut version,
            )
        };
        check(code, Some(key))?;
        Ok(version)
    }

    /// Compare-and-set: `expected` 0 creates only if absent; otherwise replaces only
    /// at that version ([`ErrorKind::Version`] if not). Returns the new version.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-cas", &offkv::Options::new())?;
    /// assert_eq!(client.cas("/k", b"a", 0)?, 1);
    /// assert_eq!(client.cas("/k", b"b", 1)?, 2);
    /// assert_eq!(client.cas("/k", b"c", 1).unwrap_err().kind, offkv::ErrorKind::Version);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn cas(&self, key: &str, value: &[u8], expected: i64) -> Result<i64> {
        let c_key = c_string(key)?;
        let mut version = 0i64;
        // SAFETY: live client; key/value valid for the call; `version` out-parameter.
        let code = unsafe {
            sys::offkv_cas(
                self.ptr(),
                c_key.as_ptr(),
                value.as_ptr() as *const c_void,
                value.len(),
                expected,
                &mut version,
            )
        };
        check(code, Some(key))?;
        Ok(version)
    }

    /// Reads a node: its value and version ([`ErrorKind::NoEntry`] if absent).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-get", &offkv::Options::new())?;
    /// client.set("/bin", b"\0\xff")?;
    /// assert_eq!(client.get("/bin")?, (b"\0\xff".to_vec(), 1));
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn get(&self, key: &str) -> Result<(Vec<u8>, i64)> {
        let c_key = c_string(key)?;
        let mut value = empty_buf();
        let mut version = 0i64;
        // SAFETY: live client; key valid for the call; `value` and `version` are
        // valid out-parameters; `value` is freed by take_buf.
        let code = unsafe { sys::offkv_get(self.ptr(), c_key.as_ptr(), &mut value, &mut version) };
        let value = take_buf(value);
        check(code, Some(key))?;
        Ok((value, version))
    }

    /// The node's version, or 0 if it does not exist (not an error).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-exists", &offkv::Options::new())?;
    /// assert_eq!(client.exists("/k")?, 0);
    /// client.set("/k", b"")?;
    /// assert_eq!(client.exists("/k")?, 1);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn exists(&self, key: &str) -> Result<i64> {
        let c_key = c_string(key)?;
        let mut version = 0i64;
        // SAFETY: live client; key valid for the call; `version` out-parameter.
        let code = unsafe { sys::offkv_exists(self.ptr(), c_key.as_ptr(), &mut version) };
        check(code, Some(key))?;
        Ok(version)
    }

    /// The direct children of `key` (`"/"` for the root) as full keys, sorted
    /// bytewise.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-children", &offkv::Options::new())?;
    /// client.set("/b", b"")?;
    /// client.set("/a", b"")?;
    /// assert_eq!(client.children("/")?, ["/a", "/b"]);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn children(&self, key: &str) -> Result<Vec<String>> {
        let c_key = c_string(key)?;
        let mut children = empty_strings();
        // SAFETY: live client; key valid; `children` out-parameter freed by
        // take_strings.
        let code = unsafe { sys::offkv_children(self.ptr(), c_key.as_ptr(), &mut children) };
        let children = take_strings(children);
        check(code, Some(key))?;
        Ok(children)
    }

    /// Erases `key` and its whole subtree, atomically. `expected` 0 erases whatever
    /// the version; otherwise only at that version ([`ErrorKind::Version`]).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-erase", &offkv::Options::new())?;
    /// client.set("/a", b"")?;
    /// client.set("/a/b", b"")?;
    /// client.erase("/a", 0)?;
    /// assert_eq!(client.exists("/a/b")?, 0);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn erase(&self, key: &str, expected: i64) -> Result<()> {
        let c_key = c_string(key)?;
        // SAFETY: live client; key valid for the call.
        let code = unsafe { sys::offkv_erase(self.ptr(), c_key.as_ptr(), expected) };
        check(code, Some(key))
    }

    fn handler(&self, callback: impl FnMut(Event) + Send + 'static) -> Arc<Handler<Event>> {
        Handler::new(self.id(), Box::new(callback))
    }

    fn get_watch_impl(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> Result<(Vec<u8>, i64, Watch)> {
        let c_key = c_string(key)?;
        let (cb, user) = callback_args(&handler);
        let mut value = empty_buf();
        let mut version = 0i64;
        let mut watch: *mut sys::offkv_watch = ptr::null_mut();
        // SAFETY: live client; key valid; out-parameters valid; `user` points to the
        // handler, which the returned Watch keeps alive until offkv_watch_free (on
        // failure no watch is left and nothing calls back).
        let code = unsafe {
            sys::offkv_get_watch(
                self.ptr(),
                c_key.as_ptr(),
                &mut value,
                &mut version,
                cb,
                user,
                &mut watch,
            )
        };
        let value = take_buf(value);
        check(code, Some(key))?;
        Ok((value, version, Watch::new(watch, false, key, handler)))
    }

    /// Reads `key` (which must exist) and leaves a one-shot watch, atomically: it
    /// fires once, `Changed` or `Deleted` (or `Ended`), for the first change after
    /// this read.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-get-watch", &offkv::Options::new())?;
    /// client.set("/k", b"v")?;
    /// let (_value, _version, watch) = client.get_watch("/k")?;
    /// client.erase("/k", 0)?;
    /// assert_eq!(watch.recv()?.kind, offkv::EventKind::Deleted);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn get_watch(&self, key: &str) -> Result<(Vec<u8>, i64, Watch)> {
        self.get_watch_impl(key, None)
    }

    /// [`get_watch`](Client::get_watch) that also calls `callback` with the event,
    /// on the client's event thread. The closure is dropped when the [`Watch`] is.
    ///
    /// ```
    /// use std::sync::mpsc::channel;
    /// let client = offkv::Client::open("mem://doc-get-watch-with", &offkv::Options::new())?;
    /// client.set("/k", b"v")?;
    /// let (tx, rx) = channel();
    /// let (_, _, _watch) = client.get_watch_with("/k", move |e| tx.send(e.kind).unwrap())?;
    /// client.set("/k", b"w")?;
    /// assert_eq!(rx.recv().unwrap(), offkv::EventKind::Changed);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn get_watch_with(
        &self,
        key: &str,
        callback: impl FnMut(Event) + Send + 'static,
    ) -> Result<(Vec<u8>, i64, Watch)> {
        self.get_watch_impl(key, Some(self.handler(callback)))
    }

    fn exists_watch_impl(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> Result<(i64, Watch)> {
        let c_key = c_string(key)?;
        let (cb, user) = callback_args(&handler);
        let mut version = 0i64;
        let mut watch: *mut sys::offkv_watch = ptr::null_mut();
        // SAFETY: as in get_watch_impl.
        let code = unsafe {
            sys::offkv_exists_watch(
                self.ptr(),
                c_key.as_ptr(),
                &mut version,
                cb,
                user,
                &mut watch,
            )
        };
        check(code, Some(key))?;
        Ok((version, Watch::new(watch, false, key, handler)))
    }

    /// Reads the version of `key` (0: absent) and leaves a one-shot watch: `Created`
    /// if it was absent, `Changed` or `Deleted` if present (or `Ended`).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-exists-watch", &offkv::Options::new())?;
    /// let (version, watch) = client.exists_watch("/k")?;
    /// assert_eq!(version, 0);
    /// client.set("/k", b"")?;
    /// assert_eq!(watch.recv()?.kind, offkv::EventKind::Created);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn exists_watch(&self, key: &str) -> Result<(i64, Watch)> {
        self.exists_watch_impl(key, None)
    }

    /// [`exists_watch`](Client::exists_watch) that also calls `callback`.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-exists-watch-with", &offkv::Options::new())?;
    /// let (_, watch) = client.exists_watch_with("/k", |e| println!("{e:?}"))?;
    /// # drop(watch);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn exists_watch_with(
        &self,
        key: &str,
        callback: impl FnMut(Event) + Send + 'static,
    ) -> Result<(i64, Watch)> {
        self.exists_watch_impl(key, Some(self.handler(callback)))
    }

    fn children_watch_impl(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> Result<(Vec<String>, Watch)> {
        let c_key = c_string(key)?;
        let (cb, user) = callback_args(&handler);
        let mut children = empty_strings();
        let mut watch: *mut sys::offkv_watch = ptr::null_mut();
        // SAFETY: as in get_watch_impl; `children` is freed by take_strings.
        let code = unsafe {
            sys::offkv_children_watch(
                self.ptr(),
                c_key.as_ptr(),
                &mut children,
                cb,
                user,
                &mut watch,
            )
        };
        let children = take_strings(children);
        check(code, Some(key))?;
        Ok((children, Watch::new(watch, false, key, handler)))
    }

    /// Lists the children of `key` (which must exist; `"/"` is the root) and leaves a
    /// one-shot watch: `Children` when a direct child is added or removed, or
    /// `Deleted` (or `Ended`).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-children-watch", &offkv::Options::new())?;
    /// let (children, watch) = client.children_watch("/")?;
    /// assert!(children.is_empty());
    /// client.set("/x", b"")?;
    /// assert_eq!(watch.recv()?.kind, offkv::EventKind::Children);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn children_watch(&self, key: &str) -> Result<(Vec<String>, Watch)> {
        self.children_watch_impl(key, None)
    }

    /// [`children_watch`](Client::children_watch) that also calls `callback`.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-children-watch-with", &offkv::Options::new())?;
    /// let (_, watch) = client.children_watch_with("/", |e| println!("{e:?}"))?;
    /// # drop(watch);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn children_watch_with(
        &self,
        key: &str,
        callback: impl FnMut(Event) + Send + 'static,
    ) -> Result<(Vec<String>, Watch)> {
        self.children_watch_impl(key, Some(self.handler(callback)))
    }

    fn watch_persistent_impl(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> Result<Watch> {
        let c_key = c_string(key)?;
        let (cb, user) = callback_args(&handler);
        let mut watch: *mut sys::offkv_watch = ptr::null_mut();
        // SAFETY: as in get_watch_impl.
        let code = unsafe {
            sys::offkv_watch_persistent(self.ptr(), c_key.as_ptr(), cb, user, &mut watch)
        };
        check(code, Some(key))?;
        Ok(Watch::new(watch, true, key, handler))
    }

    /// A persistent, recursive watch on `key` and everything below it (`key` need not
    /// exist; `"/"` is everything): `Created` / `Changed` / `Deleted` per change, in
    /// order, until dropped or cancelled; `Ended` when the session ends. Events queue
    /// for [`Watch::wait`] / [`Watch::iter`].
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-persistent", &offkv::Options::new())?;
    /// let watch = client.watch_persistent("/app")?;
    /// client.set("/app", b"")?;
    /// client.set("/app/x", b"")?;
    /// let keys: Vec<_> = watch.iter().take(2).map(|e| e.key.unwrap()).collect();
    /// assert_eq!(keys, ["/app", "/app/x"]);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn watch_persistent(&self, key: &str) -> Result<Watch> {
        self.watch_persistent_impl(key, None)
    }

    /// [`watch_persistent`](Client::watch_persistent) with every event going to
    /// `callback` instead of the queue.
    ///
    /// ```
    /// use std::sync::mpsc::channel;
    /// let client = offkv::Client::open("mem://doc-persistent-with", &offkv::Options::new())?;
    /// let (tx, rx) = channel();
    /// let _watch = client.watch_persistent_with("/", move |e| { let _ = tx.send(e); })?;
    /// client.set("/k", b"")?;
    /// assert_eq!(rx.recv().unwrap().kind, offkv::EventKind::Created);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn watch_persistent_with(
        &self,
        key: &str,
        callback: impl FnMut(Event) + Send + 'static,
    ) -> Result<Watch> {
        self.watch_persistent_impl(key, Some(self.handler(callback)))
    }

    /// The raw handle, for the recipe constructors.
    pub(crate) fn raw(&self) -> *mut sys::offkv_client {
        self.ptr()
    }
}

/// The C callback and user pointer for an optional handler.
fn callback_args(handler: &Option<Arc<Handler<Event>>>) -> (sys::offkv_event_cb, *mut c_void) {
    match handler {
        Some(h) => (Some(event_trampoline), Handler::user(h)),
        None => (None, ptr::null_mut()),
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let free = FreeLater(self.raw, Arc::clone(&self.session));
        if in_callback_of(self.id()) {
            // offkv_client_free must not run on the client's own event thread: close
            // here (returns at once) and free from another thread, which waits for
            // the callbacks still queued, this one included.
            // SAFETY: live client; offkv_close may be called from its callbacks.
            unsafe { sys::offkv_close(self.raw.as_ptr()) };
            std::thread::spawn(move || free.free());
        } else {
            free.free();
        }
    }
}
