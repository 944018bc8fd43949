#!/usr/bin/env bash
# Starts and stops zookeeper-ts the way Apache ZooKeeper's bin/zkServer.sh does: same verbs,
# same messages, same exit codes, so that init scripts and tooling written for ZooKeeper work.
#
#   zkServer.sh [--config <conf-dir>] {start|start-foreground|stop|restart|status|version|print-cmd} [cfg]
#
#   cfg               a zoo.cfg path, or a file name inside ZOOCFGDIR (default: $ZOOCFGDIR/zoo.cfg)
#   start             daemon (nohup); pid in <dataDir>/zookeeper_server.pid (or $ZOOPIDFILE), output
#                     in $ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out; exit 1 if already
#                     running ("already running as process N.") or if it dies before serving
#                     ("FAILED TO START"; waits up to $ZOO_START_WAIT s, default 10)
#   start-foreground  exec node in this process, so signals reach the server directly
#   stop              SIGTERM, wait up to $ZOO_STOP_TIMEOUT seconds (default 30) for a clean exit,
#                     then SIGKILL; removes the pid file; always exit 0
#   status            asks `srvr` on the client port (bash /dev/tcp) and prints its Mode line;
#                     exit 1 with "Error contacting service. It is probably not running." when down
#   version           the server version
#   print-cmd         the command line `start` runs
#
# JVMFLAGS and SERVER_JVMFLAGS (-Dkey=value) reach the server through the environment; the
# server reads them as ZooKeeper reads Java system properties (e.g. -Dzookeeper.admin.serverPort=9090).

ZOOBIN="${BASH_SOURCE-$0}"
ZOOBIN="$(dirname "${ZOOBIN}")"
ZOOBINDIR="$(cd "${ZOOBIN}" && pwd)"

. "$ZOOBINDIR"/zkEnv.sh

if [ "x$SERVER_JVMFLAGS" != "x" ]; then
  JVMFLAGS="$SERVER_JVMFLAGS $JVMFLAGS"
fi

