// DataTree.restore and the snapshot store's node decoding, as a restart uses them: a tree
// rebuilt from its own nodes is the same tree whatever order the nodes come in (parents first as
// the sorted store and ZooKeeper snapshots give them, children first, a path given twice), and
// the in-place decoder of the store reads back exactly what encodeNode wrote.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { OpCode } from '../../src/protocol/constants';
import { decodeNode, decodeNodeInto, encodeNode, LmdbStore, newRestoredNode, setStoreLoadWorker, storedNodeDigest } from '../../src/persistence/lmdb-store';
import { nodeDigest } from '../../src/tree/digest';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/acl';
import { DataTree, type RestoredNode, type ZNode } from '../../src/tree/data-tree';
import { CONTAINER_EPHEMERAL_OWNER } from '../../src/tree/ephemeral-type';
import type { AclValue } from '../../src/jute/records';

const SESSION = 0x1234_5678_9abcn;
const DIGEST_ACL: AclValue[] = [{ perms: 31, id: { scheme: 'digest', id: 'u:hash=' } }, { perms: 1, id: { scheme: 'world', id: 'anyone' } }];

/** A tree with every kind of node a restore has to rebuild. */
function sampleTree(): DataTree {
  const t = new DataTree();
  let zxid = 0;
  const create = (p: string, data: Buffer | null, acl: AclValue[] = OPEN_ACL_UNSAFE, owner = 0n): void => {
    zxid++;
    const type = owner === CONTAINER_EPHEMERAL_OWNER ? OpCode.createContainer : OpCode.create2;
    const record =
      type === OpCode.createContainer
        ? { path: p, data: data ?? Buffer.alloc(0), acl, parentCVersion: -1 }
        : { path: p, data, acl, ephemeral: owner !== 0n, parentCVersion: -1 };
    const rc = t.processTxn({ hdr: { clientId: owner === 0n ? 1n : owner, cxid: zxid, zxid, time: 1000 + zxid, type }, body: { type, record } as never });
    assert.equal(rc.err, 0, `create ${p.slice(0, 40)}`);
  };
  create('/app', Buffer.from('root of app'));
  for (let i = 0; i < 30; i++) create(`/app/n${i}`, Buffer.alloc(i * 7, i), i % 3 === 0 ? READ_ACL_UNSAFE : i % 3 === 1 ? DIGEST_ACL : OPEN_ACL_UNSAFE);
  create('/app/n1/deep', null);
  create('/app/n1/deep/er', Buffer.alloc(0));
  create('/app/eph', Buffer.from('e'), OPEN_ACL_UNSAFE, SESSION);
  create('/app/container', Buffer.from('c'), OPEN_ACL_UNSAFE, CONTAINER_EPHEMERAL_OWNER);
  create('/\u00e9t\u00e9', Buffer.from('utf-8 path'));
  // Larger than the first chunks the store's reader thread sends.
  create('/app/big', Buffer.alloc(300 * 1024, 3));
  create('/zookeeper/quota/app', null);
  create('/zookeeper/quota/app/zookeeper_limits', Buffer.from('count=100,bytes=-1'));
  create('/zookeeper/quota/app/zookeeper_stats', Buffer.from('count=0,bytes=0'));
  // Longer than the store's key limit: its key is a hash, which sorts before every path.
  create('/long', null);
  create('/long/' + 'x'.repeat(2000), Buffer.from('long path'));
  return t;
}

function restoredNodes(t: DataTree): RestoredNode[] {
  return [...t.allNodes()].map(([p, n]) => decodeNode(encodeNode(p, n, t)));
}

/** Restores `entries` through one refilled object, as the store's load does. */
function restoreReusing(entries: RestoredNode[], zxid: number): DataTree {
  const t = new DataTree();
  const out = newRestoredNode();
  t.restore(
    (function* () {
      for (const e of entries) yield Object.assign(out, e);
    })(),
    zxid,
  );
  return t;
}

