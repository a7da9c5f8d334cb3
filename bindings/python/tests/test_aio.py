"""offkv.aio: asyncio over the asynchronous C API, on every backend."""

from __future__ import annotations

import asyncio
import threading

import pytest

import offkv
import offkv.aio


def run(coro):
    return asyncio.run(coro)


def test_every_operation_gives_the_sync_result(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        value = bytes(range(256)) + b"\0tail"
        assert await c.create("/p", value) == "/p"
        seq = await c.create("/p/s-", b"", sequential=True)
        assert seq.startswith("/p/s-") and len(seq) == len("/p/s-") + 10
        assert await c.set("/p", b"two") == 2
        assert await c.cas("/p", b"three", 2) == 3
        assert await c.get("/p") == offkv.Node(b"three", 3)
        assert await c.exists("/p") == 3
        assert await c.exists("/none") == 0
        await c.create("/p/a")
        assert await c.children("/p") == sorted(["/p/a", seq])
        assert await c.children("/") == ["/p"]
        await c.set("/p", value)
        assert (await c.get("/p")).value == value
        await c.erase("/p")
        assert await c.exists("/p/a") == 0
    run(main())


def test_errors_are_the_sync_exceptions_with_the_key(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        await c.create("/a", b"1")
        with pytest.raises(offkv.NodeExistsError) as e:
            await c.create("/a")
        assert e.value.key == "/a"
        with pytest.raises(offkv.BadVersionError):
            await c.cas("/a", b"x", 7)
        assert (await c.get("/a")).value == b"1"  # nothing written
        with pytest.raises(offkv.NoNodeError) as e:
            await c.get("/missing")
        assert e.value.key == "/missing"
        with pytest.raises(offkv.NoNodeError):
            await c.create("/no/parent")
        # Refused without I/O: raised by the call itself, nothing to await.
        with pytest.raises(offkv.InvalidArgumentError):
            c.get("bad//key")
        with pytest.raises(offkv.TooBigError):
            c.set("/big", b"x" * (offkv.MAX_VALUE_SIZE + 1))
        assert await c.exists("/big") == 0
    run(main())


def test_transactions_give_results_or_the_failing_op(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        await c.create("/a", b"1")
        txn = c.transaction()
        txn.check("/a", 1).set("/a", b"2").create("/b", b"")
        assert await c.commit(txn) == [offkv.OpResult(2, "/a"), offkv.OpResult(1, "/b")]
        bad = c.transaction()
        bad.set("/a", b"3").erase("/b", 9)
        with pytest.raises(offkv.TransactionFailedError) as e:
            await c.commit(bad)
        assert e.value.failed_index == 1
        assert e.value.failed_code == offkv.ErrorCode.EVERSION
        assert e.value.key == "/b"
        assert (await c.get("/a")).value == b"2"
    run(main())


def test_many_calls_in_flight_complete_once_each_in_order_per_key(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        keys = [f"/k{i}" for i in range(10)]
        calls = [c.set(k, str(n).encode()) for n in range(20) for k in keys]
        versions = await asyncio.gather(*calls)
        assert len(versions) == 200
        for i, k in enumerate(keys):
            # calls on one key: versions 1..20 in call order
            assert [versions[n * 10 + i] for n in range(20)] == list(range(1, 21))
            assert (await c.get(k)).value == b"19"
    run(main())


def test_no_thread_per_call(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        before = threading.active_count()
        await asyncio.gather(*(c.set(f"/t{i}", b"x") for i in range(300)))
        assert threading.active_count() == before  # no Python thread started
    run(main())


def test_watch_reads_leave_the_watch_with_the_read(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        version, w = await c.exists_watch("/w")
        assert version == 0
        await c.create("/w", b"1")
        ev = await asyncio.get_running_loop().run_in_executor(None, w.wait, 10)
        assert ev.type == offkv.EventType.CREATED
        seen = []
        fired = threading.Event()
        node, w2 = await c.get_watch("/w", lambda e: (seen.append(e), fired.set()))
        assert node == offkv.Node(b"1", 1)
        await c.set("/w", b"2")
        assert await asyncio.get_running_loop().run_in_executor(None, fired.wait, 10)
        assert seen[0].type == offkv.EventType.CHANGED
        kids, w3 = await c.children_watch("/")
        assert kids == ["/w"]
        w3.cancel()
        with pytest.raises(offkv.NoNodeError):
            await c.get_watch("/absent")
    run(main())


def test_close_with_calls_in_flight_completes_them(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        calls = [asyncio.ensure_future(c.set(f"/c{i % 5}", b"v")) for i in range(100)]
        c.close()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert len(results) == 100
        for r in results:
            assert isinstance(r, int) or isinstance(r, offkv.ClosedError), r
        with pytest.raises(offkv.ClosedError):
            c.get("/c0")
    run(main())


def test_a_cancelled_call_still_takes_effect_and_drops_its_result(env):
    async def main():
        c = offkv.aio.AsyncClient(env.open())
        task = asyncio.ensure_future(c.create("/x", b"1"))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await c.get("/x") == offkv.Node(b"1", 1)  # ordered after the create
    run(main())


def test_context_manager_and_open(env):
    async def main():
        async with offkv.aio.open(env.url) as c:
            await c.set("/m", b"v")
            assert c.sync.get("/m") == offkv.Node(b"v", 1)
        with pytest.raises(offkv.ClosedError):
            c.get("/m")
    run(main())
