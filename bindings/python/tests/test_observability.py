"""Logs (offkv_set_log_callback), counters (offkv_get_stats) and the test kit
(offkv_testkit_end_watches), on every backend."""

import logging
import threading
import time

import pytest

import offkv
from offkv import ErrorCode, EventType, LogLevel, SessionState

from conftest import wait_for


@pytest.fixture
def log_off():
    """Turns the process-wide log callback off however the test ends."""
    yield
    offkv.set_log_callback(None)


def test_stats_count_a_get_and_an_enoent(env):
    c = env.open()
    before = c.stats()
    for name in ("ops.get", "errors.ENOENT", "retries", "reconnects",
                 "session.CONNECTED", "watches.armed", "watches.fired"):
        assert name in before and isinstance(before[name], int)
    assert before["session.CONNECTED"] == 1
    c.create("/s", b"1")
    c.get("/s")
    with pytest.raises(offkv.NoNodeError):
        c.get("/missing")
    after = c.stats()
    assert after["ops.get"] - before["ops.get"] == 2
    assert after["errors.ENOENT"] - before["errors.ENOENT"] == 1
    assert after["ops.create"] - before["ops.create"] == 1
    c.close()
    closed = c.stats()  # still readable after close
    assert closed["ops.get"] == after["ops.get"]
    assert closed["session.CLOSED"] == 1


def test_log_callback_hears_session_connected_then_nothing_once_off(env, log_off):
    lines = []
    threads = set()
    lock = threading.Lock()

    def on_log(level, component, message):
        with lock:
            lines.append((level, component, message))
            threads.add(threading.get_ident())

    with pytest.raises(offkv.InvalidArgumentError):
        offkv.set_log_callback(on_log, 5)
    offkv.set_log_callback(on_log, LogLevel.INFO)
    c = env.open()

    def connected():
        with lock:
            return [l for l in lines
                    if l[1] == env.scheme and "session CONNECTED" in l[2]]

    found = wait_for(connected)
    assert found[0][0] == LogLevel.INFO and isinstance(found[0][0], LogLevel)
    c.close()
    offkv.set_log_callback(None)
    with lock:
        seen = len(lines)
    env.open().close()  # CONNECTED and CLOSED again: not told
    time.sleep(0.2)
    with lock:
        assert len(lines) == seen


def test_log_callback_exception_goes_to_the_hook(env, log_off, errors_hook):
    def bad(level, component, message):
        raise RuntimeError("boom")

    offkv.set_log_callback(bad, "info")
    env.open()
    wait_for(lambda: errors_hook)
    offkv.set_log_callback(None)
    exc, cb = errors_hook[0]
    assert isinstance(exc, RuntimeError) and cb is bad


def test_log_to_logging_maps_levels_and_components(env, log_off, caplog):
    caplog.set_level(logging.DEBUG, logger="offkv-test")
    offkv.log_to_logging("offkv-test", LogLevel.INFO)
    c = env.open()
    name = f"offkv-test.{env.scheme}"
    wait_for(lambda: [r for r in caplog.records
                      if r.name == name and "session CONNECTED" in r.getMessage()])
    c.close()
    offkv.log_to_logging(None)
    rec = [r for r in caplog.records
           if r.name == name and "session CONNECTED" in r.getMessage()][0]
    assert rec.levelno == logging.INFO
    assert LogLevel.WARN.logging_level == logging.WARNING


def test_testkit_end_watches_ends_with_the_code_and_the_session_stays(env):
    c = env.client
    c.create("/t", b"")
    _, one_shot = c.get_watch("/t")
    persistent = c.watch("/t")
    called = []
    c.exists_watch("/t", called.append)
    c.testkit_end_watches(ErrorCode.EAUTH)
    for w in (one_shot, persistent):
        ev = w.wait(10)
        assert ev.type == EventType.ENDED
        assert ev.error == ErrorCode.EAUTH
        assert ev.session_state == SessionState.CONNECTED
    wait_for(lambda: called)
    assert called[0].ended and called[0].error == ErrorCode.EAUTH
    assert c.session_state == SessionState.CONNECTED
    # A new watch works.
    _, again = c.get_watch("/t")
    c.set("/t", b"x")
    assert again.wait(10).type == EventType.CHANGED
    with pytest.raises(offkv.InvalidArgumentError):
        c.testkit_end_watches(ErrorCode.OK)
    c.close()
    with pytest.raises(offkv.ClosedError):
        c.testkit_end_watches(ErrorCode.EAUTH)
