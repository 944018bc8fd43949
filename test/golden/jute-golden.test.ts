/**
 * Golden bytes: every frame that real clients (zkCli.sh, kazoo, the C client) and the real
 * Apache ZooKeeper 3.8 exchanged, captured by test/golden/capture.ts into test/fixtures/golden,
 * is decoded with our Jute records and encoded again; the bytes must come out identical. No
 * server is needed: the test reads only the committed fixtures.
 *
 * How a frame is read (after its int32 length):
 *   client, first frame   ConnectRequest [readOnly]
 *   client, later         RequestHeader, then the request record for its type
 *   server, first frame   ConnectResponse [readOnly]
 *   server, xid -1        ReplyHeader, WatcherEvent
 *   server, later         ReplyHeader, then the response record for the type of the request
 *                         with the same xid (an error reply has no record, except for multi)
 *
 * Null strings: Jute writes a null string as length -1. Our reader reads it as "" on purpose
 * (the server treats both alike), so such a frame cannot round-trip through it. Real clients do
 * send them (kazoo writes every empty string as null; the Java client's reconfig sends null
 * joining/leaving lists), so the round trip uses a reader that keeps null strings, and a
 * separate test pins which captured frames hold one and what the stock reader makes of them.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { JuteReader, JuteWriter } from '../../src/jute/codec';
import * as R from '../../src/jute/records';
import type { RecordTypeAny, Value } from '../../src/jute/records';
import { Err, OpCode, Xid } from '../../src/protocol/constants';
import { decodeMultiRequest, encodeMultiResponse, type MultiResult } from '../../src/protocol/multi';
import { generatePassword } from '../../src/server/session-password';
import { annotate, readGoldenFiles, type GoldenFrame } from './golden-frames';

/** A JuteReader that returns null for a null string (length -1) instead of "". */
class NullKeepingReader extends JuteReader {
  nullStrings = 0;
  override ustring(): string {
    if (this.remaining() >= 4 && this.buf.readInt32BE(this.offset) === -1) {
      this.offset += 4;
      this.nullStrings++;
      // The writer takes null back as length -1; the record types say string, hence the cast.
      return null as unknown as string;
    }
    return super.ustring();
  }
}

interface Part {
  decode(r: JuteReader): unknown;
  encode(w: JuteWriter, v: unknown): void;
}

const rec = (t: RecordTypeAny): Part => ({ decode: (r) => t.decode(r), encode: (w, v) => t.encode(w, v) });

/** The trailing readOnly byte of ConnectRequest/ConnectResponse, absent for old clients. */
const optionalBoolean: Part = {
  decode: (r) => (r.remaining() > 0 ? r.boolean() : undefined),
  encode: (w, v) => {
    if (v !== undefined) w.boolean(v as boolean);
  },
};

type MultiEntry = { header: Value<typeof R.MultiHeader>; record: unknown };

/** MultiOperationRecord and MultiResponse: headers, each but the last followed by a record. */
function multiPart(recordFor: (type: number) => RecordTypeAny | null): Part {
  return {
    decode(r) {
      const entries: MultiEntry[] = [];
      // Bounded by the frame: each header takes 9 bytes.
      for (;;) {
        const header = R.MultiHeader.decode(r);
        if (header.done) {
          entries.push({ header, record: undefined });
          return entries;
        }
        const t = recordFor(header.type);
        entries.push({ header, record: t === null ? undefined : t.decode(r) });
      }
    },
    encode(w, v) {
      for (const e of v as MultiEntry[]) {
        R.MultiHeader.encode(w, e.header);
        if (e.header.done) continue;
        const t = recordFor(e.header.type);
        if (t !== null) t.encode(w, e.record);
      }
    },
  };
}

const MULTI_OP_RECORD: Record<number, RecordTypeAny> = {
  [OpCode.create]: R.CreateRequest,
  [OpCode.create2]: R.CreateRequest,
  [OpCode.createContainer]: R.CreateRequest,
  [OpCode.createTTL]: R.CreateTTLRequest,
  [OpCode.delete]: R.DeleteRequest,
  [OpCode.setData]: R.SetDataRequest,
  [OpCode.check]: R.CheckVersionRequest,
  [OpCode.getChildren]: R.GetChildrenRequest,
  [OpCode.getData]: R.GetDataRequest,
};
const MULTI_RESULT_RECORD: Record<number, RecordTypeAny | null> = {
  [OpCode.create]: R.CreateResponse,
  [OpCode.create2]: R.Create2Response,
  [OpCode.createContainer]: R.Create2Response,
  [OpCode.createTTL]: R.Create2Response,
  [OpCode.delete]: null,
  [OpCode.check]: null,
  [OpCode.setData]: R.SetDataResponse,
  [OpCode.getChildren]: R.GetChildrenResponse,
  [OpCode.getData]: R.GetDataResponse,
  [OpCode.error]: R.ErrorResponse,
};
const multiRequest = multiPart((type) => {
  const t = MULTI_OP_RECORD[type];
  if (t === undefined) throw new Error(`no record for a multi op of type ${type}`);
  return t;
});
const multiResponse = multiPart((type) => {
  const t = MULTI_RESULT_RECORD[type];
  if (t === undefined) throw new Error(`no record for a multi result of type ${type}`);
  return t;
});

