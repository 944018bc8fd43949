// maxClientCnxns: how many connections one client IP may hold (default 60, 0 = no limit).
// Apache ZooKeeper checks the count when it accepts a connection and closes the one over the
// limit at once, with a warning; the connections already open keep working, and a slot freed
// by a closed connection can be used again. Ours must do the same.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as R from '../../src/jute/records';
import { OpCode } from '../../src/protocol/constants';
import { RawClient } from '../helpers/raw-client';
import { requireRef, startRef, type ServerHandle } from '../helpers/servers';
import { startOurServer } from './harness';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Opens a connection and sends a ConnectRequest; ok if the server answered it. */
async function admitted(port: number, host = '127.0.0.1'): Promise<{ ok: boolean; client: RawClient | null }> {
  let client: RawClient;
  try {
    client = await RawClient.open(port, host);
  } catch {
    // Apache ZooKeeper resets a refused connection at once (SO_LINGER 0), which can surface
    // as an error of the connect itself.
    return { ok: false, client: null };
  }
  const answer = await client.handshake({ ioTimeoutMs: 5000 });
  return { ok: answer !== null, client };
}

/**
 * Fills the limit from one address, checks that one more is refused and the others still work,
 * then frees a slot and checks it can be used again. Returns what happened, for comparison.
 */
async function exerciseLimit(port: number, max: number, host = '127.0.0.1'): Promise<string[]> {
  const seen: string[] = [];
  const open: RawClient[] = [];
  try {
    for (let i = 0; i < max; i++) {
      const a = await admitted(port, host);
      if (a.client !== null) open.push(a.client);
      if (!a.ok) seen.push(`connection ${i + 1} refused`);
    }
    const over = await admitted(port, host);
    if (over.client !== null) open.push(over.client);
    seen.push(`connection ${max + 1}: ${over.ok ? 'admitted' : 'closed'}`);
    const working = await Promise.all(open.slice(0, max).map(async (c) => (await c.ping(3000).catch(() => null))?.err === 0));
    seen.push(`first ${max} working: ${working.filter((w) => w).length}`);
    // Free one slot; the server forgets the closed connection shortly after.
    await open[0]!.close();
    let again = false;
    for (let attempt = 0; attempt < 20 && !again; attempt++) {
      const a = await admitted(port, host);
      if (a.client !== null) open.push(a.client);
      again = a.ok;
      if (!again) await sleep(100);
    }
    seen.push(`after a close: ${again ? 'admitted' : 'still refused'}`);
  } finally {
    for (const c of open) c.destroy();
  }
  return seen;
}

const EXPECTED = (max: number) => [`connection ${max + 1}: closed`, `first ${max} working: ${max}`, 'after a close: admitted'];

function refLog(ref: ServerHandle): string {
  return fs.readFileSync(path.join(ref.dir, 's1', 'out.log'), 'utf8');
}

test('maxClientCnxns=3: the 4th connection from 127.0.0.1 is closed, the first three keep working (ours and Apache ZooKeeper)', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1', extraCfg: ['maxClientCnxns=3'] });
  t.after(() => ours.stop());
  const hasRef = requireRef(t);
  const ref = hasRef ? await startRef({ extraCfg: { maxClientCnxns: '3' } }) : null;
  if (ref !== null) t.after(() => ref.stop());
  const [o, r] = await Promise.all([exerciseLimit(ours.port, 3), ref === null ? Promise.resolve(null) : exerciseLimit(ref.port, 3)]);
  assert.deepEqual(o, EXPECTED(3));
  await ours.waitForLog(/Too many connections from \/127\.0\.0\.1 - max is 3/, 2000);
  if (r !== null) {
    assert.deepEqual(r, EXPECTED(3));
    assert.match(refLog(ref!), /Too many connections from \/127\.0\.0\.1 - max is 3/);
  }
});

test('maxClientCnxns defaults to 60 (ours and Apache ZooKeeper)', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1' });
  t.after(() => ours.stop());
  const hasRef = requireRef(t);
  const ref = hasRef ? await startRef() : null;
  if (ref !== null) t.after(() => ref.stop());
  const [o, r] = await Promise.all([exerciseLimit(ours.port, 60), ref === null ? Promise.resolve(null) : exerciseLimit(ref.port, 60)]);
  assert.deepEqual(o, EXPECTED(60));
  if (r !== null) assert.deepEqual(r, EXPECTED(60));
});

test('maxClientCnxns counts each address apart: 127.0.0.1 and ::1 have their own limit', async (t) => {
  const ours = await startOurServer({ clientPortAddress: null, extraCfg: ['maxClientCnxns=2'] });
  t.after(() => ours.stop());
  const v4 = await exerciseLimit(ours.port, 2, '127.0.0.1');
  const v6 = await exerciseLimit(ours.port, 2, '::1');
  assert.deepEqual(v4, EXPECTED(2));
  assert.deepEqual(v6, EXPECTED(2));
  await ours.waitForLog(/Too many connections from \/127\.0\.0\.1 - max is 2/, 2000);
  await ours.waitForLog(/Too many connections from \/0:0:0:0:0:0:0:1 - max is 2/, 2000);
});

test('maxClientCnxns=0 means no limit', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1', extraCfg: ['maxClientCnxns=0'] });
  t.after(() => ours.stop());
  const open: RawClient[] = [];
  t.after(() => open.forEach((c) => c.destroy()));
  for (let i = 0; i < 70; i++) open.push(await RawClient.connect(ours.port));
  const r = await open[69]!.request(OpCode.exists, R.ExistsRequest, { path: '/', watch: false });
  assert.equal(r.err, 0);
});
