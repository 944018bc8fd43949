/**
 * Apache ZooKeeper's snapshot file format (FileSnap, SerializeUtils.serializeSnapshot,
 * DataTree.serialize, ReferenceCountedACLCache.serialize, SnapStream), read to import a
 * ZooKeeper data directory and written to export one:
 *
 *   SnapshotFile := FileHeader Sessions AclMap Node* EndPath Seal ZxidDigest Seal
 *   FileHeader   := magic:int32 ("ZKSN" = 0x5a4b534e) version:int32 (2) dbid:int64 (-1)
 *   Sessions     := count:int32 (id:int64 timeoutMs:int32)*count
 *   AclMap       := count:int32 (index:int64 acls:vector<ACL>)*count
 *   Node         := path:ustring data:buffer acl:int64 StatPersisted
 *                   (depth first from the root, whose path is ""; parents before children;
 *                    acl is an AclMap index, -1 meaning OPEN_ACL_UNSAFE)
 *   EndPath      := "/":ustring
 *   Seal         := checksum:int64 "/":ustring
 *                   (checksum = Adler-32 of every byte of the file before it)
 *   ZxidDigest   := zxid:int64 digestVersion:int32 (2) digest:int64
 *                   (the tree digest at zxid; zxid 0 means "no digest")
 *
 * Files are named snapshot.<hex zxid> (.gz or .snappy when compressed; we read .gz, never
 * write compressed). The zxid in the name is where log replay resumes. The digest is the tree
 * digest of src/tree/digest.ts, which the DataTree keeps up to date; with digests off
 * (zookeeper.digest.enabled=false) the empty digest (zxid 0) is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { JuteReader, JuteWriter } from '../jute/codec';
import * as R from '../jute/records';
import type { Logger } from '../server/zookeeper-server';
import { OPEN_UNSAFE_ACL_ID } from '../tree/acl';
import { persistedStatOf, type DataTree, type RestoredNode, type ZNode } from '../tree/data-tree';
import { DIGEST_VERSION } from '../tree/digest';
import { Adler32, adler32 } from './adler32';
import { syncDirectory } from './txn-log';
import { makeFileName, SNAPSHOT_FILE_PREFIX, zxidFromName } from './txn-log-format';

export const SNAP_MAGIC = 0x5a4b534e; // "ZKSN"
const SNAP_VERSION = 2;
const SNAP_DBID = -1;
/** Node data can be as large as the server allows; the file itself is what bounds a read. */
const MAX_FIELD_BYTES = 2 ** 31 - 1;
/** FileSnap.deserialize gives up after this many invalid snapshots. */
const MAX_SNAPSHOTS_TRIED = 100;

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

export interface ZkSnapshot {
  file: string;
  /** From the file name: replay resumes after it. */
  zxid: number;
  sessions: Map<bigint, number>;
  nodes: RestoredNode[];
  /** The digest stored at the end, if any (zxid > 0). */
  digest: { zxid: number; version: number; value: bigint } | null;
}

// ---- writing ----------------------------------------------------------------------------------

/** Yields the snapshot file in pieces of about `chunkBytes`, so a large tree never sits in one buffer. */
export function* serializeZkSnapshot(
  tree: DataTree,
  sessions: ReadonlyMap<bigint, number>,
  zxid: number,
  chunkBytes = 1 << 20,
): Generator<Buffer> {
  const sum = new Adler32();
  let w = new JuteWriter(chunkBytes + 4096);
  const take = (): Buffer => {
    const b = Buffer.from(w.finish());
    sum.update(b);
    w = new JuteWriter(chunkBytes + 4096);
    return b;
  };
  R.FileHeader.encode(w, { magic: SNAP_MAGIC, version: SNAP_VERSION, dbid: SNAP_DBID });
  w.int(sessions.size);
  for (const [id, to] of sessions) {
    w.bigLong(id);
    w.int(to);
  }
  const acls = [...tree.aclCache.entries()];
  w.int(acls.length);
  for (const [index, list] of acls) {
    w.long(index);
    w.int(list.length);
    for (const a of list) R.ACL.encode(w, a);
  }
  // Depth first from the root with an explicit stack: trees can be deeper than the JS stack.
  const stack: string[] = ['/'];
  let guard = tree.nodeCount() + 1;
  while (stack.length > 0) {
    if (guard-- <= 0) throw new Error('snapshot walk visited more nodes than the tree has');
    const p = stack.pop()!;
    const n = tree.getNode(p)!;
    writeNode(w, p === '/' ? '' : p, n);
    const names = n.childNames();
    for (let i = names.length - 1; i >= 0; i--) stack.push(p === '/' ? `/${names[i]}` : `${p}/${names[i]}`);
    if (w.offset >= chunkBytes) yield take();
  }
  w.ustring('/');
  yield take();
  // Seal: the checksum of everything so far, then "/". Both go through the checked stream.
  w.long(sum.digest());
  w.ustring('/');
  // DataTree.serializeZxidDigest; an empty digest (zxid 0) tells readers there is none.
  w.long(tree.digestEnabled ? zxid : 0);
  w.int(DIGEST_VERSION);
  w.bigLong(tree.treeDigest());
  yield take();
  w.long(sum.digest());
  w.ustring('/');
  yield Buffer.from(w.finish());
}

function writeNode(w: JuteWriter, p: string, n: ZNode): void {
  w.ustring(p);
  w.buffer(n.data);
  w.long(n.acl === OPEN_UNSAFE_ACL_ID ? -1 : n.acl);
  R.StatPersisted.encode(w, persistedStatOf(n));
}