/** The record after the RequestHeader, by opcode; null: the request has no body. */
const REQUEST_BODY: Record<number, Part | null> = {
  [OpCode.create]: rec(R.CreateRequest),
  [OpCode.delete]: rec(R.DeleteRequest),
  [OpCode.exists]: rec(R.ExistsRequest),
  [OpCode.getData]: rec(R.GetDataRequest),
  [OpCode.setData]: rec(R.SetDataRequest),
  [OpCode.getACL]: rec(R.GetACLRequest),
  [OpCode.setACL]: rec(R.SetACLRequest),
  [OpCode.getChildren]: rec(R.GetChildrenRequest),
  [OpCode.sync]: rec(R.SyncRequest),
  [OpCode.ping]: null,
  [OpCode.getChildren2]: rec(R.GetChildren2Request),
  [OpCode.check]: rec(R.CheckVersionRequest),
  [OpCode.multi]: multiRequest,
  [OpCode.create2]: rec(R.CreateRequest),
  [OpCode.reconfig]: rec(R.ReconfigRequest),
  [OpCode.checkWatches]: rec(R.CheckWatchesRequest),
  [OpCode.removeWatches]: rec(R.RemoveWatchesRequest),
  [OpCode.createContainer]: rec(R.CreateRequest),
  [OpCode.createTTL]: rec(R.CreateTTLRequest),
  [OpCode.multiRead]: multiRequest,
  [OpCode.auth]: rec(R.AuthPacket),
  [OpCode.setWatches]: rec(R.SetWatches),
  [OpCode.sasl]: rec(R.GetSASLRequest),
  [OpCode.getEphemerals]: rec(R.GetEphemeralsRequest),
  [OpCode.getAllChildrenNumber]: rec(R.GetAllChildrenNumberRequest),
  [OpCode.setWatches2]: rec(R.SetWatches2),
  [OpCode.addWatch]: rec(R.AddWatchRequest),
  [OpCode.whoAmI]: null,
  [OpCode.closeSession]: null,
};

/** The record after a successful ReplyHeader, by the request's opcode. */
const RESPONSE_BODY: Record<number, Part | null> = {
  [OpCode.create]: rec(R.CreateResponse),
  [OpCode.delete]: null,
  [OpCode.exists]: rec(R.ExistsResponse),
  [OpCode.getData]: rec(R.GetDataResponse),
  [OpCode.setData]: rec(R.SetDataResponse),
  [OpCode.getACL]: rec(R.GetACLResponse),
  [OpCode.setACL]: rec(R.SetACLResponse),
  [OpCode.getChildren]: rec(R.GetChildrenResponse),
  [OpCode.sync]: rec(R.SyncResponse),
  [OpCode.ping]: null,
  [OpCode.getChildren2]: rec(R.GetChildren2Response),
  [OpCode.check]: null,
  [OpCode.multi]: multiResponse,
  [OpCode.create2]: rec(R.Create2Response),
  // reconfig answers with the new configuration, a GetDataResponse.
  [OpCode.reconfig]: rec(R.GetDataResponse),
  [OpCode.checkWatches]: null,
  [OpCode.removeWatches]: null,
  [OpCode.createContainer]: rec(R.Create2Response),
  [OpCode.createTTL]: rec(R.Create2Response),
  [OpCode.multiRead]: multiResponse,
  [OpCode.auth]: null,
  [OpCode.setWatches]: null,
  [OpCode.sasl]: rec(R.SetSASLResponse),
  [OpCode.getEphemerals]: rec(R.GetEphemeralsResponse),
  [OpCode.getAllChildrenNumber]: rec(R.GetAllChildrenNumberResponse),
  [OpCode.setWatches2]: null,
  // Apache ZooKeeper answers addWatch with an ErrorResponse(0) body.
  [OpCode.addWatch]: rec(R.ErrorResponse),
  [OpCode.whoAmI]: rec(R.WhoAmIResponse),
  [OpCode.closeSession]: null,
};

function layoutOf(f: GoldenFrame): Part[] {
  switch (f.kind) {
    case 'connect':
      return [rec(R.ConnectRequest), optionalBoolean];
    case 'connect-response':
      return [rec(R.ConnectResponse), optionalBoolean];
    case 'event':
      return [rec(R.ReplyHeader), rec(R.WatcherEvent)];
    case 'request': {
      const body = REQUEST_BODY[f.opcode!];
      if (body === undefined) throw new Error(`no request layout for opcode ${f.opcode}`);
      return body === null ? [rec(R.RequestHeader)] : [rec(R.RequestHeader), body];
    }
    case 'reply': {
      const body = RESPONSE_BODY[f.opcode!];
      if (body === undefined) throw new Error(`no response layout for opcode ${f.opcode}`);
      // An error reply carries no record, except multi's, which always has its results.
      const isMulti = f.opcode === OpCode.multi || f.opcode === OpCode.multiRead;
      return body === null || (f.err !== 0 && !isMulti) ? [rec(R.ReplyHeader)] : [rec(R.ReplyHeader), body];
    }
    case 'partial':
      throw new Error('a partial frame has no layout');
  }
}

