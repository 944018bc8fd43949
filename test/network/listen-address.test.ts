// Where the client port listens. Apache ZooKeeper binds the wildcard address when
// clientPortAddress is unset (IPv4 and IPv6 clients alike) and only the given address when it
// is set. The tests connect only to loopback: 127.0.0.1 and ::1.
//
// The reference is checked where ref-zk.sh can run it: it waits for its server on 127.0.0.1
// and the test suite never binds a server to every address, so its unset and ::1 cases are not
// run here. What it prints for an IPv6 client was checked by hand with Apache ZooKeeper 3.8.0
// on Java 17 bound to ::1: `cons` shows "/[0:0:0:0:0:0:0:1]:port" (InetSocketAddress.toString
// puts IPv6 literals in brackets since Java 14), and whoami's ip id is "0:0:0:0:0:0:0:1".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as R from '../../src/jute/records';
import { Err, OpCode } from '../../src/protocol/constants';
import { RawClient } from '../helpers/raw-client';
import { requireRef, startRef } from '../helpers/servers';
import { fourLetterAt } from '../helpers/net';
import { startOurServer, tryConnect } from './harness';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

async function whoAmI(c: RawClient): Promise<string[]> {
  const r = await c.request(OpCode.whoAmI, null, null, R.WhoAmIResponse);
  assert.equal(r.err, 0);
  return r.body!.clientInfo.map((i) => `${i.authScheme}:${i.user}`);
}

test('clientPortAddress unset: clients reach the port over 127.0.0.1 and ::1', async (t) => {
  const ours = await startOurServer({ clientPortAddress: null });
  t.after(() => ours.stop());
  const v4 = await RawClient.connect(ours.port, {}, '127.0.0.1');
  const v6 = await RawClient.connect(ours.port, {}, '::1');
  t.after(() => {
    v4.destroy();
    v6.destroy();
  });
  // An IPv4 client on the dual-stack socket is still 127.0.0.1, not ::ffff:127.0.0.1.
  assert.deepEqual(await whoAmI(v4), ['ip:127.0.0.1']);
  assert.deepEqual(await whoAmI(v6), ['ip:0:0:0:0:0:0:0:1']);
  // Both see the same tree.
  assert.equal((await v6.request(OpCode.create, R.CreateRequest, { path: '/v6', data: null, acl: OPEN, flags: 0 })).err, 0);
  assert.equal((await v4.request(OpCode.exists, R.ExistsRequest, { path: '/v6', watch: false })).err, 0);
  // An ip ACL for 127.0.0.1 lets the IPv4 client in and keeps the IPv6 one out (Apache
  // ZooKeeper's ip provider does not match IPv6 addresses against IPv4 ones).
  const ipAcl = [{ perms: 31, id: { scheme: 'ip', id: '127.0.0.1' } }];
  assert.equal((await v4.request(OpCode.create, R.CreateRequest, { path: '/ip4', data: null, acl: ipAcl, flags: 0 })).err, 0);
  assert.equal((await v4.request(OpCode.getData, R.GetDataRequest, { path: '/ip4', watch: false })).err, 0);
  assert.equal((await v6.request(OpCode.getData, R.GetDataRequest, { path: '/ip4', watch: false })).err, Err.NOAUTH);
  // Four-letter words answer on both.
  assert.match(await fourLetterAt('::1', ours.port, 'srvr'), /Mode: standalone/);
  const cons = await fourLetterAt('127.0.0.1', ours.port, 'cons');
  assert.match(cons, / \/127\.0\.0\.1:\d+\[1\]\(queued=0,/, cons);
  assert.match(cons, / \/\[0:0:0:0:0:0:0:1\]:\d+\[1\]\(queued=0,/, `cons shows IPv6 clients as Java 17 does:\n${cons}`);
});

test('clientPortAddress=127.0.0.1: only IPv4 loopback is served (ours and Apache ZooKeeper)', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '127.0.0.1' });
  t.after(() => ours.stop());
  assert.equal(await tryConnect('::1', ours.port), 'ECONNREFUSED');
  const c = await RawClient.connect(ours.port);
  assert.equal((await c.ping()).err, 0);
  c.destroy();
  if (!requireRef(t)) return;
  // startRef always sets clientPortAddress=127.0.0.1.
  const ref = await startRef();
  t.after(() => ref.stop());
  assert.equal(await tryConnect('::1', ref.port), 'ECONNREFUSED');
  const r = await RawClient.connect(ref.port);
  assert.equal((await r.ping()).err, 0);
  r.destroy();
});

test('clientPortAddress=::1: only IPv6 loopback is served', async (t) => {
  const ours = await startOurServer({ clientPortAddress: '::1' });
  t.after(() => ours.stop());
  assert.equal(await tryConnect('127.0.0.1', ours.port), 'ECONNREFUSED');
  const c = await RawClient.connect(ours.port, {}, '::1');
  assert.deepEqual(await whoAmI(c), ['ip:0:0:0:0:0:0:0:1']);
  c.destroy();
});