# A config given as the second argument: a path, or a name inside ZOOCFGDIR.
if [ "x$2" != "x" ]; then
  case "$2" in
  */*) ZOOCFG="$2" ;;
  *) if [ -f "$ZOOCFGDIR/$2" ] || [ ! -f "$2" ]; then ZOOCFG="$ZOOCFGDIR/$2"; else ZOOCFG="$2"; fi ;;
  esac
fi

echo "Using config: $ZOOCFG" >&2

ZOO_DATADIR="$(zkGetConfigValue dataDir "$ZOOCFG")"
ZOO_DATALOGDIR="$(zkGetConfigValue dataLogDir "$ZOOCFG")"

# If autocreate is turned off and the data directories do not exist, fail now: there would be
# nowhere to put the pid file anyway.
if [ -n "$ZOO_DATADIR_AUTOCREATE_DISABLE" ]; then
  if [ ! -d "$ZOO_DATADIR/version-2" ]; then
    echo "ZooKeeper data directory is missing at $ZOO_DATADIR fix the path or run initialize"
    exit 1
  fi
  if [ -n "$ZOO_DATALOGDIR" ] && [ ! -d "$ZOO_DATALOGDIR/version-2" ]; then
    echo "ZooKeeper txnlog directory is missing at $ZOO_DATALOGDIR fix the path or run initialize"
    exit 1
  fi
  JVMFLAGS="-Dzookeeper.datadir.autocreate=false $JVMFLAGS"
fi

if [ -z "$ZOOPIDFILE" ]; then
  if [ -z "$ZOO_DATADIR" ]; then
    # No dataDir: the server will refuse this config; keep the pid file out of the filesystem root.
    ZOO_DATADIR="$ZOO_LOG_DIR"
  fi
  if [ ! -d "$ZOO_DATADIR" ]; then
    mkdir -p "$ZOO_DATADIR"
  fi
  ZOOPIDFILE="$ZOO_DATADIR/zookeeper_server.pid"
else
  # ensure it exists, otherwise stop will fail
  mkdir -p "$(dirname "$ZOOPIDFILE")"
fi

if [ ! -w "$ZOO_LOG_DIR" ]; then
  mkdir -p "$ZOO_LOG_DIR"
fi

# $USER may be unset (cron, containers); fall back to the real user name.
USER="${USER:-$(id -un 2>/dev/null)}"
ZOO_LOG_FILE=${ZOO_LOG_FILE:-zookeeper-$USER-server-$HOSTNAME.log}
_ZOO_DAEMON_OUT="$ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out"

JVMFLAGS="-Dzookeeper.log.dir=${ZOO_LOG_DIR} -Dzookeeper.log.file=${ZOO_LOG_FILE} $JVMFLAGS"
export JVMFLAGS SERVER_JVMFLAGS ZOOCFGDIR ZOO_LOG_DIR

# four WORD HOST PORT: a four-letter word over bash's /dev/tcp (no netcat needed).
four() {
  timeout "${ZOO_STATUS_TIMEOUT:-5}" bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf %s "$0" >&3 && cat <&3' "$1" "$2" "$3" 2>/dev/null
}

# find_client_port: sets clientPort, clientPortAddress and isSSL from the config the way
# ZooKeeper's status does (clientPort, else this server's `;port` in a server.N line, also in
# the dynamic file, else secureClientPort); prints what it had to look for; 1 when none.
find_client_port() {
  isSSL="false"
  clientPortAddress=$(zkGetConfigValue clientPortAddress "$ZOOCFG")
  if ! [ "$clientPortAddress" ]; then
    clientPortAddress="localhost"
  fi
  clientPort=$(zkGetConfigValue clientPort "$ZOOCFG")
  if ! [[ "$clientPort" =~ ^[0-9]+$ ]]; then
    dataDir=$(zkGetConfigValue dataDir "$ZOOCFG")
    myid=$(head -n 1 "$dataDir/myid" 2> /dev/null)
    if ! [[ "$myid" =~ ^[0-9]+$ ]]; then
      echo "myid could not be determined, will not able to locate clientPort in the server configs."
    else
      clientPortAndAddress=$(grep "^[[:space:]]*server.$myid=.*;.*" "$ZOOCFG" | sed -e 's/.*=//' | sed -e 's/.*;//')
      if [ ! "$clientPortAndAddress" ]; then
        echo "Client port not found in static config file. Looking in dynamic config file."
        dynamicConfigFile=$(zkGetConfigValue dynamicConfigFile "$ZOOCFG")
        clientPortAndAddress=$(grep "^[[:space:]]*server.$myid=.*;.*" "$dynamicConfigFile" 2> /dev/null | sed -e 's/.*=//' | sed -e 's/.*;//')
      fi
      if [ ! "$clientPortAndAddress" ]; then
        echo "Client port not found in the server configs"
      else
        if [[ "$clientPortAndAddress" =~ ^.*:[0-9]+ ]]; then
          if [[ "$clientPortAndAddress" =~ \[.*\]:[0-9]+ ]]; then
            # Extracts address from address:port for example extracts 127::1 from "[127::1]:2181"
            clientPortAddress=$(echo "$clientPortAndAddress" | sed -e 's|\[||' | sed -e 's|\]:.*||')
          else
            clientPortAddress=$(echo "$clientPortAndAddress" | sed -e 's/:.*//')
          fi
        fi
        clientPort=$(echo "$clientPortAndAddress" | sed -e 's/.*://')
      fi
    fi
  fi
  if [ ! "$clientPort" ]; then
    echo "Client port not found. Looking for secureClientPort in the static config."
    secureClientPort=$(zkGetConfigValue secureClientPort "$ZOOCFG")
    if [ "$secureClientPort" ]; then
      isSSL="true"
      clientPort=$secureClientPort
      clientPortAddress=$(zkGetConfigValue secureClientPortAddress "$ZOOCFG")
      if ! [ "$clientPortAddress" ]; then
        clientPortAddress="localhost"
      fi
    else
      echo "Unable to find either secure or unsecure client port in any configs. Terminating."
      return 1
    fi
  fi
  return 0
}

