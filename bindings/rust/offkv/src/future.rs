//! Asynchronous calls: the `*_async` methods of [`Client`], on the C API's
//! `offkv_<op>_async` functions, returning runtime-agnostic futures.
//!
//! Each call has one shared state, an `Arc<Call<T>>`. The future owns one strong
//! reference; the C library is handed another (`Arc::into_raw`) as the completion's
//! `user` pointer. The library calls the completion exactly once when the C call
//! returned `OFFKV_OK` (and never when it returned an error), so the trampoline takes
//! that reference back exactly once: the state is freed once, by whichever of the
//! future and the completion lets go last. The trampoline converts the completion
//! into the Rust result while the borrowed C data is valid, stores it and wakes the
//! task that last polled the future.

use std::future::Future;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use offkv_sys as sys;

use crate::callback::{event_trampoline, run_as_callback_of, ClientId, Handler};
use crate::client::{Client, CreateMode};
use crate::error::{kind_of, Error, ErrorKind, Result};
use crate::event::Event;
use crate::util::{c_string, copy_opt_str, copy_str};
use crate::watch::Watch;

static LIVE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// How many asynchronous call states are alive in this process: one per `*_async`
/// call whose future or completion still exists. Each is freed exactly once, when
/// both the future was dropped (or never existed) and the completion has run; this
/// count lets tests check that nothing leaks.
///
/// ```
/// use futures::executor::block_on;
/// let client = offkv::Client::open("mem://doc-live-async", &offkv::Options::new())?;
/// let before = offkv::live_async_states();
/// let pending = client.set_async("/k", b"v");
/// assert!(offkv::live_async_states() >= before + 1);
/// assert_eq!(block_on(pending)?, 1);
/// # Ok::<(), offkv::Error>(())
/// ```
pub fn live_async_states() -> usize {
    LIVE_CALLS.load(Ordering::SeqCst)
}

pub(crate) type Convert<T> = Box<dyn FnOnce(&sys::offkv_completion) -> Result<T> + Send + 'static>;

/// The state shared by a future and its completion.
struct Call<T> {
    client: ClientId,
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    /// Turns the completion into the result; taken by the completion.
    convert: Option<Convert<T>>,
    /// Set by the completion, taken by the future.
    result: Option<Result<T>>,
    /// The task to wake when the result is set.
    waker: Option<Waker>,
}

