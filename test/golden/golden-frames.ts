/**
 * The golden fixtures' format and the header-level reading both the capture script and the test
 * share: which frame of a connection is the handshake, which are requests, replies and watch
 * notifications, and which request a reply answers (by xid, in order).
 *
 *   client frames:  ConnectRequest first, then RequestHeader(xid, type) ...
 *   server frames:  ConnectResponse first, then ReplyHeader(xid, zxid, err) ...;
 *                   xid -1 is a watch notification
 *
 * Only headers are read here; the records inside are the test's business.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Xid } from '../../src/protocol/constants';
import { repoRoot } from '../helpers/servers';

export const GOLDEN_DIR = path.join(repoRoot, 'test', 'fixtures', 'golden');

export type FrameKind = 'connect' | 'connect-response' | 'request' | 'reply' | 'event' | 'partial';

export interface GoldenFrame {
  from: 'client' | 'server';
  kind: FrameKind;
  /** Requests, replies and events: the xid of the header. */
  xid: number | null;
  /** Requests: their type. Replies: the type of the request they answer. Events: 0. */
  opcode: number | null;
  /** Replies: the error code of the header. */
  err: number | null;
  /** The whole frame, length prefix included. */
  hex: string;
}

export interface GoldenConnection {
  conn: number;
  frames: GoldenFrame[];
}

export interface GoldenFile {
  description: string;
  server: string;
  client: string;
  capturedAt: string;
  regenerate: string;
  connections: GoldenConnection[];
}

export interface RawFrame {
  from: 'client' | 'server';
  bytes: Buffer;
  partial: boolean;
}

/**
 * Labels the frames of one connection, in the order the proxy saw them. Throws if a reply has
 * no request with its xid before it: that would mean the capture lost or reordered frames.
 */
export function annotate(frames: readonly RawFrame[]): GoldenFrame[] {
  let sawConnect = false;
  let sawConnectResponse = false;
  // xid -> opcodes of requests not yet answered, oldest first (pings all share xid -2).
  const pending = new Map<number, number[]>();
  // Built field by field so that the JSON keys come out in one order: from, kind, ..., hex.
  const frame = (f: RawFrame, kind: FrameKind, xid: number | null, opcode: number | null, err: number | null): GoldenFrame => ({
    from: f.from,
    kind,
    xid,
    opcode,
    err,
    hex: f.bytes.toString('hex'),
  });
  return frames.map((f): GoldenFrame => {
    if (f.partial) return frame(f, 'partial', null, null, null);
    const body = f.bytes.subarray(4);
    if (f.from === 'client') {
      if (!sawConnect) {
        sawConnect = true;
        return frame(f, 'connect', null, null, null);
      }
      const xid = body.readInt32BE(0);
      const opcode = body.readInt32BE(4);
      const q = pending.get(xid) ?? [];
      q.push(opcode);
      pending.set(xid, q);
      return frame(f, 'request', xid, opcode, null);
    }
    if (!sawConnectResponse) {
      sawConnectResponse = true;
      return frame(f, 'connect-response', null, null, null);
    }
    const xid = body.readInt32BE(0);
    const err = body.readInt32BE(12);
    if (xid === Xid.NOTIFICATION) return frame(f, 'event', xid, 0, err);
    const opcode = pending.get(xid)?.shift();
    if (opcode === undefined) throw new Error(`reply with xid ${xid} answers no request seen before it`);
    return frame(f, 'reply', xid, opcode, err);
  });
}

export function readGoldenFiles(): { name: string; file: GoldenFile }[] {
  return fs
    .readdirSync(GOLDEN_DIR)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((name) => ({ name, file: JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, name), 'utf8')) as GoldenFile }));
}
