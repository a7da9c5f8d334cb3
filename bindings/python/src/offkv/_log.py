"""offkv's log lines (``offkv_set_log_callback``): to a callable or to :mod:`logging`.

The C library calls one process-wide callback from whatever thread logs (the
client's event thread, the ZooKeeper client's and gRPC's own threads, a caller's
thread). The SWIG trampoline (offkv.i) takes the GIL there and calls the dispatcher
made here, which never lets an exception back into C: the user callback's
exceptions go to the callback error hook. The dispatcher given to C is held in this
module until offkv_set_log_callback has replaced it (that call returns only once no
call of the previous callback runs), and logging is turned off at interpreter exit,
before finalization, so that no library thread enters a finalizing interpreter.
"""

from __future__ import annotations

import atexit
import enum
import logging
import threading
from typing import Any, Callable, Optional, Union

from . import _offkv
from ._callbacks import report

__all__ = ["LogLevel", "LogCallback", "set_log_callback", "log_to_logging"]


class LogLevel(enum.IntEnum):
    """Levels of offkv's log lines (``OFFKV_LOG_*``); a lower value is more severe."""

    ERROR = _offkv.OFFKV_LOG_ERROR
    WARN = _offkv.OFFKV_LOG_WARN
    INFO = _offkv.OFFKV_LOG_INFO
    DEBUG = _offkv.OFFKV_LOG_DEBUG

    @property
    def logging_level(self) -> int:
        """The matching :mod:`logging` level (``WARN`` -> ``logging.WARNING``)."""
        return _TO_LOGGING[self]


_TO_LOGGING = {LogLevel.ERROR: logging.ERROR, LogLevel.WARN: logging.WARNING,
               LogLevel.INFO: logging.INFO, LogLevel.DEBUG: logging.DEBUG}

#: A log callback: ``callback(level, component, message)``. ``component`` is the
#: scheme (``"zk"``, ``"etcd"``, ``"consul"``, ``"mem"``) for offkv's own lines,
#: ``"zookeeper"`` for the ZooKeeper C client's, ``"grpc"`` for gRPC's.
LogCallback = Callable[[LogLevel, str, str], Any]

_lock = threading.Lock()
_current: Optional[Callable[[int, str, str], None]] = None  # what C holds now


def _level(level: Union[LogLevel, int, str]) -> int:
    if isinstance(level, str):
        try:
            return int(LogLevel[level.upper()])
        except KeyError:
            raise ValueError(f"unknown log level {level!r}") from None
    return int(level)


def _dispatcher(callback: LogCallback) -> Callable[[int, str, str], None]:
    def dispatch(level: int, component: str, message: str) -> None:
        try:
            try:
                lvl: Any = LogLevel(level)
            except ValueError:  # a level newer than this binding
                lvl = level
            callback(lvl, component, message)
        except BaseException as exc:  # noqa: B902 - nothing may cross into C
            report(exc, callback)

    dispatch.__qualname__ = f"log[{getattr(callback, '__qualname__', callback)!s}]"
    return dispatch


def set_log_callback(callback: Optional[LogCallback],
                     level: Union[LogLevel, int, str] = LogLevel.INFO) -> None:
    """Passes offkv's log lines of ``level`` and more severe to
    ``callback(level, component, message)`` (``offkv_set_log_callback``); ``None``
    turns logging off, which is the default (offkv prints nothing by itself).

    Process-wide: one callback for every client. It is called on whatever thread
    logs, library threads included, with the GIL held; it must be quick and must not
    call offkv. An exception it raises goes to the callback error hook
    (:func:`set_callback_error_hook`). When this returns, the previous callback is
    no longer running and is never called again.

    ``component`` is the scheme (``"zk"``, ``"etcd"``, ``"consul"``, ``"mem"``) for
    offkv's own lines (every session transition, e.g. ``"session CONNECTED"``),
    ``"zookeeper"`` for the ZooKeeper C client's and ``"grpc"`` for gRPC's.

    Raises:
        InvalidArgumentError: ``level`` is not ERROR .. DEBUG.
        TypeError: ``callback`` is not callable.
    """
    global _current
    max_level = _level(level)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable or None")
    dispatch = _dispatcher(callback) if callback is not None else None
    with _lock:
        # Runs without the GIL; returns once no call of the previous one runs.
        _offkv.offkv_set_log_callback(dispatch, max_level)
        _current = dispatch  # the previous dispatcher may go now


def log_to_logging(logger: Union[logging.Logger, str, None] = "offkv",
                   level: Union[LogLevel, int, str] = LogLevel.INFO) -> None:
    """Sends offkv's log lines of ``level`` and more severe to :mod:`logging`: each
    to the child logger of ``logger`` named after its component (``offkv.zk``,
    ``offkv.grpc``, ...), at the matching level (ERROR, WARNING, INFO, DEBUG).
    ``None`` turns logging off. A thin :func:`set_log_callback`::

        logging.basicConfig(level=logging.INFO)
        offkv.log_to_logging()           # INFO:offkv.zk:session CONNECTED ...
    """
    if logger is None:
        set_log_callback(None, level)
        return
    base = logging.getLogger(logger) if isinstance(logger, str) else logger

    def to_logging(lvl: Any, component: str, message: str) -> None:
        py_level = _TO_LOGGING.get(lvl, logging.DEBUG)
        base.getChild(component or "offkv").log(py_level, "%s", message)

    to_logging.__qualname__ = f"log_to_logging[{base.name}]"
    set_log_callback(to_logging, level)


# Registered before client.py's _close_all (offkv/__init__ imports this module
# first), so it runs after it: the clients' last lines (session CLOSED) are still
# told, and nothing is called once the interpreter starts finalizing.
@atexit.register
def _off_at_exit() -> None:
    if _current is not None:
        try:
            set_log_callback(None)
        except Exception:
            pass
