/**
 * The incremental snapshot: the data tree, the session table and the zxid they reflect, kept
 * in one LMDB environment (<dataDir>/version-2/zkts-snapshot.lmdb, plus its -lock file). After
 * each round of applied txns only the nodes that changed are written, together with the
 * sessions that came or went and the new zxid, in one LMDB transaction that lmdb-js commits
 * and syncs on its own thread. So the store always equals the tree after some applied zxid,
 * and restart is "load the store, replay the txn log after its zxid".
 *
 * Layout (three named databases of one environment; integers big-endian):
 *
 *   nodes:    key   := the path (UTF-8) when it is at most 1900 bytes, else "#" sha256hex(path)
 *             value := format:int(1) path:ustring StatPersisted openAclMarker:boolean
 *                      acl:vector<ACL> data:buffer
 *             StatPersisted := czxid:long mzxid:long ctime:long mtime:long version:int
 *                              cversion:int aversion:int ephemeralOwner:long pzxid:long
 *             openAclMarker true means the node uses the ACL cache's -1 entry
 *             (OPEN_ACL_UNSAFE set implicitly) and the acl vector is empty.
 *   sessions: key   := the session id as a signed decimal string
 *             value := timeoutMs (msgpack number)
 *   meta:     "lastZxid" := the zxid the whole store reflects (msgpack number)
 *             "format"   := 1
 *
 * The name deliberately does not start with "snapshot.": Apache ZooKeeper treats every
 * snapshot.* file in its snapshot directory as one of its own snapshots.
 */
import { createHash } from 'node:crypto';
import { open, type Database, type RootDatabase } from 'lmdb';
import { allocValue, JuteReader, JuteWriter } from '../jute/codec';
import * as R from '../jute/records';
import { OPEN_UNSAFE_ACL_ID } from '../tree/acl';
import type { DataTree, RestoredNode, ZNode } from '../tree/data-tree';

export const LMDB_FILE_NAME = 'zkts-snapshot.lmdb';
const NODE_FORMAT = 1;
const STORE_FORMAT = 1;
const MAX_KEY_BYTES = 1900;
/** Node values are read with this bound: one znode's data plus its path and ACLs. */
const MAX_VALUE_BYTES = 256 * 1024 * 1024;

export function nodeKey(path: string): string {
  if (Buffer.byteLength(path, 'utf8') <= MAX_KEY_BYTES) return path;
  return '#' + createHash('sha256').update(path, 'utf8').digest('hex');
}

/** The bytes of a node value around its path, ACL entries and data (format, lengths, StatPersisted, marker). */
const NODE_FIXED_BYTES = 4 + 4 + 60 + 1 + 4 + 4;

export function encodeNode(path: string, n: ZNode, tree: DataTree): Buffer {
  const openMarker = n.acl === OPEN_UNSAFE_ACL_ID;
  const acls = openMarker ? [] : tree.aclOf(n);
  // Sized for the whole value (plus a guess for ACL entries), so it is written once, not grown
  // and copied; lmdb-js takes the view as it is.
  const w = new JuteWriter(NODE_FIXED_BYTES + Buffer.byteLength(path, 'utf8') + (n.data === null ? 0 : n.data.length) + acls.length * 32);
  w.int(NODE_FORMAT);
  w.ustring(path);
  // StatPersisted, field by field.
  w.long(n.czxid);
  w.long(n.mzxid);
  w.long(n.ctime);
  w.long(n.mtime);
  w.int(n.version);
  w.int(n.cversion);
  w.int(n.aversion);
  w.bigLong(n.ephemeralOwner);
  w.long(n.pzxid);
  w.boolean(openMarker);
  w.int(acls.length);
  for (const a of acls) R.ACL.encode(w, a);
  w.buffer(n.data);
  return w.finish();
}

/**
 * Decodes a node value. `aclLists` maps the raw bytes of an ACL vector to its decoded list, so
 * the many nodes that share a list share one array (and the load interns it once).
 */
export function decodeNode(value: Buffer, aclLists: Map<string, R.AclValue[]> = new Map()): RestoredNode {
  return decodeNodeInto(value, value.length, aclLists, newRestoredNode());
}

