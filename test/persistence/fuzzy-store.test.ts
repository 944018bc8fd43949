// The snapshot store written in rounds (SnapshotWriter): a round's commits store each node as it
// is when its commit is encoded, while txns keep being applied, and only the round's last commit
// moves lastZxid. A crash after any commit of a round must recover exactly the tree the txn log
// describes: replay from lastZxid over nodes that may be newer (ZooKeeper's fuzzy-snapshot
// replay), with nodes stored without their parent dropped at load. Checked here for random
// workloads (creates, deletes, setData, sequential-looking names under several parents) and
// every crash point, against the tree that applied the same txns in memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LMDB_FILE_NAME, LmdbStore } from '../../src/persistence/lmdb-store';
import { FileTxnLog } from '../../src/persistence/txn-log';
import { recoverState } from '../../src/persistence/database';
import { DataTree, persistedStatOf } from '../../src/tree/data-tree';
import { OpCode } from '../../src/protocol/constants';
import type { Txn, TxnBody } from '../../src/tree/txn';
import type { Logger } from '../../src/server/zookeeper-server';

const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child() { return quiet; } } as unknown as Logger;
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Applies random valid txns to `tree` and appends each to `log`. */
class Workload {
  zxid = 0;
  private seq = 0;
  readonly appended: Promise<void>[] = [];
  constructor(
    private readonly tree: DataTree,
    private readonly log: FileTxnLog,
    private readonly random: () => number,
  ) {}

  private pick<T>(xs: T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }

  private userPaths(): string[] {
    return [...this.tree.allNodes()].map(([p]) => p).filter((p) => p !== '/' && p !== '/zookeeper' && !p.startsWith('/zookeeper/'));
  }

  private body(): TxnBody {
    const paths = this.userPaths();
    const r = this.random();
    if (paths.length < 5 || r < 0.45) {
      const parents = ['/', ...paths.filter((p) => p.split('/').length <= 3)];
      const parent = this.pick(parents);
      const p = `${parent === '/' ? '' : parent}/n${String(this.seq++).padStart(6, '0')}`;
      const cv = this.tree.getNode(parent)!.cversion + 1;
      return { type: OpCode.create, record: { path: p, data: Buffer.from(`${p}@${this.zxid + 1}`), acl: OPEN, ephemeral: false, parentCVersion: cv } };
    }
    if (r < 0.75) {
      const leaves = paths.filter((p) => this.tree.getNode(p)!.childCount === 0);
      return { type: OpCode.delete, record: { path: this.pick(leaves) } };
    }
    const p = this.pick(paths);
    return { type: OpCode.setData, record: { path: p, data: Buffer.from(`${p}#${this.zxid + 1}`), version: this.tree.getNode(p)!.version + 1 } };
  }

  step(n: number): void {
    for (let i = 0; i < n; i++) {
      const body = this.body();
      this.zxid++;
      const txn: Txn = { hdr: { clientId: 0x100000000000001n, cxid: this.zxid, zxid: this.zxid, time: 1700000000000 + this.zxid, type: body.type }, body };
      const rc = this.tree.processTxn(txn);
      assert.equal(rc.err, 0, `txn ${this.zxid} (${body.type}) failed with ${rc.err}`);
      this.appended.push(new Promise<void>((resolve, reject) => this.log.append(txn, resolve, reject)));
    }
  }
}

