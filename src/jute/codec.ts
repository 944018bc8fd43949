/**
 * Jute binary encoding, as Apache ZooKeeper's BinaryInputArchive/BinaryOutputArchive define it.
 *
 *   int      := int32 big-endian
 *   long     := int64 big-endian
 *   boolean  := byte (0 = false, anything else = true on read; 1 on write)
 *   buffer   := int32 length, then length bytes; length -1 means null
 *   ustring  := int32 length, then length bytes of UTF-8; length -1 means null
 *   vector<T>:= int32 count, then count T; count -1 means null
 *   record   := its fields in declaration order, with no framing of its own
 *
 * Decoding never trusts a length: every read is bounds-checked against the frame and a
 * violation raises JuteError, which callers treat as a malformed request (operating error),
 * never as a crash.
 */

import { allocValue, copyBytes } from './value-memory';

export class JuteError extends Error {
  override readonly name = 'JuteError';
}

/** jute.maxbuffer's default: the largest frame Apache ZooKeeper accepts. */
export const DEFAULT_MAX_BUFFER_BYTES = 0xfffff;

/**
 * The largest length one buffer or string may claim. Apache ZooKeeper's BinaryInputArchive
 * allows jute.maxbuffer plus `zookeeper.jute.maxbuffer.extrasize` (default: jute.maxbuffer
 * again, at least 1024) as a rough sanity bound; it is process-wide, as a Java system property
 * is, and set once at startup by setJuteMaxBuffer.
 */
let fieldLimitBytes = DEFAULT_MAX_BUFFER_BYTES * 2;

export function setJuteMaxBuffer(maxBufferBytes: number, extraBytes: number = maxBufferBytes): void {
  fieldLimitBytes = maxBufferBytes + Math.max(1024, extraBytes);
}

const TWO_POW_32 = 4294967296;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

export class JuteReader {
  offset: number;
  readonly end: number;

  constructor(readonly buf: Buffer, offset = 0, end = buf.length, readonly maxBufferBytes = fieldLimitBytes) {
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.end) {
      throw new JuteError(`record truncated: need ${bytes} bytes at offset ${this.offset}, have ${this.end - this.offset}`);
    }
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /**
   * A Jute long as a JS number. Used for zxids and times, which stay below 2^53 in practice
   * (an epoch would need 2^21 elections to overflow). Values outside that range lose precision
   * but never throw, so a hostile client cannot crash us with them.
   */
  long(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return hi * TWO_POW_32 + lo;
  }

  /** A Jute long as a bigint: session ids carry myid in the top byte and need all 64 bits. */
  bigLong(): bigint {
    this.need(8);
    // Zero (no owner, no session) is by far the most common: share one constant instead of
    // allocating a BigInt, which a restored znode would keep for its ephemeralOwner.
    if (this.buf.readInt32BE(this.offset) === 0 && this.buf.readInt32BE(this.offset + 4) === 0) {
      this.offset += 8;
      return 0n;
    }
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  boolean(): boolean {
    this.need(1);
    return this.buf[this.offset++] !== 0;
  }

  private length(what: string): number {
    const len = this.int();
    if (len < -1) throw new JuteError(`negative ${what} length ${len}`);
    if (len > this.maxBufferBytes) throw new JuteError(`${what} length ${len} exceeds jute.maxbuffer ${this.maxBufferBytes}`);
    return len;
  }

  buffer(): Buffer | null {
    const len = this.length('buffer');
    if (len === -1) return null;
    this.need(len);
    // A copy, not a view: a view would keep the whole frame (a socket read, a log file) alive
    // for as long as the znode holds its data.
    const out = allocValue(len);
    copyBytes(out, 0, this.buf, this.offset, this.offset + len);
    this.offset += len;
    return out;
  }

  /** A ustring; null (length -1) reads as the empty string, which every path check rejects the same way. */
  ustring(): string {
    const len = this.length('string');
    if (len === -1) return '';
    this.need(len);
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }

  /** Vector count; -1 (null) reads as 0 elements. */
  vectorCount(): number {
    const n = this.int();
    if (n < -1) throw new JuteError(`negative vector count ${n}`);
    if (n === -1) return 0;
    // Every element takes at least one byte, so a count above the bytes left is a lie.
    if (n > this.remaining()) throw new JuteError(`vector count ${n} exceeds the ${this.remaining()} bytes left`);
    return n;
  }
}

/**
 * With splicing on, buffer fields at least this long are referenced instead of copied. Below
 * it, copying is cheaper than what a reply of several pieces costs: a corked socket and one
 * writev build arrays and request objects per write, and the value must be held until the
 * socket took it (value-memory.ts, holdSpliced). Main-thread allocation at get 4 KB 1x1
 * (sampling heap profile, fresh server, 5 s): ~5.1 KB per reply with 4 KB values spliced,
 * ~2.8 KB with them copied (and the read side's fewer views, tcp-connection.ts).
 */
export const SPLICE_MIN_BYTES = 16 * 1024;

export class JuteWriter {
  private buf: Buffer;
  offset = 0;
  /** Whether spliceLargeBuffers was called. */
  private splicing = false;
  /** With splicing on, a buffer field that would take the writer past this many bytes is spliced too. */
  private maxCopiedBytes = Infinity;
  /** Spliced buffers and the offsets they go at (see spliceLargeBuffers); null until the first. */
  private splices: Buffer[] | null = null;
  private spliceAt: number[] | null = null;
  /** Bytes in spliced buffers, which `offset` does not count. */
  splicedBytes = 0;

