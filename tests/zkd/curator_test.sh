#!/usr/bin/env bash
# Apache Curator 5.9.0 (Maven Central), unmodified, against offkv-zkd on one backend:
# curator/ (JUnit 5: LeaderLatch, InterProcessMutex, PersistentNode, CuratorCache).
# Maven runs offline once ~/.m2 holds everything (the first run, online, downloads);
# a dependency that cannot be had fails the test.
# usage: curator_test.sh OFFKV-ZKD BACKEND [ZKD-ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
zkd=$1 backend=$2
shift 2
command -v mvn >/dev/null || { echo "FAIL: mvn is missing (apt-get install maven)"; exit 1; }
work=${OFFKV_ZKD_WORK:-$(mktemp -d)}
m2=${HOME}/.m2
ready=$m2/offkv-zkd-curator.ready
pom=$here/curator/pom.xml
mvn_args=(-B -q -f "$pom" "-Dzkd.target=$work/curator-target")
offline=-o
if [[ ! -f $ready || $(cat "$ready") != "$(sha1sum <"$pom")" ]]; then
  offline=  # first run with this pom: Maven downloads (Surefire's JUnit provider too)
fi
url=$(zkd_url "$backend" curator)
zkd_start "$zkd" "$url" "$@"
set +e
ZKD_HOSTS=127.0.0.1:$ZKD_PORT mvn "${mvn_args[@]}" $offline test
rc=$?
[[ $rc == 0 && -z $offline ]] && sha1sum <"$pom" >"$ready"
set -e
reports=$work/curator-target/surefire-reports
if [[ -d $reports ]]; then
  # Surefire's own summary line for CI's reader.
  sum() { grep -ho "$1=\"[0-9]*\"" "$reports"/TEST-*.xml | grep -o '[0-9]*' | awk '{s += $1} END {print s + 0}'; }
  tests=$(sum tests) failures=$(sum failures) errors=$(sum errors)
  echo "Tests run: $tests, Failures: $failures, Errors: $errors, Skipped: 0"
fi
if [[ $rc != 0 ]]; then
  echo "--- zkd log (last 50 lines)"
  tail -50 "$ZKD_LOG"
  echo "FAIL: Curator on $backend"
fi
exit $rc
