/**
 * The in-memory znode tree: Apache ZooKeeper's DataTree, as a pure state machine. Txns go in
 * through processTxn; reads go through the get* methods; watch events that either produce are
 * collected in `events` for the caller to deliver. Nothing here touches a socket, file or clock.
 */
import { EventType, Err, OpCode } from '../protocol/constants';
import { KeeperError } from '../protocol/keeper-error';
import type { AclValue, StatPersistedValue, StatValue, TxnHeaderValue } from '../jute/records';
import { AclCache, OPEN_UNSAFE_ACL_ID, READ_ACL_UNSAFE } from './acl';
import { javaCloneCapacity, javaHashOrder, javaHashSetCapacity, javaHashSetOrder } from './java-hash-order';
import { childNameOf, parentOf } from './paths';
import { WatchManager, WatcherMode, type WatcherId, type WatcherModeValue } from './watch-manager';
import type { Txn, TxnBody } from './txn';
import { EphemeralKind, ephemeralKindOf, ttlOf, CONTAINER_EPHEMERAL_OWNER, TTL_EPHEMERAL_MASK } from './ephemeral-type';
import { QUOTA_ROOT, LIMIT_NODE, STAT_NODE, formatStats, parseStats } from './quota';
import { AdHash, DIGEST_LOG_INTERVAL, DIGEST_LOG_LIMIT, DIGEST_VERSION, digestOfNodes, nodeDigestOf, type ZxidDigest } from './digest';
import { NIL, NodeStore } from './node-store';
import { PathIndex } from './path-index';

/**
 * A read-only view of one znode for callers outside the tree (prepare, persistence, tests): the
 * node itself lives in the tree's columns (see node-store.ts), so each field is read when asked
 * for. A view is meant to be used at once: after the node is deleted its index may be reused by
 * another node.
 */
export class ZNode {
  constructor(
    /** The tree's columns; only the tree's own functions use it. */
    readonly store: NodeStore,
    readonly index: number,
  ) {}

  get data(): Buffer | null {
    return this.store.value(this.index);
  }
  /** Index into the ACL cache. */
  get acl(): number {
    return this.store.acl[this.index]!;
  }
  get czxid(): number {
    return this.store.czxid[this.index]!;
  }
  get mzxid(): number {
    return this.store.mzxid[this.index]!;
  }
  get ctime(): number {
    return this.store.ctime[this.index]!;
  }
  get mtime(): number {
    return this.store.mtime[this.index]!;
  }
  get version(): number {
    return this.store.version[this.index]!;
  }
  /** The stored cversion (child creations), not the one clients see (see statOf). */
  get cversion(): number {
    return this.store.cversion(this.index);
  }
  get aversion(): number {
    return this.store.aversion[this.index]!;
  }
  get ephemeralOwner(): bigint {
    return this.store.ownerOf(this.index);
  }
  get pzxid(): number {
    return this.store.pzxid(this.index);
  }
  get childCount(): number {
    return this.store.childCount(this.index);
  }
  /** Largest child count ever held, which fixes Java's HashSet capacity (see java-hash-order). */
  get maxChildren(): number {
    return this.store.maxChildren(this.index);
  }
  /** This node's share of the tree digest as it was last added (DataNode's cached digest). */
  get digest(): number {
    return this.store.digest[this.index]!;
  }
  /** Child names in insertion order. */
  childNames(): string[] {
    return this.store.childNames(this.index);
  }
  /** The child names as a new Set in insertion order, null when there are none (for tests and tools). */
  get children(): Set<string> | null {
    return this.childCount === 0 ? null : new Set(this.childNames());
  }
}

/** A node as a snapshot stores it: its stat fields, data and ACL list (null = OPEN_ACL_UNSAFE marker). */
export interface RestoredNode {
  path: string;
  data: Buffer | null;
  acl: AclValue[] | null;
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: number;
  /**
   * nodeDigest of this node, when the source computed it already (the store's load does, on its
   * reader thread); undefined makes restore compute it.
   */
  digest?: number;
}

export interface WatchEvent {
  watcher: WatcherId;
  type: number;
  path: string;
}

export interface ProcessTxnResult {
  clientId: bigint;
  cxid: number;
  zxid: number;
  type: number;
  err: number;
  path: string | null;
  stat: StatValue | null;
  multiResult: ProcessTxnResult[] | null;
}

/**
 * Where per-namespace read and write volumes go (DataTree.updateReadStat / updateWriteStat,
 * ServerMetrics' read_per_namespace and write_per_namespace): the namespace is a path's first
 * component, the bytes are what the server would move for the operation.
 */
export interface NamespaceStatsSink {
  read(namespace: string, bytes: number): void;
  write(namespace: string, bytes: number): void;
}

export interface DataTreeOptions {
  /** zookeeper.digest.enabled (default true): keep the tree digest. */
  digestEnabled?: boolean;
}

/** DataTree.STAT_OVERHEAD_BYTES: a read is counted as its path, its payload and a Stat. */
const STAT_OVERHEAD_BYTES = 6 * 8 + 5 * 4;

/**
 * PathUtils.getTopNamespace: the first component of the path (Java's `path.split("/")[1]`);
 * null for "/" and "" (the root), which belong to no namespace.
 */
export function topNamespace(path: string): string | null {
  if (path.length < 2 || path.charCodeAt(0) !== 0x2f) return null;
  const end = path.indexOf('/', 1);
  return end < 0 ? path.substring(1) : path.substring(1, end);
}

export const ROOT_PATH = '/';
export const PROC_PATH = '/zookeeper';
export const CONFIG_PATH = '/zookeeper/config';

/**
 * The Stat a client sees (DataNode.copyStat). The stored cversion counts child creations only
 * (deletes do not bump it, and sequential names come from it); clients see the v3 meaning, the
 * number of child changes, which is creations * 2 - children still present, since every create
 * without a surviving child was followed by a delete. Persistence must use the raw n.cversion.
 */
