// Durability through real processes: what a client was told is written survives SIGTERM and
// SIGKILL restarts; sessions survive too (their ephemerals stay until the session reconnects or
// expires); ZooKeeper's own TxnLogToolkit reads our log; torn tails are cut, corruption and
// unusable directories stop startup with a clear message; cleanup purges only what is not
// needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { listLogFiles } from '../../src/persistence/txn-log';
import { encodeTxnRecord, scanLog } from '../../src/persistence/txn-log-format';
import { OpCode } from '../../src/protocol/constants';
import { fourLetter, runCommand } from '../helpers/servers';
import {
  ACL,
  CreateMode,
  Id,
  makeDataDir,
  Permission,
  RawSession,
  requireJava,
  runCli,
  runJava,
  sleep,
  spawnOurs,
  startServer,
  Zk,
  dumpTree,
} from './harness';

function zxidOf(srvr: string): number {
  const m = /Zxid: 0x([0-9a-f]+)/.exec(srvr);
  assert.ok(m, `no Zxid in ${srvr}`);
  return Number.parseInt(m[1]!, 16);
}

test('acknowledged writes, ACLs, sessions and ephemerals survive SIGKILL and SIGTERM restarts', { timeout: 90_000 }, async (t) => {
  // The txn log in its own dataLogDir, as production setups put it on its own disk.
  const d = await makeDataDir(t, {}, true);
  let server = await startServer(t, d);
  const a = await Zk.connect(d.port, { sessionTimeoutMs: 8000 });
  t.after(() => a.close());
  await a.create('/app', 'root');
  await a.create('/app/x', 'one');
  await a.set('/app/x', 'two');
  const seq = await a.create('/app/seq-', 's', CreateMode.PERSISTENT_SEQUENTIAL);
  await a.create('/app/secret', 'hidden', CreateMode.PERSISTENT, [new ACL(Permission.READ, new Id('world', 'anyone'))]);
  await a.createAll([
    ['/app/m1', 'multi-1'],
    ['/app/m2', 'multi-2'],
  ]);
  await a.create('/eph-a', 'a', CreateMode.EPHEMERAL);
  // A session whose client vanishes without closing it: its ephemeral must outlive the restart
  // and go when the session expires (timeout 2000 ms, restarted at load).
  const b = await RawSession.open(d.port, 2000);
  assert.equal(await b.create('/eph-b', 'b', true), 0);
  b.vanish();
  const before = await dumpTree(a, '/app');
  const zxidBefore = zxidOf(await fourLetter(d.port, 'srvr'));

  let reconnected = a.nextConnected(20_000);
  await server.kill();
  server = await startServer(t, d);
  assert.match(server.output(), /loaded the snapshot store/);
  await reconnected; // the client reconnects to the same session
  assert.deepEqual(await dumpTree(a, '/app'), before);
  assert.equal(zxidOf(await fourLetter(d.port, 'srvr')), zxidBefore);
  assert.ok(await a.exists('/eph-a'), 'ephemeral of the reconnected session is there');
  assert.ok(await a.exists('/eph-b'), 'ephemeral of the vanished session is still there right after restart');
  assert.deepEqual(await a.acl('/app/secret'), ['world:anyone:1']);
  assert.equal(seq, '/app/seq-0000000001');
  // The next sequential number continues from the parent's cversion, which was persisted.
  assert.equal(await a.create('/app/seq-', 's', CreateMode.PERSISTENT_SEQUENTIAL), '/app/seq-0000000005');
  // The vanished session expires after its timeout, counted from the restart.
  const deadline = Date.now() + 8000;
  while ((await a.exists('/eph-b')) && Date.now() < deadline) await sleep(100);
  assert.equal(await a.exists('/eph-b'), false, 'the vanished session expired and took its ephemeral');
  const dump = await fourLetter(d.port, 'dump');
  assert.match(dump, /\/eph-a/);

  // Clean shutdown and restart: the same state, and new writes get later zxids.
  const afterKill = await dumpTree(a, '/app');
  reconnected = a.nextConnected(20_000);
  await server.stop();
  assert.equal((await server.exited).code, 0);
  server = await startServer(t, d);
  await reconnected;
  assert.deepEqual(await dumpTree(a, '/app'), afterKill);
  const z1 = zxidOf(await fourLetter(d.port, 'srvr'));
  await a.create('/app/later', 'l');
  assert.ok(zxidOf(await fourLetter(d.port, 'srvr')) > z1);

  // Closing the session removes its ephemeral, and that too is durable.
  a.close();
  const c = await Zk.connect(d.port);
  t.after(() => c.close());
  const gone = Date.now() + 5000;
  while ((await c.exists('/eph-a')) && Date.now() < gone) await sleep(50);
  assert.equal(await c.exists('/eph-a'), false);
  await server.kill();
  assert.ok(listLogFiles(path.join(d.dir, 'txnlog', 'version-2')).length > 0, 'the log is in dataLogDir');
  assert.equal(listLogFiles(path.join(d.dataDir, 'version-2')).length, 0, 'and not in dataDir');
  server = await startServer(t, d);
  const c2 = await Zk.connect(d.port);
  t.after(() => c2.close());
  assert.equal(await c2.exists('/eph-a'), false);
  assert.equal((await c2.get('/app/later'))?.toString(), 'l');
  await server.stop();
});

