// Differential tests of container (create mode 4, opcodes 19 and 20) and TTL nodes (create
// modes 5 and 6, opcode 21), with the container manager running every 500 ms on both servers
// (-Dznode.container.checkIntervalMs=500), TTLs with and without
// -Dzookeeper.extendedTypesEnabled=true. Deletions by the periodic check are awaited through a
// watch (bounded), so the transcripts do not depend on timing.
import { test } from 'node:test';
import { differential, utf8 } from './harness';

const CHECK_FAST = { 'znode.container.checkIntervalMs': '500' };

test('containers: deleted by the periodic check once emptied, kept while never used', async (t) => {
  await differential(t, { props: CHECK_FAST }, async (run) => {
    const a = await run.connect('A');
    const w = await run.connect('W');
    await run.createContainer(a, '/c', utf8('c'));
    await run.createContainer(a, '/never', null);
    await run.create(a, '/c/x', null);
    await run.create(a, '/c/e', null, 1);
    await run.createContainer(a, '/c/inner', null);
    await run.create(a, '/c/inner/y', null);
    await run.getData(a, '/c');
    await run.getChildren2(a, '/c');
    await run.exists(w, '/c', true);
    await run.exists(w, '/c/inner', true);
    await run.delete(a, '/c/inner/y');
    // The inner container goes first; the outer one still has children.
    await run.waitFor(w, (log) => log.some((e) => e.kind === 'event' && e.path === '/c/inner'), 'deletion of /c/inner', 15_000);
    await run.getChildren(a, '/c');
    await run.delete(a, '/c/x');
    await run.closeSession(a);
    await run.waitFor(w, (log) => log.some((e) => e.kind === 'event' && e.path === '/c'), 'deletion of /c', 15_000);
    await run.exists(w, '/c');
    // A container that never had a child stays.
    await run.exists(w, '/never');
    // A container created through create (1) and create2 (15) with flags 4.
    await run.create(w, '/c1', null, 4);
    await run.create2(w, '/c2', null, 4);
    await run.getData(w, '/c1');
    await run.closeSession(w);
  });
});

test('deleteContainer (20) sent by a client', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    await run.createContainer(a, '/dc', null);
    await run.create(a, '/dc/kid', null);
    await run.createContainer(a, '/empty', null);
    await run.create(a, '/plain', null);
    await run.deleteContainer(a, '/dc');
    await run.deleteContainer(a, '/empty');
    await run.deleteContainer(a, '/plain');
    await run.deleteContainer(a, '/missing');
    await run.deleteContainer(a, 'bad');
    await run.deleteContainer(a, '/');
    await run.getChildren(a, '/');
    await run.closeSession(a);
  });
});

test('TTL nodes are unimplemented without extended types', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    await run.createTTL(a, '/ttl', 1000, 5);
    await run.createTTL(a, '/ttl', 1000, 6);
    await run.createTTL(a, '/ttl', 1000, 0);
    await run.createTTL(a, '/ttl', 0, 5);
    await run.create(a, '/ttl', null, 5);
    await run.create2(a, '/ttl', null, 6);
    await run.getChildren(a, '/');
    await run.closeSession(a);
  });
});

test('TTL nodes with extended types: validation, expiry, kept while they have children', async (t) => {
  await differential(t, { props: { ...CHECK_FAST, 'zookeeper.extendedTypesEnabled': 'true' } }, async (run) => {
    const a = await run.connect('A');
    const w = await run.connect('W');
    await run.createTTL(a, '/bad', 0, 5);
    await run.createTTL(a, '/bad', -1, 5);
    await run.createTTL(a, '/bad', 0x10000000000, 5);
    await run.createTTL(a, '/bad', 1000, 0);
    await run.createTTL(a, '/bad', 1000, 1);
    await run.createTTL(a, '/bad', 1000, 4);
    await run.create(a, '/bad', null, 5);
    await run.createTTL(a, '/max', 0xffffffffff, 5);
    await run.createTTL(a, '/t', 700, 5, utf8('t'));
    await run.createTTL(a, '/ts-', 700, 6);
    await run.createTTL(a, '/parent', 700, 5);
    await run.create(a, '/parent/kid', null);
    await run.getData(a, '/t');
    await run.getData(a, '/max');
    await run.getEphemerals(a, '/');
    // One watcher per node: two nodes that expire in the same pass are deleted in the order of
    // the server's TTL set, which need not be the same on both servers.
    const w2 = await run.connect('W2');
    await run.exists(w, '/t', true);
    await run.exists(w2, '/ts-0000000002', true);
    await run.getChildren(w, '/parent', true);
    await run.waitFor(w, (log) => log.filter((e) => e.kind === 'event').length >= 1, 'expiry of /t', 15_000);
    await run.waitFor(w2, (log) => log.filter((e) => e.kind === 'event').length >= 1, 'expiry of /ts-', 15_000);
    await run.exists(w, '/parent');
    await run.delete(a, '/parent/kid');
    await run.exists(w, '/parent', true);
    await run.waitFor(w, (log) => log.filter((e) => e.kind === 'event').length >= 3, 'expiry of /parent', 15_000);
    await run.exists(w, '/max');
    await run.multi(a, [{ op: 'createTTL', path: '/mt', data: null, ttl: 60_000 }, { op: 'create2', path: '/mt/kid', data: null }]);
    await run.getChildren(a, '/');
    await run.closeSession(a);
    await run.closeSession(w);
    await run.closeSession(w2);
  });
});
