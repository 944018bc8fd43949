/**
 * The durable txn log (Apache ZooKeeper's FileTxnLog plus the group commit of its
 * SyncRequestProcessor), as the server's LogStage. File format: txn-log-format.ts.
 *
 * Group commit: appends that arrive while a batch is being written and synced queue up and
 * become the next batch, so one sync covers every txn that arrived during the previous one. A
 * txn's `done` callback runs only after the sync that covers it, in append order, so a reply
 * never leaves before its txn is on disk. All file I/O is asynchronous (libuv's thread pool);
 * the event loop never waits for the disk.
 *
 * One thread-pool job per batch: each txn is encoded once, at append, straight into the buffer
 * the next batch is written from, and with forceSync the file is opened O_DSYNC, so the single
 * positional write of a batch returns only once its data (and the block allocation and file
 * size it needs) is on the device: fdatasync's guarantee, without a second round trip through
 * the thread pool.
 *
 * Files are preallocated in preAllocSize steps by extending them (ftruncate), which is what
 * ZooKeeper's FilePadding does: the tail reads as zeros and a record of length 0 marks the end.
 * An extension alone leaves a hole, and a synced write into a hole allocates blocks, so each
 * such write also commits the filesystem's journal (on ext4 a 4 KiB O_DSYNC write took 170 µs
 * into a hole and 105 µs over blocks already written). So, with forceSync, zeros are written
 * ahead of the write position on a thread of its own (log-fill-worker.ts, FILL_STEP_BYTES at a
 * time, synced, never over a byte a batch may write meanwhile: see fillAhead), and the log's
 * synced writes mostly land on blocks that exist. The file's size and contents are the same as
 * without it.
 * A new file starts after about snapCount/2 + random(snapCount/2) txns, as ZooKeeper rolls its
 * log, so that old files can be purged once the snapshot covers them.
 *
 * With forceSync on Linux the file is also opened O_DIRECT: a batch goes from our buffer to the
 * device without passing through the page cache. Page cache for an ever-growing log is fresh
 * memory all the time, and fresh memory is what this kind of machine charges for: in the
 * Firecracker VM the benchmarks run in, the kernel hands free pages back to the host, and once
 * the recently freed ones are used up every page the log's writes put in the cache costs a host
 * fault. Measured: 256 MB of 1 MiB O_DSYNC writes took 200 ms and 60 ms of system time while
 * the cache had warm pages, then 600-900 ms and 400-700 ms of system time for every further
 * 256 MB; O_DIRECT wrote the same 256 MB in 170-190 ms with 20-35 ms of system time, and a
 * synced 4 KiB write took the same ~92 µs either way. Direct writes must start and end on
 * DIRECT_ALIGN_BYTES boundaries and come from aligned memory, so each batch is copied into a
 * page-aligned buffer (WebAssembly memory, which V8 allocates whole pages for) behind the bytes
 * the file's last, partial block already holds, and padded with zeros to the next boundary:
 * the partial block is written again with the same bytes plus the new ones, and the zeros are
 * what the preallocated tail reads as anyway. A device tears writes at sector granularity at
 * worst, and the sectors of that block either keep their bytes or get the same bytes again, so
 * a crash mid-write cannot damage a record that was already durable. Where O_DIRECT is refused
 * (a filesystem without it: EINVAL at open or at the first write), the log falls back to
 * buffered O_DSYNC writes for good.
 *
 * Inline writes: when the server has nothing to do but this one txn (one request in flight,
 * its txn the whole batch: a client at 1×1, or a lightly loaded server), the batch's write is
 * made on the event loop itself (writeSync). The thread-pool job costs two hand-offs between
 * threads per write, and on a 2-core machine shared with busy clients each one waits for a CPU:
 * synced 4 KiB writes under a concurrent 1×1 read load took p50 207 µs and p99 400 µs through
 * the pool against 120 and 214 µs inline, and the server at create 4 KB 1×1 (3 runs each) gave
 * p99 1.10-1.34 ms against 1.50-2.11 ms, with ~10 % less CPU per reply. Nothing waits
 * meanwhile but requests that arrive during the write, which would have waited for the next
 * batch anyway. A device that turns slow must not hold the event loop, though: after an inline
 * write of more than INLINE_SLOW_MS, writes go through the pool for INLINE_BACKOFF_MS. Under
 * load (more than one request in flight, or a txn appended while a batch was being written)
 * writes always go through the pool, so that the event loop reads and prepares the next batch
 * while this one is written (mayWriteInline).
 *
 * A full disk stalls the log rather than failing it: the batch is written again, at the same
 * positions, until space returns (writeBatches). Any other write error is fatal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { LogStage, Logger } from '../server/zookeeper-server';
import { JuteWriter } from '../jute/codec';
import type { Txn } from '../tree/txn';
import { DIRECT_ALIGN_BYTES, pageAlignedBuffer } from './aligned-buffer';
import { encodeFileHeader, encodeTxnRecordInto, listDataFiles, LOG_FILE_PREFIX, makeFileName, TXNLOG_MAGIC, type DataFile } from './txn-log-format';

/** A positional write: through the thread pool (writeAsync) or on the event loop (writeInline). */
type PositionalWrite = (fd: number, buf: Buffer, off: number, len: number, pos: number) => Promise<number>;

