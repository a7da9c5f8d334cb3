"""offkv's Python binding against each backend's native Python client, on the same
server, in interleaved rounds: kazoo (ZooKeeper), python-etcd3 (etcd), py-consul
(Consul).

For every backend, op (get, set) and mode, each round runs offkv then the native
client (the order alternates between rounds) for a fixed time and counts completed
calls; the table gives medians over the rounds and the spread (max-min)/median.

Modes:
  t1    one thread, sync calls           (offkv.Client  vs native sync)
  t8    8 threads sharing one client     (offkv.Client  vs native sync)
  a1    1 call in flight                 (offkv.aio     vs native async, else sync)
  a32   32 calls in flight               (offkv.aio     vs native async, else 32 threads)

"native async": kazoo's *_async calls (a window of 32 outstanding requests on its one
connection); python-etcd3 and py-consul have no async API usable here (py-consul's
consul.aio needs aiohttp), so their a32 row is 32 threads on one shared client.

Latency p50/p99 are per call, from t1 and a1. CPU is the process CPU time (all
threads: the C library's event threads, gRPC's and kazoo's included) per call.

  python bench.py --zk zk://127.0.0.1:P --etcd etcd://127.0.0.1:P --consul consul://127.0.0.1:P
                  [--quick] [--rounds N] [--seconds S] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import offkv
import offkv.aio

KEYS = 32  # distinct keys; worker i uses key i % KEYS (no two workers share one)
VALUE = b"v" * 100
OPS = ("get", "set")
MODES = ("t1", "t8", "a1", "a32")


def host_port(url: str) -> Tuple[str, int]:
    """The first host:port of an offkv URL (scheme://host:port[,...][/prefix][?...])."""
    netloc = urlsplit(url).netloc.split(",")[0]
    host, _, port = netloc.rpartition(":")
    return host, int(port)


# ---------------------------------------------------------------------------------
# Measurement: a run is (calls, seconds, cpu seconds, latencies in ns or None).

Run = Tuple[int, float, float, Optional[List[int]]]


def run_threads(call: Callable[[int], object], threads: int, seconds: float) -> Run:
    """`threads` threads each call call(worker) until the deadline."""
    counts = [0] * threads
    lat: List[int] = []
    start_barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        start_barrier.wait()
        end = deadline[0]
        n = 0
        clock = time.perf_counter
        if threads == 1:
            ns = time.perf_counter_ns
            while clock() < end:
                t0 = ns()
                call(i)
                lat.append(ns() - t0)
                n += 1
        else:
            while clock() < end:
                call(i)
                n += 1
        counts[i] = n

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    start_barrier.wait()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    return sum(counts), wall, time.process_time() - cpu0, (lat if threads == 1 else None)


def run_aio(client: "offkv.aio.AsyncClient", op: str, key: Callable[[int], str],
            inflight: int, seconds: float) -> Run:
    """`inflight` coroutines each await op until the deadline, on one event loop."""

    async def main() -> Run:
        counts = [0] * inflight
        lat: List[int] = []
        end = time.perf_counter() + seconds
        ns = time.perf_counter_ns

        async def worker(i: int) -> None:
            k = key(i)
            n = 0
            clock = time.perf_counter
            if op == "get":
                fn = client.get
                args: tuple = (k,)
            else:
                fn = client.set
                args = (k, VALUE)
            if inflight == 1:
                while clock() < end:
                    t0 = ns()
                    await fn(*args)
                    lat.append(ns() - t0)
                    n += 1
            else:
                while clock() < end:
                    await fn(*args)
                    n += 1
            counts[i] = n

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(inflight)))
        wall = time.perf_counter() - t0
        return sum(counts), wall, time.process_time() - cpu0, (lat if inflight == 1 else None)

    return asyncio.run(main())


