// The txn log format and the group-commit writer, in process: checksums, record framing, the
// scan's torn-tail/corruption verdicts, preallocation and rolling, and the order and batching
// of `done` callbacks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { adler32, Adler32 } from '../../src/persistence/adler32';
import { FileTxnLog, listLogFiles, paddedSize } from '../../src/persistence/txn-log';
import { encodeTxnRecord, FILE_HEADER_BYTES, scanLog, zxidFromName } from '../../src/persistence/txn-log-format';
import { planPurge } from '../../src/persistence/purge';
import { replayLogs } from '../../src/persistence/database';
import { DataTree } from '../../src/tree/data-tree';
import { OpCode } from '../../src/protocol/constants';
import type { Txn } from '../../src/tree/txn';
import type { Logger } from '../../src/server/zookeeper-server';

const quiet: Logger & { warnings: string[] } = {
  warnings: [],
  info() {},
  debug() {},
  error() {},
  warn(o: object | string, msg?: string) {
    quiet.warnings.push(msg ?? String(o));
  },
};

function createTxn(zxid: number, p: string, data = 'x'): Txn {
  return {
    hdr: { clientId: 0x100000000000001n, cxid: zxid, zxid, time: 1700000000000 + zxid, type: OpCode.create },
    body: {
      type: OpCode.create,
      record: { path: p, data: Buffer.from(data), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], ephemeral: false, parentCVersion: zxid },
    },
  };
}

