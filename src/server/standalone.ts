/**
 * The standalone server's I/O shell (ZooKeeperServerMain): builds the core from a ServerConfig,
 * listens on the client port, drives the session and container timers, and shuts down cleanly.
 * Everything stateful lives in ZooKeeperServer; this file only wires sockets and timers to it.
 */
import * as net from 'node:net';
import type { FourLetterWords } from '../admin/four-letter-words';
import { OperatorSurfaces } from '../admin/operator';
import type { ServerContext } from '../admin/server-context';
import type { ServerConfig } from '../config/zoo-cfg';
import { MemoryLog } from '../persistence/memory-log';
import type { DataTree } from '../tree/data-tree';
import { setExtendedTypesEnabled } from '../tree/ephemeral-type';
import { setJuteMaxBuffer } from '../jute/codec';
import type { ClientConnection } from './client-connection';
import { javaHostAddress, TcpConnection } from './tcp-connection';
import { hexSessionId, ZooKeeperServer, type Clock, type LogStage, type Logger } from './zookeeper-server';
import { VERSION_STRING } from './version';

export const systemClock: Clock = {
  monoNowMs: () => performance.timeOrigin + performance.now(),
  wallNowMs: () => Date.now(),
};

export interface StandaloneOptions {
  config: ServerConfig;
  logger: Logger;
  log?: LogStage;
  /** A tree loaded from disk (persistence/database.ts); a fresh one otherwise. */
  tree?: DataTree;
  clock?: Clock;
}

export class StandaloneServer {
  readonly server: ZooKeeperServer;
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<TcpConnection>();
  private readonly perIp = new Map<string, number>();
  private sessionTimer: NodeJS.Timeout | null = null;
  private containerTimer: NodeJS.Timeout | null = null;
  private readonly fourLetterWords: FourLetterWords;
  /** Four-letter words, AdminServer, metrics provider (src/admin/operator.ts). */
  readonly operator: OperatorSurfaces;
  readonly context: ServerContext;
  private stopped = false;

  constructor(private readonly opts: StandaloneOptions) {
    const cfg = opts.config;
    setExtendedTypesEnabled(cfg.extendedTypesEnabled);
    setJuteMaxBuffer(cfg.juteMaxBufferBytes, cfg.props.getInt('zookeeper.jute.maxbuffer.extrasize', cfg.juteMaxBufferBytes));
    this.server = new ZooKeeperServer(
      {
        tickTimeMs: cfg.tickTimeMs,
        minSessionTimeoutMs: cfg.minSessionTimeoutMs,
        maxSessionTimeoutMs: cfg.maxSessionTimeoutMs,
        // Standalone session ids carry server id 1 in their top byte, as in Apache ZooKeeper.
        serverId: 1,
        auth: { superDigest: cfg.superDigest, skipACL: cfg.skipACL },
        enforceQuota: cfg.enforceQuota,
        reconfigEnabled: cfg.reconfigEnabled,
        globalOutstandingLimit: cfg.globalOutstandingLimit,
        containerMaxNeverUsedIntervalMs: cfg.containerMaxNeverUsedIntervalMs,
        digestEnabled: cfg.digestEnabled,
      },
      opts.log ?? new MemoryLog(),
      opts.clock ?? systemClock,
      opts.logger,
      opts.tree,
    );
    const self = this;
    this.context = {
      config: cfg,
      server: this.server,
      logger: opts.logger,
      versionString: VERSION_STRING,
      mode: () => 'standalone',
      isServing: () => self.server.state === 'running',
      connections: () => self.server.allConnections(),
      connectionCount: () => self.connections.size,
      describeConnection: (c, brief) => describeConnection(c, brief),
      clientPort: () => self.port(),
      digestLog: () => self.server.tree.digestLog(),
    };
    this.operator = new OperatorSurfaces(this.context);
    this.fourLetterWords = this.operator.fourLetterWords;
  }

  async start(): Promise<void> {
    const cfg = this.opts.config;
    const log = this.opts.logger;
    log.info(
      {
        clientPort: cfg.clientPort,
        clientPortAddress: cfg.clientPortAddress ?? 'all addresses',
        dataDir: cfg.dataDir,
        dataLogDir: cfg.dataLogDir,
        tickTime: cfg.tickTimeMs,
        minSessionTimeout: cfg.minSessionTimeoutMs,
        maxSessionTimeout: cfg.maxSessionTimeoutMs,
        maxClientCnxns: cfg.maxClientCnxns,
        juteMaxBuffer: cfg.juteMaxBufferBytes,
        extendedTypesEnabled: cfg.extendedTypesEnabled,
      },
      'starting standalone server',
    );
    if (cfg.clientPortAddress !== null) {
      await this.listen(cfg.clientPortAddress, cfg.clientPort, false);
    } else {
      // Every address, IPv4 and IPv6, as Java's wildcard bind does; fall back to IPv4 alone.
      try {
        await this.listen('::', cfg.clientPort, false);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT' && (e as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw e;
        await this.listen('0.0.0.0', cfg.clientPort, false);
      }
    }
    this.scheduleSessionTick(cfg.tickTimeMs);
    const checkInterval = cfg.containerCheckIntervalMs;
    const perPass = Math.max(1, Math.floor((cfg.containerMaxPerMinute * checkInterval) / 60000));
    this.containerTimer = setInterval(() => this.server.checkContainers(perPass), checkInterval);
    this.containerTimer.unref();
    // The AdminServer and the metrics endpoint; failing to bind either is fatal, as in ZooKeeper.
    await this.operator.start();
    log.info({ port: this.port() }, 'binding to port; serving clients');
  }

