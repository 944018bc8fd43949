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

export class JuteError extends Error {
  override readonly name = 'JuteError';
}

/** Largest length Apache ZooKeeper accepts for one buffer or string (jute.maxbuffer default). */
export const DEFAULT_MAX_BUFFER_BYTES = 0xfffff;

const TWO_POW_32 = 4294967296;

export class JuteReader {
  offset: number;
  readonly end: number;

  constructor(readonly buf: Buffer, offset = 0, end = buf.length, readonly maxBufferBytes = DEFAULT_MAX_BUFFER_BYTES) {
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
    // A copy, not a view: the frame's memory is reused by the connection, and znode data outlives it.
    const out = Buffer.allocUnsafe(len);
    this.buf.copy(out, 0, this.offset, this.offset + len);
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

export class JuteWriter {
  private buf: Buffer;
  offset = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
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
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.offset);
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
    this.ensure(v.length);
    v.copy(this.buf, this.offset);
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

  /** The bytes written so far, as a view; the writer must not be used after this. */
  finish(): Buffer {
    return this.buf.subarray(0, this.offset);
  }
}
