"""Delivery of events to user callbacks and reporting of their exceptions.

The C trampoline (offkv.i) calls a *dispatcher* on the client's event thread with
the GIL held. The dispatcher turns the raw tuple into an :class:`Event`, calls the
user's callback, and hands any exception it raises to the error hook. Nothing a
callback raises ever reaches C: if the hook itself raises, the trampoline reports
that through ``sys.unraisablehook``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Tuple

from .model import Event

__all__ = ["set_callback_error_hook", "get_callback_error_hook", "CallbackErrorHook"]

#: hook(exception, callback): told of every exception raised by a user callback.
CallbackErrorHook = Callable[[BaseException, Callable[..., Any]], None]

logger = logging.getLogger("offkv")


def _default_hook(exc: BaseException, callback: Callable[..., Any]) -> None:
    logger.error("exception in offkv callback %r", callback,
                 exc_info=(type(exc), exc, exc.__traceback__))


_hook: CallbackErrorHook = _default_hook


def set_callback_error_hook(hook: Optional[CallbackErrorHook]) -> CallbackErrorHook:
    """Sets the function told of exceptions raised by watch, session and recipe
    callbacks; returns the previous one. ``None`` restores the default, which logs
    them on the ``"offkv"`` logger at ERROR level with the traceback. A hook that
    raises is reported through :func:`sys.unraisablehook`."""
    global _hook
    previous = _hook
    _hook = hook if hook is not None else _default_hook
    return previous


def get_callback_error_hook() -> CallbackErrorHook:
    """The current callback error hook."""
    return _hook


def report(exc: BaseException, callback: Callable[..., Any]) -> None:
    _hook(exc, callback)


def dispatcher(callback: Callable[[Any], Any],
               after: Optional[Callable[[Any], None]] = None,
               convert: Callable[[Tuple[Any, ...]], Any] = Event._from_raw) -> Callable[[Tuple[Any, ...]], None]:
    """The callable given to C for a user callback. ``convert`` makes the event
    object from C's tuple; ``after`` runs once the user callback has returned or
    raised (bookkeeping of the binding)."""

    def dispatch(raw: Tuple[Any, ...]) -> None:
        event = convert(raw)
        try:
            callback(event)
        except BaseException as exc:  # noqa: B902 - nothing may cross into C
            report(exc, callback)
        finally:
            if after is not None:
                after(event)

    dispatch.__qualname__ = f"dispatch[{getattr(callback, '__qualname__', callback)!s}]"
    return dispatch
