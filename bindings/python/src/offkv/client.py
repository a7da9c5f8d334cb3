"""The client: :func:`open` and :class:`Client`."""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import (Any, Callable, Dict, List, Mapping, Optional, Set, Tuple, TypeVar,
                    Union)

from . import _offkv
from ._callbacks import dispatcher
from .errors import Error
from .model import (EPHEMERAL, SEQUENTIAL, ErrorCode, Event, Node, OpResult,
                    ReadConsistency, SessionState)
from .recipes import Detector, Election, Group, Lock, RecipeCallback, _dispatch
from .transaction import BytesLike, Transaction
from .watch import PersistentWatch, Watch, WatchCallback

__all__ = ["open", "Client", "SessionCallback"]

#: A session callback: told every session state transition (an Event of type
#: SESSION), starting with the first CONNECTED, on the client's event thread.
SessionCallback = Callable[[Event], Any]

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")


def _call(fn: Callable[..., T], key: Optional[str], *args: Any) -> T:
    """Calls a low-level function; a raised offkv.Error gets ``key`` attached."""
    try:
        return fn(*args)
    except Error as e:
        if e.key is None:
            e.key = key
        raise


def _ms(seconds: Optional[float], name: str) -> Optional[int]:
    if seconds is None:
        return None
    ms = int(round(float(seconds) * 1000))
    if ms <= 0:
        raise ValueError(f"{name} must be positive (seconds), or None for the default")
    return ms


def _consistency(value: Union[ReadConsistency, int, str, None]) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return int(ReadConsistency[value.upper()])
        except KeyError:
            raise ValueError(f"unknown read consistency {value!r}") from None
    return int(value)


def open(url: str, *,
         session_timeout: Optional[float] = None,
         connect_timeout: Optional[float] = None,
         operation_timeout: Optional[float] = None,
         tls_ca_file: Optional[PathLike] = None,
         tls_cert_file: Optional[PathLike] = None,
         tls_key_file: Optional[PathLike] = None,
         username: Optional[str] = None,
         password: Optional[str] = None,
         token: Optional[str] = None,
         read_consistency: Union[ReadConsistency, int, str, None] = None,
         on_session: Optional[SessionCallback] = None,
         options: Optional[Mapping[str, str]] = None) -> "Client":
    """Opens a client (``offkv_open``).

    Args:
        url: ``mem://NAME[/prefix]``, ``zk://host:port[,host:port...][/prefix]``,
            ``etcd://...``/``etcds://...``, ``consul://...``/``consuls://...``,
            optionally followed by ``?name=value&...`` options, which override the
            keyword arguments.
        session_timeout: seconds (default 10; bounds :data:`SESSION_TIMEOUT_MIN`
            .. :data:`SESSION_TIMEOUT_MAX`).
        connect_timeout: seconds to wait for the first connection (default 10).
        operation_timeout: seconds before an operation fails with
            :class:`TimedOutError` (default 10).
        tls_ca_file, tls_cert_file, tls_key_file: PEM files for ``etcds://`` and
            ``consuls://``.
        username, password: etcd user, ZooKeeper digest credentials.
        token: Consul ACL token.
        read_consistency: ``"linearizable"`` (default) or ``"serializable"``.
        on_session: called with an :class:`Event` of type SESSION at every session
            state transition, starting with the first CONNECTED, on the client's
            event thread (GIL held). Exceptions it raises go to the callback error
            hook.
        options: any option by its URL query name, with the URL's value syntax
            (``offkv_options_set``), e.g. ``{"zk_acl": "open"}``: every option the
            library knows, also those without a keyword argument here. They win
            over the keyword arguments; the URL's query wins over both.

    Returns:
        A :class:`Client`; use it as a context manager or call :meth:`Client.close`.

    Raises:
        InvalidArgumentError: malformed URL, unknown scheme, bad option.
        UnsupportedError: the backend was compiled out.
        ConnectionLossError, TimedOutError, AuthError, TLSError: could not connect.
    """
    opts: Dict[str, Any] = {}
    for name, value in (("session_timeout_ms", _ms(session_timeout, "session_timeout")),
                        ("connect_timeout_ms", _ms(connect_timeout, "connect_timeout")),
                        ("operation_timeout_ms",
                         _ms(operation_timeout, "operation_timeout")),
                        ("read_consistency", _consistency(read_consistency)),
                        ("username", username), ("password", password),
                        ("token", token)):
        if value is not None:
            opts[name] = value
    for name, path in (("tls_ca_file", tls_ca_file), ("tls_cert_file", tls_cert_file),
                       ("tls_key_file", tls_key_file)):
        if path is not None:
            opts[name] = os.fspath(path)
    if options:
        opts["by_name"] = dict(options)
    session = _session_dispatcher(on_session) if on_session is not None else None
    if session is not None:
        opts["session_callback"] = session
    try:
        handle = _call(_offkv.offkv_open, None, url, opts or None)
    except BaseException:
        _session_keep.discard(session)
        raise
    return Client(url, handle, session)


