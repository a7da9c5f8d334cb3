"""The recipes: election, detector, group, lock."""

import re
import threading
import time

import pytest

import offkv
from offkv import EventType

from conftest import wait_for


def test_election_between_two_clients(env):
    c1, c2 = env.open(), env.open()
    ev1, ev2 = [], []
    e1 = c1.election("/svc/leader", b"host1:1", ev1.append)
    assert e1.wait(True, 5)
    e2 = c2.election("/svc/leader", b"host2:2", ev2.append)
    assert not e2.wait(True, 0.2)
    assert e1.is_leader and not e2.is_leader
    assert e1.member.payload == b"host1:1" and e1.member.key.startswith("/svc/leader/")
    assert e1.member.sequence < e2.member.sequence
    wait_for(lambda: ev1)
    assert ev1[0].type == EventType.LEADER and ev1[0].group == "/svc/leader"
    assert ev1[0].member == e1.member
    # the leader's session ends: the other one takes over
    c1.close()
    assert e2.wait(True, 5)
    assert ev1[-1].type == EventType.NOT_LEADER
    assert ev1[-1].error == offkv.ErrorCode.ECLOSED
    wait_for(lambda: ev2 and ev2[-1].type == EventType.LEADER)
    assert not e1.is_leader


def test_at_most_one_leader_and_withdraw(env):
    clients = [env.open() for _ in range(3)]
    elections = [c.election("/el", str(i).encode()) for i, c in enumerate(clients)]
    for _ in range(3):
        leader = wait_for(lambda: [e for e in elections if e.is_leader])
        assert len(leader) == 1
        leader[0].withdraw()
        assert not leader[0].is_leader
        with pytest.raises(offkv.ClosedError):
            leader[0].wait(True, 1)
        elections.remove(leader[0])
        if elections:
            assert any(e.wait(True, 5) for e in elections)


def test_detector_follows_the_leader(env):
    c1, c2, d_client = env.open(), env.open(), env.open()
    seen = []
    det = d_client.detector("/svc", seen.append)
    assert det.leader is None
    e1 = c1.election("/svc", b"first")
    m = det.wait(None, 5)
    assert m.payload == b"first"
    e2 = c2.election("/svc", b"second")
    changes = det.changes(timeout=5)
    assert next(changes).payload == b"first"
    e1.close()
    assert next(changes).payload == b"second"
    e2.close()
    assert next(changes) is None
    wait_for(lambda: seen and seen[-1].member is None)
    assert all(ev.type == EventType.DETECTED for ev in seen)
    with pytest.raises(offkv.TimedOutError):
        det.wait(None, 0.05)
    det.close()
    with pytest.raises(offkv.ClosedError):
        _ = det.leader


def test_group_membership(env):
    a, b = env.open(), env.open()
    views = []
    watcher = a.group("/members", views.append)
    ga, gb = a.group("/members"), b.group("/members")
    ga.join(b"a")
    gb.join(b"b")
    assert [m.payload for m in watcher.members()] == [b"a", b"b"]
    assert ga.membership.payload == b"a"
    with pytest.raises(offkv.InvalidArgumentError):
        ga.join(b"again")
    gb.update(b"b2")
    wait_for(lambda: views and [m.payload for m in views[-1].members] == [b"a", b"b2"])
    b.close()  # its membership ends with its session
    wait_for(lambda: [m.payload for m in views[-1].members] == [b"a"])
    ga.leave()
    assert ga.membership is None
    assert watcher.members() == []
    assert all(v.type == EventType.MEMBERS for v in views)


