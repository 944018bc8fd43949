/**
 * The facts several operator surfaces report (four-letter words, AdminServer commands,
 * metrics), computed once here from the ServerContext: directory sizes, session and connection
 * expiry sets, ephemerals, watches, and the gauges of ZooKeeperServer.registerMetrics.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { ClientConnection } from '../server/client-connection';
import { jdouble } from './json-output';
import type { MetricValue } from './metrics-registry';
import type { GaugeName } from './metric-catalog';
import type { ServerContext } from './server-context';

/** Bounds the directory walk of `dirs`/`conf`: a data dir is a few files, never millions. */
const MAX_DIR_ENTRIES = 100_000;

/** ZooKeeperServer.getDirSize: the bytes of every file below `dir`, 0 when it does not exist. */
export function dirSizeBytes(dir: string): number {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  while (stack.length > 0 && seen < MAX_DIR_ENTRIES) {
    const d = stack.pop()!;
    let st;
    try {
      st = statSync(d);
    } catch {
      continue;
    }
    seen++;
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        continue;
      }
      for (const n of names) stack.push(path.join(d, n));
    } else {
      total += st.size;
    }
  }
  return total;
}

/** FileTxnSnapLog's directories: `<dir>/version-2`. */
export function snapDir(ctx: ServerContext): string {
  return path.join(ctx.config.dataDir, 'version-2');
}

export function logDir(ctx: ServerContext): string {
  return path.join(ctx.config.dataLogDir, 'version-2');
}

/**
 * ZooKeeperServer.getDataDirSize / getLogDirSize. Apache ZooKeeper measures the txn log
 * directory for "data dir size" and the snapshot directory for "log dir size"; we keep its
 * naming so that both report the same numbers for the same layout.
 */
export function dirSizes(ctx: ServerContext): { dataDirSize: number; logDirSize: number } {
  return { dataDirSize: dirSizeBytes(logDir(ctx)), logDirSize: dirSizeBytes(snapDir(ctx)) };
}

/**
 * DataTree.getNodeCount: Apache ZooKeeper's node map holds the root twice (under "" and "/"),
 * so every count it reports is one more than the znodes that exist; we report the same number.
 */
export function znodeCount(ctx: ServerContext): number {
  return ctx.server.tree.nodeCount() + 1;
}

export function clientPort(ctx: ServerContext): number {
  return ctx.clientPort?.() ?? ctx.config.clientPort;
}

/** Standalone servers report server id 0, as ZooKeeperServerMain leaves it unset. */
export function serverId(ctx: ServerContext): number {
  return ctx.mode() === 'standalone' ? 0 : ctx.config.myid;
}

/** Converts a monotonic time of the server's clock to wall-clock milliseconds. */
export function monoToWallMs(ctx: ServerContext, monoMs: number): number {
  return Date.now() + (monoMs - ctx.server.clock.monoNowMs());
}

export interface SessionBucket {
  /** The bucket's time on the server's monotonic clock. */
  monoMs: number;
  sessionIds: bigint[];
}

export function sessionBuckets(ctx: ServerContext): SessionBucket[] {
  return ctx.server.sessions.bucketsByTime().map(([t, ss]) => ({ monoMs: t, sessionIds: ss.map((s) => s.id) }));
}

/** NIOServerCnxnFactory's connection expiry queue: 10 s buckets by last activity plus timeout. */
const CNXN_EXPIRY_INTERVAL_MS = 10_000;

export function connectionBuckets(ctx: ServerContext): { monoMs: number; connections: ClientConnection[] }[] {
  const buckets = new Map<number, ClientConnection[]>();
  for (const c of ctx.connections()) {
    const s = c.stats;
    const last = Math.max(s.establishedAtMs, s.lastResponseTimeMs);
    const timeout = c.sessionTimeoutMs > 0 ? c.sessionTimeoutMs : CNXN_EXPIRY_INTERVAL_MS;
    const at = (Math.floor((last + timeout) / CNXN_EXPIRY_INTERVAL_MS) + 1) * CNXN_EXPIRY_INTERVAL_MS;
    let b = buckets.get(at);
    if (b === undefined) {
      b = [];
      buckets.set(at, b);
    }
    b.push(c);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([monoMs, connections]) => ({ monoMs, connections }));
}

