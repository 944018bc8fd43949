/**
 * The tree digest of Apache ZooKeeper 3.8 (DigestCalculator, AdHash, NodeHashMapImpl): a
 * checksum of the whole znode tree that can be kept up to date per change, so two servers (or a
 * snapshot and the tree rebuilt from it) can be compared cheaply.
 *
 *   nodeDigest := CRC-32( pathBytes ‖ data ‖ NodeFields )           as an unsigned 32-bit value
 *   NodeFields := czxid mzxid pzxid ctime mtime:int64 version cversion aversion:int32
 *                 ephemeralOwner:int64                                (60 bytes, big-endian)
 *   treeDigest := Σ nodeDigest over every node, modulo 2^64           read as a signed long
 *
 * pathBytes is the UTF-8 of the path, with the root taken as "" (ZooKeeper keys the root under
 * both "" and "/" and counts it once, as ""). Nodes whose path starts with "/zookeeper/" count
 * 0: ZooKeeper updates the quota nodes locally, outside txns, so it leaves that subtree out
 * ("/zookeeper" itself is in). The stored cversion is used (the count of child creations),
 * not the one clients see. DIGEST_VERSION names this formula in snapshots and txn logs.
 *
 * Java hashes `path.getBytes()` in the platform charset; on a JVM whose default charset is
 * UTF-8 (Java 18+, or a UTF-8 locale) that is what we hash.
 */
import * as zlib from 'node:zlib';

export const DIGEST_VERSION = 2;
/** DataTree.DIGEST_LOG_INTERVAL: a digest is logged for every zxid that is a multiple of it. */
export const DIGEST_LOG_INTERVAL = 128;
/** DataTree.DIGEST_LOG_LIMIT: the digest log keeps this many entries, dropping the oldest. */
export const DIGEST_LOG_LIMIT = 1024;

/** ZooDefs.ZOOKEEPER_NODE_SUBTREE: everything below it is left out of the digest. */
const EXCLUDED_SUBTREE = '/zookeeper/';

/** DataTree.ZxidDigest: the tree digest after the txn with this zxid was applied. */
export interface ZxidDigest {
  zxid: number;
  digestVersion: number;
  /** A Java long. */
  digest: bigint;
}

/** The fields of a node the digest covers (StatPersisted without its data and ACL). */
export interface DigestFields {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
}

export function excludedFromDigest(path: string): boolean {
  return path.startsWith(EXCLUDED_SUBTREE);
}

/**
 * CRC-32 (the IEEE polynomial, as java.util.zip.CRC32 and zlib) computed in JS: a digest covers
 * about a hundred bytes in four pieces, and three calls into zlib cost more than the CRC itself
 * (measured ~0.8 µs against ~0.25 µs per node). Table-driven, slicing by 8 for byte runs;
 * `c` below is the CRC register, i.e. the bitwise complement of the running CRC value.
 */
const TABLE = new Int32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) TABLE[t * 256 + i] = (TABLE[(t - 1) * 256 + i]! >>> 8) ^ TABLE[TABLE[(t - 1) * 256 + i]! & 0xff]!;
}
/** Longer data goes to zlib's native CRC, which is faster once the call overhead is amortised. */
const NATIVE_CRC_BYTES = 512;

function crcBytes(c: number, b: Uint8Array): number {
  return crcRange(c, b, 0, b.length);
}

/**
 * The CRC register `c` advanced over `b[start, end)`. Exported for readers that hold a node's
 * fields as stored bytes (the snapshot store's load computes digests from them).
 */
export function crcRange(c: number, b: Uint8Array, start: number, end: number): number {
  if (end - start >= NATIVE_CRC_BYTES) return ~zlib.crc32(start === 0 && end === b.length ? b : b.subarray(start, end), ~c >>> 0);
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    c =
      TABLE[1792 + (a & 0xff)]! ^
      TABLE[1536 + ((a >>> 8) & 0xff)]! ^
      TABLE[1280 + ((a >>> 16) & 0xff)]! ^
      TABLE[1024 + (a >>> 24)]! ^
      TABLE[768 + b[i + 4]!]! ^
      TABLE[512 + b[i + 5]!]! ^
      TABLE[256 + b[i + 6]!]! ^
      TABLE[b[i + 7]!]!;
  }
  for (; i < end; i++) c = TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** The path's UTF-8 bytes; ASCII paths (the usual case) are fed without encoding them. */