  /** The port actually bound (clientPort=0 picks a free one, which tests use). */
  port(): number {
    const a = this.listeners[0]?.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  private listen(host: string, port: number, ipv6Only: boolean): Promise<void> {
    const cfg = this.opts.config;
    const srv = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host, port, ipv6Only, backlog: cfg.clientPortListenBacklog > 0 ? cfg.clientPortListenBacklog : 511 }, () => {
        srv.off('error', reject);
        srv.on('error', (e) => this.opts.logger.error({ err: e }, 'client listener error'));
        this.listeners.push(srv);
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    const cfg = this.opts.config;
    const log = this.opts.logger;
    if (this.stopped) {
      socket.destroy();
      return;
    }
    // Java's form of the address: an IPv4 client on the dual-stack socket is 127.0.0.1, not
    // ::ffff:127.0.0.1, in the count key and in the warning (InetAddress.toString: "/addr").
    const ip = javaHostAddress(socket.remoteAddress);
    const count = this.perIp.get(ip) ?? 0;
    if (cfg.maxClientCnxns > 0 && count >= cfg.maxClientCnxns) {
      log.warn({ client: ip, max: cfg.maxClientCnxns }, `Too many connections from /${ip} - max is ${cfg.maxClientCnxns}`);
      socket.destroy();
      return;
    }
    if (cfg.maxCnxns > 0 && this.connections.size >= cfg.maxCnxns) {
      log.warn({ client: ip, max: cfg.maxCnxns }, 'Too many connections - max is ' + cfg.maxCnxns);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, count + 1);
    const c = new TcpConnection(socket, this.server, log, cfg.juteMaxBufferBytes, this.fourLetterWords, (closed) => {
      this.connections.delete(closed);
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
      this.server.unregisterConnection(closed);
      if (closed.sessionId !== 0n) log.debug({ sessionId: hexSessionId(closed.sessionId) }, 'connection closed');
    });
    this.connections.add(c);
    this.server.registerConnection(c);
  }

  private scheduleSessionTick(delayMs: number): void {
    if (this.stopped) return;
    this.sessionTimer = setTimeout(() => {
      const wait = this.server.tickSessions();
      this.scheduleSessionTick(Math.max(1, Math.min(wait, this.opts.config.tickTimeMs)));
    }, delayMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sessionTimer !== null) clearTimeout(this.sessionTimer);
    if (this.containerTimer !== null) clearInterval(this.containerTimer);
    this.server.shutdown();
    for (const c of [...this.connections]) c.close('server shutdown');
    await Promise.all(this.listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
    await this.operator.stop();
    this.opts.logger.info('server stopped');
  }
}

/** ServerCnxn.dumpConnectionInfo. */
export function describeConnection(c: ClientConnection, brief: boolean): string {
  const s = c.stats;
  const addr = c.remoteAddress.includes(':') ? `/${c.remoteAddress}:${c.remotePort}` : `/${c.remoteAddress}:${c.remotePort}`;
  let out = ` ${addr}[1](queued=${c.outstanding},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (!brief && c.sessionId !== 0n) {
    out += `,sid=${hexSessionId(c.sessionId)},lop=${s.lastOp},est=${Math.floor(s.establishedAtMs)},to=${c.sessionTimeoutMs}`;
    if (s.lastCxid >= 0) out += `,lcxid=0x${s.lastCxid.toString(16)}`;
    out += `,lzxid=0x${BigInt.asUintN(64, BigInt(s.lastZxid)).toString(16)},lresp=${Math.floor(s.lastResponseTimeMs)},llat=${s.lastLatencyMs}`;
    const min = s.count === 0 ? 0 : s.minLatencyMs;
    const avg = s.count === 0 ? 0 : s.totalLatencyMs / s.count;
    out += `,minlat=${min},avglat=${Math.floor(avg)},maxlat=${s.maxLatencyMs}`;
  }
  return out + ')';
}
