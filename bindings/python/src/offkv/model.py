"""Codes, event types and the small records offkv returns."""

from __future__ import annotations

import enum
from typing import Any, List, NamedTuple, Optional, Tuple

from . import _offkv

__all__ = [
    "ErrorCode",
    "EventType",
    "SessionState",
    "ReadConsistency",
    "Node",
    "OpResult",
    "Event",
    "Member",
    "RecipeEvent",
    "ANY_VERSION",
    "EPHEMERAL",
    "SEQUENTIAL",
    "MAX_VALUE_SIZE",
    "MAX_KEY_SIZE",
    "MAX_SEGMENT_SIZE",
    "MAX_TXN_OPS",
    "SESSION_TIMEOUT_DEFAULT",
    "SESSION_TIMEOUT_MIN",
    "SESSION_TIMEOUT_MAX",
]


class ErrorCode(enum.IntEnum):
    """The C error codes (``offkv_error``)."""

    OK = _offkv.OFFKV_OK
    EINVAL = _offkv.OFFKV_EINVAL
    ENOENT = _offkv.OFFKV_ENOENT
    EEXIST = _offkv.OFFKV_EEXIST
    EVERSION = _offkv.OFFKV_EVERSION
    EEPHEMERAL = _offkv.OFFKV_EEPHEMERAL
    ENOTEMPTY = _offkv.OFFKV_ENOTEMPTY
    ETOOBIG = _offkv.OFFKV_ETOOBIG
    ETXN = _offkv.OFFKV_ETXN
    ECONNLOSS = _offkv.OFFKV_ECONNLOSS
    ESESSION = _offkv.OFFKV_ESESSION
    ETIMEOUT = _offkv.OFFKV_ETIMEOUT
    EAUTH = _offkv.OFFKV_EAUTH
    ETLS = _offkv.OFFKV_ETLS
    ECLOSED = _offkv.OFFKV_ECLOSED
    EUNSUPPORTED = _offkv.OFFKV_EUNSUPPORTED
    ESERVICE = _offkv.OFFKV_ESERVICE
    ENOMEM = _offkv.OFFKV_ENOMEM
    EINTERNAL = _offkv.OFFKV_EINTERNAL

    @property
    def description(self) -> str:
        """``offkv_strerror(code)``: static text such as ``"no such node"``."""
        return _offkv.offkv_strerror(int(self))


class EventType(enum.IntEnum):
    """What a watch or session event reports (``offkv_event_type``)."""

    CREATED = _offkv.OFFKV_EVENT_CREATED
    DELETED = _offkv.OFFKV_EVENT_DELETED
    CHANGED = _offkv.OFFKV_EVENT_CHANGED
    CHILDREN = _offkv.OFFKV_EVENT_CHILDREN
    ENDED = _offkv.OFFKV_EVENT_ENDED
    SESSION = _offkv.OFFKV_EVENT_SESSION
    # Recipe events (RecipeEvent):
    LEADER = _offkv.OFFKV_EVENT_LEADER
    NOT_LEADER = _offkv.OFFKV_EVENT_NOT_LEADER
    DETECTED = _offkv.OFFKV_EVENT_DETECTED
    MEMBERS = _offkv.OFFKV_EVENT_MEMBERS


class SessionState(enum.IntEnum):
    """A client's session state (``offkv_session_state``)."""

    CONNECTED = _offkv.OFFKV_SESSION_CONNECTED
    SUSPENDED = _offkv.OFFKV_SESSION_SUSPENDED
    LOST = _offkv.OFFKV_SESSION_LOST
    CLOSED = _offkv.OFFKV_SESSION_CLOSED


def _check_names(cls: Any, library_name: Any) -> None:
    """The members' names are the library's own (offkv_event_type_name,
    offkv_session_state_name): a library that names them otherwise is refused at
    import rather than printing names that differ from the C API's."""
    for member in cls:
        if library_name(int(member)) != member.name:
            raise ImportError(f"offkv: {cls.__name__}.{member.name} is named "
                              f"{library_name(int(member))!r} by the loaded library")


_check_names(EventType, _offkv.offkv_event_type_name)
_check_names(SessionState, _offkv.offkv_session_state_name)


class ReadConsistency(enum.IntEnum):
    """Read consistency option (``offkv_read_consistency``)."""

    LINEARIZABLE = _offkv.OFFKV_READ_LINEARIZABLE
    SERIALIZABLE = _offkv.OFFKV_READ_SERIALIZABLE


