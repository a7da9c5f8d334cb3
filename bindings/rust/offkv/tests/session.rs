mod common;

use std::sync::mpsc::channel;
use std::time::Duration;

use common::*;
use offkv::{Client, CreateMode, ErrorKind, EventKind, Options, SessionState};

#[test]
fn session_events_from_connected_to_closed() {
    for_each_backend("session", |url| {
        let (tx, rx) = channel();
        let options = Options::new()
            .session_timeout(Duration::from_secs(5))
            .on_session(move |e| tx.send(e).unwrap());
        let c = Client::open(url, &options).unwrap();
        let first = recv(&rx);
        assert_eq!(first.kind, EventKind::Session);
        assert_eq!(first.session_state, Some(SessionState::Connected));
        assert_eq!(first.key, None);
        assert_eq!(c.session_state().unwrap(), SessionState::Connected);
        let events = c.session_events();
        c.create("/eph", b"", CreateMode::Ephemeral).unwrap();
        c.close().unwrap();
        c.close().unwrap(); // twice is fine
        let last = recv(&rx);
        assert_eq!(last.session_state, Some(SessionState::Closed));
        // The channel was subscribed after open: the first Connected may or may not
        // reach it (it races with the subscription); Closed must.
        let mut state = recv(&events).session_state;
        if state == Some(SessionState::Connected) {
            state = recv(&events).session_state;
        }
        assert_eq!(state, Some(SessionState::Closed));
        drop(c);
        // Nothing after Closed; the callback and the channel are released.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        assert!(events.recv().is_err());
    });
}

/// The same options (and session callback) shared by two clients.
#[test]
fn options_are_shared() {
    for_each_backend("session-shared", |url| {
        let (tx, rx) = channel();
        let options = Options::new()
            .operation_timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(10))
            .read_consistency(offkv::ReadConsistency::Serializable)
            .on_session(move |e| tx.send(e.session_state).unwrap());
        let a = Client::open(url, &options).unwrap();
        let b = Client::open(url, &options.clone()).unwrap();
        let mut connected = 0;
        while connected < 2 {
            if recv(&rx) == Some(SessionState::Connected) {
                connected += 1;
            }
        }
        a.set("/x", b"1").unwrap();
        // Serializable reads may lag; poll.
        eventually("b sees a's write", || {
            b.get("/x").map(|(v, _)| v == b"1").unwrap_or(false)
        });
        drop(a);
        drop(b);
    });
}

/// A session that ends (here: its client closes) ends its ephemerals at once for
/// the other clients, and every call after close is Closed.
#[test]
fn closed_session_state() {
    for_each_backend("session-closed", |url| {
        let c = open(url);
        c.close().unwrap();
        match c.session_state() {
            Ok(s) => assert_eq!(s, SessionState::Closed),
            Err(e) => assert_eq!(e.kind, ErrorKind::Closed),
        }
        assert_eq!(c.set("/k", b"").unwrap_err().kind, ErrorKind::Closed);
    });
}