function writeAsync(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, buf, off, len, pos, (e, n) => (e === null ? resolve(n) : reject(e))));
}

function writeInline(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  try {
    return Promise.resolve(fs.writeSync(fd, buf, off, len, pos));
  } catch (e) {
    return Promise.reject(e as Error);
  }
}
const fsyncAsync = promisify(fs.fsync);
const fdatasyncAsync = promisify(fs.fdatasync);
const ftruncateAsync = promisify(fs.ftruncate);
const openAsync = promisify(fs.open);
const closeAsync = promisify(fs.close);

/** How often a log stalled by a full disk tries again. */
const DISK_FULL_RETRY_MS = 1000;

/** Errors that mean the disk (or the quota) is full: retried, unlike every other write error. */
export function isOutOfSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** ZooKeeper pads when the write position comes within this many bytes of the allocated end. */
const PAD_MARGIN_BYTES = 4096;
/**
 * Zero-filling ahead of the write position (see the header): a fill starts when fewer than
 * FILL_LOW_BYTES of filled space are left ahead of the position, covers up to FILL_STEP_BYTES
 * (never past the preallocated size, and not at all for less than FILL_MIN_BYTES), and starts
 * FILL_GAP_BYTES beyond the position, so the batches in between need not wait for it.
 */
const FILL_LOW_BYTES = 4 * 1024 * 1024;
const FILL_STEP_BYTES = 8 * 1024 * 1024;
const FILL_GAP_BYTES = 1024 * 1024;
const FILL_MIN_BYTES = 1024 * 1024;
/**
 * Fills start at most this often: at most FILL_STEP_BYTES per interval (16 MiB/s). The zeros
 * are a second write of every byte the log will write there, which pays off for small, frequent
 * synced writes (single writes at 1×1: one allocation each) but not for the large batches of a
 * loaded server (one allocation per batch); unthrottled, the fills' syncs showed in the p99 of
 * 4 KB writes at 4×8 (set: 15.2 ms against 5.3 ms before). Beyond this rate the log writes into
 * unfilled space, as it always did.
 */
const FILL_MIN_INTERVAL_MS = 500;
/**
 * Inline writes (see the header): at most this many bytes, and after one that took longer than
 * INLINE_SLOW_MS, none for INLINE_BACKOFF_MS.
 */
const INLINE_MAX_BYTES = 256 * 1024;
const INLINE_SLOW_MS = 10;
const INLINE_BACKOFF_MS = 1000;
/** Bounds on one batch, so a burst during a slow sync does not become one giant write. */
const MAX_BATCH_TXNS = 10_000;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Initial size of the buffer appends are encoded into (it grows as needed). */
const APPEND_BUFFER_BYTES = 16 * 1024;
/**
 * A batch's buffer is kept for a later batch when it is at most this large. Two buffers then
 * take turns (one written to the file, the other filling with appends), and a steady load
 * allocates nothing per batch; before, each batch cost a fresh buffer of at least 16 KiB, an
 * ArrayBuffer outside Node's pool whose external memory, at 1×1, was 16 KiB per write and
 * drove V8's full collections.
 */