function fileOf(records: Buffer[], padTo = 0): Buffer {
  const header = Buffer.from([0x5a, 0x4b, 0x4c, 0x47, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.concat([header, ...records]);
  return padTo > body.length ? Buffer.concat([body, Buffer.alloc(padTo - body.length)]) : body;
}

async function tmpDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-log-'));
  t.after(() => fsp.rm(d, { recursive: true, force: true }));
  return d;
}

test('adler32 matches java.util.zip.Adler32 on known inputs, also when streamed', () => {
  assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
  assert.equal(adler32(Buffer.alloc(0)), 1);
  const big = Buffer.alloc(100_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  const s = new Adler32();
  s.update(big, 0, 12_345);
  s.update(big, 12_345);
  assert.equal(s.digest(), adler32(big));
});

test('adler32 is bit-exact with java.util.zip.Adler32 at block edges and worst-case bytes', () => {
  // Computed with java.util.zip.Adler32 (OpenJDK 17): buffers of 0xff (the largest sums, for
  // overflow) and of (i * 31 + 7) & 0xff, at lengths around the 8-byte groups and 3792-byte
  // blocks of our loop and zlib's 5552-byte NMAX.
  const expected: [number, number, number][] = [
    [1, 0x1000100, 0x80008],
    [15, 0x77970ef2, 0x32270721],
    [16, 0x87880ff1, 0x3a2007f9],
    [17, 0x987810f0, 0x431008f0],
    [3791, 0xe0c2c104, 0x6b8560ea],
    [3792, 0xa2d4c203, 0xcc876102],
    [3793, 0x65e5c302, 0x2dcf6139],
    [5551, 0x56039a8d, 0x5f26cd87],
    [5552, 0xf18f9b8c, 0x2cf4cdbf],
    [5553, 0x8e299c8b, 0xfb0ace16],
    [65536, 0x77970ef2, 0x7b2e8772],
    [100000, 0x149a302c, 0x76f5980f],
    [1048576, 0x8e88ef11, 0x3da87789],
  ];
  for (const [n, ff, pat] of expected) {
    const ones = Buffer.alloc(n, 0xff);
    const p = Buffer.alloc(n);
    for (let i = 0; i < n; i++) p[i] = (i * 31 + 7) & 0xff;
    assert.equal(adler32(ones), ff, `0xff x ${n}`);
    assert.equal(adler32(p), pat, `pattern x ${n}`);
    // The same sums streamed in uneven pieces, and over a range of a larger buffer.
    const s = new Adler32();
    for (let at = 0; at < n; at += 1 + (at % 13) * 977) s.update(p, at, Math.min(n, at + 1 + (at % 13) * 977));
    assert.equal(s.digest(), pat, `streamed pattern x ${n}`);
    const framed = Buffer.concat([Buffer.from([1, 2, 3]), p, Buffer.from([4])]);
    assert.equal(adler32(framed, 1, 3, 3 + n), pat, `range pattern x ${n}`);
  }
});

test('records scan back in order; a zero tail is the clean end', () => {
  const recs = [1, 2, 3].map((z) => encodeTxnRecord(createTxn(z, `/n${z}`)));
  const buf = fileOf(recs, 64 * 1024);
  const seen: number[] = [];
  const scan = scanLog(buf, 1, (t) => seen.push(t.hdr.zxid));
  assert.deepEqual(seen, [2, 3]);
  assert.equal(scan.damage, null);
  assert.equal(scan.lastZxid, 3);
  assert.equal(scan.txnCount, 3);
  assert.equal(scan.goodEnd, FILE_HEADER_BYTES + recs.reduce((a, r) => a + r.length, 0));
  assert.equal(zxidFromName('log.1f', 'log'), 0x1f);
  assert.equal(zxidFromName('snapshot.lmdb', 'snapshot'), -1);
});

test('a record cut short or half-zeroed at the end is a torn tail; damage followed by a good record is corruption', () => {
  const recs = [1, 2, 3].map((z) => encodeTxnRecord(createTxn(z, `/n${z}`, 'payload')));
  const goodEnd = FILE_HEADER_BYTES + recs[0]!.length + recs[1]!.length;
  // Torn: the third record lost its last bytes (zeros follow, as after preallocation).
  const torn = fileOf([recs[0]!, recs[1]!, recs[2]!.subarray(0, recs[2]!.length - 5)], 4096);
  let scan = scanLog(torn, 0, () => undefined);
  assert.equal(scan.damage?.offset, goodEnd);
  assert.equal(scan.damage?.followedByValid, false);
  assert.equal(scan.lastZxid, 2);
  // Garbage after the last record, without zeros: also a tail.
  scan = scanLog(fileOf([recs[0]!, recs[1]!, Buffer.from('garbage!garbage!garbage!')]), 0, () => undefined);
  assert.equal(scan.damage?.offset, goodEnd);
  assert.equal(scan.damage?.followedByValid, false);
  // A flipped byte inside the second record, with the third intact after it: corruption.
  const bad = Buffer.from(recs[1]!);
  bad[20] = bad[20]! ^ 0xff;
  scan = scanLog(fileOf([recs[0]!, bad, recs[2]!], 4096), 0, () => undefined);
  assert.equal(scan.damage?.offset, FILE_HEADER_BYTES + recs[0]!.length);
  assert.equal(scan.damage?.followedByValid, true);
  assert.match(scan.damage!.reason, /CRC/);
  // A file shorter than its header.
  assert.equal(scanLog(Buffer.alloc(7), 0, () => undefined).headerComplete, false);
});

test('preallocation grows in preAllocSize steps like FilePadding', () => {
  const M = 64 * 1024 * 1024;
  // The first record of a file is written at 16, just after the header.
  assert.equal(paddedSize(16, 16, M), 16 + M);
  assert.equal(paddedSize(1000, 16 + M, M), 16 + M);
  assert.equal(paddedSize(M - 100, 16 + M, M), 16 + 2 * M);
  assert.equal(paddedSize(3 * M + 5, M, M), 4 * M);
  assert.equal(paddedSize(100, 16, 0), 16);
});

test('group commit: done callbacks run in order, after the sync, with fewer syncs than txns; files roll', async (t) => {
  const dir = await tmpDir(t);
  const log = new FileTxnLog({
    logDir: dir,
    preAllocSizeBytes: 1024 * 1024,
    snapCount: 40,
    forceSync: true,
    fsyncWarningThresholdMs: 1000,
    logger: quiet,
    random: () => 0.5,
  });
  const order: number[] = [];
  const all: Promise<void>[] = [];
  const N = 200;
  for (let z = 1; z <= N; z++) {
    all.push(
      new Promise<void>((resolve, reject) =>
        log.append(
          createTxn(z, `/p${z}`),
          () => {
            order.push(z);
            assert.ok(log.lastDurableZxid >= z, 'done ran before its txn was durable');
            resolve();
          },
          reject,
        ),
      ),
    );
    // Let a few arrive in later turns, as client requests do.
    if (z % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(all);
  await log.close();
  assert.deepEqual(order, Array.from({ length: N }, (_, i) => i + 1));
  assert.ok(log.syncCount < N, `expected batching, got ${log.syncCount} syncs for ${N} txns`);
  const files = listLogFiles(dir);
  // snapCount 40 with random 0.5: a new file every 20 + 10 + 1 = 31 txns.
  assert.deepEqual(
    files.map((f) => f.zxid),
    [1, 32, 63, 94, 125, 156, 187],
  );
  const seen: number[] = [];
  for (const f of files) {
    const buf = fs.readFileSync(path.join(dir, f.name));
    assert.equal(buf.length, 16 + 1024 * 1024, 'files are preallocated in preAllocSize steps after the header, as ZooKeeper does');
    assert.equal(scanLog(buf, 0, (txn) => seen.push(txn.hdr.zxid)).damage, null);
  }
  assert.deepEqual(seen, order);
});

test('batch buffers taken in turns keep every record intact, across sizes that outgrow the spare', async (t) => {
  const dir = await tmpDir(t);
  const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: 1024 * 1024, snapCount: 100000, forceSync: false, fsyncWarningThresholdMs: 1000, logger: quiet });
  const expected = new Map<number, string>();
  let z = 0;
  // Waves of appends, each awaited, so that later batches reuse the buffer of an earlier one:
  // small ones, then ones larger than that buffer (a new one), then small ones again (into a
  // buffer that held larger records: stale bytes must not leak into the file).
  for (const [count, bytes] of [[5, 10], [3, 20_000], [40, 3_000], [2, 100_000], [7, 1], [1, 5], [30, 700]] as const) {
    const wave: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      z++;
      const data = String.fromCharCode(97 + (z % 26)).repeat(bytes);
      expected.set(z, data);
      wave.push(new Promise<void>((resolve, reject) => log.append(createTxn(z, `/w${z}`, data), resolve, reject)));
    }
    await Promise.all(wave);
  }
  await log.close();
  const seen = new Map<number, string>();
  for (const f of listLogFiles(dir)) {
    const buf = fs.readFileSync(path.join(dir, f.name));
    const scan = scanLog(buf, 0, (txn) => {
      assert.equal(txn.body.type, OpCode.create);
      if (txn.body.type === OpCode.create) seen.set(txn.hdr.zxid, txn.body.record.data!.toString());
    });
    assert.equal(scan.damage, null);
  }
  assert.deepEqual(seen, expected);
});

test('forceSync: zeros are written ahead of the log (blocks exist before synced writes reach them), never over a record', async (t) => {
  const dir = await tmpDir(t);
  const preAlloc = 64 * 1024 * 1024;
  // Fills after every write (not throttled), so that they keep meeting the batches.
  const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: preAlloc, snapCount: 1_000_000, forceSync: true, fsyncWarningThresholdMs: 100_000, logger: quiet, fillMinIntervalMs: 0 });
  const expected = new Map<number, string>();
  let z = 0;
  const append = (bytes: number): Promise<void> => {
    z++;
    const data = String.fromCharCode(97 + (z % 26)).repeat(bytes);
    expected.set(z, data);
    return new Promise<void>((resolve, reject) => log.append(createTxn(z, `/f${z}`, data), resolve, reject));
  };
  // Small writes first (a fill starts behind them), then waves of records of up to 3 MiB: their
  // batches reach into ranges being filled, and must wait for those fills rather than be zeroed.
  for (let i = 0; i < 20; i++) await append(4000);
  for (const bytes of [300_000, 3_000_000, 1_500_000, 2_500_000, 700_000]) {
    const wave: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) wave.push(append(bytes));
    await Promise.all(wave);
  }
  await log.close();
  const [file] = listLogFiles(dir);
  assert.ok(file !== undefined);
  const full = path.join(dir, file.name);
  const st = fs.statSync(full);
  const buf = fs.readFileSync(full);
  const seen = new Map<number, string>();
  const scan = scanLog(buf, 0, (txn) => {
    if (txn.body.type === OpCode.create) seen.set(txn.hdr.zxid, txn.body.record.data!.toString());
  });
  assert.equal(scan.damage, null);
  assert.deepEqual(seen, expected, 'every record is intact');
  assert.equal(st.size, 16 + preAlloc, 'the size is still the preallocated one, as ZooKeeper has it');
  const end = scan.goodEnd;
  assert.ok(buf.subarray(end).every((b) => b === 0), 'the tail past the records reads as zeros');
  // The preallocation itself is a hole; only written zeros give blocks beyond the records.
  assert.ok(st.blocks * 512 >= end + 1024 * 1024, `blocks for ${st.blocks * 512} bytes, records end at ${end}: nothing was filled ahead`);
});

