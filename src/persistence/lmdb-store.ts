/**
 * The incremental snapshot: the data tree, the session table and the zxid they reflect, kept
 * in one LMDB environment (<dataDir>/version-2/zkts-snapshot.lmdb, plus its -lock file). Only
 * the nodes that changed are written, with the sessions that came or went, in LMDB transactions
 * that lmdb-js commits and syncs on its own thread; the SnapshotWriter (database.ts) decides
 * when, in rounds whose last commit moves lastZxid. Every txn up to lastZxid is in the store;
 * nodes may be newer while "fuzzy" is set, as in ZooKeeper's fuzzy snapshots. Restart is "load
 * the store, replay the txn log after lastZxid".
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
 *   meta:     "lastZxid" := every txn up to this zxid is in the store (msgpack number)
 *             "fuzzy"    := 1 when some nodes may be newer than lastZxid (absent: 0)
 *             "format"   := 1
 *
 * The name deliberately does not start with "snapshot.": Apache ZooKeeper treats every
 * snapshot.* file in its snapshot directory as one of its own snapshots.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { open, type Database, type RootDatabase, type RootDatabaseOptionsWithPath } from 'lmdb';
import { JuteReader, JuteWriter } from '../jute/codec';
import { allocValue, copyBytes } from '../jute/value-memory';
import * as R from '../jute/records';
import { OPEN_UNSAFE_ACL_ID } from '../tree/acl';
import { crcRange } from '../tree/digest';
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
  return decodeNodeInto(value, 0, value.length, aclLists, newRestoredNode());
}

/** An empty RestoredNode for decodeNodeInto to fill. */
export function newRestoredNode(): RestoredNode {
  return { path: '', data: null, acl: null, czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0, digest: undefined };
}

/** format, path length, StatPersisted (60 bytes): what precedes the path and follows it. */
const NODE_HEAD_BYTES = 4 + 4;
const NODE_STAT_BYTES = 60;
/** Values up to this size are copied by a loop rather than Buffer.copy. */
const SHORT_COPY_BYTES = 256;

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
 * Decodes the node value in `bytes[start, end)` into `out` and returns it. This runs once per znode
 * at every start, on lmdb-js's shared read buffer (no copy of the value): the only allocations
 * are the path string and the copy of the data, and the ACL list when it is not the
 * OPEN_ACL_UNSAFE marker and not already in `aclLists`. Nothing keeps `bytes`.
 */
export function decodeNodeInto(bytes: Uint8Array, start: number, end: number, aclLists: Map<string, R.AclValue[]>, out: RestoredNode): RestoredNode {
  // lmdb-js hands Buffers; a plain Uint8Array is viewed as one (no copy) for the string and copy helpers.
  const b = bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, end);
  const size = end - start;
  if (size < NODE_HEAD_BYTES) throw corrupt('shorter than its header', size);
  const format = int32At(b, start);
  if (format !== NODE_FORMAT) throw new Error(`unknown node record format ${format}`);
  const pathLen = int32At(b, start + 4);
  let i = start + NODE_HEAD_BYTES;
  // The path, StatPersisted, the marker and the ACL count must all be there.
  if (pathLen < -1 || i + Math.max(pathLen, 0) + NODE_STAT_BYTES + 1 + 4 > end) throw corrupt(`bad path length ${pathLen}`, size);
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
    i = decodeAcl(b, i, end, aclLists, openMarker, out);
  }
  if (i + 4 > end) throw corrupt('no data length', size);
  const dataLen = int32At(b, i);
  i += 4;
  if (dataLen < -1 || i + Math.max(dataLen, 0) > end) throw corrupt(`bad data length ${dataLen}`, size);
  if (dataLen === -1) {
    out.data = null;
  } else {
    // A copy into the value slabs: the tree keeps it, and `bytes` is reused for the next node.
    const data = allocValue(dataLen);
    // Short values byte by byte: Buffer.copy's argument checks cost more than the copy.
    if (dataLen <= SHORT_COPY_BYTES) for (let k = 0; k < dataLen; k++) data[k] = b[i + k]!;
    else copyBytes(data, 0, b, i, i + dataLen);
    out.data = data;
  }
  return out;
}

