"""The recipes: leader election, leader detection, group membership and lock.

They are built once in the C library on the ordinary operations, so every backend
has them (see docs/recipes.md of the repository); this module only wraps their
handles. Get them from a client::

    election = client.election("/svc/leader", b"host1:8080", callback=on_change)
    detector = client.detector("/svc/leader")
    group = client.group("/svc/members"); group.join(b"host1:8080")
    with client.lock("/locks/x", timeout=5):
        ...

``label=`` (election, detector, group) uses Mesos' layout: member nodes named
``<label>_<10 digits>`` exactly as a Mesos master names its own, and only members
with that label take part; :data:`MESOS_MASTER_LABEL` (``"json.info"``) follows or
joins a stock Mesos master group::

    detector = client.detector("/mesos", label=offkv.MESOS_MASTER_LABEL)

Every object may be used from many threads, is a context manager, and must be
kept referenced while it is meant to work: when it is garbage-collected it is
closed (a contender withdraws, a member leaves, a held lock is released).
Callbacks get a :class:`RecipeEvent` on the client's event thread, GIL held;
after ``close()`` returns, the callback is never called again.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, Optional

from . import _offkv, _wait
from ._callbacks import dispatcher
from ._handle import Handle
from .errors import ClosedError, Error, NoNodeError, TimedOutError
from .model import Member, RecipeEvent
from .transaction import BytesLike

__all__ = ["Election", "Detector", "Group", "Lock", "RecipeCallback",
           "MESOS_MASTER_LABEL"]

#: The member label of a Mesos master's nodes (``json.info_<seq>``, MasterInfo as
#: JSON): give it as ``label=`` to follow or join a stock Mesos master group.
MESOS_MASTER_LABEL: str = _offkv.OFFKV_MESOS_MASTER_LABEL

#: A recipe callback: called with a RecipeEvent on the client's event thread.
RecipeCallback = Callable[[RecipeEvent], Any]


def _dispatch(callback: Optional[RecipeCallback]) -> Optional[Callable[..., Any]]:
    if callback is None:
        return None
    return dispatcher(callback, convert=RecipeEvent._from_raw)


class _Recipe:
    """Common plumbing: a Handle, the key errors are about, calls on the handle."""

    __slots__ = ("_handle", "group", "label", "__weakref__")
    _what = "recipe"

    def __init__(self, handle: Any, group: str, free: Callable[[Any], None],
                 keep: Any = None, label: Optional[str] = None) -> None:
        # The free function waits for a running callback and stops all later ones;
        # the dispatcher given to C is kept alive until it has returned.
        self._handle = Handle(handle, free, self._what, keep=keep)
        #: The group (or lock) key.
        self.group = group
        #: The member label (Mesos' layout), or ``None`` for offkv's own names.
        self.label = label

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        h = self._handle.acquire(self.group)
        try:
            return fn(h, *args)
        except Error as e:
            if e.key is None:
                e.key = self.group
            raise
        finally:
            self._handle.release()

    def _member(self, fn: Callable[..., Any]) -> Optional[Member]:
        try:
            return Member(*self._call(fn))
        except NoNodeError:
            return None

    def _close(self, wake: Optional[Callable[[Any], Any]]) -> None:
        self._handle.close(wake)

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._handle.closed

    def __enter__(self) -> Any:
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
        label = "" if self.label is None else f" label={self.label!r}"
        return f"<offkv.{type(self).__name__} {self.group!r}{label} {state}>"


class Election(_Recipe):
    """A contender in the leader election of a group (``offkv_election_*``), from
    :meth:`Client.election`.

    Joining creates this contender's ephemeral sequential member node (holding the
    payload, e.g. ``b"host:port"``); the lowest one leads. The callback gets LEADER
    when this contender becomes leader and NOT_LEADER when it stops (session
    suspended or lost, client closed, node erased, withdrawn), strictly
    alternating. After a lost session it re-contends by itself. At no instant do
    two live sessions both believe they lead.
    """

    __slots__ = ()
    _what = "election"

    @property
    def is_leader(self) -> bool:
        """Whether this contender leads right now (``offkv_election_is_leader``)."""
        return bool(self._call(_offkv.offkv_election_is_leader))

    def wait(self, leader: bool = True, timeout: Optional[float] = None) -> bool:
        """Blocks (GIL released) up to ``timeout`` seconds (``None``: forever) until
        :attr:`is_leader` equals ``leader``; returns False on timeout
        (``offkv_election_wait``).

        Raises:
            ClosedError: waiting for leadership of a withdrawn election, or its
                client was closed.
        """
        try:
            _wait.wait(lambda ms: self._call(_offkv.offkv_election_wait, int(leader), ms),
                       timeout)
            return True
        except TimedOutError:
            return False

    @property
    def member(self) -> Optional[Member]:
        """This contender's current member node, or ``None`` while it has none
        (``offkv_election_member``)."""
        return self._member(_offkv.offkv_election_member)

    def withdraw(self) -> None:
        """Leaves the election (``offkv_election_withdraw``): if leader, NOT_LEADER
        is delivered first, then the member node is erased. Final; twice is fine."""
        self._call(_offkv.offkv_election_withdraw)

    def close(self) -> None:
        """Withdraws and frees the handle (``offkv_election_free``)."""
        self._close(_offkv.offkv_election_withdraw)


class Detector(_Recipe):
    """Follows a group's leader without contending (``offkv_detector_*``), from
    :meth:`Client.detector`. The callback gets DETECTED for the first view and on
    every change of it (new leader, changed payload, no leader)."""

    __slots__ = ()
    _what = "detector"

    @property
    def leader(self) -> Optional[Member]:
        """The current leader, or ``None`` if there is none or none known yet
        (``offkv_detector_leader``)."""
        return self._member(_offkv.offkv_detector_leader)

    def wait(self, previous: Optional[str] = None,
             timeout: Optional[float] = None) -> Optional[Member]:
        """Blocks (GIL released) up to ``timeout`` seconds (``None``: forever) until
        the leader's key differs from ``previous`` (``None``: "no leader"), then
        returns the leader, or ``None`` if the change was to no leader
        (``offkv_detector_wait``).

        Raises:
            TimedOutError: nothing changed within ``timeout``.
            ClosedError: the detector or its client was closed.
        """
        def call(ms: int) -> Optional[Member]:
            try:
                return Member(*self._call(_offkv.offkv_detector_wait, previous, ms))
            except NoNodeError:
                return None

        return _wait.wait(call, timeout)

    def changes(self, timeout: Optional[float] = None) -> Iterator[Optional[Member]]:
        """Yields the leader (or ``None``) at every change, starting from the current
        one; stops when the detector is closed or nothing changes within
        ``timeout`` seconds (``None``: never)."""
        current = self.leader
        yield current
        while True:
            try:
                current = self.wait(current.key if current else None, timeout)
            except (ClosedError, TimedOutError):
                return
            yield current

    def close(self) -> None:
        """Stops detecting and frees the handle (``offkv_detector_close`` /
        ``_free``); no callback after it returns."""
        self._close(_offkv.offkv_detector_close)


class Group(_Recipe):
    """A handle on a group (``offkv_group_*``), from :meth:`Client.group`: join it
    (at most one membership per handle) and/or observe it. The callback gets
    MEMBERS with the whole membership first, then after every change."""

    __slots__ = ()
    _what = "group"

    def join(self, payload: Optional[BytesLike] = b"") -> None:
        """Joins with ``payload`` (``offkv_group_join``). The membership lives as long
        as the session and is re-created by itself after a lost session.

        Raises:
            InvalidArgumentError: this handle is already a member.
        """
        self._call(_offkv.offkv_group_join, payload)

    def update(self, payload: Optional[BytesLike]) -> None:
        """Replaces this handle's payload (``offkv_group_update``)."""
        self._call(_offkv.offkv_group_update, payload)

    def leave(self) -> None:
        """Leaves the group (``offkv_group_leave``).

        Raises:
            InvalidArgumentError: not joined.
        """
        self._call(_offkv.offkv_group_leave)

    @property
    def membership(self) -> Optional[Member]:
        """This handle's own member node, or ``None`` if it has none right now
        (``offkv_group_self``)."""
        return self._member(_offkv.offkv_group_self)

    def members(self) -> List[Member]:
        """Reads the membership now, by sequence (``offkv_group_members``)."""
        return [Member(*m) for m in self._call(_offkv.offkv_group_members)]

    def close(self) -> None:
        """Leaves (if joined), stops observing and frees the handle
        (``offkv_group_close`` / ``_free``)."""
        self._close(_offkv.offkv_group_close)


