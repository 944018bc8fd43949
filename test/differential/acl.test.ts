// Differential tests of ACLs and authentication: world, auth, digest and ip ACLs (with /bits),
// NOAUTH on each operation that checks a permission, INVALIDACL, setACL versions, the super
// digest, auth (100) with a known and an unknown scheme, and whoAmI after authenticating.
import { test } from 'node:test';
import type { AclValue } from '../../src/jute/records';
import { Perms } from '../../src/protocol/constants';
import { differential, digestOf, utf8, type Client, type Run } from './harness';

const world = (perms: number): AclValue => ({ perms, id: { scheme: 'world', id: 'anyone' } });
const digest = (userPass: string, perms: number = Perms.ALL): AclValue => ({ perms, id: { scheme: 'digest', id: digestOf(userPass) } });
const ip = (addr: string, perms: number = Perms.ALL): AclValue => ({ perms, id: { scheme: 'ip', id: addr } });

/** Every operation that checks (or might check) a permission, against one node. */
async function everyOp(run: Run, c: Client, p: string, tag: string): Promise<void> {
  await run.exists(c, p, false, `${tag} exists`);
  await run.getData(c, p, false, `${tag} getData`);
  await run.getChildren(c, p, false, `${tag} getChildren`);
  await run.getChildren2(c, p, false, `${tag} getChildren2`);
  await run.getAllChildrenNumber(c, p, `${tag} getAllChildrenNumber`);
  await run.getACL(c, p, `${tag} getACL`);
  await run.setData(c, p, utf8(`${tag}`), -1, `${tag} setData`);
  await run.create(c, `${p}/kid`, null, 0, undefined, `${tag} create child`);
  await run.delete(c, `${p}/kid`, -1, `${tag} delete child`);
  await run.create(c, `${p}/kid`, null, 0, undefined, `${tag} create child again`);
  await run.check(c, p, 99, `${tag} check (bad version)`);
  await run.multi(c, [{ op: 'check', path: p, version: -1 }, { op: 'setData', path: p, data: utf8('m') }], `${tag} multi`);
  await run.multiRead(c, [{ op: 'getData', path: p }, { op: 'getChildren', path: p }], `${tag} multiRead`);
  await run.sync(c, p, `${tag} sync`);
  await run.addWatch(c, p, 0, `${tag} addWatch`);
  await run.getEphemerals(c, p, `${tag} getEphemerals`);
  // Last: when it succeeds it opens the node up.
  await run.setACL(c, p, [world(Perms.ALL)], -1, `${tag} setACL`);
}

test('NOAUTH on every operation, for each single missing permission', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    const b = await run.connect('B');
    const perms: [string, number][] = [
      ['none', 0],
      ['no-read', Perms.ALL & ~Perms.READ],
      ['no-write', Perms.ALL & ~Perms.WRITE],
      ['no-create', Perms.ALL & ~Perms.CREATE],
      ['no-delete', Perms.ALL & ~Perms.DELETE],
      ['no-admin', Perms.ALL & ~Perms.ADMIN],
      ['read-only', Perms.READ],
    ];
    for (const [name, p] of perms) {
      await run.create(a, `/${name}`, utf8(name), 0, [world(Perms.ALL)]);
      // The child for the delete check must exist before the parent loses CREATE.
      await run.create(a, `/${name}/kid`, null, 0, [world(Perms.ALL)]);
      await run.setACL(a, `/${name}`, [world(p)]);
    }
    for (const [name] of perms) await everyOp(run, b, `/${name}`, name);
    await run.closeSession(a);
    await run.closeSession(b);
  });
});