export function statOf(n: ZNode): StatValue {
  return statAt(n.store, n.index);
}

/** The stat fields as snapshots and txns keep them (DataNode.stat): the raw stored cversion. */
export function persistedStatOf(n: ZNode): StatPersistedValue {
  return {
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    cversion: n.cversion,
    aversion: n.aversion,
    ephemeralOwner: n.ephemeralOwner,
    pzxid: n.pzxid,
  };
}

function statAt(s: NodeStore, i: number): StatValue {
  const numChildren = s.childCount(i);
  const owner = s.ownerOf(i);
  return {
    czxid: s.czxid[i]!,
    mzxid: s.mzxid[i]!,
    ctime: s.ctime[i]!,
    mtime: s.mtime[i]!,
    version: s.version[i]!,
    cversion: s.cversion(i) * 2 - numChildren,
    aversion: s.aversion[i]!,
    // Containers and TTL nodes encode their kind in the owner; clients see 0 (getClientEphemeralOwner).
    ephemeralOwner: owner === 0n ? 0n : ephemeralKindOf(owner) === EphemeralKind.NORMAL ? owner : 0n,
    dataLength: s.dataLength(i),
    numChildren,
    pzxid: s.pzxid(i),
  };
}

export class DataTree {
  private readonly store = new NodeStore();
  /**
   * Path to node index; the root is under "/" only (getNode maps "" to it). Every node in the
   * store is in it (orphans too), so the tree iterates the store (liveNodes) instead.
   */
  private readonly nodes = new PathIndex(this.store);
  /**
   * Nodes whose parent was deleted while they were on its child list. ZooKeeper's deleteNode
   * does not check for children (prepare does): such nodes stay in the path map but on no
   * parent's list, and a later create at their path replaces them. Normally empty.
   */
  private readonly orphans = new Set<number>();
  readonly aclCache = new AclCache();
  readonly dataWatches = new WatchManager();
  readonly childWatches = new WatchManager();
  /** Events produced since the caller last drained them. */
  events: WatchEvent[] = [];
  private readonly ephemerals = new Map<bigint, Set<string>>();
  /**
   * The largest size each session's ephemeral set ever had: Java keeps that HashSet (and its
   * grown table) until the session dies, and its iteration order depends on the table size.
   */
  private readonly ephemeralsMaxSize = new Map<bigint, number>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  /** Paths that have a quota (the PathTrie of Apache ZooKeeper). */
  private readonly quotaPaths = new Set<string>();
  lastProcessedZxid = 0;
  private dataSize = 0;
  /**
   * When non-null, every path whose node is created, changed or deleted is added here, so the
   * persistence layer can write just those nodes after each applied batch.
   */
  dirty: Set<string> | null = null;
  /** Per-namespace read/write volumes; null (the default) keeps the tree free of metrics. */
  namespaceStats: NamespaceStatsSink | null = null;
  /** zookeeper.digest.enabled: when false no node digest is computed and the digest stays 0. */
  readonly digestEnabled: boolean;
  /** The tree digest, kept up to date by every change (NodeHashMapImpl's AdHash). */
  private readonly hash = new AdHash();
  /** DataTree.digestLog: the digest at every zxid that is a multiple of DIGEST_LOG_INTERVAL. */
  private readonly digestLogEntries: ZxidDigest[] = [];
  /**
   * DataTree.digestFromLoadedSnapshot: the digest a fuzzy snapshot recorded, to be compared
   * when replay reaches its zxid. While it is pending no digest is logged.
   */
  private snapshotDigest: ZxidDigest | null = null;
  private snapshotDigestOverrun = false;
  /**
   * Told the outcome of that comparison: `actual` is null when replay went past the zxid
   * without meeting it (the txn is missing).
   */
  onSnapshotDigestCompared: ((zxid: number, expected: bigint, actual: bigint | null) => void) | null = null;

  constructor(opts: DataTreeOptions = {}) {
    this.digestEnabled = opts.digestEnabled ?? true;
    const root = this.newNode(ROOT_PATH, Buffer.alloc(0), OPEN_UNSAFE_ACL_ID, 0, 0, 0n);
    const proc = this.newNode(PROC_PATH, Buffer.alloc(0), OPEN_UNSAFE_ACL_ID, 0, 0, 0n);
    this.store.appendChild(root, proc);
    this.store.appendChild(proc, this.newNode(QUOTA_ROOT, Buffer.alloc(0), OPEN_UNSAFE_ACL_ID, 0, 0, 0n));
    this.store.appendChild(proc, this.newNode(CONFIG_PATH, Buffer.alloc(0), OPEN_UNSAFE_ACL_ID, 0, 0, 0n));
    // ZOOKEEPER-2014: the config node is read-only by default; setACL with version -1 leaves aversion at -1.
    this.setACL(CONFIG_PATH, READ_ACL_UNSAFE, -1);
    for (const i of this.liveNodes()) {
      const p = this.store.pathOf(i);
      this.dataSize += nodeSize(p, this.store.dataLength(i));
      this.addDigest(p, i);
    }
  }

  // ---- lookups ------------------------------------------------------------------------------

  /** The node at `path`; "" is an alias of the root, as in Apache ZooKeeper. */
  getNode(path: string): ZNode | undefined {
    const i = this.nodes.get(path === '' ? ROOT_PATH : path);
    return i === NIL ? undefined : new ZNode(this.store, i);
  }

  /** The index of the node at `path` ("" is the root), NIL when there is none. */
  private indexOf(path: string): number {
    return this.nodes.get(path === '' ? ROOT_PATH : path);
  }

  /** The indexes of every node in the store, in index order (for a restored tree, source order). */
  private *liveNodes(): IterableIterator<number> {
    const s = this.store;
    for (let i = 0, n = s.indexLimit(); i < n; i++) if (s.pathOf(i) !== '') yield i;
  }

