// Moving data between Apache ZooKeeper 3.8 and our server, both ways, against the Debian
// server: our exported snapshot is read by ZooKeeper's SnapshotFormatter and served by
// ZooKeeper itself (digest included); a ZooKeeper data directory (snapshots and logs written
// by ZooKeeper, with txn digests) is imported on our first start with every znode, ACL,
// session and the last zxid.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { replayLogs } from '../../src/persistence/database';
import { readZkSnapshotFile } from '../../src/persistence/zk-snapshot';
import { DataTree } from '../../src/tree/data-tree';
import { fourLetter } from '../helpers/servers';
import {
  ACL,
  CreateMode,
  dumpTree,
  Id,
  makeDataDir,
  Permission,
  RawSession,
  requireJava,
  runCli,
  runJava,
  sleep,
  startJava,
  startServer,
  Zk,
  type DataDir,
} from './harness';

const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/**
 * Checks the digest every ZooKeeper snapshot in `dir` recorded against the tree we rebuild from
 * it (plus the logged txns up to the digest's zxid, for a fuzzy snapshot). Returns how many
 * matched. A snapshot whose nodes already hold a change made after the digest's zxid (ZooKeeper
 * wrote them while applying that txn) cannot match, in ZooKeeper either: it is only counted.
 */
function checkSnapshotDigests(dir: string): { matched: number; notComparable: number } {
  let matched = 0;
  let notComparable = 0;
  for (const name of fs.readdirSync(dir).filter((n) => /^snapshot\.[0-9a-f]+$/.test(n))) {
    const snap = readZkSnapshotFile(path.join(dir, name));
    if (snap.digest === null) continue;
    const tree = new DataTree();
    tree.restore(snap.nodes, snap.zxid);
    const seen: [number, bigint, bigint | null][] = [];
    tree.onSnapshotDigestCompared = (z, e, a) => seen.push([z, e, a]);
    tree.setSnapshotDigest({ zxid: snap.digest.zxid, digestVersion: snap.digest.version, digest: snap.digest.value }, snap.zxid);
    replayLogs(dir, snap.zxid, tree, new Map(), quietLogger, false);
    assert.equal(seen.length, 1, `${name}: the digest of zxid 0x${snap.digest.zxid.toString(16)} was compared`);
    const [z, expected, actual] = seen[0]!;
    if (actual === expected) {
      matched++;
      continue;
    }
    const newest = Math.max(...[...tree.allNodes()].map(([, n]) => Math.max(n.czxid, n.mzxid, n.pzxid)));
    assert.ok(newest > z, `${name}: digest ${expected} recorded at 0x${z.toString(16)}, ours ${actual}`);
    notComparable++;
  }
  return { matched, notComparable };
}

function zxidOf(srvr: string): number {
  const m = /Zxid: 0x([0-9a-f]+)/.exec(srvr);
  assert.ok(m, `no Zxid in ${srvr}`);
  return Number.parseInt(m[1]!, 16);
}

/** A small but varied tree: nested nodes, null and binary data, ACLs, a multi, deletes. */
async function populate(zk: Zk): Promise<void> {
  await zk.create('/app', 'root');
  await zk.create('/app/empty', null);
  await zk.create('/app/bin', Buffer.from([0, 1, 2, 254, 255]));
  await zk.create('/app/ro', 'read only', CreateMode.PERSISTENT, [new ACL(Permission.READ, new Id('world', 'anyone'))]);
  await zk.create('/app/digest', 'd', CreateMode.PERSISTENT, [
    new ACL(Permission.ALL, new Id('digest', 'user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY=')),
    new ACL(Permission.READ, new Id('world', 'anyone')),
  ]);
  for (let i = 0; i < 30; i++) await zk.create(`/app/many-${i}`, `v${i}`);
  for (let i = 0; i < 10; i++) await zk.set(`/app/many-${i}`, `changed-${i}`);
  for (let i = 20; i < 25; i++) await new Promise<void>((r, j) => zk.client.remove(`/app/many-${i}`, -1, (e) => (e ? j(e) : r())));
  await zk.create('/app/seq-', 'q', CreateMode.PERSISTENT_SEQUENTIAL);
  await zk.createAll([
    ['/app/multi-a', 'A'],
    ['/app/multi-b', 'B'],
  ]);
}

async function aclsOf(zk: Zk, paths: string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const p of paths) out[p] = await zk.acl(p);
  return out;
}

function withDataDir(d: DataDir, dataDir: string): void {
  const cfg = fs.readFileSync(d.cfgPath, 'utf8').replace(/^dataDir=.*$/m, `dataDir=${dataDir}`);
  fs.writeFileSync(d.cfgPath, cfg);
}