impl<T> Call<T> {
    fn new(client: ClientId, convert: Convert<T>) -> Arc<Call<T>> {
        LIVE_CALLS.fetch_add(1, Ordering::SeqCst);
        Arc::new(Call {
            client,
            inner: Mutex::new(Inner {
                convert: Some(convert),
                result: None,
                waker: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> Drop for Call<T> {
    fn drop(&mut self) {
        LIVE_CALLS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The `offkv_completion_cb` of every asynchronous call. Called by the library
/// exactly once per call that returned `OFFKV_OK`, with `user` from
/// `Arc::into_raw` in [`start`]; nothing unwinds out.
extern "C" fn complete<T: Send + 'static>(
    completion: *const sys::offkv_completion,
    user: *mut c_void,
) {
    if user.is_null() {
        return;
    }
    // SAFETY: `user` is the `Arc::into_raw` reference made in `start` for this call,
    // which the library hands back exactly once (it returned OFFKV_OK, so it calls
    // the completion exactly once). Taking it back here releases it exactly once.
    let call: Arc<Call<T>> = unsafe { Arc::from_raw(user as *const Call<T>) };
    let client = call.client;
    run_as_callback_of(client, move || {
        let convert = call.lock().convert.take();
        // SAFETY: the library passes a completion valid for the length of this call
        // (or NULL, which `as_ref` turns into None); `convert` copies what it needs.
        let raw = unsafe { completion.as_ref() };
        let result = match (convert, raw) {
            (Some(convert), Some(raw)) => catch_unwind(AssertUnwindSafe(|| convert(raw)))
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Internal,
                        None,
                        "panic while reading the completion",
                    ))
                }),
            _ => Err(Error::new(
                ErrorKind::Internal,
                None,
                "the library completed a call without a completion",
            )),
        };
        let waker = {
            let mut inner = call.lock();
            inner.result = Some(result);
            inner.waker.take()
        };
        // Let go before waking, so that the woken task usually finds itself the last
        // owner. If the future is gone, this frees the state (and an unclaimed
        // result, e.g. a Watch, which is cancelled and freed here).
        drop(call);
        if let Some(waker) = waker {
            waker.wake();
        }
    });
}

/// Starts an asynchronous call: `call_c` makes the C call with the completion and
/// its `user` pointer and returns its code. An error returned at once (the library
/// will not call back) resolves the future to that error.
pub(crate) fn start<T: Send + 'static>(
    client: &Client,
    key: Option<&str>,
    convert: Convert<T>,
    call_c: impl FnOnce(sys::offkv_completion_cb, *mut c_void) -> c_int,
) -> AsyncCall<T> {
    let call = Call::new(client.id(), convert);
    let user = Arc::into_raw(Arc::clone(&call)) as *mut c_void;
    let code = call_c(Some(complete::<T>), user);
    if code != 0 {
        let error = Error::last(code, key);
        // SAFETY: the C call failed, so the library never calls the completion and
        // keeps nothing: the reference handed to it in `user` is ours to release,
        // exactly once, here.
        drop(unsafe { Arc::from_raw(user as *const Call<T>) });
        return AsyncCall::ready(Err(error));
    }
    AsyncCall {
        state: State::Pending(call),
    }
}

/// The error of a failed completion: its code, the call's key, its message.
fn completion_error(raw: &sys::offkv_completion, key: Option<&str>) -> Error {
    Error::new(kind_of(raw.error), key, copy_str(raw.message))
}

/// `Ok(())` if the completion succeeded, else its error.
pub(crate) fn completion_check(raw: &sys::offkv_completion, key: Option<&str>) -> Result<()> {
    if raw.error == 0 {
        Ok(())
    } else {
        Err(completion_error(raw, key))
    }
}

/// The future of an asynchronous call (`Client::*_async`). The call is started
/// when the method is called, not when the future is first polled: calls on related
/// keys take effect and complete in the order the methods were called, whoever
/// polls them. It resolves to what the synchronous method returns.
///
/// It works with any executor: the completion (on the client's event thread) stores
/// the result and wakes the task that last polled it. It holds no reference to the
/// client, so it may outlive it: closing or dropping the client completes every call
/// in flight, with [`ErrorKind::Closed`] for those that had not finished. Dropping
/// the future before it completes is fine: the call still runs to its end, and its
/// result is dropped (a [`Watch`] in it is cancelled and freed).
///
/// ```
/// use futures::executor::block_on;
/// let client = offkv::Client::open("mem://doc-async-call", &offkv::Options::new())?;
/// let a = client.set_async("/a", b"1"); // both calls are in flight now
/// let b = client.set_async("/a", b"2");
/// assert_eq!(block_on(b)?, 2); // same key: completes after a
/// assert_eq!(block_on(a)?, 1);
/// # Ok::<(), offkv::Error>(())
/// ```
#[must_use = "the call runs anyway; the future is how its result is seen"]
pub struct AsyncCall<T> {
    state: State<T>,
}

enum State<T> {
    /// The C call is in flight.
    Pending(Arc<Call<T>>),
    /// Failed at once, before anything was sent.
    Ready(Option<Result<T>>),
}

impl<T> AsyncCall<T> {
    pub(crate) fn ready(result: Result<T>) -> AsyncCall<T> {
        AsyncCall {
            state: State::Ready(Some(result)),
        }
    }

    /// True once the outcome is known (polling would return `Ready`), or after the
    /// future returned it.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-is-done", &offkv::Options::new())?;
    /// let bad = client.get_async("no-slash");
    /// assert!(bad.is_done()); // an invalid key fails at once
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn is_done(&self) -> bool {
        match &self.state {
            State::Ready(_) => true,
            State::Pending(call) => call.lock().result.is_some(),
        }
    }
}

// The result is never pinned: it is only moved out, whole, once ready.
impl<T> Unpin for AsyncCall<T> {}

impl<T> Future for AsyncCall<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        let call = match &mut this.state {
            State::Ready(result) => {
                return Poll::Ready(result.take().unwrap_or_else(|| {
                    Err(Error::new(
                        ErrorKind::Invalid,
                        None,
                        "AsyncCall polled after it returned its result",
                    ))
                }));
            }
            State::Pending(call) => Arc::clone(call),
        };
        let mut inner = call.lock();
        if let Some(result) = inner.result.take() {
            drop(inner);
            this.state = State::Ready(None);
            return Poll::Ready(result);
        }
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> std::fmt::Debug for AsyncCall<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncCall")
            .field("done", &self.is_done())
            .finish()
    }
}

