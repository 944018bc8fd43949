/**
 * Where decoded buffers (znode values, above all) live, and how their memory is reused.
 *
 * Slabs. Decoded buffers are not cut from Node's shared 8 KiB Buffer pool: a value lives as
 * long as its znode, and a live slice keeps its whole pool slab alive, slab shared with reply
 * buffers, txn records and other short-lived bytes. With the txn log about ten values shared
 * each 8 KiB slab (745 B held per 128-byte value). Values instead come from slabs that hold
 * nothing but decoded buffers, and large ones get a buffer of their own (whose ~200 bytes of
 * bookkeeping are small next to the value). A slab still lives while any value cut from it
 * does, so setData churn can leave slabs partly used, as Node's pool would.
 *
 * Shared memory. Slabs and own buffers are SharedArrayBuffers, not ArrayBuffers, while the
 * estimate of such memory that no tree holds stays under MAX_SHARED_GARBAGE_BYTES. V8 counts
 * the backing store of every ArrayBuffer as "external memory" and starts a full collection
 * each time that has grown ~64 MiB since the last one, however much of it is still live: at
 * 25,000 creates of 4 KiB a second, a full collection every ~0.6 s that marks the whole heap
 * (a million znodes: ~900,000 objects), with pauses that showed in create 4 KB p99
 * (docs/performance.md). A SharedArrayBuffer's backing store is not counted (V8 leaves shared
 * memory out of per-isolate accounting), so values that stay in the tree start no collection.
 * What V8 no longer sees, this module counts: the bytes of shared memory it handed out since
 * the last full collection, less what node stores hold (nodeStoreHolds, told by NodeStore).
 * Past the limit it hands out ordinary ArrayBuffers again, whose growth makes V8 collect, and
 * each full collection (seen through a PerformanceObserver) frees the dead shared buffers and
 * resets the estimate to what the stores hold. So unreferenced value memory stays bounded by
 * about the limit plus V8's own 64 MiB, and only memory that really is garbage costs a
 * collection. Nothing else changes: a Buffer over a SharedArrayBuffer is written to sockets,
 * files and LMDB like any other, and values are never posted to another thread.
 *
 * Reuse. Buffers of values that left the tree, by length, for allocValue to hand out again: a
 * setData of 4 KiB otherwise leaves the value it replaces to the garbage collector. Only the
 * node store gives buffers back (recycleValue), when no node holds them any more. The one
 * other holder of a stored value is a reply that spliced it in (JuteWriter.spliceLargeBuffers)
 * and is not written yet: the connection holds such buffers (holdSpliced) from its flush until
 * the socket has taken the bytes. A buffer given back joins the pool only at the next check
 * phase (setImmediate), after every flush of the turn that let it go has registered its holds,
 * and only if none is left.
 */
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';

const VALUE_SLAB_BYTES = 16 * 1024;
/** Values this large or larger get a buffer of their own: a slab wastes at most this much at its end. */
export const OWN_BUFFER_BYTES = 2048;
/** Every empty value is this one buffer: it has no bytes to change. */
const EMPTY_VALUE = Buffer.alloc(0);
let valueSlab: Buffer | null = null;
let valueSlabOffset = 0;

/** Shared value memory that may be garbage, past which allocValue hands out ArrayBuffers (see above). */
export const MAX_SHARED_GARBAGE_BYTES = 64 * 1024 * 1024;
/** Shared memory handed out and not known to be freed: reset by each full collection. */
let sharedBytes = 0;
/** Shared memory that node stores hold (every slab counted once, whole). */
let storedSharedBytes = 0;
let gcObserver: PerformanceObserver | null = null;