test('export: SnapshotFormatter reads our snapshot and Apache ZooKeeper 3.8 serves the same tree', { timeout: 90_000 }, async (t) => {
  if (!requireJava(t)) return;
  const d = await makeDataDir(t, { snapCount: '25' });
  const ours = await startServer(t, d);
  const zk = await Zk.connect(d.port, { sessionTimeoutMs: 10_000 });
  await populate(zk);
  const raw = await RawSession.open(d.port, 10_000);
  assert.equal(await raw.create('/app/eph', 'mine', true), 0);
  const tree = await dumpTree(zk, '/app');
  const acls = await aclsOf(zk, ['/app/ro', '/app/digest', '/app/bin']);
  const zxid = zxidOf(await fourLetter(d.port, 'srvr'));
  zk.close();
  raw.vanish();
  await sleep(300);
  await ours.kill(); // the export must also work from what a crash leaves

  const outDir = path.join(d.dir, 'exported');
  const r = await runCli(['export-snapshot', d.cfgPath, '--out', outDir]);
  assert.equal(r.code, 0, r.stderr);
  // The zk client closed its session (one more txn) after the snapshot of `zxid` was read.
  const file = r.stdout.split('\n')[0]!;
  assert.match(path.basename(file), /^snapshot\.[0-9a-f]+$/);
  const fmt = await runJava('org.apache.zookeeper.server.SnapshotFormatter', ['-d', file]);
  assert.equal(fmt.code, 0, fmt.stdout + fmt.stderr);
  assert.match(fmt.stdout, /\n\/app\/many-3\n/);
  assert.match(fmt.stdout, /\n\/app\/ro\n/);
  assert.match(fmt.stdout, new RegExp(`data = ${Buffer.from('changed-3').toString('base64')}`));
  assert.match(fmt.stdout, /Session Details \(sid, timeout, ephemeralCount\):\n0x[0-9a-f]+, 10000, 1\n/);

  // Apache ZooKeeper starts from the exported directory and serves the same tree.
  withDataDir(d, path.join(outDir));
  const java = await startJava(t, d);
  const jz = await Zk.connect(d.port);
  t.after(() => jz.close());
  assert.deepEqual(await dumpTree(jz, '/app'), tree);
  assert.deepEqual(await aclsOf(jz, ['/app/ro', '/app/digest', '/app/bin']), acls);
  assert.ok(zxidOf(await fourLetter(d.port, 'srvr')) >= zxid);
  // The session of the ephemeral came along and the client can resume it on ZooKeeper.
  const resumed = await RawSession.open(d.port, 10_000, { sessionId: raw.sessionId, passwd: raw.passwd });
  assert.equal(resumed.sessionId, raw.sessionId);
  resumed.vanish();
  // ZooKeeper checked our snapshot's digest against the tree it loaded and found no mismatch.
  assert.match(java.output(), /The digest in the snapshot has digest version of 2/);
  assert.doesNotMatch(java.output(), /[Dd]igest mismatch|does not match/);
  jz.close();
  await java.stop();
});

test('import: first start on an Apache ZooKeeper 3.8 data directory loads every znode, ACL, session and the last zxid', { timeout: 90_000 }, async (t) => {
  if (!requireJava(t)) return;
  // snapCount 20: ZooKeeper takes (fuzzy) snapshots along the way and rolls its log.
  const d = await makeDataDir(t, { snapCount: '20' });
  const java = await startJava(t, d);
  const zk = await Zk.connect(d.port, { sessionTimeoutMs: 10_000 });
  await populate(zk);
  const raw = await RawSession.open(d.port, 10_000);
  assert.equal(await raw.create('/app/eph', 'theirs', true), 0);
  raw.vanish();
  const tree = await dumpTree(zk, '/app');
  const acls = await aclsOf(zk, ['/app/ro', '/app/digest', '/app/bin']);
  const zxid = zxidOf(await fourLetter(d.port, 'srvr'));
  await java.kill(); // no clean shutdown: the tail of ZooKeeper's log is what it is
  zk.close();
  const v2 = fs.readdirSync(path.join(d.dataDir, 'version-2'));
  assert.ok(v2.filter((n) => n.startsWith('snapshot.')).length >= 2, `ZooKeeper wrote snapshots: ${v2.join(' ')}`);
  assert.ok(v2.filter((n) => n.startsWith('log.')).length >= 2, `ZooKeeper rolled its log: ${v2.join(' ')}`);
  // Our digest is ZooKeeper's: every digest its snapshots recorded matches the tree we rebuild.
  const digests = checkSnapshotDigests(path.join(d.dataDir, 'version-2'));
  console.log(`# ZooKeeper snapshot digests: ${digests.matched} matched, ${digests.notComparable} not comparable (written mid-txn)`);
  assert.ok(digests.matched >= 1);

  let ours = await startServer(t, d);
  assert.match(ours.output(), /importing an Apache ZooKeeper snapshot/);
  assert.match(ours.output(), /replayed the txn log/);
  assert.doesNotMatch(ours.output(), /snapshot digest does not match/);
  assert.match(ours.output(), /snapshot digest (matches|not comparable)/);
  const oz = await Zk.connect(d.port);
  t.after(() => oz.close());
  assert.deepEqual(await dumpTree(oz, '/app'), tree);
  assert.deepEqual(await aclsOf(oz, ['/app/ro', '/app/digest', '/app/bin']), acls);
  assert.equal(zxidOf(await fourLetter(d.port, 'srvr')), zxid + 1, 'the last zxid, plus our client session');
  // ZooKeeper's session survived the move, with its password.
  const resumed = await RawSession.open(d.port, 10_000, { sessionId: raw.sessionId, passwd: raw.passwd });
  assert.equal(resumed.sessionId, raw.sessionId);
  assert.equal(await resumed.create('/app/after-import', 'x', false), 0);
  resumed.vanish();
  oz.close();
  await sleep(200);
  // From now on the LMDB store is the snapshot.
  await ours.stop();
  ours = await startServer(t, d);
  assert.match(ours.output(), /loaded the snapshot store/);
  const oz2 = await Zk.connect(d.port);
  t.after(() => oz2.close());
  assert.equal((await oz2.get('/app/after-import'))?.toString(), 'x');
  assert.equal((await oz2.get('/app/eph'))?.toString(), 'theirs');
  oz2.close();
  await ours.stop();
});
