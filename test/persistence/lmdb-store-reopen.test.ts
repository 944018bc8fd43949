// The LMDB snapshot store in process: it closes and reopens its environment (to unmap the pages
// its map touched) after a load and once writes pause, and no write is lost across that.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LmdbStore } from '../../src/persistence/lmdb-store';
import { DataTree } from '../../src/tree/data-tree';
import { OpCode } from '../../src/protocol/constants';
import type { Txn } from '../../src/tree/txn';

function createTxn(zxid: number, p: string, data: string): Txn {
  return {
    hdr: { clientId: 0x100000000000001n, cxid: zxid, zxid, time: 1700000000000 + zxid, type: OpCode.create },
    body: {
      type: OpCode.create,
      record: { path: p, data: Buffer.from(data), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: false, parentCVersion: zxid },
    },
  };
}

/** Creates /n<from>../n<to-1> in `tree` and returns their paths. */
function createNodes(tree: DataTree, from: number, to: number): string[] {
  const paths: string[] = [];
  for (let i = from; i < to; i++) {
    const p = `/n${i}`;
    tree.processTxn(createTxn(i + 1, p, `value ${i}`));
    paths.push(p);
  }
  return paths;
}

function loadAll(file: string): Map<string, string> {
  const store = LmdbStore.open(file, true);
  const out = new Map<string, string>();
  for (const n of store.load()!.nodes) out.set(n.path, n.data === null ? '' : n.data.toString());
  void store.close();
  return out;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), what);
}

test('the store reopens its environment once writes pause, and keeps every write across it', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-lmdb-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'zkts-snapshot.lmdb');
  const tree = new DataTree();
  const store = LmdbStore.open(file);
  await store.writeFull(tree, new Map(), 0);
  await store.commit(tree, createNodes(tree, 0, 500), new Map([[1n, 30000]]), 500);
  await until(() => store.reopenCount >= 1, 'reopened after the writes paused');
  await store.commit(tree, createNodes(tree, 500, 1000), new Map(), 1000);
  await store.close();
  const loaded = loadAll(file);
  for (let i = 0; i < 1000; i++) assert.equal(loaded.get(`/n${i}`), `value ${i}`);
});

test('a commit made while the store reopens after its load waits for it and lands', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-lmdb-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'zkts-snapshot.lmdb');
  const tree = new DataTree();
  const first = LmdbStore.open(file);
  await first.writeFull(tree, new Map(), 0);
  await first.commit(tree, createNodes(tree, 0, 300), new Map(), 300);
  await first.close();

  const store = LmdbStore.open(file);
  const restored = new DataTree();
  const state = store.load()!;
  restored.restore(state.nodes, state.lastZxid); // the load's end starts the reopen
  assert.equal(restored.getNode('/n299')?.data?.toString(), 'value 299');
  // Straight away, while the environment is closing: the values are encoded now, written after.
  const changed = createNodes(restored, 300, 400);
  const committed = store.commit(restored, changed, new Map(), 400);
  await committed;
  assert.ok(store.reopenCount >= 1, 'the load was followed by a reopen');
  await store.close();
  const loaded = loadAll(file);
  for (let i = 0; i < 400; i++) assert.equal(loaded.get(`/n${i}`), `value ${i}`);
});
