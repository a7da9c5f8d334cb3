"""Checks an installed self-contained offkv wheel (wheel.sh) from the inside.

Run by wheel-test.sh with the venv's interpreter, ``python -I``, LD_LIBRARY_PATH
unset. Standard library only (nothing but the wheel is installed).

    python -I wheel_check.py BACKEND...      e.g. zk etcd consul
    python -I wheel_check.py --system-copies

The first form checks, and fails (exit 1, every problem listed) unless:

* the process has no LD_LIBRARY_PATH / LD_PRELOAD, and ``offkv`` is the installed
  wheel (``offkv.libs/`` next to the package);
* ``offkv.backends()`` is exactly mem + the BACKENDs, and the backends' libraries
  (libzookeeper_mt; libgrpc++ and libprotobuf; libcurl) are among the bundled ones;
* every URL from OFFKV_TEST_URL (whitespace-separated) and OFFKV_TEST_URL_FILE
  (os.pathsep-separated files, first line a URL) opens, and a create/get/erase
  round trip works on it; every BACKEND has such a URL (a missing one FAILS);
* afterwards /proc/self/maps shows every bundled library loaded from offkv.libs/
  and no other copy of any of them (no /usr/lib/... libzookeeper_mt, libgrpc++,
  libcurl, libssl, ...), and ``ldd`` resolves the extension's and liboffkv's
  dependencies to the bundled copies too;
* OFFKV_WHEEL_HIDDEN (os.pathsep-separated paths), when set, names the system
  copies that wheel-test.sh has bind-mounted /dev/null over in this process's mount
  namespace: each must read as empty here.

``--system-copies`` prints, one a line, the real path of the system copy of each
bundled library that the dynamic loader's cache (``ldconfig -p``) knows, for
wheel-test.sh to hide.
"""

import os
import re
import subprocess
import sys
import time

import offkv

PKG_DIR = os.path.dirname(os.path.realpath(offkv.__file__))
LIBS_DIR = os.path.join(os.path.dirname(PKG_DIR), "offkv.libs")
# The libraries each backend links; they must be in the wheel.
BACKEND_LIBS = {"zk": ["libzookeeper_mt"], "etcd": ["libgrpc++", "libprotobuf"],
                "consul": ["libcurl"]}
SCHEME_BACKEND = {"zk": "zk", "etcd": "etcd", "etcds": "etcd", "consul": "consul",
                  "consuls": "consul"}

problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL  " + msg, flush=True)


def ok(msg):
    print("ok    " + msg, flush=True)


def original_name(bundled):
    """auditwheel's libzookeeper_mt-cf61a323.so.2.0.0 -> libzookeeper_mt.so.2.0.0"""
    return re.sub(r"-[0-9a-f]{8}(?=\.)", "", bundled, count=1)


def so_prefix(name):
    """libzookeeper_mt.so.2.0.0 -> libzookeeper_mt.so (any version of it)"""
    return name[:name.index(".so") + 3] if ".so" in name else name


def bundled():
    """{original file name: path in offkv.libs}"""
    if not os.path.isdir(LIBS_DIR):
        return {}
    return {original_name(f): os.path.join(LIBS_DIR, f) for f in sorted(os.listdir(LIBS_DIR))}


def system_copies():
    out = subprocess.run(["ldconfig", "-p"], check=True, capture_output=True,
                         text=True).stdout
    wanted = set(bundled())
    found = set()
    for line in out.splitlines():
        if "=>" not in line:
            continue
        path = os.path.realpath(line.split("=>", 1)[1].strip())
        if os.path.basename(path) in wanted:
            found.add(path)
    for path in sorted(found):
        print(path)


def urls():
    out = os.environ.get("OFFKV_TEST_URL", "").split()
    for path in [p for p in os.environ.get("OFFKV_TEST_URL_FILE", "").split(os.pathsep)
                 if p.strip()]:
        try:
            with open(path, encoding="utf-8") as f:
                url = f.readline().strip()
        except OSError as e:
            fail(f"OFFKV_TEST_URL_FILE names {path!r}: {e} (is the server running?)")
            continue
        if url:
            out.append(url)
        else:
            fail(f"the first line of {path!r} is empty")
    return out


def round_trip(url):
    key = f"/offkv-wheel-check-{os.getpid()}-{time.time_ns()}"
    value = b"wheel\x00" + url.encode()
    try:
        with offkv.open(url, connect_timeout=15) as c:
            actual = c.create(key, value)
            node = c.get(actual)
            c.erase(actual)
            gone = c.exists(actual)
    except offkv.Error as e:
        fail(f"{url}: {type(e).__name__}: {e}")
        return
    if node.value != value or node.version < 1 or gone:
        fail(f"{url}: create/get/erase of {key} gave {node!r}, exists after erase {gone}")
    else:
        ok(f"{url}: create/get/erase {key} (version {node.version})")