#: Transaction check version meaning "the node exists, whatever its version".
ANY_VERSION: int = _offkv.OFFKV_ANY_VERSION
#: Create flag: the node lives as long as the client's session.
EPHEMERAL: int = _offkv.OFFKV_EPHEMERAL
#: Create flag: append a 10-digit counter to the key.
SEQUENTIAL: int = _offkv.OFFKV_SEQUENTIAL
#: Largest value in bytes, the same on every backend.
MAX_VALUE_SIZE: int = _offkv.OFFKV_MAX_VALUE_SIZE
#: Largest full key (prefix + key) in bytes.
MAX_KEY_SIZE: int = _offkv.OFFKV_MAX_KEY_SIZE
#: Largest key segment in bytes.
MAX_SEGMENT_SIZE: int = _offkv.OFFKV_MAX_SEGMENT_SIZE
#: Largest number of checks + ops in one transaction.
MAX_TXN_OPS: int = _offkv.OFFKV_MAX_TXN_OPS
#: Session timeout default and bounds, in seconds.
SESSION_TIMEOUT_DEFAULT: float = _offkv.OFFKV_SESSION_TIMEOUT_DEFAULT_MS / 1000.0
SESSION_TIMEOUT_MIN: float = _offkv.OFFKV_SESSION_TIMEOUT_MIN_MS / 1000.0
SESSION_TIMEOUT_MAX: float = _offkv.OFFKV_SESSION_TIMEOUT_MAX_MS / 1000.0


class Node(NamedTuple):
    """A node read by :meth:`Client.get`: its value and version."""

    value: bytes
    version: int


class OpResult(NamedTuple):
    """The result of one transaction op: the version after it (0 for erase) and the
    key acted on (the actual key for a sequential create)."""

    version: int
    key: str


def _enum(cls: Any, value: int) -> Any:
    try:
        return cls(value)
    except ValueError:  # a value newer than this binding
        return value


class Event(NamedTuple):
    """A watch or session event (``offkv_event``).

    Attributes:
        type: what happened.
        key: the key that changed, relative to the client's root; ``None`` for
            session events.
        version: node version after the change, 0 if it no longer exists, -1 if
            not known (CHILDREN, ENDED, SESSION).
        session_state: for SESSION and ENDED events, else ``None``.
        error: for ENDED, why the watch ended (``ECLOSED``, ``ESESSION`` ...);
            ``ErrorCode.OK`` otherwise.
        message: human-readable detail, may be ``""``.
    """

    type: EventType
    key: Optional[str]
    version: int
    session_state: Optional[SessionState]
    error: ErrorCode
    message: str

    @classmethod
    def _from_raw(cls, raw: Tuple[int, Optional[str], int, int, int, str]) -> "Event":
        type_, key, version, state, error, message = raw
        return cls(_enum(EventType, type_), key, version,
                   _enum(SessionState, state) if state else None,
                   _enum(ErrorCode, error), message)

    @property
    def ended(self) -> bool:
        """True for an ENDED event (the watch will report nothing more)."""
        return self.type == EventType.ENDED


class Member(NamedTuple):
    """One participant of a recipe group (``offkv_member``): its ephemeral
    sequential member node, its sequence (lower = joined earlier; with the key, a
    fencing token), the node's version when read (-1 if unknown) and its payload."""

    key: str
    sequence: int
    version: int
    payload: bytes


def _members(raw: Optional[List[Any]]) -> Optional[List[Member]]:
    return None if raw is None else [Member(*m) for m in raw]


class RecipeEvent(NamedTuple):
    """What a recipe callback is told (``offkv_recipe_event``).

    Attributes:
        type: LEADER / NOT_LEADER (election), DETECTED (detector), MEMBERS (group).
        member: LEADER / NOT_LEADER: this contender's own member; DETECTED: the
            leader, or ``None`` when there is none; MEMBERS: ``None``.
        group: the group key.
        members: MEMBERS: every member by sequence, else ``None``.
        session_state: the session state when this was decided.
        error: NOT_LEADER: why (``ECONNLOSS`` suspended, ``ESESSION`` lost,
            ``ECLOSED`` client closed, ``ENOENT`` node erased, ``OK`` withdrawn);
            DETECTED / MEMBERS: ``ESESSION`` when the view was dropped because the
            session was lost, else ``OK``.
        message: human-readable detail, may be ``""``.
    """

    type: EventType
    member: Optional[Member]
    group: str
    members: Optional[List[Member]]
    session_state: Optional[SessionState]
    error: ErrorCode
    message: str

    @classmethod
    def _from_raw(cls, raw: Tuple[Any, ...]) -> "RecipeEvent":
        type_, member, group, members, state, error, message = raw
        return cls(_enum(EventType, type_), Member(*member) if member else None, group,
                   _members(members), _enum(SessionState, state) if state else None,
                   _enum(ErrorCode, error), message)