/// The C watch callback and user pointer for an optional closure state.
fn watch_args(handler: &Option<Arc<Handler<Event>>>) -> (sys::offkv_event_cb, *mut c_void) {
    match handler {
        Some(h) => (Some(event_trampoline), Handler::user(h)),
        None => (None, std::ptr::null_mut()),
    }
}

/// The watch a successful watch-arming completion hands over.
fn take_watch(
    raw: &sys::offkv_completion,
    key: &str,
    handler: Option<Arc<Handler<Event>>>,
) -> Result<Watch> {
    if raw.watch.is_null() {
        return Err(Error::new(
            ErrorKind::Internal,
            Some(key),
            "the library completed a watch-arming read without the watch",
        ));
    }
    Ok(Watch::new(raw.watch, false, key, handler))
}

/// Copies the completion's value bytes.
fn completion_value(raw: &sys::offkv_completion) -> Vec<u8> {
    if raw.value.is_null() || raw.value_len == 0 {
        return Vec::new();
    }
    // SAFETY: a non-NULL value in a completion holds `value_len` bytes, valid for the
    // length of the completion callback we are in; copied at once.
    unsafe { std::slice::from_raw_parts(raw.value as *const u8, raw.value_len) }.to_vec()
}

/// Copies the completion's children.
fn completion_children(raw: &sys::offkv_completion) -> Vec<String> {
    if raw.children.is_null() {
        return Vec::new();
    }
    // SAFETY: a non-NULL children array holds `child_count` C strings, valid for the
    // length of the completion callback we are in; copied at once.
    unsafe { std::slice::from_raw_parts(raw.children, raw.child_count) }
        .iter()
        .map(|&s| copy_str(s))
        .collect()
}

/// A key as a C string, or the future of its error.
macro_rules! c_key_or_fail {
    ($key:expr) => {
        match c_string($key) {
            Ok(k) => k,
            Err(e) => return AsyncCall::ready(Err(e)),
        }
    };
}

impl Client {
    /// [`create`](Client::create), asynchronously: resolves to the actual key.
    ///
    /// The call starts now; the future only reports its outcome (see
    /// [`AsyncCall`]). Errors found without I/O (an invalid key, a value above
    /// [`MAX_VALUE_SIZE`](crate::MAX_VALUE_SIZE), a closed client) make the future
    /// resolve to them at once.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use offkv::CreateMode;
    /// let client = offkv::Client::open("mem://doc-create-async", &offkv::Options::new())?;
    /// block_on(async {
    ///     client.create_async("/jobs", b"", CreateMode::Persistent).await?;
    ///     let job = client.create_async("/jobs/j-", b"x", CreateMode::Sequential).await?;
    ///     assert_eq!(job, "/jobs/j-0000000000");
    ///     let err = client.create_async("/jobs", b"", CreateMode::Persistent).await;
    ///     assert_eq!(err.unwrap_err().kind, offkv::ErrorKind::Exists);
    ///     Ok::<(), offkv::Error>(())
    /// })?;
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn create_async(&self, key: &str, value: &[u8], mode: CreateMode) -> AsyncCall<String> {
        let c_key = c_key_or_fail!(key);
        let owned = key.to_owned();
        let convert: Convert<String> = Box::new(move |raw| {
            completion_check(raw, Some(&owned))?;
            Ok(copy_opt_str(raw.key).unwrap_or(owned))
        });
        start(self, Some(key), convert, |done, user| {
            // SAFETY: live client; key and value valid for the call (copied by the
            // library before it returns); `user` stays valid until `done` runs.
            unsafe {
                sys::offkv_create_async(
                    self.raw(),
                    c_key.as_ptr(),
                    value.as_ptr() as *const c_void,
                    value.len(),
                    mode.flags(),
                    done,
                    user,
                )
            }
        })
    }

