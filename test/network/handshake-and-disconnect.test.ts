// The edges of a connection's life, on ours and on Apache ZooKeeper side by side:
//  - a request sent before the handshake (the server reads the first frame as a
//    ConnectRequest, fails, and closes that connection without an answer);
//  - a client that disconnects in the middle of a frame (nothing of the cut request happens,
//    no connection is left behind, the session is not closed: it expires like any other);
//  - a frame that arrives in pieces over time (served once complete, nobody else waits).
// Every case uses its own connection; a bystander client checks that nobody else is disturbed.
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import { JuteWriter } from '../../src/jute/codec';
import * as R from '../../src/jute/records';
import { Err, OpCode, Xid } from '../../src/protocol/constants';
import { RawClient } from '../helpers/raw-client';
import { fourLetter, requireRef, startRef } from '../helpers/servers';
import { startOurServer } from './harness';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function requestFrame(xid: number, type: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const w = new JuteWriter(16 + body.length);
  const at = w.reserveInt();
  w.int(xid);
  w.int(type);
  const head = Buffer.from(w.finish());
  const frame = Buffer.concat([head, body]);
  frame.writeInt32BE(frame.length - 4, at);
  return frame;
}

const createFrame = (xid: number, path: string, data = 'd') =>
  requestFrame(xid, OpCode.create, Buffer.from(R.CreateRequest.serialize({ path, data: Buffer.from(data), acl: OPEN, flags: 0 })));
const getDataFrame = (xid: number, path: string) => requestFrame(xid, OpCode.getData, Buffer.from(R.GetDataRequest.serialize({ path, watch: false })));

/** "Connections: N" from srvr: open client connections, the srvr one included. */
async function connections(port: number): Promise<number> {
  const m = /Connections: (\d+)/.exec(await fourLetter(port, 'srvr'));
  assert.ok(m, 'srvr has a Connections line');
  return Number(m[1]);
}

/** Waits (bounded) until srvr reports at most `want` connections; returns the last count seen. */
async function settleConnections(port: number, want: number, timeoutMs = 3000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let n = await connections(port);
  while (n > want && Date.now() < until) {
    await sleep(50);
    n = await connections(port);
  }
  return n;
}

async function exists(c: RawClient, path: string): Promise<boolean> {
  const r = await c.request(OpCode.exists, R.ExistsRequest, { path, watch: false });
  return r.err === 0;
}

/** Runs one scenario against a server and describes what happened, for comparison. */
type Scenario = (port: number, bystander: RawClient) => Promise<string[]>;

const requestsBeforeHandshake: Scenario = async (port, bystander) => {
  const out: string[] = [];
  const cases: [string, Buffer][] = [
    ['getData first', getDataFrame(1, '/')],
    ['ping first', requestFrame(Xid.PING, OpCode.ping)],
    ['closeSession first', requestFrame(1, OpCode.closeSession)],
    ['create first', createFrame(1, '/before')],
  ];
  for (const [name, frame] of cases) {
    const c = await RawClient.open(port);
    c.sendRaw(frame);
    const answer = await c.awaitConnectResponse(5000).catch((e: Error) => `error ${e.message}`);
    out.push(`${name}: ${answer === null ? 'closed without an answer' : typeof answer === 'string' ? answer : 'answered'}`);
    c.destroy();
  }
  out.push(`/before exists: ${await exists(bystander, '/before')}`);
  return out;
};

const disconnectMidFrame: Scenario = async (port, bystander) => {
  const out: string[] = [];
  const base = await connections(port);
  // 1. In the middle of the ConnectRequest: no session, no connection left.
  const hs = await RawClient.open(port);
  hs.sendRaw(RawClient.connectFrame().subarray(0, 20));
  await sleep(100);
  hs.destroy();
  // 2. Half of a length prefix.
  const half = await RawClient.connect(port);
  half.sendRaw(createFrame(1, '/half').subarray(0, 2));
  await sleep(100);
  half.destroy();
  // 3. A length prefix and half the record, from a session that holds an ephemeral node.
  const cut = await RawClient.connect(port, { timeoutMs: 4000 });
  assert.equal((await cut.request(OpCode.create, R.CreateRequest, { path: '/eph', data: null, acl: OPEN, flags: 1 })).err, 0);
  const frame = createFrame(cut.xid(), '/cut', 'x'.repeat(200));
  cut.sendRaw(frame.subarray(0, 4 + 30));
  await sleep(100);
  cut.destroy();
  out.push(`connections back to baseline: ${(await settleConnections(port, base)) <= base}`);
  out.push(`/half exists: ${await exists(bystander, '/half')}`, `/cut exists: ${await exists(bystander, '/cut')}`);
  // The dropped connection did not close its session: its ephemeral node stays until expiry.
  out.push(`/eph right after the drop: ${await exists(bystander, '/eph')}`);
  const until = Date.now() + 12_000;
  while (Date.now() < until && (await exists(bystander, '/eph'))) await sleep(200);
  out.push(`/eph after the session timeout: ${await exists(bystander, '/eph')}`);
  return out;
};

