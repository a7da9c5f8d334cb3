# Shared by the server scripts (zookeeper.sh, etcd.sh, consul.sh); sourced, not run.

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Stops the server whose pid is in DIR/pid: SIGNAL (default TERM), up to 10 s to exit,
# then SIGKILL.
kill_member() {  # member dir, [signal]
  local dir=$1 sig=${2:-TERM} pid i
  [[ -f $dir/pid ]] || return 0
  pid=$(cat "$dir/pid")
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}
