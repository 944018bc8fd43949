// Tests of the test harness itself: running commands, starting and stopping servers, and the
// transcript normalizers. If these fail, the real-client comparisons cannot be trusted.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import test from 'node:test';
import { normalizeCliMtChunk } from './helpers/cli-mt.js';
import { normalizeDate, SessionIds } from './helpers/normalize.js';
import { describeDifference } from './helpers/real-clients.js';
import { fourLetter, portIsFree, requireRef, runCommand, startOurs, startRef } from './helpers/servers.js';
import { buildZkCliInput, normalizeZkCliOutput } from './helpers/zkcli.js';

test('runCommand captures output and exit code', async () => {
  const r = await runCommand('/bin/sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'hello\n', timeoutMs: 10_000 });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'hello\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.timedOut, false);
});

test('runCommand with mergeStderr keeps the order of stdout and stderr lines', async () => {
  const r = await runCommand('/bin/sh', ['-c', 'echo 1; echo 2 >&2; echo 3; echo 4 >&2'], { timeoutMs: 10_000, mergeStderr: true });
  assert.equal(r.stdout, '1\n2\n3\n4\n');
});

test('runCommand kills a command that runs past its time limit, children included', async () => {
  const started = Date.now();
  const r = await runCommand('/bin/sh', ['-c', 'sleep 30 & sleep 30; echo never'], { timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  assert.ok(Date.now() - started < 10_000, 'the time limit was not enforced');
  assert.equal(r.stdout, '');
});

test('normalizeDate keeps epoch zero, hides times near now, keeps other dates', () => {
  assert.equal(normalizeDate('Thu Jan 01 00:00:00 UTC 1970'), '<EPOCH>');
  assert.equal(normalizeDate(new Date().toString()), '<TIME>');
  assert.equal(normalizeDate('Sat Jan 01 00:00:00 UTC 2000'), 'Sat Jan 01 00:00:00 UTC 2000');
});

test('SessionIds numbers sessions by first appearance and leaves 0 alone', () => {
  const s = new SessionIds();
  assert.equal(s.name('0x100000abc'), '<SESSION-1>');
  assert.equal(s.name('0x200000abc'), '<SESSION-2>');
  assert.equal(s.name('100000ABC'), '<SESSION-1>');
  assert.equal(s.name('0x0'), '0x0');
});

test('zkCli input wraps each command in a barrier', () => {
  assert.equal(
    buildZkCliInput(['ls /', 'get /a']),
    'sync /\nget /zkts-mark-0\nls /\nsync /\nget /zkts-mark-1\nget /a\nsync /\nget /zkts-mark-2\n',
  );
});

test('zkCli normalization splits by markers, moves events after output, hides times and sessions', () => {
  const now = new Date().toUTCString();
  const raw = [
    'SLF4J: Failed to load class "org.slf4j.impl.StaticLoggerBinder".',
    'Connecting to 127.0.0.1:1234',
    '',
    'WATCHER::',
    'Welcome to ZooKeeper!',
    '',
    'WatchedEvent state:SyncConnected type:None path:null',
    'JLine support is disabled',
    'Sync is OK',
    'Node does not exist: /zkts-mark-0',
    // The event thread printed its two lines around the command's own output.
    '',
    'WATCHER::',
    'Created /w/child',
    '',
    'WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w',
    'Sync is OK',
    'Node does not exist: /zkts-mark-1',
    `ctime = ${now}`,
    'ephemeralOwner = 0x1000012345670000',
    'Sync is OK',
    'Node does not exist: /zkts-mark-2',
    'get [-s] [-w] path',
    '',
    'WATCHER::',
    '',
    'WatchedEvent state:Closed type:None path:null',
    '',
  ].join('\n');
  assert.deepEqual(normalizeZkCliOutput(raw, ['create /w/child', 'stat /eph', 'get']), [
    'Connecting to <SERVER>',
    'JLine support is disabled',
    'Welcome to ZooKeeper!',
    '[connect] WatchedEvent state:SyncConnected type:None path:null',
    '$ create /w/child',
    'Created /w/child',
    '[event] WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w',
    '$ stat /eph',
    'ctime = <TIME>',
    'ephemeralOwner = <SESSION-1>',
    '$ get',
    'get [-s] [-w] path',
    '[event] WatchedEvent state:Closed type:None path:null',
    '<barrier missing: no "Sync is OK" after this command>',
  ]);
});

test('zkCli normalization reports commands that produced no output section', () => {
  const raw = 'Sync is OK\nNode does not exist: /zkts-mark-0\nSync is OK\nNode does not exist: /zkts-mark-1\n';
  assert.deepEqual(normalizeZkCliOutput(raw, ['ls /', 'ls /a', 'ls /b']), [
    '$ ls /',
    '$ ls /a',
    '<barrier missing: no "Sync is OK" after this command>',
    '$ ls /b',
    '<no output: zkCli stopped before this command finished>',
  ]);
});

test('cli_mt normalization drops timings and hides times and sessions', () => {
  const sessions = new SessionIds();
  const now = new Date();
  const cdate = now.toDateString().replace(/ (\d{4})$/, ` ${now.toTimeString().slice(0, 8)} $1`);
  const lines = normalizeCliMtChunk(
    ['Got a new session id: 0x100000f89760000', 'time = 5 msec', `\tctime = ${cdate}`, '\tczxid=2', `\tmtime=${cdate}`, '\tephemeralOwner = 100000f89760000', ''].join('\n'),
    sessions,
  );
  assert.deepEqual(lines, [
    'Got a new session id: <SESSION-1>',
    '\tctime = <TIME>',
    '\tczxid=2',
    '\tmtime=<TIME>',
    '\tephemeralOwner = <SESSION-1>',
  ]);
});

test('describeDifference points at the first differing line and its command', () => {
  const text = describeDifference(['$ ls /', '[zookeeper]', '$ get /a'], ['$ ls /', '[a, zookeeper]', '$ get /a']);
  assert.match(text, /first difference at line 2, in \$ ls \/ \(line 1\)/);
  assert.equal(describeDifference(['x'], ['x']), 'transcripts are equal');
});

test('startRef starts Apache ZooKeeper on loopback and stop() ends it', { timeout: 120_000 }, async (t) => {
  if (!requireRef(t)) return;
  const h = await startRef();
  t.after(() => h.stop());
  assert.equal(h.host, '127.0.0.1');
  assert.equal(await fourLetter(h.port, 'ruok'), 'imok');
  assert.match(await fourLetter(h.port, 'srvr'), /Mode: standalone/);
  await h.stop();
  assert.equal(fs.existsSync(h.dir), false);
  assert.equal(await portIsFree(h.port), true);
});

test('startOurs starts our server, which answers srvr, and stop() ends it', { timeout: 60_000 }, async (t) => {
  const h = await startOurs();
  t.after(() => h.stop());
  assert.equal(h.kind, 'ours');
  assert.match(await fourLetter(h.port, 'srvr'), /Mode: standalone/);
  await h.stop();
  assert.equal(fs.existsSync(h.dir), false);
  assert.equal(await portIsFree(h.port), true);
});
