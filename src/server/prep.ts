/**
 * The prepare stage (Apache ZooKeeper's PrepRequestProcessor): validates a write, checks its
 * ACL, version and quota against the tree as outstanding changes leave it, assigns the zxid and
 * turns it into a txn. A failed write still becomes a txn, an error txn, so that every write
 * keeps its place in the zxid order and its reply comes back in turn. Reads only get their
 * session checked here. Pure: time and zxids come from the context.
 */
import { JuteError, JuteReader } from '../jute/codec';
import * as R from '../jute/records';
import type { AclValue } from '../jute/records';
import { CreateFlag, Err, OpCode, Perms } from '../protocol/constants';
import { KeeperError } from '../protocol/keeper-error';
import { decodeMultiRequest, type MultiOp } from '../protocol/multi';
import { checkAcl, fixupAcl, type AuthOptions } from '../tree/acl';
import type { DataTree } from '../tree/data-tree';
import {
  CONTAINER_EPHEMERAL_OWNER,
  EphemeralKind,
  TTL_EPHEMERAL_MASK,
  ephemeralKindOf,
  isExtendedTypesEnabled,
  ttlIsValid,
} from '../tree/ephemeral-type';
import { pathProblem } from '../tree/paths';
import { QUOTA_ROOT, LIMIT_NODE, STAT_NODE, limitsOf, parseStats } from '../tree/quota';
import type { TxnBody } from '../tree/txn';
import { duplicateChange, type ChangeRecord, type OutstandingChanges } from './outstanding-changes';
import type { RecordType } from '../jute/schema';
import { firstStringIsNull } from './final';
import type { Request } from './request';
import type { SessionTracker } from './session-tracker';

export interface PrepContext {
  readonly tree: DataTree;
  readonly sessions: SessionTracker;
  readonly changes: OutstandingChanges;
  readonly auth: AuthOptions;
  readonly enforceQuota: boolean;
  readonly reconfigEnabled: boolean;
  nextZxid(): number;
  wallNowMs(): number;
  /** Logs a user-level failure the way PrepRequestProcessor does (info). */
  onUserError?(req: Request, e: KeeperError): void;
}

interface CreateMode {
  readonly ephemeral: boolean;
  readonly sequential: boolean;
  readonly container: boolean;
  readonly ttl: boolean;
}

const mode = (ephemeral: boolean, sequential: boolean, container: boolean, ttl: boolean): CreateMode =>
  Object.freeze({ ephemeral, sequential, container, ttl });
const PERSISTENT = mode(false, false, false, false);
const EPHEMERAL = mode(true, false, false, false);
const PERSISTENT_SEQUENTIAL = mode(false, true, false, false);
const EPHEMERAL_SEQUENTIAL = mode(true, true, false, false);
const CONTAINER = mode(false, false, true, false);
const PERSISTENT_WITH_TTL = mode(false, false, false, true);
const PERSISTENT_SEQUENTIAL_WITH_TTL = mode(false, true, false, true);

function createModeOf(flags: number): CreateMode {
  switch (flags) {
    case CreateFlag.PERSISTENT:
      return PERSISTENT;
    case CreateFlag.EPHEMERAL:
      return EPHEMERAL;
    case CreateFlag.PERSISTENT_SEQUENTIAL:
      return PERSISTENT_SEQUENTIAL;
    case CreateFlag.EPHEMERAL_SEQUENTIAL:
      return EPHEMERAL_SEQUENTIAL;
    case CreateFlag.CONTAINER:
      return CONTAINER;
    case CreateFlag.PERSISTENT_WITH_TTL:
      return PERSISTENT_WITH_TTL;
    case CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL:
      return PERSISTENT_SEQUENTIAL_WITH_TTL;
    default:
      throw new KeeperError(Err.BADARGUMENTS);
  }
}

function checkAndIncVersion(current: number, expected: number, path: string): number {
  if (expected !== -1 && expected !== current) throw new KeeperError(Err.BADVERSION, path);
  return current + 1;
}

export class PrepStage {
  constructor(private readonly ctx: PrepContext) {}