const frameInPieces: Scenario = async (port, bystander) => {
  const out: string[] = [];
  const c = await RawClient.connect(port);
  try {
    const xid = c.xid();
    const frame = createFrame(xid, '/pieces', 'in pieces');
    // Byte by byte through the length prefix, then the rest in two parts, with pauses the
    // server must wait through; meanwhile the bystander is served.
    for (let i = 0; i < 4; i++) {
      c.sendRaw(frame.subarray(i, i + 1));
      await sleep(30);
    }
    c.sendRaw(frame.subarray(4, 20));
    out.push(`bystander served meanwhile: ${(await bystander.ping(2000)).err === 0}`);
    await sleep(200);
    out.push(`/pieces before the last piece: ${await exists(bystander, '/pieces')}`);
    c.sendRaw(frame.subarray(20));
    await c.waitFor((log) => log.some((e) => e.kind === 'reply' && e.xid === xid), 'the create reply', 3000);
    const reply = c.log.find((e) => e.kind === 'reply' && e.xid === xid);
    out.push(`reply err ${reply?.kind === 'reply' ? reply.err : 'none'}`);
    const read = await c.request(OpCode.getData, R.GetDataRequest, { path: '/pieces', watch: false }, R.GetDataResponse);
    out.push(`data ${read.body?.data?.toString()}`);
  } finally {
    c.destroy();
  }
  return out;
};

// One server of each kind for the whole file (every scenario uses paths of its own): starting
// them once keeps the file fast.
type Servers = { ours: Awaited<ReturnType<typeof startOurServer>>; ref: Awaited<ReturnType<typeof startRef>> | null };
let servers: Promise<Servers> | null = null;
function sharedServers(withRef: boolean): Promise<Servers> {
  servers ??= (async () => {
    const ours = await startOurServer({ clientPortAddress: '127.0.0.1' });
    const ref = withRef ? await startRef().catch(async (e: unknown) => {
      await ours.stop();
      throw e;
    }) : null;
    return { ours, ref };
  })();
  return servers;
}
after(async () => {
  if (servers === null) return;
  const s = await servers.catch(() => null);
  await Promise.all([s?.ours.stop(), s?.ref?.stop()]);
});

/** Runs a scenario on ours and, when available, the reference, each with a bystander. */
async function onBoth(t: TestContext, name: string, scenario: Scenario, expected: string[]): Promise<void> {
  const { ours, ref } = await sharedServers(requireRef(t));
  const watched = `/w-${name}`;
  const run = async (port: number): Promise<string[]> => {
    const bystander = await RawClient.connect(port);
    try {
      await bystander.request(OpCode.create, R.CreateRequest, { path: watched, data: null, acl: OPEN, flags: 0 });
      await bystander.request(OpCode.getData, R.GetDataRequest, { path: watched, watch: true });
      const out = await scenario(port, bystander);
      // Still there, still hearing about changes.
      const other = await RawClient.connect(port);
      await other.request(OpCode.setData, R.SetDataRequest, { path: watched, data: Buffer.from('v'), version: -1 });
      other.destroy();
      await bystander.waitForEvents(1, 3000);
      out.push(`bystander: ${(await bystander.ping()).err === Err.OK ? 'ok' : 'broken'}, events ${bystander.events().length}`);
      return out;
    } finally {
      bystander.destroy();
    }
  };
  const [o, r] = await Promise.all([run(ours.port), ref === null ? null : run(ref.port)]);
  if (r !== null) assert.deepEqual(r, expected, 'Apache ZooKeeper');
  assert.deepEqual(o, expected, 'ours');
  assert.ok(ours.alive());
}

test('a request before the handshake closes that connection without an answer (ours and Apache ZooKeeper)', async (t) => {
  await onBoth(t, 'before', requestsBeforeHandshake, [
    'getData first: closed without an answer',
    'ping first: closed without an answer',
    'closeSession first: closed without an answer',
    'create first: closed without an answer',
    '/before exists: false',
    'bystander: ok, events 1',
  ]);
});

test('a client that disconnects mid-frame: nothing applied, nothing left open, the session expires (ours and Apache ZooKeeper)', async (t) => {
  await onBoth(t, 'midframe', disconnectMidFrame, [
    'connections back to baseline: true',
    '/half exists: false',
    '/cut exists: false',
    '/eph right after the drop: true',
    '/eph after the session timeout: false',
    'bystander: ok, events 1',
  ]);
});

test('a frame that arrives in pieces is served once complete, and nobody waits for it (ours and Apache ZooKeeper)', async (t) => {
  await onBoth(t, 'pieces', frameInPieces, [
    'bystander served meanwhile: true',
    '/pieces before the last piece: false',
    'reply err 0',
    'data in pieces',
    'bystander: ok, events 1',
  ]);
});
