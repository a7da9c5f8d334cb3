# Sourced by bindings/*/test.sh: which liboffkv a binding's tests use.
#
#   offkv_binding_prefix NAME
#
# prints the install prefix: $OFFKV_PREFIX when set; else liboffkv is built and
# installed into ${OFFKV_<NAME>_BUILD_DIR:-<repo>/build-<name>}/prefix with the
# backends in $OFFKV_<NAME>_BACKENDS (e.g. "zk etcd"), or by default those of the
# test URLs' schemes (OFFKV_TEST_URL, OFFKV_TEST_URL_FILE); mem is always in. Build
# output goes to stderr. Parallelism: OFFKV_JOBS (default 2).
offkv_binding_prefix() {
  local name=$1 upper=${1^^}
  if [[ -n ${OFFKV_PREFIX:-} ]]; then
    echo "$OFFKV_PREFIX"
    return
  fi
  local root build_var=OFFKV_${upper}_BUILD_DIR backends_var=OFFKV_${upper}_BACKENDS
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local build=${!build_var:-$root/build-$name}
  local backends=${!backends_var:-}
  if [[ -z $backends ]]; then
    local urls=${OFFKV_TEST_URL:-} files f u
    IFS=: read -ra files <<<"${OFFKV_TEST_URL_FILE:-}"
    for f in "${files[@]}"; do [[ -r $f ]] && urls+=" $(cat "$f")"; done
    for u in $urls; do
      case $u in
        zk://*) backends+=" zk" ;;
        etcd://* | etcds://*) backends+=" etcd" ;;
        consul://* | consuls://*) backends+=" consul" ;;
      esac
    done
  fi
  local flags=(-DOFFKV_BUILD_TESTS=OFF -DOFFKV_BUILD_TOOLS=OFF) b
  for b in zk etcd consul; do
    local on=OFF
    [[ " $backends " == *" $b "* ]] && on=ON
    flags+=("-DOFFKV_WITH_${b^^}=$on")
  done
  echo "bindings/$name/test.sh: building liboffkv (backends: mem${backends:+ $backends}) into $build/prefix" >&2
  cmake -S "$root" -B "$build" -G Ninja "${flags[@]}" >/dev/null
  cmake --build "$build" -j "${OFFKV_JOBS:-2}" >&2
  cmake --install "$build" --prefix "$build/prefix" >/dev/null
  echo "$build/prefix"
}
