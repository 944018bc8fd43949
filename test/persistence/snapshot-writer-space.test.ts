// The snapshot store leaves disk space to the txn log: while the log is stalled on a full disk
// the store writes nothing, and after the store itself met a full disk it tries again only when
// the filesystem has room for the commit beside the log's reserve. (Without this, a test saw the
// store's retry take all the space an operator freed, and the log stay stalled for good.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotWriter, type StoreSpacePolicy } from '../../src/persistence/database';
import type { LmdbStore } from '../../src/persistence/lmdb-store';
import { DataTree } from '../../src/tree/data-tree';
import { OpCode } from '../../src/protocol/constants';
import type { Logger } from '../../src/server/zookeeper-server';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child() { return quiet; } } as unknown as Logger;

function create(tree: DataTree, zxid: number, p: string, bytes: number): void {
  tree.processTxn({
    hdr: { clientId: 0x100000000000001n, cxid: zxid, zxid, time: 1700000000000 + zxid, type: OpCode.create },
    body: {
      type: OpCode.create,
      record: { path: p, data: Buffer.alloc(bytes, 7), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: false, parentCVersion: zxid },
    },
  });
}

/** A store whose commits fail like lmdb-js's on a full disk while `full` is set. */
function fakeStore(): { store: LmdbStore; attempts: number[]; full: { on: boolean } } {
  const attempts: number[] = [];
  const full = { on: false };
  const store = {
    commit(_tree: DataTree, _dirty: Iterable<string>, _s: unknown, zxid: number): Promise<void> {
      attempts.push(zxid);
      if (full.on) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
      return Promise.resolve();
    },
  } as unknown as LmdbStore;
  return { store, attempts, full };
}

test('the snapshot store writes nothing while the txn log is stalled, and waits for room after a full disk', { timeout: 30_000 }, async () => {
  const tree = new DataTree();
  const { store, attempts, full } = fakeStore();
  let logStalled = false;
  let free = 0;
  const policy: StoreSpacePolicy = { logStalled: () => logStalled, freeBytes: () => free, reserveBytes: 1024 * 1024 };
  const w = new SnapshotWriter(store, tree, quiet, (e) => assert.fail(`fatal: ${e.message}`), 0, policy);

  // The log is stalled: a change waits, however long.
  logStalled = true;
  create(tree, 1, '/a', 8000);
  w.schedule();
  await sleep(1500);
  assert.deepEqual(attempts, [], 'the store wrote while the txn log was stalled');

  // The log writes again and the store tries, but the disk is full for it too.
  logStalled = false;
  full.on = true;
  await sleep(1300);
  assert.deepEqual(attempts, [1], 'one attempt once the log was no longer stalled');

  // Space comes back, but less than the commit needs beside the log's reserve: still waiting.
  full.on = false;
  free = 512 * 1024;
  create(tree, 2, '/b', 8000);
  w.schedule();
  await sleep(2500);
  assert.deepEqual(attempts, [1], 'the store took space the log needs');

  // Room for both: the held changes land, in one commit at the newest zxid.
  free = 64 * 1024 * 1024;
  await sleep(1500);
  assert.deepEqual(attempts, [1, 2]);
  assert.equal(w.durableZxid, 2);
  assert.equal(tree.dirty!.size, 0);
});
