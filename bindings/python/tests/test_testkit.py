"""The test kit's session faults (offkv_testkit_suspend / _resume / _expire), on
every backend: SUSPENDED and back, LOST by expiry, what operations, watches and an
election see meanwhile."""

import time

import pytest

import offkv
from offkv import ErrorCode, EventType, SessionState

from conftest import wait_for


def _states(events):
    return [e.session_state for e in events]


def test_suspend_then_resume_keeps_the_session(env):
    seen = []
    c = env.open(env.url, session_timeout=20, operation_timeout=1,
                 on_session=seen.append)
    c.create("/k", b"before")
    c.create("/e", b"mine", ephemeral=True)
    _, watch = c.get_watch("/k")
    c.testkit_suspend()
    assert c.session_state == SessionState.SUSPENDED
    start = time.monotonic()
    with pytest.raises(offkv.ConnectionLossError):
        c.set("/k", b"during")
    assert time.monotonic() - start >= 0.8
    # The store is unchanged and the session lives: its ephemeral is there.
    assert env.client.get("/k").value == b"before"
    assert env.client.get("/e").value == b"mine"
    env.client.set("/k", b"changed")
    c.testkit_resume()
    assert c.session_state == SessionState.CONNECTED
    assert watch.wait(10).type == EventType.CHANGED  # missed meanwhile, delivered
    assert env.client.get("/e").value == b"mine"
    c.set("/k", b"after")
    wait_for(lambda: len(seen) >= 3)
    assert _states(seen) == [SessionState.CONNECTED, SessionState.SUSPENDED,
                             SessionState.CONNECTED]


def test_expire_removes_the_ephemerals_and_starts_a_new_session(env):
    seen = []
    c = env.open(env.url, on_session=seen.append)
    c.create("/k", b"")
    c.create("/e", b"mine", ephemeral=True)
    _, watch = c.get_watch("/k")
    c.testkit_expire()
    assert env.client.exists("/e") == 0  # gone for everyone when it returns
    ev = watch.wait(10)
    assert ev.type == EventType.ENDED and ev.error == ErrorCode.ESESSION
    assert c.session_state == SessionState.CONNECTED
    wait_for(lambda: _states(seen)[-1:] == [SessionState.CONNECTED] and len(seen) >= 3)
    # (ZooKeeper's server drops the expired session's connection: SUSPENDED first.)
    assert [s for s in _states(seen) if s != SessionState.SUSPENDED] == [
        SessionState.CONNECTED, SessionState.LOST, SessionState.CONNECTED]
    c.create("/e", b"again", ephemeral=True)  # the new session works


def test_a_leader_steps_down_on_suspend_and_on_expire(env):
    c = env.open(env.url, session_timeout=20, operation_timeout=2)
    events = []
    e = c.election("/g", b"a", events.append)
    assert e.wait(True, 30)
    other = env.open().election("/g", b"b")
    wait_for(lambda: other.member is not None, 30)
    c.testkit_suspend()
    assert not e.is_leader
    wait_for(lambda: any(ev.type == EventType.NOT_LEADER for ev in events), 10)
    assert [ev for ev in events if ev.type == EventType.NOT_LEADER][0].error == \
        ErrorCode.ECONNLOSS
    assert not other.is_leader
    c.testkit_resume()
    assert e.wait(True, 30)
    c.testkit_expire()
    assert not e.is_leader
    assert other.wait(True, 30)


def test_the_test_kit_on_a_closed_client(env):
    c = env.open()
    c.close()
    for call in (c.testkit_suspend, c.testkit_resume, c.testkit_expire):
        with pytest.raises(offkv.ClosedError):
            call()
