//! Options for [`Client::open`](crate::Client::open).

use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use offkv_sys as sys;

use crate::error::{Error, ErrorKind, Result};
use crate::event::Event;
use crate::util::c_string;

/// How reads are served (`offkv_read_consistency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadConsistency {
    /// Reads see every committed write (the default).
    #[default]
    Linearizable,
    /// Reads may be served by a stale local replica; cheaper.
    Serializable,
}

pub(crate) type SessionCallback = Arc<Mutex<Box<dyn FnMut(Event) + Send + 'static>>>;

/// Options of a client; every field left unset means the library's default. The
/// same options may also be given as URL query parameters (`?session_timeout_ms=…`),
/// which override these.
///
/// ```
/// use std::time::Duration;
/// let options = offkv::Options::new()
///     .session_timeout(Duration::from_secs(15))
///     .operation_timeout(Duration::from_secs(5))
///     .on_session(|event| println!("session: {:?}", event.session_state));
/// let client = offkv::Client::open("mem://doc-options", &options)?;
/// # Ok::<(), offkv::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Options {
    session_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    tls_ca_file: Option<PathBuf>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    username: Option<String>,
    password: Option<String>,
    token: Option<String>,
    read_consistency: ReadConsistency,
    by_name: Vec<(String, String)>,
    pub(crate) session_callback: Option<SessionCallback>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("session_timeout", &self.session_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("read_consistency", &self.read_consistency)
            // Names only: a value may be a secret.
            .field(
                "by_name",
                &self.by_name.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("session_callback", &self.session_callback.is_some())
            .finish()
    }
}

impl Options {
    /// All defaults.
    ///
    /// ```
    /// let options = offkv::Options::new();
    /// # let _ = options;
    /// ```
    pub fn new() -> Options {
        Options::default()
    }

    /// How long a silent client's session (and its ephemerals) survive, between
    /// [`SESSION_TIMEOUT_MIN`](crate::SESSION_TIMEOUT_MIN) and
    /// [`SESSION_TIMEOUT_MAX`](crate::SESSION_TIMEOUT_MAX); default 10 s.
    ///
    /// ```
    /// let o = offkv::Options::new().session_timeout(std::time::Duration::from_secs(5));
    /// # let _ = o;
    /// ```
    pub fn session_timeout(mut self, timeout: Duration) -> Options {
        self.session_timeout = Some(timeout);
        self
    }

    /// How long [`Client::open`](crate::Client::open) tries to reach the store;
    /// default 10 s.
    ///
    /// ```
    /// let o = offkv::Options::new().connect_timeout(std::time::Duration::from_secs(2));
    /// # let _ = o;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Options {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The longest any operation waits; default 10 s.
    ///
    /// ```
    /// let o = offkv::Options::new().operation_timeout(std::time::Duration::from_secs(3));
    /// # let _ = o;
    /// ```
    pub fn operation_timeout(mut self, timeout: Duration) -> Options {
        self.operation_timeout = Some(timeout);
        self
    }

    /// PEM file of trusted CAs (for `etcds://`, `consuls://`).
    ///
    /// ```
    /// let o = offkv::Options::new().tls_ca_file("/etc/ssl/ca.pem");
    /// # let _ = o;
    /// ```
    pub fn tls_ca_file(mut self, path: impl AsRef<Path>) -> Options {
        self.tls_ca_file = Some(path.as_ref().to_owned());
        self
    }

    /// PEM client certificate.
    ///
    /// ```
    /// let o = offkv::Options::new().tls_cert_file("client.pem");
    /// # let _ = o;
    /// ```
    pub fn tls_cert_file(mut self, path: impl AsRef<Path>) -> Options {
        self.tls_cert_file = Some(path.as_ref().to_owned());
        self
    }

    /// PEM client key.
    ///
    /// ```
    /// let o = offkv::Options::new().tls_key_file("client.key");
    /// # let _ = o;
    /// ```
    pub fn tls_key_file(mut self, path: impl AsRef<Path>) -> Options {
        self.tls_key_file = Some(path.as_ref().to_owned());
        self
    }

    /// etcd user or ZooKeeper digest user, with its password.
    ///
    /// ```
    /// let o = offkv::Options::new().credentials("app", "secret");
    /// # let _ = o;
    /// ```
    pub fn credentials(mut self, username: &str, password: &str) -> Options {
        self.username = Some(username.to_owned());
        self.password = Some(password.to_owned());
        self
    }

    /// Consul ACL token.
    ///
    /// ```
    /// let o = offkv::Options::new().token("8f2a…");
    /// # let _ = o;
    /// ```
    pub fn token(mut self, token: &str) -> Options {
        self.token = Some(token.to_owned());
        self
    }

    /// How reads are served.
    ///
    /// ```
    /// let o = offkv::Options::new().read_consistency(offkv::ReadConsistency::Serializable);
    /// # let _ = o;
    /// ```
    pub fn read_consistency(mut self, consistency: ReadConsistency) -> Options {
        self.read_consistency = consistency;
        self
    }

