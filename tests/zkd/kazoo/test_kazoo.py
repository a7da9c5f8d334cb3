"""kazoo (PyPI), unmodified, against offkv-zkd: CRUD, stats, watches, transactions,
sessions and the recipes Lock, Election, Party, Counter and Barrier.

ZKD_HOSTS names the server (tests/zkd/kazoo_test.sh starts one)."""
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, LockTimeout, NoChildrenForEphemeralsError,
                              NodeExistsError, NoNodeError, NotEmptyError,
                              RolledBackError, RuntimeInconsistency)
from kazoo.protocol.states import EventType, KazooState

HOSTS = os.environ["ZKD_HOSTS"]


def connect(timeout=10.0):
    c = KazooClient(hosts=HOSTS, timeout=timeout)
    c.start(timeout=15)
    return c


@pytest.fixture
def zk():
    c = connect()
    yield c
    c.stop()
    c.close()


@pytest.fixture
def root(zk):
    path = "/kazoo-" + uuid.uuid4().hex[:8]
    zk.create(path)
    yield path
    zk.delete(path, recursive=True)


def wait_for(cond, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_crud_and_stat(zk, root):
    p = root + "/node"
    assert zk.create(p, b"v1") == p
    with pytest.raises(NodeExistsError):
        zk.create(p, b"again")
    with pytest.raises(NoNodeError):
        zk.create(root + "/missing/child", b"")
    data, stat = zk.get(p)
    assert data == b"v1"
    assert stat.version == 0 and stat.data_length == 2 and stat.numChildren == 0
    assert stat.ephemeralOwner == 0 and stat.czxid == stat.mzxid
    stat2 = zk.set(p, b"v2", version=0)
    assert stat2.version == 1 and stat2.mzxid > stat.mzxid and stat2.czxid == stat.czxid
    with pytest.raises(BadVersionError):
        zk.set(p, b"v3", version=0)
    with pytest.raises(NoNodeError):
        zk.set(root + "/absent", b"x")
    with pytest.raises(NoNodeError):
        zk.set(root + "/absent", b"x", version=3)
    assert zk.exists(root + "/absent") is None
    assert zk.exists(p).version == 1
    zk.create(p + "/c1", b"")
    zk.create(p + "/c2", b"")
    assert sorted(zk.get_children(p)) == ["c1", "c2"]
    children, pstat = zk.get_children(p, include_data=True)
    assert sorted(children) == ["c1", "c2"] and pstat.numChildren == 2
    assert zk.exists(p).numChildren == 2
    assert zk.exists(p).cversion == 2
    with pytest.raises(NotEmptyError):
        zk.delete(p)
    with pytest.raises(BadVersionError):
        zk.delete(p + "/c1", version=7)
    zk.delete(p + "/c1", version=0)
    zk.delete(p, recursive=True)
    assert zk.exists(p) is None
    zk.ensure_path(root + "/a/b/c")
    assert zk.exists(root + "/a/b/c") is not None
    zk.create(root + "/x/y/z", b"deep", makepath=True)
    assert zk.get(root + "/x/y/z")[0] == b"deep"
    path, stat = zk.create(root + "/withstat", b"abc", include_data=True)
    assert path == root + "/withstat" and stat.version == 0 and stat.data_length == 3
    big = os.urandom(200 * 1024)
    zk.create(root + "/big", big)
    assert zk.get(root + "/big")[0] == big
    assert "zookeeper" in zk.get_children("/")
    zk.sync(root)


def test_sequential_and_ephemeral(zk, root):
    a = zk.create(root + "/s-", b"", sequence=True)
    b = zk.create(root + "/s-", b"", sequence=True)
    assert a.startswith(root + "/s-") and len(a) == len(root) + 3 + 10
    assert int(b[-10:]) > int(a[-10:])
    e = zk.create(root + "/eph", b"", ephemeral=True)
    assert zk.exists(e).ephemeralOwner == zk.client_id[0]
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(e + "/child", b"")
    other = connect()
    try:
        assert other.exists(e) is not None
    finally:
        other.stop()
        other.close()
    es = zk.create(root + "/eseq-", b"", ephemeral=True, sequence=True)
    zk.stop()
    zk.close()
    checker = connect()
    try:
        assert checker.exists(e) is None
        assert checker.exists(es) is None
        assert checker.exists(a) is not None
    finally:
        checker.stop()
        checker.close()
    zk.start()


def test_one_shot_watches(zk, root):
    p = root + "/w"
    events = []
    zk.create(p, b"1")
    zk.get(p, watch=events.append)
    zk.get(p, watch=events.append)  # the same watch twice: one event
    zk.set(p, b"2")
    zk.set(p, b"3")
    assert wait_for(lambda: len(events) >= 1)
    time.sleep(0.3)
    assert [e.type for e in events] == [EventType.CHANGED]
    created = []
    assert zk.exists(root + "/later", watch=created.append) is None
    zk.create(root + "/later", b"")
    assert wait_for(lambda: created)
    assert created[0].type == EventType.CREATED and created[0].path == root + "/later"
    kids = []
    zk.get_children(p, watch=kids.append)
    zk.create(p + "/k", b"")
    assert wait_for(lambda: kids)
    assert kids[0].type == EventType.CHILD
    deleted = []
    zk.get(p + "/k", watch=deleted.append)
    zk.get_children(p + "/k", watch=deleted.append)
    zk.delete(p + "/k")
    assert wait_for(lambda: deleted)
    time.sleep(0.3)
    # One NodeDeleted from the server; kazoo hands it to the data and the child watcher.
    assert [e.type for e in deleted] == [EventType.DELETED, EventType.DELETED]


def test_data_and_children_watch_recipes(zk, root):
    p = root + "/dw"
    seen, kids = [], []

    @zk.DataWatch(p)
    def on_data(data, stat):
        seen.append(data)

    @zk.ChildrenWatch(root)
    def on_children(children):
        kids.append(sorted(children))

    zk.create(p, b"a")
    zk.set(p, b"b")
    assert wait_for(lambda: seen and seen[-1] == b"b")
    assert seen[0] is None
    assert wait_for(lambda: kids and kids[-1] == ["dw"])
    zk.delete(p)
    assert wait_for(lambda: seen[-1] is None)
    assert wait_for(lambda: kids[-1] == [])


def test_other_session_sees_changes(zk, root):
    other = connect()
    try:
        events = []
        other.get_children(root, watch=events.append)
        zk.create(root + "/n", b"")
        assert wait_for(lambda: events)
        assert events[0].type == EventType.CHILD and events[0].path == root
    finally:
        other.stop()
        other.close()


def test_transactions(zk, root):
    zk.create(root + "/t", b"0")
    tx = zk.transaction()
    tx.check(root + "/t", 0)
    tx.create(root + "/t/a", b"a")
    tx.set_data(root + "/t", b"1")
    tx.create(root + "/t/s-", b"", sequence=True)
    results = tx.commit()
    assert results[0] is True and results[1] == root + "/t/a"
    assert results[2].version == 1
    assert results[3].startswith(root + "/t/s-")
    assert zk.get(root + "/t")[0] == b"1"
    tx = zk.transaction()
    tx.create(root + "/t/b", b"")
    tx.check(root + "/t", 0)  # stale
    tx.delete(root + "/t/a")
    results = tx.commit()
    assert isinstance(results[0], RolledBackError)
    assert isinstance(results[1], BadVersionError)
    assert isinstance(results[2], RuntimeInconsistency)
    assert zk.exists(root + "/t/b") is None and zk.exists(root + "/t/a") is not None
    tx = zk.transaction()
    tx.delete(root + "/t/a", version=0)
    tx.delete(results and root + "/t/nope")
    results = tx.commit()
    assert isinstance(results[0], RolledBackError) and isinstance(results[1], NoNodeError)
    tx = zk.transaction()
    for c in zk.get_children(root + "/t"):
        tx.delete(root + "/t/" + c)
    tx.delete(root + "/t")
    assert all(r is True for r in tx.commit())
    assert zk.exists(root + "/t") is None


def test_auth_and_acl(zk, root):
    zk.add_auth("digest", "alice:secret")
    from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE
    acl = make_digest_acl("alice", "secret", all=True)
    zk.create(root + "/secret", b"s", acl=[acl])
    acls, stat = zk.get_acls(root + "/secret")
    assert stat.version == 0
    zk.set_acls(root + "/secret", OPEN_ACL_UNSAFE)
    assert zk.get_acls(root + "/secret")[1].aversion == 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_proxy(port):
    proxy = os.path.join(os.path.dirname(__file__), "..", "..", "servers", "tcp_proxy.py")
    p = subprocess.Popen([sys.executable, proxy, str(port), HOSTS])
    assert wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10)
    return p


