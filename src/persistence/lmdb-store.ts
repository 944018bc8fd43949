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
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, type Database, type RootDatabase, type RootDatabaseOptionsWithPath } from 'lmdb';
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

/**
 * The size of the address range LMDB maps the file into. It only reserves address space (the
 * file is not grown to it: the store does not use MDB_WRITEMAP, and a read-only shared file
 * mapping is not charged as committed memory), so it is set far above any store a Node heap can
 * fill. Only an address-space limit (ulimit -v) below it would refuse it. lmdb-js otherwise starts at 128 KiB and doubles the map as the
 * file grows, and it never unmaps the old maps (a reader might still point into them): every
 * page touched before a resize stayed resident once per map, which at 1M znodes was 500 MiB of
 * RSS on top of the 475 MiB file. lmdb-js still grows the map if a file ever outgrows this.
 */
const MAP_SIZE_BYTES = 2 ** 40;

/**
 * Every page of the file that LMDB touches through its map stays resident in the process (RSS,
 * as file-backed memory) for as long as the map lives: the load at start reads every page, and
 * the writer reads pages as it copies them on write, so the whole file ends up counted in RSS.
 * The store is written, not read, while the server runs, so it closes and reopens its
 * environment, which unmaps those pages: after the load, once writes pause for
 * RECYCLE_IDLE_MS, and after RECYCLE_MAX_INTERVAL_MS of unbroken writes. The pages stay in the
 * kernel's page cache (a later write reads them back with a minor fault, no disk read); only
 * the process stops holding them.
 */
const RECYCLE_IDLE_MS = 1000;
const RECYCLE_MAX_INTERVAL_MS = 30_000;

interface Handles {
  root: RootDatabase;
  nodes: Database<Buffer, string>;
  sessions: Database<number, string>;
  meta: Database<number, string>;
}

function openHandles(file: string, readOnly: boolean): Handles {
  // Not noReadAhead (MADV_RANDOM): the reopens below already keep the map's pages out of RSS,
  // and without the kernel's read-ahead a load from a cold page cache (after a reboot) would
  // read the file one 4 KiB page fault at a time.
  const options: RootDatabaseOptionsWithPath = { path: file, readOnly, mapSize: MAP_SIZE_BYTES };
  const root = open(options);
  const nodes = root.openDB<Buffer, string>({ name: 'nodes', encoding: 'binary' });
  const sessions = root.openDB<number, string>({ name: 'sessions' });
  const meta = root.openDB<number, string>({ name: 'meta' });
  return { root, nodes, sessions, meta };
}

export class LmdbStore {
  private h: Handles;
  /** Set while the environment is being closed and opened again; writes wait for it. */
  private reopening: Promise<void> | null = null;
  /** Why the last reopen failed; every later write fails with it. */
  private reopenError: Error | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private openedAtMs = performance.now();
  /** Whether anything touched the map since it was opened (a reopen is pointless otherwise). */
  private touched = false;
  private closing = false;

  private constructor(
    private readonly file: string,
    private readonly readOnly: boolean,
  ) {
    this.h = openHandles(file, readOnly);
  }

  /** Opens (creating unless `readOnly`) the store at `file`. */
  static open(file: string, readOnly = false): LmdbStore {
    installCommitRejectionFilter();
    return new LmdbStore(file, readOnly);
  }

  /** How many times the environment was closed and opened again (for tests). */
  reopenCount = 0;

  /**
   * Closes the environment and opens it again, which unmaps every page the old map had
   * touched (see RECYCLE_IDLE_MS). Only called with no write of ours in flight.
   */
  private reopen(): void {
    if (this.reopening !== null || this.closing || this.readOnly || !this.touched) return;
    this.cancelIdleReopen();
    this.touched = false;
    this.reopening = this.h.root
      .close()
      .then(() => {
        this.h = openHandles(this.file, false);
        this.openedAtMs = performance.now();
        this.reopenCount++;
      })
      .catch((e: unknown) => {
        this.reopenError = e instanceof Error ? e : new Error(String(e));
      })
      .finally(() => {
        this.reopening = null;
      });
  }

