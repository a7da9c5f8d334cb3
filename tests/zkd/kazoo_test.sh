#!/usr/bin/env bash
# kazoo (PyPI), unmodified, against offkv-zkd on one backend: kazoo/test_kazoo.py.
# The venv lives in ~/.cache/offkv-zkd-kazoo (pip's cache makes a new one cheap); a
# venv or package that cannot be had fails the test.
# usage: kazoo_test.sh OFFKV-ZKD BACKEND [ZKD-ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
zkd=$1 backend=$2
shift 2
venv=${OFFKV_ZKD_KAZOO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-zkd-kazoo}
want="kazoo==2.11.0 pytest==8.3.5"
if [[ ! -f $venv/.ready || $(cat "$venv/.ready") != "$want" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv" || { echo "FAIL: python3 -m venv"; exit 1; }
  "$venv/bin/pip" install -q $want || { echo "FAIL: pip install $want"; exit 1; }
  echo "$want" >"$venv/.ready"
fi
url=$(zkd_url "$backend" kazoo)
zkd_start "$zkd" "$url" "$@"
set +e
ZKD_HOSTS=127.0.0.1:$ZKD_PORT "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$here/kazoo/test_kazoo.py" ${KAZOO_PYTEST_ARGS:-}
rc=$?
set -e
if [[ $rc != 0 ]]; then
  echo "--- zkd log (last 50 lines)"
  tail -50 "$ZKD_LOG"
fi
exit $rc
