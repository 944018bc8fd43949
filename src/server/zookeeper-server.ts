/**
 * The standalone server core (Apache ZooKeeper's ZooKeeperServer): sessions, the handshake, and
 * the request pipeline, assembled here in one place:
 *
 *     submit ─► prepare ─► log (append, group-commit sync) ─► apply + reply, in arrival order
 *
 * Reads and pings take the same path without a txn, so a session's reads never overtake its
 * writes. The log stage is injected: the durable file log in production, an in-memory twin in
 * tests. Clocks are injected too; the core owns no timer, socket or file.
 */
import { JuteReader } from '../jute/codec';
import * as R from '../jute/records';
import { Err, OpCode, VALID_CLIENT_OPCODES } from '../protocol/constants';
import { codeName } from '../protocol/keeper-error';
import { authenticate, orderAuthInfo, type AuthOptions } from '../tree/acl';
import { DataTree, type ProcessTxnResult } from '../tree/data-tree';
import { EphemeralKind, ephemeralKindOf, ttlOf } from '../tree/ephemeral-type';
import type { Txn } from '../tree/txn';
import type { ClientConnection } from './client-connection';
import { FinalStage } from './final';
import { OutstandingChanges } from './outstanding-changes';
import { PrepStage } from './prep';
import { newRequest, type Request } from './request';
import { ServerStats } from './server-stats';
import { generatePassword, checkPassword } from './session-password';
import { SessionTracker } from './session-tracker';

/** The log stage: makes txns durable, in order, and says when each one is. */
export interface LogStage {
  /** Queues a txn; `done` runs once it is durable (or `failed` with the error). */
  append(txn: Txn, done: () => void, failed: (e: Error) => void): void;
}

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export interface Clock {
  /** Monotonic milliseconds (System.nanoTime / 1e6 in Java). */
  monoNowMs(): number;
  /** Wall-clock milliseconds, for txn and znode times. */
  wallNowMs(): number;
}

export interface ServerOptions {
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  serverId: number;
  auth: AuthOptions;
  enforceQuota: boolean;
  reconfigEnabled: boolean;
  globalOutstandingLimit: number;
  containerMaxNeverUsedIntervalMs: number;
  /** zookeeper.digest.enabled, for a tree the server builds itself (default true). */
  digestEnabled?: boolean;
}

interface PipelineItem {
  req: Request;
  ready: boolean;
}

export function hexSessionId(id: bigint): string {
  return '0x' + BigInt.asUintN(64, id).toString(16);
}

export class ZooKeeperServer {
  readonly tree: DataTree;
  readonly sessions: SessionTracker;
  readonly stats = new ServerStats();
  private readonly changes = new OutstandingChanges();
  private readonly prep: PrepStage;
  private readonly final: FinalStage;
  private readonly pipeline: PipelineItem[] = [];
  private pipelineHead = 0;
  /** The last zxid handed out by prepare (hzxid in Apache ZooKeeper). */
  private hzxid: number;
  private readonly connections = new Map<number, ClientConnection>();
  /** Connections waiting for the pipeline to drain below the outstanding limit. */
  private readonly throttled = new Set<() => void>();
  private draining = false;
  state: 'running' | 'shutdown' = 'running';
  /** Called after each applied txn (persistence hooks, metrics). */
  onApplied: ((req: Request, rc: ProcessTxnResult) => void) | null = null;

