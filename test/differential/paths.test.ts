// Differential tests of invalid paths: empty, relative, trailing slash, empty components, "."
// and ".." components, control and other forbidden characters, \u0000, and the system nodes,
// sent with every opcode that carries a path, reads as well as writes. Apache ZooKeeper
// validates paths for writes only and answers reads with a lookup, so the error codes differ by
// opcode; this pins all of them. A request that makes a server drop the connection is recorded
// and the scenario carries on with a new connection.
import { test } from 'node:test';
import { WatcherType } from '../../src/protocol/constants';
import { differential, utf8, type Client, type Run } from './harness';

const BAD_PATHS = [
  '',
  'relative',
  'rel/ative',
  '/trailing/',
  '//',
  '/a//b',
  '/.',
  '/..',
  '/base/.',
  '/base/..',
  '/base/../base',
  '/./base',
  '/base/.hidden',
  '/base/..dots',
  '/nul\u0000',
  '/ctl\u0001x',
  '/ctl\u001fx',
  '/del\u007f',
  '/c1\u0080',
  '/c1\u009f',
  '/bmp\ud7ff',
  '/bmp\uf8ff',
  '/bmp\ufff0',
  '/bmp\uffff',
  '/sp ace',
  '/zookeeper',
  '/zookeeper/quota',
  '/zookeeper/config',
  '/zookeeper/new',
  '/',
];

type Op = (run: Run, c: Client, p: string, tag: string) => Promise<unknown>;

const OPS: [string, Op][] = [
  ['create', (run, c, p, tag) => run.create(c, p, utf8('x'), 0, undefined, tag)],
  ['create-seq', (run, c, p, tag) => run.create(c, p, null, 2, undefined, tag)],
  ['create2-eph', (run, c, p, tag) => run.create2(c, p, null, 1, undefined, tag)],
  ['createContainer', (run, c, p, tag) => run.createContainer(c, p, null, 4, undefined, tag)],
  ['setData', (run, c, p, tag) => run.setData(c, p, utf8('y'), -1, tag)],
  ['setACL', (run, c, p, tag) => run.setACL(c, p, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], -1, tag)],
  ['check', (run, c, p, tag) => run.check(c, p, 99, tag)],
  ['multi', (run, c, p, tag) => run.multi(c, [{ op: 'setData', path: p, data: null }], tag)],
  ['exists', (run, c, p, tag) => run.exists(c, p, true, tag)],
  ['getData', (run, c, p, tag) => run.getData(c, p, true, tag)],
  ['getChildren', (run, c, p, tag) => run.getChildren(c, p, true, tag)],
  ['getChildren2', (run, c, p, tag) => run.getChildren2(c, p, false, tag)],
  ['getACL', (run, c, p, tag) => run.getACL(c, p, tag)],
  ['getAllChildrenNumber', (run, c, p, tag) => run.getAllChildrenNumber(c, p, tag)],
  ['sync', (run, c, p, tag) => run.sync(c, p, tag)],
  ['multiRead', (run, c, p, tag) => run.multiRead(c, [{ op: 'getData', path: p }, { op: 'getChildren', path: p }], tag)],
  ['addWatch', (run, c, p, tag) => run.addWatch(c, p, 0, tag)],
  ['checkWatches', (run, c, p, tag) => run.checkWatches(c, p, WatcherType.Any, tag)],
  ['removeWatches', (run, c, p, tag) => run.removeWatches(c, p, WatcherType.Any, tag)],
  ['getEphemerals', (run, c, p, tag) => run.getEphemerals(c, p, tag)],
  ['delete', (run, c, p, tag) => run.delete(c, p, -1, tag)],
];

async function sweep(run: Run, ops: [string, Op][]): Promise<void> {
  let n = 0;
  let c = await run.connect(`C${n}`);
  await run.create(c, '/base', null);
  for (const p of BAD_PATHS) {
    for (const [name, op] of ops) {
      const tag = `${name} ${JSON.stringify(p)}`;
      try {
        await op(run, c, p, tag);
      } catch (e) {
        run.record(`${tag} failed`, String((e as Error).name));
      }
      if (c.raw.closed || !(await stillOpen(c))) {
        run.record(`${tag}: connection closed by the server`, true);
        n++;
        c = await run.connect(`C${n}`);
      }
    }
  }
  await run.getChildren(c, '/');
  await run.getChildren(c, '/base');
  await run.getChildren(c, '/zookeeper');
  await run.closeSession(c);
}

/** A ping round trip tells whether the server still talks on this connection. */
async function stillOpen(c: Client): Promise<boolean> {
  try {
    await c.raw.ping(2000);
    return true;
  } catch {
    return false;
  }
}

test('invalid paths with write opcodes', async (t) => {
  await differential(t, {}, (run) => sweep(run, OPS.filter(([n]) => ['create', 'create-seq', 'create2-eph', 'createContainer', 'setData', 'setACL', 'check', 'multi', 'delete'].includes(n))));
});

test('invalid paths with read and watch opcodes', async (t) => {
  await differential(t, {}, (run) => sweep(run, OPS.filter(([n]) => !['create', 'create-seq', 'create2-eph', 'createContainer', 'setData', 'setACL', 'check', 'multi', 'delete'].includes(n))));
});
