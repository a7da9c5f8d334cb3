#!/usr/bin/env bash
# The C++ suites under sanitizers, each configuration built once (ccache).
#
# usage: scripts/sanitizers.sh asan|tsan
#   asan  ASan + UBSan (gcc), every backend; runs every CTest label but `install`
#         (the out-of-tree consumer build, which has no code of ours to check) and
#         `faults` (its Go workers cannot load an ASan library), and the test
#         cli_copy10k (10,000 nodes copied: volume, not new paths; 3+ min under ASan):
#         conformance on mem://, ZooKeeper, etcd and Consul, api, cli, demo, scenario,
#         hostile, zkd and the server suites.
#   tsan  TSan (gcc), mem:// and ZooKeeper only (gRPC and curl stay out: their
#         uninstrumented threads would need suppressions wider than a library);
#         runs the conformance suite on mem:// and ZooKeeper.
# Any sanitizer report fails the test it happens in (halt_on_error, no recovery).
# Suppressions (tests/sanitizers/*.supp) name only uninstrumented system libraries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:?usage: sanitizers.sh asan|tsan}
jobs=${OFFKV_JOBS:-$(nproc)}
supp=$root/tests/sanitizers

flags=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFKV_BUILD_TESTS=ON)
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-ccache}
  export CCACHE_BASEDIR=$root
  flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

case $kind in
  asan)
    build=${OFFKV_ASAN_BUILD_DIR:-$root/build-asan}
    flags+=(-DOFFKV_SANITIZE=address,undefined -DOFFKV_WITH_ZK=ON -DOFFKV_WITH_ETCD=ON
      -DOFFKV_WITH_CONSUL=ON -DOFFKV_BUILD_TOOLS=ON)
    ctest_args=(-LE 'install|faults' -E '^cli_copy10k$')
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    ;;
  tsan)
    build=${OFFKV_TSAN_BUILD_DIR:-$root/build-tsan}
    flags+=(-DOFFKV_SANITIZE=thread -DOFFKV_WITH_ZK=ON -DOFFKV_WITH_ETCD=OFF
      -DOFFKV_WITH_CONSUL=OFF -DOFFKV_BUILD_TOOLS=OFF)
    ctest_args=(-L 'conformance|unit')
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
    ;;
  *)
    echo "sanitizers.sh: unknown kind '$kind' (asan|tsan)" >&2
    exit 2
    ;;
esac

cmake -S "$root" -B "$build" "${flags[@]}"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900 "${ctest_args[@]}"
