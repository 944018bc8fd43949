// The tree digest against Apache ZooKeeper 3.8: both servers get the same 256 txns (creates,
// ephemerals, setData on the root and elsewhere, setACL, deletes, a multi, a failed write), then
//  - `hash` (four-letter word) and the AdminServer's `hash` list the same zxids in the same
//    layout (the digests themselves differ: znode times differ between the two servers);
//  - each server's last logged digest equals the digest we compute, with src/tree/digest.ts,
//    from that server's tree as a client reads it. For the reference this shows our formula is
//    ZooKeeper's on live data; for ours, that the incremental digest is right.
// With digest.enabled=false both log 0s.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as R from '../../src/jute/records';
import { OpCode, Perms } from '../../src/protocol/constants';
import { AdHash, nodeDigest } from '../../src/tree/digest';
import { encodeMulti, OPEN_ACL } from '../differential/harness';
import { RawClient } from '../helpers/raw-client';
import { startOurs, startRef } from '../helpers/servers';
import { fourLetter, freePort, HOST, httpGet, requireRef, requireRefAdmin, startRefAdmin } from './harness';

/** The zxid the traffic ends on: the second digest log entry. */
const LAST_ZXID = 0x100;

async function ok(p: Promise<{ err: number; zxid: number }>, what: string): Promise<number> {
  const r = await p;
  if (r.err !== 0) throw new Error(`${what}: err ${r.err}`);
  return r.zxid;
}

/** The same writes on either server; ends with the reply to zxid LAST_ZXID. Returns the open client. */
async function traffic(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port, { timeoutMs: 30000 });
  const create = (path: string, data: Buffer | null, flags = 0) =>
    ok(c.request(OpCode.create, R.CreateRequest, { path, data, acl: OPEN_ACL, flags }), `create ${path}`);
  const setData = (path: string, data: Buffer | null) => ok(c.request(OpCode.setData, R.SetDataRequest, { path, data, version: -1 }), `setData ${path}`);
  const del = (path: string) => ok(c.request(OpCode.delete, R.DeleteRequest, { path, version: -1 }), `delete ${path}`);
  await create('/d', Buffer.from('digest'));
  await create('/eph', Buffer.from('ephemeral'), 1);
  await create('/sp', null);
  // Bounded: 60 children with data of growing size, some changed, some deleted.
  for (let i = 0; i < 60; i++) await create(`/d/n${i}`, Buffer.alloc(i, 0x61 + (i % 26)));
  for (let i = 0; i < 60; i += 3) await setData(`/d/n${i}`, Buffer.from(`changed ${i}`));
  for (let i = 0; i < 60; i += 5) await del(`/d/n${i}`);
  await create('/sp/seq-', Buffer.from('s'), 2);
  await ok(c.request(OpCode.setACL, R.SetACLRequest, { path: '/d/n1', acl: [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }], version: -1 }), 'setACL');
  await setData('/', Buffer.from('root data'));
  const multi = await c.requestRaw(
    OpCode.multi,
    encodeMulti([
      { op: 'create', path: '/m', data: Buffer.from('m') },
      { op: 'setData', path: '/d', data: Buffer.from('by multi') },
      { op: 'delete', path: '/d/n2' },
    ]),
  );
  if (multi.err !== 0) throw new Error(`multi: err ${multi.err}`);
  // A failed write still takes a zxid (an error txn).
  const failed = await c.request(OpCode.create, R.CreateRequest, { path: '/d', data: null, acl: OPEN_ACL, flags: 0 });
  assert.equal(failed.err, -110);
  let zxid = failed.zxid;
  // Bounded: at most LAST_ZXID setData calls to reach the zxid.
  for (let i = 0; zxid < LAST_ZXID && i < LAST_ZXID; i++) zxid = await setData('/sp', Buffer.from(`pad ${i}`));
  assert.equal(zxid, LAST_ZXID, 'the traffic ends exactly on the second digest log entry');
  return c;
}

/**
 * The tree digest of a server's tree, computed from what a client reads: the stored cversion is
 * the count of child creations, which copyStat turns into cversion*2 - numChildren.
 */
