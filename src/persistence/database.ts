/**
 * Opening, recovering and keeping the server's durable state (Apache ZooKeeper's ZKDatabase
 * and FileTxnSnapLog, for our storage layout; see docs/storage.md):
 *
 *   open:    check the directories ─► load the LMDB store (or import a ZooKeeper snapshot, or
 *            start empty) ─► replay the txn log after the store's zxid ─► write what replay
 *            changed back to the store ─► hand tree, sessions and the log stage to the server
 *   running: txn log = the LogStage (durable before reply); after each round of applied txns
 *            the changed nodes and sessions go to the store; autopurge drops old logs
 *   close:   wait for the log and the store to finish, close both
 *
 * A torn write at the end of the last log (a crash mid-write; nothing in it was acknowledged)
 * is cut off with a warning. Damage anywhere else stops startup with StorageError naming the
 * file and offset: silently dropping acknowledged txns is worse than not starting.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OpCode } from '../protocol/constants';
import type { Logger, ZooKeeperServer } from '../server/zookeeper-server';
import { DataTree } from '../tree/data-tree';
import type { Txn } from '../tree/txn';
import { LMDB_FILE_NAME, LmdbStore } from './lmdb-store';
import { listSnapshotFiles, purge } from './purge';
import { FileTxnLog, isOutOfSpace, listLogFiles } from './txn-log';
import { FILE_HEADER_BYTES, LOG_FILE_PREFIX, LogFormatError, makeFileName, scanLog, VERSION_DIR } from './txn-log-format';
import { loadNewestZkSnapshot } from './zk-snapshot';

/** How often a store commit that failed for lack of space is tried again. */
const STORE_RETRY_MS = 1000;

/**
 * LMDB reports a full disk as ENOSPC, or as EIO (errno 5) when the write that failed was its own
 * page flush. Either is retried: the store is only a cache of the txn log, and a disk that is
 * really broken fails the txn log too, which is fatal there.
 */
function storeOutOfSpace(e: unknown): boolean {
  if (e === null || e === undefined) return false;
  if (isOutOfSpace(e)) return true;
  // lmdb-js's own error for a failed commit; the system error is in its commitError.
  if (e instanceof Error && e.message.startsWith('Commit failed')) return true;
  const code = (e as { code?: unknown }).code;
  if (code === 5 || code === 'EIO' || code === 28) return true;
  return /ENOSPC|No space left|MDB_MAP_FULL|Disk quota|Input\/output error/i.test(String((e as Error).message ?? e));
}

/** An operating error of the storage layer: bad directories, damaged files. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
}

export interface StorageConfig {
  dataDir: string;
  dataLogDir: string;
  snapCount: number;
  preAllocSizeKb: number;
  forceSync: boolean;
  fsyncWarningThresholdMs: number;
  snapRetainCount: number;
  purgeIntervalHours: number;
  /** zookeeper.digest.enabled (default true): the tree keeps its digest. */
  digestEnabled?: boolean;
}

export function snapDirOf(cfg: Pick<StorageConfig, 'dataDir'>): string {
  return path.join(cfg.dataDir, VERSION_DIR);
}

export function logDirOf(cfg: Pick<StorageConfig, 'dataLogDir'>): string {
  return path.join(cfg.dataLogDir, VERSION_DIR);
}

