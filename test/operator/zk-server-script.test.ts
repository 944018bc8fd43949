// bin/zkServer.sh and bin/zkCleanup.sh: the verbs, messages and exit codes of Apache
// ZooKeeper's scripts, on a server that really starts and stops. Where the Debian reference is
// installed, its own zkServer.sh status is run against the same config and must print the same.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { refAvailable, repoRoot, runCommand } from '../helpers/servers';
import { eventually, fourLetter, freePort, HOST } from './harness';

const SCRIPT = path.join(repoRoot, 'bin', 'zkServer.sh');
const CLEANUP = path.join(repoRoot, 'bin', 'zkCleanup.sh');
const APACHE_SCRIPT = '/usr/share/zookeeper/bin/zkServer.sh';

interface Setup {
  dir: string;
  conf: string;
  logs: string;
  data: string;
  port: number;
  env: Record<string, string>;
}

async function setup(t: TestContext): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-script-'));
  const conf = path.join(dir, 'conf');
  const logs = path.join(dir, 'logs');
  const data = path.join(dir, 'data');
  fs.mkdirSync(conf);
  const port = await freePort();
  const base = ['tickTime=2000', `dataDir=${data}`, `clientPort=${port}`, `clientPortAddress=${HOST}`, 'admin.enableServer=false'];
  fs.writeFileSync(path.join(conf, 'zoo.cfg'), [...base, '4lw.commands.whitelist=*'].join('\n') + '\n');
  fs.writeFileSync(path.join(conf, 'plain.cfg'), base.join('\n') + '\n');
  fs.writeFileSync(path.join(conf, 'bad.cfg'), ['tickTime=abc', `dataDir=${data}`, `clientPort=${port}`].join('\n') + '\n');
  const env = { ZOOCFGDIR: conf, ZOO_LOG_DIR: logs, USER: 'tester', JVMFLAGS: '', SERVER_JVMFLAGS: '', ZOO_LOG_LEVEL: '' };
  t.after(() => {
    // Whatever the test did, no server may outlive it.
    const pidFile = path.join(data, 'zookeeper_server.pid');
    if (fs.existsSync(pidFile)) {
      try {
        process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, conf, logs, data, port, env };
}

function zk(s: Setup, args: string[], extraEnv: Record<string, string> = {}) {
  // `start` leaves the daemon running on purpose: it must not be killed with the script's group.
  return runCommand('bash', [SCRIPT, ...args], { timeoutMs: 40_000, env: { ...s.env, ...extraEnv }, cwd: s.dir, killLeftovers: args[0] !== 'start' && args[0] !== 'restart' });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('zkServer.sh: status, start, start twice, stop, stop again, restart, failed start', async (t) => {
  const s = await setup(t);
  const pidFile = path.join(s.data, 'zookeeper_server.pid');

  let r = await zk(s, ['status']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `Client port found: ${s.port}. Client address: ${HOST}. Client SSL: false.\nError contacting service. It is probably not running.\n`);
  assert.match(r.stderr, /^Using config: .*\/conf\/zoo.cfg$/m);

  r = await zk(s, ['start']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, 'Starting zookeeper ... STARTED\n');
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  assert.ok(pid > 0 && alive(pid));
  // The daemon's output goes to $ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out, pino JSON lines.
  const out = path.join(s.logs, `zookeeper-tester-server-${os.hostname()}.out`);
  assert.ok(await eventually(() => fs.existsSync(out) && /"msg":"starting standalone server"/.test(fs.readFileSync(out, 'utf8')), 10_000), `log in ${out}`);
  assert.ok(await eventually(async () => (await fourLetter(s.port, 'ruok').catch(() => '')) === 'imok', 10_000));

  r = await zk(s, ['start']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `Starting zookeeper ... already running as process ${pid}.\n`);

  r = await zk(s, ['status']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `Client port found: ${s.port}. Client address: ${HOST}. Client SSL: false.\nMode: standalone\n`);

  if (refAvailable()) {
    // Apache ZooKeeper's own status asks our server (through its Java FourLetterWordMain).
    const a = await runCommand('bash', [APACHE_SCRIPT, 'status', path.join(s.conf, 'zoo.cfg')], { timeoutMs: 30_000, cwd: s.dir, env: { ZOO_LOG_DIR: s.logs } });
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.match(a.stdout, /^Mode: standalone$/m);
  }

  r = await zk(s, ['restart']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, 'Stopping zookeeper ... STOPPED\nStarting zookeeper ... STARTED\n');
  assert.equal(alive(pid), false, 'the old server is gone');
  const pid2 = Number(fs.readFileSync(pidFile, 'utf8'));
  assert.notEqual(pid2, pid);
  assert.ok(await eventually(async () => (await fourLetter(s.port, 'ruok').catch(() => '')) === 'imok', 10_000));

  r = await zk(s, ['stop']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'Stopping zookeeper ... STOPPED\n');
  assert.equal(fs.existsSync(pidFile), false);
  assert.equal(alive(pid2), false, 'stop waits for the server to exit');
  assert.match(fs.readFileSync(out, 'utf8'), /"signal":"SIGTERM".*"msg":"shutting down"/);

  r = await zk(s, ['stop']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `Stopping zookeeper ... no zookeeper to stop (could not find file ${pidFile})\n`);

  r = await zk(s, ['status']);
  assert.equal(r.code, 1);
  if (refAvailable()) {
    const a = await runCommand('bash', [APACHE_SCRIPT, 'status', path.join(s.conf, 'zoo.cfg')], { timeoutMs: 30_000, cwd: s.dir, env: { ZOO_LOG_DIR: s.logs } });
    assert.equal(a.code, r.code);
    assert.equal(a.stdout, r.stdout);
  }

  // A config given by name inside ZOOCFGDIR; the server refuses it, so the start fails.
  r = await zk(s, ['start', 'bad.cfg']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'Starting zookeeper ... FAILED TO START\n');
  assert.match(r.stderr, /Using config: .*\/conf\/bad.cfg/);
  assert.match(fs.readFileSync(out, 'utf8'), /Invalid config, exiting abnormally: .*bad.cfg: tickTime must be an integer, got 'abc'/);
  assert.equal(fs.existsSync(pidFile), false);
});

test('zkServer.sh start-foreground execs the server: signals reach it; JVMFLAGS pass through', async (t) => {
  const s = await setup(t);
  // plain.cfg has no whitelist: the -D flag in JVMFLAGS decides, as a Java system property would.
  const child = spawn('bash', [SCRIPT, 'start-foreground', path.join(s.conf, 'plain.cfg')], {
    cwd: s.dir,
    env: { ...process.env, ...s.env, JVMFLAGS: '-Dzookeeper.4lw.commands.whitelist=ruok' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  assert.ok(await eventually(async () => (await fourLetter(s.port, 'ruok').catch(() => '')) === 'imok', 15_000), output);
  assert.equal(await fourLetter(s.port, 'stat'), 'stat is not executed because it is not in the whitelist.\n');
  // bash exec'd node: the pid we spawned is the server itself.
  const cmdline = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
  assert.match(cmdline, /node.*main\.js\u0000start-foreground\u0000/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(output, /"msg":"shutting down"/);
});

test('zkServer.sh version, print-cmd, usage; zkCleanup.sh', async (t) => {
  const s = await setup(t);
  let r = await zk(s, ['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Apache ZooKeeper, version 3\.8\.0-zookeeper-ts-/);
  r = await zk(s, ['print-cmd']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /start-foreground ".*\/conf\/zoo.cfg" > ".*\/logs\/zookeeper-tester-server-.*\.out" 2>&1 < \/dev\/null/);
  r = await zk(s, ['frobnicate']);
  assert.match(r.stderr, /Usage: .*zkServer.sh \[--config <conf-dir>\] \{start\|start-foreground\|stop\|version\|restart\|status\|print-cmd\}/);
  // --config names the configuration directory, as in ZooKeeper's zkEnv.sh.
  r = await runCommand('bash', [SCRIPT, '--config', s.conf, 'status'], { timeoutMs: 20_000, env: { ...s.env, ZOOCFGDIR: '' }, cwd: s.dir });
  assert.match(r.stderr, new RegExp(`Using config: ${s.conf}/zoo.cfg`));
  assert.equal(r.code, 1);

  fs.mkdirSync(path.join(s.data, 'version-2'), { recursive: true });
  r = await runCommand('bash', [CLEANUP, '-n', '3'], { timeoutMs: 30_000, env: s.env, cwd: s.dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  r = await runCommand('bash', [CLEANUP, '-n', '1'], { timeoutMs: 30_000, env: s.env, cwd: s.dir });
  assert.notEqual(r.code, 0, 'PurgeTxnLog refuses to keep fewer than 3 snapshots');
});