test('a batch that reaches into a range being zero-filled waits for the fill', { timeout: 30_000 }, async (t) => {
  const dir = await tmpDir(t);
  const fills: { from: number; to: number; release: () => void }[] = [];
  const filler = {
    fill: (_file: string, from: number, to: number) => new Promise<void>((release) => fills.push({ from, to, release })),
  };
  const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: 64 * 1024 * 1024, snapCount: 1_000_000, forceSync: true, fsyncWarningThresholdMs: 1e9, logger: quiet, filler });
  const append = (zxid: number, bytes: number): Promise<void> =>
    new Promise<void>((resolve, reject) => log.append(createTxn(zxid, `/g${zxid}`, 'g'.repeat(bytes)), resolve, reject));
  // The first write starts a fill 1 MiB past where it ends; the fill is held.
  await append(1, 1000);
  assert.equal(fills.length, 1, 'a fill started after the first write');
  const f = fills[0]!;
  assert.ok(f.from >= 1024 * 1024 && f.to > f.from, `fill range ${f.from}..${f.to}`);
  // A record that stays below the fill is written at once.
  await append(2, 10_000);
  // One that reaches into the fill's range must wait for it.
  let done = false;
  const big = append(3, 2 * 1024 * 1024).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(done, false, 'the batch was written into a range while zeros were being written there');
  f.release();
  await big;
  await log.close();
});

