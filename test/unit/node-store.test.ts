// The DataTree keeps znodes in columns (src/tree/node-store.ts): node indexes are reused, values
// are references into shared slabs, children are linked lists. These tests pin down that none of
// that shows through the tree's behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataTree, persistedStatOf, type RestoredNode } from '../../src/tree/data-tree';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/acl';
import { allocValue } from '../../src/jute/value-memory';
import { javaHashSetOrder } from '../../src/tree/java-hash-order';
import { CONTAINER_EPHEMERAL_OWNER } from '../../src/tree/ephemeral-type';
import { Err, OpCode } from '../../src/protocol/constants';
import { KeeperError } from '../../src/protocol/keeper-error';

function value(text: string): Buffer {
  const b = allocValue(Buffer.byteLength(text));
  b.write(text);
  return b;
}

function restoredNodes(t: DataTree): RestoredNode[] {
  return [...t.allNodes()].map(([path, n]) => ({
    path,
    data: n.data,
    acl: t.aclOf(n),
    ...persistedStatOf(n),
  }));
}

test('values: null, empty and bytes stay distinct, and neighbours in one slab survive each other', () => {
  const t = new DataTree();
  t.createNode('/null', null, OPEN_ACL_UNSAFE, 0n, -1, 1, 10);
  t.createNode('/empty', Buffer.alloc(0), OPEN_ACL_UNSAFE, 0n, -1, 2, 10);
  // allocValue cuts consecutive small values from one slab.
  t.createNode('/a', value('alpha'), OPEN_ACL_UNSAFE, 0n, -1, 3, 10);
  t.createNode('/b', value('bravo'), OPEN_ACL_UNSAFE, 0n, -1, 4, 10);
  t.createNode('/c', value('charlie'), OPEN_ACL_UNSAFE, 0n, -1, 5, 10);
  const big = Buffer.alloc(5000, 0x5a);
  t.createNode('/big', big, OPEN_ACL_UNSAFE, 0n, -1, 6, 10);
  assert.equal(t.getData('/null', null).data, null);
  assert.equal(t.getData('/null', null).stat.dataLength, 0);
  assert.deepEqual(t.getData('/empty', null).data, Buffer.alloc(0));
  assert.equal(t.getData('/empty', null).stat.dataLength, 0);
  t.deleteNode('/a', 7);
  t.setData('/b', value('b2'), 1, 8, 11);
  assert.equal(t.getData('/c', null).data!.toString(), 'charlie');
  assert.equal(t.getData('/b', null).data!.toString(), 'b2');
  t.setData('/c', null, 1, 9, 12);
  t.setData('/null', value('now set'), 1, 10, 12);
  assert.equal(t.getData('/c', null).data, null);
  assert.equal(t.getData('/null', null).data!.toString(), 'now set');
  assert.deepEqual(t.getData('/big', null).data, big);
  assert.equal(t.treeDigest(), t.treeDigestFromScratch());
  // '/null' (5) + 'now set' (7), '/empty' (6), '/b' (2) + 'b2' (2), '/c' (2), '/big' (4) + 5000, plus the 4 built-in nodes.
  const builtIn = '/'.length + '/zookeeper'.length + '/zookeeper/quota'.length + '/zookeeper/config'.length;
  assert.equal(t.approximateDataSize(), builtIn + 12 + 6 + 4 + 2 + 5004);
});

test('values that are views deep into a large buffer keep their bytes', () => {
  const t = new DataTree();
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const far = big.subarray(100_000, 100_050); // offset past what a packed location holds
  const long = big.subarray(10, 40_010); // length past what a packed location holds
  const near = big.subarray(5, 25);
  t.createNode('/far', far, OPEN_ACL_UNSAFE, 0n, -1, 1, 10);
  t.createNode('/long', long, OPEN_ACL_UNSAFE, 0n, -1, 2, 10);
  t.createNode('/near', near, OPEN_ACL_UNSAFE, 0n, -1, 3, 10);
  assert.deepEqual(t.getData('/far', null).data, Buffer.from(far));
  assert.deepEqual(t.getData('/long', null).data, Buffer.from(long));
  assert.deepEqual(t.getData('/near', null).data, Buffer.from(near));
  assert.equal(t.getData('/long', null).stat.dataLength, 40_000);
  t.deleteNode('/near', 4);
  assert.deepEqual(t.getData('/far', null).data, Buffer.from(far));
  assert.equal(t.treeDigest(), t.treeDigestFromScratch());
});

