#!/usr/bin/env bash
# Syscalls and server CPU per reply, for our server and the reference, under one ZkBench point.
# No tracing: it reads /proc/PID/io (syscr, syscw: read- and write-family syscalls of every thread)
# and /proc/PID/stat (utime, stime) before and after the run, and divides by the replies the
# server sent (srvr's Sent counter).
#
#   scripts/bench/per-reply.sh [OP] [CLIENTS] [OUTSTANDING] [SECONDS] [VALUE_BYTES]   (default get 4 8 5 128)
# Environment: OURS_ROOT (default: this checkout) holds dist/src/cli/main.js; REF_ZK_HEAP (default 2g).
set -euo pipefail
op=${1:-get}; clients=${2:-4}; inflight=${3:-8}; secs=${4:-5}; value=${5:-128}
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${ZK_SHARED_DIR:-$repo/../shared}
ours_root=${OURS_ROOT:-$repo}
work=$(mktemp -d "${TMPDIR:-/tmp}/zkbench-per-reply-XXXXXX")
four() { timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$2"' && printf %s '"$1"' >&3 && cat <&3' 2>/dev/null || true; }
sent() { four srvr "$1" | awk -F': ' '/^Sent/{print $2}'; }
io() { awk '/^syscr/{r=$2} /^syscw/{w=$2} /^write_bytes/{b=$2} END{print r, w, b}' "/proc/$1/io"; }
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

ours_pid=""
cleanup() {
  [ -n "$ours_pid" ] && kill "$ours_pid" 2>/dev/null || true
  bash "$shared/tools/ref-zk.sh" stop "$work/ref" || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

po=$(free_port); pr=$(free_port)
mkdir -p "$work/ours/data"
printf 'tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\n' \
  "$work/ours/data" "$po" > "$work/ours/zoo.cfg"
ZOO_LOG_LEVEL=warn node "$ours_root/dist/src/cli/main.js" start-foreground "$work/ours/zoo.cfg" > "$work/ours/out.log" 2>&1 &
ours_pid=$!
REF_ZK_EXTRA='clientPortAddress=127.0.0.1' REF_ZK_HEAP=${REF_ZK_HEAP:-2g} bash "$shared/tools/ref-zk.sh" start "$work/ref" 1 $((pr - 1))
ref_pid=$(cat "$work/ref/s1/pid")
for _ in $(seq 1 100); do four srvr "$po" | grep -q '^Mode' && break; sleep 0.1; done

for who in ours ref; do
  if [ "$who" = ours ]; then port=$po; pid=$ours_pid; else port=$pr; pid=$ref_pid; fi
  bash "$shared/bench/run.sh" "127.0.0.1:$port" "$op" "$clients" "$inflight" 2 "$value" > /dev/null   # warm-up
  s0=$(sent "$port"); read -r r0 w0 b0 < <(io "$pid"); read -r u0 k0 < <(cpu "$pid")
  line=$(bash "$shared/bench/run.sh" "127.0.0.1:$port" "$op" "$clients" "$inflight" "$secs" "$value")
  s1=$(sent "$port"); read -r r1 w1 b1 < <(io "$pid"); read -r u1 k1 < <(cpu "$pid")
  n=$((s1 - s0 - 1)) # give or take the srvr probes themselves
  hz=$(getconf CLK_TCK)
  awk -v who="$who" -v line="$line" -v n="$n" -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v u=$((u1 - u0)) -v k=$((k1 - k0)) -v b=$((b1 - b0)) -v hz="$hz" 'BEGIN {
    printf "%s: %s\n  replies=%d read-syscalls/reply=%.3f write-syscalls/reply=%.3f cpu-us/reply user=%.1f sys=%.1f disk-KiB/reply=%.2f\n",
      who, line, n, r / n, w / n, u * 1e6 / hz / n, k * 1e6 / hz / n, b / 1024 / n }'
done