def test_lock_context_manager_and_mutual_exclusion(env):
    c1, c2 = env.open(), env.open()
    inside = []
    overlap = []

    def worker(client, n):
        for _ in range(n):
            with client.lock("/locks/x", timeout=10) as lk:
                assert lk.held and lk.member is not None
                inside.append(1)
                if len(inside) > 1:
                    overlap.append(1)
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=worker, args=(c, 10)) for c in (c1, c2, c1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlap == []


def test_lock_timeouts_and_release(env):
    c1, c2 = env.open(), env.open()
    l1, l2 = c1.lock("/locks/y"), c2.lock("/locks/y")
    assert l1.acquire(timeout=5)
    assert not l2.acquire(timeout=0.1)
    assert not l2.acquire(blocking=False)
    with pytest.raises(offkv.TimedOutError) as info:
        with c2.lock("/locks/y", timeout=0.1):
            pass
    assert info.value.key == "/locks/y"
    with pytest.raises(offkv.InvalidArgumentError):
        l1.acquire(timeout=0)  # not reentrant
    l1.release()
    with pytest.raises(offkv.InvalidArgumentError):
        l1.release()
    assert l2.acquire(timeout=5) and l2.locked()
    c2.close()  # the holder's session ends: the lock is free again
    assert l1.acquire(timeout=5)
    l1.close()


def test_raising_recipe_callback(env, errors_hook):
    c = env.open()

    def bad(ev):
        raise KeyError("recipe callback")

    e = c.election("/bad", b"", bad)
    assert e.wait(True, 5)
    wait_for(lambda: errors_hook)
    assert isinstance(errors_hook[0][0], KeyError)
    assert e.is_leader


def test_gil_released_in_recipe_waits(env):
    """Lock.acquire, Election.wait and Detector.wait block in C without the GIL."""
    c1, c2 = env.open(), env.open()
    holder = c1.lock("/gil/lock")
    assert holder.acquire(timeout=5)
    leader = c1.election("/gil/el", b"")
    assert leader.wait(True, 5)
    follower = c2.election("/gil/el", b"")
    det = c2.detector("/gil/el")
    det.wait(None, 5)
    current = det.leader.key
    blocked = [
        lambda: c2.lock("/gil/lock").acquire(timeout=1.0),
        lambda: follower.wait(True, 1.0),
        lambda: pytest.raises(offkv.TimedOutError, det.wait, current, 1.0),
    ]
    for call in blocked:
        t = threading.Thread(target=call)
        start = time.monotonic()
        t.start()
        count = 0
        while t.is_alive():
            count += 1
        assert time.monotonic() - start >= 0.9
        assert count > 50_000, count


def test_label_uses_mesos_layout(env):
    """label= reaches the core: member nodes are <label>_<10 digits> (Mesos' names),
    and a labeled recipe sees only members with its label."""
    master, c = env.open(), env.open()
    assert offkv.MESOS_MASTER_LABEL == "json.info"
    # A Mesos master's own node, written as Mesos writes it.
    master.create("/mesos", b"")
    native = master.create("/mesos/json.info_", b'{"id":"m1"}', ephemeral=True,
                           sequential=True)
    e = c.election("/mesos", b'{"id":"offkv"}', label=offkv.MESOS_MASTER_LABEL)
    assert e.label == "json.info" and "label='json.info'" in repr(e)
    member = wait_for(lambda: e.member)
    name = member.key.rsplit("/", 1)[1]
    assert re.fullmatch(r"json\.info_\d{10}", name)
    assert member.sequence == int(name[-10:]) > int(native[-10:])
    assert not e.wait(True, 0.2)  # behind the master
    det = c.detector("/mesos", label="json.info")
    assert det.label == "json.info"
    assert det.wait(None, 5).key == native
    assert c.detector("/mesos").leader is None  # offkv's own names: no member
    group = c.group("/mesos", label="json.info")
    assert [m.key for m in group.members()] == [native, member.key]
    master.close()  # the master's session ends: offkv's contender leads
    assert e.wait(True, 5)
    assert det.wait(native, 5).key == member.key
    group.join(b"g")
    assert re.fullmatch(r"/mesos/json\.info_\d{10}", group.membership.key)
    assert c.group("/mesos").members() == []
    for bad, says in [("", "empty"), ("a/b", "'/'"), ("json_info", "'_'")]:
        with pytest.raises(offkv.InvalidArgumentError, match=says):
            c.election("/m", b"", label=bad)
        with pytest.raises(offkv.InvalidArgumentError, match=says):
            c.detector("/m", label=bad)
        with pytest.raises(offkv.InvalidArgumentError, match=says):
            c.group("/m", label=bad)
    with pytest.raises(TypeError):
        c.detector("/m", label=5)
    assert c.exists("/m") == 0  # refused before any write