interface Decoded {
  file: string;
  conn: number;
  index: number;
  frame: GoldenFrame;
  bytes: Buffer;
  /** The values of the layout's parts, read with null strings kept. */
  values: unknown[];
  nullStrings: number;
}

/** Decodes a frame's payload with a layout; throws unless every byte is consumed. */
function decodeWith(reader: JuteReader, parts: Part[]): unknown[] {
  const values = parts.map((p) => p.decode(reader));
  if (reader.remaining() !== 0) throw new Error(`${reader.remaining()} bytes left after the record`);
  return values;
}

function encodeFrame(parts: Part[], values: unknown[]): Buffer {
  const w = new JuteWriter(64);
  const at = w.reserveInt();
  parts.forEach((p, i) => p.encode(w, values[i]));
  w.patchInt(at, w.offset - 4);
  return Buffer.from(w.finish());
}

const files = readGoldenFiles();
const all: Decoded[] = [];
for (const { name, file } of files) {
  for (const c of file.connections) {
    c.frames.forEach((frame, index) => {
      if (frame.kind === 'partial') return;
      const bytes = Buffer.from(frame.hex, 'hex');
      const reader = new NullKeepingReader(bytes, 4);
      let values: unknown[];
      try {
        values = decodeWith(reader, layoutOf(frame));
      } catch (e) {
        values = [new Error(`${(e as Error).message}`)];
      }
      all.push({ file: name, conn: c.conn, index, frame, bytes, values, nullStrings: reader.nullStrings });
    });
  }
}

const where = (d: Decoded) => `${d.file} conn ${d.conn} frame ${d.index} (${d.frame.from} ${d.frame.kind} xid=${d.frame.xid} opcode=${d.frame.opcode})`;

test('the golden fixtures are there and cover every client and the protocol surface', () => {
  assert.deepEqual(files.map((f) => f.name), ['cli-mt.json', 'kazoo.json', 'zkcli.json']);
  assert.ok(all.length > 300, `only ${all.length} frames`);
  const opcodes = new Set(all.filter((d) => d.frame.kind === 'request').map((d) => d.frame.opcode));
  for (const op of [
    OpCode.create, OpCode.delete, OpCode.exists, OpCode.getData, OpCode.setData, OpCode.getACL, OpCode.setACL,
    OpCode.getChildren, OpCode.sync, OpCode.ping, OpCode.getChildren2, OpCode.multi, OpCode.create2, OpCode.reconfig,
    OpCode.removeWatches, OpCode.createContainer, OpCode.createTTL, OpCode.auth, OpCode.setWatches, OpCode.getEphemerals,
    OpCode.getAllChildrenNumber, OpCode.setWatches2, OpCode.addWatch, OpCode.whoAmI, OpCode.closeSession,
  ]) {
    assert.ok(opcodes.has(op), `no captured request with opcode ${op}`);
  }
  assert.ok(all.some((d) => d.frame.kind === 'event'), 'no watch notification');
  assert.ok(all.some((d) => d.frame.kind === 'connect') && all.some((d) => d.frame.kind === 'connect-response'));
});

test('frame labels (handshake, requests, replies by xid, events) agree with the fixtures', () => {
  for (const { name, file } of files) {
    for (const c of file.connections) {
      const recomputed = annotate(
        c.frames.map((f) => ({ from: f.from, bytes: Buffer.from(f.hex, 'hex'), partial: f.kind === 'partial' })),
      );
      assert.deepEqual(recomputed, c.frames, `${name} connection ${c.conn}`);
      for (const f of c.frames) {
        const b = Buffer.from(f.hex, 'hex');
        assert.equal(b.readInt32BE(0), b.length - 4, `${name}: a length prefix that does not match its frame`);
      }
    }
  }
});

