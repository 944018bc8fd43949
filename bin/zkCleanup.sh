#!/usr/bin/env bash
# Removes old snapshots and txn logs, as Apache ZooKeeper's bin/zkCleanup.sh (PurgeTxnLog):
#
#   zkCleanup.sh [--config <conf-dir>] -n <count>
#
# keeps the newest <count> snapshots (at least 3) and the txn logs they need, in the dataDir and
# dataLogDir of $ZOOCFGDIR/$ZOOCFG. Runs `zookeeper-ts cleanup <dataLogDir> <dataDir> -n <count>`.

ZOOBIN="${BASH_SOURCE-$0}"
ZOOBIN="$(dirname "${ZOOBIN}")"
ZOOBINDIR="$(cd "${ZOOBIN}" && pwd)"

. "$ZOOBINDIR"/zkEnv.sh

ZOODATADIR="$(zkGetConfigValue dataDir "$ZOOCFG")"
ZOODATALOGDIR="$(zkGetConfigValue dataLogDir "$ZOOCFG")"

if [ "x$ZOODATADIR" = "x" ]; then
  echo "Error: no dataDir in $ZOOCFG" >&2
  exit 2
fi

if [ "x$ZOODATALOGDIR" = "x" ]; then
  exec "$NODE" "$ZK_MAIN" cleanup "$ZOODATADIR" "$@"
else
  exec "$NODE" "$ZK_MAIN" cleanup "$ZOODATALOGDIR" "$ZOODATADIR" "$@"
fi
