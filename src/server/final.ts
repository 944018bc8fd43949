/**
 * The apply-and-reply stage (Apache ZooKeeper's FinalRequestProcessor plus
 * ZooKeeperServer.processTxn): applies a request's txn to the tree, serves reads, delivers the
 * watch events a change triggered (before the reply that announces it, so a client always hears
 * of a change before it can read it) and sends the reply. Requests reach it in pipeline order.
 */
import { JuteError, JuteReader, JuteWriter } from '../jute/codec';
import * as R from '../jute/records';
import type { RecordType } from '../jute/schema';
import type { AclValue, StatValue } from '../jute/records';
import { Err, KeeperState, OpCode, Perms, Xid } from '../protocol/constants';
import { KeeperError } from '../protocol/keeper-error';
import { decodeMultiRequest, encodeMultiResponse, type MultiResult } from '../protocol/multi';
import { checkAcl, userOf, type AuthOptions } from '../tree/acl';
import { statOf, type DataTree, type ProcessTxnResult } from '../tree/data-tree';
import type { ClientConnection, ReplyBody } from './client-connection';
import type { OutstandingChanges } from './outstanding-changes';
import type { Request } from './request';
import type { SessionTracker } from './session-tracker';
import type { ServerStats } from './server-stats';

export interface FinalContext {
  readonly tree: DataTree;
  readonly sessions: SessionTracker;
  readonly changes: OutstandingChanges;
  readonly auth: AuthOptions;
  readonly stats: ServerStats;
  monoNowMs(): number;
  /** Finds a live connection by id, to deliver watch events. */
  connectionById(id: number): ClientConnection | undefined;
  /** Closes whatever connection still carries an expired or closed session. */
  closeSessionConnections(sessionId: bigint, reason: string): void;
  /** Called when a createSession txn has been applied: the handshake can be answered. */
  onSessionCreated(req: Request): void;
  /** Called after every applied txn, for persistence hooks and metrics. */
  onApplied?(req: Request, rc: ProcessTxnResult): void;
}

/** A reply record and its value: one small object per reply, no closure. */
class RecordBody<T> implements ReplyBody {
  constructor(
    private readonly type: RecordType<T>,
    private readonly value: T,
  ) {}

  encode(w: JuteWriter): void {
    this.type.encode(w, this.value);
  }
}

function body<T>(type: RecordType<T>, value: T): ReplyBody {
  return new RecordBody(type, value);
}

const EMPTY_BODY_OK = body(R.ErrorResponse, { err: 0 });

export class FinalStage {
  constructor(private readonly ctx: FinalContext) {}

