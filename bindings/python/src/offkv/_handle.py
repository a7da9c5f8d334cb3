"""Ownership of one C handle shared by several Python threads.

The C API frees a handle with its *_free function, which must not run while another
thread is still inside a call on that handle (e.g. blocked in offkv_watch_wait).
A Handle counts the calls in flight; close() first runs an optional "wake" call
(e.g. offkv_watch_cancel, which makes blocked waits return) and the handle is freed
by whichever thread leaves it last.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from .errors import ClosedError


class Handle:
    __slots__ = ("_h", "_free", "_lock", "_users", "_closing", "_what", "_keep")

    def __init__(self, h: Any, free: Callable[[Any], None], what: str,
                 keep: Any = None) -> None:
        self._h = h
        # Kept alive until the handle is freed (e.g. the callable a C callback
        # borrows).
        self._keep = keep
        self._free = free
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False
        self._what = what

    @property
    def closed(self) -> bool:
        return self._closing or self._h is None

    def acquire(self, key: Optional[str] = None) -> Any:
        with self._lock:
            if self._closing or self._h is None:
                raise ClosedError(f"the {self._what} was closed", key=key)
            self._users += 1
            return self._h

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users or not self._closing or self._h is None:
                return
            h, self._h = self._h, None
        try:
            self._free(h)
        finally:
            self._keep = None

    def close(self, wake: Optional[Callable[[Any], Any]] = None) -> None:
        with self._lock:
            if self._closing or self._h is None:
                return
            self._closing = True
            self._users += 1
            h = self._h
        try:
            if wake is not None:
                wake(h)
        finally:
            self.release()
