// When and how much the snapshot store writes while clients keep writing. Short of snapCount
// txns behind the log it writes nothing under load; once that far behind it writes back to back
// (ZooKeeper snapshots after about snapCount txns), but in commits of at most 1 MiB, because a
// commit's values are encoded on the event loop (a tracing build showed 4 MiB commits of 4 KiB
// values holding every client for 20-70 ms). Once the server falls quiet it writes back to back
// in larger commits until it has caught up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotWriter } from '../../src/persistence/database';
import type { LmdbStore } from '../../src/persistence/lmdb-store';
import { DataTree } from '../../src/tree/data-tree';
import { OpCode } from '../../src/protocol/constants';
import type { Logger } from '../../src/server/zookeeper-server';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const quiet = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;
const VALUE_BYTES = 8192;
const BUSY_CHUNK_BYTES = 1024 * 1024;

interface Commit {
  at: number;
  nodes: number;
  zxid: number | null;
}

const COMMIT_MS = 40;

/** A store that only records its commits, each taking COMMIT_MS. */
function fakeStore(commits: Commit[], commitMs = COMMIT_MS): LmdbStore {
  return {
    commit(_tree: DataTree, dirty: Iterable<string>, _s: unknown, zxid: number | null): Promise<void> {
      commits.push({ at: performance.now(), nodes: [...dirty].length, zxid });
      return sleep(commitMs);
    },
  } as unknown as LmdbStore;
}

/**
 * Applies `perTick` creates of 8 KiB every 10 ms for `ms`, so the server is never quiet; returns
 * when the last one was applied.
 */
async function load(tree: DataTree, w: SnapshotWriter, ms: number, perTick: number, zxid: { next: number }): Promise<number> {
  const until = performance.now() + ms;
  let last = 0;
  while (performance.now() < until) {
    for (let i = 0; i < perTick; i++) {
      const z = zxid.next++;
      tree.processTxn({
        hdr: { clientId: 0x100000000000001n, cxid: z, zxid: z, time: 1700000000000 + z, type: OpCode.create },
        body: {
          type: OpCode.create,
          record: { path: `/n${z}`, data: Buffer.alloc(VALUE_BYTES, 7), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: false, parentCVersion: z },
        },
      });
      w.schedule();
      last = performance.now();
    }
    await sleep(10);
  }
  return last;
}

test('under load, a store snapCount behind writes back to back in commits of at most 1 MiB, then larger ones once quiet', { timeout: 30_000 }, async () => {
  const tree = new DataTree();
  const commits: Commit[] = [];
  const zxid = { next: 1 };
  // snapCount 400: the load (2,000 txns/s of 8 KiB, ~24 MB in 1.5 s) passes it in 0.2 s, and
  // commits of 1 MiB taking 100 ms each cannot keep up with it.
  const w = new SnapshotWriter(fakeStore(commits, 100), tree, quiet, (e) => assert.fail(`fatal: ${e.message}`), 0, { logStalled: () => false, freeBytes: () => null, reserveBytes: 0 }, null, 400);
  const loadEnd = await load(tree, w, 1500, 20, zxid);
  const underLoad = commits.filter((c) => c.at <= loadEnd);
  assert.ok(underLoad.length >= 4, `${underLoad.length} commits under load although the store trailed by more than snapCount`);
  for (const c of underLoad) assert.ok(c.nodes * VALUE_BYTES <= BUSY_CHUNK_BYTES + VALUE_BYTES, `a commit of ${c.nodes} nodes of 8 KiB under load`);
  const gaps = underLoad.slice(1).map((c, i) => c.at - underLoad[i]!.at);
  assert.ok(gaps.filter((g) => g < 100 + 20).length >= 3, `commits under load came ${gaps.map((g) => g.toFixed(0)).join(', ')} ms apart: never back to back`);
  const lastZxid = zxid.next - 1;
  assert.ok(w.durableZxid < lastZxid, 'the store kept up with the load; the test did not load it enough');
  // Quiet (200 ms after the last txn): it catches up, back to back, in larger commits.
  for (let i = 0; i < 100 && w.durableZxid < lastZxid; i++) await sleep(50);
  assert.equal(w.durableZxid, lastZxid, 'the store caught up once the server was quiet');
  const quietCommits = commits.filter((c) => c.at >= loadEnd + 200);
  assert.ok(quietCommits.some((c) => c.nodes * VALUE_BYTES > BUSY_CHUNK_BYTES + VALUE_BYTES), `commits once quiet: ${quietCommits.map((c) => c.nodes).join(', ')} nodes, none larger than under load`);
});

test('under load, a store short of snapCount behind writes nothing, and catches up once quiet', { timeout: 30_000 }, async () => {
  const tree = new DataTree();
  const commits: Commit[] = [];
  const zxid = { next: 1 };
  const w = new SnapshotWriter(fakeStore(commits), tree, quiet, (e) => assert.fail(`fatal: ${e.message}`), 0, { logStalled: () => false, freeBytes: () => null, reserveBytes: 0 }, null, 100_000);
  const loadEnd = await load(tree, w, 1000, 20, zxid);
  assert.deepEqual(commits.filter((c) => c.at <= loadEnd), [], 'the store wrote under load, short of snapCount behind');
  const lastZxid = zxid.next - 1;
  for (let i = 0; i < 100 && w.durableZxid < lastZxid; i++) await sleep(50);
  assert.equal(w.durableZxid, lastZxid, 'the store caught up once the server was quiet');
  assert.ok(commits[0]!.at >= loadEnd + 150, `the first commit came ${(commits[0]!.at - loadEnd).toFixed(0)} ms after the last txn`);
});
