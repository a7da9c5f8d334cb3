# Helpers for the zkd tests: the backend URL, a zkd on a free port, its end.
#   zkd_url BACKEND NAME    mem://NAME, or the server fixture's URL (OFFKV_TEST_URL_FILE)
#                           with a fresh prefix, so runs never see each other's nodes
#   zkd_start ZKD URL [ARGS...]   starts offkv-zkd; sets ZKD_PID, ZKD_PORT, ZKD_LOG
#   zkd_stop                stops it (SIGTERM: its sessions end, ephemerals go)
zkd_url() {
  local backend=$1 name=$2
  if [[ $backend == mem ]]; then
    echo "mem://$name"
    return
  fi
  [[ -n ${OFFKV_TEST_URL_FILE:-} && -s $OFFKV_TEST_URL_FILE ]] ||
    { echo "zkd tests: no URL file for the $backend server (OFFKV_TEST_URL_FILE)" >&2; return 1; }
  echo "$(head -1 "$OFFKV_TEST_URL_FILE")/zkd-$name-$$-$RANDOM"
}

zkd_start() {
  local zkd=$1 url=$2
  shift 2
  ZKD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/zkd-test.XXXXXX")
  ZKD_LOG=$ZKD_DIR/zkd.log
  "$zkd" --listen 127.0.0.1:0 --port-file "$ZKD_DIR/port" "$@" "$url" >"$ZKD_LOG" 2>&1 &
  ZKD_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $ZKD_DIR/port ]] && break
    kill -0 "$ZKD_PID" 2>/dev/null || { cat "$ZKD_LOG" >&2; echo "zkd did not start" >&2; return 1; }
    sleep 0.1
  done
  [[ -s $ZKD_DIR/port ]] || { cat "$ZKD_LOG" >&2; echo "zkd did not listen" >&2; return 1; }
  ZKD_PORT=$(cat "$ZKD_DIR/port")
  trap zkd_stop EXIT
}

zkd_stop() {
  if [[ -n ${ZKD_PID:-} ]]; then
    kill "$ZKD_PID" 2>/dev/null || true
    wait "$ZKD_PID" 2>/dev/null || true
    ZKD_PID=
  fi
  [[ -n ${ZKD_DIR:-} && -z ${ZKD_KEEP:-} ]] && rm -rf "$ZKD_DIR"
  ZKD_DIR=
}

# A four-letter word to 127.0.0.1:PORT.
four_letter() {
  local port=$1 word=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s' "$word" >&3
  timeout 5 cat <&3 || true
  exec 3<&- 3>&-
}