function crcPath(c: number, path: string): number {
  const start = c;
  for (let i = 0; i < path.length; i++) {
    const ch = path.charCodeAt(i);
    if (ch >= 0x80) return crcBytes(start, Buffer.from(path, 'utf8'));
    c = TABLE[(c ^ ch) & 0xff]! ^ (c >>> 8);
  }
  return c;
}

/** A big-endian int32. */
function crcInt(c: number, v: number): number {
  c = TABLE[(c ^ (v >>> 24)) & 0xff]! ^ (c >>> 8);
  c = TABLE[(c ^ (v >>> 16)) & 0xff]! ^ (c >>> 8);
  c = TABLE[(c ^ (v >>> 8)) & 0xff]! ^ (c >>> 8);
  return TABLE[(c ^ v) & 0xff]! ^ (c >>> 8);
}

/** A big-endian int64 from a JS number (an integer within ±2^53), without a BigInt. */
function crcLong(c: number, v: number): number {
  const high = Math.floor(v / 4294967296);
  return crcInt(crcInt(c, high | 0), (v - high * 4294967296) | 0);
}

/**
 * DigestCalculator.calculateDigest for one node, as a signed 32-bit integer (the CRC's bits;
 * `>>> 0` gives ZooKeeper's unsigned value). 0 for nodes below /zookeeper/.
 */
export function nodeDigest(path: string, data: Buffer | null, n: DigestFields): number {
  return nodeDigestOf(path, data, n.czxid, n.mzxid, n.pzxid, n.ctime, n.mtime, n.version, n.cversion, n.aversion, n.ephemeralOwner);
}

/** nodeDigest with the fields passed one by one (the tree keeps them in columns, not objects). */
export function nodeDigestOf(
  path: string,
  data: Uint8Array | null,
  czxid: number,
  mzxid: number,
  pzxid: number,
  ctime: number,
  mtime: number,
  version: number,
  cversion: number,
  aversion: number,
  ephemeralOwner: bigint,
): number {
  if (path.startsWith(EXCLUDED_SUBTREE)) return 0;
  let c = path === '/' ? -1 : crcPath(-1, path);
  if (data !== null && data.length > 0) c = crcBytes(c, data);
  c = crcLong(c, czxid);
  c = crcLong(c, mzxid);
  c = crcLong(c, pzxid);
  c = crcLong(c, ctime);
  c = crcLong(c, mtime);
  c = crcInt(c, version);
  c = crcInt(c, cversion);
  c = crcInt(c, aversion);
  if (ephemeralOwner === 0n) {
    c = crcInt(crcInt(c, 0), 0);
  } else {
    const owner = BigInt.asUintN(64, ephemeralOwner);
    c = crcInt(crcInt(c, Number(owner >> 32n) | 0), Number(owner & 0xffffffffn) | 0);
  }
  return ~c;
}

/** Keeps `low` an exact JS number: it is folded into the BigInt part before it could round. */
const FOLD_AT = 2 ** 52;

/**
 * AdHash: the sum of node digests modulo 2^64. The running sum lives in a plain number and is
 * folded into a BigInt only when it grows past 2^52 (every ~10^6 net additions), so adding and
 * removing a node costs no BigInt arithmetic.
 */
export class AdHash {
  private low = 0;
  private high = 0n;

  add(digest: number): void {
    this.low += digest >>> 0;
    if (this.low >= FOLD_AT) this.fold();
  }

  remove(digest: number): void {
    this.low -= digest >>> 0;
    if (this.low <= -FOLD_AT) this.fold();
  }

  private fold(): void {
    this.high = BigInt.asIntN(64, this.high + BigInt(this.low));
    this.low = 0;
  }

  /** The hash as a Java long. */
  value(): bigint {
    return BigInt.asIntN(64, this.high + BigInt(this.low));
  }

  clear(): void {
    this.low = 0;
    this.high = 0n;
  }
}

/** The tree digest computed from scratch over `nodes` (what the incremental one must equal). */
export function digestOfNodes(nodes: Iterable<[string, DigestFields & { data: Buffer | null }]>): bigint {
  const h = new AdHash();
  for (const [p, n] of nodes) h.add(nodeDigest(p, n.data, n));
  return h.value();
}
