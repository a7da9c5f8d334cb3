"""Transactions through the builder."""

import pytest

import offkv


def test_builder_commits_on_exit(client):
    client.create("/cfg", b"v1")
    with client.transaction() as t:
        t.check("/cfg", 1)
        t.set("/cfg", b"v2")
        t.create("/jobs", b"")
        t.create("/jobs/j-", b"\x00", sequential=True)
        t.check("/nothing", 0)
    assert t.results[0] == offkv.OpResult(2, "/cfg")
    assert t.results[1] == offkv.OpResult(1, "/jobs")
    assert t.results[2].key.startswith("/jobs/j-") and t.results[2].version == 1
    assert client.get(t.results[2].key).value == b"\x00"
    assert len(t) == 5


def test_failure_applies_nothing_and_names_the_item(client):
    client.create("/a", b"")
    t = client.transaction()
    t.check("/a", offkv.ANY_VERSION)  # item 0
    t.create("/b", b"")               # item 1
    t.set("/a", b"x")                 # item 2
    t.create("/a", b"")               # item 3: exists
    with pytest.raises(offkv.TransactionFailedError) as info:
        client.commit(t)
    e = info.value
    assert e.code == offkv.ErrorCode.ETXN
    assert e.failed_index == 3 and e.failed_code == offkv.ErrorCode.EEXIST
    assert e.failed_error is offkv.NodeExistsError
    assert e.failed_op == ("create", "/a") and e.key == "/a"
    assert client.exists("/b") == 0 and client.get("/a").version == 1
    assert t.results is None


def test_checks_count_first(client):
    t = client.transaction()
    t.create("/z", b"")     # op 0 -> index 1
    t.check("/z", 3)        # check 0 -> index 0
    with pytest.raises(offkv.TransactionFailedError) as info:
        t.commit()
    assert info.value.failed_index == 0 and info.value.failed_op == ("check", "/z")


def test_exception_in_block_does_not_commit(client):
    with pytest.raises(KeyError):
        with client.transaction() as t:
            t.create("/never", b"")
            raise KeyError("stop")
    assert client.exists("/never") == 0


def test_reuse_and_standalone(env, client):
    t = offkv.Transaction()
    t.set("/counter", b"x").erase("/counter")
    assert client.commit(t) == [offkv.OpResult(1, "/counter"), offkv.OpResult(0, "/counter")]
    other = env.open()
    assert t.commit(other)[0].version == 1  # one txn, committed again elsewhere
    with pytest.raises(TypeError):
        t.commit()
    t.close()
    with pytest.raises(offkv.ClosedError):
        t.set("/x", b"")


def test_erase_with_version_and_ephemeral_create(env, client):
    client.create("/v", b"")
    client.set("/v", b"1")
    with pytest.raises(offkv.TransactionFailedError) as info:
        client.transaction().erase("/v", 1).commit()
    assert info.value.failed_code == offkv.ErrorCode.EVERSION
    other = env.open()
    with other.transaction() as t:
        t.erase("/v", 2).create("/eph", b"", ephemeral=True)
    assert client.exists("/eph") == 1
    other.close()
    assert client.exists("/eph") == 0


def test_invalid_key_in_txn(client):
    t = client.transaction().set("bad key", b"")
    with pytest.raises(offkv.InvalidArgumentError):
        t.commit()