def check_maps(libs):
    with open("/proc/self/maps", encoding="utf-8") as f:
        mapped = {line.split(None, 5)[5].strip() for line in f
                  if len(line.split(None, 5)) == 6}
    mapped = {p for p in mapped if ".so" in os.path.basename(p)}
    prefixes = {so_prefix(n): n for n in libs}
    for name, path in libs.items():
        if path not in mapped:
            fail(f"bundled {os.path.basename(path)} is not loaded")
    strays = sorted(p for p in mapped if not p.startswith(LIBS_DIR + os.sep)
                    and so_prefix(os.path.basename(p)) in prefixes)
    for p in strays:
        fail(f"loaded from outside the wheel: {p} (the wheel bundles "
             f"{os.path.basename(libs[prefixes[so_prefix(os.path.basename(p))]])})")
    for name in ("liboffkv.so", "_offkv."):
        where = sorted(p for p in mapped if os.path.basename(p).startswith(name))
        if not where or any(not p.startswith(PKG_DIR + os.sep) for p in where):
            fail(f"{name}* loaded from {where}, not from {PKG_DIR}")
    if not strays:
        ok(f"/proc/self/maps: {len(libs)} bundled libraries loaded from {LIBS_DIR}, "
           "no other copy of any of them")
    show = [p for p in sorted(mapped) if p.startswith(LIBS_DIR + os.sep)
            and any(os.path.basename(p).startswith(s + "-") for v in BACKEND_LIBS.values()
                    for s in v)]
    show += sorted(p for p in mapped if os.path.basename(p).startswith("liboffkv.so"))
    for p in show:
        print("      mapped " + p)


def check_ldd(libs):
    prefixes = {so_prefix(n) for n in libs}
    backend_prefixes = tuple(s + ".so" for v in BACKEND_LIBS.values() for s in v)
    targets = [os.path.join(PKG_DIR, f) for f in sorted(os.listdir(PKG_DIR))
               if (f.startswith("_offkv.") and f.endswith(".so")) or f.startswith("liboffkv.so")]
    shown = set()
    for target in targets:
        name = os.path.basename(target)
        out = subprocess.run(["ldd", target], capture_output=True, text=True).stdout
        n = 0
        for line in out.splitlines():
            m = re.match(r"\s*(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$", line)
            if not m:
                continue
            soname, path = m.groups()
            if path == "not found":
                fail(f"ldd {name}: {soname} not found")
                continue
            real = os.path.realpath(path)
            orig = so_prefix(original_name(os.path.basename(real)))
            if orig not in prefixes and so_prefix(original_name(soname)) not in prefixes:
                continue
            n += 1
            if not real.startswith(LIBS_DIR + os.sep):
                fail(f"ldd {name}: {soname} => {path}, not the bundled copy")
            elif orig.startswith(backend_prefixes) and orig not in shown:
                shown.add(orig)
                print(f"      ldd {name}: {soname} => {real}")
        if n == 0:
            fail(f"ldd {name}: no bundled library among its dependencies")
        else:
            ok(f"ldd {name}: {n} dependencies, all the bundled copies in offkv.libs/")


def main(argv):
    if argv[1:] == ["--system-copies"]:
        system_copies()
        return 0
    expected = argv[1:]
    unknown = [b for b in expected if b not in BACKEND_LIBS]
    if unknown:
        print(f"usage: {argv[0]} [zk] [etcd] [consul] | --system-copies", file=sys.stderr)
        return 2

    for var in ("LD_LIBRARY_PATH", "LD_PRELOAD"):
        if var in os.environ:
            fail(f"{var} is set ({os.environ[var]!r}): the check needs it unset")
    ok(f"offkv {offkv.library_version()} from {PKG_DIR}; LD_LIBRARY_PATH and LD_PRELOAD unset")

    libs = bundled()
    if not libs:
        fail(f"no {LIBS_DIR}: not a repaired wheel")
    hidden = [p for p in os.environ.get("OFFKV_WHEEL_HIDDEN", "").split(os.pathsep) if p]
    for path in hidden:
        with open(path, "rb") as f:
            if f.read(1):
                fail(f"{path} should be hidden (empty) here")
    if hidden:
        ok(f"{len(hidden)} system copies of the bundled libraries hidden (read as empty)")

    want = ["mem"] + [b for b in ("zk", "etcd", "consul") if b in expected]
    if offkv.backends() != want:
        fail(f"offkv.backends() is {offkv.backends()}, expected {want}")
    else:
        ok(f"offkv.backends() == {want}")
    for b in expected:
        for lib in BACKEND_LIBS[b]:
            if not any(so_prefix(n) == lib + ".so" for n in libs):
                fail(f"{b}: {lib} is not bundled in {LIBS_DIR}")

    test_urls = ["mem://wheel-check"] + urls()
    for b in expected:
        if not any(SCHEME_BACKEND.get(u.split("://", 1)[0]) == b for u in test_urls):
            fail(f"{b}: no server URL (OFFKV_TEST_URL / OFFKV_TEST_URL_FILE)")
    for url in test_urls:
        round_trip(url)

    if libs:
        check_maps(libs)
        check_ldd(libs)

    if problems:
        print(f"wheel check: {len(problems)} problem(s)")
        return 1
    print("wheel check: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