def run_kazoo_async(zk, op: str, key: Callable[[int], str], inflight: int,
                    seconds: float) -> Run:
    """kazoo's own pipelining: `inflight` chains of get_async/set_async, each
    completion (on kazoo's callback thread) starting the next call of its chain."""
    lock = threading.Lock()
    counts = [0] * inflight
    live = [inflight]
    finished = threading.Event()
    lat: List[int] = []
    ns = time.perf_counter_ns
    end = [0.0]

    def start(i: int) -> None:
        t0 = ns()
        if op == "get":
            r = zk.get_async(key(i))
        else:
            r = zk.set_async(key(i), VALUE)
        r.rawlink(lambda res: done(i, t0, res))

    def done(i: int, t0: int, res) -> None:
        res.get()  # raises if the call failed
        if inflight == 1:
            lat.append(ns() - t0)
        counts[i] += 1
        if time.perf_counter() < end[0]:
            start(i)
        else:
            with lock:
                live[0] -= 1
                if live[0] == 0:
                    finished.set()

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    end[0] = t0 + seconds
    for i in range(inflight):
        start(i)
    if not finished.wait(seconds + 30):
        raise RuntimeError("kazoo async chains did not finish")
    wall = time.perf_counter() - t0
    return sum(counts), wall, time.process_time() - cpu0, (lat if inflight == 1 else None)


# ---------------------------------------------------------------------------------
# Backends: each gives the offkv side and the native side of every (op, mode).


class OffkvSide:
    name = "offkv"

    def __init__(self, url: str) -> None:
        self.client = offkv.open(url)
        self.aio = offkv.aio.AsyncClient(self.client)
        self.root = "/offkv-bench"
        try:
            self.client.create(self.root)
        except offkv.NodeExistsError:
            pass
        for i in range(KEYS):
            try:
                self.client.create(self.key(i), VALUE)
            except offkv.NodeExistsError:
                self.client.set(self.key(i), VALUE)

    def key(self, i: int) -> str:
        return f"{self.root}/k{i % KEYS}"

    def run(self, op: str, mode: str, seconds: float) -> Run:
        c = self.client
        keys = [self.key(i) for i in range(32)]
        if mode.startswith("t"):
            if op == "get":
                call = lambda i: c.get(keys[i])  # noqa: E731
            else:
                call = lambda i: c.set(keys[i], VALUE)  # noqa: E731
            return run_threads(call, int(mode[1:]), seconds)
        return run_aio(self.aio, op, self.key, int(mode[1:]), seconds)

    def close(self) -> None:
        for i in range(KEYS):
            try:
                self.client.erase(self.key(i))
            except offkv.NoNodeError:
                pass
        try:
            self.client.erase(self.root)
        except offkv.Error:
            pass
        self.client.close()


class KazooSide:
    name = "kazoo"
    async_name = "kazoo *_async"

    def __init__(self, url: str) -> None:
        from kazoo.client import KazooClient
        host, port = host_port(url)
        self.zk = KazooClient(hosts=f"{host}:{port}")
        self.zk.start(timeout=30)
        self.root = "/native-bench"
        self.zk.ensure_path(self.root)
        for i in range(KEYS):
            if self.zk.exists(self.key(i)):
                self.zk.set(self.key(i), VALUE)
            else:
                self.zk.create(self.key(i), VALUE)

    def key(self, i: int) -> str:
        return f"{self.root}/k{i % KEYS}"

    def run(self, op: str, mode: str, seconds: float) -> Run:
        zk = self.zk
        keys = [self.key(i) for i in range(32)]
        if mode.startswith("t"):
            if op == "get":
                call = lambda i: zk.get(keys[i])  # noqa: E731
            else:
                call = lambda i: zk.set(keys[i], VALUE)  # noqa: E731
            return run_threads(call, int(mode[1:]), seconds)
        return run_kazoo_async(zk, op, self.key, int(mode[1:]), seconds)

    def close(self) -> None:
        self.zk.delete(self.root, recursive=True)
        self.zk.stop()
        self.zk.close()