def test_session_survives_reconnection(root):
    """A cut connection: the client comes back to its session, ephemerals intact."""
    port = free_port()
    proxy = start_proxy(port)
    states = []
    c = KazooClient(hosts="127.0.0.1:%d" % port, timeout=6.0)
    c.add_listener(states.append)
    try:
        c.start(timeout=15)
        sid = c.client_id[0]
        c.create(root + "/mine", b"", ephemeral=True)
        c.create(root + "/watched", b"")
        events = []
        c.get(root + "/watched", watch=events.append)
        proxy.terminate()
        proxy.wait()
        assert wait_for(lambda: KazooState.SUSPENDED in states)
        with _Other() as other:
            other.set(root + "/watched", b"changed while away")
        proxy = start_proxy(port)
        assert wait_for(lambda: c.state == KazooState.CONNECTED and states[-1] == KazooState.CONNECTED)
        assert c.client_id[0] == sid
        assert c.exists(root + "/mine").ephemeralOwner == sid
        # kazoo itself drops its one-shot watches on a connection loss, telling each
        # an event of type NONE (it sends no setWatches); the Java client keeps them
        # (tests/zkd/curator).
        assert wait_for(lambda: events)
        assert [e.type for e in events] == [EventType.NONE]
        assert c.get(root + "/watched")[0] == b"changed while away"
    finally:
        c.stop()
        c.close()
        proxy.terminate()
        proxy.wait()


