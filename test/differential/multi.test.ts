// Differential tests of multi (14) and multiRead (22): all-or-nothing results, the per-op
// results of a multi that fails in the middle, the zxids it consumes, the watch events a
// successful multi fires (and the order they arrive in relative to the reply), and malformed
// multis (mixed reads and writes, unknown op types, truncated bodies).
import { test } from 'node:test';
import { OpCode } from '../../src/protocol/constants';
import { differential, encodeMulti, utf8 } from './harness';

test('multi: success, failure in the middle, and the events of a successful one', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    const w = await run.connect('W');
    await run.create(a, '/m', utf8('m'));
    await run.create(a, '/m/x', utf8('x'));
    await run.create(a, '/m/gone', null);
    await run.getData(w, '/m/x', true);
    await run.getChildren(w, '/m', true);
    await run.exists(w, '/m/new', true);
    await run.exists(w, '/m/gone', true);
    await run.multi(a, [
      { op: 'create', path: '/m/new', data: utf8('n') },
      { op: 'create2', path: '/m/seq-', data: null, flags: 2 },
      { op: 'create2', path: '/m/eph', data: utf8('e'), flags: 1 },
      { op: 'setData', path: '/m/x', data: utf8('x2'), version: 0 },
      { op: 'check', path: '/m/x', version: 1 },
      { op: 'delete', path: '/m/gone', version: 0 },
    ], 'multi ok');
    await run.waitForEvents(w, 4);
    await run.getChildren2(a, '/m');
    await run.getData(a, '/m/x');
    // Fails at the third op: nothing is applied, each op gets a result.
    await run.multi(a, [
      { op: 'create', path: '/m/a1', data: null },
      { op: 'setData', path: '/m/x', data: utf8('x3'), version: 1 },
      { op: 'check', path: '/m/x', version: 7 },
      { op: 'delete', path: '/m/new' },
      { op: 'create', path: '/m/a2', data: null },
    ], 'multi fails at check');
    await run.multi(a, [
      { op: 'create', path: '/m/b1', data: null },
      { op: 'create', path: '/m/b1', data: null },
    ], 'multi fails on its own create');
    await run.multi(a, [
      { op: 'delete', path: '/m/new' },
      { op: 'delete', path: '/m/new' },
    ], 'multi deletes twice');
    await run.multi(a, [{ op: 'delete', path: '/m' }], 'multi NOTEMPTY');
    await run.multi(a, [{ op: 'create', path: '/m/eph/child', data: null }], 'multi NOCHILDRENFOREPHEMERALS');
    await run.multi(a, [{ op: 'create', path: 'relative', data: null }], 'multi bad path');
    await run.multi(a, [{ op: 'create', path: '/m/z', data: null, flags: 9 }], 'multi bad flags');
    await run.multi(a, [{ op: 'createTTL', path: '/m/ttl', data: null, ttl: 1000 }], 'multi createTTL disabled');
    await run.multi(a, [], 'multi empty');
    await run.getChildren2(a, '/m');
    // Reads and writes do not mix; an unknown op type is a marshalling error.
    await run.multi(a, [{ op: 'create', path: '/m/c1', data: null }, { op: 'getData', path: '/m' }], 'multi mixed');
    await run.getChildren2(a, '/m');
    await run.closeSession(a);
    await run.getChildren(w, '/m');
    await run.closeSession(w);
  });
});

test('multi: unknown op type and truncated bodies', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    await run.create(a, '/m', null);
    await run.multi(a, [{ op: 'rawType', type: 99 }], 'multi unknown op type');
    run.record('A closed', await a.raw.closesWithin(1500));
    const b = await run.connect('B');
    const body = encodeMulti([{ op: 'create', path: '/m/t', data: utf8('abc') }]);
    await run.op(b, 'multi truncated', OpCode.multi, body.subarray(0, body.length - 6), { kind: 'multi' });
    run.record('B closed', await b.raw.closesWithin(1500));
    const c = await run.connect('C');
    await run.getChildren(c, '/m');
    await run.closeSession(c);
  });
});

test('multiRead: per-op results and errors', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    await run.create(a, '/r', utf8('r'));
    await run.create(a, '/r/one', utf8('1'));
    await run.create(a, '/r/two', null);
    await run.create(a, '/r/secret', utf8('s'), 0, [{ perms: 16, id: { scheme: 'world', id: 'anyone' } }]);
    await run.multiRead(a, [
      { op: 'getChildren', path: '/r' },
      { op: 'getData', path: '/r/one' },
      { op: 'getData', path: '/r/missing' },
      { op: 'getChildren', path: '/r/missing' },
      { op: 'getData', path: '/r/secret' },
      { op: 'getChildren', path: '/r/secret' },
      { op: 'getData', path: '/r/two' },
    ]);
    await run.multiRead(a, [], 'multiRead empty');
    await run.multiRead(a, [{ op: 'getData', path: 'bad' }], 'multiRead bad path');
    await run.multiRead(a, [{ op: 'getData', path: '/r' }, { op: 'create', path: '/r/w', data: null }], 'multiRead with a write');
    run.record('A closed', await a.raw.closesWithin(1500));
    const b = await run.connect('B');
    await run.multiRead(b, [{ op: 'create', path: '/r/w', data: null }], 'multiRead of a write');
    await run.exists(b, '/r/w');
    await run.multi(b, [{ op: 'getData', path: '/r' }], 'multi of a read');
    await run.closeSession(b);
  });
});
