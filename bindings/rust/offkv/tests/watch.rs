mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use offkv::{CreateMode, ErrorKind, EventKind, SessionState, Watch};

const SHORT: Duration = Duration::from_millis(300);

#[test]
fn one_shot_watches() {
    for_each_backend("oneshot", |url| {
        let c = open(url);
        c.set("/k", b"v1").unwrap();

        // get_watch: Changed, once; the event stays readable.
        let (value, version, w) = c.get_watch("/k").unwrap();
        assert_eq!((value.as_slice(), version), (&b"v1"[..], 1));
        assert_eq!(
            w.wait(Some(Duration::from_millis(50))).unwrap_err().kind,
            ErrorKind::Timeout
        );
        c.set("/k", b"v2").unwrap();
        let e = w.wait(Some(WAIT)).unwrap();
        assert_eq!(
            (e.kind, e.key.as_deref(), e.version),
            (EventKind::Changed, Some("/k"), 2)
        );
        c.set("/k", b"v3").unwrap();
        assert_eq!(
            w.wait(Some(WAIT)).unwrap(),
            e,
            "a one-shot watch fires once"
        );
        assert_eq!(w.iter().count(), 1);

        // exists_watch on an absent key: Created, not at once.
        let (v, w) = c.exists_watch("/new").unwrap();
        assert_eq!(v, 0);
        assert_eq!(w.wait(Some(SHORT)).unwrap_err().kind, ErrorKind::Timeout);
        c.create("/new", b"", CreateMode::Persistent).unwrap();
        assert_eq!(w.recv().unwrap().kind, EventKind::Created);

        // exists_watch on a present key: Deleted.
        let (v, w) = c.exists_watch("/new").unwrap();
        assert_eq!(v, 1);
        c.erase("/new", 0).unwrap();
        let e = w.recv().unwrap();
        assert_eq!((e.kind, e.version), (EventKind::Deleted, 0));

        // children_watch: Children for a new direct child.
        c.set("/p", b"").unwrap();
        let (kids, w) = c.children_watch("/p").unwrap();
        assert!(kids.is_empty());
        c.set("/p", b"value change is not a child change").unwrap();
        assert_eq!(w.wait(Some(SHORT)).unwrap_err().kind, ErrorKind::Timeout);
        c.set("/p/x", b"").unwrap();
        let e = w.recv().unwrap();
        assert_eq!(
            (e.kind, e.key.as_deref()),
            (EventKind::Children, Some("/p"))
        );

        // A failed read leaves no watch.
        assert_eq!(c.get_watch("/absent").unwrap_err().kind, ErrorKind::NoEntry);
        assert_eq!(
            c.children_watch("/absent").unwrap_err().kind,
            ErrorKind::NoEntry
        );
    });
}

#[test]
fn callbacks_fire_exactly_once() {
    for_each_backend("callbacks", |url| {
        let c = open(url);
        c.set("/k", b"").unwrap();
        let (tx, rx) = channel();
        let t = tx.clone();
        let (_, _, w1) = c
            .get_watch_with("/k", move |e| t.send(("get", e)).unwrap())
            .unwrap();
        let t = tx.clone();
        let (_, w2) = c
            .exists_watch_with("/k", move |e| t.send(("exists", e)).unwrap())
            .unwrap();
        let t = tx.clone();
        let (_, w3) = c
            .children_watch_with("/k", move |e| t.send(("children", e)).unwrap())
            .unwrap();
        c.set("/k", b"x").unwrap();
        c.set("/k/child", b"").unwrap();
        c.set("/k", b"y").unwrap();
        let mut got: Vec<_> = (0..3)
            .map(|_| recv(&rx))
            .map(|(w, e)| (w, e.kind))
            .collect();
        got.sort_by_key(|(w, _)| *w);
        assert_eq!(
            got,
            [
                ("children", EventKind::Children),
                ("exists", EventKind::Changed),
                ("get", EventKind::Changed)
            ]
        );
        quiet(&rx, SHORT);
        // The event also reaches wait().
        assert_eq!(w1.recv().unwrap().kind, EventKind::Changed);
        drop((w1, w2, w3));
    });
}

#[test]
fn cancel_stops_callbacks() {
    for_each_backend("cancel", |url| {
        let c = open(url);
        let (tx, rx) = channel();
        let t = tx.clone();
        let (_, w) = c
            .exists_watch_with("/k", move |e| t.send(e).unwrap())
            .unwrap();
        w.cancel().unwrap();
        w.cancel().unwrap();
        let p = c
            .watch_persistent_with("/", move |e| tx.send(e).unwrap())
            .unwrap();
        drop(p);
        c.set("/k", b"").unwrap();
        quiet(&rx, SHORT);
        assert_eq!(
            w.wait(Some(Duration::ZERO)).unwrap_err().kind,
            ErrorKind::Closed
        );
    });
}

#[test]
fn ended_when_client_closes() {
    for_each_backend("ended", |url| {
        let c = open(url);
        let (tx, rx) = channel();
        let (_, w) = c
            .exists_watch_with("/k", move |e| tx.send(e).unwrap())
            .unwrap();
        let p = c.watch_persistent("/").unwrap();
        c.close().unwrap();
        let e = recv(&rx);
        assert_eq!(e.kind, EventKind::Ended);
        assert_eq!(e.error, Some(ErrorKind::Closed));
        assert_eq!(e.session_state, Some(SessionState::Closed));
        assert_eq!(w.recv().unwrap().kind, EventKind::Ended);
        let last = p.iter().last().expect("the persistent watch reports Ended");
        assert_eq!(last.kind, EventKind::Ended);
        assert_eq!(
            p.wait(Some(Duration::ZERO)).unwrap_err().kind,
            ErrorKind::Closed
        );
    });
}

