"""Fixtures: every test that takes ``env`` runs once per backend.

Backends: ``mem://`` always, plus every URL given by the environment, like the
C++ suites:

* ``OFFKV_TEST_URL``: one or more URLs, separated by whitespace
  (``zk://127.0.0.1:2181``, ``etcd://...``);
* ``OFFKV_TEST_URL_FILE``: one or more files (separated by ``os.pathsep``) whose
  first line is a URL (the server fixtures of tests/servers write them).

A requested backend whose server is missing FAILS its tests; nothing is skipped.
Each test works under its own unique root (a prefix appended to the URL's path, or
a unique mem:// store), removed afterwards.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Callable, List, Optional

import pytest

import offkv


class Backend:
    def __init__(self, url: Optional[str], problem: Optional[str] = None,
                 name: Optional[str] = None) -> None:
        self.url = url
        self.problem = problem
        self.name = name or (url.split("://", 1)[0] if url else "missing")

    def __repr__(self) -> str:
        return self.name


def _backends() -> List[Backend]:
    out = [Backend("mem://")]
    for url in os.environ.get("OFFKV_TEST_URL", "").split():
        out.append(Backend(url))
    files = os.environ.get("OFFKV_TEST_URL_FILE", "")
    for path in [p for p in files.split(os.pathsep) if p.strip()]:
        try:
            with open(path, encoding="utf-8") as f:
                url = f.readline().strip()
        except OSError as e:
            out.append(Backend(None, f"OFFKV_TEST_URL_FILE names {path!r}: {e} "
                                     "(is the server running?)"))
            continue
        if not url:
            out.append(Backend(None, f"the first line of {path!r} is empty"))
        else:
            out.append(Backend(url))
    seen: dict = {}
    for b in out:  # distinct test ids
        n = seen.get(b.name, 0)
        seen[b.name] = n + 1
        if n:
            b.name = f"{b.name}{n + 1}"
    return out


BACKENDS = _backends()


def pytest_generate_tests(metafunc: Any) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, ids=[b.name for b in BACKENDS])


def pytest_report_header(config: Any) -> str:
    return ("offkv " + offkv.library_version() + ", backends compiled in: "
            + ", ".join(offkv.backends()) + "; testing: "
            + ", ".join(f"{b.name}={b.url or b.problem}" for b in BACKENDS))


def _split(url: str):
    scheme, rest = url.split("://", 1)
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
    authority, _, path = rest.partition("/")
    return scheme, authority, ("/" + path).rstrip("/"), query


def _join(scheme: str, authority: str, path: str, query: str) -> str:
    return f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")


class Env:
    """One test's backend: a unique root, clients on it, cleanup afterwards."""

    def __init__(self, backend: Backend) -> None:
        if backend.problem:
            # A requested server that is missing fails every test of its backend.
            pytest.fail(f"backend {backend.name}: {backend.problem}", pytrace=False)
        assert backend.url
        self.backend = backend
        self.scheme = backend.url.split("://", 1)[0]
        name = "pytest-" + uuid.uuid4().hex[:16]
        if self.scheme == "mem":
            self.url = f"mem://{name}"
            self._server = None
        else:
            scheme, authority, path, query = _split(backend.url)
            self._server = (scheme, authority, path, query)
            self.url = _join(scheme, authority, f"{path}/{name}", query)
            self._root = f"{path}/{name}"
        self.clients: List[offkv.Client] = []
        try:
            self.client = offkv.open(self.url)
        except offkv.Error as e:
            # Fail this test, and the backend's other tests at once (no more waiting
            # for connect timeouts).
            backend.problem = f"cannot connect to {backend.url}: {e}"
            pytest.fail(f"backend {backend.name}: {backend.problem}", pytrace=False)
        self.clients.append(self.client)

    def url_with(self, query: str) -> str:
        sep = "&" if "?" in self.url else "?"
        return self.url + sep + query

    def open(self, url: Optional[str] = None, **options: Any) -> offkv.Client:
        """A client on this test's root (closed after the test)."""
        try:
            c = offkv.open(url or self.url, **options)
        except offkv.Error as e:
            pytest.fail(f"cannot open {url or self.url}: {e}", pytrace=False)
        self.clients.append(c)
        return c

    def cleanup(self) -> None:
        for c in self.clients:
            c.close()
        if self._server is None:
            return
        try:
            with offkv.open(self.url) as c:
                for k in c.children("/"):
                    try:
                        c.erase(k)
                    except offkv.NoNodeError:
                        pass
            scheme, authority, path, query = self._server
            with offkv.open(_join(scheme, authority, path, query)) as c:
                key = "/" + self._root.rsplit("/", 1)[1]
                try:
                    c.erase(key)
                except offkv.Error:
                    pass
        except offkv.Error:
            pass


@pytest.fixture
def env(backend: Backend):
    e = Env(backend)
    yield e
    e.cleanup()


@pytest.fixture
def client(env: Env) -> offkv.Client:
    return env.client


@pytest.fixture
def errors_hook():
    """Collects (exception, callback) from the callback error hook."""
    seen: List[Any] = []
    previous = offkv.set_callback_error_hook(lambda exc, cb: seen.append((exc, cb)))
    yield seen
    offkv.set_callback_error_hook(previous)


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Polls predicate until it is truthy; fails the test after timeout."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)
