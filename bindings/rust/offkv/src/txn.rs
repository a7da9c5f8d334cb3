//! Transactions: checks and ops applied all together or not at all.

use std::os::raw::c_void;
use std::ptr::NonNull;

use offkv_sys as sys;

use crate::client::{Client, CreateMode};
use crate::error::{check, kind_of, Error, ErrorKind, Result, TxnFailure};
use crate::future::{completion_check, start, AsyncCall, Convert};
use crate::util::{c_string, copy_opt_str};

/// A transaction under construction: checks and ops in call order. Build it with
/// the chaining methods and apply it with [`Client::commit`]; one `Txn` may be
/// committed many times, on several clients.
///
/// ```
/// use offkv::{Client, CreateMode, Options, Txn, ANY_VERSION};
/// let client = Client::open("mem://doc-txn", &Options::new())?;
/// client.set("/config", b"v1")?;
/// let mut txn = Txn::new()?;
/// txn.check("/config", 1).set("/config", b"v2").create("/jobs", b"", CreateMode::Persistent);
/// let results = client.commit(&txn)?;
/// assert_eq!(results[0].version, 2);
/// assert_eq!(results[1].key, "/jobs");
///
/// // Fails on item 0 (the check): nothing applied.
/// let mut stale = Txn::new()?;
/// stale.check("/config", 1).erase("/jobs", 0);
/// let err = client.commit(&stale).unwrap_err();
/// assert_eq!(err.kind, offkv::ErrorKind::Txn);
/// assert_eq!(err.txn.unwrap().index, 0);
/// assert_eq!(client.exists("/jobs")?, 1);
/// # let _ = ANY_VERSION;
/// # Ok::<(), offkv::Error>(())
/// ```
pub struct Txn {
    raw: NonNull<sys::offkv_txn>,
    /// The first item that could not be added (a key with a NUL); reported by commit.
    invalid: Option<Error>,
    items: usize,
}

// SAFETY: a txn is a plain builder; mutation needs `&mut Txn`, and committing (which
// only reads it) from several threads at once is allowed by the C API.
unsafe impl Send for Txn {}
// SAFETY: see above.
unsafe impl Sync for Txn {}

impl std::fmt::Debug for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Txn").field("items", &self.items).finish()
    }
}

/// The result of one op of a committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResult {
    /// The version after the op (1 for a create, the new version for a set, 0 for an
    /// erase).
    pub version: i64,
    /// The key acted on; the actual key for sequential creates.
    pub key: String,
}

impl Txn {
    /// An empty transaction.
    ///
    /// ```
    /// let txn = offkv::Txn::new()?;
    /// assert!(txn.is_empty());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn new() -> Result<Txn> {
        let mut raw: *mut sys::offkv_txn = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-parameter; the txn is freed in Drop.
        check(unsafe { sys::offkv_txn_new(&mut raw) }, None)?;
        Ok(Txn {
            raw: NonNull::new(raw).expect("offkv_txn_new returned OK without a txn"),
            invalid: None,
            items: 0,
        })
    }

    /// The number of checks and ops added.
    ///
    /// ```
    /// let mut txn = offkv::Txn::new()?;
    /// txn.check("/a", 0);
    /// assert_eq!(txn.len(), 1);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.items
    }

    /// True if nothing was added.
    ///
    /// ```
    /// assert!(offkv::Txn::new()?.is_empty());
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    fn add(
        &mut self,
        key: &str,
        add: impl FnOnce(*mut sys::offkv_txn, *const std::os::raw::c_char) -> i32,
    ) -> &mut Txn {
        match c_string(key) {
            Ok(c_key) => {
                let code = add(self.raw.as_ptr(), c_key.as_ptr());
                if let Err(e) = check(code, Some(key)) {
                    self.invalid.get_or_insert(e);
                }
            }
            Err(e) => {
                self.invalid.get_or_insert(e);
            }
        }
        self.items += 1;
        self
    }

    /// Checks `key`'s version: `version > 0` exactly that version; 0 the node does
    /// not exist; [`ANY_VERSION`](crate::ANY_VERSION) the node exists.
    ///
    /// ```
    /// let mut txn = offkv::Txn::new()?;
    /// txn.check("/a", offkv::ANY_VERSION).check("/b", 0);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn check(&mut self, key: &str, version: i64) -> &mut Txn {
        self.add(key, |txn, k| {
            // SAFETY: live txn (freed in Drop); `k` valid for the call (copied).
            unsafe { sys::offkv_txn_check(txn, k, version) }
        })
    }

    /// Creates `key` (with `mode`).
    ///
    /// ```
    /// let mut txn = offkv::Txn::new()?;
    /// txn.create("/jobs/j-", b"", offkv::CreateMode::Sequential);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn create(&mut self, key: &str, value: &[u8], mode: CreateMode) -> &mut Txn {
        self.add(key, |txn, k| {
            // SAFETY: live txn; key and value valid for the call (copied).
            unsafe {
                sys::offkv_txn_create(
                    txn,
                    k,
                    value.as_ptr() as *const c_void,
                    value.len(),
                    mode.flags(),
                )
            }
        })
    }

    /// Creates or replaces `key`.
    ///
    /// ```
    /// let mut txn = offkv::Txn::new()?;
    /// txn.set("/a", b"1");
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn set(&mut self, key: &str, value: &[u8]) -> &mut Txn {
        self.add(key, |txn, k| {
            // SAFETY: live txn; key and value valid for the call (copied).
            unsafe { sys::offkv_txn_set(txn, k, value.as_ptr() as *const c_void, value.len()) }
        })
    }

    /// Erases `key` and its subtree (`expected` 0: any version).
    ///
    /// ```
    /// let mut txn = offkv::Txn::new()?;
    /// txn.erase("/a", 0);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn erase(&mut self, key: &str, expected: i64) -> &mut Txn {
        self.add(key, |txn, k| {
            // SAFETY: live txn; key valid for the call (copied).
            unsafe { sys::offkv_txn_erase(txn, k, expected) }
        })
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        // SAFETY: the txn is live and this is its last use.
        unsafe { sys::offkv_txn_free(self.raw.as_ptr()) };
    }
}

