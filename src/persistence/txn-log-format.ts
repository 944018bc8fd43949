/**
 * The txn log file format, exactly as Apache ZooKeeper 3.8 writes and reads it (FileTxnLog,
 * Util.marshallTxnEntry, Util.writeTxnBytes, SerializeUtils.deserializeTxn), so that its own
 * tools (TxnLogToolkit, zkTxnLogToolkit.sh) read our files and we read theirs:
 *
 *   LogFile    := FileHeader TxnRecord* ZeroPad
 *   FileHeader := magic:int32 ("ZKLG" = 0x5a4b4c47) version:int32 (2) dbid:int64 (0)
 *   TxnRecord  := checksum:int64 length:int32 entry:byte[length] 0x42
 *   entry      := TxnHeader TxnBody TxnDigest?
 *   TxnHeader  := clientId:int64 cxid:int32 zxid:int64 time:int64 type:int32
 *   TxnBody    := the Jute record of the txn type (tree/txn.ts); absent for the old closeSession
 *   TxnDigest  := version:int32 treeDigest:int64   (only when the writer computed a digest)
 *   checksum   := Adler-32 of `entry`, in the low 32 bits (java.util.zip.Adler32.getValue())
 *   ZeroPad    := 0x00*   (preallocation; a record whose length is 0 marks the end of the log)
 *
 * All integers are big-endian. Files are named log.<zxid of their first txn, lower-case hex>
 * and live in <dataLogDir>/version-2. We do not write TxnDigest: computing it needs the tree
 * digest at prepare time, which we do not keep; ZooKeeper treats a missing digest as "not
 * recorded" and skips the comparison. When reading we ignore a digest if one follows.
 *
 * This module is pure: it turns txns into bytes and scans bytes into txns and damage reports.
 */
import * as fs from 'node:fs';
import { JuteReader, JuteWriter } from '../jute/codec';
import * as R from '../jute/records';
import { decodeTxnBody, encodeTxnBody, type Txn } from '../tree/txn';
import { adler32 } from './adler32';

export const TXNLOG_MAGIC = 0x5a4b4c47; // "ZKLG"
export const TXNLOG_VERSION = 2;
export const FILE_HEADER_BYTES = 16;
/** checksum (8) + length (4) in front of the entry. */
export const RECORD_PREFIX_BYTES = 12;
export const END_OF_RECORD = 0x42;
export const LOG_FILE_PREFIX = 'log';
export const SNAPSHOT_FILE_PREFIX = 'snapshot';
/** ZooKeeper keeps its files in a subdirectory named after the format version. */
export const VERSION_DIR = 'version-2';
/**
 * The largest entry we accept when reading. A txn carries at most one jute.maxbuffer of data
 * plus paths and ACLs (a multi can hold several), so anything above this is damage, not a txn.
 */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/** `log.<hex>` / `snapshot.<hex>`, as Util.makeLogName and makeSnapshotName build them. */
export function makeFileName(prefix: string, zxid: number): string {
  return `${prefix}.${zxid.toString(16)}`;
}

/** Util.getZxidFromName: the zxid in `prefix.<hex>[.ext]`, or -1 when the name does not fit. */
export function zxidFromName(name: string, prefix: string): number {
  const parts = name.split('.');
  if (parts.length < 2 || parts[0] !== prefix) return -1;
  if (!/^[0-9a-fA-F]{1,16}$/.test(parts[1]!)) return -1;
  return Number.parseInt(parts[1]!, 16);
}

/** A log.* or snapshot.* file and the zxid its name carries. */
export interface DataFile {
  name: string;
  zxid: number;
}

/** The `prefix`.<hex> files in `dir`, oldest first (by the zxid in their names); none if `dir` is missing. */
export function listDataFiles(dir: string, prefix: string): DataFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((name) => ({ name, zxid: zxidFromName(name, prefix) }))
    .filter((f) => f.zxid >= 0)
    .sort((a, b) => a.zxid - b.zxid);
}

export function encodeFileHeader(magic: number, dbid = 0): Buffer {
  const w = new JuteWriter(FILE_HEADER_BYTES);
  R.FileHeader.encode(w, { magic, version: TXNLOG_VERSION, dbid });
  return Buffer.from(w.finish());
}

/** Util.marshallTxnEntry: the TxnHeader and body bytes that the checksum covers. */
export function encodeTxnEntry(txn: Txn): Buffer {
  const w = new JuteWriter(128);
  R.TxnHeader.encode(w, txn.hdr);
  encodeTxnBody(w, txn.body);
  return w.finish();
}

/**
 * Appends a whole TxnRecord (checksum, length, entry, 0x42) to `w`. The txn is encoded once,
 * in place: the 12-byte prefix is reserved, the entry written after it, and its checksum and
 * length patched in.
 */
export function encodeTxnRecordInto(w: JuteWriter, txn: Txn): void {
  const at = w.reserve(RECORD_PREFIX_BYTES);
  const start = w.offset;
  R.TxnHeader.encode(w, txn.hdr);
  encodeTxnBody(w, txn.body);
  const end = w.offset;
  w.patchInt(at, 0);
  w.patchInt(at + 4, adler32(w.view(start, end)));
  w.patchInt(at + 8, end - start);
  w.byte(END_OF_RECORD);
}

/** A whole TxnRecord (checksum, length, entry, 0x42), ready to be appended to a log file. */
export function encodeTxnRecord(txn: Txn): Buffer {
  const w = new JuteWriter(256);
  encodeTxnRecordInto(w, txn);
  return w.finish();
}