  constructor(
    readonly opts: ServerOptions,
    private readonly log: LogStage,
    readonly clock: Clock,
    private readonly logger: Logger,
    tree?: DataTree,
  ) {
    this.tree = tree ?? new DataTree({ digestEnabled: opts.digestEnabled ?? true });
    // The tree stays free of metrics; it reports namespace volumes through this narrow sink.
    const readPerNamespace = this.stats.metrics.summarySet('read_per_namespace');
    const writePerNamespace = this.stats.metrics.summarySet('write_per_namespace');
    this.tree.namespaceStats = {
      read: (ns, bytes) => readPerNamespace.add(ns, bytes),
      write: (ns, bytes) => writePerNamespace.add(ns, bytes),
    };
    this.hzxid = this.tree.lastProcessedZxid;
    this.sessions = new SessionTracker(opts.tickTimeMs, opts.serverId, clock.monoNowMs());
    this.prep = new PrepStage({
      tree: this.tree,
      sessions: this.sessions,
      changes: this.changes,
      auth: opts.auth,
      enforceQuota: opts.enforceQuota,
      reconfigEnabled: opts.reconfigEnabled,
      nextZxid: () => ++this.hzxid,
      wallNowMs: () => clock.wallNowMs(),
      onUserError: (req, e) => {
        if (e.code > Err.APIERROR) return;
        this.logger.info(
          { sessionId: hexSessionId(req.sessionId), cxid: req.cxid, type: req.type, path: e.path, err: codeName(e.code) },
          'Got user-level KeeperException when processing request',
        );
      },
    });
    this.final = new FinalStage({
      tree: this.tree,
      sessions: this.sessions,
      changes: this.changes,
      auth: opts.auth,
      stats: this.stats,
      monoNowMs: () => clock.monoNowMs(),
      connectionById: (id) => this.connections.get(id),
      closeSessionConnections: (sid, reason) => this.closeConnectionsOfSession(sid, reason),
      onSessionCreated: (req) => this.finishSessionInit(req),
      onApplied: (req, rc) => this.onApplied?.(req, rc),
    });
  }

  /** The zxid of the last txn applied. */
  lastZxid(): number {
    return this.tree.lastProcessedZxid;
  }

  outstandingRequests(): number {
    return this.pipeline.length - this.pipelineHead;
  }

  // ---- connections --------------------------------------------------------------------------

  registerConnection(c: ClientConnection): void {
    this.connections.set(c.id, c);
  }

  /** A connection went away: its watches go with it; its session lives on until it expires. */
  unregisterConnection(c: ClientConnection): void {
    this.connections.delete(c.id);
    this.tree.removeWatcher(c.id);
  }

  allConnections(): IterableIterator<ClientConnection> {
    return this.connections.values();
  }

  private closeConnectionsOfSession(sessionId: bigint, reason: string): void {
    for (const c of this.connections.values()) {
      if (c.sessionId === sessionId) c.closeAfterFlush(reason);
    }
  }

  /**
   * ZooKeeperServer.processConnectRequest. Returns an error string when the connection must be
   * closed without an answer.
   */
  processConnectRequest(cnxn: ClientConnection, frame: Buffer): string | null {
    const r = new JuteReader(frame);
    const req = R.ConnectRequest.decode(r);
    if (r.remaining() > 0) r.boolean(); // readOnly: this server is never read-only
    if (req.lastZxidSeen > this.tree.lastProcessedZxid) {
      return (
        `Refusing session request for client ${cnxn.remoteAddress}:${cnxn.remotePort} as it has seen zxid 0x` +
        `${req.lastZxidSeen.toString(16)} our last zxid is 0x${this.tree.lastProcessedZxid.toString(16)} client must try another server`
      );
    }
    let timeout = req.timeOut;
    if (timeout < this.opts.minSessionTimeoutMs) timeout = this.opts.minSessionTimeoutMs;
    if (timeout > this.opts.maxSessionTimeoutMs) timeout = this.opts.maxSessionTimeoutMs;
    cnxn.sessionTimeoutMs = timeout;
    const now = this.clock.monoNowMs();
    if (req.sessionId === 0n) {
      const id = this.sessions.createSession(timeout, now);
      cnxn.sessionId = id;
      const body = Buffer.alloc(4);
      body.writeInt32BE(timeout);
      const sreq = newRequest(cnxn, id, 0, OpCode.createSession, body, cnxn.authInfo, now);
      sreq.sessionTimeoutMs = timeout;
      cnxn.outstanding++;
      this.submit(sreq);
    } else {
      const id = req.sessionId;
      for (const other of this.connections.values()) {
        if (other !== cnxn && other.sessionId === id) other.close('the client reconnected on another connection');
      }
      cnxn.sessionId = id;
      const valid = checkPassword(id, req.passwd) && this.sessions.touchSession(id, timeout, now);
      if (!valid) {
        this.logger.info({ sessionId: hexSessionId(id), client: cnxn.remoteAddress }, 'Invalid session, probably expired');
      }
      cnxn.finishSessionInit(valid, valid ? generatePassword(id) : Buffer.alloc(16));
    }
    return null;
  }

