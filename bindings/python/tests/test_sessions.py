"""Sessions, closing, and calls on a closed client."""

import threading

import pytest

import offkv
from offkv import SessionState

from conftest import wait_for


def test_session_callback_sees_connected_and_closed(env):
    events = []
    idents = []

    def on_session(ev):
        events.append(ev)
        idents.append(threading.get_ident())

    c = env.open(on_session=on_session, session_timeout=5, connect_timeout=5,
                 operation_timeout=5)
    wait_for(lambda: events)
    assert events[0].type == offkv.EventType.SESSION
    assert events[0].session_state == SessionState.CONNECTED and events[0].key is None
    c.close()
    assert events[-1].session_state == SessionState.CLOSED
    assert threading.get_ident() not in idents


def test_closed_client_raises_closed_error_everywhere(env):
    c = env.open()
    c.create("/k", b"v")
    t = c.transaction().set("/k", b"w")
    lock = c.lock("/lk")
    c.close()
    c.close()  # twice is fine
    assert c.closed and c.session_state == SessionState.CLOSED
    calls = [
        lambda: c.create("/x", b""), lambda: c.set("/k", b""), lambda: c.cas("/k", b"", 1),
        lambda: c.get("/k"), lambda: c.exists("/k"), lambda: c.children("/"),
        lambda: c.erase("/k"), lambda: c.get_watch("/k"), lambda: c.exists_watch("/k"),
        lambda: c.children_watch("/"), lambda: c.watch("/"), lambda: c.commit(t),
        lambda: c.election("/el"), lambda: c.detector("/el"), lambda: c.group("/g"),
        lambda: c.lock("/l"), lambda: lock.acquire(timeout=0.1),
    ]
    for call in calls:
        with pytest.raises(offkv.ClosedError):
            call()
    # nothing was changed by any of them
    assert env.client.get("/k") == offkv.Node(b"v", 1)


def test_close_from_a_callback(env):
    c = env.open()
    c.create("/x", b"")
    done = threading.Event()

    def cb(ev):
        c.close()  # allowed: returns at once on the event thread
        done.set()

    c.get_watch("/x", cb)
    env.client.set("/x", b"1")
    assert done.wait(5)
    wait_for(lambda: c.closed)
    with pytest.raises(offkv.ClosedError):
        c.get("/x")


def test_client_dropped_in_its_own_callback(env):
    """The last reference to a client dropped inside its callback must not free it
    on its own event thread (the binding closes it there and frees it from a helper
    thread)."""
    holder = {"c": offkv.open(env.url)}
    holder["c"].create("/gone", b"")
    holder["c"].create("/gone-eph", b"", ephemeral=True)
    done = threading.Event()

    def cb(ev):
        holder.pop("c", None)  # the last reference: Client.__del__ runs here
        done.set()

    holder["c"].get_watch("/gone", cb)
    env.client.set("/gone", b"1")
    assert done.wait(5)
    wait_for(lambda: env.client.exists("/gone-eph") == 0)


def test_ephemerals_of_a_dropped_client_vanish(env):
    c = offkv.open(env.url)
    c.create("/e", b"", ephemeral=True)
    assert env.client.exists("/e") == 1
    del c  # garbage collection closes the client
    assert env.client.exists("/e") == 0


def test_repr_and_url(env):
    assert env.url in repr(env.client)
    assert env.client.url == env.url


EXIT_SCRIPT = r'''
import sys, threading, time, offkv
url = sys.argv[1]
c = offkv.open(url, on_session=lambda e: None)
c2 = offkv.open(url)
c.create("/x", b"")
c.get_watch("/x", lambda e: time.sleep(0.01))
w = c.watch("/", lambda e: None)
e = c.election("/el", b"a", lambda ev: None)
d = c2.detector("/el", lambda ev: None)
g = c2.group("/g", lambda ev: None); g.join(b"m")
lk = c.lock("/lk"); lk.acquire()
_, pending = c2.exists_watch("/never")
threading.Thread(target=lambda: pending.wait(None), daemon=True).start()
def spam():
    while True:
        try:
            c2.set("/x", b"1")
        except offkv.Error:
            return
threading.Thread(target=spam, daemon=True).start()
time.sleep(0.2)
print("exiting", flush=True)
'''


def test_interpreter_exit_with_everything_open(env):
    """Exiting with open clients, live callbacks, recipes, a thread blocked in a wait
    and a thread writing: no crash, no hang, exit code 0."""
    import os
    import subprocess
    import sys

    pkg_parent = os.path.dirname(os.path.dirname(offkv.__file__))
    environ = dict(os.environ, PYTHONPATH=pkg_parent)
    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, env.url], env=environ,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exiting"