  /** A writer into a new buffer of `initial` bytes, or into `initial` itself (its bytes are overwritten). */
  constructor(initial: number | Buffer = 256) {
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(initial) : initial;
  }

  /** The buffer written into (a larger one than the writer began with if it grew). */
  backing(): Buffer {
    return this.buf;
  }

  /**
   * From now on, buffer fields of SPLICE_MIN_BYTES or more are not copied: the writer keeps a
   * reference and `chunks()` returns the bytes as pieces, those buffers among them. They must
   * not change until the pieces are written (znode values never change: setData replaces them).
   * Smaller ones that would take the writer past `maxCopiedBytes` are spliced too: the
   * connection keeps buffers up to that size for reuse, and copying past it would grow a new
   * large buffer each turn.
   */
  spliceLargeBuffers(maxCopiedBytes = Infinity): void {
    this.splicing = true;
    this.maxCopiedBytes = maxCopiedBytes;
  }

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buf.length) return;
    let size = Math.max(64, this.buf.length * 2);
    while (size < this.offset + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  int(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.offset);
    this.offset += 4;
  }

  long(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO_POW_32);
    const lo = v - hi * TWO_POW_32;
    this.buf.writeInt32BE(hi | 0, this.offset);
    this.buf.writeUInt32BE(lo >>> 0, this.offset + 4);
    this.offset += 8;
  }

  bigLong(v: bigint): void {
    this.ensure(8);
    if (v >= -MAX_SAFE_BIG && v <= MAX_SAFE_BIG) {
      // Within 2^53 the number path is exact, and unlike writeBigInt64BE (which masks and
      // shifts) it makes no BigInts: session ids of 0 (ephemeralOwner) are most of these.
      const n = Number(v);
      const hi = Math.floor(n / TWO_POW_32);
      this.buf.writeInt32BE(hi | 0, this.offset);
      this.buf.writeUInt32BE((n - hi * TWO_POW_32) >>> 0, this.offset + 4);
    } else {
      this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.offset);
    }
    this.offset += 8;
  }

  boolean(v: boolean): void {
    this.ensure(1);
    this.buf[this.offset++] = v ? 1 : 0;
  }

  buffer(v: Buffer | null): void {
    if (v === null) {
      this.int(-1);
      return;
    }
    this.int(v.length);
    if (this.splicing && (v.length >= SPLICE_MIN_BYTES || this.offset + v.length > this.maxCopiedBytes)) {
      if (this.splices === null) {
        this.splices = [];
        this.spliceAt = [];
      }
      this.spliceAt!.push(this.offset);
      this.splices.push(v);
      this.splicedBytes += v.length;
      return;
    }
    this.ensure(v.length);
    copyBytes(this.buf, this.offset, v);
    this.offset += v.length;
  }

  ustring(v: string | null): void {
    if (v === null) {
      this.int(-1);
      return;
    }
    const len = Buffer.byteLength(v, 'utf8');
    this.int(len);
    this.ensure(len);
    this.buf.write(v, this.offset, len, 'utf8');
    this.offset += len;
  }

  /** Reserves 4 bytes to be filled later with patchInt, for length prefixes of frames. */
  reserveInt(): number {
    this.ensure(4);
    const at = this.offset;
    this.offset += 4;
    return at;
  }

  patchInt(at: number, v: number): void {
    this.buf.writeInt32BE(v | 0, at);
  }

  /** One raw byte. */
  byte(v: number): void {
    this.ensure(1);
    this.buf[this.offset++] = v;
  }

  /** Reserves `bytes` bytes to be filled later (patchInt), and returns where they start. */
  reserve(bytes: number): number {
    this.ensure(bytes);
    const at = this.offset;
    this.offset += bytes;
    return at;
  }

  /** Raw bytes, copied in as they are. */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.offset);
    this.offset += v.length;
  }

  /** How many bytes the writer holds before it must grow. */
  capacity(): number {
    return this.buf.length;
  }

  /**
   * Starts over at offset 0 and keeps the buffer, so that a writer can be used again without a
   * new allocation. Views taken earlier see their bytes overwritten by later writes.
   */
  reset(): void {
    if (this.splicing) throw new Error('reset() on a writer that splices buffers');
    this.offset = 0;
  }

  /** A view of bytes already written; valid only until the next write (which may move them). */
  view(start: number, end: number): Buffer {
    return this.buf.subarray(start, end);
  }

  /** The bytes written so far, as a view; the writer must not be used after this. */
  finish(): Buffer {
    if (this.splicedBytes > 0) throw new Error('finish() on a writer with spliced buffers: use chunks()');
    return this.buf.subarray(0, this.offset);
  }

  /** The buffers spliced in so far (none unless spliceLargeBuffers was called). */
  splicedBuffers(): readonly Buffer[] {
    return this.splices ?? [];
  }

  /** The bytes written so far, in order, as pieces (views and spliced buffers); the writer must not be used after this. */
  chunks(): Buffer[] {
    const at = this.spliceAt;
    if (at === null || at.length === 0) return [this.buf.subarray(0, this.offset)];
    const out: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < at.length; i++) {
      if (at[i]! > from) out.push(this.buf.subarray(from, at[i]));
      out.push(this.splices![i]!);
      from = at[i]!;
    }
    if (this.offset > from) out.push(this.buf.subarray(from, this.offset));
    return out;
  }
}