test('forceSync=no skips the sync but still writes; a slow sync is reported; every sync is timed', async (t) => {
  const dir = await tmpDir(t);
  const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: 65536, snapCount: 100000, forceSync: false, fsyncWarningThresholdMs: 0, logger: quiet });
  let slow = 0;
  const syncTimes: number[] = [];
  log.onSlowSync = () => slow++;
  log.onSync = (ms) => syncTimes.push(ms);
  await new Promise<void>((resolve, reject) => log.append(createTxn(1, '/a'), resolve, reject));
  assert.equal(log.syncCount, 0);
  assert.equal(syncTimes.length, 0, 'no sync, no fsynctime sample (FileTxnLog.commit without forceSync)');
  await log.close();
  const synced = new FileTxnLog({ logDir: dir + '/s', preAllocSizeBytes: 65536, snapCount: 100000, forceSync: true, fsyncWarningThresholdMs: -1, logger: quiet });
  fs.mkdirSync(dir + '/s');
  synced.onSlowSync = () => slow++;
  synced.onSync = (ms) => syncTimes.push(ms);
  await new Promise<void>((resolve, reject) => synced.append(createTxn(1, '/a'), resolve, reject));
  await new Promise<void>((resolve, reject) => synced.append(createTxn(2, '/b'), resolve, reject));
  await synced.close();
  assert.equal(slow, 2, 'a sync above the threshold (-1 ms) is counted');
  assert.equal(syncTimes.length, 2, 'one fsynctime sample per sync');
  assert.ok(syncTimes.every((ms) => ms >= 0 && Number.isFinite(ms)));
  assert.ok(quiet.warnings.some((w) => w.includes('fsync-ing the write ahead log')));
  const files = listLogFiles(dir);
  assert.equal(files.length, 1);
  assert.equal(scanLog(fs.readFileSync(path.join(dir, files[0]!.name)), 0, () => undefined).lastZxid, 1);
});

test('a write error fails every pending txn and later appends', async (t) => {
  const dir = await tmpDir(t);
  const gone = path.join(dir, 'missing');
  const log = new FileTxnLog({ logDir: gone, preAllocSizeBytes: 65536, snapCount: 100, forceSync: true, fsyncWarningThresholdMs: 1000, logger: quiet });
  let fatal: Error | null = null;
  log.onFatal = (e) => (fatal = e);
  const results = await Promise.all(
    [1, 2].map((z) => new Promise<string>((resolve) => log.append(createTxn(z, '/a'), () => resolve('done'), (e) => resolve(`failed: ${e.message}`)))),
  );
  assert.match(results[0]!, /failed: ENOENT/);
  assert.match(results[1]!, /failed: ENOENT/);
  assert.ok(fatal !== null);
  const later = await new Promise<string>((resolve) => log.append(createTxn(3, '/a'), () => resolve('done'), () => resolve('failed')));
  assert.equal(later, 'failed');
});