  /** Prepares one request in place: sets hdr/txn, or exception (with an error txn for writes). */
  prepare(req: Request): void {
    const ctx = this.ctx;
    try {
      switch (req.type) {
        case OpCode.create:
        case OpCode.create2:
        case OpCode.createContainer: {
          const rec = R.CreateRequest.deserialize(req.body);
          this.toTxn(req.type, ctx.nextZxid(), req, { ...rec, ttl: -1 });
          break;
        }
        case OpCode.createTTL:
          this.toTxn(req.type, ...this.decodeThenZxid(req, R.CreateTTLRequest));
          break;
        case OpCode.delete:
          this.toTxn(req.type, ...this.decodeThenZxid(req, R.DeleteRequest));
          break;
        case OpCode.deleteContainer:
          this.toTxn(req.type, ctx.nextZxid(), req, { path: req.body.toString('utf8') });
          break;
        case OpCode.setData:
          this.toTxn(req.type, ...this.decodeThenZxid(req, R.SetDataRequest));
          break;
        case OpCode.reconfig:
          this.toTxn(req.type, ...this.decodeThenZxid(req, R.ReconfigRequest));
          break;
        case OpCode.setACL:
          this.toTxn(req.type, ...this.decodeThenZxid(req, R.SetACLRequest));
          break;
        case OpCode.check:
          this.toTxn(req.type, ...this.decodeThenZxid(req, R.CheckVersionRequest));
          break;
        case OpCode.multi:
          this.prepareMulti(req);
          break;
        case OpCode.createSession:
        case OpCode.closeSession:
          this.toTxn(req.type, ctx.nextZxid(), req, null);
          break;
        default:
          // Reads, pings, watches and whoAmI create no txn; they only need a live session.
          ctx.sessions.checkSession(req.sessionId);
          break;
      }
    } catch (e) {
      if (e instanceof KeeperError) {
        if (req.hdr !== null) {
          req.hdr.type = OpCode.error;
          req.txn = { type: OpCode.error, record: { err: e.code } };
        }
        req.exception = e;
        ctx.onUserError?.(req, e);
      } else if (e instanceof JuteError) {
        // A record we could not decode: the reply is a marshalling error, as in Apache ZooKeeper.
        if (req.hdr === null && isTxnType(req.type)) req.hdr = this.header(req, ctx.nextZxid(), req.type);
        if (req.hdr !== null) {
          req.hdr.type = OpCode.error;
          req.txn = { type: OpCode.error, record: { err: Err.MARSHALLINGERROR } };
        }
        req.exception = new KeeperError(Err.MARSHALLINGERROR);
      } else {
        throw e;
      }
    }
  }

  /**
   * Decodes the request record before taking a zxid: when the record does not decode, the catch
   * in prepare takes the one zxid of the error txn. (Taking it first, as an argument evaluated
   * before the decode, left a zxid that no txn ever used.)
   */
  private decodeThenZxid<T>(req: Request, type: RecordType<T>): [number, Request, T] {
    const rec = type.deserialize(req.body);
    return [this.ctx.nextZxid(), req, rec];
  }

  private header(req: Request, zxid: number, type: number): R.TxnHeaderValue {
    return { clientId: req.sessionId, cxid: req.cxid, zxid, time: this.ctx.wallNowMs(), type };
  }

  private recordFor(path: string): ChangeRecord {
    const c = this.ctx.changes.recordFor(path, this.ctx.tree);
    if (c === null) throw new KeeperError(Err.NONODE, path);
    return c;
  }

  private validatePath(path: string): void {
    if (pathProblem(path) !== null) throw new KeeperError(Err.BADARGUMENTS, path);
  }