class Etcd3Side:
    name = "python-etcd3"
    async_name = "python-etcd3 (threads)"

    def __init__(self, url: str) -> None:
        import etcd3
        host, port = host_port(url)
        self.etcd = etcd3.client(host=host, port=port, timeout=30)
        self.root = "/native-bench/"
        for i in range(KEYS):
            self.etcd.put(self.key(i), VALUE)

    def key(self, i: int) -> str:
        return f"{self.root}k{i % KEYS}"

    def run(self, op: str, mode: str, seconds: float) -> Run:
        e = self.etcd
        keys = [self.key(i) for i in range(32)]
        if op == "get":
            call = lambda i: e.get(keys[i])  # noqa: E731
        else:
            call = lambda i: e.put(keys[i], VALUE)  # noqa: E731
        return run_threads(call, int(mode[1:]), seconds)

    def close(self) -> None:
        self.etcd.delete_prefix(self.root)
        self.etcd.close()


class ConsulSide:
    name = "py-consul"
    async_name = "py-consul (threads)"

    def __init__(self, url: str) -> None:
        import consul
        host, port = host_port(url)
        self.consul = consul.Consul(host=host, port=port)
        self.root = "native-bench/"
        for i in range(KEYS):
            self.consul.kv.put(self.key(i), VALUE)

    def key(self, i: int) -> str:
        return f"{self.root}k{i % KEYS}"

    def run(self, op: str, mode: str, seconds: float) -> Run:
        kv = self.consul.kv
        keys = [self.key(i) for i in range(32)]
        if op == "get":
            call = lambda i: kv.get(keys[i])  # noqa: E731
        else:
            call = lambda i: kv.put(keys[i], VALUE)  # noqa: E731
        return run_threads(call, int(mode[1:]), seconds)

    def close(self) -> None:
        self.consul.kv.delete(self.root, recurse=True)


NATIVE = {"zk": KazooSide, "etcd": Etcd3Side, "consul": ConsulSide}


# ---------------------------------------------------------------------------------
# Rounds and report.


def pct(sorted_ns: List[int], q: float) -> float:
    """The q-quantile of sorted latencies, in microseconds."""
    if not sorted_ns:
        return float("nan")
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000.0


class Cell:
    """The rounds of one (backend, op, mode, side)."""

    def __init__(self) -> None:
        self.rates: List[float] = []
        self.cpu_us: List[float] = []
        self.lat: List[int] = []

    def add(self, r: Run) -> None:
        calls, wall, cpu, lat = r
        self.rates.append(calls / wall)
        self.cpu_us.append(cpu / max(calls, 1) * 1e6)
        if lat:
            self.lat.extend(lat)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def spread(self) -> float:
        return (max(self.rates) - min(self.rates)) / self.rate * 100 if self.rate else 0.0

    def p(self, q: float) -> float:
        return pct(sorted(self.lat), q)


def bench_backend(backend: str, url: str, rounds: int, seconds: float,
                  log) -> Dict[Tuple[str, str, str], Cell]:
    sides = [OffkvSide(url), NATIVE[backend](url)]
    cells: Dict[Tuple[str, str, str], Cell] = {}
    try:
        # A warm-up of each, not counted: connections, JIT-free but cache-warm paths.
        for s in sides:
            for op in OPS:
                s.run(op, "t1", min(seconds, 0.2))
        for rnd in range(rounds):
            order = sides if rnd % 2 == 0 else sides[::-1]
            for op in OPS:
                for mode in MODES:
                    for s in order:
                        side = "offkv" if s is sides[0] else "native"
                        cells.setdefault((op, mode, side), Cell()).add(s.run(op, mode, seconds))
            log(f"  {backend}: round {rnd + 1}/{rounds} done")
    finally:
        for s in sides:
            s.close()
    return cells


MODE_LABEL = {"t1": "1 thread", "t8": "8 threads", "a1": "aio, 1 in flight",
              "a32": "aio, 32 in flight"}