test('purge keeps every log the store still needs and retainCount-1 before it', () => {
  const logs = [1, 100, 200, 300, 400, 500].map((z) => ({ name: `log.${z.toString(16)}`, zxid: z }));
  // The store is at 350: log.12c (300) holds 301.. and must stay; two older ones stay too.
  let plan = planPurge(logs, [], 350, 3);
  assert.deepEqual(plan.deleteLogs, ['log.1']);
  // The store is behind every log: keep them all.
  plan = planPurge(logs, [], 0, 3);
  assert.deepEqual(plan.deleteLogs, []);
  // Exported ZooKeeper snapshots: keep the newest 3 and the logs from the oldest kept one.
  const snaps = [50, 150, 250, 450].map((z) => ({ name: `snapshot.${z.toString(16)}`, zxid: z }));
  plan = planPurge(logs, snaps, 500, 3);
  assert.deepEqual(plan.deleteSnapshots, ['snapshot.32']);
  assert.deepEqual(plan.deleteLogs, ['log.1']);
  assert.throws(() => planPurge(logs, [], 1, 2));
});

test('recovery removes a newest log that holds nothing good, so the next file can take its name', async (t) => {
  const dir = await tmpDir(t);
  const recs = [1, 2, 3].map((z) => encodeTxnRecord(createTxn(z, `/n${z}`)));
  fs.writeFileSync(path.join(dir, 'log.1'), fileOf(recs, 4096));
  // log.4: the header and half of txn 4, as a crash in the first batch of a new file leaves it.
  const torn = encodeTxnRecord(createTxn(4, '/n4'));
  fs.writeFileSync(path.join(dir, 'log.4'), fileOf([torn.subarray(0, 20)], 4096));
  // log.5 would not exist in practice; a header-only newest file is also removed.
  const tree = new DataTree();
  const sessions = new Map<bigint, number>();
  const r = replayLogs(dir, 0, tree, sessions, quiet);
  assert.equal(r.lastZxid, 3);
  assert.equal(r.applied, 3);
  assert.deepEqual(listLogFiles(dir).map((f) => f.name), ['log.1']);
  const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: 4096, snapCount: 100, forceSync: true, fsyncWarningThresholdMs: 1000, logger: quiet });
  await new Promise<void>((resolve, reject) => log.append(createTxn(4, '/n4'), resolve, reject));
  await log.close();
  assert.deepEqual(listLogFiles(dir).map((f) => f.name), ['log.1', 'log.4']);
  fs.writeFileSync(path.join(dir, 'log.5'), fileOf([]));
  replayLogs(dir, 0, new DataTree(), new Map(), quiet);
  assert.deepEqual(listLogFiles(dir).map((f) => f.name), ['log.1', 'log.4']);
  assert.ok(tree.getNode('/n3') !== undefined);
});

