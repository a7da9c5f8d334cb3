"""Watches: one-shot (left by ``get_watch``/``exists_watch``/``children_watch``) and
persistent (``Client.watch``)."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Set

from . import _offkv, _wait
from ._handle import Handle
from .errors import ClosedError, TimedOutError
from .model import Event, EventType

__all__ = ["Watch", "PersistentWatch", "WatchCallback"]

#: A watch callback: called once per event on the client's event thread, GIL held.
WatchCallback = Callable[[Event], Any]


class Watch:
    """A one-shot watch: fires exactly once, for the first change after the read
    that left it, or with an ENDED event when the session ends or the client closes.

    Use :meth:`wait` to block for the event, or give a callback when creating it,
    or both. Call :meth:`cancel` (or use the watch as a context manager) to drop it
    early; after :meth:`cancel` returns its callback is never called.
    """

    __slots__ = ("_handle", "_live", "key", "__weakref__")

    def __init__(self, handle: Any, key: str, callback: Optional[Callable[..., Any]]):
        # offkv_watch_free cancels and waits for a running callback; the dispatcher
        # given to C is kept alive until it has returned.
        self._handle = Handle(handle, _offkv.offkv_watch_free, "watch", keep=callback)
        # The client's set of live callback watches while this one is in it.
        self._live: Optional[Set["Watch"]] = None
        #: The key the watch was left on.
        self.key = key

    def _unregister(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.discard(self)

    def _wait_ms(self, timeout_ms: int) -> Event:
        h = self._handle.acquire(self.key)
        try:
            return Event._from_raw(_offkv.offkv_watch_wait(h, timeout_ms))
        finally:
            self._handle.release()

    def wait(self, timeout: Optional[float] = None) -> Event:
        """Blocks (GIL released) up to ``timeout`` seconds (``None``: forever) for the
        watch's event and returns it. A fired one-shot watch returns its event on
        every call.

        Raises:
            TimedOutError: nothing came within ``timeout``.
            ClosedError: the watch was cancelled or closed (or, persistent, has
                ended and every event was taken).
        """
        return _wait.wait(self._wait_ms, timeout)

    def cancel(self) -> None:
        """Cancels the watch: after this returns its callback is never called again
        (if the callback is running on another thread, waits for it). Waits on it
        then raise :class:`ClosedError`. Cancelling twice is fine."""
        try:
            h = self._handle.acquire(self.key)
        except ClosedError:
            return
        try:
            _offkv.offkv_watch_cancel(h)
        finally:
            self._handle.release()
        self._unregister()

    def close(self) -> None:
        """Cancels the watch and frees its handle (once no other thread is inside a
        call on it: blocked waits are woken by the cancel)."""
        self._handle.close(_offkv.offkv_watch_cancel)
        self._unregister()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._handle.closed

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self.key!r} {state}>"


class PersistentWatch(Watch):
    """A persistent, recursive watch on a key and every key below it: CREATED,
    CHANGED and DELETED for each change, in order, until cancelled; ENDED when the
    session ends or the client closes.

    Without a callback, events queue for :meth:`wait` and iteration::

        for event in client.watch("/config"):
            ...            # stops after ENDED or when the watch is cancelled

    With a callback, events go only to the callback.
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[Event]:
        """Yields every event, blocking for each; ends after an ENDED event or when
        the watch is cancelled."""
        return self.events(None)

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Like iteration, but also stops when no event comes within ``timeout``
        seconds."""
        while True:
            try:
                event = self.wait(timeout)
            except ClosedError:
                return
            except TimedOutError:
                return
            yield event
            if event.type == EventType.ENDED:
                return
