mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use offkv::{
    Client, CreateMode, Error, ErrorKind, Options, Txn, ANY_VERSION, ERROR_COUNT, MAX_TXN_OPS,
};

/// One kind per C code, each with its own name and text, and back again.
#[test]
fn one_kind_per_code() {
    assert_eq!(ErrorKind::ALL.len(), ERROR_COUNT - 1);
    let mut names = HashSet::new();
    for code in 1..ERROR_COUNT as i32 {
        let kind = ErrorKind::from_code(code).expect("every code has a kind");
        assert_eq!(kind.code(), code);
        assert!(kind.name().starts_with("OFFKV_E"), "{}", kind.name());
        assert!(names.insert(kind.name()), "duplicate {}", kind.name());
        assert!(!kind.description().is_empty());
        let e = Error::new(kind, Some("/k"), "detail");
        let text = e.to_string();
        assert!(
            text.contains("\"/k\"") && text.contains("detail") && text.contains(kind.name()),
            "{text}"
        );
        let as_std: &dyn std::error::Error = &e;
        assert_eq!(as_std.source().unwrap().to_string(), kind.to_string());
    }
    assert_eq!(ErrorKind::from_code(0), None);
    assert_eq!(ErrorKind::from_code(ERROR_COUNT as i32), None);
    assert_eq!(ErrorKind::from_code(-1), None);
}

fn expect(
    what: &str,
    result: Result<impl std::fmt::Debug, Error>,
    kind: ErrorKind,
    key: Option<&str>,
) {
    let err = match result {
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
        Err(e) => e,
    };
    assert_eq!(err.kind, kind, "{what}: {err}");
    assert_eq!(err.key.as_deref(), key, "{what}: {err}");
    assert!(!err.message.is_empty(), "{what}: no detail message: {err}");
}

/// Every kind a running client can produce, each through a real call, with the key
/// and the library's detail message in the error.
#[test]
fn kinds_from_calls() {
    for_each_backend("errors", |url| {
        let c = open(url);
        c.create("/e", b"", CreateMode::Ephemeral).unwrap();
        c.create("/p", b"", CreateMode::Persistent).unwrap();
        expect(
            "relative key",
            c.get("no-slash"),
            ErrorKind::Invalid,
            Some("no-slash"),
        );
        expect(
            "trailing /",
            c.create("/p/", b"", CreateMode::Persistent),
            ErrorKind::Invalid,
            Some("/p/"),
        );
        expect(
            "NUL in key",
            c.set("/a\0b", b""),
            ErrorKind::Invalid,
            Some("/a\0b"),
        );
        expect(
            "negative cas",
            c.cas("/p", b"", -5),
            ErrorKind::Invalid,
            Some("/p"),
        );
        expect(
            "get absent",
            c.get("/missing"),
            ErrorKind::NoEntry,
            Some("/missing"),
        );
        expect(
            "no parent",
            c.create("/missing/c", b"", CreateMode::Persistent),
            ErrorKind::NoEntry,
            Some("/missing/c"),
        );
        expect(
            "children absent",
            c.children("/missing"),
            ErrorKind::NoEntry,
            Some("/missing"),
        );
        expect(
            "exists",
            c.create("/p", b"", CreateMode::Persistent),
            ErrorKind::Exists,
            Some("/p"),
        );
        expect(
            "cas version",
            c.cas("/p", b"", 7),
            ErrorKind::Version,
            Some("/p"),
        );
        expect(
            "erase version",
            c.erase("/p", 7),
            ErrorKind::Version,
            Some("/p"),
        );
        expect(
            "ephemeral parent",
            c.create("/e/c", b"", CreateMode::Persistent),
            ErrorKind::Ephemeral,
            Some("/e/c"),
        );
        expect(
            "too big",
            c.set("/p", &vec![0; offkv::MAX_VALUE_SIZE + 1]),
            ErrorKind::TooBig,
            Some("/p"),
        );
        let long_key = format!("/{}", vec!["s"; offkv::MAX_KEY_SIZE / 2 + 1].join("/"));
        expect(
            "key too long",
            c.exists(&long_key),
            ErrorKind::TooBig,
            Some(long_key.as_str()),
        );
        let mut too_many = Txn::new().unwrap();
        for _ in 0..=MAX_TXN_OPS {
            too_many.check("/p", ANY_VERSION);
        }
        expect("txn too big", c.commit(&too_many), ErrorKind::TooBig, None);
        let mut fails = Txn::new().unwrap();
        fails.check("/p", 0);
        expect("txn", c.commit(&fails), ErrorKind::Txn, None);
        let (_, w) = c.exists_watch("/p").unwrap();
        expect(
            "wait",
            w.wait(Some(Duration::from_millis(10))),
            ErrorKind::Timeout,
            Some("/p"),
        );
        // Closed: every call after close, and the watch's Ended event says why.
        c.close().unwrap();
        let ended = w.wait(Some(WAIT)).unwrap();
        assert_eq!(ended.kind, offkv::EventKind::Ended);
        assert_eq!(ended.error, Some(ErrorKind::Closed));
        expect("get closed", c.get("/p"), ErrorKind::Closed, Some("/p"));
        expect(
            "commit closed",
            c.commit(&Txn::new().unwrap()),
            ErrorKind::Closed,
            None,
        );
        expect(
            "watch closed",
            c.watch_persistent("/"),
            ErrorKind::Closed,
            Some("/"),
        );
        expect(
            "lock closed",
            c.lock("/l")
                .and_then(|l| l.acquire(None).map(|g| g.is_some())),
            ErrorKind::Closed,
            Some("/l"),
        );
        w.cancel().unwrap();
        expect(
            "wait cancelled",
            w.wait(Some(Duration::ZERO)),
            ErrorKind::Closed,
            Some("/p"),
        );
    });
}