  /** Whether a node exists at `path`, and its ACL list; the read path's check, without a view. */
  aclAt(path: string): AclValue[] | undefined {
    const i = this.nodes.get(path === '' ? ROOT_PATH : path);
    return i === NIL ? undefined : this.aclCache.lookup(this.store.acl[i]!);
  }

  nodeCount(): number {
    return this.nodes.size;
  }

  approximateDataSize(): number {
    return this.dataSize;
  }

  aclOf(n: ZNode): AclValue[] {
    return this.aclCache.lookup(n.acl);
  }

  isSpecialPath(path: string): boolean {
    return path === ROOT_PATH || path === PROC_PATH || path === QUOTA_ROOT || path === CONFIG_PATH;
  }

  childrenOf(n: ZNode): string[] {
    return this.childrenAt(n.index);
  }

  private childrenAt(i: number): string[] {
    return this.store.childCount(i) === 0 ? [] : javaHashSetOrder(this.store.childNames(i), this.store.maxChildren(i));
  }

  /**
   * A copy of a session's ephemeral paths in the order Java's `HashSet.clone()` of the session's
   * set iterates (DataTree.getEphemerals): getEphemerals answers and closeSession's delete order
   * (hence the order of NodeDeleted events) follow it.
   */
  ephemeralsOf(sessionId: bigint): Set<string> {
    const set = this.ephemerals.get(sessionId);
    if (set === undefined || set.size === 0) return new Set();
    const original = javaHashOrder(set, javaHashSetCapacity(this.ephemeralsMaxSize.get(sessionId) ?? set.size, 16));
    return new Set(javaHashOrder(original, javaCloneCapacity(set.size)));
  }

  ephemeralSessions(): IterableIterator<[bigint, Set<string>]> {
    return this.ephemerals.entries();
  }

  ephemeralCount(): number {
    let n = 0;
    for (const s of this.ephemerals.values()) n += s.size;
    return n;
  }

  *allPaths(): IterableIterator<string> {
    for (const i of this.liveNodes()) yield this.store.pathOf(i);
  }

  // ---- reads (FinalRequestProcessor's view) --------------------------------------------------

  getData(path: string, watcher: WatcherId | null): { data: Buffer | null; stat: StatValue } {
    const i = this.indexOf(path);
    if (i === NIL) throw new KeeperError(Err.NONODE);
    if (watcher !== null) this.dataWatches.add(path, watcher);
    if (this.namespaceStats !== null) this.readStat(path, this.store.dataLength(i));
    return { data: this.store.value(i), stat: statAt(this.store, i) };
  }

  statNode(path: string, watcher: WatcherId | null): StatValue {
    const i = this.indexOf(path);
    if (watcher !== null) this.dataWatches.add(path, watcher);
    if (i === NIL) throw new KeeperError(Err.NONODE);
    if (this.namespaceStats !== null) this.readStat(path, 0);
    return statAt(this.store, i);
  }

  getChildren(path: string, watcher: WatcherId | null): { children: string[]; stat: StatValue } {
    const i = this.indexOf(path);
    if (i === NIL) throw new KeeperError(Err.NONODE);
    const children = this.childrenAt(i);
    if (watcher !== null) this.childWatches.add(path, watcher);
    if (this.namespaceStats !== null) {
      let bytes = 0;
      for (const c of children) bytes += c.length;
      this.readStat(path, bytes);
    }
    return { children, stat: statAt(this.store, i) };
  }

  getAllChildrenNumber(path: string): number {
    if (path === ROOT_PATH) return this.nodes.size - 1;
    const prefix = path + '/';
    let count = 0;
    for (const p of this.allPaths()) if (p.startsWith(prefix)) count++;
    return count;
  }

  addWatch(path: string, watcher: WatcherId, mode: number): void {
    const m: WatcherModeValue = mode === 1 ? WatcherMode.PERSISTENT_RECURSIVE : WatcherMode.PERSISTENT;
    this.dataWatches.add(path, watcher, m);
    this.childWatches.add(path, watcher, m);
  }

  /** DataTree.setWatches: re-arms a reconnecting client's watches, firing what it missed. */
  setWatches(
    relativeZxid: number,
    dataWatches: string[],
    existWatches: string[],
    childWatches: string[],
    persistentWatches: string[],
    persistentRecursiveWatches: string[],
    watcher: WatcherId,
  ): void {
    for (const path of dataWatches) {
      const i = this.indexOf(path);
      if (i === NIL) this.events.push({ watcher, type: EventType.NodeDeleted, path });
      else if (this.store.mzxid[i]! > relativeZxid) this.events.push({ watcher, type: EventType.NodeDataChanged, path });
      else this.dataWatches.add(path, watcher);
    }
    for (const path of existWatches) {
      if (this.indexOf(path) !== NIL) this.events.push({ watcher, type: EventType.NodeCreated, path });
      else this.dataWatches.add(path, watcher);
    }
    for (const path of childWatches) {
      const i = this.indexOf(path);
      if (i === NIL) this.events.push({ watcher, type: EventType.NodeDeleted, path });
      else if (this.store.pzxid(i) > relativeZxid) this.events.push({ watcher, type: EventType.NodeChildrenChanged, path });
      else this.childWatches.add(path, watcher);
    }
    for (const path of persistentWatches) {
      this.childWatches.add(path, watcher, WatcherMode.PERSISTENT);
      this.dataWatches.add(path, watcher, WatcherMode.PERSISTENT);
    }
    for (const path of persistentRecursiveWatches) {
      this.childWatches.add(path, watcher, WatcherMode.PERSISTENT_RECURSIVE);
      this.dataWatches.add(path, watcher, WatcherMode.PERSISTENT_RECURSIVE);
    }
  }