#[test]
fn persistent_watches() {
    for_each_backend("persistent", |url| {
        let c = open(url);
        let w = c.watch_persistent("/app").unwrap();
        c.set("/app", b"1").unwrap();
        c.set("/app/x", b"").unwrap();
        c.set("/app/x", b"2").unwrap();
        c.set("/apple", b"").unwrap(); // not below /app
        c.erase("/app/x", 0).unwrap();
        let got: Vec<_> = w
            .iter()
            .take(4)
            .map(|e| (e.kind, e.key.unwrap(), e.version))
            .collect();
        assert_eq!(
            got,
            [
                (EventKind::Created, "/app".to_owned(), 1),
                (EventKind::Created, "/app/x".to_owned(), 1),
                (EventKind::Changed, "/app/x".to_owned(), 2),
                (EventKind::Deleted, "/app/x".to_owned(), 0),
            ]
        );
        assert_eq!(w.wait(Some(SHORT)).unwrap_err().kind, ErrorKind::Timeout);

        // With a closure: every event goes to it, in order.
        let (tx, rx) = channel();
        let p = c
            .watch_persistent_with("/", move |e| tx.send(e).unwrap())
            .unwrap();
        for i in 0..20 {
            c.set("/n", format!("{i}").as_bytes()).unwrap();
        }
        for i in 1..=20 {
            assert_eq!(recv(&rx).version, i);
        }
        assert_eq!(
            p.wait(Some(Duration::from_millis(20))).unwrap_err().kind,
            ErrorKind::Timeout
        );
        drop(p);
        c.set("/n", b"").unwrap();
        quiet(&rx, SHORT);
    });
}

/// A closure may use the client, re-arm itself and drop its own watch.
#[test]
fn callbacks_may_call_back_in() {
    for_each_backend("reentrant", |url| {
        let c = Arc::new(open(url));
        c.set("/k", b"0").unwrap();
        let slot: Arc<Mutex<Option<Watch>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = channel();
        let (client, own) = (Arc::clone(&c), Arc::clone(&slot));
        let (_, _, w) = c
            .get_watch_with("/k", move |e| {
                let value = client.get("/k").map(|(v, _)| v);
                // Drop this watch from inside its own callback.
                let dropped = own.lock().unwrap().take().is_some();
                tx.send((e.kind, value, dropped)).unwrap();
            })
            .unwrap();
        *slot.lock().unwrap() = Some(w);
        let before = offkv::live_callback_states();
        c.set("/k", b"1").unwrap();
        let (kind, value, dropped) = recv(&rx);
        assert_eq!(
            (kind, value.unwrap(), dropped),
            (EventKind::Changed, b"1".to_vec(), true)
        );
        eventually(
            "the state of a watch dropped in its callback is freed",
            || offkv::live_callback_states() < before,
        );
    });
}

/// A panicking closure is stopped at the C boundary; later events still arrive.
#[test]
fn panics_do_not_cross_into_c() {
    for_each_backend("panic", |url| {
        let c = open(url);
        let before = offkv::callback_panics();
        let (tx, rx) = channel();
        let count = AtomicUsize::new(0);
        let _p = c
            .watch_persistent_with("/", move |e| {
                if count.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first event panics (expected by the test)");
                }
                tx.send(e.version).unwrap();
            })
            .unwrap();
        c.set("/k", b"").unwrap();
        c.set("/k", b"").unwrap();
        assert_eq!(recv(&rx), 2);
        assert!(offkv::callback_panics() > before);
    });
}

#[test]
fn drop_client_before_watch() {
    for_each_backend("drop-client-first", |url| {
        let c = open(url);
        let (tx, rx) = channel();
        let (_, w) = c
            .exists_watch_with("/k", move |e| tx.send(e.kind).unwrap())
            .unwrap();
        let p = c.watch_persistent("/").unwrap();
        drop(c);
        assert_eq!(recv(&rx), EventKind::Ended);
        assert_eq!(w.recv().unwrap().kind, EventKind::Ended);
        assert_eq!(p.iter().last().unwrap().kind, EventKind::Ended);
        w.cancel().unwrap();
        drop(w);
        drop(p);
    });
}

#[test]
fn drop_watch_before_client() {
    for_each_backend("drop-watch-first", |url| {
        let c = open(url);
        let (tx, rx) = channel();
        let (_, w) = c
            .exists_watch_with("/k", move |e| tx.send(e.kind).unwrap())
            .unwrap();
        let p = c.watch_persistent("/").unwrap();
        drop(w);
        drop(p);
        c.set("/k", b"").unwrap();
        drop(c);
        quiet(&rx, SHORT);
        assert!(rx.recv().is_err(), "the closure was dropped with its watch");
    });
}

/// Dropping the last reference to a client inside its own callback neither
/// deadlocks nor frees the client on its event thread.
#[test]
fn client_dropped_in_its_own_callback() {
    for_each_backend("drop-in-callback", |url| {
        let slot = Arc::new(Mutex::new(Some(open(url))));
        let (tx, rx) = channel();
        let own = Arc::clone(&slot);
        let c = slot.lock().unwrap();
        let (_, w) = c
            .as_ref()
            .unwrap()
            .exists_watch_with("/k", move |_| {
                let client = own.lock().unwrap().take();
                drop(client);
                tx.send(()).unwrap();
            })
            .unwrap();
        c.as_ref().unwrap().set("/k", b"").unwrap();
        drop(c);
        recv(&rx);
        assert!(slot.lock().unwrap().is_none());
        drop(w);
    });
}
