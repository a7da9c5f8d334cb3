"""offkv's exceptions: one class per C error code, all under :class:`offkv.Error`.

Every failed call raises the class of its code (``offkv.NoNodeError`` for
``OFFKV_ENOENT`` ...). The exception carries

* ``code``    -- the :class:`offkv.ErrorCode`,
* ``key``     -- the key the call was about (``None`` if it had none),
* ``message`` -- the library's detail message (``offkv_last_error()`` of the failed
  call: names the key, the backend and the server's own words).

Several classes also derive from the matching built-in exception, so
``except TimeoutError`` or ``except ValueError`` work as a Python user expects.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

from . import _offkv
from .model import ErrorCode

__all__ = [
    "Error",
    "InvalidArgumentError",
    "NoNodeError",
    "NodeExistsError",
    "BadVersionError",
    "EphemeralError",
    "NotEmptyError",
    "TooBigError",
    "TransactionFailedError",
    "ConnectionLossError",
    "SessionExpiredError",
    "TimedOutError",
    "AuthError",
    "TLSError",
    "ClosedError",
    "UnsupportedError",
    "ServiceError",
    "OutOfMemoryError",
    "InternalError",
    "ERRORS",
    "error_class",
]


class Error(Exception):
    """Base class of every offkv error.

    Attributes:
        code: the error code (:class:`ErrorCode`).
        key: the key the failed call was about, or ``None``.
        message: the library's detail message for the failed call.
    """

    #: The code of this class (``None`` for the base class).
    CODE: Optional[ErrorCode] = None

    code: ErrorCode
    key: Optional[str]
    message: str

    def __init__(self, message: str = "", *, code: Optional[int] = None,
                 key: Optional[str] = None) -> None:
        if code is None:
            code = self.CODE if self.CODE is not None else ErrorCode.EINTERNAL
        try:
            code = ErrorCode(code)
        except ValueError:  # a code newer than this binding
            pass
        super().__init__(message)
        self.code = code  # type: ignore[assignment]
        self.key = key
        self.message = message or _offkv.offkv_strerror(int(code))

    @property
    def name(self) -> str:
        """The symbolic name of the code, e.g. ``"OFFKV_ENOENT"``."""
        return _offkv.offkv_error_name(int(self.code))

    def __str__(self) -> str:
        return f"[{self.name}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, key={self.key!r})"

    def __reduce__(self) -> Any:  # picklable across processes
        return (_rebuild, (type(self), self.message, int(self.code), self.key,
                           self.__dict__))

    @staticmethod
    def from_code(code: int, message: str = "", key: Optional[str] = None) -> "Error":
        """An instance of the class for ``code`` (``Error`` itself for unknown codes)."""
        return error_class(code)(message, code=code, key=key)


def _rebuild(cls: Any, message: str, code: int, key: Optional[str],
             state: Dict[str, Any]) -> Error:
    e: Error = cls(message, code=code, key=key)
    e.__dict__.update(state)
    return e


class InvalidArgumentError(Error, ValueError):
    """``OFFKV_EINVAL``: a bad argument, key or URL."""
    CODE = ErrorCode.EINVAL


class NoNodeError(Error, LookupError):
    """``OFFKV_ENOENT``: no such node (or its parent is missing)."""
    CODE = ErrorCode.ENOENT


class NodeExistsError(Error):
    """``OFFKV_EEXIST``: the node already exists."""
    CODE = ErrorCode.EEXIST


class BadVersionError(Error):
    """``OFFKV_EVERSION``: the node's version is not the one expected."""
    CODE = ErrorCode.EVERSION


class EphemeralError(Error):
    """``OFFKV_EEPHEMERAL``: ephemeral nodes cannot have children."""
    CODE = ErrorCode.EEPHEMERAL


class NotEmptyError(Error):
    """``OFFKV_ENOTEMPTY``: the node has children."""
    CODE = ErrorCode.ENOTEMPTY


class TooBigError(Error, ValueError):
    """``OFFKV_ETOOBIG``: a value, key or transaction above the limit."""
    CODE = ErrorCode.ETOOBIG


