import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataTree } from '../../src/tree/data-tree';
import { EventType, OpCode, Err } from '../../src/protocol/constants';
import { OPEN_ACL_UNSAFE } from '../../src/tree/acl';
import { pathProblem } from '../../src/tree/paths';

function create(tree: DataTree, path: string, zxid: number, ephemeral = false, sid = 0x10n) {
  return tree.processTxn({
    hdr: { clientId: sid, cxid: 1, zxid, time: 1000 + zxid, type: OpCode.create2 },
    body: {
      type: OpCode.create2,
      record: { path, data: Buffer.from('d'), acl: OPEN_ACL_UNSAFE, ephemeral, parentCVersion: -1 },
    },
  });
}

test('a fresh tree has /, /zookeeper, /zookeeper/quota and /zookeeper/config', () => {
  const t = new DataTree();
  assert.ok(t.getNode('/'));
  assert.ok(t.getNode(''));
  assert.deepEqual(t.getChildren('/zookeeper', null).children.sort(), ['config', 'quota']);
  assert.equal(t.getNode('/zookeeper/config')!.aversion, -1);
});

test('create sets the stat fields and bumps the parent cversion and pzxid', () => {
  const t = new DataTree();
  const rc = create(t, '/a', 5);
  assert.equal(rc.err, 0);
  assert.equal(rc.stat!.czxid, 5);
  assert.equal(rc.stat!.dataLength, 1);
  const root = t.getNode('/')!;
  assert.equal(root.cversion, 1);
  assert.equal(root.pzxid, 5);
  assert.equal(t.lastProcessedZxid, 5);
  assert.equal(create(t, '/a', 6).err, Err.NODEEXISTS);
  assert.equal(create(t, '/x/y', 7).err, Err.NONODE);
});

test('watches fire once, children watches on the parent, deletions suppress duplicates', () => {
  const t = new DataTree();
  create(t, '/a', 1);
  t.getData('/a', 7);
  t.getChildren('/a', 7);
  t.getChildren('/', 8);
  t.processTxn({ hdr: { clientId: 1n, cxid: 1, zxid: 2, time: 0, type: OpCode.delete }, body: { type: OpCode.delete, record: { path: '/a' } } });
  assert.deepEqual(t.events, [
    { watcher: 7, type: EventType.NodeDeleted, path: '/a' },
    { watcher: 8, type: EventType.NodeChildrenChanged, path: '/' },
  ]);
  t.events = [];
  create(t, '/a', 3);
  assert.deepEqual(t.events, []);
});

test('persistent recursive watches see descendants but not child-list changes', () => {
  const t = new DataTree();
  create(t, '/a', 1);
  t.addWatch('/a', 9, 1);
  create(t, '/a/b', 2);
  create(t, '/a/b/c', 3);
  assert.deepEqual(
    t.events.map((e) => [e.type, e.path]),
    [
      [EventType.NodeCreated, '/a/b'],
      [EventType.NodeCreated, '/a/b/c'],
    ],
  );
});

test('ephemerals are tracked by session and removed by closeSession', () => {
  const t = new DataTree();
  create(t, '/e', 1, true, 0x42n);
  assert.deepEqual([...t.ephemeralsOf(0x42n)], ['/e']);
  t.processTxn({ hdr: { clientId: 0x42n, cxid: 0, zxid: 2, time: 0, type: OpCode.closeSession }, body: { type: OpCode.closeSession, record: { paths2Delete: ['/e'] } } });
  assert.equal(t.getNode('/e'), undefined);
});

test('path validation follows PathUtils.validatePath', () => {
  assert.equal(pathProblem('/'), null);
  assert.equal(pathProblem('/a/b'), null);
  assert.match(pathProblem('')!, /length/);
  assert.match(pathProblem('a')!, /start with/);
  assert.match(pathProblem('/a/')!, /end with/);
  assert.match(pathProblem('/a//b')!, /empty node name/);
  assert.match(pathProblem('/a/./b')!, /relative/);
  assert.match(pathProblem('/a/..')!, /relative/);
  assert.equal(pathProblem('/a/...'), null);
  assert.match(pathProblem('/a\u0001')!, /invalid character/);
});
