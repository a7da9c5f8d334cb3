"""Watches: one-shot and persistent; callbacks, waits, cancel, threads, the GIL."""

import gc
import logging
import sys
import threading
import time

import pytest

import offkv
from offkv import EventType

from conftest import wait_for


def test_get_watch_fires_once_with_changed(client):
    client.create("/w", b"1")
    node, w = client.get_watch("/w")
    assert node == offkv.Node(b"1", 1)
    client.set("/w", b"2")
    client.set("/w", b"3")
    ev = w.wait(5)
    assert ev.type == EventType.CHANGED and ev.key == "/w" and ev.version == 2
    assert w.wait(0) == ev  # a fired one-shot watch returns its event every time
    w.close()
    assert w.closed
    with pytest.raises(offkv.ClosedError):
        w.wait(0)


def test_exists_watch_on_absent_key_fires_on_creation(client):
    version, w = client.exists_watch("/later")
    assert version == 0
    with pytest.raises(offkv.TimedOutError):
        w.wait(0.05)  # no spurious fire
    client.create("/later", b"")
    ev = w.wait(5)
    assert ev.type == EventType.CREATED and ev.version == 1


def test_children_watch_and_deleted(client):
    client.create("/p")
    children, w = client.children_watch("/p")
    assert children == []
    client.create("/p/c")
    assert w.wait(5).type == EventType.CHILDREN
    _, w2 = client.get_watch("/p/c")
    client.erase("/p")
    ev = w2.wait(5)
    assert ev.type == EventType.DELETED and ev.version == 0


def test_failed_read_leaves_no_watch(client):
    calls = []
    with pytest.raises(offkv.NoNodeError):
        client.get_watch("/absent", calls.append)
    client.create("/absent")
    time.sleep(0.05)
    assert calls == []


def test_callback_runs_on_event_thread_from_change_in_other_thread(env, client):
    client.create("/cb", b"")
    got = []
    done = threading.Event()

    def cb(event):
        got.append((threading.get_ident(), event))
        done.set()

    _, w = client.get_watch("/cb", cb)
    writer = env.open()
    t = threading.Thread(target=writer.set, args=("/cb", b"from another thread"))
    t.start()
    t.join()
    assert done.wait(5)
    ident, event = got[0]
    assert ident not in (threading.get_ident(), t.ident)
    assert event.type == EventType.CHANGED and event.key == "/cb"
    # callback and wait together
    assert w.wait(1) == event
    time.sleep(0.05)
    assert len(got) == 1


def test_callback_only_watch_needs_no_reference(client):
    client.create("/ff", b"")
    got = []
    client.get_watch("/ff", got.append)  # the Watch object is dropped at once
    gc.collect()
    client.set("/ff", b"x")
    wait_for(lambda: got)
    assert got[0].type == EventType.CHANGED
    wait_for(lambda: not client._live)  # released once it fired


def test_cancel_stops_callbacks(client):
    client.create("/c", b"")
    got = []
    _, w = client.get_watch("/c", got.append)
    w.cancel()
    w.cancel()  # twice is fine
    client.set("/c", b"x")
    time.sleep(0.1)
    assert got == []
    with pytest.raises(offkv.ClosedError):
        w.wait(0)
    assert not client._live


def test_cancel_wakes_a_blocked_wait(client):
    _, w = client.exists_watch("/blocked")
    result = []

    def waiter():
        try:
            w.wait(10)
        except offkv.ClosedError as e:
            result.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)
    w.close()  # frees only once the waiter has left
    t.join(5)
    assert not t.is_alive() and isinstance(result[0], offkv.ClosedError)


def test_callback_may_call_offkv_and_rearm(client):
    client.create("/re", b"0")
    seen = []

    def cb(event):
        node, _ = client.get_watch("/re", cb)  # re-arm from the callback
        seen.append(node.value)

    client.get_watch("/re", cb)
    for i in range(1, 4):
        client.set("/re", str(i).encode())
        wait_for(lambda i=i: len(seen) >= i)
    assert seen[-1] == b"3"


def test_ended_on_close(env):
    c = env.open()
    c.create("/x", b"")
    got = []
    _, w = c.get_watch("/x", got.append)
    c.close()  # delivers ENDED before it returns
    ev = w.wait(1)
    assert ev.type == EventType.ENDED and ev.ended
    assert ev.error == offkv.ErrorCode.ECLOSED
    assert ev.session_state == offkv.SessionState.CLOSED
    assert got and got[0].type == EventType.ENDED


