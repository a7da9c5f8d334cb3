//! Watch handles: one-shot and persistent watches, waited on or called back.

use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use offkv_sys as sys;

use crate::callback::Handler;
use crate::error::{check, Result};
use crate::event::{Event, EventKind};
use crate::util::millis;

/// A watch left by [`Client::get_watch`](crate::Client::get_watch),
/// [`exists_watch`](crate::Client::exists_watch),
/// [`children_watch`](crate::Client::children_watch) or
/// [`watch_persistent`](crate::Client::watch_persistent) (and their `_with` forms,
/// which also call a closure).
///
/// Wait for its events with [`wait`](Watch::wait) / [`recv`](Watch::recv) or iterate
/// over them with [`iter`](Watch::iter). Dropping it cancels the watch and frees it
/// (and its closure, if any); after that the closure is never called again. A watch
/// may outlive its client: it then reports its `Ended` event.
///
/// ```
/// use std::time::Duration;
/// let client = offkv::Client::open("mem://doc-watch", &offkv::Options::new())?;
/// client.set("/config", b"v1")?;
/// let (value, version, watch) = client.get_watch("/config")?;
/// assert_eq!((value.as_slice(), version), (&b"v1"[..], 1));
/// client.set("/config", b"v2")?;
/// let event = watch.wait(Some(Duration::from_secs(5)))?;
/// assert_eq!(event.kind, offkv::EventKind::Changed);
/// assert_eq!(event.version, 2);
/// # Ok::<(), offkv::Error>(())
/// ```
pub struct Watch {
    raw: NonNull<sys::offkv_watch>,
    persistent: bool,
    key: String,
    /// The closure's state, if any: dropped after `offkv_watch_free` returned.
    handler: Option<Arc<Handler<Event>>>,
}

// SAFETY: the C API allows every call on a watch handle from any thread, and
// concurrently except offkv_watch_free, which only Drop (with `&mut self`) calls.
// The closure state is Send (FnMut + Send behind a Mutex).
unsafe impl Send for Watch {}
// SAFETY: see above; `&self` methods only call offkv_watch_wait / offkv_watch_cancel,
// which are safe to call concurrently.
unsafe impl Sync for Watch {}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("key", &self.key)
            .field("persistent", &self.persistent)
            .field("callback", &self.handler.is_some())
            .finish()
    }
}

impl Watch {
    pub(crate) fn new(
        raw: *mut sys::offkv_watch,
        persistent: bool,
        key: &str,
        handler: Option<Arc<Handler<Event>>>,
    ) -> Watch {
        Watch {
            raw: NonNull::new(raw).expect("offkv returned OK without a watch handle"),
            persistent,
            key: key.to_owned(),
            handler,
        }
    }

    /// The key this watch was left on.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-watch-key", &offkv::Options::new())?;
    /// let (_, watch) = client.exists_watch("/k")?;
    /// assert_eq!(watch.key(), "/k");
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// True for a persistent watch.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-watch-p", &offkv::Options::new())?;
    /// assert!(client.watch_persistent("/")?.is_persistent());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// Waits up to `timeout` (`None`: forever) for the next event.
    ///
    /// A one-shot watch that has fired returns its event on every call. A persistent
    /// watch without a closure returns its queued events one by one, `Ended` last;
    /// with a closure, events go only to the closure. Errors:
    /// [`ErrorKind::Timeout`] if nothing came, [`ErrorKind::Closed`] once the watch
    /// was cancelled (or a persistent watch has ended).
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = offkv::Client::open("mem://doc-wait", &offkv::Options::new())?;
    /// let (_, watch) = client.exists_watch("/k")?;
    /// let err = watch.wait(Some(Duration::from_millis(10))).unwrap_err();
    /// assert_eq!(err.kind, offkv::ErrorKind::Timeout);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Event> {
        let mut event: *mut sys::offkv_event = std::ptr::null_mut();
        // SAFETY: `raw` is a live watch handle (freed only in Drop); `event` is a
        // valid out-parameter, filled with an event we own on success.
        let code = unsafe { sys::offkv_watch_wait(self.raw.as_ptr(), millis(timeout), &mut event) };
        check(code, Some(&self.key))?;
        Ok(Event::take(event))
    }

    /// Waits for the next event without a time limit (`wait(None)`).
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-recv", &offkv::Options::new())?;
    /// let (_, watch) = client.exists_watch("/k")?;
    /// client.set("/k", b"")?;
    /// assert_eq!(watch.recv()?.kind, offkv::EventKind::Created);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn recv(&self) -> Result<Event> {
        self.wait(None)
    }

    /// The events, as a blocking iterator: a one-shot watch yields its one event; a
    /// persistent watch yields every event until it ends (its `Ended` event is the
    /// last) or is cancelled.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-iter", &offkv::Options::new())?;
    /// let watch = client.watch_persistent("/app")?;
    /// client.set("/app", b"1")?;
    /// client.set("/app", b"2")?;
    /// let kinds: Vec<_> = watch.iter().take(2).map(|e| e.kind).collect();
    /// assert_eq!(kinds, [offkv::EventKind::Created, offkv::EventKind::Changed]);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn iter(&self) -> Events<'_> {
        Events {
            watch: self,
            done: false,
        }
    }

    /// Cancels the watch: after it returns its closure is never called again (if the
    /// closure is running on another thread, this waits for it). Later waits give
    /// [`ErrorKind::Closed`]. Cancelling twice is fine.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-cancel", &offkv::Options::new())?;
    /// let (_, watch) = client.exists_watch("/k")?;
    /// watch.cancel()?;
    /// assert_eq!(watch.recv().unwrap_err().kind, offkv::ErrorKind::Closed);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn cancel(&self) -> Result<()> {
        // SAFETY: `raw` is a live watch handle (freed only in Drop).
        let code = unsafe { sys::offkv_watch_cancel(self.raw.as_ptr()) };
        check(code, Some(&self.key))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: `raw` is live and this is its last use: no other call can be in
        // flight (we have `&mut self`). offkv_watch_free cancels and, off the event
        // thread, waits for a running callback; after it returns the library never
        // uses the `user` pointer again, so the closure state may go.
        unsafe { sys::offkv_watch_free(self.raw.as_ptr()) };
        // A callback running further up this thread's stack (the watch dropped from
        // its own closure) holds its own reference; the state goes when it returns.
        self.handler.take();
    }
}

/// The blocking iterator of [`Watch::iter`].
#[derive(Debug)]
pub struct Events<'a> {
    watch: &'a Watch,
    done: bool,
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        match self.watch.wait(None) {
            Ok(event) => {
                self.done = !self.watch.persistent || event.kind == EventKind::Ended;
                Some(event)
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}
