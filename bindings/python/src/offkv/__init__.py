"""offkv: one ZooKeeper-like coordination model over ZooKeeper, etcd v3, Consul KV
and an embedded ``mem://`` store.

This package is the Python binding of the offkv C library (``capi/offkv.h``); it
translates, it does not re-implement. Quick start::

    import offkv

    with offkv.open("mem://demo") as client:
        client.create("/app", b"")
        version = client.set("/app/config", b"v1")
        node = client.get("/app/config")          # Node(value=b'v1', version=1)
        try:
            client.cas("/app/config", b"v2", version=7)
        except offkv.BadVersionError as e:
            print(e.code, e.key, e.message)

        node, watch = client.get_watch("/app/config")
        client.set("/app/config", b"v3")
        print(watch.wait(timeout=5))                # Event(type=CHANGED, ...)

        with client.transaction() as t:
            t.check("/app/config", 2)
            t.create("/app/jobs", b"")

        with client.lock("/locks/app", timeout=5):
            ...                                     # one holder at a time

        election = client.election("/app/leader", b"host1:8080")
        if election.wait(leader=True, timeout=10):
            ...                                     # we lead

Main entry points: :func:`open` -> :class:`Client`; exceptions under :class:`Error`
(one class per C error code); :class:`Watch` / :class:`PersistentWatch`;
:class:`Transaction`; the recipes :class:`Election`, :class:`Detector`,
:class:`Group`, :class:`Lock`; records :class:`Node`, :class:`OpResult`,
:class:`Event`, :class:`Member`, :class:`RecipeEvent`.
Every call that talks to the store, and every wait, releases the GIL; callbacks
run on the client's event thread with the GIL held, and an exception raised in one
goes to :func:`set_callback_error_hook`'s hook, never into C.
Logs and counters: :func:`set_log_callback` / :func:`log_to_logging` (offkv's
log lines, off by default), :meth:`Client.stats`; :meth:`Client.testkit_end_watches`
ends every watch on demand, for an application's tests.
"""

from __future__ import annotations

from . import _offkv
from .model import (ANY_VERSION, EPHEMERAL, MAX_KEY_SIZE, MAX_SEGMENT_SIZE,
                    MAX_TXN_OPS, MAX_VALUE_SIZE, SEQUENTIAL, SESSION_TIMEOUT_DEFAULT,
                    SESSION_TIMEOUT_MAX, SESSION_TIMEOUT_MIN, ErrorCode, Event,
                    EventType, Member, Node, OpResult, ReadConsistency,
                    RecipeEvent, SessionState)
from .errors import (ERRORS, AuthError, BadVersionError, ClosedError,
                     ConnectionLossError, EphemeralError, Error, InternalError,
                     InvalidArgumentError, NodeExistsError, NoNodeError, NotEmptyError,
                     OutOfMemoryError, ServiceError, SessionExpiredError, TimedOutError,
                     TLSError, TooBigError, TransactionFailedError, UnsupportedError,
                     error_class)
from ._callbacks import (CallbackErrorHook, get_callback_error_hook,
                         set_callback_error_hook)
# Before .client: its exit hook (logging off) must run after the one closing clients.
from ._log import LogCallback, LogLevel, log_to_logging, set_log_callback
from .watch import PersistentWatch, Watch, WatchCallback
from .transaction import BytesLike, Transaction
from .recipes import MESOS_MASTER_LABEL, Detector, Election, Group, Lock, RecipeCallback
from .client import Client, SessionCallback, open

__version__ = "0.1.0"

#: Version of the offkv C headers this binding was built against.
HEADER_VERSION: str = _offkv.OFFKV_VERSION_STRING


def library_version() -> str:
    """``"MAJOR.MINOR.PATCH"`` of the offkv library actually loaded
    (``offkv_version_string``)."""
    return _offkv.offkv_version_string()


def library_version_number() -> int:
    """``MAJOR * 10000 + MINOR * 100 + PATCH`` of the loaded library
    (``offkv_version``)."""
    return _offkv.offkv_version()


def has_backend(scheme: str) -> bool:
    """True if the backend (``"mem"``, ``"zk"``, ``"etcd"``, ``"consul"``) is
    compiled into the loaded library (``offkv_has_backend``)."""
    return bool(_offkv.offkv_has_backend(scheme))


def backends() -> "list[str]":
    """The backends compiled in, mem first (``offkv_backends``)."""
    return _offkv.offkv_backends().split(",")


def strerror(code: int) -> str:
    """Static text for an error code (``offkv_strerror``)."""
    return _offkv.offkv_strerror(int(code))


def error_name(code: int) -> str:
    """Symbolic name of an error code, e.g. ``"OFFKV_ENOENT"``
    (``offkv_error_name``)."""
    return _offkv.offkv_error_name(int(code))


def last_error() -> str:
    """``offkv_last_error()`` of this thread. Rarely needed: every raised
    :class:`Error` already carries the message of its own call."""
    return _offkv.offkv_last_error()


__all__ = [
    "open", "Client", "Watch", "PersistentWatch", "Transaction",
    "Election", "Detector", "Group", "Lock", "RecipeCallback", "MESOS_MASTER_LABEL",
    "Node", "OpResult", "Event", "Member", "RecipeEvent", "EventType", "SessionState", "ReadConsistency",
    "ErrorCode", "Error", "InvalidArgumentError", "NoNodeError", "NodeExistsError",
    "BadVersionError", "EphemeralError", "NotEmptyError", "TooBigError",
    "TransactionFailedError", "ConnectionLossError", "SessionExpiredError",
    "TimedOutError", "AuthError", "TLSError", "ClosedError", "UnsupportedError",
    "ServiceError", "OutOfMemoryError", "InternalError", "ERRORS", "error_class",
    "set_callback_error_hook", "get_callback_error_hook", "CallbackErrorHook",
    "WatchCallback", "SessionCallback", "BytesLike",
    "set_log_callback", "log_to_logging", "LogLevel", "LogCallback",
    "ANY_VERSION", "EPHEMERAL", "SEQUENTIAL", "MAX_VALUE_SIZE", "MAX_KEY_SIZE",
    "MAX_SEGMENT_SIZE", "MAX_TXN_OPS", "SESSION_TIMEOUT_DEFAULT",
    "SESSION_TIMEOUT_MIN", "SESSION_TIMEOUT_MAX", "HEADER_VERSION",
    "library_version", "library_version_number", "has_backend", "backends",
    "strerror", "error_name", "last_error", "__version__",
]