/** Creates `dir` if needed and checks that we can create files in it. */
export function ensureWritableDir(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new StorageError(`cannot create ${what} ${dir}: ${(e as Error).message}`);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new StorageError(`cannot access ${what} ${dir}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new StorageError(`${what} ${dir} is not a directory`);
  // access(W_OK) says yes to root on a read-only mount; creating a file is the real test.
  const probe = path.join(dir, `.zkts-write-probe-${process.pid}`);
  try {
    fs.writeFileSync(probe, '');
    fs.unlinkSync(probe);
  } catch (e) {
    throw new StorageError(`${what} ${dir} is not writable: ${(e as Error).message}`);
  }
}

interface ReplayResult {
  lastZxid: number;
  applied: number;
}

/**
 * Replays every logged txn after `afterZxid` into `tree` and `sessions`, repairing a torn tail
 * of the last file. Throws StorageError on damage that is not a torn tail, and on a gap in the
 * zxid sequence (a missing log file).
 */
export function replayLogs(
  logDir: string,
  afterZxid: number,
  tree: DataTree,
  sessions: Map<bigint, number>,
  logger: Logger,
  repair = true,
): ReplayResult {
  const files = listLogFiles(logDir);
  // FileTxnLog.getLogFiles: start with the newest file that begins at or before the snapshot.
  let start = 0;
  for (let i = 0; i < files.length; i++) if (files[i]!.zxid <= afterZxid) start = i;
  let last = afterZxid;
  let applied = 0;
  for (let i = start; i < files.length; i++) {
    const f = files[i]!;
    const file = path.join(logDir, f.name);
    const isLast = i === files.length - 1;
    const log = readLogData(file);
    let buf = log.buf;
    const onTxn = (txn: Txn, offset: number): void => {
      const z = txn.hdr.zxid;
      if (z <= last) return; // already covered (a file that overlaps the previous one)
      const sameEpoch = Math.floor(z / 2 ** 32) === Math.floor(last / 2 ** 32);
      if (sameEpoch && z !== last + 1) {
        throw new StorageError(
          `txn log ${file} at offset ${offset} continues at zxid 0x${z.toString(16)} but the last applied zxid is ` +
            `0x${last.toString(16)}: txns are missing (was a log file deleted?)`,
        );
      }
      applyReplayed(tree, sessions, txn);
      last = z;
      applied++;
    };
    let scan;
    try {
      scan = scanLog(buf, afterZxid, onTxn);
      if (scan.damage !== null && buf.length < log.fileBytes) {
        // Damage judged on the bytes before the zero tail: judge it again on the whole file,
        // so that the verdict and message are exactly those of a full read. Txns applied by
        // the first scan are skipped (their zxids are not above `last`).
        buf = fs.readFileSync(file);
        scan = scanLog(buf, afterZxid, onTxn);
      }
    } catch (e) {
      if (e instanceof LogFormatError) throw new StorageError(`txn log ${file} is not a ZooKeeper txn log: ${e.message}`);
      throw e;
    }
    if (!scan.headerComplete) {
      if (!repair) continue;
      if (!isLast) throw new StorageError(`txn log ${file} is shorter than its header but is not the newest log file`);
      logger.warn({ file, bytes: log.fileBytes }, 'removing a log file whose header was never completely written (crash while creating it)');
      fs.unlinkSync(file);
      continue;
    }
    if (scan.damage === null && scan.txnCount === 0 && isLast && repair) {
      // A crash after the header of a new file was written but before its first batch: the
      // next file would get the same name, so this empty one must go.
      logger.warn({ file }, 'removing a log file that holds no txn (crash right after creating it)');
      fs.unlinkSync(file);
      continue;
    }
    if (scan.damage !== null) {
      const d = scan.damage;
      const laterHasTxns = files.slice(i + 1).some((g) => fs.statSync(path.join(logDir, g.name)).size > FILE_HEADER_BYTES);
      if (d.followedByValid || laterHasTxns) {
        throw new StorageError(
          `txn log ${file} is corrupt at offset ${d.offset} (${d.reason}) and intact txns follow it; refusing to start. ` +
            'Restore the file, or cut it at that offset (TxnLogToolkit --chop) if losing the txns after it is acceptable.',
        );
      }
      if (!repair) {
        logger.warn({ file, offset: d.offset, reason: d.reason }, 'the txn log ends in a torn write; reading stops there');
        continue;
      }
      logger.warn(
        { file, offset: d.offset, reason: d.reason, droppedBytes: log.fileBytes - d.offset },
        'truncating a torn write at the end of the txn log (a crash during an unacknowledged write)',
      );
      if (d.offset <= FILE_HEADER_BYTES) {
        // Nothing good in the file: remove it, or the next file (same first zxid) could not be created.
        fs.unlinkSync(file);
      } else {
        fs.truncateSync(file, d.offset);
      }
    }
  }
  return { lastZxid: last, applied };
}

/** Files are read backwards in pieces of this size to find where their zero tail starts. */
const TAIL_PROBE_BYTES = 1024 * 1024;
/** Zeros kept after the last non-zero byte: enough for scanLog to see the clean end (a zero length). */
const ZERO_TAIL_KEPT_BYTES = 4096;

/**
 * A log file's bytes up to its preallocated tail of zeros (plus a few of those zeros), and the
 * file's size. A log file is preallocated in 64 MiB steps and usually holds far less; reading it
 * whole allocated and filled a 64 MiB buffer for every replayed file, mostly zeros, at the moment
 * the process is largest (right after the store is loaded). The tail is probed backwards through
 * one 1 MiB buffer instead. Everything after the returned bytes is zero, which is how scanLog
 * would have found it; on damage the caller reads the whole file again, so the verdict and its
 * message are exactly those of a full read.
 */
function readLogData(file: string): { buf: Buffer; fileBytes: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const probe = Buffer.allocUnsafe(Math.min(TAIL_PROBE_BYTES, fileBytes));
    let dataEnd = 0;
    // Bounded: each step moves `end` back by a whole probe, or stops.
    for (let end = fileBytes; end > 0; ) {
      const start = Math.max(0, end - probe.length);
      const n = readFully(fd, probe, end - start, start);
      let k = n - 1;
      while (k >= 0 && probe[k] === 0) k--;
      if (k >= 0) {
        dataEnd = start + k + 1;
        break;
      }
      end = start;
    }
    const keep = Math.min(fileBytes, dataEnd + ZERO_TAIL_KEPT_BYTES);
    const buf = Buffer.allocUnsafe(keep);
    const n = readFully(fd, buf, keep, 0);
    return { buf: n === keep ? buf : buf.subarray(0, n), fileBytes };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `length` bytes at `position` into `buf` (from 0); fewer only at the end of the file. */
function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function applyReplayed(tree: DataTree, sessions: Map<bigint, number>, txn: Txn): void {
  tree.processTxn(txn);
  if (txn.body.type === OpCode.createSession) sessions.set(txn.hdr.clientId, txn.body.record.timeOut);
  else if (txn.body.type === OpCode.closeSession) sessions.delete(txn.hdr.clientId);
}

/**
 * When the store writes. Every store commit costs the device as much as the txn log's writes
 * that replies wait for (a 4 KB create wrote ~11 KiB to the store against ~4 KiB to the log), so
 * the store writes when the server is quiet: once no txn has been applied for STORE_IDLE_MS.
 * Measured: without store commits during a run, create 4 KB at 16×32 went from ~17,000 to
 * 20,000–28,000 ops/s and the p99 of single 4 KB creates from 2.3–3.2 ms to 1.1–2.4 ms, while a
 * store commit every 100 ms or every 1 s made no such difference (the same bytes either way).
 *
 * The store may only trail the log so far: a restart replays what the store lacks, and purge
 * keeps every log the store still needs. Like ZooKeeper, which snapshots after about snapCount
 * txns, the store writes at full speed, quiet or not, once it is `lagTxns` (snapCount) txns or
 * STORE_LAG_MAX_MS behind the log.
 *
 * A round writes what changed as of its start, in commits of at most STORE_CHUNK_BYTES (and
 * STORE_CHUNK_NODES), one at a time, back to back while the server is quiet or the store lags,
 * otherwise one per STORE_TRICKLE_MS. Only the round's last commit moves `lastZxid` (to the
 * zxid at the start of the round); each node is written as it is when its commit is encoded,
 * so nodes may be newer than `lastZxid`. A restart then replays the log from `lastZxid` over
 * them, which is ZooKeeper's replay over a fuzzy snapshot (data-tree.ts: creates of existing
 * nodes and deletes of missing ones change nothing but the parent's cversion/pzxid, which only
 * move forward), and drops nodes stored without their parent (DataTree.restore). The store's
 * "fuzzy" flag says when that may be the case; a round whose commits all ran with no txn applied
 * in between leaves the store consistent and clears it. Commits are bounded, so a large backlog
 * never becomes one giant commit (a 1 s commit interval made commits of ~46 MB at 16×32 4 KB
 * creates, and p99 of 414 ms) nor one giant buffer. While txns are being applied, commits are
 * smaller still (STORE_BUSY_CHUNK_*): a commit's values are encoded and handed to lmdb-js on the
 * event loop, about 2.2 µs per node, so a 4 MiB commit of 4 KiB values held every client's
 * requests for 20-70 ms (measured); 1 MiB holds them for a few.
 */
const STORE_IDLE_MS = 200;
const STORE_LAG_MAX_MS = 30_000;
const STORE_TRICKLE_MS = 100;
const STORE_CHUNK_BYTES = 4 * 1024 * 1024;
const STORE_CHUNK_NODES = 20_000;
const STORE_BUSY_CHUNK_BYTES = 1024 * 1024;
const STORE_BUSY_CHUNK_NODES = 2_500;
const STORE_BUSY_SLICE_NODES = 250;
const STORE_SLICED_LAG_FACTOR = 1.5;

/**
 * What the store needs to know to leave disk space to the txn log. On a full disk both want the
 * space that comes back, and the log must win: it is what replies wait for, while the store is
 * a cache of it. Seen in a test: once space returned, the store's retry took it all and the log
 * stalled again, for good.
 */
export interface StoreSpacePolicy {
  /** True while the txn log waits for space: the store writes nothing then. */
  logStalled(): boolean;
  /** Free bytes on the store's filesystem, or null when that cannot be read. */
  freeBytes(): number | null;
  /** Space kept for the log's growth once the store has met a full disk (two preallocation steps). */
  reserveBytes: number;
}

/**
 * Whether the filesystem has room for a store commit of `dirty` (twice its nodes, for LMDB's copy
 * on write) on top of the log's reserve. A failed LMDB commit is not free: the pages it wrote
 * before the disk filled stay allocated in the file, so the store must not even try when the
 * space is not there.
 */
function storeCommitFits(tree: DataTree, dirty: Iterable<string>, space: Pick<StoreSpacePolicy, 'freeBytes' | 'reserveBytes'>): boolean {
  const free = space.freeBytes();
  if (free === null) return true;
  let need = space.reserveBytes;
  for (const p of dirty) need += 2 * (p.length + (tree.getNode(p)?.data?.length ?? 0) + STORE_NODE_OVERHEAD_BYTES);
  return free >= need;
}

/** Changes the store could not take at startup (a full disk), and the zxid it holds instead. */
interface CarriedChanges {
  dirty: Set<string>;
  sessions: Map<bigint, number | null>;
  zxid: number;
}

/** Bytes an LMDB commit may need per changed node beyond its path and data (B-tree pages, copy on write). */
const STORE_NODE_OVERHEAD_BYTES = 256;

/** One round of store commits (see STORE_IDLE_MS). */
interface Round {
  /** The paths that had changed when the round started, written in order. */
  paths: string[];
  /** How many of `paths` are committed. */
  next: number;
  /** The tree's zxid when the round started: the store's lastZxid once the round is done. */
  zxid: number;
  sessions: Map<bigint, number | null>;
  /** Whether every commit of the round was encoded with the tree still at `zxid`. */
  clean: boolean;
}

const NO_SESSION_CHANGES: ReadonlyMap<bigint, number | null> = new Map();

/**
 * After restart, writes what the running server applies to the LMDB store, in rounds (see
 * STORE_IDLE_MS). What changes meanwhile waits in the tree's dirty set, which is bounded by the
 * tree itself, and a node changed many times in between is written once.
 */
export class SnapshotWriter {
  private sessionChanges = new Map<bigint, number | null>();
  /** Set when a commit failed for lack of space, cleared by the next commit that lands. */
  private spaceShort = false;
  private holding = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private round: Round | null = null;
  /** When a txn was last applied (performance.now()). */
  private lastAppliedAt = performance.now();
  /** When the oldest change the store lacks (outside a round) was applied, or null. */
  private oldestChangeAt: number | null = null;
  /** When the last commit started. */
  private lastCommitAt = -Infinity;
  private draining = false;
  private inFlight: Promise<void> | null = null;
  private failure: Error | null = null;
  durableZxid: number;

  constructor(
    private readonly store: LmdbStore,
    private readonly tree: DataTree,
    private readonly logger: Logger,
    private readonly onFatal: (e: Error) => void,
    zxid: number,
    private readonly space: StoreSpacePolicy,
    carried: CarriedChanges | null = null,
    /** How many txns the store may trail the log by before it writes regardless (snapCount). */
    private readonly lagTxns = 100_000,
  ) {
    this.durableZxid = zxid;
    tree.dirty = new Set(carried?.dirty ?? []);
    if (carried !== null) {
      for (const [id, to] of carried.sessions) this.sessionChanges.set(id, to);
      this.spaceShort = true;
      this.oldestChangeAt = performance.now();
      this.wake(0);
    }
  }

  /**
   * Whether the next commit should wait: always while the log is stalled, and after the store
   * met a full disk, until the filesystem has room for this commit (twice its nodes, for LMDB's
   * copy on write) on top of the log's reserve.
   */
  private holdForSpace(paths: Iterable<string>): boolean {
    if (this.space.logStalled()) return true;
    if (!this.spaceShort) return false;
    return !storeCommitFits(this.tree, paths, this.space);
  }

  sessionCreated(id: bigint, timeoutMs: number): void {
    this.sessionChanges.set(id, timeoutMs);
  }

  sessionClosed(id: bigint): void {
    this.sessionChanges.set(id, null);
  }

  /** Called after txns were applied. */
  schedule(): void {
    const now = performance.now();
    this.lastAppliedAt = now;
    this.oldestChangeAt ??= now;
    this.wake(0);
  }

  private hasWork(): boolean {
    return this.tree.dirty!.size > 0 || this.sessionChanges.size > 0 || this.tree.lastProcessedZxid !== this.durableZxid;
  }

  /** Whether the store trails the log too far to wait for a quiet moment. */
  private lagging(now: number): boolean {
    if (this.draining) return true;
    if (this.tree.lastProcessedZxid - this.durableZxid >= this.lagTxns) return true;
    return this.oldestChangeAt !== null && now - this.oldestChangeAt >= STORE_LAG_MAX_MS;
  }

  /** Runs step() in `ms` (0: in this turn's setImmediate), unless a step is due already. */
  private wake(ms: number): void {
    if (this.scheduled || this.holding || this.inFlight !== null || this.failure !== null) return;
    this.scheduled = true;
    if (ms <= 0) {
      setImmediate(this.step);
    } else {
      this.timer = setTimeout(this.step, ms);
      this.timer.unref();
    }
  }

  private readonly step = (): void => {
    if (!this.scheduled) return; // drain() ran it already
    this.scheduled = false;
    this.timer = null;
    this.advance();
  };

  /** Starts a round or commits its next part, when the time has come; else sets a timer. */
  private advance(): void {
    if (this.inFlight !== null || this.holding || this.failure !== null) return;
    const now = performance.now();
    const quietMs = now - this.lastAppliedAt;
    const fullSpeed = quietMs >= STORE_IDLE_MS || this.lagging(now);
    if (this.round === null) {
      if (!this.hasWork()) return;
      if (!fullSpeed) {
        this.wake(STORE_IDLE_MS - quietMs);
        return;
      }
      const dirty = this.tree.dirty!;
      this.tree.dirty = new Set();
      this.round = { paths: [...dirty], next: 0, zxid: this.tree.lastProcessedZxid, sessions: this.sessionChanges, clean: true };
      this.sessionChanges = new Map();
      this.oldestChangeAt = null;
    } else if (!fullSpeed && now - this.lastCommitAt < STORE_TRICKLE_MS) {
      this.wake(Math.min(this.lastCommitAt + STORE_TRICKLE_MS - now, STORE_IDLE_MS - quietMs));
      return;
    }
    this.commitNext(this.round, quietMs >= STORE_IDLE_MS);
  }

  private commitNext(r: Round, quiet: boolean): void {
    const maxNodes = quiet ? STORE_CHUNK_NODES : STORE_BUSY_CHUNK_NODES;
    const maxBytes = quiet ? STORE_CHUNK_BYTES : STORE_BUSY_CHUNK_BYTES;
    let end = r.next;
    let bytes = 0;
    while (end < r.paths.length && end - r.next < maxNodes && bytes < maxBytes) {
      const p = r.paths[end]!;
      bytes += p.length + (this.tree.getNode(p)?.data?.length ?? 0) + STORE_NODE_OVERHEAD_BYTES;
      end++;
    }
    const paths = r.paths.slice(r.next, end);
    if (this.holdForSpace(paths)) {
      // Nothing is lost by waiting: the round keeps its place, the log keeps every txn.
      this.retryLater();
      return;
    }
    const last = end === r.paths.length;
    if (this.tree.lastProcessedZxid !== r.zxid) r.clean = false;
    this.lastCommitAt = performance.now();
    // While txns are applied, the commit is encoded and handed over in slices (one per turn),
    // so it holds the event loop for well under a millisecond at a time; the store is fuzzy
    // then unless nothing was applied until its last slice.
    const fuzzy = (): boolean => !(last && r.clean && this.tree.lastProcessedZxid === r.zxid);
    const sliced = !quiet && this.tree.lastProcessedZxid - this.durableZxid < STORE_SLICED_LAG_FACTOR * this.lagTxns;
    this.inFlight = this.store.commit(this.tree, paths, last ? r.sessions : NO_SESSION_CHANGES, last ? r.zxid : null, fuzzy, sliced ? STORE_BUSY_SLICE_NODES : Infinity).then(
      () => {
        this.inFlight = null;
        r.next = end;
        if (this.spaceShort) this.logger.warn({ zxid: hex(r.zxid) }, 'snapshot store: space is back; commits resumed');
        this.spaceShort = false;
        if (last) {
          this.round = null;
          this.durableZxid = r.zxid;
        }
        if (this.round !== null || this.hasWork()) this.wake(0);
      },
      (e: Error) => {
        this.inFlight = null;
        // lmdb-js puts the system error of a failed commit in `commitError`, a promise that
        // rejects with it (and prints it); a failed commit is retried, never fatal.
        const pending = (e as Error & { commitError?: Promise<unknown> }).commitError;
        let cause: Error | undefined;
        if (pending instanceof Promise) pending.catch((c: Error) => (cause = c));
        if (storeOutOfSpace(e)) {
          // The store is only a cache of the log: the round's unwritten paths go back to the
          // dirty set (newer session changes win) for a later round; the txn log keeps every txn
          // until the store has it.
          for (let i = r.next; i < r.paths.length; i++) this.tree.dirty!.add(r.paths[i]!);
          for (const [id, t] of r.sessions) if (!this.sessionChanges.has(id)) this.sessionChanges.set(id, t);
          this.round = null;
          this.oldestChangeAt ??= performance.now();
          if (!this.spaceShort) {
            this.logger.error(
              { err: e.message, cause: cause?.message, retryMs: STORE_RETRY_MS },
              'snapshot store: no space left; commits wait until there is room for them beside the txn log',
            );
          }
          this.spaceShort = true;
          this.retryLater();
          return;
        }
        this.failure = e;
        this.logger.error({ err: e.message, cause: cause?.message }, 'writing the snapshot store failed');
        this.onFatal(e);
      },
    );
  }

  /** One attempt per STORE_RETRY_MS while short of space. */
  private retryLater(): void {
    if (this.holding) return;
    this.holding = true;
    setTimeout(() => {
      this.holding = false;
      this.wake(0);
    }, STORE_RETRY_MS).unref();
  }

  /** Writes whatever is still pending and waits for it. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.scheduled = false;
    // Bounded: each pass commits a part or returns; a round has at most one part per path.
    for (let i = 0; i < 1_000_000 && this.failure === null; i++) {
      if (this.inFlight !== null) {
        await this.inFlight;
        continue;
      }
      if (this.round === null && !this.hasWork()) return;
      if (!this.holding) this.advance();
      // Held back for lack of space: the txn log has every change, a restart replays them.
      if (this.inFlight === null) return;
    }
  }
}

export interface RecoveredState {
  tree: DataTree;
  sessions: Map<bigint, number>;
  /** True when the LMDB store was empty (new directory, or import of a ZooKeeper snapshot). */
  fresh: boolean;
  /** The zxid of the loaded snapshot (store or ZooKeeper file), before replay. */
  storeZxid: number;
  loadedSessions: bigint[];
  replay: ReplayResult;
  /** How long loading the snapshot (store or ZooKeeper file) and replaying the log took. */
  loadMs: number;
  replayMs: number;
}

/**
 * Loads the newest state: the LMDB store (when `store` holds one), else the newest ZooKeeper
 * snapshot.* in `snapDir`, else the empty tree; then replays the logs after it. With `repair`
 * a torn log tail is truncated; without it the scan just stops there (read-only tools).
 * The tree's dirty set holds what replay changed.
 */
export function recoverState(
  snapDir: string,
  logDir: string,
  store: LmdbStore | null,
  repair: boolean,
  logger: Logger,
  digestEnabled = true,
): RecoveredState {
  const tree = new DataTree({ digestEnabled });
  tree.onSnapshotDigestCompared = (zxid, expected, actual) => reportSnapshotDigest(tree, zxid, expected, actual, logger);
  const sessions = new Map<bigint, number>();
  let storeZxid: number;
  let fresh = true;
  const loadStarted = performance.now();
  const loaded = store?.load(digestEnabled) ?? null;
  /** Nodes of a fuzzy store that came without their parent (DataTree.restore drops them). */
  let dropped: string[] = [];
  if (loaded !== null) {
    dropped = tree.restore(loaded.nodes, loaded.lastZxid, { dropOrphans: loaded.fuzzy, expectedCount: loaded.nodeCount });
    if (dropped.length > 0) {
      logger.info({ nodes: dropped.length, zxid: hex(loaded.lastZxid) }, 'the snapshot store was between two consistent points: nodes stored without their parent are left to the log replay');
    }
    for (const [id, to] of loaded.sessions) sessions.set(id, to);
    storeZxid = loaded.lastZxid;
    fresh = false;
    logger.info(
      { zxid: hex(storeZxid), nodes: tree.nodeCount(), sessions: sessions.size, ms: Math.round(performance.now() - loadStarted) },
      'loaded the snapshot store',
    );
  } else {
    let snap;
    try {
      snap = loadNewestZkSnapshot(snapDir, logger);
    } catch (e) {
      throw new StorageError((e as Error).message);
    }
    if (snap !== null) {
      tree.restore(snap.nodes, snap.zxid);
      for (const [id, to] of snap.sessions) sessions.set(id, to);
      storeZxid = snap.zxid;
      logger.info(
        { file: snap.file, zxid: hex(snap.zxid), nodes: tree.nodeCount(), sessions: sessions.size },
        'importing an Apache ZooKeeper snapshot (no snapshot store yet)',
      );
      // ZooKeeper's snapshots are fuzzy: the digest is of the tree at a zxid at or after the
      // one in the name, so the tree checks it when replay reaches that zxid.
      tree.setSnapshotDigest(snap.digest === null ? null : { zxid: snap.digest.zxid, digestVersion: snap.digest.version, digest: snap.digest.value }, snap.zxid);
    } else {
      const logs = listLogFiles(logDir);
      if (logs.length > 0 && logs[0]!.zxid > 1) {
        throw new StorageError(
          `${logDir} holds txn logs starting at zxid 0x${logs[0]!.zxid.toString(16)} but ${snapDir} has no snapshot ` +
            `(neither ${LMDB_FILE_NAME} nor snapshot.*): the state before that zxid is unknown`,
        );
      }
      storeZxid = 0;
    }
  }
  const loadMs = Math.round(performance.now() - loadStarted);
  const loadedSessions = [...sessions.keys()];
  // The dropped nodes are removed from the store by the commit after the replay (unless the
  // replay made them again).
  tree.dirty = new Set(dropped);
  const replayStarted = performance.now();
  const replay = replayLogs(logDir, storeZxid, tree, sessions, logger, repair);
  if (replay.applied > 0) {
    logger.info(
      { txns: replay.applied, fromZxid: hex(storeZxid), toZxid: hex(replay.lastZxid), ms: Math.round(performance.now() - replayStarted) },
      'replayed the txn log',
    );
  }
  const pending = tree.pendingSnapshotDigest();
  if (pending !== null) {
    logger.warn(
      { highestZxid: hex(replay.lastZxid), digestZxid: hex(pending.zxid) },
      'Highest txn zxid is not covering the snapshot digest zxid, which might lead to inconsistent state',
    );
  }
  const replayMs = Math.round(performance.now() - replayStarted);
  killDeadSessions(tree, sessions, logger);
  tree.events = [];
  return { tree, sessions, fresh, storeZxid, loadedSessions, replay, loadMs, replayMs };
}

/**
 * ZooKeeperServer.loadData: ephemerals whose session is not in the session table belong to a
 * session that is gone (a fuzzy snapshot can hold both); they are deleted at load, without a
 * txn, exactly as ZooKeeper does.
 */
function killDeadSessions(tree: DataTree, sessions: ReadonlyMap<bigint, number>, logger: Logger): void {
  const dead = [...tree.ephemeralSessions()].map(([id]) => id).filter((id) => !sessions.has(id));
  for (const id of dead) {
    logger.info({ sessionId: '0x' + BigInt.asUintN(64, id).toString(16) }, 'removing the ephemerals of a session that no longer exists');
    tree.killSession(id, tree.lastProcessedZxid);
  }
}

/**
 * The outcome of comparing a snapshot's recorded tree digest with ours
 * (DataTree.compareSnapshotDigests). ZooKeeper writes a snapshot while it applies txns, and
 * records the digest of the last txn it finished; a node it serialized may already hold a later
 * txn's change. Then the digest cannot match (ZooKeeper reports a mismatch too), and a node
 * stamped with a zxid above the digest's shows it: that case is told apart from real damage.
 */
function reportSnapshotDigest(tree: DataTree, zxid: number, expected: bigint, actual: bigint | null, logger: Logger): void {
  if (actual === null) {
    logger.warn({ zxid: hex(zxid) }, 'the txn of the snapshot digest does not exist; its digest cannot be checked');
    return;
  }
  if (actual === expected) {
    logger.info({ zxid: hex(zxid), digest: expected.toString() }, 'snapshot digest matches the loaded tree');
    return;
  }
  let newest = 0;
  for (const [, n] of tree.allNodes()) newest = Math.max(newest, n.czxid, n.mzxid, n.pzxid);
  if (newest > zxid) {
    logger.info(
      { zxid: hex(zxid), newestNodeZxid: hex(newest), expected: expected.toString(), actual: actual.toString() },
      'snapshot digest not comparable: the snapshot holds changes made after its digest was taken (a fuzzy snapshot)',
    );
  } else {
    logger.warn({ zxid: hex(zxid), expected: expected.toString(), actual: actual.toString() }, 'snapshot digest does not match the loaded tree');
  }
}

export interface Database {
  readonly tree: DataTree;
  /** Sessions alive at the last applied zxid: id → timeout in ms. */
  readonly sessions: ReadonlyMap<bigint, number>;
  readonly log: FileTxnLog;
  readonly snapDir: string;
  readonly logDir: string;
  /** The zxid the LMDB store durably reflects. */
  storeZxid(): number;
  /** Wires the store to a server built on `tree` and tracks the loaded sessions again. */
  attach(server: ZooKeeperServer, nowMs: number): void;
  /** Runs one purge now (autopurge does this every purgeInterval hours). */
  purgeNow(retainCount?: number): ReturnType<typeof purge>;
  /** Called when the log or the store fails for good. */
  onFatal: ((e: Error) => void) | null;
  close(): Promise<void>;
}

/**
 * Opens (recovering if needed) the data directories of `cfg`. Throws StorageError for
 * directories that cannot be used and for damaged files.
 */
export async function openDatabase(cfg: StorageConfig, logger: Logger): Promise<Database> {
  ensureWritableDir(cfg.dataDir, 'dataDir');
  if (cfg.dataLogDir !== cfg.dataDir) ensureWritableDir(cfg.dataLogDir, 'dataLogDir');
  const snapDir = snapDirOf(cfg);
  const logDir = logDirOf(cfg);
  ensureWritableDir(snapDir, 'snapshot directory');
  if (logDir !== snapDir) ensureWritableDir(logDir, 'txn log directory');

  const lmdbFile = path.join(snapDir, LMDB_FILE_NAME);
  let store: LmdbStore;
  try {
    store = LmdbStore.open(lmdbFile);
  } catch (e) {
    throw new StorageError(`cannot open the snapshot store ${lmdbFile}: ${(e as Error).message}`);
  }
  const started = performance.now();
  let state: RecoveredState;
  try {
    state = recoverState(snapDir, logDir, store, true, logger, cfg.digestEnabled ?? true);
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  const { tree, sessions, fresh, replay, loadedSessions, loadMs, replayMs } = state;
  const space = {
    freeBytes: (): number | null => {
      try {
        const st = fs.statfsSync(snapDir);
        return st.bavail * st.bsize;
      } catch {
        return null;
      }
    },
    reserveBytes: 2 * cfg.preAllocSizeKb * 1024,
  };
  /** What the startup commit could not write (full disk), for the SnapshotWriter to write later. */
  let carried: CarriedChanges | null = null;
  if (fresh) {
    await store.writeFull(tree, sessions, tree.lastProcessedZxid);
  } else if (replay.applied > 0 || (tree.dirty?.size ?? 0) > 0) {
    const changed = new Map<bigint, number | null>();
    // The replayed session changes are not tracked one by one; rewriting the table is simplest.
    for (const id of loadedSessions) if (!sessions.has(id)) changed.set(id, null);
    for (const [id, to] of sessions) changed.set(id, to);
    try {
      if (!storeCommitFits(tree, tree.dirty ?? [], space)) throw Object.assign(new Error('not enough free space for the commit beside the txn log'), { code: 'ENOSPC' });
      await store.commit(tree, tree.dirty ?? [], changed, tree.lastProcessedZxid);
    } catch (e) {
      if (!storeOutOfSpace(e)) throw e;
      // A full disk must not stop a restart: the store is a cache of the log, which holds every
      // replayed txn. The running server's SnapshotWriter takes these changes over and commits
      // them once there is room (and the store's durable zxid stays where it was, for purge).
      logger.warn({ err: (e as Error).message, storeZxid: hex(state.storeZxid) }, 'snapshot store: no space left to record the replayed txns; it catches up once there is room');
      carried = { dirty: tree.dirty ?? new Set(), sessions: changed, zxid: state.storeZxid };
    }
  }
  tree.dirty = null;
  logger.info(
    { zxid: hex(tree.lastProcessedZxid), nodes: tree.nodeCount(), sessions: sessions.size, loadMs, replayMs, ms: Math.round(performance.now() - started) },
    'database ready',
  );

  const log = new FileTxnLog({
    logDir,
    preAllocSizeBytes: cfg.preAllocSizeKb * 1024,
    snapCount: cfg.snapCount,
    forceSync: cfg.forceSync,
    fsyncWarningThresholdMs: cfg.fsyncWarningThresholdMs,
    logger,
  });
  let writer: SnapshotWriter | null = null;
  let purgeTimer: NodeJS.Timeout | null = null;
  const db: Database = {
    tree,
    sessions,
    log,
    snapDir,
    logDir,
    onFatal: null,
    storeZxid: () => (writer === null ? (carried?.zxid ?? tree.lastProcessedZxid) : writer.durableZxid),
    attach(server, nowMs) {
      if (server.tree !== tree) throw new Error('attach: the server must be built on the database tree');
      const fatal = (e: Error): void => db.onFatal?.(e);
      writer = new SnapshotWriter(
        store,
        tree,
        logger,
        fatal,
        carried?.zxid ?? tree.lastProcessedZxid,
        { logStalled: () => log.stalled, freeBytes: space.freeBytes, reserveBytes: space.reserveBytes },
        carried,
        cfg.snapCount,
      );
      const w = writer;
      log.onSlowSync = () => server.stats.fsyncThresholdExceedCount++;
      // FileTxnLog.commit: every sync of the log feeds ServerMetrics.FSYNC_TIME, in whole ms.
      const fsyncTime = server.stats.metrics.summary('fsynctime');
      log.onSync = (ms) => fsyncTime.add(ms);
      log.onFatal = fatal;
      // A txn is written on the event loop when it is all the server has to do (txn-log.ts).
      log.serverIdleBesides = (txns) => server.outstandingRequests() <= txns;
      for (const [id, to] of sessions) server.sessions.trackSession(id, to, nowMs);
      const previous = server.onApplied;
      server.onApplied = (req, rc) => {
        previous?.(req, rc);
        const t = req.txn;
        if (t !== null && req.hdr !== null) {
          if (t.type === OpCode.createSession) w.sessionCreated(req.hdr.clientId, t.record.timeOut);
          else if (t.type === OpCode.closeSession) w.sessionClosed(req.hdr.clientId);
        }
        w.schedule();
      };
      if (cfg.purgeIntervalHours > 0) {
        const run = (): void => {
          const r = db.purgeNow();
          logger.info({ deletedLogs: r.deleteLogs, deletedSnapshots: r.deleteSnapshots, errors: r.errors }, 'Purge task completed.');
        };
        logger.info({ snapRetainCount: cfg.snapRetainCount, purgeIntervalHours: cfg.purgeIntervalHours }, 'Purge task started.');
        setImmediate(run);
        purgeTimer = setInterval(run, cfg.purgeIntervalHours * 3600_000);
        purgeTimer.unref();
      } else {
        logger.info('Purge task is not scheduled.');
      }
    },
    purgeNow(retainCount = cfg.snapRetainCount) {
      return purge(snapDir, logDir, db.storeZxid(), Math.max(3, retainCount));
    },
    async close() {
      const t0 = performance.now();
      if (purgeTimer !== null) clearInterval(purgeTimer);
      await log.close();
      const t1 = performance.now();
      if (writer !== null) await writer.drain();
      const t2 = performance.now();
      await store.close();
      logger.info(
        { logMs: Math.round(t1 - t0), storeMs: Math.round(t2 - t1), closeMs: Math.round(performance.now() - t2), zxid: hex(db.storeZxid()) },
        'database closed',
      );
    },
  };
  return db;
}

function hex(z: number): string {
  return '0x' + z.toString(16);
}

export { makeFileName, LOG_FILE_PREFIX, listSnapshotFiles };