function assertSameTree(a: DataTree, b: DataTree, what: string): void {
  assert.equal(b.nodeCount(), a.nodeCount(), `${what}: node count`);
  for (const [p, n] of a.allNodes()) {
    const m = b.getNode(p);
    assert.ok(m !== undefined, `${what}: ${p.slice(0, 40)} missing`);
    // Znodes are views on the tree's columns: compare what they show, not how they are stored.
    const fields = (z: ZNode) => ({
      data: z.data,
      czxid: z.czxid,
      mzxid: z.mzxid,
      ctime: z.ctime,
      mtime: z.mtime,
      version: z.version,
      cversion: z.cversion,
      aversion: z.aversion,
      ephemeralOwner: z.ephemeralOwner,
      pzxid: z.pzxid,
      maxChildren: z.maxChildren,
    });
    assert.deepEqual(fields(m), fields(n), `${what}: ${p.slice(0, 40)}`);
    assert.deepEqual(b.aclOf(m), a.aclOf(n), `${what}: ACL of ${p.slice(0, 40)}`);
    assert.deepEqual(new Set(m.childNames()), new Set(n.childNames()), `${what}: children of ${p.slice(0, 40)}`);
  }
  assert.equal(b.treeDigest(), a.treeDigest(), `${what}: digest`);
  assert.equal(b.treeDigest(), b.treeDigestFromScratch(), `${what}: digest from scratch`);
  // DataTree.getNodeSize summed over every node (a tree built by txns counts its first nodes
  // differently, as it did before restore was reworked).
  let size = 0;
  for (const [p, n] of a.allNodes()) size += p.length + (n.data === null ? 0 : n.data.length);
  assert.equal(b.approximateDataSize(), size, `${what}: data size`);
  assert.deepEqual([...b.ephemeralSessions()].map(([id, s]) => [id, [...s].sort()]), [...a.ephemeralSessions()].map(([id, s]) => [id, [...s].sort()]), `${what}: ephemerals`);
  assert.deepEqual([...b.containers].sort(), [...a.containers].sort(), `${what}: containers`);
  assert.equal(b.aclCache.size(), a.aclCache.size(), `${what}: ACL cache`);
  assert.equal(b.maxPrefixWithQuota('/app/n3'), '/app', `${what}: quota index`);
}

test('restore: parents first, children first, and a path given twice all give the same tree', () => {
  const t = sampleTree();
  const nodes = restoredNodes(t);
  const zxid = t.lastProcessedZxid;
  const sorted = [...nodes].sort((x, y) => Buffer.compare(Buffer.from(x.path), Buffer.from(y.path)));
  const fast = restoreReusing(sorted, zxid);
  assertSameTree(t, fast, 'sorted by path');
  assertSameTree(t, restoreReusing([...nodes].reverse(), zxid), 'children first');
  // The same order with one path given again at the end: the links are rebuilt in one pass over
  // the tree, and must come out exactly as when they were built on the way.
  const dup = restoreReusing([...sorted, { ...sorted.find((e) => e.path === '/app')! }], zxid);
  assertSameTree(t, dup, 'a path given twice');
  for (const [p] of t.allNodes()) assert.deepEqual(dup.getChildren(p, null).children, fast.getChildren(p, null).children, `child order of ${p.slice(0, 40)}`);
  // Deleting everything releases every ACL usage the restore counted.
  assert.throws(() => new DataTree().restore(sorted.filter((e) => e.path !== '/'), zxid), /no root node/);
  assert.throws(() => new DataTree().restore(sorted.filter((e) => e.path !== '/app'), zxid), /unable to find parent \/app of path/);
});

test('restore: ACL usage counts match a tree built by txns', () => {
  const t = sampleTree();
  const r = restoreReusing(restoredNodes(t), t.lastProcessedZxid);
  // Every ACL list the restored tree interned is released when its last node goes, as in t.
  for (const tree of [t, r]) {
    const paths = [...tree.allNodes()].map(([p]) => p).filter((p) => p.startsWith('/app/n'));
    paths.sort((x, y) => y.length - x.length);
    let zxid = tree.lastProcessedZxid;
    for (const p of paths) {
      const rc = tree.processTxn({ hdr: { clientId: 1n, cxid: 1, zxid: ++zxid, time: 1, type: OpCode.delete }, body: { type: OpCode.delete, record: { path: p } } });
      assert.equal(rc.err, 0, p);
    }
  }
  assert.equal(r.aclCache.size(), t.aclCache.size());
});