test('a deleted node leaves nothing behind for the node that reuses its slot', () => {
  const t = new DataTree();
  t.createNode('/p', value('p'), OPEN_ACL_UNSAFE, 0n, -1, 1, 10);
  t.createNode('/p/x', value('x'), READ_ACL_UNSAFE, 0x42n, -1, 2, 10);
  t.setACL('/p/x', READ_ACL_UNSAFE, 3);
  t.createNode('/q', value('q'), OPEN_ACL_UNSAFE, CONTAINER_EPHEMERAL_OWNER, -1, 3, 10);
  t.createNode('/q/y', value('y'), OPEN_ACL_UNSAFE, 0n, -1, 4, 10);
  t.deleteNode('/q/y', 5);
  t.deleteNode('/q', 6);
  t.deleteNode('/p/x', 7);
  assert.deepEqual([...t.ephemeralsOf(0x42n)], []);
  assert.deepEqual([...t.containers], []);
  for (let i = 0; i < 4; i++) t.createNode(`/n${i}`, null, OPEN_ACL_UNSAFE, 0n, -1, 10 + i, 20);
  for (let i = 0; i < 4; i++) {
    const { data, stat } = t.getData(`/n${i}`, null);
    assert.equal(data, null);
    assert.deepEqual(
      { ...stat },
      { czxid: 10 + i, mzxid: 10 + i, ctime: 20, mtime: 20, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 0, numChildren: 0, pzxid: 10 + i },
    );
    assert.deepEqual(t.getChildren(`/n${i}`, null).children, []);
    assert.deepEqual(t.aclOf(t.getNode(`/n${i}`)!), OPEN_ACL_UNSAFE);
  }
  assert.equal(t.getData('/p', null).stat.numChildren, 0);
  assert.equal(t.treeDigest(), t.treeDigestFromScratch());
});

test('children: insertion order, a re-added name goes last, Java order from the largest count ever held', () => {
  const t = new DataTree();
  t.createNode('/p', null, OPEN_ACL_UNSAFE, 0n, -1, 1, 10);
  const names = Array.from({ length: 40 }, (_, i) => `child-${(i * 7919) % 1000}`);
  let zxid = 2;
  for (const n of names) t.createNode(`/p/${n}`, null, OPEN_ACL_UNSAFE, 0n, -1, zxid++, 10);
  const insertion = [...names];
  for (const n of names.slice(5, 30)) {
    t.deleteNode(`/p/${n}`, zxid++);
    insertion.splice(insertion.indexOf(n), 1);
  }
  for (const n of names.slice(10, 12)) {
    t.createNode(`/p/${n}`, null, OPEN_ACL_UNSAFE, 0n, -1, zxid++, 10);
    insertion.push(n);
  }
  assert.deepEqual(t.getNode('/p')!.childNames(), insertion);
  assert.deepEqual(t.getChildren('/p', null).children, javaHashSetOrder(insertion, 40));
  assert.equal(t.getNode('/p')!.maxChildren, 40);
  const stat = t.getData('/p', null).stat;
  assert.equal(stat.numChildren, insertion.length);
  assert.equal(stat.cversion, 42 * 2 - insertion.length);
  // A restore links children in the order the snapshot lists them (the tree lists its nodes in
  // index order, where re-created nodes took freed indexes).
  const listed = restoredNodes(t);
  const u = new DataTree();
  u.restore(listed, zxid);
  const listedOrder = listed.filter((e) => e.path.startsWith('/p/')).map((e) => e.path.slice('/p/'.length));
  assert.deepEqual([...listedOrder].sort(), [...insertion].sort());
  assert.deepEqual(u.getNode('/p')!.childNames(), listedOrder);
  assert.equal(u.treeDigest(), t.treeDigest());
});