const MAX_SPARE_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * With forceSync, every write is durable when it returns (see the header). Where the platform
 * has no O_DSYNC (Windows), each batch is followed by an fdatasync instead.
 */
const O_DSYNC: number | undefined = fs.constants.O_DSYNC;
const SYNCED_WRITE_FLAGS = O_DSYNC === undefined ? 'wx' : fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | O_DSYNC;
/** Linux's O_DIRECT (see the header); undefined where the platform has none. */
const O_DIRECT: number | undefined = fs.constants.O_DIRECT;
/**
 * A direct-write buffer at most this large (any batch of at most MAX_BATCH_BYTES) is kept for
 * later batches; a larger one (a single txn beyond that) is not. Each WebAssembly memory reserves
 * address space well beyond its size, so allocating one per batch is not an option.
 */
const MAX_KEPT_DIRECT_BYTES = MAX_BATCH_BYTES + 2 * DIRECT_ALIGN_BYTES;

export interface TxnLogOptions {
  /** The directory holding log.* files (<dataLogDir>/version-2). */
  logDir: string;
  preAllocSizeBytes: number;
  snapCount: number;
  forceSync: boolean;
  fsyncWarningThresholdMs: number;
  logger: Logger;
  /** FILL_MIN_INTERVAL_MS unless given (tests fill after every write to make fills meet batches). */
  fillMinIntervalMs?: number;
  /** Writes the zeros; the shared fill thread unless given (tests control when fills finish). */
  filler?: ZeroFiller;
  /** Random source for the roll point; injectable for tests. */
  random?: () => number;
  /** With forceSync, write with O_DIRECT where the platform and filesystem allow (default true). */
  directIo?: boolean;
  /** Makes the buffers direct writes go out from; pageAlignedBuffer unless given (tests). */
  alignedBuffer?: (bytes: number) => Buffer;
  /** INLINE_SLOW_MS unless given (tests make every inline write count as slow). */
  inlineSlowMs?: number;
}

/** Writes zeros over [from, to) of `file` and syncs them. */
export interface ZeroFiller {
  fill(file: string, from: number, to: number): Promise<void>;
}

interface Pending {
  /** Where this txn's record ends in the append buffer (`FileTxnLog.records`). */
  end: number;
  zxid: number;
  /** Whether no batch was being written when this txn was appended (see mayWriteInline). */
  idleAtAppend: boolean;
  done: () => void;
  failed: (e: Error) => void;
}

/** A zero fill of [from, to) under way (see fillAhead). */
interface Fill {
  from: number;
  to: number;
  done: Promise<void>;
}

interface OpenFile {
  fd: number;
  name: string;
  position: number;
  allocatedBytes: number;
  /** Bytes [.., filledTo) ahead of the position are known to be written (zeros) and synced. */
  filledTo: number;
  fill: Fill | null;
  /** Set when a fill failed (a full disk): this file is not filled any further. */
  fillStopped: boolean;
  /** Whether the directory entry of this new file still has to be synced. */
  dirSyncNeeded: boolean;
  /** Opened O_DIRECT: writes go through writeDirect. */
  direct: boolean;
  /**
   * With `direct`, the bytes of the file's last, partial block ([alignDown(position), position)),
   * which the next direct write starts with.
   */
  tail: Buffer;
}

/**
 * FilePadding.calculateFileSizeWithPadding: the file size after padding, given the write
 * position and the current size. Grows only when the position is within 4 KiB of the end.
 */
export function paddedSize(position: number, fileSize: number, preAllocSizeBytes: number): number {
  if (preAllocSizeBytes <= 0 || position + PAD_MARGIN_BYTES < fileSize) return fileSize;
  if (position > fileSize) {
    const size = position + preAllocSizeBytes;
    return size - (size % preAllocSizeBytes);
  }
  return fileSize + preAllocSizeBytes;
}

/** log.* files in `dir`, oldest first (by the zxid in their names). */
export function listLogFiles(dir: string): DataFile[] {
  return listDataFiles(dir, LOG_FILE_PREFIX);
}