  private parentPathAndValidate(path: string): string {
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\u0000') || this.ctx.tree.isSpecialPath(path)) {
      throw new KeeperError(Err.BADARGUMENTS, path);
    }
    return path.substring(0, lastSlash);
  }

  private checkAcl(acl: readonly AclValue[], perm: number, req: Request): void {
    checkAcl(acl, perm, req.authInfo, this.ctx.auth);
  }

  /** PrepRequestProcessor.pRequest2Txn. `rec` is the decoded request record. */
  private toTxn(type: number, zxid: number, req: Request, rec: any): void {
    const ctx = this.ctx;
    if (req.hdr === null) req.hdr = this.header(req, zxid, type);
    const hdr = req.hdr;
    switch (type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createTTL:
      case OpCode.createContainer:
        this.createToTxn(type, req, rec);
        return;
      case OpCode.deleteContainer: {
        const path: string = rec.path;
        // Apache ZooKeeper reads a deleteContainer's path from the whole backing array of the
        // request buffer; for a client's request that array is the entire frame, header
        // included, so the "path" starts with the xid and holds the NUL bytes of the opcode:
        // it is always invalid. Only the container manager's own requests can succeed.
        if (req.cnxn !== null) throw new KeeperError(Err.BADARGUMENTS, path);
        const parentPath = this.parentPathAndValidate(path);
        const node = this.recordFor(path);
        if (node.childCount > 0) throw new KeeperError(Err.NOTEMPTY, path);
        if (ephemeralKindOf(node.stat!.ephemeralOwner) === EphemeralKind.NORMAL) throw new KeeperError(Err.BADVERSION, path);
        const parent = this.recordFor(parentPath);
        req.txn = { type: OpCode.deleteContainer, record: { path } };
        this.addDeleteChanges(parent, path, hdr.zxid);
        return;
      }
      case OpCode.delete: {
        ctx.sessions.checkSession(req.sessionId);
        const path: string = rec.path;
        if (req.type === OpCode.delete && firstStringIsNull(req.body)) throw new JuteError('null path');
        const parentPath = this.parentPathAndValidate(path);
        const parent = this.recordFor(parentPath);
        this.checkAcl(parent.acl, Perms.DELETE, req);
        const node = this.recordFor(path);
        checkAndIncVersion(node.stat!.version, rec.version, path);
        if (node.childCount > 0) throw new KeeperError(Err.NOTEMPTY, path);
        req.txn = { type: OpCode.delete, record: { path } };
        this.addDeleteChanges(parent, path, hdr.zxid);
        return;
      }
      case OpCode.setData: {
        ctx.sessions.checkSession(req.sessionId);
        const path: string = rec.path;
        this.validatePath(path);
        const node = this.recordFor(path);
        this.checkAcl(node.acl, Perms.WRITE, req);
        this.checkQuota(path, node.data, rec.data, OpCode.setData);
        const newVersion = checkAndIncVersion(node.stat!.version, rec.version, path);
        req.txn = { type: OpCode.setData, record: { path, data: rec.data, version: newVersion } };
        const c = duplicateChange(node, hdr.zxid);
        c.stat!.version = newVersion;
        c.stat!.mtime = hdr.time;
        c.stat!.mzxid = zxid;
        c.data = rec.data;
        ctx.changes.add(c);
        return;
      }
      case OpCode.reconfig:
        if (!ctx.reconfigEnabled) throw new KeeperError(Err.RECONFIGDISABLED);
        ctx.sessions.checkSession(req.sessionId);
        // Standalone: reconfiguration is not supported (quorum roles override this stage).
        throw new KeeperError(Err.UNIMPLEMENTED);
      case OpCode.setACL: {
        ctx.sessions.checkSession(req.sessionId);
        const path: string = rec.path;
        this.validatePath(path);
        const acl = fixupAcl(path, req.authInfo, rec.acl);
        const node = this.recordFor(path);
        this.checkAcl(node.acl, Perms.ADMIN, req);
        const newVersion = checkAndIncVersion(node.stat!.aversion, rec.version, path);
        req.txn = { type: OpCode.setACL, record: { path, acl, version: newVersion } };
        const c = duplicateChange(node, hdr.zxid);
        c.stat!.aversion = newVersion;
        ctx.changes.add(c);
        return;
      }
      case OpCode.createSession:
        req.txn = { type: OpCode.createSession, record: { timeOut: req.sessionTimeoutMs ?? 0 } };
        return;
      case OpCode.closeSession: {
        const es = ctx.tree.ephemeralsOf(req.sessionId);
        for (const c of ctx.changes.pending()) {
          if (c.stat === null) es.delete(c.path);
          else if (c.stat.ephemeralOwner === req.sessionId) es.add(c.path);
        }
        for (const p of es) {
          ctx.changes.add({ zxid: hdr.zxid, path: p, stat: null, childCount: 0, acl: [], data: null });
        }
        req.txn = { type: OpCode.closeSession, record: { paths2Delete: [...es] } };
        ctx.sessions.setClosing(req.sessionId);
        return;
      }
      case OpCode.check: {
        ctx.sessions.checkSession(req.sessionId);
        const path: string = rec.path;
        this.validatePath(path);
        const node = this.recordFor(path);
        this.checkAcl(node.acl, Perms.READ, req);
        req.txn = { type: OpCode.check, record: { path, version: checkAndIncVersion(node.stat!.version, rec.version, path) } };
        return;
      }
      default:
        throw new Error(`toTxn: not a txn type ${type}`);
    }
  }

  private addDeleteChanges(parent: ChangeRecord, path: string, zxid: number): void {
    const p = duplicateChange(parent, zxid);
    p.childCount--;
    p.stat!.pzxid = zxid;
    this.ctx.changes.add(p);
    this.ctx.changes.add({ zxid, path, stat: null, childCount: -1, acl: [], data: null });
  }

  private createToTxn(type: number, req: Request, rec: R.Value<typeof R.CreateTTLRequest>): void {
    const ctx = this.ctx;
    const hdr = req.hdr!;
    const mode = createModeOf(rec.flags);
    const ttl = type === OpCode.createTTL ? rec.ttl : -1;
    // validateCreateRequest
    if (mode.ttl && !isExtendedTypesEnabled()) throw new KeeperError(Err.UNIMPLEMENTED);
    if (!ttlIsValid(mode.ttl, ttl)) throw new KeeperError(Err.BADARGUMENTS, rec.path);
    if (type === OpCode.createTTL && !mode.ttl) throw new KeeperError(Err.BADARGUMENTS, rec.path);
    if (mode.ephemeral) ctx.sessions.checkGlobalSession(req.sessionId);
    else ctx.sessions.checkSession(req.sessionId);
    // validatePathForCreate; a null path (read as "") makes Apache ZooKeeper's fail with a
    // NullPointerException: a marshalling error, still as an error txn.
    if (req.type !== OpCode.multi && firstStringIsNull(req.body)) throw new JuteError('null path');
    let path = rec.path;
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\u0000')) throw new KeeperError(Err.BADARGUMENTS, path);
    const parentPath = path.substring(0, lastSlash);
    const acl = fixupAcl(path, req.authInfo, rec.acl);
    const parent = this.recordFor(parentPath);
    this.checkAcl(parent.acl, Perms.CREATE, req);
    const parentCVersion = parent.stat!.cversion;
    if (mode.sequential) path = path + String(parentCVersion).padStart(10, '0');
    this.validatePath(path);
    if (ctx.changes.recordFor(path, ctx.tree) !== null) throw new KeeperError(Err.NODEEXISTS, path);
    if (ephemeralKindOf(parent.stat!.ephemeralOwner) === EphemeralKind.NORMAL) {
      throw new KeeperError(Err.NOCHILDRENFOREPHEMERALS, path);
    }
    const newCversion = parentCVersion + 1;
    this.checkQuota(path, null, rec.data, OpCode.create);
    let body: TxnBody;
    if (type === OpCode.createContainer) {
      body = { type, record: { path, data: rec.data, acl, parentCVersion: newCversion } };
    } else if (type === OpCode.createTTL) {
      body = { type, record: { path, data: rec.data, acl, parentCVersion: newCversion, ttl } };
    } else {
      body = {
        type: type as typeof OpCode.create | typeof OpCode.create2,
        record: { path, data: rec.data, acl, ephemeral: mode.ephemeral, parentCVersion: newCversion },
      };
    }
    req.txn = body;
    let owner = 0n;
    if (mode.container) owner = CONTAINER_EPHEMERAL_OWNER;
    else if (mode.ttl) owner = TTL_EPHEMERAL_MASK | BigInt(ttl);
    else if (mode.ephemeral) owner = req.sessionId;
    const p = duplicateChange(parent, hdr.zxid);
    p.childCount++;
    p.stat!.cversion = newCversion;
    p.stat!.pzxid = hdr.zxid;
    ctx.changes.add(p);
    ctx.changes.add({
      zxid: hdr.zxid,
      path,
      stat: {
        czxid: hdr.zxid,
        mzxid: hdr.zxid,
        ctime: hdr.time,
        mtime: hdr.time,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeralOwner: owner,
        pzxid: hdr.zxid,
      },
      childCount: 0,
      acl,
      data: rec.data,
    });
  }

  /** ZooKeeperServer.checkQuota: with enforceQuota, refuse what passes a hard limit. */
  private checkQuota(path: string, lastData: Buffer | null, data: Buffer | null, type: number): void {
    if (!this.ctx.enforceQuota) return;
    const tree = this.ctx.tree;
    const prefix = tree.maxPrefixWithQuota(path);
    if (prefix === null) return;
    const dataBytes = data === null ? 0 : data.length;
    const bytesDiff = type === OpCode.create ? dataBytes : dataBytes - (lastData === null ? 0 : lastData.length);
    const countDiff = type === OpCode.create ? 1 : 0;
    const limitNode = tree.getNode(`${QUOTA_ROOT}${prefix}/${LIMIT_NODE}`);
    if (limitNode === undefined) return;
    const limits = limitsOf(limitNode.data);
    const checkCount = countDiff !== 0 && (limits.count > -1 || limits.countHardLimit > -1);
    const checkBytes = bytesDiff !== 0 && (limits.bytes > -1 || limits.byteHardLimit > -1);
    if (!checkCount && !checkBytes) return;
    const statNode = tree.getNode(`${QUOTA_ROOT}${prefix}/${STAT_NODE}`);
    if (statNode === undefined) return;
    const current = parseStats(statNode.data);
    if (checkCount) {
      const newCount = (current.get('count') ?? -1) + countDiff;
      const hard = limits.countHardLimit > -1;
      const limit = hard ? limits.countHardLimit : limits.count;
      if (newCount > limit && hard) throw new KeeperError(Err.QUOTAEXCEEDED, prefix);
    }
    if (checkBytes) {
      const newBytes = (current.get('bytes') ?? -1) + bytesDiff;
      const hard = limits.byteHardLimit > -1;
      const limit = hard ? limits.byteHardLimit : limits.bytes;
      if (newBytes > limit && hard) throw new KeeperError(Err.QUOTAEXCEEDED, prefix);
    }
  }

  private prepareMulti(req: Request): void {
    const ctx = this.ctx;
    let ops: MultiOp[];
    const nullPaths: number[] = [];
    try {
      ops = decodeMultiRequest(new JuteReader(req.body), nullPaths);
    } catch (e) {
      req.hdr = this.header(req, ctx.nextZxid(), OpCode.multi);
      throw e;
    }
    if (nullPaths.length > 0) {
      // Apache ZooKeeper fails on a null path (NullPointerException) after taking a zxid but
      // before making a txn of it, leaving a hole in the zxid sequence. Our log replay refuses
      // holes, so the zxid goes to an error txn instead: same error code, same next zxid.
      req.hdr = this.header(req, ctx.nextZxid(), OpCode.multi);
      throw new JuteError('null path in a multi');
    }
    const zxid = ctx.nextZxid();
    const shadowed = this.pendingChangesFor(ops);
    req.hdr = this.header(req, zxid, OpCode.multi);
    const txns: TxnBody[] = [];
    let failed: KeeperError | null = null;
    for (const op of ops) {
      if (failed !== null) {
        txns.push({ type: OpCode.error, record: { err: Err.RUNTIMEINCONSISTENCY } });
        continue;
      }
      if (op.type === OpCode.getData || op.type === OpCode.getChildren) {
        // A multi (14) made only of reads decodes fine, but PrepRequestProcessor has no txn for
        // a read and fails with a marshalling error; the zxid stays consumed.
        throw new JuteError('a read op in a multi');
      }
      try {
        this.toTxn(op.type, zxid, req, op.req);
        txns.push(req.txn!);
      } catch (e) {
        if (!(e instanceof KeeperError)) throw e;
        failed = e;
        txns.push({ type: OpCode.error, record: { err: e.code } });
        req.exception = e;
        ctx.onUserError?.(req, e);
        ctx.changes.rollback(zxid, shadowed);
      }
    }
    req.txn = { type: OpCode.multi, record: { txns } };
  }

  /** The pending records a failed multi may need to restore (getPendingChanges). */
  private pendingChangesFor(ops: readonly MultiOp[]): Map<string, ChangeRecord> {
    const out = new Map<string, ChangeRecord>();
    for (const op of ops) {
      const path = op.req.path;
      const c = this.ctx.changes.byPath.get(path);
      if (c !== undefined) out.set(path, c);
      const lastSlash = path.lastIndexOf('/');
      if (lastSlash === -1 || path.includes('\u0000')) continue;
      const parentPath = path.substring(0, lastSlash);
      const pc = this.ctx.changes.byPath.get(parentPath);
      if (pc !== undefined) out.set(parentPath, pc);
    }
    return out;
  }
}

/**
 * Opcodes whose undecodable record still becomes an error txn. Not reconfig: Apache ZooKeeper
 * decodes a ReconfigRequest before it takes a zxid, so a bad one becomes no txn at all.
 */
function isTxnType(type: number): boolean {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.setData:
    case OpCode.setACL:
    case OpCode.check:
    case OpCode.multi:
      return true;
    default:
      return false;
  }
}