test('forceSync: direct writes (O_DIRECT) leave the same file as writes through the page cache, also after falling back', { timeout: 60_000 }, async (t) => {
  // Four logs get the same appends in the same waves: direct, through the page cache, direct
  // from memory the kernel refuses (unaligned), and direct without any aligned memory to be had;
  // the last two must fall back to the page cache for good without losing or repeating a byte.
  const preAlloc = 1024 * 1024;
  const variants = [
    { name: 'direct', directIo: true },
    { name: 'buffered', directIo: false },
    { name: 'refused', directIo: true, alignedBuffer: (n: number) => Buffer.alloc(n + 1).subarray(1) },
    {
      name: 'no memory',
      directIo: true,
      alignedBuffer: (): Buffer => {
        throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      },
    },
  ];
  const logs: { name: string; dir: string; log: FileTxnLog }[] = [];
  for (const v of variants) {
    const dir = await tmpDir(t);
    const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: preAlloc, snapCount: 1_000_000, forceSync: true, fsyncWarningThresholdMs: 1e9, logger: quiet, directIo: v.directIo, alignedBuffer: v.alignedBuffer });
    logs.push({ name: v.name, dir, log });
  }
  let z = 0;
  // Sizes that end records at every kind of offset within a 4 KiB block, some larger than a
  // block, some spanning the 1 MiB preallocation step.
  const waves = [[1], [5, 4000, 17], [4096, 4095, 4097], [1, 1, 1, 1, 1, 1, 1], [300_000, 700_000, 90_001], [8191, 3], [2_000_000], [12]];
  for (const wave of waves) {
    const sizes = wave.map((bytes) => ({ zxid: ++z, bytes }));
    await Promise.all(
      logs.map(({ log }) =>
        Promise.all(sizes.map(({ zxid, bytes }) => new Promise<void>((resolve, reject) => log.append(createTxn(zxid, `/d${zxid}`, String.fromCharCode(97 + (zxid % 26)).repeat(bytes)), resolve, reject)))),
      ),
    );
  }
  if (process.platform === 'linux') {
    assert.equal(logs[0]!.log.writingDirect, true, `the log in ${logs[0]!.dir} did not write direct (does this filesystem refuse O_DIRECT?)`);
  }
  assert.equal(logs[2]!.log.writingDirect, false, 'writes from unaligned memory fell back to the page cache');
  assert.equal(logs[3]!.log.writingDirect, false, 'without aligned memory, writes fell back to the page cache');
  for (const { log } of logs) await log.close();
  const files = logs.map(({ dir }) => {
    const [file] = listLogFiles(dir);
    assert.ok(file !== undefined);
    return fs.readFileSync(path.join(dir, file.name));
  });
  let records = 0;
  const scan = scanLog(files[1]!, 0, () => records++);
  assert.equal(scan.damage, null);
  assert.equal(records, z, 'every record is in the log written through the page cache');
  for (let i = 0; i < files.length; i++) {
    assert.equal(files[i]!.length, files[1]!.length, `${logs[i]!.name}: file size as ZooKeeper's padding gives it`);
    assert.ok(files[i]!.equals(files[1]!), `${logs[i]!.name}: the same bytes as through the page cache`);
  }
});