test('digest, auth and ip ACLs, INVALIDACL, setACL versions, whoAmI', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    const b = await run.connect('B');
    // Without any authentication, an "auth" ACL has nobody to stand for.
    await run.create(a, '/auth-none', null, 0, [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }]);
    await run.auth(a, 'digest', utf8('alice:secret'));
    await run.whoAmI(a);
    await run.auth(a, 'digest', utf8('alice:secret'));
    await run.auth(a, 'digest', utf8('bob:other'));
    await run.whoAmI(a);
    await run.create2(a, '/auth', utf8('a'), 0, [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }]);
    await run.getACL(a, '/auth');
    await run.create2(a, '/auth-id', null, 0, [{ perms: Perms.READ, id: { scheme: 'auth', id: 'ignored' } }, world(Perms.READ)]);
    await run.getACL(a, '/auth-id');
    await run.create(a, '/dig', utf8('d'), 0, [digest('carol:pw'), world(Perms.READ)]);
    await run.getACL(a, '/dig');
    await run.getACL(b, '/dig');
    await run.setData(b, '/dig', utf8('nope'));
    await run.auth(b, 'digest', utf8('carol:wrong'));
    await run.setData(b, '/dig', utf8('still no'));
    await run.auth(b, 'digest', utf8('carol:pw'));
    await run.setData(b, '/dig', utf8('yes'));
    await run.getACL(b, '/dig');
    await run.whoAmI(b);
    await run.getData(b, '/auth');
    // ip ACLs: exact, a matching and a non-matching network, bad addresses and bit counts.
    await run.create(a, '/ip-exact', null, 0, [ip('127.0.0.1')]);
    await run.create(a, '/ip-net', null, 0, [ip('127.0.0.0/8')]);
    await run.create(a, '/ip-other', null, 0, [ip('10.0.0.0/8')]);
    await run.create(a, '/ip-32', null, 0, [ip('127.0.0.1/32')]);
    await run.create(a, '/ip-0', null, 0, [ip('0.0.0.0/0')]);
    await run.create(a, '/ip-bad', null, 0, [ip('not-an-ip')]);
    await run.create(a, '/ip-bits', null, 0, [ip('127.0.0.1/33')]);
    await run.create(a, '/ip-v6', null, 0, [ip('::1')]);
    for (const n of ['/ip-exact', '/ip-net', '/ip-other', '/ip-32', '/ip-0', '/ip-v6']) await run.getData(b, n);
    // INVALIDACL: empty list, unknown scheme, world with another id, malformed digest.
    await run.create(a, '/inv-empty', null, 0, []);
    await run.create(a, '/inv-scheme', null, 0, [{ perms: Perms.ALL, id: { scheme: 'nosuch', id: 'x' } }]);
    await run.create(a, '/inv-world', null, 0, [{ perms: Perms.ALL, id: { scheme: 'world', id: 'someone' } }]);
    await run.create(a, '/inv-digest', null, 0, [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'no-colon' } }]);
    await run.create(a, '/inv-perms', null, 0, [world(0)]);
    await run.create(a, '/dup', null, 0, [world(Perms.ALL), world(Perms.ALL), world(Perms.READ)]);
    await run.getACL(a, '/dup');
    await run.create(a, '/node', null);
    await run.setACL(a, '/node', []);
    await run.setACL(a, '/node', [{ perms: Perms.ALL, id: { scheme: 'nosuch', id: 'x' } }]);
    await run.setACL(a, '/node', [world(Perms.READ | Perms.ADMIN)], 0);
    await run.setACL(a, '/node', [world(Perms.ALL)], 0);
    await run.setACL(a, '/node', [world(Perms.ALL)], 1);
    await run.setACL(a, '/node', [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], 2);
    await run.getACL(a, '/node');
    await run.getACL(b, '/node');
    await run.setACL(a, '/missing', [world(Perms.ALL)]);
    await run.getACL(a, '/missing');
    await run.getACL(a, '/zookeeper/config');
    await run.setACL(a, '/zookeeper/config', [world(Perms.ALL)]);
    await run.closeSession(a);
    await run.closeSession(b);
  });
});

test('auth with an unknown scheme fails and closes the connection; ip auth; sasl', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    await run.create(a, '/x', null);
    await run.auth(a, 'nosuch', utf8('whatever'));
    run.record('A closed after AUTHFAILED', await a.raw.closesWithin(3000));
    const b = await run.connect('B');
    await run.auth(b, 'ip', utf8('10.1.2.3'));
    await run.whoAmI(b);
    await run.auth(b, 'world', utf8('anyone'));
    run.record('B closed after world auth', await b.raw.closesWithin(1500));
    const c = await run.connect('C');
    await run.auth(c, 'digest', Buffer.alloc(0));
    await run.auth(c, 'digest', utf8('no-colon'));
    await run.auth(c, 'digest', utf8(':empty-user'));
    await run.whoAmI(c);
    await run.auth(c, 'super', utf8('x'));
    run.record('C closed after super auth', await c.raw.closesWithin(1500));
    const d = await run.connect('D');
    await run.getData(d, '/x');
    await run.closeSession(d);
  });
});

test('the super digest can do anything', async (t) => {
  await differential(t, { props: { 'zookeeper.DigestAuthenticationProvider.superDigest': digestOf('super:boss') } }, async (run) => {
    const a = await run.connect('A');
    await run.auth(a, 'digest', utf8('owner:pw'));
    await run.create(a, '/locked', utf8('l'), 0, [digest('owner:pw')]);
    await run.create(a, '/locked/kid', null, 0, [digest('owner:pw')]);
    const s = await run.connect('S');
    await run.getData(s, '/locked');
    await run.auth(s, 'digest', utf8('super:wrong'));
    await run.getData(s, '/locked');
    await run.auth(s, 'digest', utf8('super:boss'));
    await run.whoAmI(s);
    await everyOp(run, s, '/locked', 'super');
    await run.getACL(s, '/locked');
    await run.closeSession(a);
    await run.closeSession(s);
  });
});