/**
 * Writes snapshot.<hex zxid> into `dir` the way AtomicFileOutputStream does: a temporary file,
 * fsync, rename, fsync of the directory. Returns the file's path.
 */
export async function writeZkSnapshotFile(dir: string, tree: DataTree, sessions: ReadonlyMap<bigint, number>, zxid: number): Promise<string> {
  const file = path.join(dir, makeFileName(SNAPSHOT_FILE_PREFIX, zxid));
  const tmp = `${file}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    for (const chunk of serializeZkSnapshot(tree, sessions, zxid)) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  await syncDirectory(dir);
  return file;
}

// ---- reading ----------------------------------------------------------------------------------

/** SnapStream.isValidCheckedStream: long enough, and ends with the sealing "/" string. */
function looksComplete(buf: Buffer): boolean {
  return buf.length >= 10 && buf.readInt32BE(buf.length - 5) === 1 && buf[buf.length - 1] === 0x2f;
}

function readSeal(buf: Buffer, r: JuteReader, what: string): void {
  const expected = adler32(buf, 1, 0, r.offset);
  const val = r.long();
  const slash = r.ustring();
  if (val !== expected || slash !== '/') throw new SnapshotFormatError(`CRC corruption (${what} seal)`);
}

/** Parses a whole snapshot file's bytes (already decompressed). */
export function parseZkSnapshot(buf: Buffer, file: string, zxid: number): ZkSnapshot {
  const r = new JuteReader(buf, 0, buf.length, MAX_FIELD_BYTES);
  try {
    const header = R.FileHeader.decode(r);
    if (header.magic !== SNAP_MAGIC) throw new SnapshotFormatError(`mismatching magic headers ${header.magic} != ${SNAP_MAGIC}`);
    const sessions = new Map<bigint, number>();
    for (let n = r.int(); n > 0; n--) sessions.set(r.bigLong(), r.int());
    const aclMap = new Map<number, R.AclValue[]>();
    for (let n = r.int(); n > 0; n--) {
      const index = r.long();
      const list: R.AclValue[] = [];
      for (let k = r.vectorCount(); k > 0; k--) list.push(R.ACL.decode(r));
      aclMap.set(index, list);
    }
    const nodes: RestoredNode[] = [];
    for (let p = r.ustring(); p !== '/'; p = r.ustring()) {
      const data = r.buffer();
      const aclIndex = r.long();
      const st = R.StatPersisted.decode(r);
      let acl: R.AclValue[] | null = null;
      if (aclIndex !== -1) {
        const list = aclMap.get(aclIndex);
        if (list === undefined) throw new SnapshotFormatError(`node ${p || '/'} refers to ACL ${aclIndex}, which the snapshot does not hold`);
        acl = list;
      }
      nodes.push({ path: p === '' ? '/' : p, data, acl, ...st });
    }
    readSeal(buf, r, 'first');
    let digest: ZkSnapshot['digest'] = null;
    if (r.remaining() > 0) {
      const dz = r.long();
      const version = r.int();
      // Digest versions below 2 stored the value as a hex string.
      const value = version < 2 ? BigInt.asIntN(64, BigInt('0x' + (r.ustring() || '0'))) : r.bigLong();
      readSeal(buf, r, 'digest');
      if (dz > 0) digest = { zxid: dz, version, value };
    }
    return { file, zxid, sessions, nodes, digest };
  } catch (e) {
    if (e instanceof SnapshotFormatError) throw e;
    throw new SnapshotFormatError(`${file}: ${(e as Error).message}`);
  }
}

/** Reads one snapshot file, decompressing .gz; .snappy is not supported. */
export function readZkSnapshotFile(file: string): ZkSnapshot {
  const name = path.basename(file);
  const zxid = zxidFromName(name, SNAPSHOT_FILE_PREFIX);
  if (zxid < 0) throw new SnapshotFormatError(`${file} is not named snapshot.<hex zxid>`);
  let buf = fs.readFileSync(file);
  if (name.endsWith('.snappy')) throw new SnapshotFormatError(`${file}: snappy-compressed snapshots are not supported; restart ZooKeeper with zookeeper.snapshot.compression.method=none first`);
  if (name.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  if (!looksComplete(buf)) throw new SnapshotFormatError(`${file} is incomplete (no final seal)`);
  return parseZkSnapshot(buf, file, zxid);
}

/**
 * FileSnap.deserialize: the newest snapshot in `dir` that reads back intact, trying older ones
 * when a newer one is damaged (a crash while ZooKeeper wrote it). Null when there is none.
 */
export function loadNewestZkSnapshot(dir: string, logger: Logger): ZkSnapshot | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return null;
  }
  const snaps = names
    .map((n) => ({ n, z: zxidFromName(n, SNAPSHOT_FILE_PREFIX) }))
    .filter((s) => s.z >= 0 && !s.n.endsWith('.tmp'))
    .sort((a, b) => b.z - a.z)
    .slice(0, MAX_SNAPSHOTS_TRIED);
  if (snaps.length === 0) return null;
  for (const s of snaps) {
    const file = path.join(dir, s.n);
    try {
      return readZkSnapshotFile(file);
    } catch (e) {
      logger.warn({ file, err: (e as Error).message }, 'problem reading snap file');
    }
  }
  throw new SnapshotFormatError(`Not able to find valid snapshots in ${dir}`);
}
