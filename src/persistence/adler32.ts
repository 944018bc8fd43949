/**
 * Adler-32 (RFC 1950), the checksum java.util.zip.Adler32 computes and Apache ZooKeeper puts in
 * front of every txn log record and at the end of every snapshot file. Node exposes no Adler-32,
 * so here it is: two running sums modulo 65521, folded every NMAX bytes so they never overflow
 * a double's exact integer range.
 */

const MOD = 65521;
/** The most bytes that can be summed before the sums must be reduced (zlib's NMAX). */
const NMAX = 5552;

/** Continues an Adler-32 from `start` (1 for a fresh checksum) over `buf[from, to)`. */
export function adler32(buf: Uint8Array, start = 1, from = 0, to = buf.length): number {
  let a = start & 0xffff;
  let b = (start >>> 16) & 0xffff;
  let i = from;
  while (i < to) {
    const end = Math.min(to, i + NMAX);
    for (; i < end; i++) {
      a += buf[i]!;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}

/** A streaming Adler-32, for checksums over data written in pieces (snapshot files). */
export class Adler32 {
  private value = 1;

  update(buf: Uint8Array, from = 0, to = buf.length): void {
    this.value = adler32(buf, this.value, from, to);
  }

  digest(): number {
    return this.value;
  }
}