  process(req: Request): void {
    const ctx = this.ctx;
    let rc: ProcessTxnResult | null = null;
    if (req.hdr !== null && req.txn !== null) {
      rc = ctx.tree.processTxn({ hdr: req.hdr, body: req.txn });
      if (req.type === OpCode.createSession && req.txn.type === OpCode.createSession) {
        // The session was tracked at prepare time; nothing more to record in standalone.
      } else if (req.txn.type === OpCode.closeSession) {
        ctx.sessions.removeSession(req.sessionId);
      }
      ctx.changes.applied(req.hdr.zxid);
      ctx.onApplied?.(req, rc);
      if (req.txn.type === OpCode.closeSession && req.cnxn === null) {
        ctx.closeSessionConnections(req.sessionId, 'session expired or closed by the server');
      }
    }
    this.deliverEvents();

    const cnxn = req.cnxn;
    if (cnxn === null) return;
    cnxn.outstanding--;
    // A connection that went away gets no reply, and must not leave watches behind
    // (Apache ZooKeeper ignores watches of a stale connection the same way).
    if (cnxn.closed) return;
    const lastZxid = ctx.tree.lastProcessedZxid;
    let err: number = Err.OK;
    let rsp: ReplyBody | null = null;
    let lastOp = 'NA';
    try {
      if (req.hdr !== null && req.hdr.type === OpCode.error) {
        throw req.exception ?? new KeeperError((req.txn as { record: { err: number } }).record.err);
      }
      if (req.exception !== null && req.type !== OpCode.multi) throw req.exception;
      if (NULL_PATH_FAILS.has(req.type) && firstStringIsNull(req.body)) {
        // A null path (length -1) reads as "" here, but Apache ZooKeeper keeps it null and its
        // lookups fail with a NullPointerException, which the client sees as a marshalling error.
        throw new JuteError('null path');
      }
      switch (req.type) {
        case OpCode.ping:
          this.updateStats(req, 'PING', lastZxid);
          cnxn.sendReply(Xid.PING, lastZxid, 0, null);
          return;
        case OpCode.createSession:
          this.updateStats(req, 'SESS', lastZxid);
          ctx.onSessionCreated(req);
          return;
        case OpCode.multi: {
          lastOp = 'MULT';
          const results: MultiResult[] = [];
          for (const sub of rc!.multiResult!) results.push(multiResultOf(sub));
          rsp = { encode: (w) => encodeMultiResponse(w, results) };
          break;
        }
        case OpCode.multiRead: {
          lastOp = 'MLTR';
          const nullPaths: number[] = [];
          const ops = decodeMultiRequest(new JuteReader(req.body), nullPaths);
          const results: MultiResult[] = [];
          // Set before the loop, as Apache ZooKeeper does: a write op in a multiRead fails the
          // request with MARSHALLINGERROR but the (empty) response still goes out with it.
          rsp = { encode: (w) => encodeMultiResponse(w, results) };
          for (const [i, op] of ops.entries()) {
            // A null path fails the whole request (a NullPointerException in Apache ZooKeeper)
            // with the results gathered so far.
            if (nullPaths.includes(i)) throw new JuteError('null path in a multiRead');
            try {
              if (op.type === OpCode.getChildren) {
                results.push({ type: OpCode.getChildren, children: this.getChildren(op.req.path, op.req.watch, req).children });
              } else if (op.type === OpCode.getData) {
                const d = this.getData(op.req.path, op.req.watch, req);
                results.push({ type: OpCode.getData, data: d.data, stat: d.stat });
              } else {
                throw new JuteError('Invalid type of readOp');
              }
            } catch (e) {
              if (!(e instanceof KeeperError)) throw e;
              results.push({ type: OpCode.error, err: e.code });
            }
          }
          break;
        }
        case OpCode.create:
          lastOp = 'CREA';
          rsp = body(R.CreateResponse, { path: rc!.path! });
          err = rc!.err;
          break;
        case OpCode.create2:
        case OpCode.createTTL:
        case OpCode.createContainer:
          lastOp = 'CREA';
          rsp = body(R.Create2Response, { path: rc!.path!, stat: rc!.stat! });
          err = rc!.err;
          break;
        case OpCode.delete:
        case OpCode.deleteContainer:
          lastOp = 'DELE';
          err = rc!.err;
          break;
        case OpCode.setData:
          lastOp = 'SETD';
          rsp = body(R.SetDataResponse, { stat: rc!.stat! });
          err = rc!.err;
          break;
        case OpCode.setACL:
          lastOp = 'SETA';
          rsp = body(R.SetACLResponse, { stat: rc!.stat! });
          err = rc!.err;
          break;
        case OpCode.closeSession:
          lastOp = 'CLOS';
          err = rc!.err;
          break;
        case OpCode.sync: {
          lastOp = 'SYNC';
          const path = R.SyncRequest.deserialize(req.body).path;
          // A null path is echoed back as null.
          const echoed = (firstStringIsNull(req.body) ? null : path) as string;
          rsp = body(R.SyncResponse, { path: echoed });
          break;
        }
        case OpCode.check:
          lastOp = 'CHEC';
          // A lone check has no stat to return (Apache ZooKeeper fails to serialize one); send the header only.
          rsp = rc!.stat === null ? null : body(R.SetDataResponse, { stat: rc!.stat });
          err = rc!.err;
          break;
        case OpCode.exists: {
          lastOp = 'EXIS';
          const r = R.ExistsRequest.deserialize(req.body);
          if (r.path.includes('\u0000')) throw new KeeperError(Err.BADARGUMENTS);
          const stat = ctx.tree.statNode(r.path, r.watch ? cnxn.id : null);
          rsp = body(R.ExistsResponse, { stat });
          break;
        }
        case OpCode.getData: {
          lastOp = 'GETD';
          const r = R.GetDataRequest.deserialize(req.body);
          const d = this.getData(r.path, r.watch, req);
          rsp = body(R.GetDataResponse, d);
          break;
        }
        case OpCode.setWatches: {
          lastOp = 'SETW';
          const r = R.SetWatches.deserialize(req.body);
          if (hasNullString(req.body, 8, 3)) throw new JuteError('null path in setWatches');
          ctx.tree.setWatches(r.relativeZxid, r.dataWatches, r.existWatches, r.childWatches, [], [], cnxn.id);
          this.deliverEvents();
          break;
        }
        case OpCode.setWatches2: {
          lastOp = 'STW2';
          const r = R.SetWatches2.deserialize(req.body);
          if (hasNullString(req.body, 8, 5)) throw new JuteError('null path in setWatches2');
          ctx.tree.setWatches(
            r.relativeZxid,
            r.dataWatches,
            r.existWatches,
            r.childWatches,
            r.persistentWatches,
            r.persistentRecursiveWatches,
            cnxn.id,
          );
          this.deliverEvents();
          break;
        }
        case OpCode.addWatch: {
          lastOp = 'ADDW';
          const r = R.AddWatchRequest.deserialize(req.body);
          // WatcherMode.fromZooDef rejects any other mode before a watch is added.
          if (r.mode !== 0 && r.mode !== 1) throw new JuteError(`Unsupported mode: ${r.mode}`);
          ctx.tree.addWatch(r.path, cnxn.id, r.mode);
          rsp = EMPTY_BODY_OK;
          break;
        }
        case OpCode.getACL: {
          lastOp = 'GETA';
          const r = R.GetACLRequest.deserialize(req.body);
          const n = ctx.tree.getNode(r.path);
          if (n === undefined) throw new KeeperError(Err.NONODE);
          const acl = ctx.tree.aclOf(n);
          checkAcl(acl, Perms.READ | Perms.ADMIN, req.authInfo, ctx.auth);
          // DataTree.getACL: a copy of the stat, not a read (no per-namespace statistics).
          const stat = statOf(n);
          let shown: AclValue[] = acl;
          try {
            checkAcl(acl, Perms.ADMIN, req.authInfo, ctx.auth);
          } catch (e) {
            if (!(e instanceof KeeperError)) throw e;
            // Without ADMIN a reader sees digest ids with their hashes masked.
            shown = acl.map((a) =>
              a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } } : a,
            );
          }
          rsp = body(R.GetACLResponse, { acl: shown, stat });
          break;
        }
        case OpCode.getChildren: {
          lastOp = 'GETC';
          const r = R.GetChildrenRequest.deserialize(req.body);
          rsp = body(R.GetChildrenResponse, { children: this.getChildren(r.path, r.watch, req).children });
          break;
        }
        case OpCode.getAllChildrenNumber: {
          lastOp = 'GETACN';
          const r = R.GetAllChildrenNumberRequest.deserialize(req.body);
          const n = ctx.tree.getNode(r.path);
          if (n === undefined) throw new KeeperError(Err.NONODE);
          checkAcl(ctx.tree.aclOf(n), Perms.READ, req.authInfo, ctx.auth);
          rsp = body(R.GetAllChildrenNumberResponse, { totalNumber: ctx.tree.getAllChildrenNumber(r.path) });
          break;
        }
        case OpCode.getChildren2: {
          lastOp = 'GETC';
          const r = R.GetChildren2Request.deserialize(req.body);
          const c = this.getChildren(r.path, r.watch, req);
          rsp = body(R.GetChildren2Response, c);
          break;
        }
        case OpCode.checkWatches: {
          lastOp = 'CHKW';
          const r = R.CheckWatchesRequest.deserialize(req.body);
          checkWatcherType(r.type);
          // WatchManager.containsWatcher walks the path with PathParentIterator, which fails on
          // a non-empty path without any '/' (StringIndexOutOfBounds → marshalling error).
          if (r.path !== '' && !r.path.includes('/')) throw new JuteError(`invalid path ${r.path}`);
          if (!ctx.tree.containsWatcher(r.path, r.type, cnxn.id)) throw new KeeperError(Err.NOWATCHER);
          break;
        }
        case OpCode.removeWatches: {
          lastOp = 'REMW';
          const r = R.RemoveWatchesRequest.deserialize(req.body);
          checkWatcherType(r.type);
          if (!ctx.tree.removeWatch(r.path, r.type, cnxn.id)) throw new KeeperError(Err.NOWATCHER);
          break;
        }
        case OpCode.whoAmI:
          lastOp = 'HOMI';
          rsp = body(R.WhoAmIResponse, {
            clientInfo: req.authInfo.map((id) => ({ authScheme: id.scheme, user: userOf(id) })),
          });
          break;
        case OpCode.getEphemerals: {
          lastOp = 'GETE';
          const r = R.GetEphemeralsRequest.deserialize(req.body);
          const all = [...ctx.tree.ephemeralsOf(req.sessionId)];
          const prefix = r.prefixPath;
          const trimmed = prefix.trim();
          const list = trimmed === '' || trimmed === '/' ? all : all.filter((p) => p.startsWith(prefix));
          rsp = body(R.GetEphemeralsResponse, { ephemerals: list });
          break;
        }
        default:
          break;
      }
    } catch (e) {
      // The reply keeps whatever body was set before the failure, as FinalRequestProcessor's
      // does (only multiRead sets one that early).
      if (e instanceof KeeperError) {
        err = e.code;
      } else if (e instanceof JuteError) {
        err = Err.MARSHALLINGERROR;
      } else {
        throw e;
      }
    }
    this.updateStats(req, lastOp, lastZxid);
    cnxn.sendReply(req.cxid, lastZxid, err, rsp);
    if (req.type === OpCode.closeSession) cnxn.closeAfterFlush('client closed the session');
  }

  private getData(path: string, watch: boolean, req: Request): { data: Buffer | null; stat: StatValue } {
    const tree = this.ctx.tree;
    const acl = tree.aclAt(path);
    if (acl === undefined) throw new KeeperError(Err.NONODE);
    checkAcl(acl, Perms.READ, req.authInfo, this.ctx.auth);
    return tree.getData(path, watch ? req.cnxn!.id : null);
  }

  private getChildren(path: string, watch: boolean, req: Request): { children: string[]; stat: StatValue } {
    const tree = this.ctx.tree;
    const acl = tree.aclAt(path);
    if (acl === undefined) throw new KeeperError(Err.NONODE);
    checkAcl(acl, Perms.READ, req.authInfo, this.ctx.auth);
    return tree.getChildren(path, watch ? req.cnxn!.id : null);
  }

  /** Sends every pending watch event to its connection. */
  deliverEvents(): void {
    const tree = this.ctx.tree;
    if (tree.events.length === 0) return;
    const events = tree.events;
    tree.events = [];
    for (const ev of events) {
      const c = this.ctx.connectionById(ev.watcher);
      if (c !== undefined && !c.closed) c.sendNotification(ev.type, KeeperState.SyncConnected, ev.path);
    }
  }

  private updateStats(req: Request, lastOp: string, lastZxid: number): void {
    const cnxn = req.cnxn;
    if (cnxn === null) return;
    const now = this.ctx.monoNowMs();
    const latency = now - req.createdAtMs;
    this.ctx.stats.recordLatency(latency, req.type);
    const s = cnxn.stats;
    s.lastCxid = req.cxid;
    s.lastZxid = lastZxid;
    s.lastOp = lastOp;
    s.lastResponseTimeMs = now;
    s.lastLatencyMs = latency;
    if (latency < s.minLatencyMs) s.minLatencyMs = latency;
    if (latency > s.maxLatencyMs) s.maxLatencyMs = latency;
    s.totalLatencyMs += latency;
    s.count++;
  }
}

