#!/usr/bin/env bash
# Cross-check mode: one suite (zkcli, kazoo or curator) against offkv-zkd on mem:// with
# the standalone ZooKeeper fixture as --oracle. The suite must pass, and the oracle
# must log no DIVERGENCE: the differences docs/zkd.md lists are either mapped (sequence
# numbers) or refused by zkd before the oracle is asked ("documented:" lines).
# usage: oracle_test.sh OFFKV-ZKD SUITE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
zkd=$1 suite=$2
[[ -n ${OFFKV_ORACLE_URL_FILE:-} && -s $OFFKV_ORACLE_URL_FILE ]] ||
  { echo "FAIL: no ZooKeeper URL file for the oracle (OFFKV_ORACLE_URL_FILE)"; exit 1; }
chroot=/zkd-oracle-$suite-$$-$RANDOM
oracle=$(head -1 "$OFFKV_ORACLE_URL_FILE")$chroot
log=$(mktemp "${TMPDIR:-/tmp}/zkd-oracle.XXXXXX")
trap 'rm -f "$log"' EXIT
set +e
bash "$here/${suite}_test.sh" "$zkd" mem --oracle "$oracle" --oracle-log "$log"
rc=$?
set -e
compared=$(grep -o '[0-9]* requests compared' "$log" | tail -1 | cut -d' ' -f1)
divergences=$(grep -c '^DIVERGENCE' "$log" || true)
documented=$(grep -c '^documented:' "$log" || true)
echo "oracle ($suite): ${compared:-0} requests compared, $divergences divergences," \
  "$documented documented refusals"
if [[ $divergences != 0 ]]; then
  grep '^DIVERGENCE' "$log" | head -50
  echo "FAIL: zkd and ZooKeeper answered differently"
  exit 1
fi
[[ $rc == 0 ]] || { echo "FAIL: the $suite suite failed under the oracle"; exit 1; }
[[ ${compared:-0} -gt 0 ]] || { echo "FAIL: the oracle compared nothing"; exit 1; }
echo "oracle $suite: 1 passed, 0 failed"
