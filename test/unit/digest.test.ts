// The tree digest (Apache ZooKeeper's DigestCalculator + AdHash) kept incrementally by the
// DataTree: after every kind of change it must equal the digest computed from scratch, and a
// straightforward BigInt transcription of DigestCalculator.calculateDigest. Also the digest log
// (every 128 zxids, at most 1024 entries), digest.enabled=false, the check of a fuzzy
// snapshot's digest, the per-namespace statistics sink, and ConcurrentHashMap key order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { ADVANCED_SUMMARY_SETS, BASIC_SUMMARY_SETS } from '../../src/admin/metric-catalog';
import { OpCode } from '../../src/protocol/constants';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/acl';
import { DataTree, persistedStatOf, topNamespace, type RestoredNode } from '../../src/tree/data-tree';
import { AdHash, DIGEST_LOG_INTERVAL, DIGEST_LOG_LIMIT } from '../../src/tree/digest';
import { javaConcurrentHashMapOrder } from '../../src/tree/java-hash-order';
import type { Txn, TxnBody } from '../../src/tree/txn';

/** DigestCalculator.calculateDigest, transcribed literally (BigInt longs, a fresh buffer). */
function referenceNodeDigest(path: string, data: Buffer | null, n: RestoredNode | ReturnType<DataTree['getNode']> & object): bigint {
  if (path.startsWith('/zookeeper/')) return 0n;
  const p = path === '/' ? '' : path;
  const b = Buffer.alloc(60);
  b.writeBigInt64BE(BigInt(n.czxid), 0);
  b.writeBigInt64BE(BigInt(n.mzxid), 8);
  b.writeBigInt64BE(BigInt(n.pzxid), 16);
  b.writeBigInt64BE(BigInt(n.ctime), 24);
  b.writeBigInt64BE(BigInt(n.mtime), 32);
  b.writeInt32BE(n.version, 40);
  b.writeInt32BE(n.cversion, 44);
  b.writeInt32BE(n.aversion, 48);
  b.writeBigInt64BE(BigInt.asIntN(64, n.ephemeralOwner), 52);
  let crc = zlib.crc32(Buffer.from(p, 'utf8'));
  if (data !== null) crc = zlib.crc32(data, crc);
  return BigInt(zlib.crc32(b, crc));
}

function referenceTreeDigest(tree: DataTree): bigint {
  let sum = 0n;
  for (const [p, n] of tree.allNodes()) sum += referenceNodeDigest(p, n.data, n);
  return BigInt.asIntN(64, sum);
}