case $1 in
start)
  echo -n "Starting zookeeper ... "
  if [ -f "$ZOOPIDFILE" ]; then
    if kill -0 "$(cat "$ZOOPIDFILE")" > /dev/null 2>&1; then
      echo already running as process "$(cat "$ZOOPIDFILE")".
      exit 1
    fi
  fi
  nohup "$NODE" "$ZK_MAIN" start-foreground "$ZOOCFG" > "$_ZOO_DAEMON_OUT" 2>&1 < /dev/null &
  if [ $? -eq 0 ]; then
    if /bin/echo -n $! > "$ZOOPIDFILE"; then
      # ZooKeeper sleeps one second and checks the process is alive. A slow machine can take
      # longer than that to fail, so wait (up to $ZOO_START_WAIT s) until the server either
      # answers srvr on its client port or exits; alive at the end counts as started.
      pid=$(cat "${ZOOPIDFILE}")
      sleep 0.2
      deadline=$((SECONDS + ${ZOO_START_WAIT:-10}))
      find_client_port > /dev/null 2>&1 || clientPort=""
      while ps -p "${pid}" > /dev/null 2>&1 && [ $SECONDS -lt $deadline ]; do
        if [ -n "$clientPort" ] && [ "$isSSL" = "false" ] &&
          ZOO_STATUS_TIMEOUT=1 four srvr "$clientPortAddress" "$clientPort" | grep -q Mode; then
          break
        fi
        sleep 0.2
      done
      if ps -p "${pid}" > /dev/null 2>&1; then
        echo STARTED
      else
        echo FAILED TO START
        # Unlike ZooKeeper, do not leave a stale pid file behind.
        rm -f "$ZOOPIDFILE"
        exit 1
      fi
    else
      echo FAILED TO WRITE PID
      exit 1
    fi
  else
    echo SERVER DID NOT START
    exit 1
  fi
  ;;
start-foreground)
  ZOO_CMD=(exec "$NODE")
  if [ "${ZOO_NOEXEC}" != "" ]; then
    ZOO_CMD=("$NODE")
  fi
  "${ZOO_CMD[@]}" "$ZK_MAIN" start-foreground "$ZOOCFG"
  ;;
print-cmd)
  echo "JVMFLAGS=\"$JVMFLAGS\" \"$NODE\" \"$ZK_MAIN\" start-foreground \"$ZOOCFG\" > \"$_ZOO_DAEMON_OUT\" 2>&1 < /dev/null"
  ;;
stop)
  echo -n "Stopping zookeeper ... "
  if [ ! -f "$ZOOPIDFILE" ]; then
    echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
  else
    pid=$(cat "$ZOOPIDFILE")
    if kill "$pid" 2> /dev/null; then
      # Wait for a clean exit (the server closes its sessions' connections and its log first).
      waited=0
      limit=$(( ${ZOO_STOP_TIMEOUT:-30} * 10 ))
      while kill -0 "$pid" 2> /dev/null && [ $waited -lt $limit ]; do
        sleep 0.1
        waited=$((waited + 1))
      done
      if kill -0 "$pid" 2> /dev/null; then
        echo -n "did not exit within ${ZOO_STOP_TIMEOUT:-30}s, killing ... "
        kill -9 "$pid" 2> /dev/null
      fi
    fi
    rm -f "$ZOOPIDFILE"
    echo STOPPED
  fi
  exit 0
  ;;
version)
  "$NODE" "$ZK_MAIN" version 2> /dev/null
  ;;
restart)
  shift
  "$0" stop "$@"
  "$0" start "$@"
  ;;
status)
  find_client_port || exit 1
  echo "Client port found: $clientPort. Client address: $clientPortAddress. Client SSL: $isSSL."
  STAT=""
  if [ "$isSSL" = "false" ]; then
    STAT=$(four srvr "$clientPortAddress" "$clientPort" | grep Mode)
  fi
  if [ "x$STAT" = "x" ]; then
    if [ "$isSSL" = "true" ]; then
      echo " "
      echo "Note: We used secureClientPort ($secureClientPort) to establish connection, but we failed. The 'status'"
      echo "  command of zookeeper-ts speaks plain TCP only; TLS client ports are not supported yet."
      echo " "
    fi
    echo "Error contacting service. It is probably not running."
    exit 1
  else
    echo $STAT
    exit 0
  fi
  ;;
*)
  echo "Usage: $0 [--config <conf-dir>] {start|start-foreground|stop|version|restart|status|print-cmd}" >&2
  ;;
esac