export function ephemerals(ctx: ServerContext): [bigint, string[]][] {
  return [...ctx.server.tree.ephemeralSessions()].map(([sid, paths]) => [sid, [...paths]]);
}

function connectionsById(ctx: ServerContext): Map<number, ClientConnection> {
  const m = new Map<number, ClientConnection>();
  for (const c of ctx.connections()) m.set(c.id, c);
  return m;
}

/**
 * Data watches by connection, as WatchManager.dumpWatches(false) lists them: the session id
 * of each watching connection and its paths. Apache ZooKeeper reports data watches only.
 */
export function watchesByConnection(ctx: ServerContext): [bigint, string[]][] {
  const byId = connectionsById(ctx);
  const out: [bigint, string[]][] = [];
  for (const [watcher, paths] of ctx.server.tree.dataWatches.byWatcherEntries()) {
    const c = byId.get(watcher);
    out.push([c?.sessionId ?? 0n, [...paths]]);
  }
  return out;
}

export function watchesByPath(ctx: ServerContext): [string, bigint[]][] {
  const byId = connectionsById(ctx);
  const out: [string, bigint[]][] = [];
  for (const [p, watchers] of ctx.server.tree.dataWatches.byPathEntries()) {
    out.push([p, [...watchers].map((w) => byId.get(w)?.sessionId ?? 0n)]);
  }
  return out;
}

export function watchSummary(ctx: ServerContext): { connections: number; paths: number; total: number } {
  const w = ctx.server.tree.dataWatches;
  return { connections: w.watcherCount(), paths: w.pathCount(), total: w.size() };
}

function openFileDescriptors(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

function maxFileDescriptors(): number | null {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (m === null) return null;
    return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number.parseInt(m[1]!, 10);
  } catch {
    return null;
  }
}

/**
 * ZooKeeperServer.registerMetrics: the gauges, read when asked. The file descriptor gauges
 * exist only where the platform can tell (Java registers them on Unix only).
 */
export function gauges(ctx: ServerContext): [GaugeName, () => MetricValue | null][] {
  const srv = ctx.server;
  const st = srv.stats;
  const list: [GaugeName, () => MetricValue | null][] = [
    ['ephemerals_count', () => srv.tree.ephemeralCount()],
    ['num_alive_connections', () => ctx.connectionCount()],
    ['avg_latency', () => jdouble(st.avgLatency())],
    ['outstanding_requests', () => srv.outstandingRequests()],
    ['znode_count', () => znodeCount(ctx)],
    ['global_sessions', () => srv.sessions.count()],
    ['non_mtls_remote_conn_count', () => st.nonMtlsRemoteConnCount],
    ['last_client_response_size', () => st.clientResponse.lastBufferSize],
    ['packets_sent', () => st.packetsSent],
    ['packets_received', () => st.packetsReceived],
    ['max_client_response_size', () => st.clientResponse.maxBufferSize],
    ['connection_drop_probability', () => jdouble(0)],
    ['watch_count', () => srv.tree.watchCount()],
    ['auth_failed_count', () => st.authFailedCount],
    ['min_latency', () => st.minLatency()],
    ['max_file_descriptor_count', maxFileDescriptors],
    ['approximate_data_size', () => srv.tree.approximateDataSize()],
    ['open_file_descriptor_count', openFileDescriptors],
    ['local_sessions', () => 0],
    ['uptime', () => st.uptimeMs()],
    ['max_latency', () => st.maxLatencyMs],
    ['outstanding_tls_handshake', () => 0],
    ['min_client_response_size', () => st.clientResponse.minBufferSize],
    ['non_mtls_local_conn_count', () => st.nonMtlsLocalConnCount],
  ];
  if (openFileDescriptors() === null) return list.filter(([n]) => n !== 'open_file_descriptor_count' && n !== 'max_file_descriptor_count');
  return list;
}
