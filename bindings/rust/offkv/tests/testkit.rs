//! The test kit's session faults (offkv_testkit_suspend / _resume / _expire), on
//! every backend.
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{eventually, for_each_backend, open};
use offkv::{Client, CreateMode, ErrorKind, EventKind, Options, SessionState};

type States = Arc<Mutex<Vec<SessionState>>>;

fn open_recording(url: &str, opts: Options) -> (Client, States) {
    let states: States = Arc::default();
    let s = Arc::clone(&states);
    let opts = opts.on_session(move |e| {
        if let Some(state) = e.session_state {
            s.lock().unwrap().push(state);
        }
    });
    let c = Client::open(url, &opts).unwrap_or_else(|e| panic!("open {url}: {e}"));
    (c, states)
}

#[test]
fn suspend_then_resume_keeps_the_session() {
    for_each_backend("testkit-suspend", |url| {
        let other = open(url);
        let (c, states) = open_recording(
            url,
            Options::new()
                .session_timeout(Duration::from_secs(20))
                .operation_timeout(Duration::from_secs(1)),
        );
        c.create("/k", b"before", CreateMode::Persistent).unwrap();
        c.create("/e", b"mine", CreateMode::Ephemeral).unwrap();
        let (_, _, w) = c.get_watch("/k").unwrap();
        c.testkit_suspend().unwrap();
        assert_eq!(c.session_state().unwrap(), SessionState::Suspended);
        let start = Instant::now();
        assert_eq!(
            c.set("/k", b"during").unwrap_err().kind,
            ErrorKind::ConnLoss
        );
        assert!(start.elapsed() >= Duration::from_millis(800));
        assert_eq!(other.get("/k").unwrap().0, b"before");
        assert_eq!(other.exists("/e").unwrap(), 1);
        other.set("/k", b"changed").unwrap();
        c.testkit_resume().unwrap();
        assert_eq!(c.session_state().unwrap(), SessionState::Connected);
        assert_eq!(w.wait(Some(common::WAIT)).unwrap().kind, EventKind::Changed);
        assert_eq!(other.exists("/e").unwrap(), 1);
        c.set("/k", b"after").unwrap();
        eventually("3 transitions", || states.lock().unwrap().len() >= 3);
        assert_eq!(
            *states.lock().unwrap(),
            [
                SessionState::Connected,
                SessionState::Suspended,
                SessionState::Connected
            ]
        );
    });
}

#[test]
fn expire_removes_the_ephemerals_and_starts_a_new_session() {
    for_each_backend("testkit-expire", |url| {
        let other = open(url);
        let (c, states) = open_recording(url, Options::new());
        c.create("/k", b"", CreateMode::Persistent).unwrap();
        c.create("/e", b"mine", CreateMode::Ephemeral).unwrap();
        let (_, _, w) = c.get_watch("/k").unwrap();
        c.testkit_expire().unwrap();
        assert_eq!(other.exists("/e").unwrap(), 0);
        let ended = w.wait(Some(common::WAIT)).unwrap();
        assert_eq!(ended.kind, EventKind::Ended);
        assert_eq!(ended.error, Some(ErrorKind::Session));
        assert_eq!(c.session_state().unwrap(), SessionState::Connected);
        // (ZooKeeper's server drops the expired session's connection: Suspended first.)
        let seen = || -> Vec<SessionState> {
            let s = states.lock().unwrap();
            s.iter()
                .copied()
                .filter(|s| *s != SessionState::Suspended)
                .collect()
        };
        eventually("3 transitions", || seen().len() >= 3);
        assert_eq!(
            seen(),
            [
                SessionState::Connected,
                SessionState::Lost,
                SessionState::Connected
            ]
        );
        c.create("/e", b"again", CreateMode::Ephemeral).unwrap();
    });
}

#[test]
fn a_leader_steps_down_on_suspend_and_on_expire() {
    for_each_backend("testkit-election", |url| {
        let c = Client::open(
            url,
            &Options::new()
                .session_timeout(Duration::from_secs(20))
                .operation_timeout(Duration::from_secs(2)),
        )
        .unwrap();
        let wait = Some(Duration::from_secs(30));
        let e = c.contend("/g", b"a").unwrap();
        assert!(e.wait_leader(true, wait).unwrap());
        let c2 = open(url);
        let other = c2.contend("/g", b"b").unwrap();
        c.testkit_suspend().unwrap();
        assert!(!e.is_leader().unwrap());
        assert!(!other.is_leader().unwrap());
        c.testkit_resume().unwrap();
        assert!(e.wait_leader(true, wait).unwrap());
        c.testkit_expire().unwrap();
        assert!(!e.is_leader().unwrap());
        assert!(other.wait_leader(true, wait).unwrap());
    });
}

#[test]
fn the_test_kit_on_a_closed_client() {
    for_each_backend("testkit-closed", |url| {
        let c = open(url);
        c.close().unwrap();
        for r in [c.testkit_suspend(), c.testkit_resume(), c.testkit_expire()] {
            assert_eq!(r.unwrap_err().kind, ErrorKind::Closed);
        }
    });
}
