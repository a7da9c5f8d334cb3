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
  # Only if it is still there: a pid that is gone may already name another process.
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$dir/pid"
}

# How a server this shell launched ended: "exit status N" or "killed by SIGNAME".
# Call only once its pid is gone (kill -0 fails).
how_it_ended() {  # pid
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  if ((rc == 127)); then
    echo "ended (not a child of this shell)"
  elif ((rc > 128)); then
    echo "killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
  else
    echo "exit status $rc"
  fi
}