async function digestFromClient(c: RawClient): Promise<bigint> {
  const h = new AdHash();
  const stack = ['/'];
  // Bounded: the traffic creates fewer than 100 znodes.
  for (let guard = 0; stack.length > 0 && guard < 1000; guard++) {
    const p = stack.pop()!;
    const d = await c.request(OpCode.getData, R.GetDataRequest, { path: p, watch: false }, R.GetDataResponse);
    assert.equal(d.err, 0, `getData ${p}`);
    const st = d.body!.stat;
    h.add(nodeDigest(p, d.body!.data, { ...st, cversion: (st.cversion + st.numChildren) / 2 }));
    if (p === '/zookeeper') continue; // its subtree counts 0
    const ch = await c.request(OpCode.getChildren, R.GetChildrenRequest, { path: p, watch: false }, R.GetChildrenResponse);
    for (const name of ch.body!.children) stack.push(p === '/' ? `/${name}` : `${p}/${name}`);
  }
  return h.value();
}

function hashLines(answer: string): [string, string][] {
  return answer
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^([0-9a-f]+): (-?\d+)$/.exec(l);
      assert.ok(m !== null, `hash line ${JSON.stringify(l)}`);
      return [m[1]!, m[2]!];
    });
}

test('hash: the digest log and its formats match Apache ZooKeeper 3.8 after 256 txns', { timeout: 180_000 }, async (t) => {
  if (!requireRefAdmin(t)) return;
  const adminPort = await freePort();
  const [ref, ours] = await Promise.all([
    startRefAdmin(),
    startOurs({ extraCfg: { 'admin.enableServer': 'true', 'admin.serverAddress': HOST, 'admin.serverPort': String(adminPort) } }),
  ]);
  t.after(() => Promise.all([ref.stop(), ours.stop()]));
  const [rc, oc] = await Promise.all([traffic(ref.port), traffic(ours.port)]);
  t.after(() => Promise.all([rc.close().catch(() => null), oc.close().catch(() => null)]));

  const [rHash, oHash] = await Promise.all([fourLetter(ref.port, 'hash'), fourLetter(ours.port, 'hash')]);
  const rLines = hashLines(rHash);
  const oLines = hashLines(oHash);
  assert.deepEqual(rLines.map(([z]) => z), ['80', '100'], 'the reference logs zxids 0x80 and 0x100');
  assert.deepEqual(oLines.map(([z]) => z), ['80', '100'], 'so do we');

  const [rDigest, oDigest] = await Promise.all([digestFromClient(rc), digestFromClient(oc)]);
  assert.equal(rLines[1]![1], rDigest.toString(), 'the reference digest is our formula over its tree');
  assert.equal(oLines[1]![1], oDigest.toString(), 'our incremental digest is our formula over our tree');
  console.log(`# digest at 0x100: ref ${rLines[1]![1]}, ours ${oLines[1]![1]}`);

  // The AdminServer's answer, Jackson's layout included, with the digest values masked.
  const [ra, oa] = await Promise.all([httpGet(`http://${HOST}:${ref.adminPort}/commands/hash`), httpGet(`http://${HOST}:${adminPort}/commands/hash`)]);
  const mask = (s: string) => s.replace(/"digest" : -?\d+/g, '"digest" : <D>');
  assert.equal(mask(oa.body), mask(ra.body));
  assert.match(oa.body, new RegExp(`"zxid" : 256,\\s*"digest" : ${oLines[1]![1]},`));
});

test('hash: with digest.enabled=false both servers log 0 for every entry', { timeout: 180_000 }, async (t) => {
  if (!requireRef(t)) return;
  const extraCfg = { 'digest.enabled': 'false' };
  const [ref, ours] = await Promise.all([startRef({ extraCfg }), startOurs({ extraCfg })]);
  t.after(() => Promise.all([ref.stop(), ours.stop()]));
  const [rc, oc] = await Promise.all([traffic(ref.port), traffic(ours.port)]);
  t.after(() => Promise.all([rc.close().catch(() => null), oc.close().catch(() => null)]));
  const [r, o] = await Promise.all([fourLetter(ref.port, 'hash'), fourLetter(ours.port, 'hash')]);
  assert.equal(r, '80: 0\n100: 0\n');
  assert.equal(o, r);
});
