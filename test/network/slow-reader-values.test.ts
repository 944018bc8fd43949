// A client that stops reading while values it asked for are rewritten over and over: every
// getData reply it finally reads must carry the bytes of the version its Stat names. Two ways a
// queued reply could carry other bytes, one per value size:
//  - 4 KiB values are copied into the turn's output buffer, and that buffer is used again for
//    a later turn once the socket took it (tcp-connection.ts, spareOut): reusing one the socket
//    still holds would overwrite replies waiting in it.
//  - values of SPLICE_MIN_BYTES and up are written from the value's own buffer, and the server
//    reuses the buffer of a value that left the tree for the next value it decodes
//    (value-memory.ts, recycleValue): a reply still queued must hold it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { OpCode } from '../../src/protocol/constants';
import * as R from '../../src/jute/records';
import { JuteReader, JuteWriter, SPLICE_MIN_BYTES } from '../../src/jute/codec';
import { RawClient } from '../helpers/raw-client';
import { startOurs } from '../helpers/servers';

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const NODES = 4;

/** The value of `node` at `version`: every byte depends on both, so any mix-up shows. */
function valueOf(node: number, version: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + node * 7 + version * 13 + (i >> 8)) & 0xff;
  b.writeInt32BE(node, 0);
  b.writeInt32BE(version, 4);
  return b;
}

function frame(xid: number, type: number, encode: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(256);
  const at = w.reserveInt();
  w.int(xid);
  w.int(type);
  encode(w);
  w.patchInt(at, w.offset - 4);
  return Buffer.from(w.finish());
}

// perRound × valueBytes stays below the 64 KiB up to which a turn's buffer is kept for reuse;
// rounds × perRound × valueBytes (12 MiB, 19 MiB) is more than loopback's socket buffers hold.
for (const [valueBytes, perRound, rounds] of [
  [4096, 12, 250],
  [SPLICE_MIN_BYTES * 4, 2, 150],
] as const) {
test(`values of ${valueBytes} bytes read by a client that stopped reading while they were rewritten are the versions their Stat names`, { timeout: 120_000 }, async (t) => {
  const server = await startOurs();
  t.after(() => server.stop());
  const writer = await RawClient.connect(server.port);
  t.after(() => writer.destroy());
  for (let n = 0; n < NODES; n++) {
    await writer.request(OpCode.create, R.CreateRequest, { path: `/v${n}`, data: valueOf(n, 0, valueBytes), acl: OPEN_ACL, flags: 0 });
  }

  // The slow reader: a plain socket, so that reading can stop and start at will.
  const sock = net.connect({ host: server.host, port: server.port });
  t.after(() => sock.destroy());
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  let received = 0;
  sock.on('data', (d: Buffer) => {
    chunks.push(d);
    received += d.length;
  });
  sock.write(RawClient.connectFrame());
  // Its whole answer is a ConnectResponse of at most ~40 bytes, plus the readOnly byte.
  for (let i = 0; i < 500 && received === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(received > 0, 'no ConnectResponse');
  const connectBytes = 4 + Buffer.concat(chunks).readInt32BE(0);

  // Stop reading, then in rounds: ask for a few values (in a write of their own, so that the
  // server answers them in a turn of their own, whose output buffer is small enough to be
  // reused), then rewrite every value. The replies pile up in the kernel's buffers and then on
  // the server's side of the socket.
  sock.pause();
  let xid = 0;
  for (let v = 1; v <= rounds; v++) {
    const requests: Buffer[] = [];
    for (let i = 0; i < perRound; i++) {
      xid++;
      requests.push(frame(xid, OpCode.getData, (w) => R.GetDataRequest.encode(w, { path: `/v${(xid - 1) % NODES}`, watch: false })));
    }
    sock.write(Buffer.concat(requests));
    await new Promise((r) => setTimeout(r, 2));
    await Promise.all(
      Array.from({ length: NODES }, (_, n) =>
        writer.request(OpCode.setData, R.SetDataRequest, { path: `/v${n}`, data: valueOf(n, v, valueBytes), version: -1 }, R.SetDataResponse),
      ),
    );
  }
  const reads = xid;

  // Read everything now.
  sock.resume();
  const deadline = Date.now() + 60_000;
  const replies: { xid: number; err: number; data: Buffer | null; version: number }[] = [];
  let off = connectBytes;
  let all = Buffer.alloc(0);
  while (replies.length < reads && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    all = Buffer.concat(chunks);
    while (all.length - off >= 4 && all.length - off >= 4 + all.readInt32BE(off)) {
      const len = all.readInt32BE(off);
      const r = new JuteReader(all, off + 4, off + 4 + len);
      const xid = r.int();
      r.long();
      const err = r.int();
      off += 4 + len;
      if (err !== 0) {
        replies.push({ xid, err, data: null, version: -1 });
        continue;
      }
      const body = R.GetDataResponse.decode(r);
      replies.push({ xid, err, data: body.data, version: body.stat.version });
    }
  }
  assert.equal(replies.length, reads, `only ${replies.length} of ${reads} replies arrived`);
  let latest = 0;
  for (const rep of replies) {
    assert.equal(rep.err, 0, `getData xid ${rep.xid} failed: ${rep.err}`);
    const node = (rep.xid - 1) % NODES;
    assert.ok(rep.data !== null && rep.data.equals(valueOf(node, rep.version, valueBytes)), `xid ${rep.xid}: the bytes of /v${node} are not those of version ${rep.version}` + (rep.data !== null ? ` (they say node ${rep.data.readInt32BE(0)} version ${rep.data.readInt32BE(4)})` : ''));
    latest = Math.max(latest, rep.version);
  }
  // The point: replies were read while values changed, so some versions are old ones.
  assert.ok(replies.some((r) => r.version < rounds - 1), 'every reply came after the rewrites: the client did not fall behind');
  t.diagnostic(`versions read: 0..${latest}`);
});
}
