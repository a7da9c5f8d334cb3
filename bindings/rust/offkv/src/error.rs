//! Errors: one [`ErrorKind`] per C error code, and the [`Error`] every call returns.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use offkv_sys as sys;

/// The kind of a failure: one variant per error code of the C API (`offkv_error`).
///
/// ```
/// use offkv::ErrorKind;
/// assert_eq!(ErrorKind::from_code(2), Some(ErrorKind::NoEntry));
/// assert_eq!(ErrorKind::NoEntry.name(), "OFFKV_ENOENT");
/// assert_eq!(ErrorKind::NoEntry.code(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `OFFKV_EINVAL`: bad argument, key or URL; nothing was sent.
    Invalid,
    /// `OFFKV_ENOENT`: no such node (or missing parent).
    NoEntry,
    /// `OFFKV_EEXIST`: the node already exists.
    Exists,
    /// `OFFKV_EVERSION`: the version does not match.
    Version,
    /// `OFFKV_EEPHEMERAL`: ephemeral nodes cannot have children.
    Ephemeral,
    /// `OFFKV_ENOTEMPTY`: the node has children.
    NotEmpty,
    /// `OFFKV_ETOOBIG`: value, key or transaction above the limit.
    TooBig,
    /// `OFFKV_ETXN`: a transaction failed; see [`Error::txn`].
    Txn,
    /// `OFFKV_ECONNLOSS`: connection lost; the outcome of the call is unknown.
    ConnLoss,
    /// `OFFKV_ESESSION`: the session expired.
    Session,
    /// `OFFKV_ETIMEOUT`: an operation or a wait timed out.
    Timeout,
    /// `OFFKV_EAUTH`: authentication or permission failure.
    Auth,
    /// `OFFKV_ETLS`: TLS set-up or handshake failure.
    Tls,
    /// `OFFKV_ECLOSED`: the client, watch or recipe handle was closed.
    Closed,
    /// `OFFKV_EUNSUPPORTED`: not supported (e.g. a backend compiled out).
    Unsupported,
    /// `OFFKV_ESERVICE`: the backend answered something unexpected.
    Service,
    /// `OFFKV_ENOMEM`: out of memory.
    NoMem,
    /// `OFFKV_EINTERNAL`: a bug in offkv.
    Internal,
}

/// Every kind, in the order of the C codes (`ALL[i].code() == i + 1`).
///
/// ```
/// assert_eq!(offkv::ErrorKind::ALL.len(), offkv::ERROR_COUNT - 1);
/// ```
impl ErrorKind {
    /// Every kind, in code order (code 1 first).
    pub const ALL: [ErrorKind; 18] = [
        ErrorKind::Invalid,
        ErrorKind::NoEntry,
        ErrorKind::Exists,
        ErrorKind::Version,
        ErrorKind::Ephemeral,
        ErrorKind::NotEmpty,
        ErrorKind::TooBig,
        ErrorKind::Txn,
        ErrorKind::ConnLoss,
        ErrorKind::Session,
        ErrorKind::Timeout,
        ErrorKind::Auth,
        ErrorKind::Tls,
        ErrorKind::Closed,
        ErrorKind::Unsupported,
        ErrorKind::Service,
        ErrorKind::NoMem,
        ErrorKind::Internal,
    ];

    /// The kind of a C error code; `None` for `OFFKV_OK` (0) and for codes this
    /// crate does not know (a newer library).
    ///
    /// ```
    /// assert_eq!(offkv::ErrorKind::from_code(0), None);
    /// assert_eq!(offkv::ErrorKind::from_code(14), Some(offkv::ErrorKind::Closed));
    /// ```
    pub fn from_code(code: i32) -> Option<ErrorKind> {
        let index = usize::try_from(code).ok()?.checked_sub(1)?;
        ErrorKind::ALL.get(index).copied()
    }

    /// The C error code (`OFFKV_E…`) of this kind.
    ///
    /// ```
    /// assert_eq!(offkv::ErrorKind::Internal.code(), 18);
    /// ```
    pub fn code(self) -> i32 {
        let code = match self {
            ErrorKind::Invalid => sys::OFFKV_EINVAL,
            ErrorKind::NoEntry => sys::OFFKV_ENOENT,
            ErrorKind::Exists => sys::OFFKV_EEXIST,
            ErrorKind::Version => sys::OFFKV_EVERSION,
            ErrorKind::Ephemeral => sys::OFFKV_EEPHEMERAL,
            ErrorKind::NotEmpty => sys::OFFKV_ENOTEMPTY,
            ErrorKind::TooBig => sys::OFFKV_ETOOBIG,
            ErrorKind::Txn => sys::OFFKV_ETXN,
            ErrorKind::ConnLoss => sys::OFFKV_ECONNLOSS,
            ErrorKind::Session => sys::OFFKV_ESESSION,
            ErrorKind::Timeout => sys::OFFKV_ETIMEOUT,
            ErrorKind::Auth => sys::OFFKV_EAUTH,
            ErrorKind::Tls => sys::OFFKV_ETLS,
            ErrorKind::Closed => sys::OFFKV_ECLOSED,
            ErrorKind::Unsupported => sys::OFFKV_EUNSUPPORTED,
            ErrorKind::Service => sys::OFFKV_ESERVICE,
            ErrorKind::NoMem => sys::OFFKV_ENOMEM,
            ErrorKind::Internal => sys::OFFKV_EINTERNAL,
        };
        code as i32
    }

