"""Nodes: create/set/cas/get/exists/children/erase with bytes values."""

import pytest

import offkv


def test_open_is_a_context_manager(env):
    with offkv.open(env.url) as c:
        assert c.session_state == offkv.SessionState.CONNECTED
        assert not c.closed
        c.set("/k", b"v")
    assert c.closed
    assert c.session_state == offkv.SessionState.CLOSED


def test_create_get_set_cas_versions(client):
    assert client.create("/a", b"one") == "/a"
    assert client.get("/a") == offkv.Node(b"one", 1)
    assert client.set("/a", b"two") == 2
    assert client.cas("/a", b"three", 2) == 3
    node = client.get("/a")
    assert node.value == b"three" and node.version == 3
    value, version = node  # a named tuple
    assert (value, version) == (b"three", 3)
    assert client.exists("/a") == 3
    assert client.exists("/nope") == 0


def test_set_creates_and_cas_zero_creates_only_if_absent(client):
    assert client.set("/s", b"x") == 1
    assert client.cas("/c", b"x", 0) == 1
    with pytest.raises(offkv.BadVersionError):
        client.cas("/c", b"y", 0)
    assert client.get("/c").value == b"x"


BINARY = [
    b"",
    b"\x00",
    b"a\x00b\x00\x00c",
    bytes(range(256)),
    b"\xff\xfe\x00\x80" * 100,
]


@pytest.mark.parametrize("value", BINARY, ids=["empty", "nul", "nuls", "all-bytes", "high"])
def test_binary_values_round_trip(client, value):
    client.create("/bin", value)
    assert client.get("/bin").value == value
    client.set("/bin", value + b"\x00")
    assert client.get("/bin").value == value + b"\x00"


def test_bytes_like_values(client):
    client.create("/ba", bytearray(b"by\x00tearray"))
    assert client.get("/ba").value == b"by\x00tearray"
    client.set("/ba", memoryview(b"xxmemoryview")[2:])
    assert client.get("/ba").value == b"memoryview"
    client.set("/ba", None)  # None is the empty value
    assert client.get("/ba").value == b""


def test_str_values_are_refused(client):
    with pytest.raises(TypeError):
        client.set("/t", "text")
    with pytest.raises(TypeError):
        client.create("/t", 42)
    assert client.exists("/t") == 0


def test_largest_value_and_one_byte_more(client):
    big = bytes([7]) * offkv.MAX_VALUE_SIZE
    client.create("/big", big)
    assert client.get("/big").value == big
    with pytest.raises(offkv.TooBigError) as info:
        client.set("/big", big + b"x")
    assert info.value.key == "/big"
    assert client.get("/big") == offkv.Node(big, 1)


def test_children_sorted_full_keys(client):
    client.create("/p")
    for name in ["b", "a", "c", "ab"]:
        client.create(f"/p/{name}", name.encode())
    assert client.children("/p") == ["/p/a", "/p/ab", "/p/b", "/p/c"]
    assert client.children("/p/a") == []
    assert "/p" in client.children("/")


def test_erase_subtree_and_versions(client):
    client.create("/e")
    client.create("/e/x")
    client.create("/e/x/y")
    client.create("/eb")
    with pytest.raises(offkv.BadVersionError):
        client.erase("/e", 5)
    client.erase("/e")
    assert client.exists("/e") == 0 and client.exists("/e/x/y") == 0
    assert client.exists("/eb") == 1
    with pytest.raises(offkv.NoNodeError):
        client.erase("/e")
    # a node created again restarts at version 1
    client.create("/e", b"again")
    assert client.get("/e").version == 1
    client.erase("/e", 1)


def test_sequential_and_ephemeral(env, client):
    client.create("/q")
    k1 = client.create("/q/job-", b"", sequential=True)
    k2 = client.create("/q/job-", b"", sequential=True)
    assert k1.startswith("/q/job-") and len(k1) == len("/q/job-") + 10
    assert k1 < k2 and k1[-10:].isdigit()
    other = env.open()
    eph = other.create("/q/eph", b"me", ephemeral=True)
    seq_eph = other.create("/q/se-", b"", ephemeral=True, sequential=True)
    assert client.exists(eph) == 1 and client.exists(seq_eph) == 1
    with pytest.raises(offkv.EphemeralError):
        other.create("/q/eph/child")
    other.close()  # ends the session at once: its ephemerals vanish
    assert client.exists(eph) == 0 and client.exists(seq_eph) == 0


def test_prefix_isolates_clients(env):
    if env.scheme == "mem":
        a = env.open("mem://" + env.url[6:] + "/one")
        b = env.open("mem://" + env.url[6:] + "/two")
    else:
        a = env.open(env.url.split("?")[0] + "/one")
        b = env.open(env.url.split("?")[0] + "/two")
    a.set("/k", b"a")
    b.set("/k", b"b")
    assert a.get("/k").value == b"a" and b.get("/k").value == b"b"


def test_module_helpers():
    assert offkv.has_backend("mem")
    assert "mem" in offkv.backends()
    assert offkv.library_version() == offkv.HEADER_VERSION
    assert offkv.library_version_number() >= 100
    assert offkv.error_name(2) == "OFFKV_ENOENT"
    assert offkv.strerror(offkv.ErrorCode.ENOENT)
    assert offkv.ErrorCode.EEXIST.description == offkv.strerror(3)