    /// [`set`](Client::set), asynchronously: resolves to the new version.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-set-async", &offkv::Options::new())?;
    /// assert_eq!(block_on(client.set_async("/k", b"1"))?, 1);
    /// assert_eq!(block_on(client.set_async("/k", b"2"))?, 2);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn set_async(&self, key: &str, value: &[u8]) -> AsyncCall<i64> {
        let c_key = c_key_or_fail!(key);
        let owned = key.to_owned();
        let convert: Convert<i64> = Box::new(move |raw| {
            completion_check(raw, Some(&owned))?;
            Ok(raw.version)
        });
        start(self, Some(key), convert, |done, user| {
            // SAFETY: as in create_async.
            unsafe {
                sys::offkv_set_async(
                    self.raw(),
                    c_key.as_ptr(),
                    value.as_ptr() as *const c_void,
                    value.len(),
                    done,
                    user,
                )
            }
        })
    }

    /// [`cas`](Client::cas), asynchronously: resolves to the new version
    /// ([`ErrorKind::Version`] if `expected` does not match).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-cas-async", &offkv::Options::new())?;
    /// assert_eq!(block_on(client.cas_async("/k", b"a", 0))?, 1);
    /// let err = block_on(client.cas_async("/k", b"b", 7)).unwrap_err();
    /// assert_eq!(err.kind, offkv::ErrorKind::Version);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn cas_async(&self, key: &str, value: &[u8], expected: i64) -> AsyncCall<i64> {
        let c_key = c_key_or_fail!(key);
        let owned = key.to_owned();
        let convert: Convert<i64> = Box::new(move |raw| {
            completion_check(raw, Some(&owned))?;
            Ok(raw.version)
        });
        start(self, Some(key), convert, |done, user| {
            // SAFETY: as in create_async.
            unsafe {
                sys::offkv_cas_async(
                    self.raw(),
                    c_key.as_ptr(),
                    value.as_ptr() as *const c_void,
                    value.len(),
                    expected,
                    done,
                    user,
                )
            }
        })
    }

    /// [`get`](Client::get), asynchronously: resolves to the value and version.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-get-async", &offkv::Options::new())?;
    /// client.set("/bin", b"\0\xff")?;
    /// assert_eq!(block_on(client.get_async("/bin"))?, (b"\0\xff".to_vec(), 1));
    /// let err = block_on(client.get_async("/missing")).unwrap_err();
    /// assert_eq!(err.kind, offkv::ErrorKind::NoEntry);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn get_async(&self, key: &str) -> AsyncCall<(Vec<u8>, i64)> {
        let c_key = c_key_or_fail!(key);
        let owned = key.to_owned();
        let convert: Convert<(Vec<u8>, i64)> = Box::new(move |raw| {
            completion_check(raw, Some(&owned))?;
            Ok((completion_value(raw), raw.version))
        });
        start(self, Some(key), convert, |done, user| {
            // SAFETY: live client; key valid for the call (copied); `user` stays
            // valid until `done` runs.
            unsafe { sys::offkv_get_async(self.raw(), c_key.as_ptr(), done, user) }
        })
    }

    /// [`exists`](Client::exists), asynchronously: resolves to the version, 0 if
    /// absent.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-exists-async", &offkv::Options::new())?;
    /// assert_eq!(block_on(client.exists_async("/k"))?, 0);
    /// client.set("/k", b"")?;
    /// assert_eq!(block_on(client.exists_async("/k"))?, 1);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn exists_async(&self, key: &str) -> AsyncCall<i64> {
        let c_key = c_key_or_fail!(key);
        let owned = key.to_owned();
        let convert: Convert<i64> = Box::new(move |raw| {
            completion_check(raw, Some(&owned))?;
            Ok(raw.version)
        });
        start(self, Some(key), convert, |done, user| {
            // SAFETY: as in get_async.
            unsafe { sys::offkv_exists_async(self.raw(), c_key.as_ptr(), done, user) }
        })
    }

    /// [`children`](Client::children), asynchronously: resolves to the sorted full
    /// keys of the direct children.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-children-async", &offkv::Options::new())?;
    /// client.set("/d", b"")?;
    /// client.set("/d/b", b"")?;
    /// client.set("/d/a", b"")?;
    /// assert_eq!(block_on(client.children_async("/d"))?, ["/d/a", "/d/b"]);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn children_async(&self, key: &str) -> AsyncCall<Vec<String>> {
        let c_key = c_key_or_fail!(key);
        let owned = key.to_owned();
        let convert: Convert<Vec<String>> = Box::new(move |raw| {
            completion_check(raw, Some(&owned))?;
            Ok(completion_children(raw))
        });
        start(self, Some(key), convert, |done, user| {
            // SAFETY: as in get_async.
            unsafe { sys::offkv_children_async(self.raw(), c_key.as_ptr(), done, user) }
        })
    }

    /// [`erase`](Client::erase), asynchronously (`expected` 0: any version).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-erase-async", &offkv::Options::new())?;
    /// client.set("/a", b"")?;
    /// client.set("/a/b", b"")?;
    /// block_on(client.erase_async("/a", 0))?;
    /// assert_eq!(client.exists("/a/b")?, 0);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn erase_async(&self, key: &str, expected: i64) -> AsyncCall<()> {
        let c_key = c_key_or_fail!(key);
        let owned = key.to_owned();
        let convert: Convert<()> = Box::new(move |raw| completion_check(raw, Some(&owned)));
        start(self, Some(key), convert, |done, user| {
            // SAFETY: as in get_async.
            unsafe { sys::offkv_erase_async(self.raw(), c_key.as_ptr(), expected, done, user) }
        })
    }

    /// Starts a watch-arming read: `call_c(key, watch_cb, watch_user, done, user)`;
    /// `read` turns a successful completion and its watch into the result.
    fn watch_read_async<T: Send + 'static>(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
        read: impl FnOnce(&sys::offkv_completion, Watch) -> T + Send + 'static,
        call_c: impl FnOnce(
            *const std::os::raw::c_char,
            sys::offkv_event_cb,
            *mut c_void,
            sys::offkv_completion_cb,
            *mut c_void,
        ) -> c_int,
    ) -> AsyncCall<T> {
        let c_key = c_key_or_fail!(key);
        let (watch_cb, watch_user) = watch_args(&handler);
        let owned = key.to_owned();
        // The closure state (if any) is held by the call until the completion hands
        // it to the Watch; the watch may fire before the completion runs, and on a
        // failed read no watch is left, so it is dropped with the call.
        let convert: Convert<T> = Box::new(move |raw| {
            completion_check(raw, Some(&owned))?;
            let watch = take_watch(raw, &owned, handler)?;
            Ok(read(raw, watch))
        });
        start(self, Some(key), convert, |done, user| {
            call_c(c_key.as_ptr(), watch_cb, watch_user, done, user)
        })
    }

    /// [`get_watch`](Client::get_watch), asynchronously: resolves to the value, the
    /// version and the one-shot [`Watch`] (`Changed` or `Deleted`, or `Ended`).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-get-watch-async", &offkv::Options::new())?;
    /// client.set("/k", b"v")?;
    /// let (value, version, watch) = block_on(client.get_watch_async("/k"))?;
    /// assert_eq!((value.as_slice(), version), (&b"v"[..], 1));
    /// client.set("/k", b"w")?;
    /// assert_eq!(watch.recv()?.kind, offkv::EventKind::Changed);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn get_watch_async(&self, key: &str) -> AsyncCall<(Vec<u8>, i64, Watch)> {
        self.get_watch_async_impl(key, None)
    }

    /// [`get_watch_async`](Client::get_watch_async) whose watch also calls
    /// `callback` with its event, on the client's event thread (see
    /// [`get_watch_with`](Client::get_watch_with)).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// use std::sync::mpsc::channel;
    /// let client = offkv::Client::open("mem://doc-get-watch-with-async", &offkv::Options::new())?;
    /// client.set("/k", b"v")?;
    /// let (tx, rx) = channel();
    /// let (_, _, _watch) = block_on(client.get_watch_with_async("/k", move |e| {
    ///     let _ = tx.send(e.kind);
    /// }))?;
    /// client.erase("/k", 0)?;
    /// assert_eq!(rx.recv().unwrap(), offkv::EventKind::Deleted);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn get_watch_with_async(
        &self,
        key: &str,
        callback: impl FnMut(Event) + Send + 'static,
    ) -> AsyncCall<(Vec<u8>, i64, Watch)> {
        let handler = Handler::new(self.id(), Box::new(callback));
        self.get_watch_async_impl(key, Some(handler))
    }

    fn get_watch_async_impl(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> AsyncCall<(Vec<u8>, i64, Watch)> {
        let read = |raw: &sys::offkv_completion, w| (completion_value(raw), raw.version, w);
        self.watch_read_async(key, handler, read, |k, cb, cb_user, done, user| {
            // SAFETY: live client; the key is valid for the call (copied); the watch
            // `user` (if any) is the closure state, kept alive by the call state and
            // then by the Watch until offkv_watch_free; `user` stays valid until
            // `done` runs; keep_handle = 1 hands the watch to the completion.
            unsafe { sys::offkv_get_watch_async(self.raw(), k, cb, cb_user, 1, done, user) }
        })
    }

    /// [`exists_watch`](Client::exists_watch), asynchronously: resolves to the
    /// version (0: absent) and the one-shot [`Watch`] (`Created` if absent,
    /// `Changed` or `Deleted` if present, or `Ended`).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-exists-watch-async", &offkv::Options::new())?;
    /// let (version, watch) = block_on(client.exists_watch_async("/k"))?;
    /// assert_eq!(version, 0);
    /// client.set("/k", b"")?;
    /// assert_eq!(watch.recv()?.kind, offkv::EventKind::Created);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn exists_watch_async(&self, key: &str) -> AsyncCall<(i64, Watch)> {
        self.exists_watch_async_impl(key, None)
    }

    /// [`exists_watch_async`](Client::exists_watch_async) whose watch also calls
    /// `callback`.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-exists-watch-with-async", &offkv::Options::new())?;
    /// let (_, watch) = block_on(client.exists_watch_with_async("/k", |e| println!("{e:?}")))?;
    /// # drop(watch);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn exists_watch_with_async(
        &self,
        key: &str,
        callback: impl FnMut(Event) + Send + 'static,
    ) -> AsyncCall<(i64, Watch)> {
        let handler = Handler::new(self.id(), Box::new(callback));
        self.exists_watch_async_impl(key, Some(handler))
    }

    fn exists_watch_async_impl(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> AsyncCall<(i64, Watch)> {
        let read = |raw: &sys::offkv_completion, w| (raw.version, w);
        self.watch_read_async(key, handler, read, |k, cb, cb_user, done, user| {
            // SAFETY: as in get_watch_async_impl.
            unsafe { sys::offkv_exists_watch_async(self.raw(), k, cb, cb_user, 1, done, user) }
        })
    }

    /// [`children_watch`](Client::children_watch), asynchronously: resolves to the
    /// children and the one-shot [`Watch`] (`Children` or `Deleted`, or `Ended`).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-children-watch-async", &offkv::Options::new())?;
    /// client.set("/d", b"")?;
    /// let (children, watch) = block_on(client.children_watch_async("/d"))?;
    /// assert!(children.is_empty());
    /// client.set("/d/x", b"")?;
    /// assert_eq!(watch.recv()?.kind, offkv::EventKind::Children);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn children_watch_async(&self, key: &str) -> AsyncCall<(Vec<String>, Watch)> {
        self.children_watch_async_impl(key, None)
    }

    /// [`children_watch_async`](Client::children_watch_async) whose watch also calls
    /// `callback`.
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-children-watch-with-async", &offkv::Options::new())?;
    /// client.set("/d", b"")?;
    /// let (_, watch) = block_on(client.children_watch_with_async("/d", |e| println!("{e:?}")))?;
    /// # drop(watch);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn children_watch_with_async(
        &self,
        key: &str,
        callback: impl FnMut(Event) + Send + 'static,
    ) -> AsyncCall<(Vec<String>, Watch)> {
        let handler = Handler::new(self.id(), Box::new(callback));
        self.children_watch_async_impl(key, Some(handler))
    }

    fn children_watch_async_impl(
        &self,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> AsyncCall<(Vec<String>, Watch)> {
        let read = |raw: &sys::offkv_completion, w| (completion_children(raw), w);
        self.watch_read_async(key, handler, read, |k, cb, cb_user, done, user| {
            // SAFETY: as in get_watch_async_impl.
            unsafe { sys::offkv_children_watch_async(self.raw(), k, cb, cb_user, 1, done, user) }
        })
    }
}
