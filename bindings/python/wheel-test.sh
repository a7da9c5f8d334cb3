#!/usr/bin/env bash
# Tests the self-contained wheel: builds it (wheel.sh), installs it alone into a fresh
# venv, and runs wheel_check.py there in a process started with LD_LIBRARY_PATH (and
# LD_PRELOAD, PYTHON*) unset: offkv.backends(), a create/get/erase on mem:// and on
# every server of OFFKV_TEST_URL / OFFKV_TEST_URL_FILE, and proof from
# /proc/self/maps and ldd that the backends' libraries are the wheel's copies in
# offkv.libs/, never /usr/lib's. Then it runs the same check again with the system
# copies of every bundled library hidden: /dev/null bind-mounted over each in a
# private mount namespace (unshare), so loading any of them would fail.
#
#   bindings/python/wheel-test.sh
#
# Environment:
#   OFFKV_WHEEL_BACKENDS  remote backends to build in and test (default
#                         "zk etcd consul"); each needs a server URL: a missing or
#                         unreachable one FAILS
#   OFFKV_TEST_URL, OFFKV_TEST_URL_FILE
#                         server URLs, as for test.sh (scripts/test.sh exports the
#                         second)
#   OFFKV_WHEEL_HIDE      auto (default): the hidden-copies run happens when
#                         `unshare --user --map-root-user --mount` works here, else
#                         a line says it could not; 1: required; 0: not run
#   PYTHON, OFFKV_PYWHEEL_BUILD_DIR, OFFKV_JOBS, CCACHE_DIR, PIP_CACHE_DIR
#                         as for wheel.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
read -ra backends <<<"${OFFKV_WHEEL_BACKENDS-zk etcd consul}"
hide=${OFFKV_WHEEL_HIDE:-auto}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/offkv-pywheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for b in zk etcd consul; do
  on=OFF
  [[ " ${backends[*]} " == *" $b "* ]] && on=ON
  export "OFFKV_WITH_${b^^}=$on"
done
bash "$here/wheel.sh" "$tmp/dist" | tee "$tmp/wheel.out"
whl=$(tail -n 1 "$tmp/wheel.out")

export PIP_CACHE_DIR=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-pip}
export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "== wheel test: fresh venv with nothing but $(basename "$whl")"
"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --no-index --no-deps "$whl"
cp "$here/wheel_check.py" "$tmp/"
cd "$tmp"  # away from the sources
clean_env=(env -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONPATH -u PYTHONHOME)
check=("$tmp/venv/bin/python" -I "$tmp/wheel_check.py")

echo "== wheel test: LD_LIBRARY_PATH unset"
"${clean_env[@]}" "${check[@]}" "${backends[@]}"

if [[ $hide == 0 ]]; then
  echo "== wheel test: hidden-copies run not asked for (OFFKV_WHEEL_HIDE=0)"
  exit 0
fi
if ! unshare --user --map-root-user --mount true 2>/dev/null; then
  if [[ $hide == 1 ]]; then
    echo "wheel-test.sh: unshare --user --mount does not work here (OFFKV_WHEEL_HIDE=1)" >&2
    exit 1
  fi
  echo "== wheel test: NOT hiding the system copies: no user namespaces here" \
    "(unshare --user --map-root-user --mount fails); the check above stands"
  exit 0
fi
mapfile -t copies < <("${clean_env[@]}" "${check[@]}" --system-copies)
echo "== wheel test: LD_LIBRARY_PATH unset, ${#copies[@]} system copies of bundled" \
  "libraries hidden (/dev/null bind-mounted over them in a private mount namespace)"
((${#copies[@]} > 0)) || { echo "wheel-test.sh: found no system copy to hide" >&2; exit 1; }
hidden=$(IFS=:; echo "${copies[*]}")
# shellcheck disable=SC2016
unshare --user --map-root-user --mount -- bash -c '
  set -e
  hidden=$1; shift
  IFS=: read -ra copies <<<"$hidden"
  for f in "${copies[@]}"; do mount --bind /dev/null "$f"; done
  exec env OFFKV_WHEEL_HIDDEN="$hidden" "$@"' bash "$hidden" \
  "${clean_env[@]}" "${check[@]}" "${backends[@]}"