test('every captured frame decodes with our records and re-encodes to identical bytes', () => {
  const failures: string[] = [];
  for (const d of all) {
    if (d.values[0] instanceof Error) {
      failures.push(`${where(d)}: does not decode: ${d.values[0].message}\n  ${d.frame.hex}`);
      continue;
    }
    const again = encodeFrame(layoutOf(d.frame), d.values);
    if (!again.equals(d.bytes)) failures.push(`${where(d)}:\n  captured  ${d.frame.hex}\n  re-encoded ${again.toString('hex')}`);
    // Without null strings the server's own reader gives the same round trip.
    if (d.nullStrings === 0) {
      const stock = encodeFrame(layoutOf(d.frame), decodeWith(new JuteReader(d.bytes, 4), layoutOf(d.frame)));
      if (!stock.equals(d.bytes)) failures.push(`${where(d)} (stock reader):\n  captured  ${d.frame.hex}\n  re-encoded ${stock.toString('hex')}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${all.length} frames differ:\n${failures.join('\n')}`);
});

test('null strings: which frames carry them, and what our stock reader makes of them', () => {
  const withNulls = all.filter((d) => d.nullStrings > 0);
  const describe = (d: Decoded) => {
    const body = d.values[1] as Record<string, unknown>;
    return `${d.file} opcode ${d.frame.opcode} ${String(body['path'] ?? body['newMembers'])}`;
  };
  assert.deepEqual(withNulls.map(describe).sort(), [
    // kazoo writes the empty id of the 'auth' ACL as a null string.
    'kazoo.json opcode 1 /kz/auth',
    // zkCli's reconfig -members leaves joiningServers and leavingServers null.
    'zkcli.json opcode 16 server.1=127.0.0.1:2888:3888;2181',
  ]);
  for (const d of withNulls) {
    // The stock reader reads the same frame without error, with "" in place of each null, so
    // a re-encoding differs exactly by a length 0 for each -1.
    const parts = layoutOf(d.frame);
    const stock = decodeWith(new JuteReader(d.bytes, 4), parts);
    const again = encodeFrame(parts, stock);
    assert.equal(again.length, d.bytes.length);
    let diffs = 0;
    for (let i = 0; i < again.length; i++) if (again[i] !== d.bytes[i]) diffs++;
    assert.equal(diffs, 4 * d.nullStrings, `${where(d)}: each null string differs in its 4 length bytes only`);
  }
});

test('every Stat in the captured replies is self-consistent (catches fields read in the wrong order)', () => {
  const sessions = new Set(all.filter((d) => d.frame.kind === 'connect-response').map((d) => (d.values[0] as Value<typeof R.ConnectResponse>).sessionId));
  let checked = 0;
  for (const { name, file } of files) {
    const capturedAt = Date.parse(file.capturedAt);
    for (const d of all.filter((x) => x.file === name && x.frame.kind === 'reply' && x.values.length > 1)) {
      const body = d.values[1] as { stat?: Value<typeof R.Stat>; data?: Buffer | null; children?: string[] };
      const stats: Value<typeof R.Stat>[] = body.stat !== undefined ? [body.stat] : [];
      if (Array.isArray(d.values[1])) {
        for (const e of d.values[1] as MultiEntry[]) {
          const st = (e.record as { stat?: Value<typeof R.Stat> } | undefined)?.stat;
          if (st !== undefined) stats.push(st);
        }
      }
      for (const st of stats) {
        checked++;
        const at = where(d);
        assert.ok(st.czxid >= 0 && st.czxid <= st.mzxid && st.czxid <= st.pzxid, `${at}: zxids ${JSON.stringify([st.czxid, st.mzxid, st.pzxid])}`);
        assert.ok(st.mzxid < 2 ** 40 && st.pzxid < 2 ** 40, `${at}: zxid too large`);
        // Nodes made by the server at startup (/, /zookeeper...) have ctime 0; the rest were
        // made during the capture.
        if (st.czxid > 0) {
          assert.ok(Math.abs(st.ctime - capturedAt) < 3_600_000 && st.ctime <= st.mtime, `${at}: times ${st.ctime} ${st.mtime}`);
        }
        assert.ok(st.version >= 0 && st.cversion >= 0 && st.aversion >= -1, `${at}: versions`);
        assert.ok(st.ephemeralOwner === 0n || sessions.has(st.ephemeralOwner), `${at}: ephemeralOwner ${st.ephemeralOwner}`);
        assert.ok(st.dataLength >= 0 && st.numChildren >= 0, `${at}: sizes`);
        if (body.stat === st && body.data !== undefined) assert.equal(st.dataLength, body.data?.length ?? 0, `${at}: dataLength`);
        if (body.stat === st && body.children !== undefined) assert.equal(st.numChildren, body.children.length, `${at}: numChildren`);
      }
    }
  }
  assert.ok(checked >= 40, `only ${checked} Stats checked`);
});

// ---- hand-checked values ------------------------------------------------------------------

const frames = (file: string, conn?: number) => all.filter((d) => d.file === file && (conn === undefined || d.conn === conn));
const valuesOf = <T>(d: Decoded | undefined, part: number): T => {
  assert.ok(d !== undefined, 'frame not found');
  return d.values[part] as T;
};
/** The request with this opcode and path (or first with the opcode), and the reply to it. */
function exchange(file: string, opcode: number, path?: string, nth = 0): { req: Decoded; reply: Decoded } {
  const reqs = all.filter(
    (d) =>
      d.file === file &&
      d.frame.kind === 'request' &&
      d.frame.opcode === opcode &&
      (path === undefined || (d.values[1] as { path?: string } | undefined)?.path === path),
  );
  const req = reqs[nth];
  assert.ok(req !== undefined, `${file}: no request ${opcode} ${path ?? ''} #${nth}`);
  const reply = all.find((d) => d.file === req.file && d.conn === req.conn && d.index > req.index && d.frame.kind === 'reply' && d.frame.xid === req.frame.xid);
  assert.ok(reply !== undefined, `${file}: no reply to ${opcode} ${path ?? ''}`);
  return { req, reply };
}
type Header = Value<typeof R.ReplyHeader>;

test('handshake: the ConnectRequest/ConnectResponse fields, and our session password generator', () => {
  const [connect, response] = frames('zkcli.json', 1);
  const req = valuesOf<Value<typeof R.ConnectRequest>>(connect, 0);
  assert.equal(req.protocolVersion, 0);
  assert.equal(req.lastZxidSeen, 0);
  assert.equal(req.timeOut, 4000);
  assert.equal(req.sessionId, 0n);
  assert.deepEqual(req.passwd, Buffer.alloc(16));
  assert.equal(valuesOf(connect, 1), false, 'the Java client sends readOnly=false');
  const resp = valuesOf<Value<typeof R.ConnectResponse>>(response, 0);
  assert.equal(resp.protocolVersion, 0);
  assert.equal(resp.timeOut, 4000);
  assert.equal(resp.sessionId >> 56n, 1n, 'a standalone session id carries server id 1 in its top byte');
  // Apache ZooKeeper's password is java.util.Random(sessionId ^ 0xB3415C00): ours matches it.
  assert.deepEqual(resp.passwd, generatePassword(resp.sessionId));
  assert.equal(valuesOf(response, 1), false);

  // The reconnects come back to the same session with its password and the last zxid seen.
  for (const conn of [2, 3]) {
    const again = valuesOf<Value<typeof R.ConnectRequest>>(frames('zkcli.json', conn)[0], 0);
    assert.equal(again.sessionId, resp.sessionId);
    assert.deepEqual(again.passwd, resp.passwd);
    assert.ok(again.lastZxidSeen > 0);
    const answer = valuesOf<Value<typeof R.ConnectResponse>>(frames('zkcli.json', conn)[1], 0);
    assert.equal(answer.sessionId, resp.sessionId);
    assert.equal(answer.timeOut, 4000);
  }
  // kazoo also sends the readOnly byte; cli_mt asks for 30 s.
  assert.equal(valuesOf(frames('kazoo.json', 1)[0], 1), false);
  assert.equal(valuesOf<Value<typeof R.ConnectRequest>>(frames('cli-mt.json', 1)[0], 0).timeOut, 30000);
});

test('create in every mode: request records and their replies', () => {
  const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
  const root = exchange('zkcli.json', OpCode.create, '/golden');
  assert.deepEqual(valuesOf(root.req, 0), { xid: root.req.frame.xid, type: OpCode.create });
  assert.deepEqual(valuesOf(root.req, 1), { path: '/golden', data: Buffer.from('root'), acl: OPEN, flags: 0 });
  assert.deepEqual(valuesOf(root.reply, 1), { path: '/golden' });
  assert.equal(valuesOf<Header>(root.reply, 0).err, 0);

  const flags = (opcode: number, path: string) => valuesOf<{ flags: number }>(exchange('zkcli.json', opcode, path).req, 1).flags;
  assert.equal(flags(OpCode.create, '/golden/e'), 1);
  assert.equal(flags(OpCode.create, '/golden/s-'), 2);
  assert.equal(flags(OpCode.create, '/golden/es-'), 3);
  assert.equal(flags(OpCode.createContainer, '/golden/c'), 4);
  assert.match(valuesOf<{ path: string }>(exchange('zkcli.json', OpCode.create, '/golden/s-').reply, 1).path, /^\/golden\/s-\d{10}$/);

  const ttl = exchange('zkcli.json', OpCode.createTTL, '/golden/t');
  assert.equal(valuesOf<Value<typeof R.CreateTTLRequest>>(ttl.req, 1).ttl, 60000);
  assert.equal(valuesOf<Value<typeof R.CreateTTLRequest>>(ttl.req, 1).flags, 5);
  // The tree keeps the TTL in the node's ephemeralOwner, but a client sees 0 there for TTL and
  // container nodes (DataNode.getClientEphemeralOwner).
  const ttlStat = valuesOf<Value<typeof R.Create2Response>>(ttl.reply, 1).stat;
  assert.equal(ttlStat.ephemeralOwner, 0n);
  const container = valuesOf<Value<typeof R.Create2Response>>(exchange('zkcli.json', OpCode.createContainer, '/golden/c').reply, 1);
  assert.equal(container.path, '/golden/c');
  assert.equal(container.stat.ephemeralOwner, 0n);

  // A create of an existing node: NODEEXISTS, a header with no record.
  const again = exchange('zkcli.json', OpCode.create, '/golden/p', 1);
  assert.equal(valuesOf<Header>(again.reply, 0).err, Err.NODEEXISTS);
  assert.equal(again.reply.bytes.length, 4 + 16);

  // kazoo's create2 returns the Stat of the new node.
  const c2 = exchange('kazoo.json', OpCode.create2, '/kz/c2');
  const c2r = valuesOf<Value<typeof R.Create2Response>>(c2.reply, 1);
  assert.equal(c2r.path, '/kz/c2');
  assert.equal(c2r.stat.dataLength, 1);
  assert.equal(c2r.stat.czxid, c2r.stat.mzxid);
});

test('reads, writes and their Stats', () => {
  const sessionId = valuesOf<Value<typeof R.ConnectResponse>>(frames('zkcli.json', 1)[1], 0).sessionId;
  const get = exchange('zkcli.json', OpCode.getData, '/golden/p');
  const data = valuesOf<Value<typeof R.GetDataResponse>>(get.reply, 1);
  assert.deepEqual(data.data, Buffer.from('second'));
  assert.equal(data.stat.version, 2);
  assert.equal(data.stat.dataLength, 6);
  assert.equal(data.stat.ephemeralOwner, 0n);
  assert.ok(data.stat.mzxid > data.stat.czxid);

  const stale = exchange('zkcli.json', OpCode.setData, '/golden/p', 2);
  assert.equal(valuesOf<Value<typeof R.SetDataRequest>>(stale.req, 1).version, 99);
  assert.equal(valuesOf<Header>(stale.reply, 0).err, Err.BADVERSION);

  const missing = exchange('zkcli.json', OpCode.getData, '/golden/missing');
  assert.equal(valuesOf<Header>(missing.reply, 0).err, Err.NONODE);

  // stat of an ephemeral node: its owner is this session.
  const eph = valuesOf<Value<typeof R.ExistsResponse>>(exchange('zkcli.json', OpCode.exists, '/golden/e').reply, 1);
  assert.equal(eph.stat.ephemeralOwner, sessionId);

  const ls = valuesOf<Value<typeof R.GetChildren2Response>>(exchange('zkcli.json', OpCode.getChildren2, '/golden').reply, 1);
  assert.equal(ls.stat.numChildren, ls.children.length);
  assert.deepEqual(
    ls.children.filter((c) => !/-\d{10}$/.test(c)).sort(),
    ['c', 'p', 't', 'e'].sort(),
  );
  const all = valuesOf<Value<typeof R.GetAllChildrenNumberResponse>>(exchange('zkcli.json', OpCode.getAllChildrenNumber, '/golden').reply, 1);
  assert.equal(all.totalNumber, 7, 'p, e, s-N, es-N, c, c/child, t');
  const ephemerals = valuesOf<Value<typeof R.GetEphemeralsResponse>>(exchange('zkcli.json', OpCode.getEphemerals).reply, 1).ephemerals;
  assert.deepEqual(
    ephemerals.map((p) => p.replace(/\d{10}$/, 'N')).sort(),
    ['/golden/e', '/golden/es-N'],
  );
  const sync = exchange('zkcli.json', OpCode.sync, '/golden');
  assert.deepEqual(valuesOf(sync.reply, 1), { path: '/golden' });
  const config = exchange('zkcli.json', OpCode.getData, '/zookeeper/config');
  assert.equal(valuesOf<Header>(config.reply, 0).err, 0);
  const reconfig = exchange('zkcli.json', OpCode.reconfig);
  assert.deepEqual(valuesOf(reconfig.req, 1), { joiningServers: null, leavingServers: null, newMembers: 'server.1=127.0.0.1:2888:3888;2181', curConfigId: -1 });
  assert.equal(valuesOf<Header>(reconfig.reply, 0).err, Err.RECONFIGDISABLED);
});

test('auth, ACLs and whoami', () => {
  const auth = all.find((d) => d.file === 'zkcli.json' && d.frame.kind === 'request' && d.frame.opcode === OpCode.auth)!;
  assert.deepEqual(valuesOf(auth, 0), { xid: Xid.AUTH, type: OpCode.auth });
  assert.deepEqual(valuesOf(auth, 1), { type: 0, scheme: 'digest', auth: Buffer.from('alice:secret') });
  // The auth packet is re-sent on every reconnect.
  for (const conn of [2, 3]) assert.ok(frames('zkcli.json', conn).some((d) => d.frame.opcode === OpCode.auth && d.frame.kind === 'request'));

  // digest ids are user:base64(sha1(user:password)).
  const digest = `alice:${crypto.createHash('sha1').update('alice:secret').digest('base64')}`;
  const acl = valuesOf<Value<typeof R.GetACLResponse>>(exchange('zkcli.json', OpCode.getACL, '/golden/p').reply, 1);
  assert.deepEqual(acl.acl, [
    { perms: 31, id: { scheme: 'digest', id: digest } },
    { perms: 1, id: { scheme: 'ip', id: '127.0.0.1' } },
  ]);
  assert.equal(acl.stat.aversion, 1);
  const ipAcl = valuesOf<Value<typeof R.GetACLResponse>>(exchange('zkcli.json', OpCode.getACL, '/golden/ip').reply, 1);
  assert.deepEqual(ipAcl.acl, [{ perms: 31, id: { scheme: 'ip', id: '127.0.0.1' } }]);
  const setAcl = exchange('zkcli.json', OpCode.setACL, '/golden/ip');
  assert.equal(valuesOf<Value<typeof R.SetACLRequest>>(setAcl.req, 1).version, 0);
  assert.equal(valuesOf<Value<typeof R.SetACLResponse>>(setAcl.reply, 1).stat.aversion, 1);

  const who = valuesOf<Value<typeof R.WhoAmIResponse>>(exchange('zkcli.json', OpCode.whoAmI).reply, 1);
  assert.deepEqual(
    who.clientInfo.map((c) => `${c.authScheme}:${c.user}`).sort(),
    ['digest:alice', 'ip:127.0.0.1'],
  );
  // kazoo's 'auth' ACL with an empty id, sent as a null string, becomes the session's digest id.
  const kzAuth = exchange('kazoo.json', OpCode.create, '/kz/auth');
  assert.deepEqual(valuesOf<Value<typeof R.CreateRequest>>(kzAuth.req, 1).acl, [{ perms: 31, id: { scheme: 'auth', id: null } }]);
  assert.equal(valuesOf<Value<typeof R.CreateRequest>>(kzAuth.req, 1).data, null);
  assert.equal(valuesOf<Header>(kzAuth.reply, 0).err, 0);
});

test('watches: notifications, SetWatches and SetWatches2 on reconnect, addWatch, removeWatches', () => {
  const events = all.filter((d) => d.frame.kind === 'event');
  for (const e of events) {
    // A notification's header: xid -1, zxid -1, err 0; the state is SyncConnected.
    assert.deepEqual(valuesOf(e, 0), { xid: -1, zxid: -1, err: 0 });
    assert.equal(valuesOf<Value<typeof R.WatcherEvent>>(e, 1).state, 3);
  }
  const ev = (file: string, conn: number) => frames(file, conn).filter((d) => d.frame.kind === 'event').map((d) => {
    const w = valuesOf<Value<typeof R.WatcherEvent>>(d, 1);
    return `${w.type} ${w.path}`;
  });
  // After the first reconnect the one-time watches fire: data changed, children changed, created.
  assert.deepEqual(ev('zkcli.json', 2), ['3 /golden/w', '4 /golden/w', '1 /golden/later']);
  // After the second: the recursive watch on /golden/pw, the persistent one on /golden/pp.
  assert.deepEqual(ev('zkcli.json', 3), [
    '1 /golden/pw/a', '1 /golden/pw/a/b', '3 /golden/pw/a', '2 /golden/pw/a/b', '3 /golden/pp', '4 /golden/pp',
    '2 /golden/pw/a', '2 /golden/pw',
  ]);

  const sw = frames('zkcli.json', 2).find((d) => d.frame.opcode === OpCode.setWatches && d.frame.kind === 'request')!;
  // ClientCnxn queues SetWatches with xid -8, but ClientCnxnSocketNIO gives every packet other
  // than ping and auth the next ordinary xid as it sends it: -8 never reaches the wire.
  const swHeader = valuesOf<Value<typeof R.RequestHeader>>(sw, 0);
  assert.equal(swHeader.type, OpCode.setWatches);
  assert.ok(swHeader.xid > 0, `SetWatches xid ${swHeader.xid}`);
  const swv = valuesOf<Value<typeof R.SetWatches>>(sw, 1);
  assert.deepEqual([swv.dataWatches, swv.existWatches, swv.childWatches], [['/golden/w'], ['/golden/later'], ['/golden/w']]);
  assert.equal(swv.relativeZxid, valuesOf<Value<typeof R.ConnectRequest>>(frames('zkcli.json', 2)[0], 0).lastZxidSeen);

  const sw2 = frames('zkcli.json', 3).find((d) => d.frame.opcode === OpCode.setWatches2 && d.frame.kind === 'request')!;
  const sw2v = valuesOf<Value<typeof R.SetWatches2>>(sw2, 1);
  assert.deepEqual(sw2v.dataWatches, ['/golden/ip']);
  assert.deepEqual(sw2v.persistentWatches, ['/golden/pp']);
  assert.deepEqual(sw2v.persistentRecursiveWatches, ['/golden/pw']);

  const add = exchange('zkcli.json', OpCode.addWatch, '/golden/pw');
  assert.deepEqual(valuesOf(add.req, 1), { path: '/golden/pw', mode: 1 });
  assert.deepEqual(valuesOf(add.reply, 1), { err: 0 });
  assert.equal(valuesOf<Value<typeof R.AddWatchRequest>>(exchange('zkcli.json', OpCode.addWatch, '/golden/pp').req, 1).mode, 0);

  // removewatches: type 3 (any) by default, 2 (data) with -d; NOWATCHER where none is set.
  assert.deepEqual(valuesOf(exchange('zkcli.json', OpCode.removeWatches, '/golden/pp').req, 1), { path: '/golden/pp', type: 3 });
  assert.deepEqual(valuesOf(exchange('zkcli.json', OpCode.removeWatches, '/golden/ip').req, 1), { path: '/golden/ip', type: 2 });
  assert.equal(valuesOf<Header>(exchange('zkcli.json', OpCode.removeWatches, '/golden/nowatch').reply, 0).err, Err.NOWATCHER);
});

test('multi: our multi decoder and response encoder agree with the captured bytes', () => {
  const multis = all.filter((d) => d.frame.kind === 'request' && d.frame.opcode === OpCode.multi);
  assert.ok(multis.length >= 3, 'zkCli deleteall and two kazoo transactions');
  for (const req of multis) {
    const reply = all.find((d) => d.file === req.file && d.conn === req.conn && d.frame.kind === 'reply' && d.frame.xid === req.frame.xid)!;
    // The server's own multi decoder reads the request body the same way.
    const entries = valuesOf<MultiEntry[]>(req, 1).slice(0, -1);
    const ops = decodeMultiRequest(new JuteReader(req.bytes, 12));
    assert.deepEqual(ops.map((o) => o.req.path), entries.map((e) => (e.record as { path: string }).path));
    // The server's own multi response encoder produces the captured results byte for byte.
    const results: MultiResult[] = valuesOf<MultiEntry[]>(reply, 1).slice(0, -1).map((e): MultiResult => {
      const r = e.record as Record<string, never>;
      switch (e.header.type) {
        case OpCode.create:
          return { type: OpCode.create, path: r['path'] };
        case OpCode.delete:
          return { type: OpCode.delete };
        case OpCode.check:
          return { type: OpCode.check };
        case OpCode.setData:
          return { type: OpCode.setData, stat: r['stat'] };
        case OpCode.error:
          return { type: OpCode.error, err: r['err'] };
        default:
          throw new Error(`unexpected multi result type ${e.header.type}`);
      }
    });
    const w = new JuteWriter(64);
    encodeMultiResponse(w, results);
    assert.equal(Buffer.from(w.finish()).toString('hex'), reply.bytes.subarray(20).toString('hex'), where(reply));
  }
  // kazoo's committed transaction: create, setData, check, delete.
  const [ok, failed] = multis.filter((d) => d.file === 'kazoo.json');
  const okReply = exchange('kazoo.json', OpCode.multi).reply;
  assert.deepEqual(
    valuesOf<MultiEntry[]>(ok, 1).map((e) => `${e.header.type} ${e.header.done} ${e.header.err}`),
    ['1 false -1', '5 false -1', '13 false -1', '2 false -1', '-1 true -1'],
  );
  assert.deepEqual(
    valuesOf<MultiEntry[]>(okReply, 1).map((e) => `${e.header.type} ${e.header.done} ${e.header.err}`),
    ['1 false 0', '5 false 0', '13 false 0', '2 false 0', '-1 true -1'],
  );
  // The failing one: the reply header says OK; each result is an error: the op before the
  // failure OK (rolled back), the failing delete NONODE.
  const failedReply = exchange('kazoo.json', OpCode.multi, undefined, 1).reply;
  assert.equal(failed!.frame.xid, failedReply.frame.xid);
  assert.equal(valuesOf<Header>(failedReply, 0).err, 0);
  assert.deepEqual(
    valuesOf<MultiEntry[]>(failedReply, 1).map((e) => `${e.header.type} ${e.header.err} ${JSON.stringify(e.record ?? null)}`),
    ['-1 0 {"err":0}', `-1 ${Err.NONODE} {"err":${Err.NONODE}}`, '-1 -1 null'],
  );
});

test('ping and closeSession: bare headers both ways', () => {
  for (const file of ['zkcli.json', 'kazoo.json']) {
    const ping = exchange(file, OpCode.ping);
    assert.deepEqual(valuesOf(ping.req, 0), { xid: Xid.PING, type: OpCode.ping });
    assert.equal(ping.req.bytes.length, 4 + 8);
    assert.equal(valuesOf<Header>(ping.reply, 0).xid, Xid.PING);
    assert.equal(ping.reply.bytes.length, 4 + 16);
  }
  for (const file of ['zkcli.json', 'kazoo.json']) {
    const close = exchange(file, OpCode.closeSession);
    assert.equal(close.req.bytes.length, 4 + 8);
    assert.equal(valuesOf<Header>(close.reply, 0).err, 0);
    assert.equal(close.reply.bytes.length, 4 + 16);
  }
  // cli_mt exits right after sending its closeSession, often before the answer arrives.
  const cliClose = frames('cli-mt.json').find((d) => d.frame.kind === 'request' && d.frame.opcode === OpCode.closeSession);
  assert.equal(cliClose?.bytes.length, 4 + 8);
});
