"""Blocking waits: one C call (GIL released) per wait, except on the main thread,
where the wait is cut into short slices so that Ctrl-C (KeyboardInterrupt) is seen."""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional, TypeVar

from .errors import TimedOutError

T = TypeVar("T")

_MAIN_SLICE = 0.25


def to_ms(timeout: Optional[float]) -> int:
    """Seconds (``None``: forever) to the C API's milliseconds (-1: forever)."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    return min(int(timeout * 1000 + 0.999), 2**31 - 1)


def wait(call: Callable[[int], T], timeout: Optional[float]) -> T:
    """Runs ``call(timeout_ms)``, which raises TimedOutError when nothing came."""
    if threading.current_thread() is not threading.main_thread():
        return call(to_ms(timeout))
    deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
    while True:
        slice_ = _MAIN_SLICE
        if deadline is not None:
            slice_ = min(slice_, max(deadline - time.monotonic(), 0.0))
        try:
            return call(to_ms(slice_))
        except TimedOutError:
            if deadline is not None and time.monotonic() >= deadline:
                raise