test('a txn that is all the server has to do is written on the event loop; batches, a busy server and a slow device go through the thread pool', { timeout: 60_000 }, async (t) => {
  const preAlloc = 1024 * 1024;
  const make = async (o: { directIo: boolean; idle: boolean | null; inlineSlowMs?: number; forceSync?: boolean }) => {
    const dir = await tmpDir(t);
    const log = new FileTxnLog({ logDir: dir, preAllocSizeBytes: preAlloc, snapCount: 1_000_000, forceSync: o.forceSync ?? true, fsyncWarningThresholdMs: 1e9, logger: quiet, directIo: o.directIo, inlineSlowMs: o.inlineSlowMs });
    const asked: number[] = [];
    if (o.idle !== null) {
      const idle = o.idle;
      log.serverIdleBesides = (txns) => {
        asked.push(txns);
        return idle;
      };
    }
    return { dir, log, asked };
  };
  const append = (log: FileTxnLog, zxid: number, bytes: number) =>
    new Promise<void>((resolve, reject) => log.append(createTxn(zxid, `/i${zxid}`, String.fromCharCode(97 + (zxid % 26)).repeat(bytes)), resolve, reject));

  // One txn at a time, records ending at every kind of offset within a 4 KiB block, one past
  // INLINE_MAX_BYTES: inline writes leave the bytes that writes through the pool leave.
  const sizes = [1, 5, 4000, 17, 4096, 4095, 4097, 8191, 3, 300_000, 12, 1];
  const inlineDirect = await make({ directIo: true, idle: true });
  const inlineBuffered = await make({ directIo: false, idle: true });
  const pool = await make({ directIo: false, idle: null });
  const unsynced = await make({ directIo: false, idle: true, forceSync: false });
  const all = [inlineDirect, inlineBuffered, pool, unsynced];
  for (let i = 0; i < sizes.length; i++) {
    for (const l of all) await append(l.log, i + 1, sizes[i]!);
  }
  if (process.platform === 'linux') assert.equal(inlineDirect.log.writingDirect, true, 'the inline log writes direct (O_DIRECT)');
  assert.equal(inlineDirect.log.inlineWrites, sizes.length - 1, 'every single txn but the one beyond INLINE_MAX_BYTES was written inline');
  assert.equal(inlineBuffered.log.inlineWrites, sizes.length - 1);
  assert.equal(unsynced.log.inlineWrites, sizes.length - 1, 'forceSync=no writes inline too');
  assert.equal(pool.log.inlineWrites, 0, 'without the server hook, never inline');
  assert.ok(inlineDirect.asked.every((n) => n === 1), 'the server is asked about the txns of the batch');

  // Inline, the txn is durable within the turn that writes it: its `done` runs before an
  // immediate queued right after the append (the log's own immediate runs first); through the
  // pool, only in a later turn.
  const order = async (log: FileTxnLog, zxid: number): Promise<string[]> => {
    const seen: string[] = [];
    const done = append(log, zxid, 50).then(() => seen.push('done'));
    setImmediate(() => seen.push('next immediate'));
    await done;
    await new Promise((r) => setImmediate(r));
    return seen;
  };
  let z = sizes.length;
  ++z;
  for (const l of [inlineDirect, inlineBuffered, unsynced]) assert.deepEqual(await order(l.log, z), ['done', 'next immediate'], 'inline: durable in the turn of the write');
  assert.deepEqual(await order(pool.log, z), ['next immediate', 'done'], 'through the pool: durable in a later turn');

  // Several txns in one batch: through the pool, without asking the server.
  const before = inlineDirect.asked.length;
  const inlineBefore = inlineDirect.log.inlineWrites;
  await Promise.all([append(inlineDirect.log, ++z, 10), append(inlineDirect.log, ++z, 20)]);
  assert.equal(inlineDirect.log.inlineWrites, inlineBefore, 'a batch of two went through the pool');
  assert.equal(inlineDirect.asked.length, before);

  // A server with other requests in flight: through the pool.
  const busy = await make({ directIo: true, idle: false });
  await append(busy.log, 1, 100);
  assert.equal(busy.log.inlineWrites, 0);
  assert.deepEqual(busy.asked, [1]);

  // A txn appended while a batch is being written is part of a load, not a lone request: through
  // the pool, even when it is the only one left.
  const lull = await make({ directIo: true, idle: true });
  await append(lull.log, 1, 100);
  const inlineAtStart = lull.log.inlineWrites;
  lull.log.serverIdleBesides = () => false;
  const first = append(lull.log, 2, 100);
  await new Promise((r) => setImmediate(r)); // the log's immediate has started the write
  lull.log.serverIdleBesides = () => true;
  await Promise.all([first, append(lull.log, 3, 100)]);
  assert.equal(lull.log.inlineWrites, inlineAtStart, 'the txn that came in during a write went through the pool');

  // After a slow inline write (here every write counts as slow) the next ones go through the
  // pool for INLINE_BACKOFF_MS (1 s).
  const slow = await make({ directIo: true, idle: true, inlineSlowMs: -1 });
  await append(slow.log, 1, 100);
  await append(slow.log, 2, 100);
  await append(slow.log, 3, 100);
  assert.equal(slow.log.inlineWrites, 1, 'one inline write, then the pool');
  await new Promise((r) => setTimeout(r, 1100));
  await append(slow.log, 4, 100);
  assert.equal(slow.log.inlineWrites, 2, 'inline again after the back-off');

  for (const l of [...all, busy, lull, slow]) await l.log.close();
  const read = (dir: string) => {
    const [file] = listLogFiles(dir);
    assert.ok(file !== undefined);
    return fs.readFileSync(path.join(dir, file.name));
  };
  const expected = read(pool.dir);
  const scan = scanLog(expected, 0, () => undefined);
  assert.equal(scan.damage, null);
  assert.equal(scan.txnCount, sizes.length + 1);
  const prefix = (dir: string) => read(dir).subarray(0, scan.goodEnd);
  assert.ok(prefix(inlineBuffered.dir).equals(expected.subarray(0, scan.goodEnd)), 'inline buffered writes: the same bytes as through the pool');
  assert.ok(prefix(unsynced.dir).equals(expected.subarray(0, scan.goodEnd)), 'inline unsynced writes: the same bytes as through the pool');
  // The inline direct log took the batch of two after the same records.
  const direct = read(inlineDirect.dir);
  const directScan = scanLog(direct, 0, () => undefined);
  assert.equal(directScan.damage, null);
  assert.equal(directScan.txnCount, sizes.length + 3);
  assert.ok(direct.subarray(0, scan.goodEnd).equals(expected.subarray(0, scan.goodEnd)), 'inline direct writes: the same records as through the pool');
});
