"""Transactions: checks and ops applied all together or not at all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple, Union

from . import _offkv
from ._handle import Handle
from .errors import Error, TransactionFailedError
from .model import ANY_VERSION, EPHEMERAL, SEQUENTIAL, OpResult

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Transaction", "BytesLike"]

#: What a value may be given as: any bytes-like object (bytes, bytearray,
#: memoryview ...). ``str`` is refused: encode it.
BytesLike = Union[bytes, bytearray, memoryview]


class Transaction:
    """A transaction under construction (``offkv_txn``).

    Checks and ops are kept in call order; :meth:`Client.commit` applies all of them
    atomically or none. As a context manager (from :meth:`Client.transaction`) it
    commits when the block exits without an exception::

        with client.transaction() as t:
            t.check("/config", 3)
            t.set("/config", b"new")
            t.create("/jobs/j-", b"", sequential=True)
        print(t.results)   # [OpResult(version=4, key='/config'), OpResult(1, '/jobs/j-0000000000')]

    Failure raises :class:`TransactionFailedError` whose ``failed_index`` counts the
    checks first, then the ops, and whose ``failed_op`` names the item.
    """

    __slots__ = ("_handle", "_client", "_checks", "_ops", "results", "__weakref__")

    def __init__(self, client: Optional["Client"] = None) -> None:
        self._handle = Handle(_offkv.offkv_txn_new(), _offkv.offkv_txn_free, "transaction")
        self._client = client
        self._checks: List[Tuple[str, str]] = []
        self._ops: List[Tuple[str, str]] = []
        #: The op results of the last successful commit, else ``None``.
        self.results: Optional[List[OpResult]] = None

    def _add(self, items: List[Tuple[str, str]], kind: str, key: str, fn: Any,
             *args: Any) -> "Transaction":
        h = self._handle.acquire(key)
        try:
            fn(h, key, *args)
        except Error as e:
            if e.key is None:
                e.key = key
            raise
        finally:
            self._handle.release()
        items.append((kind, key))
        return self

    def check(self, key: str, version: int = ANY_VERSION) -> "Transaction":
        """Requires ``key`` to be at exactly ``version`` (> 0), absent (0) or present
        whatever its version (:data:`ANY_VERSION`, the default)."""
        return self._add(self._checks, "check", key, _offkv.offkv_txn_check, version)

    def create(self, key: str, value: Optional[BytesLike] = b"", *,
               ephemeral: bool = False, sequential: bool = False) -> "Transaction":
        """Creates ``key`` (see :meth:`Client.create`)."""
        flags = (EPHEMERAL if ephemeral else 0) | (SEQUENTIAL if sequential else 0)
        return self._add(self._ops, "create", key, _offkv.offkv_txn_create, value, flags)

    def set(self, key: str, value: Optional[BytesLike]) -> "Transaction":
        """Creates or replaces ``key``'s value."""
        return self._add(self._ops, "set", key, _offkv.offkv_txn_set, value)

    def erase(self, key: str, version: int = 0) -> "Transaction":
        """Erases ``key`` and its subtree; ``version`` 0 means any version."""
        return self._add(self._ops, "erase", key, _offkv.offkv_txn_erase, version)

    def __len__(self) -> int:
        return len(self._checks) + len(self._ops)

    @property
    def items(self) -> List[Tuple[str, str]]:
        """``(kind, key)`` of every check, then every op: the order of
        ``failed_index``."""
        return self._checks + self._ops

    def commit(self, client: Optional["Client"] = None) -> List[OpResult]:
        """Commits on ``client`` (default: the client this transaction came from);
        returns one :class:`OpResult` per op, in order, and keeps them in
        :attr:`results`."""
        client = client if client is not None else self._client
        if client is None:
            raise TypeError("no client: use client.commit(txn) or txn.commit(client)")
        return client.commit(self)

    def _commit_on(self, client_handle: Any) -> List[OpResult]:
        h = self._handle.acquire()
        try:
            raw = _offkv.offkv_commit(client_handle, h)
        except TransactionFailedError as e:
            items = self.items
            if 0 <= e.failed_index < len(items):
                e.failed_op = items[e.failed_index]
                if e.key is None:
                    e.key = items[e.failed_index][1]
            raise
        finally:
            self._handle.release()
        self.results = [OpResult(v, k) for v, k in raw]
        return self.results

    def close(self) -> None:
        """Frees the transaction (also done when it is garbage-collected)."""
        self._handle.close()

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<Transaction {self.items!r}>"