test("Apache ZooKeeper's TxnLogToolkit reads our txn log", { timeout: 60_000 }, async (t) => {
  if (!requireJava(t)) return;
  const d = await makeDataDir(t);
  const server = await startServer(t, d);
  const zk = await Zk.connect(d.port);
  await zk.create('/toolkit', 'hello');
  await zk.set('/toolkit', 'world');
  await zk.createAll([['/toolkit/m', 'in-multi']]);
  zk.close();
  await sleep(200);
  await server.stop();
  const logDir = path.join(d.dataDir, 'version-2');
  const files = listLogFiles(logDir);
  assert.equal(files.length, 1);
  const r = await runJava('org.apache.zookeeper.server.persistence.TxnLogToolkit', ['-d', path.join(logDir, files[0]!.name)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ZooKeeper Transactional Log File with dbid 0 txnlog format version 2/);
  assert.match(r.stdout, /zxid 0x1 createSession 4000/);
  assert.match(r.stdout, /zxid 0x2 create \/toolkit,hello,\[31,s\{'world,'anyone\}\s*\],false,1/);
  assert.match(r.stdout, /zxid 0x3 setData \/toolkit,world,1/);
  assert.match(r.stdout, /zxid 0x4 multi create:[^\n]*\n\/toolkit\/m[^\n]*in-multi/);
  assert.match(r.stdout, /zxid 0x5 closeSession/);
  assert.match(r.stdout, /EOF reached after 5 txns\./);
});

test('a torn tail is cut off with a warning; corruption before the tail stops startup naming file and offset', { timeout: 60_000 }, async (t) => {
  const d = await makeDataDir(t);
  let server = await startServer(t, d);
  let zk = await Zk.connect(d.port);
  for (let i = 0; i < 20; i++) await zk.create(`/n${i}`, `v${i}`);
  zk.close();
  await sleep(200);
  await server.kill();
  const logDir = path.join(d.dataDir, 'version-2');
  const file = path.join(logDir, listLogFiles(logDir).at(-1)!.name);
  // Simulate a crash in the middle of writing one more record: its first half is on disk.
  const buf = fs.readFileSync(file);
  const end = scanLog(buf, 0, () => undefined).goodEnd;
  const extra = encodeTxnRecord({
    hdr: { clientId: 1n, cxid: 99, zxid: 1000, time: 0, type: OpCode.create },
    body: { type: OpCode.create, record: { path: '/torn', data: Buffer.from('never acknowledged'), acl: [], ephemeral: false, parentCVersion: 0 } },
  });
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, extra, 0, Math.floor(extra.length / 2), end);
  fs.closeSync(fd);
  server = await startServer(t, d);
  assert.match(server.output(), /truncating a torn write at the end of the txn log/);
  zk = await Zk.connect(d.port);
  for (let i = 0; i < 20; i++) assert.equal((await zk.get(`/n${i}`))?.toString(), `v${i}`);
  assert.equal(await zk.exists('/torn'), false);
  await zk.create('/after', 'ok');
  zk.close();
  await sleep(200);
  await server.kill();

  // Flip a byte inside the first record of the newest log (the one restart replays from):
  // intact records follow it, so this is not a torn write.
  const logs = listLogFiles(logDir);
  assert.ok(logs.length >= 2, 'the restart after the torn write started a new log file');
  const first = path.join(logDir, logs.at(-1)!.name);
  const fd2 = fs.openSync(first, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd2, b, 0, 1, 16 + 12 + 10);
  b[0] = b[0]! ^ 0xff;
  fs.writeSync(fd2, b, 0, 1, 16 + 12 + 10);
  fs.closeSync(fd2);
  const v = await runCli(['verify-log', first]);
  assert.equal(v.code, 1);
  assert.match(v.stdout, /CORRUPT \(intact records follow\) at offset 16: CRC check failed/);
  const p = spawnOurs(['start-foreground', d.cfgPath]);
  t.after(() => p.kill());
  const { code } = await p.exited;
  assert.equal(code, 3);
  assert.match(p.output(), new RegExp(`txn log ${first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt at offset 16 \\(CRC check failed\\)`));
});

