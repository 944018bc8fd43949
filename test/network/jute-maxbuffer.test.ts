// jute.maxbuffer: the largest frame a client may send. A frame whose length is above it closes
// that one connection with a log line ("Len error"); a frame of exactly that length, or below,
// is served; every other client carries on.
//
// How it is set: Apache ZooKeeper reads only the Java system property jute.maxbuffer
// (JVMFLAGS="-Djute.maxbuffer=N" with zkServer.sh; here JAVA_TOOL_OPTIONS, since ref-zk.sh
// passes no JVMFLAGS). A `jute.maxbuffer=N` line in zoo.cfg becomes the system property
// zookeeper.jute.maxbuffer, which nothing reads, so Apache ZooKeeper ignores it (its admin guide:
// "This option can only be set as a Java system property. There is no zookeeper prefix on it").
// Ours honours the zoo.cfg line as well; the last test pins that difference.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { JuteReader } from '../../src/jute/codec';
import * as R from '../../src/jute/records';
import { OpCode } from '../../src/protocol/constants';
import { RawClient } from '../helpers/raw-client';
import { requireRef, startRef, type ServerHandle } from '../helpers/servers';
import { startOurServer, type OurServer } from './harness';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const LIMIT = 4096;

/** A create of `path` whose whole frame payload (header and record) is `frameLength` bytes. */
function createOfFrameLength(path: string, frameLength: number) {
  const overhead = 8 + R.CreateRequest.serialize({ path, data: Buffer.alloc(0), acl: OPEN, flags: 0 }).length;
  const value = { path, data: Buffer.alloc(frameLength - overhead, 0x61), acl: OPEN, flags: 0 };
  assert.equal(8 + R.CreateRequest.serialize(value).length, frameLength);
  return value;
}

/** What happens to frames around the limit, and to a bystander meanwhile. */
async function exercise(port: number, limit: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const bystander = await RawClient.connect(port);
  const clients: RawClient[] = [bystander];
  try {
    await bystander.request(OpCode.create, R.CreateRequest, { path: '/w', data: null, acl: OPEN, flags: 0 });
    await bystander.request(OpCode.getData, R.GetDataRequest, { path: '/w', watch: true });
    for (const [name, len] of [['limit + 1', limit + 1], ['limit', limit], ['limit - 100', limit - 100]] as const) {
      const c = await RawClient.connect(port);
      clients.push(c);
      const path = `/n${len}`;
      const reply = await c
        .request(OpCode.create, R.CreateRequest, createOfFrameLength(path, len), R.CreateResponse, { ioTimeoutMs: 5000 })
        .then((r) => `err ${r.err}`)
        .catch(() => (c.closed ? 'connection closed' : 'no answer'));
      out[name] = reply;
    }
    // The bystander still works and hears about a change made by another client.
    const writer = clients[clients.length - 1]!;
    if (!writer.closed) await writer.request(OpCode.setData, R.SetDataRequest, { path: '/w', data: Buffer.from('x'), version: -1 });
    await bystander.waitForEvents(1, 3000).catch(() => undefined);
    out['bystander'] = `ping ${(await bystander.ping()).err}, events ${bystander.events().map((e) => `${e.type} ${e.path}`).join(',')}`;
  } finally {
    clients.forEach((c) => c.destroy());
  }
  return out;
}

const REFUSED = {
  'limit + 1': 'connection closed',
  limit: 'err 0',
  'limit - 100': 'err 0',
  bystander: 'ping 0, events 3 /w',
};

function refLog(ref: ServerHandle): string {
  return fs.readFileSync(path.join(ref.dir, 's1', 'out.log'), 'utf8');
}

async function oursLenError(ours: OurServer, len: number): Promise<void> {
  const line = await ours.waitForLog(new RegExp(`Len error ${len}`), 2000);
  assert.match(line, new RegExp(`"maxBuffer":${LIMIT}`));
}

