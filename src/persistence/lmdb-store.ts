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
import { JuteReader, JuteWriter } from '../jute/codec';
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

/** The exact size of a node's value, so that it is written once, never grown and copied. */
function nodeValueBytes(path: string, n: ZNode, acls: readonly R.AclValue[]): number {
  let bytes = NODE_FIXED_BYTES + Buffer.byteLength(path, 'utf8') + (n.data === null ? 0 : n.data.length);
  for (const a of acls) bytes += 4 + 4 + Buffer.byteLength(a.id.scheme, 'utf8') + 4 + Buffer.byteLength(a.id.id, 'utf8');
  return bytes;
}

/** Appends a node's value (the layout above) to `w`. */
function encodeNodeInto(w: JuteWriter, path: string, n: ZNode, openMarker: boolean, acls: readonly R.AclValue[]): void {
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
}

const NO_ACLS: readonly R.AclValue[] = [];

export function encodeNode(path: string, n: ZNode, tree: DataTree): Buffer {
  const openMarker = n.acl === OPEN_UNSAFE_ACL_ID;
  const acls = openMarker ? NO_ACLS : tree.aclOf(n);
  const w = new JuteWriter(nodeValueBytes(path, n, acls));
  encodeNodeInto(w, path, n, openMarker, acls);
  return w.finish();
}

/**
 * Decodes a node value. `aclLists` maps the raw bytes of an ACL vector to its decoded list, so
 * the many nodes that share a list share one array (and the load interns it once).
 */
export function decodeNode(value: Buffer, aclLists: Map<string, R.AclValue[]> = new Map()): RestoredNode {
  const r = new JuteReader(value, 0, value.length, MAX_VALUE_BYTES);
  const format = r.int();
  if (format !== NODE_FORMAT) throw new Error(`unknown node record format ${format}`);
  const path = r.ustring();
  // StatPersisted, field by field: this runs once per znode at every start.
  const czxid = r.long();
  const mzxid = r.long();
  const ctime = r.long();
  const mtime = r.long();
  const version = r.int();
  const cversion = r.int();
  const aversion = r.int();
  const ephemeralOwner = r.bigLong();
  const pzxid = r.long();
  const openMarker = r.boolean();
  const aclStart = r.offset;
  const n = r.vectorCount();
  let acl: R.AclValue[] | null = null;
  if (n > 0 || !openMarker) {
    const list: R.AclValue[] = [];
    for (let i = 0; i < n; i++) list.push(R.ACL.decode(r));
    const key = value.toString('latin1', aclStart, r.offset);
    acl = aclLists.get(key) ?? list;
    if (acl === list) aclLists.set(key, list);
  }
  const data = r.buffer();
  return { path, data, acl: openMarker ? null : acl, czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid };
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

/** The buffer a commit encodes its values into starts this large (it grows as needed). */
const COMMIT_BUFFER_MIN_BYTES = 64 * 1024;
/** A commit's buffer is kept for the next commit when it is at most this large. */
const COMMIT_BUFFER_KEEP_MAX_BYTES = 16 * 1024 * 1024;

export class LmdbStore {
  /**
   * The buffer of the last commit, free again once that commit has finished, or null. Reusing
   * it matters beyond the allocation: a fresh buffer of megabytes is fresh pages, and writing
   * into them page-faults (copying the values into a fresh buffer per commit took 5.2 % of the
   * main thread under 4 KiB creates at 4×8, into the reused one 2.9 %).
   */
  private commitBuffer: JuteWriter | null = null;

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
          const aclLists = new Map<string, R.AclValue[]>();
          for (const { value } of self.nodes.getRange()) yield decodeNode(value, aclLists);
        },
      },
    };
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
    //
    // All values of the transaction are encoded back to back into one buffer, and each put gets
    // a view of it: lmdb-js does not copy a value at put(), it keeps the view (and so the buffer)
    // until its writer thread has copied the bytes into the B-tree. The buffer is reused by the
    // next commit (see commitBuffer), so a steady load allocates nothing here; a buffer per node
    // made each value of 4 KiB or more an ArrayBuffer of its own (Node pools only smaller ones),
    // external memory that drove full GCs under 4 KiB writes.
    const ops: Promise<unknown>[] = [];
    // Taken, not shared: a second commit while this one is in flight gets a buffer of its own.
    let w = this.commitBuffer;
    this.commitBuffer = null;
    if (w === null) w = new JuteWriter(COMMIT_BUFFER_MIN_BYTES);
    else w.reset();
    const keys: string[] = [];
    const ends: number[] = [];
    for (const p of dirty) {
      const n = tree.getNode(p);
      if (n === undefined) {
        ops.push(this.nodes.remove(nodeKey(p)));
        continue;
      }
      const openMarker = n.acl === OPEN_UNSAFE_ACL_ID;
      encodeNodeInto(w, p, n, openMarker, openMarker ? NO_ACLS : tree.aclOf(n));
      keys.push(nodeKey(p));
      ends.push(w.offset);
    }
    // Views are taken only now: the writer may have moved its bytes while it grew.
    const values = w.finish();
    let start = 0;
    for (let i = 0; i < keys.length; i++) {
      ops.push(this.nodes.put(keys[i]!, values.subarray(start, ends[i])));
      start = ends[i]!;
    }
    for (const [id, to] of sessionChanges) {
      if (to === null) ops.push(this.sessions.remove(id.toString()));
      else ops.push(this.sessions.put(id.toString(), to));
    }
    ops.push(this.meta.put('lastZxid', zxid));
    // Once the transaction has committed, lmdb-js reads none of the views any more. After a
    // failure (a full disk) the buffer is simply dropped: Promise.all rejects at the first
    // rejected put, without waiting for the others.
    return Promise.all(ops)
      .then(() => this.root.flushed)
      .then(() => {
        if (w.capacity() <= COMMIT_BUFFER_KEEP_MAX_BYTES) this.commitBuffer = w;
      });
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}