test('a dataDir that cannot be created, or is read-only, is a clear startup error', { timeout: 30_000 }, async (t) => {
  const d = await makeDataDir(t);
  const blocker = path.join(d.dir, 'not-a-dir');
  fs.writeFileSync(blocker, 'x');
  const setDataDir = (dir: string) => fs.writeFileSync(d.cfgPath, fs.readFileSync(d.cfgPath, 'utf8').replace(/^dataDir=.*$/m, `dataDir=${dir}`));
  setDataDir(`${blocker}/data`);
  let p = spawnOurs(['start-foreground', d.cfgPath]);
  assert.equal((await p.exited).code, 3);
  assert.match(p.output(), new RegExp(`cannot create dataDir ${blocker}/data`));

  // Read-only: permissions do not stop root, so use a read-only mount when we may mount.
  const ro = `${d.dir}-ro`;
  fs.mkdirSync(ro);
  const m = await runCommand('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { timeoutMs: 10_000 });
  if (m.code !== 0) {
    fs.rmdirSync(ro);
    console.log(`# read-only dataDir not tested: cannot mount here (${(m.stderr || m.stdout).trim()})`);
    return;
  }
  t.after(async () => {
    await runCommand('umount', ['-l', ro], { timeoutMs: 10_000 });
    fs.rmSync(ro, { recursive: true, force: true });
  });
  setDataDir(ro);
  p = spawnOurs(['start-foreground', d.cfgPath]);
  assert.equal((await p.exited).code, 3);
  assert.match(p.output(), new RegExp(`dataDir ${ro} is not writable: EROFS`));
});

test('cleanup and autopurge delete old logs but never one still needed', { timeout: 60_000 }, async (t) => {
  // snapCount 20: a new log file every 11 to 20 txns.
  const d = await makeDataDir(t, { snapCount: '20', preAllocSize: '64' });
  let server = await startServer(t, d);
  let zk = await Zk.connect(d.port);
  for (let i = 0; i < 150; i++) await zk.create(`/p${i}`, `v${i}`);
  zk.close();
  await sleep(300);
  await server.stop();
  const logDir = path.join(d.dataDir, 'version-2');
  const before = listLogFiles(logDir);
  assert.ok(before.length >= 8, `expected several log files, got ${before.length}`);
  const r = await runCli(['cleanup', d.cfgPath, '-n', '3']);
  assert.equal(r.code, 0, r.stderr);
  const after = listLogFiles(logDir);
  // The store is at the last zxid, in the newest file: that file and two before it stay.
  assert.deepEqual(
    after.map((f) => f.name),
    before.slice(-3).map((f) => f.name),
  );
  assert.match(r.stdout, new RegExp(`Removing file: .*${before[0]!.name}`));
  assert.equal((await runCli(['cleanup', d.cfgPath, '-n', '2'])).code, 2);

  server = await startServer(t, d);
  zk = await Zk.connect(d.port);
  for (let i = 0; i < 150; i++) assert.equal((await zk.get(`/p${i}`))?.toString(), `v${i}`);
  for (let i = 150; i < 200; i++) await zk.create(`/p${i}`, `v${i}`);
  zk.close();
  await sleep(300);
  await server.stop();
  // Autopurge runs once at startup and then every purgeInterval hours.
  fs.appendFileSync(d.cfgPath, 'autopurge.purgeInterval=1\nautopurge.snapRetainCount=3\n');
  const many = listLogFiles(logDir).length;
  server = await startServer(t, d);
  const deadline = Date.now() + 5000;
  while (!server.output().includes('Purge task completed.') && Date.now() < deadline) await sleep(50);
  assert.match(server.output(), /Purge task completed\./);
  assert.equal(listLogFiles(logDir).length, 3, `autopurge left ${listLogFiles(logDir).length} of ${many} files`);
  zk = await Zk.connect(d.port);
  for (let i = 0; i < 200; i++) assert.equal((await zk.get(`/p${i}`))?.toString(), `v${i}`);
  zk.close();
  await server.stop();
});