impl Client {
    /// Applies `txn` atomically: every check and op, or nothing. On success, one
    /// [`OpResult`] per op, in order. If a check or op fails: an [`ErrorKind::Txn`]
    /// error whose [`txn`](Error::txn) gives the index of the first failing item
    /// (checks first, then ops) and why. Invalid keys or values, or more than
    /// [`MAX_TXN_OPS`](crate::MAX_TXN_OPS) items, are [`ErrorKind::Invalid`] /
    /// [`ErrorKind::TooBig`] instead.
    ///
    /// ```
    /// let client = offkv::Client::open("mem://doc-commit", &offkv::Options::new())?;
    /// let mut txn = offkv::Txn::new()?;
    /// txn.set("/a", b"1").set("/b", b"2");
    /// assert_eq!(client.commit(&txn)?.len(), 2);
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn commit(&self, txn: &Txn) -> Result<Vec<OpResult>> {
        if let Some(e) = &txn.invalid {
            return Err(e.clone());
        }
        let mut result = sys::offkv_txn_result {
            size: std::mem::size_of::<sys::offkv_txn_result>(),
            ops: std::ptr::null_mut(),
            count: 0,
            failed_index: 0,
            failed_code: 0,
        };
        // SAFETY: live client and txn; `result` is a valid out-parameter, freed below.
        let code = unsafe { sys::offkv_commit(self.raw(), txn.raw.as_ptr(), &mut result) };
        let outcome = check(code, None);
        let ops = copy_ops(&result);
        let outcome = txn_outcome(outcome, &result, ops);
        // SAFETY: filled by offkv_commit (or zeroed); freed once.
        unsafe { sys::offkv_txn_result_free(&mut result) };
        outcome
    }

    /// [`commit`](Client::commit), asynchronously: resolves to one [`OpResult`] per
    /// op, or to the same errors (with the failing index in [`Error::txn`]). The
    /// transaction is copied when the call starts: it may be changed or dropped at
    /// once. See [`AsyncCall`](crate::AsyncCall).
    ///
    /// ```
    /// use futures::executor::block_on;
    /// let client = offkv::Client::open("mem://doc-commit-async", &offkv::Options::new())?;
    /// let mut txn = offkv::Txn::new()?;
    /// txn.check("/a", 0).set("/a", b"1").set("/b", b"2");
    /// let pending = client.commit_async(&txn);
    /// drop(txn);
    /// assert_eq!(block_on(pending)?[1].key, "/b");
    ///
    /// let mut again = offkv::Txn::new()?;
    /// again.set("/c", b"").check("/a", 0);
    /// let err = block_on(client.commit_async(&again)).unwrap_err();
    /// assert_eq!(err.kind, offkv::ErrorKind::Txn);
    /// assert_eq!(err.txn.unwrap().index, 0); // checks count first
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn commit_async(&self, txn: &Txn) -> AsyncCall<Vec<OpResult>> {
        if let Some(e) = &txn.invalid {
            return AsyncCall::ready(Err(e.clone()));
        }
        let convert: Convert<Vec<OpResult>> = Box::new(move |raw| {
            let outcome = completion_check(raw, None);
            // SAFETY: the completion's txn result (NULL unless this is a commit's
            // success or ETXN) is valid for the length of the completion callback.
            match unsafe { raw.txn.as_ref() } {
                Some(result) => {
                    let ops = if outcome.is_ok() {
                        copy_ops(result)
                    } else {
                        Vec::new()
                    };
                    txn_outcome(outcome, result, ops)
                }
                None => outcome.map(|()| Vec::new()),
            }
        });
        start(self, None, convert, |done, user| {
            // SAFETY: live client and txn (the library copies the txn before it
            // returns); `user` stays valid until `done` runs.
            unsafe { sys::offkv_commit_async(self.raw(), txn.raw.as_ptr(), done, user) }
        })
    }
}

/// Copies the op results of a successful commit.
fn copy_ops(result: &sys::offkv_txn_result) -> Vec<OpResult> {
    if result.ops.is_null() {
        return Vec::new();
    }
    // SAFETY: on success `ops` holds `count` pointers to results, valid while
    // `result` is.
    unsafe { std::slice::from_raw_parts(result.ops, result.count) }
        .iter()
        .map(|&op| {
            // SAFETY: each pointer is a live result of the library.
            let op = unsafe { &*op };
            OpResult {
                version: op.version,
                key: copy_opt_str(op.key).unwrap_or_default(),
            }
        })
        .collect()
}

/// The outcome of a commit: its ops, or its error with the failing item on ETXN.
fn txn_outcome(
    outcome: Result<()>,
    result: &sys::offkv_txn_result,
    ops: Vec<OpResult>,
) -> Result<Vec<OpResult>> {
    match outcome {
        Ok(()) => Ok(ops),
        Err(mut e) => {
            if e.kind == ErrorKind::Txn {
                e.txn = Some(TxnFailure {
                    index: result.failed_index,
                    kind: kind_of(result.failed_code),
                });
            }
            Err(e)
        }
    }
}