/** A small deterministic PRNG (LCG), so a failure replays the same sequence. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SESSION = 0x1000000000000042n;

function txn(zxid: number, body: TxnBody, clientId = SESSION): Txn {
  // Times near today's epoch milliseconds: the long fields take their high words too.
  return { hdr: { clientId, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid, type: body.type }, body };
}

function createBody(path: string, data: Buffer | null, ephemeral = false, parentCVersion = -1): TxnBody {
  return { type: OpCode.create, record: { path, data, acl: OPEN_ACL_UNSAFE, ephemeral, parentCVersion } };
}

test('digest: the incremental digest equals the from-scratch one and DigestCalculator after every kind of change', () => {
  const t = new DataTree();
  const rnd = prng(12345);
  const check = (what: string): void => {
    const inc = t.treeDigest();
    assert.equal(inc, t.treeDigestFromScratch(), `${what}: incremental vs from scratch`);
    assert.equal(inc, referenceTreeDigest(t), `${what}: incremental vs DigestCalculator`);
  };
  check('fresh tree');
  let zxid = 0;
  const live: string[] = [];
  const apply = (body: TxnBody, what: string, clientId?: bigint): void => {
    t.processTxn(txn(++zxid, body, clientId));
    check(`${what} at zxid ${zxid}`);
  };
  apply(createBody('/app', Buffer.from('root of the app')), 'create');
  live.push('/app');
  // Bounded: 600 random operations.
  for (let i = 0; i < 600; i++) {
    const r = rnd();
    const target = live[Math.floor(rnd() * live.length)]!;
    if (r < 0.35 || live.length < 3) {
      const p = `${target}/n${i}`;
      const size = Math.floor(rnd() * 40);
      apply(createBody(p, size === 0 ? null : Buffer.alloc(size, i & 0xff), rnd() < 0.2), 'create');
      if (t.getNode(p) !== undefined && t.getNode(p)!.ephemeralOwner === 0n) live.push(p);
    } else if (r < 0.5) {
      const victim = live[live.length - 1]!;
      if (victim !== '/app' && (t.getNode(victim)?.children?.size ?? 0) === 0) {
        apply({ type: OpCode.delete, record: { path: victim } }, 'delete');
        live.pop();
      }
    } else if (r < 0.7) {
      apply({ type: OpCode.setData, record: { path: target, data: rnd() < 0.1 ? null : Buffer.from(`v${i}`), version: i } }, 'setData');
    } else if (r < 0.78) {
      apply({ type: OpCode.setACL, record: { path: target, acl: rnd() < 0.5 ? READ_ACL_UNSAFE : OPEN_ACL_UNSAFE, version: i } }, 'setACL');
    } else if (r < 0.84) {
      // A multi, sometimes failing (then nothing changes but the zxid).
      const fail = rnd() < 0.3;
      apply(
        {
          type: OpCode.multi,
          record: {
            txns: [
              createBody(`${target}/m${i}`, Buffer.from('m')),
              { type: OpCode.setData, record: { path: target, data: Buffer.from('by multi'), version: i + 1 } },
              ...(fail ? [{ type: OpCode.error, record: { err: -101 } } as TxnBody] : []),
            ],
          },
        },
        'multi',
      );
    } else if (r < 0.88) {
      // Replaying a create whose node exists (fuzzy snapshot): only the parent's cversion/pzxid move.
      apply(createBody(target === '/app' ? '/app' : target, Buffer.from('x'), false, 10_000 + i), 'replayed create');
    } else if (r < 0.91) {
      apply({ type: OpCode.setData, record: { path: '/', data: Buffer.from(`root ${i}`), version: i } }, 'setData on the root');
    } else if (r < 0.94) {
      apply({ type: OpCode.createContainer, record: { path: `${target}/c${i}`, data: Buffer.from('c'), acl: OPEN_ACL_UNSAFE, parentCVersion: -1 } }, 'container');
    } else if (r < 0.97) {
      apply({ type: OpCode.closeSession, record: null }, 'closeSession');
    } else {
      apply({ type: OpCode.error, record: { err: -110 } }, 'error txn');
    }
  }
  // Quotas live below /zookeeper/, which the digest leaves out; their stat nodes change with every write below /app.
  apply(createBody('/zookeeper/quota/app', null), 'quota dir');
  apply(createBody('/zookeeper/quota/app/zookeeper_limits', Buffer.from('count=1000,bytes=-1')), 'quota limit');
  apply(createBody('/zookeeper/quota/app/zookeeper_stats', Buffer.from('count=0,bytes=0')), 'quota stats');
  apply(createBody('/app/under-quota', Buffer.from('q')), 'create under quota');
  apply(createBody('/\u00e9t\u00e9', Buffer.from('utf-8 path')), 'non-ASCII path');
  apply(createBody('/big', Buffer.alloc(5000, 7)), 'data long enough for the native CRC');
  apply(createBody('/neg-owner', Buffer.from('e'), true), 'an owner with the top bit set', -0x0100000000000001n);
  apply({ type: OpCode.setData, record: { path: '/big', data: Buffer.alloc(511, 9), version: -2 } }, 'negative version, 511 bytes');
  assert.notEqual(t.treeDigest(), 0n);
  t.killSession(SESSION, zxid);
  check('killSession at load');

  // A tree restored from the nodes of this one has the same digest.
  const nodes: RestoredNode[] = [...t.allNodes()].map(([path, n]) => ({
    path,
    data: n.data,
    acl: t.aclOf(n),
    ...persistedStatOf(n),
  }));
  const restored = new DataTree();
  restored.restore(nodes, zxid);
  assert.equal(restored.treeDigest(), t.treeDigest(), 'restore');
});

test('digest: AdHash keeps the exact sum modulo 2^64 across its folds', () => {
  const h = new AdHash();
  let ref = 0n;
  const rnd = prng(7);
  // Bounded: 3 million additions (past several folds at 2^52) and some removals.
  for (let i = 0; i < 3_000_000; i++) {
    const d = (rnd() * 2 ** 32) | 0;
    if (i % 5 === 4) {
      h.remove(d);
      ref -= BigInt(d >>> 0);
    } else {
      h.add(d);
      ref += BigInt(d >>> 0);
    }
  }
  assert.equal(h.value(), BigInt.asIntN(64, ref));
});

test('digest log: one entry per 128 zxids, the newest 1024 kept; killSession at load logs nothing', () => {
  const t = new DataTree();
  const total = (DIGEST_LOG_LIMIT + 3) * DIGEST_LOG_INTERVAL + 5;
  for (let z = 1; z <= total; z++) t.processTxn(txn(z, z === 200 ? createBody('/x', Buffer.from('x')) : { type: OpCode.error, record: { err: -101 } }));
  const log = t.digestLog();
  assert.equal(log.length, DIGEST_LOG_LIMIT);
  assert.equal(log[0]!.zxid, 4 * DIGEST_LOG_INTERVAL, 'the oldest three were dropped');
  assert.equal(log[log.length - 1]!.zxid, (DIGEST_LOG_LIMIT + 3) * DIGEST_LOG_INTERVAL);
  assert.ok(log.every((d) => d.digestVersion === 2 && d.digest === t.treeDigest()));
  // A multi is one entry, logged after the whole txn.
  const m = new DataTree();
  for (let z = 1; z < 128; z++) m.processTxn(txn(z, { type: OpCode.error, record: { err: -101 } }));
  m.processTxn(txn(128, { type: OpCode.multi, record: { txns: [createBody('/a', null), createBody('/b', null, true)] } }));
  assert.deepEqual(m.digestLog().map((d) => d.zxid), [128]);
  assert.equal(m.digestLog()[0]!.digest, m.treeDigestFromScratch());
  // Removing a dead session's ephemerals at load is no txn: no second entry for zxid 128.
  m.killSession(SESSION, m.lastProcessedZxid);
  assert.equal(m.getNode('/b'), undefined);
  assert.deepEqual(m.digestLog().map((d) => d.zxid), [128]);
  assert.equal(m.treeDigest(), m.treeDigestFromScratch());
});

test('digest.enabled=false: no digest is kept; the log still has its entries, with 0', () => {
  const t = new DataTree({ digestEnabled: false });
  for (let z = 1; z <= 300; z++) t.processTxn(txn(z, createBody(`/n${z}`, Buffer.from('x'))));
  assert.equal(t.treeDigest(), 0n);
  assert.equal(t.treeDigestFromScratch(), 0n);
  assert.deepEqual(
    t.digestLog().map((d) => [d.zxid, d.digest]),
    [
      [128, 0n],
      [256, 0n],
    ],
  );
  assert.equal(t.getNode('/n1')!.digest, 0);
});

test('snapshot digest: checked at once, or when replay reaches a fuzzy snapshot\u2019s zxid; no log entry meanwhile', () => {
  // The digest of the tree after zxids 1..130, as a snapshot taken during 1..128 would record it.
  const full = new DataTree();
  for (let z = 1; z <= 130; z++) full.processTxn(txn(z, createBody(`/n${z}`, null)));
  const target = full.treeDigest();

  const seen: [number, bigint, bigint | null][] = [];
  const seenCount = (): number => seen.length;
  const t = new DataTree();
  t.onSnapshotDigestCompared = (zxid, expected, actual) => seen.push([zxid, expected, actual]);
  for (let z = 1; z <= 120; z++) t.processTxn(txn(z, createBody(`/n${z}`, null)));
  t.setSnapshotDigest({ zxid: 130, digestVersion: 2, digest: target }, 120);
  assert.equal(seenCount(), 0);
  for (let z = 121; z <= 140; z++) t.processTxn(txn(z, createBody(`/n${z}`, null)));
  assert.deepEqual(seen, [[130, target, target]]);
  assert.equal(t.pendingSnapshotDigest(), null);
  // Fuzzy until 130: the entry for 128 was not logged.
  assert.deepEqual(t.digestLog(), []);

  // A digest at the snapshot's own zxid is compared at once; an older one is ignored.
  const u = new DataTree();
  u.onSnapshotDigestCompared = (zxid, expected, actual) => seen.push([zxid, expected, actual]);
  u.setSnapshotDigest({ zxid: 5, digestVersion: 2, digest: 99n }, 5);
  assert.deepEqual(seen[1], [5, 99n, u.treeDigest()]);
  u.setSnapshotDigest({ zxid: 4, digestVersion: 2, digest: 99n }, 5);
  assert.equal(u.pendingSnapshotDigest(), null);
  // Replay that skips past the digest's zxid reports it missing once and stays fuzzy, as ZooKeeper does.
  u.setSnapshotDigest({ zxid: 7, digestVersion: 2, digest: 1n }, 5);
  u.processTxn(txn(128, createBody('/late', null)));
  u.processTxn(txn(129, createBody('/later', null)));
  assert.deepEqual(seen.slice(2), [[7, 1n, null]]);
  assert.deepEqual(u.digestLog(), []);
});

test('per-namespace statistics: reads and writes by top-level path component, with ZooKeeper\u2019s byte counts', () => {
  const t = new DataTree();
  const events: string[] = [];
  t.namespaceStats = {
    read: (ns, bytes) => events.push(`read ${ns} ${bytes}`),
    write: (ns, bytes) => events.push(`write ${ns} ${bytes}`),
  };
  t.processTxn(txn(1, createBody('/app', Buffer.from('12345'))));
  t.processTxn(txn(2, createBody('/app/child', null)));
  t.processTxn(txn(3, { type: OpCode.setData, record: { path: '/app', data: Buffer.from('123'), version: 1 } }));
  t.getData('/app', null);
  t.statNode('/app/child', null);
  t.getChildren('/app', null);
  t.getData('/', null);
  t.getData('', null);
  assert.throws(() => t.statNode('/nothing', null));
  t.processTxn(txn(4, { type: OpCode.delete, record: { path: '/app/child' } }));
  t.processTxn(txn(5, { type: OpCode.setACL, record: { path: '/app', acl: READ_ACL_UNSAFE, version: 1 } }));
  assert.deepEqual(events, [
    'write app 9', // path 4 + data 5
    'write app 10', // path 10 + no data
    'write app 7', // path 4 + new data 3
    'read app 75', // path 4 + data 3 + STAT_OVERHEAD_BYTES 68
    'read app 78', // path 10 + 68
    'read app 77', // path 4 + the child names' lengths (5) + 68
    'write app 10', // delete: path only; setACL and reads of the root count nothing
  ]);
  assert.equal(topNamespace('/'), null);
  assert.equal(topNamespace(''), null);
  assert.equal(topNamespace('/a'), 'a');
  assert.equal(topNamespace('/a/b/c'), 'a');
});

test('ConcurrentHashMap order: buckets, insertion order, and the reversal a resize makes', () => {
  // Expected orders printed by Java 17's ConcurrentHashMap (computeIfAbsent per key, keySet()).
  assert.deepEqual(javaConcurrentHashMapOrder(['a', 'e']), ['a', 'e']);
  assert.deepEqual(javaConcurrentHashMapOrder(['zookeeper', 'app', 'd', 'eph', 'm']), JAVA_SMALL);
  assert.deepEqual(javaConcurrentHashMapOrder(LARGE_KEYS), JAVA_LARGE);
  // The metric catalog lists the summary sets in the order ServerMetrics registers them, as Java iterates them.
  assert.deepEqual(javaConcurrentHashMapOrder(['write_per_namespace', 'read_per_namespace', 'learner_handler_qp_size']), [...BASIC_SUMMARY_SETS]);
  assert.deepEqual(javaConcurrentHashMapOrder(['learner_handler_qp_time_ms', 'ack_latency']), [...ADVANCED_SUMMARY_SETS]);
});

const JAVA_SMALL = ['app', 'zookeeper', 'd', 'eph', 'm'];
/** 30 keys: the table grows from 16 to 32 (at 12 keys) and to 64 (at 24). */
const LARGE_KEYS = Array.from({ length: 30 }, (_, i) => `ns${i}`);
const JAVA_LARGE = 'ns0,ns2,ns1,ns4,ns3,ns6,ns5,ns8,ns7,ns13,ns12,ns9,ns11,ns10,ns17,ns16,ns15,ns14,ns19,ns18,ns20,ns24,ns23,ns22,ns21,ns28,ns27,ns26,ns25,ns29'.split(',');