def table(backend: str, native: type, cells) -> List[str]:
    rows = [f"### {backend}: offkv vs {native.name}", "",
            "| op | mode | offkv ops/s | native ops/s | **ratio** | offkv p50 µs | native p50 µs"
            " | offkv p99 µs | native p99 µs | offkv CPU µs/op | native CPU µs/op | spread o/n |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for op in OPS:
        for mode in MODES:
            o, n = cells[(op, mode, "offkv")], cells[(op, mode, "native")]
            lat = mode in ("t1", "a1")
            label = MODE_LABEL[mode]
            if mode.startswith("a"):
                label += f" (native: {native.async_name})"
            rows.append(
                f"| {op} | {label} | {o.rate:,.0f} | {n.rate:,.0f} | **{o.rate / n.rate:.2f}×** | "
                + (f"{o.p(.5):.0f} | {n.p(.5):.0f} | {o.p(.99):.0f} | {n.p(.99):.0f} | "
                   if lat else "| | | | ")
                + f"{statistics.median(o.cpu_us):.0f} | {statistics.median(n.cpu_us):.0f} | "
                f"{o.spread:.0f}% / {n.spread:.0f}% |")
    rows.append("")
    return rows


def git_commit() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--", "../../core",
                                "../../capi", "../../backends", "../../bindings/python"],
                               capture_output=True, text=True).stdout.strip()
        return out + (" (+ local changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zk")
    ap.add_argument("--etcd")
    ap.add_argument("--consul")
    ap.add_argument("--quick", action="store_true", help="1 round of 0.1 s per cell (a smoke)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--seconds", type=float, help="time per cell and round")
    ap.add_argument("--out", help="Markdown results file")
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 5)
    seconds = a.seconds or (0.1 if a.quick else 1.0)
    targets = [(b, u) for b, u in (("zk", a.zk), ("etcd", a.etcd), ("consul", a.consul)) if u]
    if not targets:
        ap.error("give at least one of --zk, --etcd, --consul")
    for b, _ in targets:
        if not offkv.has_backend(b):
            print(f"bench.py: the offkv binding has no {b} backend compiled in", file=sys.stderr)
            return 1

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.time()
    load0 = os.getloadavg()
    results = []
    for b, url in targets:
        log(f"bench.py: {b} at {url}: {rounds} round(s) x {seconds:g} s per cell")
        results.append((b, bench_backend(b, url, rounds, seconds, log)))
    load1 = os.getloadavg()

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = ["## Python: offkv vs native clients", "",
          f"- date: {now}; took {time.time() - started:.0f} s"
          f"{' (--quick: a smoke, not a measurement)' if a.quick else ''}",
          f"- machine: {machine()}",
          f"- load average (1 min) before / after: {load0[0]:.2f} / {load1[0]:.2f}",
          f"- offkv commit: {git_commit()}; Python {platform.python_version()}; "
          + ", ".join(f"{m} {v}" for m, v in versions()),
          f"- {rounds} interleaved round(s) x {seconds:g} s per cell; value {len(VALUE)} B; "
          f"{KEYS} keys; ratio = offkv ops/s / native ops/s (median of rounds); "
          "spread = (max-min)/median of ops/s over the rounds", ""]
    summary = ["| backend | get 1 thr | get 8 thr | get aio 1 | get aio 32 | set 1 thr | "
               "set 8 thr | set aio 1 | set aio 32 |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for b, cells in results:
        summary.append(f"| {b} vs {NATIVE[b].name} | " + " | ".join(
            f"{cells[(op, m, 'offkv')].rate / cells[(op, m, 'native')].rate:.2f}×"
            for op in OPS for m in MODES) + " |")
    md += ["### Ratio offkv/native ops/s (target ≥ 2×)", ""] + summary + [""]
    for b, cells in results:
        md += table(b, NATIVE[b], cells)
    text = "\n".join(md) + "\n"
    print(text)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(text)
        log(f"bench.py: wrote {a.out}")
    return 0


def versions() -> List[Tuple[str, str]]:
    from importlib.metadata import PackageNotFoundError, version
    out = [("liboffkv", offkv.library_version())]
    for pkg in ("kazoo", "etcd3", "py-consul", "grpcio", "protobuf"):
        try:
            out.append((pkg, version(pkg)))
        except PackageNotFoundError:
            pass
    return out


if __name__ == "__main__":
    sys.exit(main())
