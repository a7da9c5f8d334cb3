#!/usr/bin/env bash
# Starts and stops real ZooKeeper 3.8 servers (Debian package `zookeeper`) for tests,
# on 127.0.0.1 with free ports, data under DIR. No systemd.
#
#   zookeeper.sh start DIR            standalone server; writes DIR/url (zk://127.0.0.1:PORT)
#   zookeeper.sh start-ensemble DIR   3-node ensemble; writes DIR/url with all three
#   zookeeper.sh stop-member DIR N    stops member N (1..3) of an ensemble
#   zookeeper.sh start-member DIR N   starts member N again and waits for it
#   zookeeper.sh kill-member DIR N    SIGKILLs member N (a crash; start-member restarts it)
#   zookeeper.sh pause-member DIR N   SIGSTOPs member N (frozen: sockets open, no answers)
#   zookeeper.sh resume-member DIR N  SIGCONTs member N
#   zookeeper.sh leader DIR           prints the number (1..3) of the ensemble's leader
#   zookeeper.sh stop-all DIR         stops every member (data kept)
#   zookeeper.sh start-all DIR        starts every member again and waits for them
#   zookeeper.sh stop DIR             stops everything started in DIR, removes DIR
#
# Environment: ZK_CLASSPATH (default: the Debian jars), JAVA (default: java).
set -euo pipefail

JAVA=${JAVA:-java}
ZK_CLASSPATH=${ZK_CLASSPATH:-/usr/share/java/zookeeper.jar}
MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
WAIT_SECONDS=${ZK_WAIT_SECONDS:-60}

die() { echo "zookeeper.sh: $*" >&2; exit 1; }

# free_port, kill_member, signal_member
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Prints the server's `srvr` answer, or fails.
four_letter() {
  local port=$1 word=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf '%s' "$word" >&3
  timeout 2 cat <&3 || true
  exec 3<&- 3>&-
}

# Returns 3 if the server ended while starting (its log is printed).
wait_serving() {  # port, member dir
  local port=$1 dir=$2 i
  for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
    if four_letter "$port" srvr 2>/dev/null | grep -qE '^Mode: (standalone|leader|follower)'; then
      return 0
    fi
    if [[ -f $dir/pid ]] && ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      tail -30 "$dir/server.log" >&2 || true
      echo "zookeeper.sh: server in $dir $(how_it_ended "$(cat "$dir/pid")") while starting" >&2
      rm -f "$dir/pid"
      return 3
    fi
    sleep 0.2
  done
  tail -30 "$dir/server.log" >&2 || true
  die "server on port $port did not answer within ${WAIT_SECONDS}s"
}

write_config() {  # member dir, client port, [servers lines]
  local dir=$1 port=$2
  mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<CFG
tickTime=1000
initLimit=10
syncLimit=5
minSessionTimeout=2000
maxSessionTimeout=60000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,stat,mntr
autopurge.purgeInterval=0
CFG
  cat >"$dir/logback.xml" <<'XML'
<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="CONSOLE"/></root>
</configuration>
XML
  cat >"$dir/log4j.properties" <<'L4J'
log4j.rootLogger=WARN, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{HH:mm:ss,SSS} %-5p %c{1} - %m%n
L4J
}

launch() {  # member dir
  local dir=$1
  # jute.maxbuffer: a transaction of OFFKV_MAX_TXN_OPS values of OFFKV_MAX_VALUE_SIZE
  # is ~4 MiB, above ZooKeeper's 1 MiB default (docs/zookeeper-notes.md).
  (cd "$dir" && exec setsid "$JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djute.maxbuffer=16777216 -Dzookeeper.admin.enableServer=false \
    -Dlogback.configurationFile="$dir/logback.xml" \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    -Dzookeeper.jmx.log4j.disable=true \
    -cp "$ZK_CLASSPATH" "$MAIN" "$dir/zoo.cfg" >"$dir/server.log" 2>&1 </dev/null) &
  echo $! >"$dir/pid"
}


cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] ||
  die "usage: $0 start|start-ensemble|stop|stop-member|start-member|kill-member|pause-member|resume-member|leader DIR [N]"

case $cmd in
  start)
    [[ -e $DIR/pid ]] && kill_member "$DIR"  # a leftover from an aborted run
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    # A server that ends while starting (its port taken between free_port and its
    # bind, say) is started again on a fresh port, up to 3 times in all.
    for attempt in 1 2 3; do
      port=$(free_port)
      rm -rf "$DIR/data"
      write_config "$DIR" "$port"
      launch "$DIR"
      rc=0
      wait_serving "$port" "$DIR" || rc=$?
      ((rc == 0)) && break
      ((attempt < 3)) || die "the server in $DIR ended while starting, 3 times"
      echo "zookeeper.sh: starting it again (attempt $((attempt + 1)) of 3)" >&2
    done
    echo "zk://127.0.0.1:$port" >"$DIR/url"
    echo "zookeeper.sh: standalone ZooKeeper on 127.0.0.1:$port (pid $(cat "$DIR/pid"))"
    ;;
  start-ensemble)
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    servers="" hosts=""
    declare -a ports
    for n in 1 2 3; do
      ports[$n]=$(free_port)
      servers+="server.$n=127.0.0.1:$(free_port):$(free_port)"$'\n'
      hosts+="${hosts:+,}127.0.0.1:${ports[$n]}"
    done
    for n in 1 2 3; do
      write_config "$DIR/m$n" "${ports[$n]}"
      printf '%s' "$servers" >>"$DIR/m$n/zoo.cfg"
      echo "$n" >"$DIR/m$n/data/myid"
      echo "${ports[$n]}" >"$DIR/m$n/port"
    done
    for n in 1 2 3; do launch "$DIR/m$n"; done
    for n in 1 2 3; do wait_serving "${ports[$n]}" "$DIR/m$n"; done
    echo "zk://$hosts" >"$DIR/url"
    echo "zookeeper.sh: ZooKeeper ensemble on $hosts"
    ;;
  stop-member)
    n=${3:?member number}
    kill_member "$DIR/m$n"
    ;;
  start-member)
    n=${3:?member number}
    launch "$DIR/m$n"
    wait_serving "$(cat "$DIR/m$n/port")" "$DIR/m$n"
    ;;
  kill-member)
    signal_member "$DIR/m${3:?member number}" KILL
    ;;
  pause-member)
    signal_member "$DIR/m${3:?member number}" STOP
    ;;
  resume-member)
    signal_member "$DIR/m${3:?member number}" CONT
    ;;
  leader)
    # `srvr` of each running member; a paused one does not answer (four_letter's
    # 2 s timeout), a follower says "Mode: follower".
    for n in 1 2 3; do
      [[ -f $DIR/m$n/pid ]] || continue
      if four_letter "$(cat "$DIR/m$n/port")" srvr 2>/dev/null | grep -q '^Mode: leader'; then
        echo "$n"
        exit 0
      fi
    done
    die "no member of $DIR says it leads"
    ;;
  stop-all)
    for n in 1 2 3; do kill_member "$DIR/m$n"; done
    ;;
  start-all)
    for n in 1 2 3; do launch "$DIR/m$n"; done
    for n in 1 2 3; do wait_serving "$(cat "$DIR/m$n/port")" "$DIR/m$n"; done
    ;;
  stop)
    [[ -d $DIR ]] || exit 0
    for d in "$DIR" "$DIR"/m1 "$DIR"/m2 "$DIR"/m3; do
      [[ -d $d ]] && kill_member "$d"
    done
    rm -rf "$DIR"
    ;;
  *) die "unknown command $cmd" ;;
esac