def test_persistent_watch_is_iterable(env, client):
    pw = client.watch("/tree")
    events = pw.events(timeout=5)  # stops if nothing comes within 5 s
    # One change at a time: Consul's emulation may fold a node created and erased
    # between two of its listings (docs/semantics.md).
    for action, expected in [
        (lambda: client.create("/tree", b""), (EventType.CREATED, "/tree", 1)),
        (lambda: client.create("/tree/a", b""), (EventType.CREATED, "/tree/a", 1)),
        (lambda: client.set("/tree/a", b"1"), (EventType.CHANGED, "/tree/a", 2)),
    ]:
        action()
        ev = next(events)
        assert (ev.type, ev.key, ev.version) == expected
    client.erase("/tree")
    deleted = {(e.type, e.key) for e in (next(events), next(events))}
    assert deleted == {(EventType.DELETED, "/tree/a"), (EventType.DELETED, "/tree")}
    client.close()
    rest = list(pw)  # iteration ends after ENDED
    assert rest[-1].type == EventType.ENDED


def test_persistent_watch_callback(client):
    got = []
    w = client.watch("/", got.append)
    for i in range(5):
        client.set(f"/k{i}", b"")
    wait_for(lambda: len(got) == 5)
    assert [e.key for e in got] == [f"/k{i}" for i in range(5)]
    w.cancel()
    client.set("/after", b"")
    time.sleep(0.05)
    assert len(got) == 5


def test_raising_callback_goes_to_the_hook(client, errors_hook):
    client.create("/r", b"")

    def bad(event):
        raise RuntimeError("boom in callback")

    client.get_watch("/r", bad)
    client.set("/r", b"1")
    wait_for(lambda: errors_hook)
    exc, cb = errors_hook[0]
    assert isinstance(exc, RuntimeError) and cb is bad
    # the client is fine afterwards
    assert client.get("/r").value == b"1"


def test_default_hook_logs(client, caplog):
    client.create("/log", b"")
    client.get_watch("/log", lambda e: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="offkv"):
        client.set("/log", b"1")
        wait_for(lambda: [r for r in caplog.records if r.name == "offkv"])
    rec = [r for r in caplog.records if r.name == "offkv"][0]
    assert rec.exc_info[0] is ZeroDivisionError


def test_raising_hook_goes_to_unraisablehook(client, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u))

    def hook(exc, cb):
        raise ValueError("hook is broken too")

    previous = offkv.set_callback_error_hook(hook)
    try:
        client.create("/u", b"")
        client.get_watch("/u", lambda e: 1 / 0)
        client.set("/u", b"1")
        wait_for(lambda: seen)
    finally:
        offkv.set_callback_error_hook(previous)
    assert seen[0].exc_type is ValueError
    assert client.get("/u").value == b"1"  # and the process is fine


def _count_while(blocking, seconds):
    """Runs blocking() in this thread while another thread counts."""
    stop = threading.Event()
    counts = [0]

    def counter():
        while not stop.is_set():
            counts[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    time.sleep(0.05)
    start_count = counts[0]
    start = time.monotonic()
    try:
        blocking()
    finally:
        elapsed = time.monotonic() - start
        progressed = counts[0] - start_count
        stop.set()
        t.join()
    return elapsed, progressed


def test_gil_released_in_watch_wait_main_thread(client):
    _, w = client.exists_watch("/gil")

    def block():
        with pytest.raises(offkv.TimedOutError):
            w.wait(2)

    elapsed, progressed = _count_while(block, 2)
    assert elapsed >= 1.9
    assert progressed > 100_000, progressed


def test_gil_released_in_watch_wait_other_thread(client):
    """A thread blocks in one 2 s offkv_watch_wait; the main thread keeps counting."""
    _, w = client.exists_watch("/gil2")
    timings = []

    def block():
        start = time.monotonic()
        try:
            w.wait(2)
        except offkv.TimedOutError:
            timings.append(time.monotonic() - start)

    t = threading.Thread(target=block)
    t.start()
    time.sleep(0.05)
    count = 0
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        count += 1
    t.join()
    assert timings and timings[0] >= 1.9
    assert count > 100_000, count


def test_watch_fired_while_other_thread_waits(client):
    """A watch waited on in one thread, fired by a write from another thread."""
    _, w = client.exists_watch("/x-thread")
    result = []
    t = threading.Thread(target=lambda: result.append(w.wait(10)))
    t.start()
    time.sleep(0.1)
    writer = threading.Thread(target=client.create, args=("/x-thread", b""))
    writer.start()
    t.join(10)
    writer.join(10)
    assert result and result[0].type == EventType.CREATED
