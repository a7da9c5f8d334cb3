//! The one place where C calls into Rust: the trampolines given to the C API as
//! callbacks, and the shared state they dispatch to.
//!
//! Each callback state is an `Arc<Handler<E>>`. The handle that registered it (a
//! watch, a recipe handle, the client for its session callback) owns one strong
//! reference and hands the C library only the `Arc`'s address; it drops its
//! reference after the C free function returned, when the library guarantees no
//! callback is running or will run. The trampoline holds a reference of its own for
//! the length of each call, so a callback that frees its own handle does not free
//! the state it is running on. So each state is freed exactly once, by `Arc`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use offkv_sys as sys;

use crate::event::Event;
use crate::recipes::RecipeEvent;

static LIVE_STATES: AtomicUsize = AtomicUsize::new(0);
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// How many callback states (watch, session and recipe callbacks) are alive in this
/// process. Each is freed exactly once, when its handle is dropped; this count lets
/// tests check that nothing leaks.
///
/// ```
/// let before = offkv::live_callback_states();
/// let client = offkv::Client::open("mem://doc-live", &offkv::Options::new())?;
/// let watch = client.exists_watch_with("/k", |_event| {})?.1;
/// assert!(offkv::live_callback_states() >= before + 1);
/// drop(watch);
/// drop(client);
/// # Ok::<(), offkv::Error>(())
/// ```
pub fn live_callback_states() -> usize {
    LIVE_STATES.load(Ordering::SeqCst)
}

/// How many panics were caught at the C boundary: a panicking callback is stopped
/// there (it never unwinds into the library) and counted here.
///
/// ```
/// let _ = offkv::callback_panics(); // 0 unless a callback panicked
/// ```
pub fn callback_panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// Counts a panic stopped at the C boundary by another trampoline (the log one).
pub(crate) fn count_panic() {
    PANICS.fetch_add(1, Ordering::SeqCst);
}

/// Identifies a client for [`in_callback_of`].
pub(crate) type ClientId = usize;

static NEXT_CLIENT: AtomicUsize = AtomicUsize::new(1);

/// A fresh client id.
pub(crate) fn next_client_id() -> ClientId {
    NEXT_CLIENT.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    /// The clients whose callbacks are running on this thread (nested calls included).
    static RUNNING: RefCell<Vec<ClientId>> = const { RefCell::new(Vec::new()) };
}

/// True if this thread is running a callback of that client right now (so it is
/// that client's event thread, where `offkv_client_free` must not be called).
pub(crate) fn in_callback_of(client: ClientId) -> bool {
    RUNNING.with(|r| r.borrow().contains(&client))
}

type Boxed<E> = Box<dyn FnMut(E) + Send + 'static>;

/// A user callback plus what is needed to call it safely from the event thread.
pub(crate) struct Handler<E> {
    client: ClientId,
    callback: Mutex<Boxed<E>>,
    /// Events that arrived while the callback was running (nested delivery, e.g. an
    /// election's NOT_LEADER delivered from inside its own callback's withdraw).
    pending: Mutex<VecDeque<E>>,
}

impl<E> Handler<E> {
    pub(crate) fn new(client: ClientId, callback: Boxed<E>) -> Arc<Handler<E>> {
        LIVE_STATES.fetch_add(1, Ordering::SeqCst);
        Arc::new(Handler {
            client,
            callback: Mutex::new(callback),
            pending: Mutex::new(VecDeque::new()),
        })
    }

    /// The `user` pointer for the C API. The caller keeps the `Arc` alive until the
    /// C library can no longer call back with it.
    pub(crate) fn user(this: &Arc<Handler<E>>) -> *mut c_void {
        Arc::as_ptr(this) as *mut c_void
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<E>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the callback with `event`, or queues it for the invocation already
    /// running (a nested delivery); never blocks, never unwinds.
    fn dispatch(&self, event: E) {
        self.queue().push_back(event);
        loop {
            let mut callback = match self.callback.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                // Running further up this stack: it drains the queue when it returns.
                Err(TryLockError::WouldBlock) => return,
            };
            loop {
                let next = self.queue().pop_front();
                let Some(event) = next else { break };
                if catch_unwind(AssertUnwindSafe(|| (callback)(event))).is_err() {
                    PANICS.fetch_add(1, Ordering::SeqCst);
                }
            }
            drop(callback);
            if self.queue().is_empty() {
                return;
            }
        }
    }
}

impl<E> Drop for Handler<E> {
    fn drop(&mut self) {
        LIVE_STATES.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `f` with a reference of its own to the handler behind `user`, marking this
/// thread as running a callback of the handler's client. Nothing unwinds out.
fn enter<E>(user: *mut c_void, f: impl FnOnce(&Handler<E>)) {
    if user.is_null() {
        return;
    }
    let handler = user as *const Handler<E>;
    // SAFETY: `user` is `Arc::as_ptr` of a live `Arc<Handler<E>>` (Handler::user):
    // its owner keeps a strong reference until the C library has promised not to
    // call back any more (the C free/close function returned), so the count is at
    // least one here; we add our own for the length of this call.
    let handler: Arc<Handler<E>> = unsafe {
        Arc::increment_strong_count(handler);
        Arc::from_raw(handler)
    };
    RUNNING.with(|r| r.borrow_mut().push(handler.client));
    if catch_unwind(AssertUnwindSafe(|| f(&handler))).is_err() {
        PANICS.fetch_add(1, Ordering::SeqCst);
    }
    RUNNING.with(|r| {
        r.borrow_mut().pop();
    });
    // Dropping `handler` here may free the state if its owner let go meanwhile.
    drop(handler);
}

/// Runs `f` marked as a callback of `client` on this thread (see [`in_callback_of`]),
/// stopping any panic at the C boundary. For the async completion trampoline.
pub(crate) fn run_as_callback_of(client: ClientId, f: impl FnOnce()) {
    RUNNING.with(|r| r.borrow_mut().push(client));
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        PANICS.fetch_add(1, Ordering::SeqCst);
    }
    RUNNING.with(|r| {
        r.borrow_mut().pop();
    });
}

/// The `offkv_event_cb` given to the C API for watches and session events. Called
/// only by the library, with `user` from `Handler::user`; nothing unwinds out.
pub(crate) extern "C" fn event_trampoline(event: *const sys::offkv_event, user: *mut c_void) {
    enter::<Event>(user, |handler| {
        // SAFETY: the library passes an event valid for the length of this call (or
        // NULL, which `as_ref` turns into None); it is copied before we return.
        if let Some(event) = unsafe { event.as_ref() } {
            handler.dispatch(Event::from_raw(event));
        }
    });
}

/// The `offkv_recipe_cb` given to the C API for elections, detectors and groups.
/// Called only by the library, with `user` from `Handler::user`.
pub(crate) extern "C" fn recipe_trampoline(
    event: *const sys::offkv_recipe_event,
    user: *mut c_void,
) {
    enter::<RecipeEvent>(user, |handler| {
        // SAFETY: the library passes an event (and members) valid for the length of
        // this call (or NULL); it is copied before we return.
        if let Some(event) = unsafe { event.as_ref() } {
            handler.dispatch(RecipeEvent::from_raw(event));
        }
    });
}