/** Read opcodes whose handlers fail on a null path in Apache ZooKeeper. */
const NULL_PATH_FAILS: ReadonlySet<number> = new Set([
  OpCode.exists,
  OpCode.getData,
  OpCode.getChildren,
  OpCode.getChildren2,
  OpCode.getACL,
  OpCode.getAllChildrenNumber,
  OpCode.checkWatches,
]);

/**
 * True when one of `vectors` string vectors starting at `offset` (as in SetWatches after its
 * relativeZxid) holds a null string. Apache ZooKeeper's setWatches fails on one with a
 * NullPointerException, a marshalling error. Call only on a body that decoded.
 */
function hasNullString(b: Buffer, offset: number, vectors: number): boolean {
  let at = offset;
  for (let v = 0; v < vectors; v++) {
    const n = b.readInt32BE(at);
    at += 4;
    // Bounded by the decoded body: each element takes at least 4 bytes.
    for (let i = 0; i < n; i++) {
      const len = b.readInt32BE(at);
      at += 4;
      if (len === -1) return true;
      at += len;
    }
  }
  return false;
}

/** True when a request body starts with a null ustring (length -1): its path is null. */
export function firstStringIsNull(b: Buffer): boolean {
  return b.length >= 4 && b.readInt32BE(0) === -1;
}

function checkWatcherType(t: number): void {
  if (t !== 1 && t !== 2 && t !== 3) throw new JuteError(`Invalid WatcherType ${t}`);
}

function multiResultOf(sub: ProcessTxnResult): MultiResult {
  switch (sub.type) {
    case OpCode.check:
      return { type: OpCode.check };
    case OpCode.create:
      return { type: OpCode.create, path: sub.path! };
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
      return { type: OpCode.create2, path: sub.path!, stat: sub.stat! };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type: OpCode.delete };
    case OpCode.setData:
      return { type: OpCode.setData, stat: sub.stat! };
    case OpCode.error:
      return { type: OpCode.error, err: sub.err };
    default:
      throw new Error(`invalid type of op in multi result: ${sub.type}`);
  }
}
