"""Errors: one class per code, with code, key and the library's message."""

import pickle
import threading

import pytest

import offkv
from offkv import ErrorCode


def test_one_class_per_code():
    codes = [c for c in ErrorCode if c != ErrorCode.OK]
    assert len(codes) == offkv._offkv.OFFKV_ERROR_COUNT - 1
    classes = {offkv.error_class(c) for c in codes}
    assert len(classes) == len(codes)
    for code in codes:
        cls = offkv.error_class(code)
        assert issubclass(cls, offkv.Error) and cls.CODE == code
        assert getattr(offkv, cls.__name__) is cls
        # The same path the C wrapper takes for a failed call.
        e = offkv.errors._factory(int(code), "detail", None)
        assert type(e) is cls and e.code == code and e.message == "detail"
        assert offkv.error_name(code) in str(e)
        e2 = pickle.loads(pickle.dumps(e))
        assert type(e2) is cls and e2.code == code and e2.message == "detail"
    assert offkv.error_class(999) is offkv.Error


def test_builtin_bases():
    assert issubclass(offkv.TimedOutError, TimeoutError)
    assert issubclass(offkv.InvalidArgumentError, ValueError)
    assert issubclass(offkv.NoNodeError, LookupError)
    assert issubclass(offkv.ConnectionLossError, ConnectionError)


def _raises(cls, fn, *args, **kwargs):
    with pytest.raises(cls) as info:
        fn(*args, **kwargs)
    e = info.value
    assert type(e) is cls
    assert e.code == cls.CODE
    assert e.message  # offkv_last_error() of the failed call
    return e


def test_every_error_reachable_through_the_api(env, client):
    """Every code the API can produce on this backend, through real calls."""
    e = _raises(offkv.InvalidArgumentError, client.get, "no-slash")
    assert e.key == "no-slash" and "no-slash" in e.message
    _raises(offkv.InvalidArgumentError, client.set, "/a/", b"")
    e = _raises(offkv.NoNodeError, client.get, "/missing")
    assert e.key == "/missing"
    e = _raises(offkv.NoNodeError, client.create, "/no/parent")
    assert "/no" in e.message
    client.create("/n", b"")
    e = _raises(offkv.NodeExistsError, client.create, "/n")
    assert e.key == "/n"
    _raises(offkv.BadVersionError, client.cas, "/n", b"", 9)
    client.create("/eph", b"", ephemeral=True)
    _raises(offkv.EphemeralError, client.create, "/eph/c")
    _raises(offkv.TooBigError, client.set, "/n", b"x" * (offkv.MAX_VALUE_SIZE + 1))
    t = client.transaction()
    for i in range(offkv.MAX_TXN_OPS + 1):
        t.check(f"/n{i}", 0)
    _raises(offkv.TooBigError, client.commit, t)
    t = client.transaction().check("/n", 5)
    e = _raises(offkv.TransactionFailedError, t.commit)
    assert e.failed_code == ErrorCode.EVERSION and e.failed_index == 0
    _, w = client.exists_watch("/never")
    _raises(offkv.TimedOutError, w.wait, 0.01)
    w.cancel()
    _raises(offkv.ClosedError, w.wait, 0.01)
    for scheme in ("zk", "etcd", "consul"):
        if not offkv.has_backend(scheme):
            e = _raises(offkv.UnsupportedError, offkv.open, f"{scheme}://127.0.0.1:1")
            assert scheme in e.message
    _raises(offkv.InvalidArgumentError, offkv.open, "nosuch://x")
    _raises(offkv.InvalidArgumentError, offkv.open, "not a url")
    c = env.open()
    c.close()
    _raises(offkv.ClosedError, c.get, "/n")


def test_key_with_nul_is_invalid(client):
    e = _raises(offkv.InvalidArgumentError, client.set, "/a\x00b", b"")
    assert "NUL" in e.message
    assert client.exists("/a") == 0
    with pytest.raises(TypeError):
        client.get(b"/bytes-key")


def test_message_is_from_this_call_and_this_thread(client):
    """The message is offkv_last_error() read right after the call, per thread."""
    messages = {}

    def worker(i):
        for _ in range(200):
            try:
                client.get(f"/missing-{i}")
            except offkv.NoNodeError as e:
                messages.setdefault(i, set()).add(e.message)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert len(messages[i]) == 1
        assert f"/missing-{i}" in next(iter(messages[i]))


def test_unreachable_server_fails_cleanly():
    for scheme in ("zk", "etcd", "consul"):
        if offkv.has_backend(scheme):
            with pytest.raises((offkv.ConnectionLossError, offkv.TimedOutError)):
                offkv.open(f"{scheme}://127.0.0.1:1", connect_timeout=0.5,
                           operation_timeout=0.5)


def test_bad_options():
    with pytest.raises(ValueError):
        offkv.open("mem://x", session_timeout=-1)
    with pytest.raises(ValueError):
        offkv.open("mem://x", read_consistency="sometimes")
    with pytest.raises(offkv.InvalidArgumentError):
        offkv.open("mem://x?session_timeout_ms=abc")


def test_options_by_name(env):
    # Any option of the library by its URL name (offkv_options_set), checked there.
    with offkv.open(env.url, options={"session_timeout_ms": "3000",
                                      "read_consistency": "serializable"}) as c:
        c.set("/by-name", b"v")
        assert c.get("/by-name").value == b"v"
    with pytest.raises(offkv.InvalidArgumentError) as info:
        offkv.open(env.url, options={"no_such_option": "1"})
    assert "no_such_option" in info.value.message
    with pytest.raises(offkv.InvalidArgumentError):
        offkv.open(env.url, options={"session_timeout_ms": "soon"})
    # By name wins over the keyword arguments: this 1 ms is refused.
    with pytest.raises(offkv.InvalidArgumentError):
        offkv.open(env.url, session_timeout=10, options={"session_timeout_ms": "1"})
    with pytest.raises(TypeError):
        offkv.open(env.url, options={"session_timeout_ms": 3000})


def test_key_not_encodable(client):
    with pytest.raises(offkv.InvalidArgumentError) as info:
        client.get("/bad\udcff")
    assert "UTF-8" in info.value.message