class TransactionFailedError(Error):
    """``OFFKV_ETXN``: a transaction check or op failed; nothing was applied.

    Attributes:
        failed_index: index of the first failing item, counting checks first, then
            ops (the order :class:`Transaction` calls were made in, checks first).
        failed_code: why that item failed (:class:`ErrorCode`, e.g. ``EVERSION``).
        failed_op: ``(kind, key)`` of that item when known (``"check"``,
            ``"create"``, ``"set"``, ``"erase"``), else ``None``.
    """
    CODE = ErrorCode.ETXN

    failed_index: int
    failed_code: ErrorCode
    failed_op: Optional[Tuple[str, str]]

    def __init__(self, message: str = "", *, code: Optional[int] = None,
                 key: Optional[str] = None, failed_index: int = 0,
                 failed_code: int = 0) -> None:
        super().__init__(message, code=code, key=key)
        self.failed_index = failed_index
        try:
            self.failed_code = ErrorCode(failed_code)
        except ValueError:
            self.failed_code = failed_code  # type: ignore[assignment]
        self.failed_op = None

    @property
    def failed_error(self) -> Type[Error]:
        """The exception class of :attr:`failed_code`."""
        return error_class(self.failed_code)

    def __str__(self) -> str:
        return (f"[{self.name}] {self.message} (item {self.failed_index}: "
                f"{_offkv.offkv_error_name(int(self.failed_code))})")


class ConnectionLossError(Error, ConnectionError):
    """``OFFKV_ECONNLOSS``: connection lost; the outcome of the call is unknown."""
    CODE = ErrorCode.ECONNLOSS


class SessionExpiredError(Error):
    """``OFFKV_ESESSION``: the session expired."""
    CODE = ErrorCode.ESESSION


class TimedOutError(Error, TimeoutError):
    """``OFFKV_ETIMEOUT``: an operation or a wait timed out."""
    CODE = ErrorCode.ETIMEOUT


class AuthError(Error, PermissionError):
    """``OFFKV_EAUTH``: authentication or permission failure."""
    CODE = ErrorCode.EAUTH


class TLSError(Error):
    """``OFFKV_ETLS``: TLS set-up or handshake failure."""
    CODE = ErrorCode.ETLS


class ClosedError(Error):
    """``OFFKV_ECLOSED``: the client or the watch was closed."""
    CODE = ErrorCode.ECLOSED


class UnsupportedError(Error):
    """``OFFKV_EUNSUPPORTED``: not supported (e.g. the backend was compiled out)."""
    CODE = ErrorCode.EUNSUPPORTED


class ServiceError(Error):
    """``OFFKV_ESERVICE``: the backend answered something unexpected."""
    CODE = ErrorCode.ESERVICE


class OutOfMemoryError(Error, MemoryError):
    """``OFFKV_ENOMEM``: out of memory."""
    CODE = ErrorCode.ENOMEM


class InternalError(Error):
    """``OFFKV_EINTERNAL``: a bug in offkv."""
    CODE = ErrorCode.EINTERNAL


#: Error class by code, for every code but ``OK``.
ERRORS: Dict[ErrorCode, Type[Error]] = {
    cls.CODE: cls
    for cls in (InvalidArgumentError, NoNodeError, NodeExistsError, BadVersionError,
                EphemeralError, NotEmptyError, TooBigError, TransactionFailedError,
                ConnectionLossError, SessionExpiredError, TimedOutError, AuthError,
                TLSError, ClosedError, UnsupportedError, ServiceError, OutOfMemoryError,
                InternalError)
    if cls.CODE is not None
}


def error_class(code: int) -> Type[Error]:
    """The exception class for an error code (``Error`` for an unknown code)."""
    try:
        return ERRORS[ErrorCode(code)]
    except ValueError:
        return Error
    except KeyError:
        return Error


def _factory(code: int, message: str, extra: object) -> Error:
    """Called by the C wrapper for every failed call (see offkv.i)."""
    if code == ErrorCode.ETXN and isinstance(extra, tuple):
        index, failed = extra
        return TransactionFailedError(message, code=code, failed_index=index,
                                      failed_code=failed)
    return error_class(code)(message, code=code)


_offkv._set_error_factory(_factory)