/** SerializeUtils.deserializeTxn for one entry; trailing bytes (a TxnDigest) are ignored. */
export function decodeTxnEntry(entry: Buffer): Txn {
  const r = new JuteReader(entry, 0, entry.length, MAX_ENTRY_BYTES);
  const hdr = R.TxnHeader.decode(r);
  const body = decodeTxnBody(hdr.type, r);
  return { hdr, body };
}

/** The zxid of a TxnHeader at the start of `entry` (clientId 8 bytes, cxid 4, then zxid). */
function entryZxid(entry: Buffer): number {
  return new JuteReader(entry, 12, 20).long();
}

/** Why the scan of a file stopped before its clean end. */
export interface LogDamage {
  /** Byte offset of the first record that could not be read; the file is good up to here. */
  offset: number;
  reason: string;
  /**
   * True when an intact record follows the damaged one: the damage is in the middle of the
   * log, not a write torn by a crash, and truncating would drop good txns.
   */
  followedByValid: boolean;
}

export interface LogScan {
  /** False when the file is too short to hold its header (a crash right after creating it). */
  headerComplete: boolean;
  /** Offset just past the last good record. */
  goodEnd: number;
  /** Zxid of the last good record, or -1. */
  lastZxid: number;
  txnCount: number;
  damage: LogDamage | null;
}

export class LogFormatError extends Error {
  override readonly name = 'LogFormatError';
}

type RecordCheck = { ok: true; entry: Buffer; next: number } | { ok: false; reason: string; length: number | null };

/** Reads the record at `offset`; `length` in a failure is the claimed length when it was sane. */
function checkRecord(buf: Buffer, offset: number): RecordCheck {
  if (offset + RECORD_PREFIX_BYTES > buf.length) return { ok: false, reason: 'record header cut short', length: null };
  const crcHigh = buf.readUInt32BE(offset);
  const crc = buf.readUInt32BE(offset + 4);
  const length = buf.readInt32BE(offset + 8);
  if (length <= 0 || length > MAX_ENTRY_BYTES) return { ok: false, reason: `unreasonable record length ${length}`, length: null };
  const end = offset + RECORD_PREFIX_BYTES + length;
  if (end + 1 > buf.length) return { ok: false, reason: `record of ${length} bytes cut short`, length: null };
  const entry = buf.subarray(offset + RECORD_PREFIX_BYTES, end);
  if (crcHigh !== 0 || adler32(entry) !== crc) return { ok: false, reason: 'CRC check failed', length };
  if (buf[end] !== END_OF_RECORD) return { ok: false, reason: 'Last transaction was partial (no 0x42 end-of-record byte)', length };
  return { ok: true, entry, next: end + 1 };
}

const ZERO_CHUNK = Buffer.alloc(64 * 1024);

function allZero(buf: Buffer, from: number): boolean {
  // Compared a chunk at a time natively: a preallocated tail is tens of megabytes.
  for (let i = from; i < buf.length; i += ZERO_CHUNK.length) {
    const end = Math.min(buf.length, i + ZERO_CHUNK.length);
    if (buf.compare(ZERO_CHUNK, 0, end - i, i, end) !== 0) return false;
  }
  return true;
}

/**
 * Scans a whole log file. `onTxn` gets every good record whose zxid is above `afterZxid`, in
 * file order; records at or below it are checked but not decoded. Throws LogFormatError when
 * the file is not a txn log at all (bad magic).
 */
export function scanLog(buf: Buffer, afterZxid: number, onTxn: (txn: Txn, offset: number) => void): LogScan {
  if (buf.length < FILE_HEADER_BYTES) {
    return { headerComplete: false, goodEnd: 0, lastZxid: -1, txnCount: 0, damage: null };
  }
  const magic = buf.readInt32BE(0);
  if (magic !== TXNLOG_MAGIC) throw new LogFormatError(`invalid magic number ${magic} != ${TXNLOG_MAGIC}`);
  let offset = FILE_HEADER_BYTES;
  let lastZxid = -1;
  let txnCount = 0;
  // Bounded: every iteration consumes at least 13 bytes of the file.
  while (offset < buf.length) {
    if (offset + RECORD_PREFIX_BYTES <= buf.length && buf.readInt32BE(offset + 8) === 0 && allZero(buf, offset)) {
      break; // The zero-filled preallocated tail: the clean end of the log.
    }
    if (offset + RECORD_PREFIX_BYTES > buf.length && allZero(buf, offset)) break;
    const rec = checkRecord(buf, offset);
    if (!rec.ok) {
      let followedByValid = false;
      if (rec.length !== null) {
        const next = offset + RECORD_PREFIX_BYTES + rec.length + 1;
        followedByValid = next < buf.length && checkRecord(buf, next).ok;
      }
      return { headerComplete: true, goodEnd: offset, lastZxid, txnCount, damage: { offset, reason: rec.reason, followedByValid } };
    }
    const zxid = entryZxid(rec.entry);
    if (zxid > afterZxid) {
      let txn: Txn;
      try {
        txn = decodeTxnEntry(rec.entry);
      } catch (e) {
        // The checksum matched, so the writer wrote these bytes: this is not a torn write.
        return {
          headerComplete: true,
          goodEnd: offset,
          lastZxid,
          txnCount,
          damage: { offset, reason: `undecodable txn: ${(e as Error).message}`, followedByValid: true },
        };
      }
      onTxn(txn, offset);
    }
    lastZxid = zxid;
    txnCount++;
    offset = rec.next;
  }
  return { headerComplete: true, goodEnd: offset, lastZxid, txnCount, damage: null };
}