class Lock(_Recipe):
    """A distributed mutual-exclusion lock named by a key (``offkv_lock_*``), from
    :meth:`Client.lock`. Not reentrant; two handles (even of one client) exclude
    each other. Released by :meth:`release`, by :meth:`close`, or when the
    holder's session ends. As a context manager it acquires with the timeout given
    to :meth:`Client.lock` (raising :class:`TimedOutError` if not acquired) and
    releases on exit::

        with client.lock("/locks/x", timeout=5):
            ...
    """

    __slots__ = ("timeout",)
    _what = "lock"

    def __init__(self, handle: Any, key: str, timeout: Optional[float]) -> None:
        super().__init__(handle, key, _offkv.offkv_lock_free)
        #: Default timeout of ``with lock:`` (seconds, ``None``: forever).
        self.timeout = timeout

    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool:
        """Waits (GIL released) up to ``timeout`` seconds (``None``: forever) for the
        lock, or tries once if ``blocking`` is False; returns whether it was
        acquired (``offkv_lock_acquire``). Nothing is left behind on a timeout.

        Raises:
            SessionExpiredError, ClosedError: the session ended meanwhile.
            InvalidArgumentError: this handle holds the lock or is acquiring it.
        """
        ms = 0 if not blocking else _wait.to_ms(timeout)
        try:
            self._call(_offkv.offkv_lock_acquire, ms)
            return True
        except TimedOutError:
            return False

    def release(self) -> None:
        """Releases the lock (``offkv_lock_release``).

        Raises:
            InvalidArgumentError: not held.
            SessionExpiredError: the lock had already been lost (session ended or
                node erased): the critical section was not protected.
        """
        self._call(_offkv.offkv_lock_release)

    @property
    def held(self) -> bool:
        """Whether this handle holds the lock and its session is CONNECTED (a local
        belief; fence writes with :attr:`member`) (``offkv_lock_is_held``)."""
        return bool(self._call(_offkv.offkv_lock_is_held))

    def locked(self) -> bool:
        """Same as :attr:`held` (the name ``threading.Lock`` uses)."""
        return self.held

    @property
    def member(self) -> Optional[Member]:
        """The holder's member node (a fencing token), or ``None`` if not held
        (``offkv_lock_member``)."""
        return self._member(_offkv.offkv_lock_member)

    def close(self) -> None:
        """Releases (if held) and frees the handle (``offkv_lock_free``)."""
        self._close(None)

    def __enter__(self) -> "Lock":
        self._call(_offkv.offkv_lock_acquire, _wait.to_ms(self.timeout))
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