/** An empty RestoredNode for decodeNodeInto to fill. */
export function newRestoredNode(): RestoredNode {
  return { path: '', data: null, acl: null, czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0 };
}

/** format, path length, StatPersisted (60 bytes): what precedes the path and follows it. */
const NODE_HEAD_BYTES = 4 + 4;
const NODE_STAT_BYTES = 60;

function int32At(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

/** A Jute long as a JS number, as JuteReader.long reads it (exact below 2^53). */
function longAt(b: Uint8Array, i: number): number {
  return int32At(b, i) * 4294967296 + (int32At(b, i + 4) >>> 0);
}

function corrupt(what: string, size: number): Error {
  return new Error(`corrupt node record: ${what} (record of ${size} bytes)`);
}

/**
 * Decodes the node value in `bytes[0, size)` into `out` and returns it. This runs once per znode
 * at every start, on lmdb-js's shared read buffer (no copy of the value): the only allocations
 * are the path string and the copy of the data, and the ACL list when it is not the
 * OPEN_ACL_UNSAFE marker and not already in `aclLists`. Nothing keeps `bytes`.
 */
export function decodeNodeInto(bytes: Uint8Array, size: number, aclLists: Map<string, R.AclValue[]>, out: RestoredNode): RestoredNode {
  // lmdb-js hands Buffers; a plain Uint8Array is viewed as one (no copy) for the string and copy helpers.
  const b = bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, size);
  if (size < NODE_HEAD_BYTES) throw corrupt('shorter than its header', size);
  const format = int32At(b, 0);
  if (format !== NODE_FORMAT) throw new Error(`unknown node record format ${format}`);
  const pathLen = int32At(b, 4);
  let i = NODE_HEAD_BYTES;
  // The path, StatPersisted, the marker and the ACL count must all be there.
  if (pathLen < -1 || i + Math.max(pathLen, 0) + NODE_STAT_BYTES + 1 + 4 > size) throw corrupt(`bad path length ${pathLen}`, size);
  out.path = pathLen <= 0 ? '' : b.toString('utf8', i, i + pathLen);
  if (pathLen > 0) i += pathLen;
  // StatPersisted, field by field.
  out.czxid = longAt(b, i);
  out.mzxid = longAt(b, i + 8);
  out.ctime = longAt(b, i + 16);
  out.mtime = longAt(b, i + 24);
  out.version = int32At(b, i + 32);
  out.cversion = int32At(b, i + 36);
  out.aversion = int32At(b, i + 40);
  // Zero (no owner) is by far the most common: share the constant, as JuteReader.bigLong does.
  out.ephemeralOwner = int32At(b, i + 44) === 0 && int32At(b, i + 48) === 0 ? 0n : b.readBigInt64BE(i + 44);
  out.pzxid = longAt(b, i + 52);
  i += NODE_STAT_BYTES;
  const openMarker = b[i++] !== 0;
  const aclCount = int32At(b, i);
  if (aclCount === 0 && openMarker) {
    out.acl = null;
    i += 4;
  } else {
    i = decodeAcl(b, i, size, aclLists, openMarker, out);
  }
  if (i + 4 > size) throw corrupt('no data length', size);
  const dataLen = int32At(b, i);
  i += 4;
  if (dataLen < -1 || i + Math.max(dataLen, 0) > size) throw corrupt(`bad data length ${dataLen}`, size);
  if (dataLen === -1) {
    out.data = null;
  } else {
    // A copy into the value slabs: the tree keeps it, and `bytes` is reused for the next node.
    const data = allocValue(dataLen);
    if (dataLen > 0) b.copy(data, 0, i, i + dataLen);
    out.data = data;
  }
  return out;
}

/**
 * The ACL vector of the last node that had one, as raw bytes, and its decoded list: nodes that
 * share a list usually follow each other, and comparing ~30 bytes is cheaper than decoding them
 * and looking the list up by its bytes.
 */
let lastAclBytes = new Uint8Array(256);
let lastAclLength = -1;
let lastAclList: R.AclValue[] | null = null;
let lastAclLists: Map<string, R.AclValue[]> | null = null;

