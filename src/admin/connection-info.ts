/**
 * How Apache ZooKeeper describes one client connection (ServerCnxn.dumpConnectionInfo for
 * `cons`/`stat`, getConnectionInfo for the AdminServer, NIOServerCnxn.toString for `dump`):
 *
 *   brief := " /" addr ":" port "[" interestOps "](queued=" n ",recved=" n ",sent=" n ")"
 *   full  := brief without ")" ",sid=0x" hex ",lop=" op ",est=" ms ",to=" ms [",lcxid=0x" hex]
 *            ",lzxid=0x" hex ",lresp=" ms ",llat=" ms ",minlat=" ms ",avglat=" ms ",maxlat=" ms ")"
 *
 * interestOps is 1 (reading) for a client connection and 0 for a connection that is answering
 * a four-letter word; addresses print as Java 17 prints an InetSocketAddress (IPv6 in brackets).
 */
import type { ClientConnection, ConnectionStats } from '../server/client-connection';
import type { JsonValue } from './json-output';
import { javaHexLong } from './java-format';

function isIpv6(addr: string): boolean {
  return addr.includes(':');
}

/** InetSocketAddress.toString: "/127.0.0.1:2181" or "/[0:0:0:0:0:0:0:1]:2181". */
export function javaSocketAddress(c: ClientConnection): string {
  return isIpv6(c.remoteAddress) ? `/[${c.remoteAddress}]:${c.remotePort}` : `/${c.remoteAddress}:${c.remotePort}`;
}

/** Jackson's InetSocketAddress serialization: no leading slash. */
export function jsonSocketAddress(c: ClientConnection): string {
  return javaSocketAddress(c).substring(1);
}

/**
 * A connection that finished its handshake without a session is one that received a
 * four-letter word (the TCP shell marks those initialized so no frame is read after the word).
 */
export function isCommandConnection(c: ClientConnection): boolean {
  const probe = c as ClientConnection & { isInitialized?: () => boolean };
  return c.sessionId === 0n && typeof probe.isInitialized === 'function' && probe.isInitialized();
}

export function interestOps(c: ClientConnection): number {
  return c.closed || isCommandConnection(c) ? 0 : 1;
}

function minLat(s: ConnectionStats): number {
  return s.count === 0 ? 0 : Math.floor(s.minLatencyMs);
}

function avgLat(s: ConnectionStats): number {
  return s.count === 0 ? 0 : Math.floor(s.totalLatencyMs / s.count);
}

function lastZxid(s: ConnectionStats): bigint {
  return BigInt(s.lastZxid);
}

export function dumpConnectionInfo(c: ClientConnection, brief: boolean): string {
  const s = c.stats;
  let out = ` ${javaSocketAddress(c)}[${interestOps(c)}](queued=${c.outstanding},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (!brief && c.sessionId !== 0n) {
    out += `,sid=0x${javaHexLong(c.sessionId)},lop=${s.lastOp},est=${Math.floor(s.establishedAtMs)},to=${c.sessionTimeoutMs}`;
    if (s.lastCxid >= 0) out += `,lcxid=0x${javaHexLong(s.lastCxid)}`;
    out += `,lzxid=0x${javaHexLong(lastZxid(s))},lresp=${Math.floor(s.lastResponseTimeMs)},llat=${Math.floor(s.lastLatencyMs)}`;
    out += `,minlat=${minLat(s)},avglat=${avgLat(s)},maxlat=${Math.floor(s.maxLatencyMs)}`;
  }
  return out + ')';
}

export function connectionInfo(c: ClientConnection, brief: boolean): Map<string, JsonValue> {
  const s = c.stats;
  const m = new Map<string, JsonValue>([
    ['remote_socket_address', jsonSocketAddress(c)],
    ['interest_ops', interestOps(c)],
    ['outstanding_requests', c.outstanding],
    ['packets_received', s.packetsReceived],
    ['packets_sent', s.packetsSent],
  ]);
  if (!brief) {
    m.set('session_id', BigInt.asIntN(64, c.sessionId));
    m.set('last_operation', s.lastOp);
    m.set('established', Math.floor(s.establishedAtMs));
    m.set('session_timeout', c.sessionTimeoutMs);
    m.set('last_cxid', s.lastCxid);
    m.set('last_zxid', lastZxid(s));
    m.set('last_response_time', Math.floor(s.lastResponseTimeMs));
    m.set('last_latency', Math.floor(s.lastLatencyMs));
    m.set('min_latency', minLat(s));
    m.set('avg_latency', avgLat(s));
    m.set('max_latency', Math.floor(s.maxLatencyMs));
  }
  return m;
}

/** ServerCnxn.resetStats (`crst`). */
export function resetConnectionStats(c: ClientConnection): void {
  const s = c.stats;
  s.packetsReceived = 0;
  s.packetsSent = 0;
  s.minLatencyMs = Number.MAX_SAFE_INTEGER;
  s.maxLatencyMs = 0;
  s.totalLatencyMs = 0;
  s.count = 0;
  s.lastCxid = -1;
  s.lastZxid = -1;
  s.lastResponseTimeMs = 0;
  s.lastLatencyMs = 0;
  s.lastOp = 'NA';
}