  /** WatcherType: 1 children, 2 data, 3 any. */
  containsWatcher(path: string, type: number, watcher: WatcherId): boolean {
    const c = type !== 2 && this.childWatches.contains(path, watcher);
    const d = type !== 1 && this.dataWatches.contains(path, watcher);
    return c || d;
  }

  removeWatch(path: string, type: number, watcher: WatcherId): boolean {
    const c = type !== 2 && this.childWatches.removeWatch(path, watcher);
    const d = type !== 1 && this.dataWatches.removeWatch(path, watcher);
    return c || d;
  }

  removeWatcher(watcher: WatcherId): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }

  watchCount(): number {
    return this.dataWatches.size() + this.childWatches.size();
  }

  private fire(mgr: WatchManager, path: string, type: number, suppress?: ReadonlySet<WatcherId>): ReadonlySet<WatcherId> {
    const fired = mgr.trigger(path, type);
    for (const w of fired) if (suppress === undefined || !suppress.has(w)) this.events.push({ watcher: w, type, path });
    return fired;
  }

  // ---- digest and namespace statistics ------------------------------------------------------

  /** NodeHashMapImpl.addDigest / postChange: (re)computes the node's digest and adds it. */
  private addDigest(path: string, i: number, data: Buffer | null = this.store.value(i)): void {
    if (!this.digestEnabled) return;
    const s = this.store;
    const d = nodeDigestOf(path, data, s.czxid[i]!, s.mzxid[i]!, s.pzxid(i), s.ctime[i]!, s.mtime[i]!, s.version[i]!, s.cversion(i), s.aversion[i]!, s.ownerOf(i));
    s.digest[i] = d;
    this.hash.add(d);
  }

  /** NodeHashMapImpl.removeDigest / preChange: takes out what the node last added. */
  private removeDigest(i: number): void {
    if (this.digestEnabled) this.hash.remove(this.store.digest[i]!);
  }

  /** DataTree.getTreeDigest: a Java long; 0 when digests are off. */
  treeDigest(): bigint {
    return this.hash.value();
  }

  /** The digest computed again from every node, for checks: it must equal treeDigest(). */
  treeDigestFromScratch(): bigint {
    return this.digestEnabled ? digestOfNodes(this.allNodes()) : 0n;
  }

  /** DataTree.getDigestLog: a copy, oldest first. */
  digestLog(): ZxidDigest[] {
    return this.digestLogEntries.slice();
  }

  /** DataTree.logZxidDigest, for the digest log (ZooKeeper logs 0s when digests are off). */
  private logZxidDigest(zxid: number): void {
    if (zxid % DIGEST_LOG_INTERVAL !== 0) return;
    this.digestLogEntries.push({ zxid, digestVersion: DIGEST_VERSION, digest: this.hash.value() });
    if (this.digestLogEntries.length > DIGEST_LOG_LIMIT) this.digestLogEntries.shift();
  }

  /**
   * DataTree.deserializeZxidDigest plus FileSnap's immediate check: takes the digest a loaded
   * snapshot recorded. One older than the snapshot is ignored; one at the snapshot's own zxid
   * is compared now; a later one (the snapshot is fuzzy) when replay applies that zxid.
   */
  setSnapshotDigest(d: ZxidDigest | null, snapshotZxid: number): void {
    this.snapshotDigest = null;
    this.snapshotDigestOverrun = false;
    if (!this.digestEnabled || d === null || d.zxid <= 0 || d.zxid < snapshotZxid) return;
    this.snapshotDigest = d;
    this.compareSnapshotDigest(snapshotZxid);
  }

  /** The snapshot digest replay has not reached yet (FileTxnSnapLog.restore warns about it). */
  pendingSnapshotDigest(): ZxidDigest | null {
    return this.snapshotDigest;
  }

  /** DataTree.compareSnapshotDigests. */
  private compareSnapshotDigest(zxid: number): void {
    const d = this.snapshotDigest!;
    if (zxid === d.zxid) {
      this.snapshotDigest = null;
      // A different digest version means a different formula: nothing to compare.
      if (d.digestVersion === DIGEST_VERSION) this.onSnapshotDigestCompared?.(zxid, d.digest, this.hash.value());
    } else if (zxid > d.zxid && !this.snapshotDigestOverrun) {
      // ZooKeeper stays "fuzzy" (logs no digest) from here on; it rate-limits its complaint.
      this.snapshotDigestOverrun = true;
      this.onSnapshotDigestCompared?.(d.zxid, d.digest, null);
    }
  }

  private readStat(path: string, bytes: number): void {
    const ns = topNamespace(path);
    if (ns !== null) this.namespaceStats!.read(ns, path.length + bytes + STAT_OVERHEAD_BYTES);
  }

  private writeStat(path: string, bytes: number): void {
    if (this.namespaceStats === null) return;
    const ns = topNamespace(path);
    if (ns !== null) this.namespaceStats.write(ns, path.length + bytes);
  }

  // ---- mutations ----------------------------------------------------------------------------

  private markDirty(path: string): void {
    if (this.dirty !== null) this.dirty.add(path === '' ? ROOT_PATH : path);
  }

  /** A node with no children, inserted into the path map (not linked to its parent). */
  private newNode(path: string, data: Buffer | null, acl: number, zxid: number, time: number, ephemeralOwner: bigint): number {
    const s = this.store;
    const i = s.allocate(path);
    s.setValue(i, data);
    s.acl[i] = acl;
    s.czxid[i] = zxid;
    s.mzxid[i] = zxid;
    s.ctime[i] = time;
    s.mtime[i] = time;
    s.version[i] = 0;
    s.aversion[i] = 0;
    s.setOwner(i, ephemeralOwner);
    this.nodes.set(path, i);
    return i;
  }

  /** Frees a replaced orphan; its own children become orphans. */
  private freeOrphan(i: number): void {
    this.orphans.delete(i);
    for (const c of this.store.childIndexes(i)) this.orphans.add(c);
    this.store.free(i);
  }

  createNode(
    path: string,
    data: Buffer | null,
    acl: AclValue[] | null,
    ephemeralOwner: bigint,
    parentCVersion: number,
    zxid: number,
    time: number,
  ): StatValue {
    const s = this.store;
    const parentName = parentOf(path);
    const childName = childNameOf(path);
    const parent = this.indexOf(parentName);
    if (parent === NIL) throw new KeeperError(Err.NONODE);
    const aclIndex = this.aclCache.intern(acl);
    // A node at this path is on the parent's child list (ZooKeeper's `children.contains`)
    // unless it is an orphan.
    const existing = this.nodes.get(path);
    if (existing !== NIL) {
      // The interned reference stays counted, as in Apache ZooKeeper (fuzzy-snapshot replay).
      if (!this.orphans.has(existing)) throw new KeeperError(Err.NODEEXISTS);
      // ZooKeeper's nodes.put replaces the orphan without undoing its counts or digest.
      this.nodes.delete(path);
      this.freeOrphan(existing);
    }
    this.removeDigest(parent);
    let cv = parentCVersion;
    if (cv === -1) cv = s.cversion(parent) + 1;
    if (cv > s.cversion(parent)) {
      s.setCversion(parent, cv);
      s.setPzxid(parent, zxid);
    }
    const child = this.newNode(path, data, aclIndex, zxid, time, ephemeralOwner);
    s.appendChild(parent, child);
    this.addDigest(parentName, parent);
    this.addDigest(path, child, data);
    this.markDirty(parentName);
    this.markDirty(path);
    const dataLength = data === null ? 0 : data.length;
    this.dataSize += nodeSize(path, dataLength);
    const kind = ephemeralKindOf(ephemeralOwner);
    if (kind === EphemeralKind.CONTAINER) this.containers.add(path);
    else if (kind === EphemeralKind.TTL) this.ttls.add(path);
    else if (ephemeralOwner !== 0n) {
      let set = this.ephemerals.get(ephemeralOwner);
      if (set === undefined) {
        set = new Set();
        this.ephemerals.set(ephemeralOwner, set);
      }
      set.add(path);
      this.ephemeralsMaxSize.set(ephemeralOwner, Math.max(this.ephemeralsMaxSize.get(ephemeralOwner) ?? 0, set.size));
    }
    if (parentName.startsWith(QUOTA_ROOT)) {
      if (childName === LIMIT_NODE) this.quotaPaths.add(parentName.substring(QUOTA_ROOT.length));
      if (childName === STAT_NODE) this.updateQuotaForPath(parentName.substring(QUOTA_ROOT.length));
    }
    const quotaPrefix = this.maxPrefixWithQuota(path);
    if (quotaPrefix !== null) this.updateQuotaStat(quotaPrefix, dataLength, 1);
    this.writeStat(path, dataLength);
    this.fire(this.dataWatches, path, EventType.NodeCreated);
    this.fire(this.childWatches, parentName === '' ? '/' : parentName, EventType.NodeChildrenChanged);
    return statAt(s, child);
  }

  deleteNode(path: string, zxid: number): void {
    const s = this.store;
    const parentName = parentOf(path);
    const childName = childNameOf(path);
    const parent = this.indexOf(parentName);
    if (parent === NIL) throw new KeeperError(Err.NONODE);
    const node = this.nodes.get(path);
    // As in ZooKeeper, the parent's pzxid moves even when the child turns out to be missing.
    this.removeDigest(parent);
    if (node !== NIL && !this.orphans.delete(node)) s.unlinkChild(parent, node);
    if (zxid > s.pzxid(parent)) s.setPzxid(parent, zxid);
    this.addDigest(parentName, parent);
    this.markDirty(parentName);
    if (node === NIL) throw new KeeperError(Err.NONODE);
    this.nodes.delete(path);
    this.removeDigest(node);
    this.markDirty(path);
    this.aclCache.removeUsage(s.acl[node]!);
    const dataLength = s.dataLength(node);
    this.dataSize -= nodeSize(path, dataLength);
    const owner = s.ownerOf(node);
    for (const c of s.childIndexes(node)) this.orphans.add(c);
    s.free(node);
    const kind = ephemeralKindOf(owner);
    if (kind === EphemeralKind.CONTAINER) this.containers.delete(path);
    else if (kind === EphemeralKind.TTL) this.ttls.delete(path);
    else if (owner !== 0n) {
      const set = this.ephemerals.get(owner);
      if (set !== undefined) {
        set.delete(path);
        if (set.size === 0) this.ephemerals.delete(owner);
      }
    }
    if (parentName.startsWith(PROC_PATH) && childName === LIMIT_NODE) {
      this.quotaPaths.delete(parentName.substring(QUOTA_ROOT.length));
    }
    const quotaPrefix = this.maxPrefixWithQuota(path);
    if (quotaPrefix !== null) this.updateQuotaStat(quotaPrefix, -dataLength, -1);
    this.writeStat(path, 0);
    const processed = this.fire(this.dataWatches, path, EventType.NodeDeleted);
    this.fire(this.childWatches, path, EventType.NodeDeleted, processed);
    this.fire(this.childWatches, parentName === '' ? '/' : parentName, EventType.NodeChildrenChanged);
  }

  setData(path: string, data: Buffer | null, version: number, zxid: number, time: number): StatValue {
    const s = this.store;
    const i = this.indexOf(path);
    if (i === NIL) throw new KeeperError(Err.NONODE);
    const lastLength = s.dataLength(i);
    this.removeDigest(i);
    s.setValue(i, data);
    s.mtime[i] = time;
    s.mzxid[i] = zxid;
    s.version[i] = version;
    this.addDigest(path, i, data);
    this.markDirty(path);
    const stat = statAt(s, i);
    const dataLength = data === null ? 0 : data.length;
    const quotaPrefix = this.maxPrefixWithQuota(path);
    if (quotaPrefix !== null) this.updateQuotaStat(quotaPrefix, dataLength - lastLength, 0);
    this.dataSize += nodeSize(path, dataLength) - nodeSize(path, lastLength);
    this.writeStat(path, dataLength);
    this.fire(this.dataWatches, path, EventType.NodeDataChanged);
    return stat;
  }

  setACL(path: string, acl: AclValue[], version: number): StatValue {
    const s = this.store;
    const i = this.indexOf(path);
    if (i === NIL) throw new KeeperError(Err.NONODE);
    this.aclCache.removeUsage(s.acl[i]!);
    this.removeDigest(i);
    s.aversion[i] = version;
    s.acl[i] = this.aclCache.intern(acl);
    this.addDigest(path, i);
    this.markDirty(path);
    return statAt(s, i);
  }

  private setCversionPzxid(path: string, newCversion: number, zxid: number): void {
    const s = this.store;
    const p = path.endsWith('/') ? path.substring(0, path.length - 1) : path;
    const i = this.indexOf(p);
    if (i === NIL) throw new KeeperError(Err.NONODE, p);
    const cv = newCversion === -1 ? s.cversion(i) + 1 : newCversion;
    if (cv > s.cversion(i)) {
      this.removeDigest(i);
      s.setCversion(i, cv);
      s.setPzxid(i, zxid);
      this.addDigest(p, i);
      this.markDirty(p);
    }
  }

  /**
   * Deletes a session's ephemerals (DataTree.killSession). Called without a txn only at load,
   * for sessions that no longer exist (ZooKeeperServer.loadData): no zxid, no digest log entry.
   */
  killSession(sessionId: bigint, zxid: number, pathsInTxn: string[] | null = null): void {
    const local = this.ephemerals.get(sessionId);
    this.ephemerals.delete(sessionId);
    this.ephemeralsMaxSize.delete(sessionId);
    const remaining = local === undefined ? null : new Set(local);
    if (pathsInTxn !== null) {
      for (const p of pathsInTxn) {
        this.deleteIgnoringMissing(p, zxid);
        remaining?.delete(p);
      }
    }
    if (remaining !== null) for (const p of remaining) this.deleteIgnoringMissing(p, zxid);
  }

  private deleteIgnoringMissing(path: string, zxid: number): void {
    try {
      this.deleteNode(path, zxid);
    } catch (e) {
      if (!(e instanceof KeeperError && e.code === Err.NONODE)) throw e;
    }
  }

  // ---- txns ---------------------------------------------------------------------------------

  processTxn(txn: Txn): ProcessTxnResult {
    return this.processTxnBody(txn.hdr, txn.body, false);
  }

  private processTxnBody(hdr: TxnHeaderValue, body: TxnBody, isSubTxn: boolean): ProcessTxnResult {
    const rc: ProcessTxnResult = {
      clientId: hdr.clientId,
      cxid: hdr.cxid,
      zxid: hdr.zxid,
      type: hdr.type,
      err: 0,
      path: null,
      stat: null,
      multiResult: null,
    };
    try {
      switch (body.type) {
        case OpCode.create:
        case OpCode.create2: {
          const t = body.record;
          rc.path = t.path;
          const stat = this.createNode(
            t.path,
            t.data,
            t.acl,
            t.ephemeral ? hdr.clientId : 0n,
            t.parentCVersion,
            hdr.zxid,
            hdr.time,
          );
          if (hdr.type === OpCode.create2) rc.stat = stat;
          break;
        }
        case OpCode.createTTL: {
          const t = body.record;
          rc.path = t.path;
          rc.stat = this.createNode(t.path, t.data, t.acl, TTL_EPHEMERAL_MASK | BigInt(t.ttl), t.parentCVersion, hdr.zxid, hdr.time);
          break;
        }
        case OpCode.createContainer: {
          const t = body.record;
          rc.path = t.path;
          rc.stat = this.createNode(t.path, t.data, t.acl, CONTAINER_EPHEMERAL_OWNER, t.parentCVersion, hdr.zxid, hdr.time);
          break;
        }
        case OpCode.delete:
        case OpCode.deleteContainer:
          rc.path = body.record.path;
          this.deleteNode(body.record.path, hdr.zxid);
          break;
        case OpCode.setData:
        case OpCode.reconfig:
          rc.path = body.record.path;
          rc.stat = this.setData(body.record.path, body.record.data, body.record.version, hdr.zxid, hdr.time);
          break;
        case OpCode.setACL:
          rc.path = body.record.path;
          rc.stat = this.setACL(body.record.path, body.record.acl, body.record.version);
          break;
        case OpCode.closeSession:
          this.killSession(hdr.clientId, hdr.zxid, body.record === null ? null : body.record.paths2Delete);
          break;
        case OpCode.error:
          rc.err = body.record.err;
          break;
        case OpCode.check:
          rc.path = body.record.path;
          break;
        case OpCode.createSession:
          break;
        case OpCode.multi: {
          const txns = body.record.txns;
          rc.multiResult = [];
          const failed = txns.some((t) => t.type === OpCode.error);
          let postFailed = false;
          for (const sub of txns) {
            let effective: TxnBody = sub;
            if (sub.type === OpCode.error) postFailed = true;
            else if (failed) {
              effective = { type: OpCode.error, record: { err: postFailed ? Err.RUNTIMEINCONSISTENCY : Err.OK } };
            }
            const subHdr: TxnHeaderValue = { ...hdr, type: effective.type };
            const subRc = this.processTxnBody(subHdr, effective, true);
            rc.multiResult.push(subRc);
            if (subRc.err !== 0 && rc.err === 0) rc.err = subRc.err;
          }
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      rc.err = e.code;
    }
    // Replaying a create whose node survived in a fuzzy snapshot: adopt the txn's cversion/pzxid.
    if (hdr.type === OpCode.create && rc.err === Err.NODEEXISTS && body.type === OpCode.create) {
      try {
        this.setCversionPzxid(parentOf(rc.path!), body.record.parentCVersion, hdr.zxid);
      } catch (e) {
        if (!(e instanceof KeeperError)) throw e;
        rc.err = e.code;
      }
    }
    if (!isSubTxn) {
      if (rc.zxid > this.lastProcessedZxid) this.lastProcessedZxid = rc.zxid;
      // Only once the whole txn is applied, as in ZooKeeper (a multi is one entry).
      if (this.snapshotDigest !== null) this.compareSnapshotDigest(rc.zxid);
      else this.logZxidDigest(rc.zxid);
    }
    return rc;
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /**
   * Replaces the whole tree with the nodes of a snapshot (DataTree.deserialize): links every
   * node to its parent, rebuilds the ephemeral, container, TTL and quota indexes and interns the
   * ACLs. `acl` null is the OPEN_ACL_UNSAFE marker (-1) of the ACL cache. Throws when a node's
   * parent is missing, as ZooKeeper does ("Invalid Datatree").
   */
  restore(entries: Iterable<RestoredNode>, lastZxid: number, opts: { dropOrphans?: boolean; expectedCount?: number } = {}): string[] {
    const s = this.store;
    const dropped: string[] = [];
    for (const i of this.liveNodes()) this.aclCache.removeUsage(s.acl[i]!);
    this.nodes.clear();
    this.orphans.clear();
    s.clear();
    // Columns of the right size at once: growing them from empty copies each ~3 times over, and
    // every copy is external memory that pushes V8 towards a full collection mid-load.
    if (opts.expectedCount !== undefined) {
      s.reserve(opts.expectedCount);
      this.nodes.reserve(opts.expectedCount);
    }
    this.clearRestoreIndexes();
    // Snapshot readers hand the same array for the same ACL list; intern each array once.
    const interned = new Map<AclValue[], number>();
    // Usages of the ACL of the previous entries, added to the cache in one step when the list
    // changes (consecutive nodes usually share their list).
    let usageIndex = OPEN_UNSAFE_ACL_ID;
    let usageCount = 0;
    // Sources list parents before children (the store is sorted by path, and a parent's path
    // is a prefix of its children's; ZooKeeper snapshots are written parents first), so each
    // node is linked to its parent as it arrives, and consecutive siblings reuse the parent
    // found for the first of them. A node whose parent is not there yet, or a path seen twice,
    // makes the links be rebuilt at the end in one pass over the whole tree, exactly as they
    // were always built, so the outcome never depends on the order of the source.
    let relink = false;
    // The paths below /zookeeper/quota, so the quota index is rebuilt without a pass over the tree.
    const quotaSubtree: string[] = [];
    let parentPrefix = '';
    let parent = NIL;
    for (const e of entries) {
      const p = e.path === '' ? ROOT_PATH : e.path;
      let acl = e.acl === null ? OPEN_UNSAFE_ACL_ID : interned.get(e.acl);
      if (acl === undefined) {
        acl = this.aclCache.intern(e.acl);
        interned.set(e.acl!, acl);
      } else if (acl === usageIndex) {
        usageCount++;
      } else {
        this.aclCache.addUsage(usageIndex, usageCount);
        usageIndex = acl;
        usageCount = 1;
      }
      // A path seen twice keeps its first position (its index: the freed one is reused at
      // once) and its last content (and the links are rebuilt at the end: the earlier node may
      // have had children already).
      const old = this.nodes.get(p);
      if (old !== NIL) {
        this.nodes.delete(p);
        s.free(old);
        relink = true;
      }
      // Every field is copied: a source may refill one entry object for every node.
      const i = s.allocate(p);
      s.setValue(i, e.data);
      s.acl[i] = acl;
      s.czxid[i] = e.czxid;
      s.mzxid[i] = e.mzxid;
      s.ctime[i] = e.ctime;
      s.mtime[i] = e.mtime;
      s.version[i] = e.version;
      s.setCversion(i, e.cversion);
      s.aversion[i] = e.aversion;
      s.setOwner(i, e.ephemeralOwner);
      s.setPzxid(i, e.pzxid);
      if (this.digestEnabled) {
        s.digest[i] =
          e.digest ?? nodeDigestOf(p, e.data, e.czxid, e.mzxid, e.pzxid, e.ctime, e.mtime, e.version, e.cversion, e.aversion, e.ephemeralOwner);
      }
      if (p.startsWith(QUOTA_SUBTREE_PREFIX)) quotaSubtree.push(p);
      this.nodes.set(p, i);
      if (relink) continue;
      if (p !== ROOT_PATH) {
        const slash = p.lastIndexOf('/');
        if (slash !== parentPrefix.length || parent === NIL || !p.startsWith(parentPrefix)) {
          parentPrefix = p.substring(0, slash);
          parent = this.indexOf(slash === 0 ? ROOT_PATH : parentPrefix);
          if (parent === NIL) {
            relink = true;
            continue;
          }
        }
        s.appendChild(parent, i);
      }
      this.indexRestored(p, i);
    }
    this.aclCache.addUsage(usageIndex, usageCount);
    if (!this.nodes.has(ROOT_PATH)) throw new Error('Invalid Datatree: the snapshot has no root node');
    if (relink) {
      if (opts.dropOrphans === true) this.dropOrphans(dropped);
      s.resetChildLinks();
      this.clearRestoreIndexes();
      for (const i of this.liveNodes()) {
        const p = s.pathOf(i);
        if (p !== ROOT_PATH) {
          const parent = this.indexOf(parentOf(p));
          if (parent === NIL) throw new Error(`Invalid Datatree, unable to find parent ${parentOf(p)} of path ${p}`);
          s.appendChild(parent, i);
        }
        this.indexRestored(p, i);
      }
    }
    // A path given twice is listed twice: setupQuotaFrom's work per path is idempotent.
    this.setupQuotaFrom(quotaSubtree.filter((p) => this.nodes.has(p)));
    this.lastProcessedZxid = lastZxid;
    return dropped;
  }

  /**
   * restore() of a fuzzy source (the snapshot store between two consistent points): removes
   * every node whose parent is missing, and so on down, and lists their paths in `dropped`.
   * That is exact, not a repair: a node stored without its parent is either gone by the end of
   * the log, or its parent's creation and its own come later in the log, and replay makes them.
   */
  private dropOrphans(dropped: string[]): void {
    const s = this.store;
    // Parents may come after their children in the source (hashed long paths), so sweep until
    // a pass drops nothing; each pass drops at least one level, so depth bounds the passes.
    for (let changed = true; changed; ) {
      changed = false;
      for (const i of this.liveNodes()) {
        const p = s.pathOf(i);
        if (p === ROOT_PATH || this.indexOf(parentOf(p)) !== NIL) continue;
        this.nodes.delete(p);
        this.aclCache.removeUsage(s.acl[i]!);
        s.free(i);
        dropped.push(p);
        changed = true;
      }
    }
  }

  /** Empties what restore() rebuilds from the nodes (besides the nodes and their links). */
  private clearRestoreIndexes(): void {
    this.ephemerals.clear();
    this.ephemeralsMaxSize.clear();
    this.containers.clear();
    this.ttls.clear();
    this.dataSize = 0;
    this.hash.clear();
  }

  /** restore(): counts a node into the data size and digest and the ephemeral, container and TTL indexes. */
  private indexRestored(p: string, i: number): void {
    const s = this.store;
    this.dataSize += nodeSize(p, s.dataLength(i));
    // The node's digest was set when it was restored (0 when digests are off).
    if (this.digestEnabled) this.hash.add(s.digest[i]!);
    const owner = s.ownerOf(i);
    if (owner === 0n) return;
    const kind = ephemeralKindOf(owner);
    if (kind === EphemeralKind.CONTAINER) this.containers.add(p);
    else if (kind === EphemeralKind.TTL) this.ttls.add(p);
    else {
      let set = this.ephemerals.get(owner);
      if (set === undefined) {
        set = new Set();
        this.ephemerals.set(owner, set);
      }
      set.add(p);
    }
  }

  /** Every node with its path, in no particular order (snapshot writers). */
  *allNodes(): IterableIterator<[string, ZNode]> {
    for (const i of this.liveNodes()) yield [this.store.pathOf(i), new ZNode(this.store, i)];
  }

  // ---- quotas -------------------------------------------------------------------------------

  /** The deepest quota root that is a prefix of `path` (by components), or null. */
  maxPrefixWithQuota(path: string): string | null {
    if (this.quotaPaths.size === 0) return null;
    let best: string | null = null;
    let i = 0;
    while (i >= 0 && i < path.length) {
      const next = path.indexOf('/', i + 1);
      const prefix = next < 0 ? path : path.substring(0, next);
      if (prefix.length > 1 && this.quotaPaths.has(prefix)) best = prefix;
      i = next;
    }
    return best === '/' ? null : best;
  }

  private updateQuotaStat(prefix: string, bytesDiff: number, countDiff: number): void {
    const statNode = this.indexOf(`${QUOTA_ROOT}${prefix}/${STAT_NODE}`);
    if (statNode === NIL) return;
    const s = parseStats(this.store.value(statNode));
    s.set('count', (s.get('count') ?? -1) + countDiff);
    s.set('bytes', (s.get('bytes') ?? -1) + bytesDiff);
    // Stat nodes live below /zookeeper/, which the digest leaves out, so their digest is 0 and
    // needs no update (ZooKeeper changes them outside txns for the same reason).
    this.store.setValue(statNode, Buffer.from(formatStats(s), 'utf8'));
    this.markDirty(`${QUOTA_ROOT}${prefix}/${STAT_NODE}`);
  }

  private updateQuotaForPath(path: string): void {
    let count = 0;
    let bytes = 0;
    const visit = (p: string): void => {
      const i = this.indexOf(p);
      if (i === NIL) return;
      count++;
      bytes += this.store.dataLength(i);
      for (const c of this.store.childNames(i)) visit(p === '/' ? `/${c}` : `${p}/${c}`);
    };
    visit(path);
    const statNode = this.indexOf(`${QUOTA_ROOT}${path}/${STAT_NODE}`);
    if (statNode === NIL) return;
    this.markDirty(`${QUOTA_ROOT}${path}/${STAT_NODE}`);
    this.store.setValue(
      statNode,
      Buffer.from(
        formatStats(
          new Map([
            ['count', count],
            ['bytes', bytes],
          ]),
        ),
        'utf8',
      ),
    );
  }

  /** Rebuilds the quota index from /zookeeper/quota after a snapshot load. */
  setupQuota(): void {
    this.setupQuotaFrom(this.allPaths());
  }

  /** setupQuota over `paths`, which hold at least every path below /zookeeper/quota. */
  private setupQuotaFrom(paths: Iterable<string>): void {
    this.quotaPaths.clear();
    const suffix = `/${LIMIT_NODE}`;
    for (const p of paths) {
      if (p.startsWith(QUOTA_ROOT + '/') && p.endsWith(suffix)) {
        const real = p.substring(QUOTA_ROOT.length, p.length - suffix.length);
        this.updateQuotaForPath(real);
        this.quotaPaths.add(real);
      }
    }
  }

  ttlOf(n: ZNode): number {
    return ttlOf(n.ephemeralOwner);
  }
}

/** The start of every path setupQuota looks at. */
const QUOTA_SUBTREE_PREFIX = `${QUOTA_ROOT}/`;

/** DataTree.getNodeSize: what `zk_approximate_data_size` adds up. */
function nodeSize(path: string, dataLength: number): number {
  return path.length + dataLength;
}
