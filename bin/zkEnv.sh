#!/usr/bin/env bash
# Environment shared by zkServer.sh and zkCleanup.sh, as Apache ZooKeeper's zkEnv.sh: where the
# configuration, the logs and the server program are. Sourced, never run.
#
#   --config <dir>    as the first two arguments: the configuration directory (ZOOCFGDIR)
#   ZOOCFGDIR         configuration directory (default: <install>/conf)
#   ZOOCFG            configuration file name inside ZOOCFGDIR (default: zoo.cfg)
#   ZOO_LOG_DIR       where `start` writes zookeeper-$USER-server-$HOSTNAME.out (default: <install>/logs)
#   NODE              the node binary (default: node on PATH)
#   ZOOCFGDIR/zookeeper-env.sh and ZOOCFGDIR/java.env are sourced when present, as in ZooKeeper.

ZOOBINDIR="${ZOOBINDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
ZOOKEEPER_PREFIX="$(cd "${ZOOBINDIR}/.." && pwd)"

if [ $# -gt 1 ] && [ "--config" = "$1" ]; then
  shift
  ZOOCFGDIR=$1
  shift
fi

if [ "x$ZOOCFGDIR" = "x" ]; then
  ZOOCFGDIR="$ZOOKEEPER_PREFIX/conf"
fi

if [ -f "${ZOOCFGDIR}/zookeeper-env.sh" ]; then
  . "${ZOOCFGDIR}/zookeeper-env.sh"
fi

if [ "x$ZOOCFG" = "x" ]; then
  ZOOCFG="zoo.cfg"
fi
ZOOCFG="$ZOOCFGDIR/$ZOOCFG"

if [ -f "$ZOOCFGDIR/java.env" ]; then
  . "$ZOOCFGDIR/java.env"
fi

if [ "x${ZOO_LOG_DIR}" = "x" ]; then
  ZOO_LOG_DIR="$ZOOKEEPER_PREFIX/logs"
fi

if [ -n "$NODE" ] && [ -x "$NODE" ]; then
  :
elif type -p node > /dev/null; then
  NODE=$(type -p node)
else
  echo "Error: NODE is not set and node could not be found in PATH." 1>&2
  exit 1
fi

ZK_MAIN="$ZOOKEEPER_PREFIX/dist/src/cli/main.js"
if [ ! -f "$ZK_MAIN" ]; then
  echo "Error: $ZK_MAIN is missing; build first (npm install && npx tsc -p tsconfig.json)." 1>&2
  exit 1
fi

# zkGetConfigValue KEY FILE: the value of KEY in a zoo.cfg, as ZooKeeper's scripts read it.
zkGetConfigValue() {
  grep "^[[:space:]]*$1[^[:alnum:].]" "$2" 2>/dev/null | tail -n 1 |
    sed -E -e 's/^[[:space:]]*[^=:[:space:]]+[[:space:]]*[=:]?[[:space:]]*//' -e 's/[[:space:]]*$//'
}
