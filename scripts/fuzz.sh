#!/usr/bin/env bash
# Builds the fuzz configuration (clang, libFuzzer, ASan+UBSan; ccache) and runs each
# fuzz target of tests/fuzz for SECONDS (default 30), from its checked-in seeds and
# regression inputs, in a fresh working corpus under a temporary directory (the
# checked-in corpus is only written with OFFKV_FUZZ_MERGE=1). One summary line per
# target, then "N passed, N failed"; exits non-zero on any crash, leak, timeout or
# sanitizer report, and says where the input that caused it was kept.
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   scripts/fuzz.sh                 every target, 30 s each (what CI runs)
#   scripts/fuzz.sh 600 fuzz_keys   one target for 10 minutes
# env: OFFKV_FUZZ_BUILD_DIR (default build-fuzz), OFFKV_JOBS, OFFKV_FUZZ_KEEP=1 (keep
#      the working directory), OFFKV_FUZZ_MERGE=1 (merge new coverage into
#      tests/fuzz/corpus/<target>, minimized), OFFKV_FUZZ_NO_BUILD=1 (use the build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OFFKV_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${OFFKV_JOBS:-$(nproc)}
seconds=${1:-30}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a number" >&2; exit 2; }
(($# > 0)) && shift
all=(fuzz_url fuzz_keys fuzz_txn_model fuzz_consul_decode fuzz_etcd_decode fuzz_zk_results)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (${all[*]})" >&2; exit 2; }
done

if [[ ${OFFKV_FUZZ_NO_BUILD:-0} != 1 ]]; then
  # The decoding targets need the three remote backends' libraries (not their servers).
  bash "$root/scripts/deps.sh" fuzz zk etcd consul
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFKV_BUILD_FUZZERS=ON -DOFFKV_BUILD_TESTS=OFF
    -DOFFKV_BUILD_TOOLS=OFF -DOFFKV_WITH_ZK=ON -DOFFKV_WITH_ETCD=ON -DOFFKV_WITH_CONSUL=ON)
  if command -v ccache >/dev/null; then
    export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-ccache}
    export CCACHE_BASEDIR=$root
    flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  start=$SECONDS
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja "${flags[@]}" >/dev/null
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
  echo "fuzz.sh: build took $((SECONDS - start)) s"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/offkv-fuzz.XXXXXX")
[[ ${OFFKV_FUZZ_KEEP:-0} == 1 ]] || trap 'rm -rf "$work"' EXIT

summary=()
passed=0 failed=0
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/$t
  dir=$work/$t
  mkdir -p "$dir/corpus"
  seeds=$root/tests/fuzz/corpus/$t
  regressions=$root/tests/fuzz/regressions/$t
  log=$dir/log
  echo "==== $t (${seconds} s)"
  set +e
  # New inputs go to the first directory only: the working corpus.
  "$bin" "$dir/corpus" "$seeds" "$regressions" -max_total_time="$seconds" \
    -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$dir/" \
    >"$log" 2>&1
  rc=$?
  set -e
  # (A crashed run may lack any of these: no match is not an error here.)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  ft=$(grep -ao 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  secs=$(grep -ao 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' | tail -1 || true)
  artifact=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | head -1)
  reported=$(grep -acE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|check failed' "$log" || true)
  line="$t: execs ${execs:-?}, cov ${cov:-?}, ft ${ft:-?}, ${secs:-?} s"
  if ((rc == 0)) && [[ -z $artifact ]] && ((reported == 0)); then
    summary+=("PASS  $line")
    passed=$((passed + 1))
    if [[ ${OFFKV_FUZZ_MERGE:-0} == 1 ]]; then
      "$bin" -merge=1 "$seeds" "$dir/corpus" >>"$log" 2>&1
      echo "merged new coverage into $seeds"
    fi
  else
    kept=""
    if [[ -n $artifact ]]; then
      mkdir -p "$root/build-fuzz-artifacts"
      cp "$artifact" "$root/build-fuzz-artifacts/$t-$(basename "$artifact")"
      kept=" input: build-fuzz-artifacts/$t-$(basename "$artifact")"
    fi
    grep -aE 'ERROR:|runtime error:|check failed|SUMMARY' "$log" | grep -v libprotobuf | head -5 || true
    summary+=("FAIL  $line (exit $rc)$kept")
    failed=$((failed + 1))
  fi
done

echo
echo "==== fuzz summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
((failed == 0))