/** "/zookeeper/" in UTF-8: nodes below it count 0 in the tree digest. */
const DIGEST_EXCLUDED_PREFIX = Buffer.from('/zookeeper/', 'utf8');
/** The offsets of the longs in StatPersisted (czxid mzxid ctime mtime ... pzxid). */
const STAT_LONG_OFFSETS = [0, 8, 16, 24, 52];

/**
 * nodeDigest of the node stored in `b[0, size)`, computed from the stored bytes (no decoding,
 * no allocation): the digest covers the path's UTF-8 bytes, the data and the stat fields in
 * big-endian form, which is how they are stored. null when only the decoded node gives the
 * exact value: a long that decoding rounds (beyond 2^53), or a record it cannot walk.
 */
export function storedNodeDigest(b: Uint8Array, size: number): number | null {
  if (size < NODE_HEAD_BYTES) return null;
  const pathLen = int32At(b, 4);
  const st = NODE_HEAD_BYTES + pathLen;
  if (pathLen < 0 || st + NODE_STAT_BYTES + 1 + 4 > size) return null;
  if (pathLen >= DIGEST_EXCLUDED_PREFIX.length) {
    let excluded = true;
    for (let k = 0; k < DIGEST_EXCLUDED_PREFIX.length && excluded; k++) excluded = b[NODE_HEAD_BYTES + k] === DIGEST_EXCLUDED_PREFIX[k];
    if (excluded) return 0;
  }
  for (const off of STAT_LONG_OFFSETS) {
    const hi = int32At(b, st + off);
    if (hi < -0x200000 || hi >= 0x200000) return null;
  }
  const aclEnd = aclVectorEnd(b, st + NODE_STAT_BYTES + 1, size);
  if (aclEnd < 0 || aclEnd + 4 > size) return null;
  const dataLen = int32At(b, aclEnd);
  if (dataLen < -1 || aclEnd + 4 + Math.max(dataLen, 0) > size) return null;
  let c = -1;
  // The root ("/", or "" as ZooKeeper's snapshots name it) is hashed as "".
  const root = pathLen === 0 || (pathLen === 1 && b[NODE_HEAD_BYTES] === 0x2f);
  if (!root) c = crcRange(c, b, NODE_HEAD_BYTES, st);
  if (dataLen > 0) c = crcRange(c, b, aclEnd + 4, aclEnd + 4 + dataLen);
  c = crcRange(c, b, st, st + 16); // czxid mzxid
  c = crcRange(c, b, st + 52, st + 60); // pzxid
  c = crcRange(c, b, st + 16, st + 32); // ctime mtime
  c = crcRange(c, b, st + 32, st + 52); // version cversion aversion ephemeralOwner
  return ~c;
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

/**
 * Whether a load reads the store on a worker thread (store-load-worker.ts) while this thread
 * decodes. ZKTS_STORE_LOAD_WORKER=0 turns it off (the load then reads and decodes on this
 * thread, as tools always do); tests run both ways.
 */
let useLoadWorker = process.env.ZKTS_STORE_LOAD_WORKER !== '0';
export function setStoreLoadWorker(on: boolean): void {
  useLoadWorker = on;
}

/** The load waits this long without any message from its worker before it gives up. */
const LOAD_WORKER_STALL_MS = 120_000;

interface LoadWorker {
  worker: Worker;
  port: import('node:worker_threads').MessagePort;
  counters: Int32Array;
}

/** Starts the reader thread of a load, or returns null where threads cannot be started. */
function startLoadWorker(file: string, digestEnabled: boolean): LoadWorker | null {
  const { port1, port2 } = new MessageChannel();
  const sync = new SharedArrayBuffer(8);
  let worker: Worker;
  try {
    worker = new Worker(path.join(__dirname, 'store-load-worker.js'), { workerData: { file, digestEnabled, port: port2, sync }, transferList: [port2] });
  } catch {
    port1.close();
    return null;
  }
  return { worker, port: port1, counters: new Int32Array(sync) };
}

type LoadMessage = { kind: 'chunk'; buf: ArrayBuffer; used: number } | { kind: 'end'; lastZxid: number | null; count: number } | { kind: 'error'; message: string };

/**
 * The loading half of a worker load: takes the chunks of raw node values as the worker posts
 * them and decodes each node in place. This thread blocks (Atomics.wait) only while the worker
 * has no chunk ready; `recoverState` is synchronous, and nothing else runs before the tree is
 * loaded.
 */
function* loadNodesInWorker(w: LoadWorker, digestEnabled: boolean, lastZxid: number, aclLists: Map<string, R.AclValue[]>, out: RestoredNode): Generator<RestoredNode> {
  const { port, counters } = w;
  let count = 0;
  let finished = false;
  try {
    let waitedMs = 0;
    for (;;) {
      const posted = Atomics.load(counters, 0);
      const received = receiveMessageOnPort(port);
      if (received === undefined) {
        // Sleeps until the worker posts again (the count read before looking at the port
        // makes a post in between wake us at once).
        if (Atomics.wait(counters, 0, posted, 1000) === 'timed-out' && (waitedMs += 1000) >= LOAD_WORKER_STALL_MS) {
          throw new Error(`reading the snapshot store: its reader thread sent nothing for ${LOAD_WORKER_STALL_MS / 1000} s`);
        }
        continue;
      }
      waitedMs = 0;
      const m = received.message as LoadMessage;
      if (m.kind === 'error') throw new Error(`reading the snapshot store: ${m.message}`);
      if (m.kind === 'end') {
        // The worker read its own snapshot of the store: it must be the one lastZxid came from.
        if (m.lastZxid !== lastZxid || m.count !== count) {
          throw new Error(`the snapshot store changed while it was loaded (lastZxid ${String(m.lastZxid)}, expected ${lastZxid})`);
        }
        finished = true;
        return;
      }
      const b = Buffer.from(m.buf, 0, m.used);
      let i = 0;
      while (i < m.used) {
        const size = int32At(b, i);
        if (size < 0 || i + 8 + size > m.used) throw new Error('reading the snapshot store: a chunk from its reader thread is damaged');
        const e = decodeNodeInto(b, i + 8, i + 8 + size, aclLists, out);
        e.digest = digestEnabled ? int32At(b, i + 4) : undefined;
        yield e;
        count++;
        i += 8 + size;
      }
      Atomics.add(counters, 1, 1);
      Atomics.notify(counters, 1);
    }
  } finally {
    forgetLastAcl();
    // Frees a worker that waits for room (the load stopped early), then ends it.
    Atomics.add(counters, 1, MAX_LOAD_CHUNKS_RELEASE);
    Atomics.notify(counters, 1);
    port.close();
    // A worker that finished closes its environment and exits by itself (terminating it could
    // cut that close short); one that did not is stopped.
    if (finished) w.worker.unref();
    else void w.worker.terminate();
  }
}

/** Added to the consumed count when a load ends, so a waiting worker always wakes. */
const MAX_LOAD_CHUNKS_RELEASE = 1 << 20;

export interface LoadedState {
  nodes: Iterable<RestoredNode>;
  /** How many nodes `nodes` holds, as the store counts them (a capacity hint for the tree). */
  nodeCount: number;
  sessions: Map<bigint, number>;
  lastZxid: number;
  /**
   * Whether some stored nodes may be newer than `lastZxid` (a commit round of the
   * SnapshotWriter was under way, or ran while txns were applied): replay over such a store is
   * ZooKeeper's replay over a fuzzy snapshot, and nodes stored without their parent are dropped.
   */
  fuzzy: boolean;
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
 * lmdb-js also rejects `commitError` with the system error of a failed commit; it is handled
 * here so that no caller can leave it unhandled (Node would exit). Callers that want the cause
 * attach their own handler too.
 */
function handleCommitError(e: unknown): void {
  const cause = (e as { commitError?: unknown } | null)?.commitError;
  if (cause instanceof Promise) cause.catch(() => undefined);
}

/** The buffer a commit encodes its values into starts this large (it grows as needed). */
const COMMIT_BUFFER_MIN_BYTES = 64 * 1024;
/** commit(): the end recorded for a node that is gone (its key is removed). */
const REMOVED = -1;
/** A commit's buffer is kept for the next commit when it is at most this large. */
const COMMIT_BUFFER_KEEP_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The size of the address range LMDB maps the file into. It only reserves address space (the
 * file is not grown to it: the store does not use MDB_WRITEMAP, and a read-only shared file
 * mapping is not charged as committed memory), so it is set far above any store a Node heap can
 * fill. Only an address-space limit (ulimit -v) below it would refuse it. lmdb-js otherwise starts at 128 KiB and doubles the map as the
 * file grows, and it never unmaps the old maps (a reader might still point into them): every
 * page touched before a resize stayed resident once per map, which at 1M znodes was 500 MiB of
 * RSS on top of the 475 MiB file. lmdb-js still grows the map if a file ever outgrows this.
 */
export const MAP_SIZE_BYTES = 2 ** 40;

/**
 * Every page of the file that LMDB touches through its map stays resident in the process (RSS,
 * as file-backed memory) for as long as the map lives: the load at start reads every page, and
 * the writer reads pages as it copies them on write, so the whole file ends up counted in RSS.
 * The store is written, not read, while the server runs, so it closes and reopens its
 * environment, which unmaps those pages: after the load, once writes pause for
 * RECYCLE_IDLE_MS, and after RECYCLE_MAX_INTERVAL_MS of unbroken writes. The pages stay in the
 * kernel's page cache (a later write reads them back with a minor fault, no disk read); only
 * the process stops holding them. The idle wait is longer than the gaps between the store's
 * commits under load (one per 100 ms; a round starts after 200 ms without txns, database.ts),
 * so a loaded server is not reopened between commits, and short enough that a server that fell
 * quiet gives the pages back soon: after 1M creates, the store's last commit lands ~1 s after
 * the last create, and with 1 s of idle wait RSS still held the whole file (+470 MiB) 2 s after it.
 */
const RECYCLE_IDLE_MS = 300;
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

/**
 * lmdb-js's `keyEncoder` hooks for the load handles (here and in store-load-worker.ts): keys are
 * written as given and never decoded, since a node's value holds its path too.
 */
export const PATH_SKIPPING_KEY_ENCODER = {
  writeKey: (key: Uint8Array, target: Uint8Array, start: number): number => {
    target.set(key, start);
    return start + key.length;
  },
  readKey: (): null => null,
};

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
  /**
   * The buffer of the last commit, free again once that commit has finished, or null. Reusing
   * it matters beyond the allocation: a fresh buffer of megabytes is fresh pages, and writing
   * into them page-faults (copying the values into a fresh buffer per commit took 5.2 % of the
   * main thread under 4 KiB creates at 4×8, into the reused one 2.9 %).
   */
  private commitBuffer: JuteWriter | null = null;

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
  load(digestEnabled = true): LoadedState | null {
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
      fuzzy: this.h.meta.get('fuzzy') === 1,
      nodeCount: (this.h.nodes.getStats() as { entryCount: number }).entryCount,
      nodes: {
        [Symbol.iterator]() {
          // One object, refilled for every node: DataTree.restore copies each entry's fields
          // before it asks for the next one.
          const out = newRestoredNode();
          const aclLists = new Map<string, R.AclValue[]>();
          // Reading the nodes while the environment is closed and opened again is a bug of the
          // caller: the load reopens it when it ends (below), so wait for settled() to load again.
          assert.equal(self.reopening, null, 'the snapshot store was loaded while it reopens its environment');
          const worker = self.readOnly || !useLoadWorker ? null : startLoadWorker(self.file, digestEnabled);
          const inner = worker !== null ? loadNodesInWorker(worker, digestEnabled, lastZxid, aclLists, out) : self.loadNodesHere(aclLists, out);
          return self.reopenAfter(inner);
        },
      },
    };
  }

  /** The nodes of the store, read and decoded on this thread. */
  private *loadNodesHere(aclLists: Map<string, R.AclValue[]>, out: RestoredNode): Generator<RestoredNode> {
    try {
      for (const { value } of this.loadHandle(aclLists, out).getRange()) yield value;
    } finally {
      forgetLastAcl();
    }
  }

  /**
   * `inner`, and once it is read to its end the environment is reopened: the load touched every
   * page of the file through the map (in this thread or the reader thread, which shares this
   * process's environment), and the reopen drops them from RSS (see RECYCLE_IDLE_MS).
   */
  private reopenAfter(inner: Iterator<RestoredNode>): IterableIterator<RestoredNode> {
    const it: IterableIterator<RestoredNode> = {
      next: () => {
        const r = inner.next();
        if (r.done === true) {
          this.touched = true;
          this.reopen();
        }
        return r;
      },
      return: (value?: unknown) => inner.return?.(value) ?? { done: true, value: undefined },
      [Symbol.iterator]: () => it,
    };
    return it;
  }

  /** Resolves once no reopen of the environment is under way (tests load a store twice). */
  async settled(): Promise<void> {
    while (this.reopening !== null) await this.reopening;
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
    return this.h.root.openDB<RestoredNode, Uint8Array>({
      name: 'nodes',
      encoder: {
        encode: (): Buffer => {
          throw new Error('the load handle of the snapshot store is read-only');
        },
        decode: (bytes: Uint8Array, size: number): RestoredNode => decodeNodeInto(bytes, 0, size, aclLists, out),
      },
      keyEncoder: PATH_SKIPPING_KEY_ENCODER,
    } as never);
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
   * session changes (null = closed) and `zxid`. Resolves once everything is on disk.
   *
   * Without `sliceNodes` it is one transaction, and the values are encoded here, synchronously,
   * so it reflects the tree at this moment even though it commits later. With `sliceNodes`,
   * the nodes are encoded and handed to lmdb-js that many per event-loop turn (the session
   * changes, `zxid` and the fuzzy flag with the last slice), so that a commit never holds the
   * event loop for long: each node is written as it is when its slice runs, and the slices may
   * land in several transactions, in order. That is only for a store that is fuzzy anyway
   * (SnapshotWriter's rounds; see database.ts), and `fuzzy` is then asked at the last slice.
   */
  commit(
    tree: DataTree,
    dirty: Iterable<string>,
    sessionChanges: ReadonlyMap<bigint, number | null>,
    zxid: number | null,
    fuzzy: boolean | (() => boolean) = false,
    sliceNodes = Infinity,
  ): Promise<void> {
    // Asynchronous puts made in one event turn are committed as one transaction by lmdb-js's
    // writer thread (eventTurnBatching); the B-tree work never runs on the event loop.
    //
    // All values of a commit are encoded back to back into one buffer, and each put gets a
    // view of it: lmdb-js does not copy a value at put(), it keeps the view (and so the buffer)
    // until its writer thread has copied the bytes into the B-tree. A view stays valid when the
    // writer grows, since growing copies to a new buffer and leaves the old one as it was. The
    // buffer is reused by the next commit (see commitBuffer), so a steady load allocates
    // nothing here; a buffer per node made each value of 4 KiB or more an ArrayBuffer of its
    // own (Node pools only smaller ones), external memory that drove full GCs under 4 KiB writes.
    //
    // Taken, not shared: a second commit while this one is in flight gets a buffer of its own.
    let w = this.commitBuffer;
    this.commitBuffer = null;
    if (w === null) w = new JuteWriter(COMMIT_BUFFER_MIN_BYTES);
    else w.reset();
    const buffer = w;
    const paths = Array.isArray(dirty) ? (dirty as readonly string[]) : [...dirty];
    assert(sliceNodes >= 1, 'sliceNodes must be at least 1');
    // Every put's promise is kept: a failed commit (a full disk) rejects them all, and each
    // rejection must be handled, here by Promise.all, or Node exits on an unhandled one.
    const ops: Promise<unknown>[] = [];
    /** Encodes and puts paths[from, to) with the handles open now. */
    const putSlice = (from: number, to: number): void => {
      const { nodes } = this.h;
      const keys: string[] = [];
      const ends: number[] = [];
      const start = w.offset;
      for (let i = from; i < to; i++) {
        const p = paths[i]!;
        const n = tree.getNode(p);
        keys.push(nodeKey(p));
        if (n === undefined) {
          ends.push(REMOVED);
          continue;
        }
        const openMarker = n.acl === OPEN_UNSAFE_ACL_ID;
        encodeNodeInto(w, p, n, openMarker, openMarker ? NO_ACLS : tree.aclOf(n));
        ends.push(w.offset);
      }
      // Views are taken only now: the writer may have moved its bytes while it grew.
      const first = ops.length;
      let at = start;
      for (let i = 0; i < keys.length; i++) {
        const end = ends[i]!;
        if (end === REMOVED) {
          ops.push(nodes.remove(keys[i]!));
          continue;
        }
        ops.push(nodes.put(keys[i]!, w.view(at, end)));
        at = end;
      }
      // A slice's failure is reported by the Promise.all over every op at the end; until then
      // its rejections count as handled, or Node would exit on them.
      if (sliceNodes < paths.length) Promise.all(ops.slice(first)).catch(() => undefined);
    };
    const putEnd = (): void => {
      const { sessions, meta } = this.h;
      for (const [id, to] of sessionChanges) {
        if (to === null) ops.push(sessions.remove(id.toString()));
        else ops.push(sessions.put(id.toString(), to));
      }
      // A commit that leaves lastZxid as it was is part of a round (SnapshotWriter): only the
      // round's last commit moves it.
      if (zxid !== null) ops.push(meta.put('lastZxid', zxid));
      ops.push(meta.put('fuzzy', (typeof fuzzy === 'function' ? fuzzy() : fuzzy) ? 1 : 0));
    };
    /** Once the transaction(s) committed, lmdb-js reads none of the views any more. */
    const settle = (): Promise<void> =>
      // After a failure (a full disk) the buffer is simply dropped: Promise.all rejects at the
      // first rejected put, without waiting for the others.
      Promise.all(ops)
        .then(() => this.h.root.flushed)
        .then(
          () => {
            if (buffer.capacity() <= COMMIT_BUFFER_KEEP_MAX_BYTES) this.commitBuffer = buffer;
            this.afterWrite();
          },
          (e: unknown) => {
            handleCommitError(e);
            throw e;
          },
        );
    if (paths.length <= sliceNodes) {
      // One transaction, encoded now (or, while the environment reopens, when it is open).
      const write = (): Promise<void> => {
        putSlice(0, paths.length);
        putEnd();
        return settle();
      };
      if (this.reopening === null && this.reopenError === null) {
        this.cancelIdleReopen();
        return write();
      }
      return this.whenOpen(write);
    }
    // In slices, one per turn. No reopen starts meanwhile: the idle reopen is cancelled here
    // and re-armed only by afterWrite, once this commit has settled. A commit that moves
    // lastZxid puts it (with the session changes and the fuzzy flag) only once every node of
    // the commit is on disk: the slices may commit as separate transactions, and a lastZxid that
    // landed after a failed slice (a full disk) would claim nodes the store does not have.
    const sliced = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        let next = 0;
        // Bounded: each turn puts up to sliceNodes paths, so this runs ceil(n / sliceNodes) times.
        const step = (): void => {
          const to = Math.min(paths.length, next + sliceNodes);
          try {
            putSlice(next, to);
          } catch (e) {
            reject(e as Error);
            return;
          }
          next = to;
          if (next < paths.length) {
            setImmediate(step);
            return;
          }
          // Only a commit that moves lastZxid needs its nodes on disk first.
          const nodesDone = zxid === null ? Promise.resolve([]) : Promise.all(ops);
          nodesDone
            .then(() => {
              putEnd();
              return settle();
            })
            .then(resolve, (e: unknown) => {
              handleCommitError(e);
              reject(e as Error);
            });
        };
        step();
      });
    if (this.reopening === null && this.reopenError === null) {
      this.cancelIdleReopen();
      return sliced();
    }
    return this.whenOpen(sliced);
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