export class FileTxnLog implements LogStage {
  private pending: Pending[] = [];
  /** The records of `pending`, back to back: a batch is written from here as it is. */
  private records = new JuteWriter(APPEND_BUFFER_BYTES);
  /** The buffer the batch being written came from (see MAX_SPARE_BUFFER_BYTES). */
  private batchRecords: JuteWriter | null = null;
  /** A buffer free for the next batch, or null. */
  private spareRecords: JuteWriter | null = null;
  private writing = false;
  private scheduled = false;
  private current: OpenFile | null = null;
  private failure: Error | null = null;
  /** Set while a full disk stalls the log (see writeBatches). */
  private stalledSinceMs: number | null = null;
  private txnsInFile = 0;
  private rollRequested = false;
  private rollAfterTxns: number;
  private closed = false;
  /** When the last zero fill started (see FILL_MIN_INTERVAL_MS). */
  private lastFillAt = -Infinity;
  /** Whether new files are opened O_DIRECT; cleared for good when the filesystem refuses it. */
  private directIo: boolean;
  /** The page-aligned buffer direct writes go out from (see writeDirect). */
  private directOut: Buffer | null = null;
  private idleWaiters: (() => void)[] = [];
  private readonly random: () => number;
  /** Zxid of the last txn made durable. */
  lastDurableZxid = -1;
  /** Called when a sync took longer than fsyncWarningThresholdMs (ServerStats counts these). */
  onSlowSync: ((elapsedMs: number) => void) | null = null;
  /** Called after every sync with its duration (the `fsynctime` summary); not with forceSync=no. */
  onSync: ((elapsedMs: number) => void) | null = null;
  /** Called once when the log fails for good; the server cannot go on writing. */
  onFatal: ((e: Error) => void) | null = null;
  /** Called after each new log file is created (purge and tests watch this). */
  onRoll: ((name: string) => void) | null = null;
  /**
   * Whether the server has no request in flight besides the `txns` being written: set by the
   * server that owns the log; without it, writes are never inline (see the header).
   */
  serverIdleBesides: ((txns: number) => boolean) | null = null;
  /** Inline writes are off until this time (performance.now()) after a slow one. */
  private inlineOffUntilMs = -Infinity;
  syncCount = 0;
  lastSyncMs = 0;
  /** Batches written inline, on the event loop (see the header). */
  inlineWrites = 0;

  constructor(private readonly opts: TxnLogOptions) {
    this.random = opts.random ?? Math.random;
    this.rollAfterTxns = this.nextRollPoint();
    this.directIo = opts.forceSync && O_DSYNC !== undefined && O_DIRECT !== undefined && opts.directIo !== false;
  }

  /** SyncRequestProcessor: roll when the count exceeds snapCount/2 + random(snapCount/2). */
  private nextRollPoint(): number {
    const half = Math.max(1, Math.floor(Math.max(2, this.opts.snapCount) / 2));
    return half + Math.floor(this.random() * half) + 1;
  }

  /** True while writes wait for disk space (see writeBatches). */
  get stalled(): boolean {
    return this.stalledSinceMs !== null;
  }

  append(txn: Txn, done: () => void, failed: (e: Error) => void): void {
    if (this.failure !== null || this.closed) {
      const e = this.failure ?? new Error('txn log is closed');
      setImmediate(() => failed(e));
      return;
    }
    // Encode now: the txn must be logged as it was when it was prepared.
    encodeTxnRecordInto(this.records, txn);
    this.pending.push({ end: this.records.offset, zxid: txn.hdr.zxid, idleAtAppend: !this.writing, done, failed });
    this.schedule();
  }

  private schedule(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not nextTick: every append made while handling this round of I/O joins.
    setImmediate(() => {
      this.scheduled = false;
      void this.writeBatches();
    });
  }