  private cancelIdleReopen(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** After a write: reopen now if the map has lived long, else once writes pause. */
  private afterWrite(): void {
    this.touched = true;
    if (performance.now() - this.openedAtMs >= RECYCLE_MAX_INTERVAL_MS) {
      this.reopen();
      return;
    }
    this.cancelIdleReopen();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      this.reopen();
    }, RECYCLE_IDLE_MS);
    this.idleTimer.unref();
  }

  /** Runs `write` once no reopen is under way, failing if the last one failed. */
  private whenOpen<T>(write: () => Promise<T>): Promise<T> {
    this.cancelIdleReopen();
    if (this.reopenError !== null) return Promise.reject(this.reopenError);
    if (this.reopening === null) return write();
    return this.reopening.then(() => {
      if (this.reopenError !== null) throw this.reopenError;
      return write();
    });
  }

  /** The zxid the store reflects, or null when nothing was ever committed to it. */
  lastZxid(): number | null {
    assert(this.reopening === null, 'lastZxid() while the store reopens');
    const z = this.h.meta.get('lastZxid');
    return typeof z === 'number' ? z : null;
  }

  /** The stored state; null for an empty (never committed) store. */
  load(): LoadedState | null {
    const lastZxid = this.lastZxid();
    if (lastZxid === null) return null;
    const format = this.h.meta.get('format');
    if (format !== STORE_FORMAT) throw new Error(`unsupported snapshot store format ${String(format)}`);
    const sessions = new Map<bigint, number>();
    for (const { key, value } of this.h.sessions.getRange()) sessions.set(BigInt(key), value);
    const self = this;
    return {
      lastZxid,
      sessions,
      nodes: {
        *[Symbol.iterator]() {
          const aclLists = new Map<string, R.AclValue[]>();
          for (const { value } of self.h.nodes.getRange()) yield decodeNode(value, aclLists);
          // The load read every page of the file through the map; drop them (RECYCLE_IDLE_MS).
          self.touched = true;
          self.reopen();
        },
      },
    };
  }

  /** Writes the whole tree and session table into an empty store, in one transaction. */
  async writeFull(tree: DataTree, sessions: ReadonlyMap<bigint, number>, zxid: number): Promise<void> {
    // The tree is read inside the transaction callback, so it is the tree as it is then.
    await this.whenOpen(async () => {
      const { root, nodes, sessions: sessionDb, meta } = this.h;
      await root.transaction(() => {
        nodes.clearSync();
        sessionDb.clearSync();
        for (const [p, n] of tree.allNodes()) nodes.putSync(nodeKey(p), encodeNode(p, n, tree));
        for (const [id, to] of sessions) sessionDb.putSync(id.toString(), to);
        meta.putSync('format', STORE_FORMAT);
        meta.putSync('lastZxid', zxid);
      });
      await root.flushed;
    });
    this.afterWrite();
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
    const write = (puts: Iterable<readonly [string, Buffer | null]>): Promise<void> => {
      const { root, nodes, sessions, meta } = this.h;
      const ops: Promise<unknown>[] = [];
      for (const [key, value] of puts) ops.push(value === null ? nodes.remove(key) : nodes.put(key, value));
      for (const [id, to] of sessionChanges) {
        if (to === null) ops.push(sessions.remove(id.toString()));
        else ops.push(sessions.put(id.toString(), to));
      }
      ops.push(meta.put('lastZxid', zxid));
      return Promise.all(ops)
        .then(() => root.flushed)
        .then(() => this.afterWrite());
    };
    function* encoded(): Generator<readonly [string, Buffer | null]> {
      for (const p of dirty) {
        const n = tree.getNode(p);
        yield [nodeKey(p), n === undefined ? null : encodeNode(p, n, tree)];
      }
    }
    // Encoded now in either case; while a reopen is under way the values wait in an array.
    if (this.reopening === null && this.reopenError === null) {
      this.cancelIdleReopen();
      return write(encoded());
    }
    const puts = [...encoded()];
    return this.whenOpen(() => write(puts));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.cancelIdleReopen();
    if (this.reopening !== null) await this.reopening;
    if (this.reopenError !== null) return; // the old environment is closed already
    await this.h.root.flushed;
    await this.h.root.close();
  }
}