function watchFullCollections(): void {
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      if ((kind & perfConstants.NODE_PERFORMANCE_GC_MAJOR) !== 0) noteFullCollection();
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/**
 * A full collection has just run: every shared buffer that was unreachable is freed, and what
 * is left is what the stores hold, plus buffers on their way through the pipeline, which the
 * estimate forgets (they are few, and the next collection corrects it again). The observer
 * calls it; so does a caller that forced a collection and needs the figures at once.
 */
export function noteFullCollection(): void {
  sharedBytes = storedSharedBytes;
}

/** Shared value memory that may still be allocated, by the estimate above (idle collection). */
export function sharedValueBytes(): number {
  return sharedBytes;
}

/** Shared value memory no node store holds, by the estimate above (tests). */
export function sharedGarbageBytes(): number {
  return Math.max(0, sharedBytes - storedSharedBytes);
}

/**
 * A node store started (+1) or stopped (-1) holding values in `ab`. Called once per buffer per
 * store, not per value: the store counts the values it holds in each.
 */
export function nodeStoreHolds(ab: ArrayBufferLike, delta: 1 | -1): void {
  if (ab instanceof SharedArrayBuffer) storedSharedBytes += delta * ab.byteLength;
}

/** A new buffer of `len` bytes: shared memory while the garbage estimate allows (see above). */
function newBuffer(len: number): Buffer {
  if (sharedBytes - storedSharedBytes < MAX_SHARED_GARBAGE_BYTES) {
    if (gcObserver === null) watchFullCollections();
    sharedBytes += len;
    return Buffer.from(new SharedArrayBuffer(len));
  }
  return Buffer.allocUnsafeSlow(len);
}

/** From this length on, copyBytes copies with Buffer.fill (see there). */
const NATIVE_COPY_BYTES = 256;

/**
 * source[sourceStart, sourceEnd) into target at targetStart, as Buffer.copy does. V8 copies into
 * or out of a SharedArrayBuffer with relaxed atomic accesses, and byte by byte when the two
 * ends are not equally aligned, as a value's bytes in a socket read rarely are: ~1 us for 4 KiB
 * against ~0.15 us (a micro-benchmark). Buffer.fill with a buffer as large as the range is one
 * native memcpy, shared memory or not, so longer copies go through it.
 */
export function copyBytes(target: Buffer, targetStart: number, source: Buffer, sourceStart = 0, sourceEnd = source.length): void {
  const len = sourceEnd - sourceStart;
  if (len < NATIVE_COPY_BYTES) {
    source.copy(target, targetStart, sourceStart, sourceEnd);
    return;
  }
  target.fill(sourceStart === 0 && sourceEnd === source.length ? source : source.subarray(sourceStart, sourceEnd), targetStart, targetStart + len);
}

const recycledValues = new Map<number, Buffer[]>();
let recycledBytes = 0;
/** The pool (and what waits to join it) holds at most this much; the rest is left to the GC. */
const MAX_RECYCLED_BYTES = 16 * 1024 * 1024;
let pendingRecycle: Buffer[] = [];
let recycleScheduled = false;
/** Spliced value buffers whose replies sockets have not taken yet, with how many replies. */
const splicedInFlight = new Map<ArrayBufferLike, number>();

/**
 * Gives the buffer of a value no node holds any more back to allocValue. The caller passes only
 * a value that was a buffer of its own (as allocValue makes them from 2 KiB up), never a slab
 * of small values; a buffer that is not a whole ArrayBuffer or SharedArrayBuffer is ignored.
 */
export function recycleValue(buf: Buffer): void {
  const len = buf.length;
  if (len < OWN_BUFFER_BYTES || buf.byteOffset !== 0 || buf.buffer.byteLength !== len) return;
  if (recycledBytes + len > MAX_RECYCLED_BYTES) return;
  recycledBytes += len;
  pendingRecycle.push(buf);
  if (!recycleScheduled) {
    recycleScheduled = true;
    setImmediate(joinPool);
  }
}

function joinPool(): void {
  recycleScheduled = false;
  const list = pendingRecycle;
  pendingRecycle = [];
  for (const buf of list) {
    if (splicedInFlight.has(buf.buffer)) {
      // A reply still holds it: left to the garbage collector.
      recycledBytes -= buf.length;
      continue;
    }
    let same = recycledValues.get(buf.length);
    if (same === undefined) {
      same = [];
      recycledValues.set(buf.length, same);
    }
    same.push(buf);
  }
}

/** Marks buffers spliced into replies that a socket has yet to take (see above). */
export function holdSpliced(bufs: readonly Buffer[]): void {
  for (const b of bufs) splicedInFlight.set(b.buffer, (splicedInFlight.get(b.buffer) ?? 0) + 1);
}

/** The socket took (or dropped) the replies that held these buffers. */
export function releaseSpliced(bufs: readonly Buffer[]): void {
  for (const b of bufs) {
    const n = splicedInFlight.get(b.buffer)! - 1;
    if (n > 0) splicedInFlight.set(b.buffer, n);
    else splicedInFlight.delete(b.buffer);
  }
}

/** Bytes in the recycled-value pool and waiting to join it; spliced buffers held (tests). */
export function valuePoolStats(): { recycledBytes: number; splicedInFlight: number } {
  return { recycledBytes, splicedInFlight: splicedInFlight.size };
}

/** An uninitialised buffer of `len` bytes for a decoded value (see above). */
export function allocValue(len: number): Buffer {
  if (len === 0) return EMPTY_VALUE;
  if (len >= OWN_BUFFER_BYTES) {
    const same = recycledValues.get(len);
    if (same !== undefined && same.length > 0) {
      recycledBytes -= len;
      return same.pop()!;
    }
    return newBuffer(len);
  }
  if (valueSlab === null || valueSlabOffset + len > VALUE_SLAB_BYTES) {
    valueSlab = newBuffer(VALUE_SLAB_BYTES);
    valueSlabOffset = 0;
  }
  const out = valueSlab.subarray(valueSlabOffset, valueSlabOffset + len);
  valueSlabOffset = (valueSlabOffset + len + 7) & ~7;
  return out;
}
