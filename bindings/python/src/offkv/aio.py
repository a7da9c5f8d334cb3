"""asyncio on offkv's asynchronous C API (``offkv_<op>_async``): every call is
sent at once and awaited; no thread per call, many calls in flight on one client.

    import offkv.aio

    async def main():
        async with offkv.aio.open("mem://demo") as client:
            await client.create("/config", b"v1")
            await client.set("/config", b"v2")          # -> 2
            node = await client.get("/config")          # Node(value=b'v2', version=2)
            versions = await asyncio.gather(*(client.set(f"/k{i}", b"x") for i in range(100)))

Results and exceptions are those of the synchronous :class:`offkv.Client`. A call
refused without I/O (an invalid key, a value above the limit, a closed client)
raises at once, before anything is awaited. Calls on related keys (the same key, or
one below the other) take effect and complete in the order they were made.
Completions run on the client's event thread and are handed to the event loop the
call was made from; cancelling the awaiting task drops the result (the operation
itself still completes). Watches, recipes and session state are the synchronous
client's: :attr:`AsyncClient.sync`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, List, Optional, Tuple

from . import _offkv
from .client import Client, _call
from .client import open as _open_sync
from .errors import TransactionFailedError, _factory
from .model import EPHEMERAL, SEQUENTIAL, Node, OpResult
from .transaction import BytesLike, Transaction
from .watch import Watch, WatchCallback

__all__ = ["open", "AsyncClient"]

# The tuple offkv.i hands a completion callback.
_Raw = Tuple[int, str, int, Optional[str], Optional[bytes], Optional[List[str]],
             Optional[Tuple[List[Tuple[int, str]], int, int]], Any]


def open(url: str, **options: Any) -> "AsyncClient":
    """Opens a client (``offkv_open``, the same keyword options as
    :func:`offkv.open`) for use with ``await``. Opening itself blocks until the
    session is established (at most ``connect_timeout``)."""
    return AsyncClient(_open_sync(url, **options))


def _drop(raw: _Raw) -> None:
    """Frees what a completion nobody will see handed out (a watch handle)."""
    if raw[7] is not None:
        _offkv.offkv_watch_free(raw[7])


class AsyncClient:
    """The awaitable face of a :class:`offkv.Client` (which it owns)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def sync(self) -> Client:
        """The synchronous client behind this one (same session): watches,
        recipes, session state."""
        return self._client

    # ---- life cycle ----

    def close(self) -> None:
        """Ends the session at once (``offkv_close``); calls still in flight
        complete first, those not yet done with :class:`offkv.ClosedError`."""
        self._client.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<offkv.aio.AsyncClient {self._client.url!r}>"

    # ---- the bridge ----

    def _start(self, fn: Callable[..., Any], key: Optional[str], args: Tuple[Any, ...],
               convert: Callable[[_Raw], Any],
               on_error: Optional[Callable[[BaseException], None]] = None
               ) -> "asyncio.Future[Any]":
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def settle(raw: _Raw) -> None:  # on the event loop
            if future.cancelled():
                _drop(raw)
                return
            if raw[0] != 0:
                txn = raw[6]
                extra = (txn[1], txn[2]) if txn is not None else None
                exc = _factory(raw[0], raw[1], extra)
                if exc.key is None:
                    exc.key = key
                if on_error is not None:
                    on_error(exc)
                future.set_exception(exc)
                return
            try:
                future.set_result(convert(raw))
            except BaseException as e:  # a conversion that failed still completes
                _drop(raw)
                future.set_exception(e)

        def done(raw: _Raw) -> None:  # on the client's event thread
            try:
                loop.call_soon_threadsafe(settle, raw)
            except RuntimeError:  # the loop is closed: nobody awaits this any more
                _drop(raw)

        h = self._client._h
        _call(fn, key, h, *args, done)  # raises if refused; then done never runs
        return future

    def _watch(self, key: str, callback: Optional[WatchCallback],
               fn: Callable[..., Any], result: Callable[[_Raw], Any]
               ) -> "asyncio.Future[Any]":
        dispatch, register = self._client._watch_callback(callback, key, False)

        def convert(raw: _Raw) -> Tuple[Any, Watch]:
            w = Watch(raw[7], key, dispatch)
            register(w)
            return result(raw), w

        return self._start(fn, key, (key, dispatch, 1), convert)

    # ---- nodes ----

    def create(self, key: str, value: Optional[BytesLike] = b"", *,
               ephemeral: bool = False, sequential: bool = False) -> Awaitable[str]:
        """:meth:`offkv.Client.create` (``offkv_create_async``): the actual key."""
        flags = (EPHEMERAL if ephemeral else 0) | (SEQUENTIAL if sequential else 0)
        return self._start(_offkv.offkv_create_async, key, (key, value, flags),
                           lambda raw: raw[3])

    def set(self, key: str, value: Optional[BytesLike]) -> Awaitable[int]:
        """:meth:`offkv.Client.set` (``offkv_set_async``): the new version."""
        return self._start(_offkv.offkv_set_async, key, (key, value), lambda raw: raw[2])

    def cas(self, key: str, value: Optional[BytesLike], version: int) -> Awaitable[int]:
        """:meth:`offkv.Client.cas` (``offkv_cas_async``): the new version."""
        return self._start(_offkv.offkv_cas_async, key, (key, value, version),
                           lambda raw: raw[2])

    def get(self, key: str) -> Awaitable[Node]:
        """:meth:`offkv.Client.get` (``offkv_get_async``)."""
        return self._start(_offkv.offkv_get_async, key, (key,),
                           lambda raw: Node(raw[4], raw[2]))

    def exists(self, key: str) -> Awaitable[int]:
        """:meth:`offkv.Client.exists` (``offkv_exists_async``): the version, 0 if
        absent."""
        return self._start(_offkv.offkv_exists_async, key, (key,), lambda raw: raw[2])

    def children(self, key: str) -> Awaitable[List[str]]:
        """:meth:`offkv.Client.children` (``offkv_children_async``), sorted."""
        return self._start(_offkv.offkv_children_async, key, (key,),
                           lambda raw: raw[5] or [])

    def erase(self, key: str, version: int = 0) -> Awaitable[None]:
        """:meth:`offkv.Client.erase` (``offkv_erase_async``): the node and its
        subtree, atomically; ``version`` 0 = any."""
        return self._start(_offkv.offkv_erase_async, key, (key, version),
                           lambda raw: None)

    # ---- watches (the read and a one-shot watch, atomically) ----

    def get_watch(self, key: str, callback: Optional[WatchCallback] = None
                  ) -> Awaitable[Tuple[Node, Watch]]:
        """:meth:`offkv.Client.get_watch` (``offkv_get_watch_async``)."""
        return self._watch(key, callback, _offkv.offkv_get_watch_async,
                           lambda raw: Node(raw[4], raw[2]))

    def exists_watch(self, key: str, callback: Optional[WatchCallback] = None
                     ) -> Awaitable[Tuple[int, Watch]]:
        """:meth:`offkv.Client.exists_watch` (``offkv_exists_watch_async``)."""
        return self._watch(key, callback, _offkv.offkv_exists_watch_async,
                           lambda raw: raw[2])

    def children_watch(self, key: str, callback: Optional[WatchCallback] = None
                       ) -> Awaitable[Tuple[List[str], Watch]]:
        """:meth:`offkv.Client.children_watch` (``offkv_children_watch_async``)."""
        return self._watch(key, callback, _offkv.offkv_children_watch_async,
                           lambda raw: raw[5] or [])

    # ---- transactions ----

    def transaction(self) -> Transaction:
        """A new :class:`offkv.Transaction` on this client; commit it with
        :meth:`commit`."""
        return Transaction(self._client)

    async def commit(self, txn: Transaction) -> List[OpResult]:
        """:meth:`offkv.Client.commit` (``offkv_commit_async``): one
        :class:`offkv.OpResult` per op, or :class:`offkv.TransactionFailedError`
        with the failing index (and op) and nothing applied. The transaction is
        copied when the call is made."""
        items = txn.items

        def name_failed_op(exc: BaseException) -> None:
            if isinstance(exc, TransactionFailedError) and 0 <= exc.failed_index < len(items):
                exc.failed_op = items[exc.failed_index]
                exc.key = items[exc.failed_index][1]

        h = txn._handle.acquire()
        try:
            future = self._start(_offkv.offkv_commit_async, None, (h,),
                                 lambda raw: [OpResult(v, k) for v, k in raw[6][0]],
                                 name_failed_op)
        finally:
            txn._handle.release()
        txn.results = await future
        return txn.results
