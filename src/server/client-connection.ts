/**
 * What the request pipeline needs from a client connection (Apache ZooKeeper's ServerCnxn).
 * The TCP shell implements it; tests and the simulator can implement it in memory.
 */
import type { IdValue } from '../jute/records';

export interface ReplyBody {
  /** Appends the reply record's bytes. */
  encode(w: import('../jute/codec').JuteWriter): void;
}

export interface ConnectionStats {
  packetsReceived: number;
  packetsSent: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  totalLatencyMs: number;
  count: number;
  lastCxid: number;
  lastZxid: number;
  lastResponseTimeMs: number;
  lastLatencyMs: number;
  lastOp: string;
  establishedAtMs: number;
}

export interface ClientConnection {
  /** Unique per connection; watches are registered under it. */
  readonly id: number;
  sessionId: bigint;
  sessionTimeoutMs: number;
  /** The peer address as Java prints it (InetAddress.getHostAddress). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Ids this connection has authenticated as; starts with ip:<address>. */
  /** Replaced, never mutated, when an auth adds ids. */
  authInfo: readonly IdValue[];
  readonly stats: ConnectionStats;
  /** Outstanding requests of this connection (received, not yet answered). */
  outstanding: number;
  /** Sends ReplyHeader(xid, zxid, err) followed by `body` when there is one. */
  sendReply(xid: number, zxid: number, err: number, body: ReplyBody | null): void;
  /** Sends a watch notification (xid -1, zxid -1). */
  sendNotification(type: number, state: number, path: string): void;
  /** Sends the ConnectResponse that finishes the handshake; closes the connection when invalid. */
  finishSessionInit(valid: boolean, passwd: Buffer): void;
  /** Closes after what is queued has been written (ServerCnxn.sendCloseSession). */
  closeAfterFlush(reason: string): void;
  /** Closes now. */
  close(reason: string): void;
  readonly closed: boolean;
}

export function newConnectionStats(nowMs: number): ConnectionStats {
  return {
    packetsReceived: 0,
    packetsSent: 0,
    minLatencyMs: Number.MAX_SAFE_INTEGER,
    maxLatencyMs: 0,
    totalLatencyMs: 0,
    count: 0,
    lastCxid: -1,
    lastZxid: -1,
    lastResponseTimeMs: 0,
    lastLatencyMs: 0,
    lastOp: 'NA',
    establishedAtMs: nowMs,
  };
}
