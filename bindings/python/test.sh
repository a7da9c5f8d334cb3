#!/usr/bin/env bash
# Builds the Python binding in a fresh virtualenv exactly as a user would
# (`pip install ./bindings/python`, which compiles liboffkv and the SWIG extension
# through scikit-build-core), installs pytest, and runs bindings/python/tests.
# Ends with pytest's own summary line; exits with pytest's code.
#
#   bindings/python/test.sh [pytest arguments...]
#
# Environment:
#   PYTHON                    interpreter to build and test with (default python3)
#   OFFKV_WITH_ZK / _ETCD / _CONSUL
#                             AUTO (default): compiled in when their libraries are
#                             found; ON: required; OFF: left out
#   OFFKV_TEST_URL            server URL(s), whitespace-separated, to test besides
#                             mem:// (a requested server that is missing FAILS)
#   OFFKV_TEST_URL_FILE       file(s) whose first line is such a URL (os.pathsep-
#                             separated), as written by tests/servers/*.sh
#   OFFKV_PY_VENV             the virtualenv to (re)create (default: a temp dir,
#                             removed on exit)
#   OFFKV_PY_BUILD_DIR        keep scikit-build-core's CMake build here between runs
#                             (default: a fresh build in a temp dir)
#   PIP_CACHE_DIR             pip's download cache (default ~/.cache/offkv-pip)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/offkv-py.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
venv=${OFFKV_PY_VENV:-$tmp/venv}

export PIP_CACHE_DIR=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-pip}
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONDONTWRITEBYTECODE=1

echo "== python binding: fresh venv $venv ($("$python" --version 2>&1))"
"$python" -m venv --clear "$venv"
py=$venv/bin/python

build_args=()
if [[ -n ${OFFKV_PY_BUILD_DIR:-} ]]; then
  build_args+=(--config-settings=build-dir="$OFFKV_PY_BUILD_DIR")
fi
for b in ZK ETCD CONSUL; do
  v=OFFKV_WITH_$b
  [[ -n ${!v:-} ]] && echo "== $v=${!v}"
done

echo "== pip install $here"
"$py" -m pip install --quiet "${build_args[@]}" "$here"
echo "== pip install pytest"
"$py" -m pip install --quiet "pytest>=7"

# From the tests directory of the source tree, against the installed package (the
# src/ layout keeps the sources off sys.path).
cd "$here"
set +e
"$py" -m pytest -p no:cacheprovider -ra "$@" tests
code=$?
set -e
exit $code