    /// A callback told every session state transition (an [`Event`] of kind
    /// [`EventKind::Session`](crate::EventKind::Session)), starting with the first
    /// `Connected`, on the client's event thread. Clones of these options share it.
    /// [`Client::session_events`](crate::Client::session_events) gives the same
    /// events as a channel.
    ///
    /// ```
    /// let o = offkv::Options::new().on_session(|e| eprintln!("{:?}", e.session_state));
    /// # let _ = o;
    /// ```
    pub fn on_session(mut self, callback: impl FnMut(Event) + Send + 'static) -> Options {
        self.session_callback = Some(Arc::new(Mutex::new(Box::new(callback))));
        self
    }

    /// Any option by its URL query name, with the URL's value syntax
    /// (`offkv_options_set`): every option the library knows, also those without a
    /// method here. Checked at [`Client::open`](crate::Client::open): an unknown name
    /// or a bad value is [`ErrorKind::Invalid`] naming the option. Options set by name
    /// win over the methods above; the URL's query wins over both.
    ///
    /// ```
    /// let o = offkv::Options::new().option("read_consistency", "serializable");
    /// let client = offkv::Client::open("mem://doc-option", &o)?;
    /// # let _ = client;
    /// # Ok::<(), offkv::Error>(())
    /// ```
    pub fn option(mut self, name: &str, value: &str) -> Options {
        self.by_name.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The C struct, and what it points to (keep it alive while the struct is used).
    pub(crate) fn to_raw(&self) -> Result<(sys::offkv_options, RawKeep)> {
        let mut raw = std::mem::MaybeUninit::<sys::offkv_options>::zeroed();
        // SAFETY: offkv_options_init fills the whole struct for this version; the
        // zeroed struct is a valid starting point (all integers and NULL pointers).
        let code = unsafe { sys::offkv_options_init(raw.as_mut_ptr(), sys::OFFKV_OPTIONS_VERSION) };
        crate::error::check(code, None)?;
        // SAFETY: initialised by offkv_options_init above (and zeroed before).
        let mut raw = unsafe { raw.assume_init() };
        let ms = |d: Option<Duration>, what: &str| -> Result<i32> {
            match d {
                None => Ok(0),
                Some(d) => i32::try_from(d.as_millis())
                    .ok()
                    .filter(|&ms| ms > 0)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Invalid,
                            None,
                            format!("{what} {d:?} out of range"),
                        )
                    }),
            }
        };
        raw.session_timeout_ms = ms(self.session_timeout, "session timeout")?;
        raw.connect_timeout_ms = ms(self.connect_timeout, "connect timeout")?;
        raw.operation_timeout_ms = ms(self.operation_timeout, "operation timeout")?;
        raw.read_consistency = match self.read_consistency {
            ReadConsistency::Linearizable => sys::OFFKV_READ_LINEARIZABLE,
            ReadConsistency::Serializable => sys::OFFKV_READ_SERIALIZABLE,
        } as i32;
        let mut keep = RawKeep {
            _strings: Vec::new(),
            named: std::ptr::null_mut(),
        };
        let strings = &mut keep._strings;
        let mut text = |value: Option<String>| -> Result<*const std::os::raw::c_char> {
            match value {
                None => Ok(std::ptr::null()),
                Some(s) => {
                    let c = c_string(&s)?;
                    let ptr = c.as_ptr();
                    strings.push(c);
                    Ok(ptr)
                }
            }
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
        raw.tls_ca_file = text(path(&self.tls_ca_file))?;
        raw.tls_cert_file = text(path(&self.tls_cert_file))?;
        raw.tls_key_file = text(path(&self.tls_key_file))?;
        raw.username = text(self.username.clone())?;
        raw.password = text(self.password.clone())?;
        raw.token = text(self.token.clone())?;
        for (name, value) in &self.by_name {
            let (name, value) = (c_string(name)?, c_string(value)?);
            // SAFETY: raw is an initialised version-2 struct; the strings are valid C
            // strings, copied by the library before it returns.
            let code = unsafe { sys::offkv_options_set(&mut raw, name.as_ptr(), value.as_ptr()) };
            keep.named = raw.named; // freed by keep's Drop, also on the error below
            crate::error::check(code, None)?;
        }
        Ok((raw, keep))
    }
}

/// What a C options struct made by [`Options::to_raw`] points to: its strings, and
/// the library's storage of the options set by name (freed on drop).
pub(crate) struct RawKeep {
    _strings: Vec<CString>,
    named: *mut std::os::raw::c_void,
}

impl Drop for RawKeep {
    fn drop(&mut self) {
        if self.named.is_null() {
            return;
        }
        let mut raw = std::mem::MaybeUninit::<sys::offkv_options>::zeroed();
        // SAFETY: a zeroed struct of this version holding only the storage pointer:
        // offkv_options_reset frees that storage and writes defaults.
        unsafe {
            let raw = raw.as_mut_ptr();
            (*raw).version = sys::OFFKV_OPTIONS_VERSION;
            (*raw).named = self.named;
            sys::offkv_options_reset(raw);
        }
    }
}
