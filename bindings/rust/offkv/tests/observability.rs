//! Logs (offkv_set_log_callback), counters (offkv_get_stats) and the test kit
//! (offkv_testkit_end_watches), on every backend.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, for_each_backend, open, scheme};
use offkv::{CreateMode, ErrorKind, EventKind, Level, SessionState};

/// The log callback is process-wide: the tests that set it take turns.
static LOG_TESTS: Mutex<()> = Mutex::new(());

/// Turns the log callback off however the test ends.
struct LogOff;
impl Drop for LogOff {
    fn drop(&mut self) {
        let _ = offkv::clear_log_callback();
    }
}

type Lines = Arc<Mutex<Vec<(Level, String, String)>>>;

fn collect(lines: &Lines) -> offkv::LogCallback {
    let lines = Arc::clone(lines);
    Box::new(move |level, component, message| {
        lines
            .lock()
            .unwrap()
            .push((level, component.to_owned(), message.to_owned()));
    })
}

#[test]
fn stats_count_a_get_and_an_enoent() {
    for_each_backend("stats", |url| {
        let c = open(url);
        let before = c.stats().unwrap();
        for name in [
            "ops.get",
            "errors.ENOENT",
            "retries",
            "reconnects",
            "session.CONNECTED",
            "watches.armed",
            "watches.fired",
        ] {
            assert!(before.contains_key(name), "{name} in {before:?}");
        }
        assert_eq!(before["session.CONNECTED"], 1);
        c.create("/s", b"1", CreateMode::Persistent).unwrap();
        c.get("/s").unwrap();
        assert_eq!(c.get("/missing").unwrap_err().kind, ErrorKind::NoEntry);
        let after = c.stats().unwrap();
        assert_eq!(after["ops.get"] - before["ops.get"], 2);
        assert_eq!(after["errors.ENOENT"] - before["errors.ENOENT"], 1);
        assert_eq!(after["ops.create"] - before["ops.create"], 1);
        c.close().unwrap();
        let closed = c.stats().unwrap(); // still readable after close
        assert_eq!(closed["ops.get"], after["ops.get"]);
        assert_eq!(closed["session.CLOSED"], 1);
    });
}

#[test]
fn log_callback_hears_session_connected_then_nothing_once_off() {
    let _turn = LOG_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let _off = LogOff;
    for_each_backend("log", |url| {
        let scheme = scheme(url).to_owned();
        let lines: Lines = Arc::default();
        offkv::set_log_callback(collect(&lines), Level::Info).unwrap();
        let c = open(url);
        let connected = |lines: &Lines| {
            lines
                .lock()
                .unwrap()
                .iter()
                .find(|(_, comp, msg)| *comp == scheme && msg.contains("session CONNECTED"))
                .cloned()
        };
        eventually("a session CONNECTED line", || connected(&lines).is_some());
        assert_eq!(connected(&lines).unwrap().0, Level::Info);
        c.close().unwrap();
        offkv::clear_log_callback().unwrap();
        let seen = lines.lock().unwrap().len();
        drop(open(url)); // CONNECTED and CLOSED again: not told
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(lines.lock().unwrap().len(), seen);
        // The callback was dropped: this test holds the only reference left.
        assert_eq!(Arc::strong_count(&lines), 1);
    });
}

#[test]
fn log_callback_panics_stay_in_rust() {
    let _turn = LOG_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let _off = LogOff;
    let before = offkv::callback_panics();
    offkv::set_log_callback(
        Box::new(|_, _, _| panic!("a log callback panics (expected by the test)")),
        Level::Info,
    )
    .unwrap();
    drop(open("mem://rs-log-panic"));
    offkv::clear_log_callback().unwrap();
    assert!(offkv::callback_panics() > before);
    assert!(Level::Error < Level::Debug);
}

#[test]
fn testkit_end_watches_ends_with_the_code_while_the_session_stays() {
    for_each_backend("testkit", |url| {
        let wait = Some(common::WAIT);
        let c = open(url);
        c.create("/t", b"", CreateMode::Persistent).unwrap();
        let (_, _, one_shot) = c.get_watch("/t").unwrap();
        let persistent = c.watch_persistent("/t").unwrap();
        c.testkit_end_watches(ErrorKind::Auth).unwrap();
        for w in [&one_shot, &persistent] {
            let e = w.wait(wait).unwrap();
            assert_eq!(e.kind, EventKind::Ended);
            assert_eq!(e.error, Some(ErrorKind::Auth));
            assert_eq!(e.session_state, Some(SessionState::Connected));
        }
        assert_eq!(c.session_state().unwrap(), SessionState::Connected);
        // A new watch works.
        let (_, _, again) = c.get_watch("/t").unwrap();
        c.set("/t", b"x").unwrap();
        assert_eq!(again.wait(wait).unwrap().kind, EventKind::Changed);
        c.close().unwrap();
        assert_eq!(
            c.testkit_end_watches(ErrorKind::Auth).unwrap_err().kind,
            ErrorKind::Closed
        );
    });
}