/** Drops the cache above, so nothing of a finished load stays reachable from it. */
function forgetLastAcl(): void {
  lastAclLength = -1;
  lastAclList = null;
  lastAclLists = null;
}

/** The end of the ACL vector at `start` (count, then perms:int scheme:ustring id:ustring each), or -1 if it overruns `size`. */
function aclVectorEnd(b: Uint8Array, start: number, size: number): number {
  let i = start + 4;
  const n = int32At(b, start);
  for (let k = 0; k < n; k++) {
    i += 4;
    for (let f = 0; f < 2; f++) {
      if (i + 4 > size) return -1;
      const len = int32At(b, i);
      i += 4 + Math.max(len, 0);
    }
  }
  return i > size ? -1 : i;
}

/** decodeNodeInto: a node with its own ACL vector; sets out.acl and returns the offset after the vector. */
function decodeAcl(b: Buffer, start: number, size: number, aclLists: Map<string, R.AclValue[]>, openMarker: boolean, out: RestoredNode): number {
  const end = aclVectorEnd(b, start, size);
  const len = end - start;
  if (end >= 0 && len === lastAclLength && lastAclLists === aclLists) {
    let same = true;
    for (let k = 0; k < len; k++) {
      if (b[start + k] !== lastAclBytes[k]) {
        same = false;
        break;
      }
    }
    if (same) {
      out.acl = openMarker ? null : lastAclList;
      return end;
    }
  }
  const r = new JuteReader(b, start, size, MAX_VALUE_BYTES);
  const n = r.vectorCount();
  const list: R.AclValue[] = [];
  for (let k = 0; k < n; k++) list.push(R.ACL.decode(r));
  const key = b.toString('latin1', start, r.offset);
  let acl = aclLists.get(key);
  if (acl === undefined) {
    acl = list;
    aclLists.set(key, list);
  }
  out.acl = openMarker ? null : acl;
  if (r.offset - start <= 4096) {
    if (lastAclBytes.length < r.offset - start) lastAclBytes = new Uint8Array(r.offset - start);
    lastAclBytes.set(b.subarray(start, r.offset));
    lastAclLength = r.offset - start;
    lastAclList = acl;
    lastAclLists = aclLists;
  }
  return r.offset;
}

export interface LoadedState {
  nodes: Iterable<RestoredNode>;
  sessions: Map<bigint, number>;
  lastZxid: number;
}

/**
 * lmdb-js rejects an internal promise of its own when a commit fails (a full disk), beside the
 * promises we hold, and nothing can attach a handler to it. Such a failure is already handled
 * (database.ts retries the commit), so that one rejection is dropped here; any other unhandled
 * rejection still ends the process, as Node does by default.
 */
let commitRejectionFilterInstalled = false;
function installCommitRejectionFilter(): void {
  if (commitRejectionFilterInstalled) return;
  commitRejectionFilterInstalled = true;
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof Error && 'commitError' in reason && reason.message.startsWith('Commit failed')) return;
    throw reason;
  });
}

export class LmdbStore {
  private constructor(
    private readonly root: RootDatabase,
    private readonly nodes: Database<Buffer, string>,
    private readonly sessions: Database<number, string>,
    private readonly meta: Database<number, string>,
  ) {}

  /** Opens (creating unless `readOnly`) the store at `file`. */
  static open(file: string, readOnly = false): LmdbStore {
    installCommitRejectionFilter();
    const root = open({ path: file, readOnly });
    const nodes = root.openDB<Buffer, string>({ name: 'nodes', encoding: 'binary' });
    const sessions = root.openDB<number, string>({ name: 'sessions' });
    const meta = root.openDB<number, string>({ name: 'meta' });
    return new LmdbStore(root, nodes, sessions, meta);
  }

  /** The zxid the store reflects, or null when nothing was ever committed to it. */
  lastZxid(): number | null {
    const z = this.meta.get('lastZxid');
    return typeof z === 'number' ? z : null;
  }