class _Other:
    def __enter__(self):
        self.c = connect()
        return self.c

    def __exit__(self, *exc):
        self.c.stop()
        self.c.close()


def test_session_expires(root):
    """A client that stays away longer than its session timeout finds its session
    expired: its ephemerals are gone."""
    port = free_port()
    proxy = start_proxy(port)
    states = []
    c = KazooClient(hosts="127.0.0.1:%d" % port, timeout=4.0)
    c.add_listener(states.append)
    try:
        c.start(timeout=15)
        c.create(root + "/gone", b"", ephemeral=True)
        proxy.terminate()
        proxy.wait()
        with _Other() as other:
            assert wait_for(lambda: other.exists(root + "/gone") is None, 15)
        proxy = start_proxy(port)
        assert wait_for(lambda: KazooState.LOST in states, 15)
        assert wait_for(lambda: c.state == KazooState.CONNECTED, 15)
    finally:
        c.stop()
        c.close()
        proxy.terminate()
        proxy.wait()


def test_lock(root):
    a, b = connect(), connect()
    try:
        la = a.Lock(root + "/lock", "a")
        lb = b.Lock(root + "/lock", "b")
        assert la.acquire(timeout=10)
        with pytest.raises(LockTimeout):
            lb.acquire(timeout=0.5)
        assert lb.contenders() == ["a"]
        got = threading.Event()

        def take():
            if lb.acquire(timeout=15):
                got.set()
        t = threading.Thread(target=take)
        t.start()
        time.sleep(0.3)
        assert not got.is_set()
        la.release()
        assert got.wait(10)
        t.join()
        lb.release()
        # A holder whose session ends gives the lock up.
        assert la.acquire(timeout=10)
        a.stop()
        assert lb.acquire(timeout=10)
        lb.release()
    finally:
        for c in (a, b):
            c.stop()
            c.close()


def test_election(root):
    a, b = connect(), connect()
    try:
        leaders = []
        ea = a.Election(root + "/election", "a")
        eb = b.Election(root + "/election", "b")
        release_a = threading.Event()

        def lead(name, release):
            leaders.append(name)
            release.wait(15)
        ta = threading.Thread(target=ea.run, args=(lead, "a", release_a))
        ta.start()
        assert wait_for(lambda: leaders == ["a"])
        release_b = threading.Event()
        tb = threading.Thread(target=eb.run, args=(lead, "b", release_b))
        tb.start()
        assert wait_for(lambda: len(eb.contenders()) == 2)
        assert eb.contenders() == ["a", "b"]
        time.sleep(0.3)
        assert leaders == ["a"]
        release_a.set()
        ta.join(10)
        assert wait_for(lambda: leaders == ["a", "b"])
        release_b.set()
        tb.join(10)
    finally:
        for c in (a, b):
            c.stop()
            c.close()


def test_party(root):
    a, b = connect(), connect()
    try:
        pa = a.Party(root + "/party", "alice")
        pb = b.Party(root + "/party", "bob")
        pa.join()
        pb.join()
        assert sorted(pa) == ["alice", "bob"] and len(pa) == 2
        pb.leave()
        assert list(pa) == ["alice"]
        sp = b.ShallowParty(root + "/shallow", "carol")
        sp.join()
        assert list(a.ShallowParty(root + "/shallow")) == ["carol"]
        b.stop()
        assert wait_for(lambda: list(a.ShallowParty(root + "/shallow")) == [])
    finally:
        for c in (a, b):
            c.stop()
            c.close()


def test_counter(root):
    clients = [connect(), connect()]
    try:
        def bump(c):
            counter = c.Counter(root + "/counter")
            for _ in range(20):
                counter += 1
        threads = [threading.Thread(target=bump, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert clients[0].Counter(root + "/counter").value == 40
        f = clients[1].Counter(root + "/fcounter", default=0.5)
        f += 1.25
        assert f.value == 1.75
    finally:
        for c in clients:
            c.stop()
            c.close()


def test_barrier(root):
    a, b = connect(), connect()
    try:
        ba = a.Barrier(root + "/barrier")
        ba.create()
        passed = threading.Event()

        def wait():
            if b.Barrier(root + "/barrier").wait(15):
                passed.set()
        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.3)
        assert not passed.is_set()
        ba.remove()
        assert passed.wait(10)
        t.join()
    finally:
        for c in (a, b):
            c.stop()
            c.close()
