#!/usr/bin/env bash
# offkv-test-server as a user gets it: installed into a temporary prefix, each server
# kind started in a fresh directory, written and read through the offkv tool, then
# stopped (its directory removed). Also its usage errors.
#
# usage: test_server_test.sh CMAKE BUILD_DIR OFFKV_CLI [zk] [etcd] [consul]
set -euo pipefail
cmake_bin=$1 build=$2 cli=$3
shift 3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/offkv-test-server.XXXXXX")
started=()
cleanup() {
  for d in "${started[@]}"; do
    [[ -d $d ]] && "$tmp/prefix/bin/offkv-test-server" stop "$d" >/dev/null 2>&1 || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cmake_bin" --install "$build" --prefix "$tmp/prefix" --component runtime >/dev/null
tool=$tmp/prefix/bin/offkv-test-server
[[ -x $tool ]] || fail "offkv-test-server not installed in bin/"
for s in lib zookeeper etcd consul consul-build; do
  [[ -x $tmp/prefix/share/offkv/test-servers/$s.sh ]] || fail "share/offkv/test-servers/$s.sh missing"
done

# Usage errors: exit 2 and a message naming the problem.
set +e
out=$("$tool" start redis "$tmp/x" 2>&1); rc=$?
set -e
[[ $rc == 2 && $out == *"unknown server 'redis'"* ]] || fail "bad kind: rc=$rc out=$out"
set +e
out=$("$tool" stop "$tmp/nothing" 2>&1); rc=$?
set -e
[[ $rc == 2 && $out == *"no server started in"* ]] || fail "stop of nothing: rc=$rc out=$out"
"$tool" --help | grep -q 'start zk|etcd|consul DIR' || fail "--help lacks the usage"

for kind in "$@"; do
  dir=$tmp/$kind
  started+=("$dir")
  url=$("$tool" start "$kind" "$dir" | tail -1)
  [[ $url == "$("$tool" url "$dir")" ]] || fail "$kind: url differs from start's"
  case $kind in
    zk) [[ $url == zk://127.0.0.1:* ]] ;;
    etcd) [[ $url == etcd://127.0.0.1:* ]] ;;
    consul) [[ $url == consul://127.0.0.1:* ]] ;;
  esac || fail "$kind: unexpected URL $url"
  "$cli" "$url" create /test-server "hello $kind" >/dev/null
  [[ $("$cli" "$url" get /test-server) == "hello $kind" ]] || fail "$kind: value not read back"
  "$tool" stop "$dir"
  [[ ! -d $dir ]] || fail "$kind: $dir left after stop"
  # Stopped means stopped: the URL no longer answers.
  if "$cli" --timeout 1500 "$url" get /test-server >/dev/null 2>&1; then
    fail "$kind: server still answers after stop"
  fi
  echo "ok $kind ($url)"
done
echo "ok usage errors"