test('-Djute.maxbuffer in JVMFLAGS: a frame above it closes only that connection (ours and Apache ZooKeeper)', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1', env: { JVMFLAGS: `-Xmx512m -Djute.maxbuffer=${LIMIT}` } });
  t.after(() => ours.stop());
  const hasRef = requireRef(t);
  const ref = hasRef ? await startRef({ env: { JAVA_TOOL_OPTIONS: `-Djute.maxbuffer=${LIMIT}` } }) : null;
  if (ref !== null) t.after(() => ref.stop());
  const [o, r] = await Promise.all([exercise(ours.port, LIMIT), ref === null ? null : exercise(ref.port, LIMIT)]);
  assert.deepEqual(o, REFUSED);
  await oursLenError(ours, LIMIT + 1);
  assert.ok(ours.alive());
  if (r !== null) {
    assert.deepEqual(r, REFUSED);
    assert.match(refLog(ref!), new RegExp(`Len error. A message from /127\\.0\\.0\\.1:\\d+ with advertised length of ${LIMIT + 1} .*jute\\.maxbuffer=${LIMIT}`));
  }
});

test('the default jute.maxbuffer is 0xfffff (ours and Apache ZooKeeper)', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1' });
  t.after(() => ours.stop());
  const hasRef = requireRef(t);
  const ref = hasRef ? await startRef() : null;
  if (ref !== null) t.after(() => ref.stop());
  const [o, r] = await Promise.all([exercise(ours.port, 0xfffff), ref === null ? null : exercise(ref.port, 0xfffff)]);
  assert.deepEqual(o, REFUSED);
  if (r !== null) assert.deepEqual(r, REFUSED);
});

// Raising jute.maxbuffer must raise the per-field limit of the record decoders too, not only
// the frame limit: Apache ZooKeeper's BinaryInputArchive checks each field against
// jute.maxbuffer plus zookeeper.jute.maxbuffer.extrasize (by default jute.maxbuffer again).
test('a raised jute.maxbuffer lets a 1.5 MB znode through (ours and Apache ZooKeeper)', async (t) => {
  const big = 2_000_000;
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1', env: { JVMFLAGS: `-Djute.maxbuffer=${big}` } });
  t.after(() => ours.stop());
  const hasRef = requireRef(t);
  const ref = hasRef ? await startRef({ env: { JAVA_TOOL_OPTIONS: `-Djute.maxbuffer=${big}` } }) : null;
  if (ref !== null) t.after(() => ref.stop());
  const value = createOfFrameLength('/big', 1_500_000);
  const run = async (port: number) => {
    const c = await RawClient.connect(port);
    try {
      const created = await c.requestRaw(OpCode.create, Buffer.from(R.CreateRequest.serialize(value)), { ioTimeoutMs: 10_000 });
      const read = await c.requestRaw(OpCode.getData, Buffer.from(R.GetDataRequest.serialize({ path: '/big', watch: false })), { ioTimeoutMs: 10_000 });
      // The reply holds more than the client-side default limit too: read it with the raised one.
      const data = read.err === 0 ? R.GetDataResponse.decode(new JuteReader(read.body, 0, read.body.length, big)).data : null;
      return `create ${created.err}, read ${read.err} ${data?.length ?? 'no data'}`;
    } catch (e) {
      return c.closed ? 'connection closed' : `failed: ${(e as Error).message}`;
    } finally {
      c.destroy();
    }
  };
  const [o, r] = await Promise.all([run(ours.port), ref === null ? null : run(ref.port)]);
  const expected = `create 0, read 0 ${value.data.length}`;
  if (r !== null) assert.equal(r, expected, 'Apache ZooKeeper');
  assert.equal(o, expected, 'ours');
});

test('jute.maxbuffer in zoo.cfg: ours applies it; Apache ZooKeeper ignores it (a documented difference)', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1', extraCfg: [`jute.maxbuffer=${LIMIT}`] });
  t.after(() => ours.stop());
  const o = await exercise(ours.port, LIMIT);
  assert.deepEqual(o, REFUSED);
  await oursLenError(ours, LIMIT + 1);
  if (!requireRef(t)) return;
  const ref = await startRef({ extraCfg: { 'jute.maxbuffer': String(LIMIT) } });
  t.after(() => ref.stop());
  const r = await exercise(ref.port, LIMIT);
  assert.deepEqual(r, { ...REFUSED, 'limit + 1': 'err 0' });
  assert.doesNotMatch(refLog(ref), /Len error/);
});