  private async writeBatches(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0 && this.failure === null) {
        if (this.current !== null && (this.rollRequested || this.txnsInFile >= this.rollAfterTxns)) await this.rollLog();
        let take = Math.min(this.pending.length, MAX_BATCH_TXNS, this.rollAfterTxns - this.txnsInFile);
        if (take < 1) take = 1;
        let n = 1;
        while (n < take && this.pending[n]!.end <= MAX_BATCH_BYTES) n++;
        const batch = this.pending.splice(0, n);
        const bytes = this.takeRecords(batch[n - 1]!.end);
        try {
          await this.writeAndSync(bytes, batch[0]!.zxid, this.mayWriteInline(batch, bytes.length));
        } catch (e) {
          if (!isOutOfSpace(e) || this.closed) {
            this.fail(e as Error, batch);
            return;
          }
          // Disk full: nothing of this batch was acknowledged, and every write is positional, so
          // the same batch can be written again over whatever part reached the disk. Stall
          // (later appends queue behind it, bounded by the pipeline's outstanding limit) and
          // retry until space returns, instead of exiting as Apache ZooKeeper does.
          this.putBack(batch, bytes);
          this.stalledSinceMs ??= Date.now();
          this.opts.logger.error(
            { err: (e as Error).message, file: this.current?.name, waitingTxns: this.pending.length, retryMs: DISK_FULL_RETRY_MS },
            'txn log: no space left on the device; writes are stalled until space returns',
          );
          await new Promise((r) => setTimeout(r, DISK_FULL_RETRY_MS));
          continue;
        }
        if (this.stalledSinceMs !== null) {
          this.opts.logger.warn({ stalledMs: Date.now() - this.stalledSinceMs }, 'txn log: space is back; writes resumed');
          this.stalledSinceMs = null;
        }
        this.recycleBatchRecords();
        this.txnsInFile += batch.length;
        this.lastDurableZxid = batch[batch.length - 1]!.zxid;
        for (const p of batch) p.done();
      }
    } finally {
      this.writing = false;
      if (this.pending.length > 0 && this.failure === null) this.schedule();
      else if (this.pending.length === 0) this.wakeIdle();
    }
  }

  /**
   * Hands over the first `end` bytes of the append buffer (the records of the batch just taken
   * from `pending`) and starts a new buffer for later appends, carrying over the records that
   * stay pending.
   */
  private takeRecords(end: number): Buffer {
    const old = this.records;
    const rest = old.offset - end;
    // As large as this batch, so that a load like the current one fills it without regrowing.
    const want = Math.max(APPEND_BUFFER_BYTES, end, rest * 2);
    const spare = this.spareRecords;
    this.spareRecords = null;
    if (spare !== null && spare.capacity() >= want) {
      spare.reset();
      this.records = spare;
    } else {
      this.records = new JuteWriter(want);
    }
    this.batchRecords = old;
    if (rest > 0) {
      this.records.raw(old.view(end, old.offset));
      for (const p of this.pending) p.end -= end;
    }
    return old.view(0, end);
  }

  /** The batch just written is on disk: its buffer can take a later batch. */
  private recycleBatchRecords(): void {
    const w = this.batchRecords;
    this.batchRecords = null;
    if (w !== null && w.capacity() <= MAX_SPARE_BUFFER_BYTES) this.spareRecords = w;
  }

  /** Undoes takeRecords: the batch and its bytes go back in front of whatever was appended since. */
  private putBack(batch: Pending[], bytes: Buffer): void {
    // `bytes` is a view of batchRecords: that buffer must not be reused while it is copied from.
    this.batchRecords = null;
    const later = this.records;
    this.records = new JuteWriter(Math.max(APPEND_BUFFER_BYTES, (bytes.length + later.offset) * 2));
    this.records.raw(bytes);
    this.records.raw(later.view(0, later.offset));
    for (const p of this.pending) p.end += bytes.length;
    // The batch's own ends count from the start of `bytes`, which is the start again.
    this.pending.unshift(...batch);
  }

  /**
   * Whether this batch may be written on the event loop (see the header): one txn, appended to
   * an idle log, on a server with nothing else in flight. A txn that came in while a batch was
   * being written is part of a load: a lone txn there is a lull between batches, and the
   * requests of the next one are on their way (at 4×8, writing those inline cost 4-6 % of
   * throughput and raised the p99 of set 128 B by ~40 %, the event loop waiting instead of
   * reading them).
   */
  private mayWriteInline(batch: readonly Pending[], bytes: number): boolean {
    if (batch.length !== 1 || !batch[0]!.idleAtAppend || bytes > INLINE_MAX_BYTES || this.serverIdleBesides === null) return false;
    return performance.now() >= this.inlineOffUntilMs && this.serverIdleBesides(batch.length);
  }

  private async writeAndSync(buf: Buffer, firstZxid: number, inline: boolean): Promise<void> {
    if (this.current === null) await this.openFile(firstZxid);
    const f = this.current!;
    const end = f.position + buf.length;
    // ZooKeeper pads before each record; padding for the batch's start and then for its end
    // gives the same sizes for small batches and never lets a large one outgrow the padding.
    let size = paddedSize(f.position, f.allocatedBytes, this.opts.preAllocSizeBytes);
    size = paddedSize(end, size, this.opts.preAllocSizeBytes);
    if (size !== f.allocatedBytes) {
      await ftruncateAsync(f.fd, size);
      f.allocatedBytes = size;
    }
    // A zero fill must never write over this batch (nor over the zeros a direct write pads it
    // with): wait for one that covers any of those bytes.
    const writeEnd = f.direct ? alignUp(end, DIRECT_ALIGN_BYTES) : end;
    if (f.fill !== null && writeEnd > f.fill.from && f.position < f.fill.to) await f.fill.done;
    const start = performance.now();
    await this.writeAt(f, buf, inline ? writeInline : writeAsync);
    if (inline) {
      this.inlineWrites++;
      if (performance.now() - start > (this.opts.inlineSlowMs ?? INLINE_SLOW_MS)) this.inlineOffUntilMs = performance.now() + INLINE_BACKOFF_MS;
    }
    if (!this.opts.forceSync) return;
    // Without O_DSYNC the zeros would only reach the page cache, and allocate nothing ahead.
    if (O_DSYNC !== undefined) this.fillAhead(f);
    if (O_DSYNC === undefined) await fdatasyncAsync(f.fd);
    if (f.dirSyncNeeded) {
      await syncDirectory(this.opts.logDir);
      f.dirSyncNeeded = false;
    }
    const elapsed = performance.now() - start;
    this.syncCount++;
    this.lastSyncMs = elapsed;
    this.onSync?.(elapsed);
    // FileTxnLog.commit compares whole milliseconds (TimeUnit.NANOSECONDS.toMillis).
    if (Math.floor(elapsed) > this.opts.fsyncWarningThresholdMs) {
      this.opts.logger.warn(
        { elapsedMs: Math.round(elapsed), fileSize: f.allocatedBytes, file: f.name },
        `fsync-ing the write ahead log took ${Math.round(elapsed)}ms which will adversely effect operation latency. ` +
          `File size is ${f.allocatedBytes} bytes. See the ZooKeeper troubleshooting guide`,
      );
      this.onSlowSync?.(elapsed);
    }
  }

  private async openFile(firstZxid: number): Promise<void> {
    const name = makeFileName(LOG_FILE_PREFIX, firstZxid);
    const file = path.join(this.opts.logDir, name);
    this.opts.logger.info({ file }, `Creating new log file: ${name}`);
    // Exclusive ('wx'): a file of that name already existing means two writers or a recovery bug.
    const flags = this.opts.forceSync ? SYNCED_WRITE_FLAGS : 'wx';
    let fd: number;
    let direct = false;
    if (this.directIo && typeof flags === 'number') {
      try {
        fd = await openAsync(file, flags | O_DIRECT!);
        direct = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.refuseDirect(file, e as Error);
        fd = await openAsync(file, flags);
      }
    } else {
      fd = await openAsync(file, flags);
    }
    const f: OpenFile = { fd, name, position: 0, allocatedBytes: 0, dirSyncNeeded: true, filledTo: 0, fill: null, fillStopped: false, direct, tail: Buffer.alloc(direct ? DIRECT_ALIGN_BYTES : 0) };
    try {
      await this.writeAt(f, encodeFileHeader(TXNLOG_MAGIC, 0));
    } catch (e) {
      // A file without its header holds nothing (no txn was written to it): remove it, so that
      // the retry after a full disk creates it again instead of meeting it (EEXIST).
      await closeAsync(f.fd).catch(() => undefined);
      await fs.promises.unlink(file).catch(() => undefined);
      throw e;
    }
    this.current = f;
    this.txnsInFile = 0;
    this.onRoll?.(name);
  }

  /** Writes `buf` at the file's position and moves the position past it. */
  private async writeAt(f: OpenFile, buf: Buffer, write: PositionalWrite = writeAsync): Promise<void> {
    if (f.direct) {
      try {
        await this.writeDirect(f, buf, write);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        // The filesystem took O_DIRECT at open but not our writes: go on buffered, for good.
        this.refuseDirect(path.join(this.opts.logDir, f.name), e as Error);
        const fd = await openAsync(path.join(this.opts.logDir, f.name), fs.constants.O_WRONLY | (O_DSYNC ?? 0));
        await closeAsync(f.fd).catch(() => undefined);
        f.fd = fd;
        f.direct = false;
      }
    }
    let written = 0;
    // Regular files rarely write short, but a short write must not lose the rest. With
    // forceSync the file is O_DSYNC: each write returns once it is durable (the sync).
    while (written < buf.length) {
      written += await write(f.fd, buf, written, buf.length - written, f.position + written);
    }
    f.position += buf.length;
    if (f.allocatedBytes < f.position) f.allocatedBytes = f.position;
  }

  /**
   * One direct write (see the header): [alignDown(position), alignUp(position + length)) from
   * the page-aligned buffer, holding the partial block's bytes, then `buf`, then zeros. Nothing
   * of the file's state changes unless the write succeeds, so a batch that failed (a full disk)
   * is written again exactly as the first time.
   */
  private async writeDirect(f: OpenFile, buf: Buffer, write: PositionalWrite): Promise<void> {
    const head = f.position % DIRECT_ALIGN_BYTES;
    const blockStart = f.position - head;
    const total = alignUp(head + buf.length, DIRECT_ALIGN_BYTES);
    let out = this.directOut;
    if (out === null || out.length < total) {
      const bytes = Math.max(total, APPEND_BUFFER_BYTES);
      try {
        out = (this.opts.alignedBuffer ?? pageAlignedBuffer)(bytes);
      } catch (e) {
        // No aligned memory to be had: as good as a refusal of O_DIRECT (writeAt falls back).
        throw Object.assign(new Error(`no page-aligned buffer of ${bytes} bytes: ${(e as Error).message}`), { code: 'EINVAL' });
      }
      if (out.length <= MAX_KEPT_DIRECT_BYTES) this.directOut = out;
    }
    f.tail.copy(out, 0, 0, head);
    buf.copy(out, head);
    out.fill(0, head + buf.length, total);
    let written = 0;
    while (written < total) {
      const n = await write(f.fd, out, written, total - written, blockStart + written);
      // A direct write returns whole blocks or fails; anything else would leave a gap.
      if (n % DIRECT_ALIGN_BYTES !== 0) throw new Error(`txn log: direct write of ${total - written} bytes wrote ${n}`);
      written += n;
    }
    const end = f.position + buf.length;
    const tailStart = end - (end % DIRECT_ALIGN_BYTES);
    out.copy(f.tail, 0, tailStart - blockStart, end - blockStart);
    f.position = end;
    // allocatedBytes stays the size ZooKeeper's padding gives (paddedSize): the zeros past `end`
    // only ever reach beyond it when padding is off or not block-aligned, and are zeros anyway.
    if (f.allocatedBytes < end) f.allocatedBytes = end;
  }

  private refuseDirect(file: string, e: Error): void {
    if (!this.directIo) return;
    this.directIo = false;
    this.opts.logger.info({ file, err: e.message }, 'txn log: the filesystem refuses O_DIRECT; writing through the page cache');
  }

  /**
   * Starts writing zeros ahead of the write position when little filled space is left (see the
   * header). The fill never covers a byte below `position + FILL_GAP_BYTES`, and writeAndSync
   * waits for a fill in flight before writing into its range, so a fill and a batch never touch
   * the same bytes. A failed fill (a full disk) only stops filling this file: the log then
   * writes into the unfilled space as before, and the zeros written so far are what the
   * preallocated tail holds anyway.
   */
  private fillAhead(f: OpenFile): void {
    if (f.fill !== null || f.fillStopped || f.filledTo - f.position >= FILL_LOW_BYTES) return;
    const now = performance.now();
    if (now - this.lastFillAt < (this.opts.fillMinIntervalMs ?? FILL_MIN_INTERVAL_MS)) return;
    this.lastFillAt = now;
    const from = Math.max(f.filledTo, alignUp(f.position + FILL_GAP_BYTES, 4096));
    const to = Math.min(f.allocatedBytes, from + FILL_STEP_BYTES);
    if (to - from < FILL_MIN_BYTES) return;
    const fill: Fill = {
      from,
      to,
      done: (this.opts.filler ?? logFiller()).fill(path.join(this.opts.logDir, f.name), from, to).then(
        () => {
          f.filledTo = to;
          f.fill = null;
        },
        (e: Error) => {
          f.fill = null;
          f.fillStopped = true;
          this.opts.logger.warn({ err: e.message, file: f.name }, 'txn log: writing zeros ahead of the log failed; this file is not filled further');
        },
      ),
    };
    f.fill = fill;
  }

  /** Closes the current file; the next batch opens a new one named after its first zxid. */
  private async rollLog(): Promise<void> {
    const f = this.current;
    if (f?.fill) await f.fill.done;
    this.current = null;
    this.txnsInFile = 0;
    this.rollRequested = false;
    this.rollAfterTxns = this.nextRollPoint();
    if (f !== null) await closeAsync(f.fd);
  }

  /** Starts a new file at the next batch (when a snapshot is exported, so purge can drop the old one). */
  requestRoll(): void {
    if (this.current !== null) this.rollRequested = true;
  }

  private fail(e: Error, batch: Pending[]): void {
    this.failure = e;
    this.opts.logger.error({ err: e.message, file: this.current?.name }, 'txn log write failed');
    const all = [...batch, ...this.pending];
    this.pending = [];
    for (const p of all) p.failed(e);
    this.wakeIdle();
    this.onFatal?.(e);
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  /** Resolves once everything appended so far is durable (or has failed). */
  whenIdle(): Promise<void> {
    if (this.pending.length === 0 && !this.writing && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Whether the file being written takes direct writes (O_DIRECT; see the header). */
  get writingDirect(): boolean {
    return this.current?.direct ?? false;
  }

  /** Name of the file being written, or null between files. */
  currentFileName(): string | null {
    return this.current?.name ?? null;
  }

  async close(): Promise<void> {
    await this.whenIdle();
    this.closed = true;
    const f = this.current;
    if (f?.fill) await f.fill.done;
    this.current = null;
    if (f !== null) await closeAsync(f.fd);
  }
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * The thread that writes the zeros (log-fill-worker.ts), started at the first fill and shared by
 * every log of the process. It never keeps the process alive; should it fail, every fill in
 * flight and every later one fails, which only stops the filling.
 */
class LogFiller implements ZeroFiller {
  private worker: Worker | null = null;
  private broken: Error | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  fill(file: string, from: number, to: number): Promise<void> {
    if (this.broken !== null) return Promise.reject(this.broken);
    const w = this.start();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, file, from, to });
    });
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const w = new Worker(path.join(__dirname, 'log-fill-worker.js'));
    w.unref();
    w.on('message', (m: { id: number; error: string | null }) => {
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) w.unref();
      if (m.error === null) waiter?.resolve();
      else waiter?.reject(new Error(`zero fill failed: ${m.error}`));
    });
    const fail = (e: Error): void => {
      this.broken = e;
      this.worker = null;
      for (const waiter of this.waiting.values()) waiter.reject(e);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the log fill thread exited (${code})`)));
    this.worker = w;
    return w;
  }
}

let filler: LogFiller | null = null;
function logFiller(): LogFiller {
  filler ??= new LogFiller();
  return filler;
}

/** fsyncs a directory so that a file created or renamed in it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const fd = await openAsync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}