    /// The symbolic C name, e.g. `"OFFKV_EVERSION"` (from `offkv_error_name`).
    ///
    /// ```
    /// assert_eq!(offkv::ErrorKind::Version.name(), "OFFKV_EVERSION");
    /// ```
    pub fn name(self) -> &'static str {
        // SAFETY: offkv_error_name accepts any code and returns static, NUL-terminated
        // text, never NULL.
        let text = unsafe { CStr::from_ptr(sys::offkv_error_name(self.code() as c_int)) };
        text.to_str().unwrap_or("OFFKV_UNKNOWN")
    }

    /// The library's static description, e.g. `"no such node"` (from
    /// `offkv_strerror`).
    ///
    /// ```
    /// assert!(!offkv::ErrorKind::NoEntry.description().is_empty());
    /// ```
    pub fn description(self) -> &'static str {
        // SAFETY: offkv_strerror accepts any code and returns static, NUL-terminated
        // text, never NULL.
        let text = unsafe { CStr::from_ptr(sys::offkv_strerror(self.code() as c_int)) };
        text.to_str().unwrap_or("unknown error code")
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description(), self.name())
    }
}

impl std::error::Error for ErrorKind {}

/// Where a failed transaction failed: see [`Client::commit`](crate::Client::commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnFailure {
    /// The first failing item, counting checks first, then ops.
    pub index: usize,
    /// Why it failed ([`ErrorKind::Version`], [`ErrorKind::NoEntry`], …).
    pub kind: ErrorKind,
}

/// The error of every fallible call: a kind, the key the call was about, and the
/// library's detail message (`offkv_last_error`).
///
/// ```
/// let client = offkv::Client::open("mem://doc-error", &offkv::Options::new())?;
/// let err = client.get("/missing").unwrap_err();
/// assert_eq!(err.kind, offkv::ErrorKind::NoEntry);
/// assert_eq!(err.key.as_deref(), Some("/missing"));
/// assert!(!err.message.is_empty());
/// # Ok::<(), offkv::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The key (or URL, or group) the call was about, if any.
    pub key: Option<String>,
    /// The library's detail: the key, the backend, the server's own words.
    pub message: String,
    /// For [`ErrorKind::Txn`]: the failing item and why.
    pub txn: Option<TxnFailure>,
}

impl Error {
    /// An error of `kind` about `key` with a detail message.
    ///
    /// ```
    /// let e = offkv::Error::new(offkv::ErrorKind::Timeout, Some("/k"), "waited 1 s");
    /// assert_eq!(e.to_string(), format!("{}: \"/k\": waited 1 s", offkv::ErrorKind::Timeout));
    /// ```
    pub fn new(kind: ErrorKind, key: Option<&str>, message: impl Into<String>) -> Error {
        Error {
            kind,
            key: key.map(str::to_owned),
            message: message.into(),
            txn: None,
        }
    }

    /// Builds the error of a failed C call from its code and this thread's
    /// `offkv_last_error()`. Call it right after the failed call.
    pub(crate) fn last(code: c_int, key: Option<&str>) -> Error {
        // SAFETY: offkv_last_error returns a NUL-terminated per-thread string, never
        // NULL, valid until the next offkv call on this thread; it is copied at once.
        let message = unsafe { CStr::from_ptr(sys::offkv_last_error()) }
            .to_string_lossy()
            .into_owned();
        Error::new(kind_of(code), key, message)
    }
}

/// The kind of a non-zero C code; unknown codes (from a newer library) are
/// reported as [`ErrorKind::Internal`] with the code in the message.
pub(crate) fn kind_of(code: c_int) -> ErrorKind {
    ErrorKind::from_code(code).unwrap_or(ErrorKind::Internal)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(key) = &self.key {
            write!(f, ": {key:?}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(t) = &self.txn {
            write!(f, " (item {} failed: {})", t.index, t.kind.name())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

impl From<Error> for ErrorKind {
    fn from(e: Error) -> ErrorKind {
        e.kind
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns a C return code into a `Result`, reading the detail message on failure.
pub(crate) fn check(code: c_int, key: Option<&str>) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(Error::last(code, key))
    }
}
