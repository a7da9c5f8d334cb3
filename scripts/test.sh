#!/usr/bin/env bash
# Every test: installs what is needed, builds offkv with every backend that has landed,
# runs the C++ suites through CTest (conformance per backend, API hygiene, install,
# CLI, demo, recipes scenario, server tests, offkv-zkd with kazoo/Curator/zkCli, the
# fault suite on 3-member clusters — the servers are CTest fixtures on 127.0.0.1),
# the ABI of liboffkv.so against its baseline (scripts/abi-check.sh),
# then the Python, Go, Java and Rust bindings against mem:// and real servers started
# here, then the C++ suites under ASan+UBSan and TSan, and every fuzz target for 30 s
# (docs/testing.md). Ends with each runner's own summary, then one line per suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OFFKV_BUILD_DIR:-$root/build-test}
jobs=${OFFKV_JOBS:-$(nproc)}
# Remote backends built and tested (mem:// is always in).
read -ra backends <<<"${OFFKV_TEST_BACKENDS:-zk etcd consul}"

bash "$root/scripts/deps.sh" test java rust fuzz faults abi "${backends[@]}"

cmake_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFKV_BUILD_TESTS=ON -DOFFKV_BUILD_TOOLS=ON)
# A fresh clone rebuilds everything; ccache (its cache in ~/.cache) makes that cheap.
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-ccache}
  # Paths below the checkout are hashed relative to it: a clone at another path
  # (every CI run) still hits the cache.
  export CCACHE_BASEDIR=$root
  cmake_flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
for b in zk etcd consul; do
  on=OFF
  [[ " ${backends[*]} " == *" $b "* ]] && on=ON
  cmake_flags+=("-DOFFKV_WITH_${b^^}=$on")
done
cmake -S "$root" -B "$build" -G Ninja "${cmake_flags[@]}"
cmake --build "$build" -j "$jobs"

declare -A status took
run() {  # run NAME COMMAND...: records the exit status and time, never stops the script
  local name=$1 start=$SECONDS
  shift
  echo
  echo "==== $name"
  set +e
  "$@"
  status[$name]=$?
  set -e
  took[$name]=$((SECONDS - start))
}

# The install test also builds a static liboffkv (a configuration of its own); in CI
# with the ZooKeeper and Consul backends only: etcd's generated stubs would double the
# compile time, and the static packaging is the same for every backend.
run "C++ (ctest)" env OFFKV_STATIC_BACKENDS="${OFFKV_STATIC_BACKENDS-zk consul}" \
  ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900
# liboffkv.so's ABI against the checked-in baseline (abi/liboffkv.abi, libabigail).
run "ABI (abidiff)" bash "$root/scripts/abi-check.sh" "$build"

# The bindings use the library as a user would: installed, found by pkg-config/CMake.
prefix=$build/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'liboffkv.so' -print -quit)")

# Real servers for the bindings, stopped on exit.
servers=$(mktemp -d "${TMPDIR:-/tmp}/offkv-servers.XXXXXX")
url_files=()
stop_servers() {
  [[ -d $servers/zk ]] && bash "$root/tests/servers/zookeeper.sh" stop "$servers/zk" || true
  [[ -d $servers/etcd ]] && bash "$root/tests/servers/etcd.sh" stop "$servers/etcd" || true
  [[ -d $servers/consul ]] && bash "$root/tests/servers/consul.sh" stop "$servers/consul" || true
  rm -rf "$servers"
}
trap stop_servers EXIT
for b in "${backends[@]}"; do
  case $b in
    zk) script=zookeeper.sh ;;
    *) script=$b.sh ;;
  esac
  bash "$root/tests/servers/$script" start "$servers/$b"
  url_files+=("$servers/$b/url")
done
export OFFKV_TEST_URL_FILE
OFFKV_TEST_URL_FILE=$(IFS=:; echo "${url_files[*]}")

run "Python (pytest)" env OFFKV_PYTHON_USE_INSTALLED=ON CMAKE_PREFIX_PATH="$prefix" \
  LD_LIBRARY_PATH="$libdir" bash "$root/bindings/python/test.sh"
run "Python wheel (auditwheel)" env OFFKV_WHEEL_BACKENDS="${backends[*]}" \
  bash "$root/bindings/python/wheel-test.sh"
run "Go (go test)" env OFFKV_PREFIX="$prefix" LD_LIBRARY_PATH="$libdir" \
  bash "$root/bindings/go/test.sh"
run "Java (mvn verify)" env OFFKV_PREFIX="$prefix" bash "$root/bindings/java/test.sh"
run "Rust (cargo test)" env OFFKV_PREFIX="$prefix" LD_LIBRARY_PATH="$libdir" \
  bash "$root/bindings/rust/test.sh"

# The bindings' servers are not needed any more; the sanitizer suites and the
# benchmark start their own.
stop_servers
trap - EXIT
# The benchmark against the native clients (bench/README.md), as a smoke only: tiny
# counts, every section run once, figures not judged (a wrong answer or a hang fails).
# The full run and its figures are in docs/benchmarks.md.
run "Benchmark smoke (bench/run.sh --quick)" bash "$root/bench/run.sh" --quick \
  --build-dir "$build" --no-python --no-go
# The C++ suites again under sanitizers (each configuration built once, ccache), then
# every fuzz target for 30 s (docs/testing.md).
run "C++ ASan+UBSan (ctest)" bash "$root/scripts/sanitizers.sh" asan
run "C++ TSan (ctest)" bash "$root/scripts/sanitizers.sh" tsan
run "Fuzz (libFuzzer)" bash "$root/scripts/fuzz.sh" 30

echo
echo "==== summary (backends: mem ${backends[*]})"
passed=0 failed=0
for name in "C++ (ctest)" "ABI (abidiff)" "Python (pytest)" "Python wheel (auditwheel)" "Go (go test)" \
  "Java (mvn verify)" "Rust (cargo test)" "Benchmark smoke (bench/run.sh --quick)" \
  "C++ ASan+UBSan (ctest)" "C++ TSan (ctest)" "Fuzz (libFuzzer)"; do
  if [[ ${status[$name]} == 0 ]]; then
    echo "PASS  $name (${took[$name]} s)"
    passed=$((passed + 1))
  else
    echo "FAIL  $name (exit ${status[$name]}, ${took[$name]} s)"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