#[test]
fn open_errors() {
    for url in ["", "nope://x", "mem://", "zk://no-port", "mem://x?bogus=1"] {
        let err = Client::open(url, &Options::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{url:?}: {err}");
        assert_eq!(err.key.as_deref(), Some(url));
    }
    let err = Client::open("mem://x\0y", &Options::new()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    let err = Client::open(
        "mem://x",
        &Options::new().session_timeout(Duration::from_millis(1)),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    let err = Client::open("mem://x", &Options::new().token("a\0b")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    // Unsupported: every backend compiled out of this build of the library.
    let mut missing = 0;
    for scheme in ["zk", "etcd", "consul"] {
        if offkv::has_backend(scheme) {
            continue;
        }
        missing += 1;
        let err = Client::open(&format!("{scheme}://127.0.0.1:1"), &Options::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported, "{scheme}: {err}");
    }
    eprintln!("{missing} backends compiled out (ErrorKind::Unsupported checked on each)");
}

/// A port where nothing listens: a remote backend reports a connection failure
/// (Timeout or ConnLoss) with the library's detail; nothing hangs.
#[test]
fn unreachable_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut tried = 0;
    for scheme in ["zk", "etcd", "consul"] {
        let options = Options::new().connect_timeout(Duration::from_secs(2));
        if !offkv::has_backend(scheme) {
            let err = Client::open(&format!("{scheme}://{addr}"), &options).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Unsupported, "{scheme}: {err}");
            continue;
        }
        tried += 1;
        let start = std::time::Instant::now();
        let err = Client::open(&format!("{scheme}://{addr}"), &options).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::Timeout | ErrorKind::ConnLoss),
            "{scheme}: {err}"
        );
        assert!(!err.message.is_empty());
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{scheme}: took {:?}",
            start.elapsed()
        );
        eprintln!("{scheme}: {err}");
    }
    eprintln!("{tried} remote backends checked");
}

/// Event kinds and session states print the C API's names.
#[test]
fn event_and_state_names_are_the_librarys() {
    use offkv::{EventKind, SessionState};
    let kinds = [
        (EventKind::Created, "CREATED"),
        (EventKind::Deleted, "DELETED"),
        (EventKind::Changed, "CHANGED"),
        (EventKind::Children, "CHILDREN"),
        (EventKind::Ended, "ENDED"),
        (EventKind::Session, "SESSION"),
        (EventKind::Other(7), "LEADER"),
        (EventKind::Other(10), "MEMBERS"),
        (EventKind::Other(0), "EventKind(0)"),
        (EventKind::Other(99), "EventKind(99)"),
    ];
    for (kind, want) in kinds {
        assert_eq!(kind.to_string(), want);
    }
    let states = [
        (SessionState::Connected, "CONNECTED"),
        (SessionState::Suspended, "SUSPENDED"),
        (SessionState::Lost, "LOST"),
        (SessionState::Closed, "CLOSED"),
        (SessionState::Other(-1), "SessionState(-1)"),
    ];
    for (state, want) in states {
        assert_eq!(state.to_string(), want);
    }
}

/// Any option by its URL name (offkv_options_set), checked by the library.
#[test]
fn options_by_name() {
    for_each_backend("options-by-name", |url| {
        let options = Options::new()
            .option("session_timeout_ms", "3000")
            .option("read_consistency", "serializable");
        let c = Client::open(url, &options).unwrap();
        c.set("/by-name", b"v").unwrap();
        assert_eq!(c.get("/by-name").unwrap().0, b"v".to_vec());
        let err = Client::open(url, &Options::new().option("no_such_option", "1")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(err.message.contains("no_such_option"), "{err}");
        let err = Client::open(url, &Options::new().option("session_timeout_ms", "soon"));
        assert_eq!(err.unwrap_err().kind, ErrorKind::Invalid);
        // By name wins over the methods: this 1 ms is refused.
        let both = Options::new()
            .session_timeout(Duration::from_secs(10))
            .option("session_timeout_ms", "1");
        assert_eq!(
            Client::open(url, &both).unwrap_err().kind,
            ErrorKind::Invalid
        );
        let nul = Options::new().option("zk_acl\0", "open");
        assert_eq!(
            Client::open(url, &nul).unwrap_err().kind,
            ErrorKind::Invalid
        );
    });
}