function snapshotOf(tree: DataTree): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, n] of tree.allNodes()) out.set(p, JSON.stringify({ stat: persistedStatOf(n), data: n.data?.toString() ?? null, children: n.childCount }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  return out;
}

async function crashMidRound(seed: number, crashAfter: number): Promise<{ chunks: number; dropped: boolean }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-fuzzy-'));
  try {
    const random = rng(seed);
    const tree = new DataTree();
    tree.dirty = new Set();
    const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: 1024 * 1024, snapCount: 1_000_000, forceSync: false, fsyncWarningThresholdMs: 1e9, logger: quiet });
    const store = LmdbStore.open(path.join(dir, LMDB_FILE_NAME));
    await store.writeFull(tree, new Map(), 0);
    const w = new Workload(tree, log, random);
    // A consistent point, as a round that ran while nothing was applied leaves it.
    w.step(150);
    await store.commit(tree, tree.dirty, new Map(), tree.lastProcessedZxid);
    tree.dirty = new Set();
    // A round: the paths changed since, committed in parts while txns go on being applied.
    w.step(250);
    const paths = [...tree.dirty];
    tree.dirty = new Set();
    const roundZxid = tree.lastProcessedZxid;
    const parts: string[][] = [];
    for (let i = 0; i < paths.length; ) {
      const n = 1 + Math.floor(random() * 40);
      parts.push(paths.slice(i, i + n));
      i += n;
    }
    const done = Math.min(crashAfter, parts.length);
    for (let k = 0; k < done; k++) {
      w.step(Math.floor(random() * 25));
      const last = k === parts.length - 1;
      await store.commit(tree, parts[k]!, new Map(), last ? roundZxid : null, true);
    }
    // The crash: later txns reach the log, never the store.
    w.step(80);
    await Promise.all(w.appended);
    await log.close();
    await store.close();

    const reopened = LmdbStore.open(path.join(dir, LMDB_FILE_NAME));
    try {
      const state = recoverState(dir, dir, reopened, false, quiet);
      assert.equal(state.tree.lastProcessedZxid, w.zxid);
      const want = snapshotOf(tree);
      const got = snapshotOf(state.tree);
      for (const [p, v] of want) assert.equal(got.get(p), v, `seed ${seed}, crash after ${done}/${parts.length} parts: ${p} differs`);
      for (const p of got.keys()) assert.ok(want.has(p), `seed ${seed}, crash after ${done}/${parts.length} parts: ${p} should not exist`);
      assert.equal(state.tree.treeDigest(), tree.treeDigest(), 'the tree digest');
      assert.equal(state.tree.treeDigest(), state.tree.treeDigestFromScratch(), 'the recovered digest is the digest of the recovered nodes');
      // What the replay changed, and what was dropped, are dirty: the startup commit stores them.
      return { chunks: parts.length, dropped: (state.tree.dirty?.size ?? 0) > 0 };
    } finally {
      await reopened.settled();
      await reopened.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a crash after any commit of a store round recovers exactly the tree of the txn log', { timeout: 120_000 }, async () => {
  let cases = 0;
  for (let seed = 1; seed <= 6; seed++) {
    // Crash points: before the round's first commit, after each of a spread of commits, after its last.
    for (const crashAfter of [0, 1, 2, 3, 5, 8, 13, 1000]) {
      await crashMidRound(seed * 7919 + crashAfter, crashAfter);
      cases++;
    }
  }
  assert.equal(cases, 48);
});

test('restore drops nodes stored without their parent only for a fuzzy store', () => {
  const tree = new DataTree();
  const entries = [...tree.allNodes()].map(([p, n]) => ({ path: p, data: n.data, acl: null, ...persistedStatOf(n), digest: undefined }));
  const orphan = { ...entries[0]!, path: '/gone/child', data: Buffer.from('x') };
  const strict = new DataTree();
  assert.throws(() => strict.restore([...entries, orphan] as never, 5), /unable to find parent/);
  const fuzzy = new DataTree();
  const dropped = fuzzy.restore([...entries, orphan, { ...orphan, path: '/gone/child/grandchild' }] as never, 5, { dropOrphans: true });
  assert.deepEqual(dropped.sort(), ['/gone/child', '/gone/child/grandchild']);
  assert.equal(fuzzy.getNode('/gone/child'), undefined);
  assert.equal(fuzzy.nodeCount(), tree.nodeCount());
  assert.equal(fuzzy.treeDigest(), fuzzy.treeDigestFromScratch());
});