test('a parent deleted with children leaves them in the path map but on no list, as ZooKeeper does', () => {
  // Prepare refuses such deletes (NOTEMPTY); the tree itself, like ZooKeeper's, does not check.
  const t = new DataTree();
  t.createNode('/p', value('p'), OPEN_ACL_UNSAFE, 0n, -1, 1, 10);
  t.createNode('/p/a', value('a'), OPEN_ACL_UNSAFE, 0n, -1, 2, 11);
  t.createNode('/p/b', value('b'), OPEN_ACL_UNSAFE, 0n, -1, 3, 12);
  t.createNode('/p/b/c', value('c'), OPEN_ACL_UNSAFE, 0n, -1, 4, 13);
  t.deleteNode('/p', 5);
  assert.equal(t.nodeCount(), 7);
  assert.equal(t.getData('/p/b/c', null).data!.toString(), 'c');
  t.createNode('/p', value('P'), OPEN_ACL_UNSAFE, 0n, -1, 6, 14);
  assert.deepEqual(t.getChildren('/p', null).children, []);
  // A create at an orphan's path replaces it (ZooKeeper's nodes.put), without undoing its counts.
  t.createNode('/p/a', value('A'), OPEN_ACL_UNSAFE, 0n, -1, 7, 15);
  assert.equal(t.nodeCount(), 8);
  assert.deepEqual(t.getChildren('/p', null).children, ['a']);
  assert.equal(t.getData('/p/a', null).data!.toString(), 'A');
  // Deleting an orphan leaves the list of the node now at its parent's path alone.
  t.deleteNode('/p/b/c', 8);
  t.deleteNode('/p/b', 9);
  assert.deepEqual(t.getChildren('/p', null).children, ['a']);
  t.createNode('/p/b', value('B'), OPEN_ACL_UNSAFE, 0n, -1, 10, 16);
  assert.deepEqual(t.getChildren('/p', null).children, ['a', 'b']);
  const stat = t.getData('/p', null).stat;
  assert.equal(stat.pzxid, 10);
  assert.equal(stat.cversion, 2);
  assert.throws(
    () => t.createNode('/p/b', null, OPEN_ACL_UNSAFE, 0n, -1, 11, 17),
    (e: unknown) => e instanceof KeeperError && e.code === Err.NODEEXISTS,
  );
});

test('ephemeral owners round-trip through stat, sessions and restore', () => {
  const t = new DataTree();
  const owners = [0x1234n, -77n, 0x7fffffffffffffffn, CONTAINER_EPHEMERAL_OWNER];
  owners.forEach((o, i) => t.createNode(`/o${i}`, null, OPEN_ACL_UNSAFE, o, -1, i + 1, 10));
  assert.equal(t.getNode('/o1')!.ephemeralOwner, -77n);
  assert.equal(t.getData('/o2', null).stat.ephemeralOwner, 0x7fffffffffffffffn);
  // Containers show owner 0 to clients.
  assert.equal(t.getData('/o3', null).stat.ephemeralOwner, 0n);
  assert.deepEqual([...t.ephemeralsOf(-77n)], ['/o1']);
  const u = new DataTree();
  u.restore(restoredNodes(t), 10);
  assert.deepEqual([...u.ephemeralsOf(-77n)], ['/o1']);
  assert.deepEqual([...u.containers], ['/o3']);
  assert.equal(u.getNode('/o0')!.ephemeralOwner, 0x1234n);
  assert.equal(u.treeDigest(), t.treeDigest());
  t.processTxn({
    hdr: { clientId: -77n, cxid: 0, zxid: 20, time: 0, type: OpCode.closeSession },
    body: { type: OpCode.closeSession, record: null },
  });
  assert.equal(t.getNode('/o1'), undefined);
});
