// What an operator sees when the server cannot start: the exit code Apache ZooKeeper 3.8 uses
// for the same mistake (2 invalid config, 4 AdminServer, 1 anything else) and one clear line on
// stderr naming the file and the key. Each bad config is given to both servers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, HOST, requireRefAdmin, runOursMain, runRefMain, type ExitResult } from './harness';

interface Case {
  name: string;
  /** zoo.cfg lines; DATA is replaced by the case's data directory. */
  cfg: string[];
  myid?: string;
  code: number;
  /** What our stderr line must say after the common prefix. */
  says: RegExp;
}

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, HOST, () => resolve(srv));
  });
}

test('bad configs and taken ports: exit codes and messages as Apache ZooKeeper 3.8', async (t) => {
  if (!requireRefAdmin(t)) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-badcfg-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const takenAdmin = await freePort();
  const takenClient = await freePort();
  const blockers = await Promise.all([listenOn(takenAdmin), listenOn(takenClient)]);
  t.after(() => blockers.forEach((b) => b.close()));
  const common = (port: number) => ['tickTime=2000', 'dataDir=DATA', `clientPort=${port}`, `clientPortAddress=${HOST}`];
  const quorum = ['initLimit=5', 'syncLimit=2', 'server.1=127.0.0.1:12888:13888', 'server.2=127.0.0.1:12889:13889', 'server.3=127.0.0.1:12890:13890'];
  const cases: Case[] = [
    { name: 'tickTime not a number', cfg: ['tickTime=abc', 'dataDir=DATA', 'clientPort=PORT'], code: 2, says: /tickTime must be an integer, got 'abc'/ },
    { name: 'no dataDir', cfg: ['tickTime=2000', 'clientPort=PORT'], code: 2, says: /dataDir is not set/ },
    { name: 'boolean not true/false', cfg: ['standaloneEnabled=yes', 'dataDir=DATA', 'clientPort=PORT'], code: 2, says: /Invalid option yes for standaloneEnabled/ },
    { name: 'quorum without myid', cfg: ['dataDir=DATA', 'clientPort=PORT', ...quorum], code: 2, says: /myid file is missing/ },
    { name: 'myid not a number', cfg: ['dataDir=DATA', 'clientPort=PORT'], myid: 'abc', code: 2, says: /serverid abc is not a number/ },
    { name: 'malformed server line', cfg: ['dataDir=DATA', 'clientPort=PORT', 'initLimit=5', 'syncLimit=2', 'server.1=127.0.0.1:12888', 'server.2=127.0.0.1:12889:13889'], code: 2, says: /does not have the form server_config/ },
    { name: 'min above max session timeout', cfg: ['dataDir=DATA', 'clientPort=PORT', 'minSessionTimeout=9000', 'maxSessionTimeout=5000'], code: 2, says: /minSessionTimeout must not be larger than maxSessionTimeout/ },
    { name: 'unknown metrics provider', cfg: ['dataDir=DATA', 'clientPort=PORT', 'metricsProvider.className=com.example.Nope'], code: 2, says: /metrics provider class was not found/ },
    {
      name: 'AdminServer port taken',
      cfg: [...common(0), 'admin.enableServer=true', `admin.serverAddress=${HOST}`, `admin.serverPort=${takenAdmin}`],
      code: 4,
      says: /Unable to start AdminServer, exiting abnormally/,
    },
  ];
  const results = await Promise.all(
    cases.map(async (c, i) => {
      const dir = path.join(root, `case${i}`);
      const data = path.join(dir, 'data');
      fs.mkdirSync(data, { recursive: true });
      if (c.myid !== undefined) fs.writeFileSync(path.join(data, 'myid'), `${c.myid}\n`);
      const port = await freePort();
      const lines = c.cfg.map((l) => l.replace('DATA', data).replace('PORT', String(port)).replace(/^clientPort=0$/, `clientPort=${port}`));
      if (!lines.some((l) => l.startsWith('admin.'))) lines.push('admin.enableServer=false');
      const cfg = path.join(dir, 'zoo.cfg');
      fs.writeFileSync(cfg, lines.join('\n') + '\n');
      const [ref, ours] = await Promise.all([runRefMain(cfg, dir), runOursMain(cfg, dir)]);
      return { c, cfg, ref, ours };
    }),
  );
  for (const { c, cfg, ref, ours } of results) {
    await t.test(c.name, () => {
      assert.equal(ref.code, c.code, `reference exit code (stderr: ${ref.stderr})`);
      assert.equal(ours.code, ref.code, `our exit code (stderr: ${ours.stderr})`);
      const lines = ours.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `one line on stderr: ${ours.stderr}`);
      const refLine = ref.stderr.split('\n').filter((l) => l !== '').pop() ?? '';
      // Ours starts with ZooKeeper's line and adds the file, the key and the reason.
      assert.ok(lines[0]!.startsWith(refLine), `"${lines[0]}" starts with "${refLine}"`);
      assert.match(lines[0]!, c.says);
      if (c.code === 2) assert.ok(lines[0]!.includes(cfg), 'names the file');
    });
  }

  await t.test('client port taken: exit 1 like ZooKeeper, with the reason', async () => {
    const dir = path.join(root, 'taken');
    fs.mkdirSync(dir);
    const cfg = path.join(dir, 'zoo.cfg');
    fs.writeFileSync(cfg, [...common(takenClient).map((l) => l.replace('DATA', path.join(dir, 'data'))), 'admin.enableServer=false'].join('\n') + '\n');
    const [ref, ours]: ExitResult[] = await Promise.all([runRefMain(cfg, dir), runOursMain(cfg, dir)]);
    assert.equal(ref.code, 1);
    assert.equal(ours.code, 1);
    assert.match(ours.stderr, /^Unexpected exception, exiting abnormally: .*EADDRINUSE/);
  });

  await t.test('a quorum config is refused clearly (quorum mode is not implemented yet)', async () => {
    const dir = path.join(root, 'quorum');
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data', 'myid'), '1\n');
    const cfg = path.join(dir, 'zoo.cfg');
    fs.writeFileSync(cfg, [...common(await freePort()).map((l) => l.replace('DATA', path.join(dir, 'data'))), ...quorum, 'admin.enableServer=false'].join('\n') + '\n');
    const ours = await runOursMain(cfg, dir);
    assert.equal(ours.code, 2);
    assert.match(ours.stderr, /quorum mode \(server.N lines with more than one participant\) is not implemented yet/);
  });
});
