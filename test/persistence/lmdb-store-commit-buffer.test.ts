// The LMDB snapshot store in process: commits that reuse one buffer for their values (and
// commits that overlap, which must not share it) store exactly the tree's nodes.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LmdbStore } from '../../src/persistence/lmdb-store';
import { DataTree } from '../../src/tree/data-tree';
import { OpCode } from '../../src/protocol/constants';
import type { Txn } from '../../src/tree/txn';

const CLIENT = 0x100000000000001n;
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const READ_ONLY = [{ perms: 1, id: { scheme: 'digest', id: 'user:hash=' } }];

function hdr(zxid: number, type: number): Txn['hdr'] {
  return { clientId: CLIENT, cxid: zxid, zxid, time: 1700000000000 + zxid, type };
}

function create(zxid: number, p: string, data: Buffer, acl = OPEN): Txn {
  return { hdr: hdr(zxid, OpCode.create), body: { type: OpCode.create, record: { path: p, data, acl, ephemeral: false, parentCVersion: zxid } } };
}

function setData(zxid: number, p: string, data: Buffer, version: number): Txn {
  return { hdr: hdr(zxid, OpCode.setData), body: { type: OpCode.setData, record: { path: p, data, version } } };
}

function del(zxid: number, p: string): Txn {
  return { hdr: hdr(zxid, OpCode.delete), body: { type: OpCode.delete, record: { path: p } } };
}

function filled(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** Applies `txns`, commits what they changed, and returns the commit's promise. */
function applyAndCommit(store: LmdbStore, tree: DataTree, txns: Txn[]): Promise<void> {
  tree.dirty = new Set();
  for (const t of txns) tree.processTxn(t);
  return store.commit(tree, tree.dirty, new Map(), tree.lastProcessedZxid);
}

function storedNodes(file: string): Promise<Map<string, { data: string; version: number; acl: unknown }>> {
  const store = LmdbStore.open(file);
  const out = new Map<string, { data: string; version: number; acl: unknown }>();
  for (const n of store.load()!.nodes) out.set(n.path, { data: (n.data ?? Buffer.alloc(0)).toString('hex'), version: n.version, acl: n.acl });
  return store.close().then(() => out);
}

/** A store holding an empty tree, in a directory removed after the test. */
async function emptyStore(t: TestContext): Promise<{ file: string; store: LmdbStore; tree: DataTree }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-lmdb-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'store.lmdb');
  const store = LmdbStore.open(file);
  const tree = new DataTree();
  await store.writeFull(tree, new Map(), 0);
  return { file, store, tree };
}

test('commits reusing their value buffer, and overlapping commits, store exactly the tree', async (t) => {
  const { file, store, tree } = await emptyStore(t);
  // 1: values of several sizes, one with an ACL of its own.
  await applyAndCommit(store, tree, [
    create(1, '/a', filled(4096, 1)),
    create(2, '/b', filled(128, 2)),
    create(3, '/c', filled(3000, 3), READ_ONLY),
    create(4, '/d', Buffer.alloc(0)),
  ]);
  // 2: into the same buffer: smaller values first (stale bytes of commit 1 lie behind them),
  // then one larger than the whole buffer so far (it grows), and a delete.
  await applyAndCommit(store, tree, [
    setData(5, '/a', filled(10, 5), 0),
    create(6, '/e', filled(200_000, 6)),
    del(7, '/b'),
    setData(8, '/d', filled(1, 8), 0),
  ]);
  // 3 and 4 overlap: the second must not write into the buffer the first still holds.
  const third = applyAndCommit(store, tree, [setData(9, '/c', filled(5000, 9), 0), create(10, '/f', filled(64, 10))]);
  const fourth = applyAndCommit(store, tree, [setData(11, '/e', filled(70, 11), 0), create(12, '/g', filled(9000, 12))]);
  await Promise.all([third, fourth]);
  // 5: after the overlap, reuse again.
  await applyAndCommit(store, tree, [setData(13, '/g', filled(33, 13), 0), setData(14, '/a', filled(4097, 14), 1)]);
  assert.equal(store.lastZxid(), 14);
  await store.close();

  const stored = await storedNodes(file);
  const expected = new Map<string, { data: string; version: number; acl: unknown }>();
  for (const [p, n] of tree.allNodes()) {
    const acl = p === '/c' ? READ_ONLY : null;
    expected.set(p === '' ? '' : p, { data: (n.data ?? Buffer.alloc(0)).toString('hex'), version: n.version, acl });
  }
  assert.deepEqual([...stored.keys()].sort(), [...expected.keys()].sort());
  for (const [p, want] of expected) {
    const got = stored.get(p)!;
    assert.equal(got.data, want.data, `data of ${p}`);
    assert.equal(got.version, want.version, `version of ${p}`);
    if (p === '/c') assert.deepEqual(got.acl, READ_ONLY);
  }
  assert.equal(stored.get('/a')!.data, filled(4097, 14).toString('hex'));
  assert.equal(stored.has('/b'), false);
});

test('a commit in slices encodes one slice per event-loop turn, writes each node as it is when its slice runs, and moves lastZxid last', async (t) => {
  const { file, store, tree } = await emptyStore(t);
  tree.dirty = new Set();
  const N = 1000;
  const SLICE = 100;
  for (let i = 1; i <= N; i++) tree.processTxn(create(i, `/n${i}`, filled(i % 7 === 0 ? 4096 : 100, i)));
  const paths = [...tree.dirty];
  assert.ok(paths.length > N, 'the new nodes and what else they changed');

  // Count how many nodes the commit has read from the tree, turn by turn.
  let reads = 0;
  const getNode = tree.getNode.bind(tree);
  tree.getNode = (p: string) => {
    reads++;
    return getNode(p);
  };
  let fuzzyAskedAt = -1;
  const done = store.commit(tree, paths, new Map([[CLIENT, 30_000]]), N, () => {
    fuzzyAskedAt = reads;
    return tree.lastProcessedZxid !== N;
  }, SLICE);
  assert.equal(reads, SLICE, 'the first slice is encoded at once, the rest in later turns');
  // Between slices the tree moves on: the last node changes before its slice runs.
  tree.processTxn(setData(N + 1, `/n${N}`, filled(50, 99), 0));
  await new Promise((r) => setImmediate(r));
  assert.equal(reads, 2 * SLICE, 'one slice per turn');
  assert.equal(store.lastZxid(), 0, 'lastZxid has not moved while slices remain');
  await done;
  assert.equal(fuzzyAskedAt, N + 1, 'the fuzzy flag was decided after the last slice');
  assert.equal(store.lastZxid(), N);
  await store.close();

  const reopened = LmdbStore.open(file);
  const state = reopened.load()!;
  const stored = new Map<string, Buffer | null>();
  for (const n of state.nodes) stored.set(n.path, n.data === null ? null : Buffer.from(n.data));
  assert.equal(state.lastZxid, N);
  assert.equal(state.fuzzy, true, 'a txn was applied during the commit');
  assert.deepEqual([...state.sessions], [[CLIENT, 30_000]]);
  await reopened.close();
  assert.equal(stored.size, [...tree.allNodes()].length);
  assert.deepEqual(stored.get(`/n${N}`), filled(50, 99), 'the node as it was when its slice ran');
  assert.deepEqual(stored.get('/n7'), filled(4096, 7));
  assert.deepEqual(stored.get('/n1'), filled(100, 1));
});