test('decodeNodeInto reads a value in place, inside a larger buffer, and rejects truncated values', () => {
  const t = sampleTree();
  const aclLists = new Map<string, AclValue[]>();
  const out = newRestoredNode();
  for (const [p, n] of t.allNodes()) {
    const v = encodeNode(p, n, t);
    const big = Buffer.concat([Buffer.alloc(13, 0xdd), v, Buffer.alloc(64, 0xee)]);
    const e = decodeNodeInto(big, 13, 13 + v.length, aclLists, out);
    assert.equal(e, out);
    assert.deepEqual({ ...e }, decodeNode(v), p.slice(0, 40));
    // The data is a copy: the read buffer is reused for the next value.
    if (e.data !== null && e.data.length > 0) assert.notEqual(e.data.buffer, big.buffer);
    for (const cut of [3, 10, v.length - 1]) assert.throws(() => decodeNodeInto(v, 0, cut, aclLists, newRestoredNode()), /corrupt node record|record truncated/, `${p.slice(0, 30)} cut at ${cut}`);
  }
});

test('storedNodeDigest gives nodeDigest from the stored bytes, or null where only decoding can', () => {
  const t = sampleTree();
  for (const [p, n] of t.allNodes()) {
    const v = encodeNode(p, n, t);
    assert.equal(storedNodeDigest(v, v.length), nodeDigest(p, n.data, n), p.slice(0, 40));
    assert.equal(storedNodeDigest(Buffer.concat([v, Buffer.alloc(9)]), v.length), nodeDigest(p, n.data, n), `${p.slice(0, 40)} in a larger buffer`);
  }
  const n = t.getNode('/app/n2')!;
  // A zxid beyond 2^53 is rounded by decoding, so only the decoded node has the tree's digest.
  const v = encodeNode('/app/n2', n, t);
  v.writeBigInt64BE(2n ** 60n + 1n, 8 + '/app/n2'.length); // czxid
  assert.equal(storedNodeDigest(v, v.length), null);
  assert.equal(storedNodeDigest(v, 20), null, 'truncated');
});

for (const worker of [true, false]) {
  test(`the snapshot store loads back the tree it was written from (reader thread: ${worker})`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-restore-'));
    setStoreLoadWorker(worker);
    try {
      const t = sampleTree();
      const store = LmdbStore.open(path.join(dir, 'store.lmdb'));
      await store.writeFull(t, new Map([[SESSION, 30000]]), t.lastProcessedZxid);
      const loaded = store.load()!;
      const r = new DataTree();
      r.restore(loaded.nodes, loaded.lastZxid);
      assertSameTree(t, r, 'store');
      assert.deepEqual([...loaded.sessions], [[SESSION, 30000]]);
      // A second load (the iterable is read again) gives the same tree. The end of a load
      // reopens the store's environment; a load waits until that is done.
      await store.settled();
      const again = new DataTree();
      again.restore(loaded.nodes, loaded.lastZxid);
      assertSameTree(t, again, 'store, again');
      // A load given up after its first node frees its reader thread, and a later one works.
      await store.settled();
      for (const e of store.load()!.nodes) {
        assert.equal(typeof e.path, 'string');
        break;
      }
      // Digests off: the nodes load the same, and the tree keeps no digest.
      const off = new DataTree({ digestEnabled: false });
      off.restore(store.load(false)!.nodes, loaded.lastZxid);
      assert.equal(off.nodeCount(), t.nodeCount());
      assert.equal(off.treeDigest(), 0n);
      await store.close();
    } finally {
      setStoreLoadWorker(true);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