  private finishSessionInit(req: Request): void {
    const cnxn = req.cnxn;
    if (cnxn === null) return;
    this.logger.info(
      { sessionId: hexSessionId(req.sessionId), timeoutMs: cnxn.sessionTimeoutMs, client: `${cnxn.remoteAddress}:${cnxn.remotePort}` },
      'Established session',
    );
    cnxn.finishSessionInit(true, generatePassword(req.sessionId));
  }

  /**
   * ZooKeeperServer.processPacket: one framed request after the handshake. `header` is already
   * decoded; `body` is the rest of the frame.
   */
  processPacket(cnxn: ClientConnection, xid: number, type: number, body: Buffer): void {
    const now = this.clock.monoNowMs();
    this.stats.packetsReceived++;
    if (type === OpCode.auth) {
      this.processAuth(cnxn, xid, body);
      return;
    }
    if (type === OpCode.sasl) {
      // No SASL provider is configured: Apache ZooKeeper answers OK with a null token.
      cnxn.sendReply(xid, 0, Err.OK, { encode: (w) => R.SetSASLResponse.encode(w, { token: null }) });
      return;
    }
    this.sessions.touchSession(cnxn.sessionId, cnxn.sessionTimeoutMs, now);
    if (!VALID_CLIENT_OPCODES.has(type)) {
      this.logger.warn({ type, client: cnxn.remoteAddress }, 'Received packet at server of unknown type');
      // UnimplementedRequestProcessor answers with the request's own zxid, which a client
      // request never got: -1.
      cnxn.sendReply(xid, -1, Err.UNIMPLEMENTED, null);
      cnxn.closeAfterFlush(`unknown request type ${type}`);
      return;
    }
    cnxn.outstanding++;
    this.submit(newRequest(cnxn, cnxn.sessionId, xid, type, body, cnxn.authInfo, now));
  }

  private processAuth(cnxn: ClientConnection, xid: number, body: Buffer): void {
    // An AuthPacket that does not decode is an I/O error in Apache ZooKeeper: the connection
    // closes with no reply. The JuteError reaches the connection, which closes.
    const p = R.AuthPacket.deserialize(body);
    const scheme = p.scheme;
    // DigestAuthenticationProvider fails (a caught NullPointerException) on null auth data.
    const ids = p.auth === null && scheme === 'digest' ? null : authenticate(p.scheme, p.auth, cnxn.remoteAddress, this.opts.auth);
    if (ids !== null) {
      // Copy on write: requests already in the pipeline keep the ids they were sent with.
      const next = [...cnxn.authInfo];
      for (const id of ids) {
        if (!next.some((a) => a.scheme === id.scheme && a.id === id.id)) next.push(id);
      }
      cnxn.authInfo = orderAuthInfo(next);
      this.logger.info({ sessionId: hexSessionId(cnxn.sessionId), scheme, client: cnxn.remoteAddress }, 'auth success');
      cnxn.sendReply(xid, 0, Err.OK, null);
    } else {
      this.stats.authFailedCount++;
      this.logger.warn({ scheme, client: cnxn.remoteAddress }, 'Authentication failed: no provider for scheme');
      cnxn.sendReply(xid, 0, Err.AUTHFAILED, null);
      cnxn.closeAfterFlush('authentication failed');
    }
  }

  // ---- the pipeline -------------------------------------------------------------------------