# Session dispatchers, kept alive until they have delivered CLOSED: a client closed
# from one of its own callbacks gets its CLOSED event after the close (and after a
# later offkv_client_free) returns (docs/c-api.md, "Threading").
_session_keep: Set[Callable[..., Any]] = set()


def _session_dispatcher(on_session: SessionCallback) -> Callable[..., Any]:
    holder: List[Callable[..., Any]] = []

    def after(event: Event) -> None:
        if event.session_state == SessionState.CLOSED:
            _session_keep.discard(holder[0])

    d = dispatcher(on_session, after)
    holder.append(d)
    _session_keep.add(d)
    return d


# Open clients, closed at interpreter exit (while callbacks can still run).
_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for client in list(_clients):
        try:
            client.close()
        except Exception:
            pass


def _free_client(handle: Any, keep: Any) -> None:
    _offkv.offkv_client_free(handle)
    del keep  # the session callback outlives the handle


class Client:
    """A connection to one store, with one session (``offkv_client``).

    Safe to share between threads. Every call that talks to the store releases the
    GIL. Values are bytes; keys are absolute paths such as ``"/app/config"``,
    relative to the URL's prefix. Use it as a context manager::

        with offkv.open("mem://demo") as client:
            client.create("/app", b"")
            client.set("/app/config", b"v1")
            print(client.get("/app/config"))   # Node(value=b'v1', version=1)

    Closing ends the session at once: the client's ephemeral nodes vanish, its
    watches get an ENDED event, and every later call raises :class:`ClosedError`.
    """

    def __init__(self, url: str, handle: Any, session: Optional[Callable[..., Any]]):
        self._h = handle
        self._session = session  # borrowed by C until offkv_client_free
        self._lock = threading.Lock()
        # Watches with a callback are kept alive here until they can no longer
        # fire, so that a callback-only watch needs no reference from the user.
        self._live: Set[Watch] = set()
        #: The URL the client was opened with.
        self.url = url
        _clients.add(self)

    # ---- life cycle ----

    def close(self) -> None:
        """Ends the session at once (``offkv_close``): ephemeral nodes vanish,
        watches get ENDED. Later calls raise :class:`ClosedError`. Closing twice is
        fine; closing from a callback is fine."""
        h = self._h
        if h is not None:
            _offkv.offkv_close(h)

    @property
    def session_state(self) -> SessionState:
        """The current session state (``offkv_get_session_state``)."""
        return SessionState(_call(_offkv.offkv_get_session_state, None, self._h))

    @property
    def closed(self) -> bool:
        """True once the client is closed."""
        return self.session_state == SessionState.CLOSED

    def stats(self) -> Dict[str, int]:
        """The client's counters since open (``offkv_get_stats``), e.g.
        ``{"ops.get": 3, "errors.ENOENT": 1, "retries": 0, "reconnects": 0,
        "session.CONNECTED": 1, "watches.armed": 1, "watches.fired": 1, ...}``
        (names: docs/c-api.md, "Logs and counters"; more may be added). A snapshot;
        readable after :meth:`close` too."""
        return _call(_offkv.offkv_get_stats, None, self._h)

    def testkit_end_watches(self, error: Union[ErrorCode, int]) -> None:
        """Test kit (``offkv_testkit_end_watches``): ends every watch of this client
        with an ENDED event carrying ``error`` (e.g. ``ErrorCode.EAUTH``) while the
        session stays as it is, as a store that cancels watches does; for an
        application's tests of its re-arming. The recipes re-run their step.

        Raises:
            InvalidArgumentError: ``error`` is ``OK`` or not a known code.
            ClosedError: the client is closed.
        """
        _call(_offkv.offkv_testkit_end_watches, None, self._h, int(error))

    def testkit_suspend(self) -> None:
        """Test kit (``offkv_testkit_suspend``): cuts this client's connection, as a
        network failure would; returns (GIL released) once the session is SUSPENDED.
        Then operations wait up to the operation timeout and raise
        :class:`ConnectionLossError` (nothing sent), watches stay armed, an elected
        leader gets NOT_LEADER (``ErrorCode.ECONNLOSS``), and once the session
        timeout has passed the session is LOST (ephemerals gone, watches ENDED).
        On mem:// and, through a client-side hook, on every server backend.

        Raises:
            ClosedError: the client is closed.
            TimedOutError: SUSPENDED was not reported in time (the cut stays).
        """
        _call(_offkv.offkv_testkit_suspend, None, self._h)

    def testkit_resume(self) -> None:
        """Test kit (``offkv_testkit_resume``): gives the connection back; returns
        once CONNECTED: the same session (missed watch events are delivered), or a
        new one after LOST if the session expired meanwhile. Nothing to do if the
        client was not cut.

        Raises:
            ClosedError: the client is closed.
            TimedOutError: not CONNECTED again in time.
        """
        _call(_offkv.offkv_testkit_resume, None, self._h)

    def testkit_expire(self) -> None:
        """Test kit (``offkv_testkit_expire``): expires this client's session at the
        store, as Curator's ``KillSession``: when it returns its ephemeral nodes are
        gone for every client. A connected client then goes LOST (watches ENDED with
        ``ErrorCode.ESESSION``, a leader NOT_LEADER) and CONNECTED in a new session,
        before this returns; a suspended one hears LOST when resumed.

        Raises:
            ClosedError: the client is closed.
            TimedOutError: not CONNECTED again in time.
        """
        _call(_offkv.offkv_testkit_expire, None, self._h)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h is None:
            return
        keep = getattr(self, "_session", None)
        try:
            if _offkv._in_callback():
                # offkv_client_free must not run on the client's own event thread:
                # close here (allowed) and free from a helper thread.
                _offkv.offkv_close(h)
                threading.Thread(target=_free_client, args=(h, keep), daemon=True,
                                 name="offkv-client-free").start()
            else:
                _free_client(h, keep)
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<offkv.Client {self.url!r}>"

    # ---- nodes ----

    def create(self, key: str, value: Optional[BytesLike] = b"", *,
               ephemeral: bool = False, sequential: bool = False) -> str:
        """Creates ``key`` with ``value`` (``offkv_create``) and returns the actual
        key: ``key`` plus 10 digits when ``sequential``.

        Raises:
            NodeExistsError: the key exists.
            NoNodeError: its parent does not exist.
            EphemeralError: the parent is ephemeral.
            TooBigError: the value is above :data:`MAX_VALUE_SIZE`.
        """
        flags = (EPHEMERAL if ephemeral else 0) | (SEQUENTIAL if sequential else 0)
        return _call(_offkv.offkv_create, key, self._h, key, value, flags)

    def set(self, key: str, value: Optional[BytesLike]) -> int:
        """Creates or replaces ``key``'s value (``offkv_set``); returns the new
        version. The parent must exist."""
        return _call(_offkv.offkv_set, key, self._h, key, value)

    def cas(self, key: str, value: Optional[BytesLike], version: int) -> int:
        """Compare-and-set (``offkv_cas``): ``version`` 0 creates only if absent,
        otherwise replaces only at that version. Returns the new version.

        Raises:
            BadVersionError: the version did not match; nothing was written.
        """
        return _call(_offkv.offkv_cas, key, self._h, key, value, version)

    def get(self, key: str) -> Node:
        """The value and version of ``key`` (``offkv_get``).

        Raises:
            NoNodeError: the key does not exist.
        """
        value, version = _call(_offkv.offkv_get, key, self._h, key)
        return Node(value, version)

    def exists(self, key: str) -> int:
        """The version of ``key``, or 0 if it does not exist (``offkv_exists``)."""
        return _call(_offkv.offkv_exists, key, self._h, key)

    def children(self, key: str) -> List[str]:
        """The direct children of ``key`` as full keys, sorted bytewise
        (``offkv_children``). ``"/"`` lists the client's root."""
        return _call(_offkv.offkv_children, key, self._h, key)

    def erase(self, key: str, version: int = 0) -> None:
        """Erases ``key`` and its whole subtree atomically (``offkv_erase``);
        ``version`` 0 means any version.

        Raises:
            NoNodeError: the key does not exist.
            BadVersionError: the version did not match.
        """
        _call(_offkv.offkv_erase, key, self._h, key, version)

    # ---- watches ----

    def _watch_callback(self, callback: Optional[WatchCallback], key: str,
                        persistent: bool
                        ) -> Tuple[Optional[Callable[..., Any]], Callable[[Watch], None]]:
        """The dispatcher for a watch callback, and the function that registers the
        created watch in the live set until it can no longer fire."""
        if callback is None:
            return None, lambda w: None
        lock, live = self._lock, self._live
        state: List[Any] = [None, False]  # weakref to the watch, finished

        def after(event: Event) -> None:
            if persistent and not event.ended:
                return
            with lock:
                state[1] = True
                w = state[0]() if state[0] is not None else None
            if w is not None:
                w._unregister()

        def register(w: Watch) -> None:
            with lock:
                state[0] = weakref.ref(w)
                if state[1]:
                    return
                w._live = live
                live.add(w)

        return dispatcher(callback, after), register

    def get_watch(self, key: str, callback: Optional[WatchCallback] = None
                  ) -> Tuple[Node, Watch]:
        """Reads ``key`` and leaves a one-shot watch, atomically
        (``offkv_get_watch``): it fires once with CHANGED or DELETED (or ENDED).

        ``callback(event)``, if given, is called once on the client's event thread
        with the GIL held; the watch then needs no reference from you.

        Returns:
            ``(node, watch)``. If the read fails, no watch is left.
        """
        dispatch, register = self._watch_callback(callback, key, False)
        value, version, h = _call(_offkv.offkv_get_watch, key, self._h, key, dispatch)
        w = Watch(h, key, dispatch)
        register(w)
        return Node(value, version), w

    def exists_watch(self, key: str, callback: Optional[WatchCallback] = None
                     ) -> Tuple[int, Watch]:
        """Like :meth:`exists`, leaving a one-shot watch (``offkv_exists_watch``):
        CREATED if the key was absent, CHANGED or DELETED if present.

        Returns:
            ``(version, watch)``; version 0 if the key does not exist.
        """
        dispatch, register = self._watch_callback(callback, key, False)
        version, h = _call(_offkv.offkv_exists_watch, key, self._h, key, dispatch)
        w = Watch(h, key, dispatch)
        register(w)
        return version, w

    def children_watch(self, key: str, callback: Optional[WatchCallback] = None
                       ) -> Tuple[List[str], Watch]:
        """Like :meth:`children`, leaving a one-shot watch
        (``offkv_children_watch``): CHILDREN when a direct child is added or
        removed, DELETED if the key goes.

        Returns:
            ``(children, watch)``.
        """
        dispatch, register = self._watch_callback(callback, key, False)
        children, h = _call(_offkv.offkv_children_watch, key, self._h, key, dispatch)
        w = Watch(h, key, dispatch)
        register(w)
        return children, w

    def watch(self, key: str, callback: Optional[WatchCallback] = None
              ) -> PersistentWatch:
        """A persistent, recursive watch on ``key`` and every key below it
        (``offkv_watch_persistent``; ``key`` need not exist, ``"/"`` is the whole
        root): CREATED / CHANGED / DELETED for each change, in order, until
        cancelled; ENDED when the session ends.

        Without a callback, iterate the watch or call :meth:`~Watch.wait`; with a
        callback, events go only to the callback (and the watch lives until it is
        cancelled or ends, even with no reference from you).
        """
        dispatch, register = self._watch_callback(callback, key, True)
        h = _call(_offkv.offkv_watch_persistent, key, self._h, key, dispatch)
        w = PersistentWatch(h, key, dispatch)
        register(w)
        return w

    # ---- transactions ----

    def transaction(self) -> Transaction:
        """A new :class:`Transaction` bound to this client; as a context manager
        it commits when its block exits without an exception."""
        return Transaction(self)

    def commit(self, txn: Transaction) -> List[OpResult]:
        """Applies every check and op of ``txn`` atomically, or nothing
        (``offkv_commit``). Returns one :class:`OpResult` per op, in order.

        Raises:
            TransactionFailedError: a check or op failed (see ``failed_index``,
                ``failed_code``, ``failed_op``); nothing was applied.
            TooBigError: more than :data:`MAX_TXN_OPS` checks and ops.
        """
        return txn._commit_on(self._h)

    # ---- recipes ----

    def election(self, group: str, payload: Optional[BytesLike] = b"",
                 callback: Optional[RecipeCallback] = None, *,
                 label: Optional[str] = None) -> Election:
        """Joins the leader election of ``group`` with ``payload`` (e.g.
        ``b"host:port"``) and returns at once (``offkv_election_contend``);
        leadership is decided on the event thread. ``callback`` gets LEADER /
        NOT_LEADER events. Keep the returned :class:`Election`: dropping it
        withdraws. ``group`` is created (with its parents) if missing.

        ``label`` (e.g. :data:`MESOS_MASTER_LABEL`): Mesos' layout, the member node
        is ``group/<label>_<seq>`` and only members with that label contend
        (``offkv_election_contend_labeled``).

        Raises:
            InvalidArgumentError: an invalid label (empty, with ``/`` or ``_``...).
        """
        d = _dispatch(callback)
        if label is None:
            h = _call(_offkv.offkv_election_contend, group, self._h, group, payload, d)
        else:
            h = _call(_offkv.offkv_election_contend_labeled, group, self._h, group,
                      label, payload, d)
        return Election(h, group, _offkv.offkv_election_free, d, label)

    def detector(self, group: str, callback: Optional[RecipeCallback] = None, *,
                 label: Optional[str] = None) -> Detector:
        """Follows ``group``'s leader without contending (``offkv_detector_open``);
        ``callback`` gets DETECTED events. The group need not exist yet.

        ``label`` (e.g. :data:`MESOS_MASTER_LABEL`): Mesos' layout, the leader is the
        lowest ``group/<label>_<seq>`` member (``offkv_detector_open_labeled``).
        """
        d = _dispatch(callback)
        if label is None:
            h = _call(_offkv.offkv_detector_open, group, self._h, group, d)
        else:
            h = _call(_offkv.offkv_detector_open_labeled, group, self._h, group, label,
                      d)
        return Detector(h, group, _offkv.offkv_detector_free, d, label)

    def group(self, group: str, callback: Optional[RecipeCallback] = None, *,
              label: Optional[str] = None) -> Group:
        """A handle on the membership of ``group`` (``offkv_group_open``): call
        :meth:`Group.join` to become a member; ``callback`` gets MEMBERS events
        with the whole membership, first and after every change.

        ``label``: Mesos' layout, a join creates ``group/<label>_<seq>`` and only
        members with that label are listed (``offkv_group_open_labeled``).
        """
        d = _dispatch(callback)
        if label is None:
            h = _call(_offkv.offkv_group_open, group, self._h, group, d)
        else:
            h = _call(_offkv.offkv_group_open_labeled, group, self._h, group, label, d)
        return Group(h, group, _offkv.offkv_group_free, d, label)

    def lock(self, key: str, timeout: Optional[float] = None) -> Lock:
        """A mutual-exclusion lock named by ``key`` (``offkv_lock_new``; no I/O until
        acquired). ``timeout`` (seconds, ``None``: forever) is what ``with`` waits::

            with client.lock("/locks/x", timeout=5):
                ...     # TimedOutError if not acquired within 5 s
        """
        h = _call(_offkv.offkv_lock_new, key, self._h, key)
        return Lock(h, key, timeout)