  /** The stored state; null for an empty (never committed) store. */
  load(): LoadedState | null {
    const lastZxid = this.lastZxid();
    if (lastZxid === null) return null;
    const format = this.meta.get('format');
    if (format !== STORE_FORMAT) throw new Error(`unsupported snapshot store format ${String(format)}`);
    const sessions = new Map<bigint, number>();
    for (const { key, value } of this.sessions.getRange()) sessions.set(BigInt(key), value);
    const self = this;
    return {
      lastZxid,
      sessions,
      nodes: {
        *[Symbol.iterator]() {
          // One object, refilled for every node: DataTree.restore copies each entry's fields
          // before it asks for the next one.
          const out = newRestoredNode();
          const aclLists = new Map<string, R.AclValue[]>();
          try {
            for (const { value } of self.loadHandle(aclLists, out).getRange()) yield value;
          } finally {
            forgetLastAcl();
          }
        },
      },
    };
  }

  /**
   * A second, read-only handle on the nodes database for the load. Its decoder runs on
   * lmdb-js's shared read buffer (the `binary` handle copies every value into a new Buffer with
   * an ArrayBuffer of its own first), and its key decoder skips the key, which is the path that
   * the value also holds. Both hooks are lmdb-js's documented `encoder` and `keyEncoder`
   * options. Iteration starts at the same key as on the main handle (lmdb-js's default
   * beginning key), and with a snapshot read no key is ever used to reposition the cursor.
   */
  private loadHandle(aclLists: Map<string, R.AclValue[]>, out: RestoredNode): Database<RestoredNode, Uint8Array> {
    return this.root.openDB<RestoredNode, Uint8Array>({
      name: 'nodes',
      encoder: {
        encode: (): Buffer => {
          throw new Error('the load handle of the snapshot store is read-only');
        },
        decode: (bytes: Uint8Array, size: number): RestoredNode => decodeNodeInto(bytes, size, aclLists, out),
      },
      keyEncoder: {
        writeKey: (key: Uint8Array, target: Uint8Array, start: number): number => {
          target.set(key, start);
          return start + key.length;
        },
        readKey: (): null => null,
      },
    } as never);
  }

  /** Writes the whole tree and session table into an empty store, in one transaction. */
  async writeFull(tree: DataTree, sessions: ReadonlyMap<bigint, number>, zxid: number): Promise<void> {
    await this.root.transaction(() => {
      this.nodes.clearSync();
      this.sessions.clearSync();
      for (const [p, n] of tree.allNodes()) this.nodes.putSync(nodeKey(p), encodeNode(p, n, tree));
      for (const [id, to] of sessions) this.sessions.putSync(id.toString(), to);
      this.meta.putSync('format', STORE_FORMAT);
      this.meta.putSync('lastZxid', zxid);
    });
    await this.root.flushed;
  }

  /**
   * Writes the nodes at `dirty` as they are now in `tree` (absent ones are deleted), the
   * session changes (null = closed) and `zxid`, as one transaction. The values are encoded
   * here, synchronously, so the transaction reflects the tree at this moment even though it
   * commits later. Resolves once the transaction is on disk.
   */
  commit(tree: DataTree, dirty: Iterable<string>, sessionChanges: ReadonlyMap<bigint, number | null>, zxid: number): Promise<void> {
    // Asynchronous puts made in one event turn are committed as one transaction by lmdb-js's
    // writer thread (eventTurnBatching); the B-tree work never runs on the event loop. The
    // values are encoded here, synchronously, so they are the tree as it is at this moment.
    // Every put's promise is kept: a failed commit (a full disk) rejects them all, and each
    // rejection must be handled, here by Promise.all, or Node exits on an unhandled one.
    const ops: Promise<unknown>[] = [];
    for (const p of dirty) {
      const n = tree.getNode(p);
      if (n === undefined) ops.push(this.nodes.remove(nodeKey(p)));
      else ops.push(this.nodes.put(nodeKey(p), encodeNode(p, n, tree)));
    }
    for (const [id, to] of sessionChanges) {
      if (to === null) ops.push(this.sessions.remove(id.toString()));
      else ops.push(this.sessions.put(id.toString(), to));
    }
    ops.push(this.meta.put('lastZxid', zxid));
    return Promise.all(ops)
      .then(() => this.root.flushed)
      .then(() => undefined);
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}