  /** Puts a request into the pipeline. */
  submit(req: Request): void {
    if (this.state !== 'running') {
      req.cnxn?.close('server is shutting down');
      return;
    }
    this.prep.prepare(req);
    const item: PipelineItem = { req, ready: req.hdr === null };
    this.pipeline.push(item);
    if (req.hdr !== null && req.txn !== null) {
      this.log.append(
        { hdr: req.hdr, body: req.txn },
        () => {
          item.ready = true;
          this.drain();
        },
        (e) => this.fatal(e),
      );
    }
    this.drain();
  }

  /** Applies and answers every request at the head of the pipeline that is ready. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pipelineHead < this.pipeline.length) {
        const item = this.pipeline[this.pipelineHead]!;
        if (!item.ready) break;
        this.pipelineHead++;
        this.final.process(item.req);
      }
      if (this.pipelineHead > 1024 && this.pipelineHead * 2 > this.pipeline.length) {
        this.pipeline.splice(0, this.pipelineHead);
        this.pipelineHead = 0;
      }
    } finally {
      this.draining = false;
    }
    if (this.throttled.size > 0 && this.outstandingRequests() < this.opts.globalOutstandingLimit) {
      const resumes = [...this.throttled];
      this.throttled.clear();
      for (const r of resumes) r();
    }
  }

  /** True when connections should stop reading until the pipeline drains. */
  shouldThrottle(): boolean {
    return this.outstandingRequests() >= this.opts.globalOutstandingLimit;
  }

  whenUnthrottled(resume: () => void): void {
    this.throttled.add(resume);
  }

  private fatal(e: Error): void {
    this.logger.error({ err: e }, 'txn log failed; the server stops serving writes');
    this.shutdown();
  }

  // ---- timers (driven by the shell) ---------------------------------------------------------

  /** Expires sessions whose time is up; returns how long until the next check is due. */
  tickSessions(): number {
    const now = this.clock.monoNowMs();
    for (const s of this.sessions.expire(now)) {
      this.logger.info({ sessionId: hexSessionId(s.id), timeoutMs: s.timeoutMs }, 'Expiring session, timeout exceeded');
      this.closeSession(s.id);
    }
    return this.sessions.waitTimeMs(now);
  }

  /** Submits a closeSession on behalf of the server (expiry). */
  closeSession(sessionId: bigint): void {
    this.submit(newRequest(null, sessionId, 0, OpCode.closeSession, Buffer.alloc(0), [], this.clock.monoNowMs()));
  }

  /**
   * ContainerManager.checkContainers: deletes empty containers that once had children and
   * expired childless TTL nodes. Returns the paths it asked to delete; `limit` bounds one pass.
   */
  checkContainers(limit: number): string[] {
    const wallNow = this.clock.wallNowMs();
    const candidates: string[] = [];
    for (const p of this.tree.containers) {
      const n = this.tree.getNode(p);
      if (n === undefined || (n.childCount > 0)) continue;
      if (n.cversion > 0) candidates.push(p);
      else if (this.opts.containerMaxNeverUsedIntervalMs !== 0 && wallNow - n.mtime > this.opts.containerMaxNeverUsedIntervalMs) candidates.push(p);
    }
    for (const p of this.tree.ttls) {
      const n = this.tree.getNode(p);
      if (n === undefined || (n.childCount > 0)) continue;
      if (ephemeralKindOf(n.ephemeralOwner) !== EphemeralKind.TTL) continue;
      const ttl = ttlOf(n.ephemeralOwner);
      if (ttl !== 0 && wallNow - n.mtime > ttl) candidates.push(p);
    }
    const chosen = candidates.slice(0, Math.max(0, limit));
    for (const p of chosen) {
      this.logger.info({ path: p }, 'Attempting to delete candidate container');
      this.submit(newRequest(null, 0n, 0, OpCode.deleteContainer, Buffer.from(p, 'utf8'), [], this.clock.monoNowMs()));
    }
    return chosen;
  }

  shutdown(): void {
    if (this.state === 'shutdown') return;
    this.state = 'shutdown';
    for (const c of [...this.connections.values()]) c.close('server shutdown');
  }
}

