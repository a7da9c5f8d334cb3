//! Helpers shared by the integration tests.
//!
//! Backends under test: mem:// always, plus every real server given by
//!   OFFKV_TEST_URL       one or more URLs separated by whitespace
//!   OFFKV_TEST_URL_FILE  one or more files separated by ':', each holding URLs
//! A server that is asked for but missing (file absent or empty) FAILS the test.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use offkv::{Client, Options};

pub const WAIT: Duration = Duration::from_secs(20);

pub fn backend_urls() -> Vec<String> {
    let mut urls = vec!["mem://".to_owned()];
    if let Ok(list) = std::env::var("OFFKV_TEST_URL") {
        urls.extend(list.split_whitespace().map(str::to_owned));
    }
    if let Ok(files) = std::env::var("OFFKV_TEST_URL_FILE") {
        for file in files.split(':').filter(|f| !f.is_empty()) {
            let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
                panic!("OFFKV_TEST_URL_FILE: {file}: {e} (is the server running?)")
            });
            let got: Vec<_> = text.split_whitespace().map(str::to_owned).collect();
            assert!(!got.is_empty(), "OFFKV_TEST_URL_FILE: {file} holds no URL");
            urls.extend(got);
        }
    }
    urls
}

static UNIQUE: AtomicUsize = AtomicUsize::new(0);

/// A URL of `base`'s server where the caller sees only its own keys: a fresh store
/// for mem://, a fresh prefix below base's for real servers.
pub fn isolated(base: &str, name: &str) -> String {
    let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
    let name = format!("rs-{name}-{}-{n}", std::process::id());
    if base == "mem://" {
        return format!("mem://{name}");
    }
    let (base, query) = match base.find('?') {
        Some(i) => (&base[..i], &base[i..]),
        None => (base, ""),
    };
    let (scheme, rest) = base.split_once("://").expect("URL without scheme");
    let (hosts, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_end_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    format!("{scheme}://{hosts}{prefix}/{name}{query}")
}

pub fn scheme(url: &str) -> &str {
    url.split("://").next().unwrap()
}

/// Runs `f(url)` once per backend, each with an isolated URL, and reports which ran.
pub fn for_each_backend(name: &str, f: impl Fn(&str)) {
    for base in backend_urls() {
        let url = isolated(&base, name);
        eprintln!("[{name}] backend {}", scheme(&url));
        f(&url);
        eprintln!("[{name}] backend {} ok", scheme(&url));
    }
}

pub fn open(url: &str) -> Client {
    Client::open(url, &Options::new()).unwrap_or_else(|e| panic!("open {url}: {e}"))
}

pub fn recv<T>(rx: &Receiver<T>) -> T {
    rx.recv_timeout(WAIT).expect("nothing arrived within 20 s")
}

/// Asserts that nothing arrives on `rx` for `d`.
pub fn quiet<T: std::fmt::Debug>(rx: &Receiver<T>, d: Duration) {
    if let Ok(v) = rx.recv_timeout(d) {
        panic!("expected nothing, got {v:?}");
    }
}

/// Polls `cond` until it holds or 20 s pass.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "not within 20 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
