/**
 * Captures the golden fixtures (test/fixtures/golden/*.json): real clients talk to the real
 * Apache ZooKeeper 3.8 through a recording proxy, and every frame of both directions is saved.
 * test/golden/jute-golden.test.ts then decodes and re-encodes each frame with our records.
 *
 *   npx tsc -p tsconfig.json && node dist/test/golden/capture.js [--out DIR]
 *
 * Needs the Debian packages zookeeper (server, zkCli.sh), python3-kazoo and the C client
 * (cli_mt). Everything listens and connects on 127.0.0.1 only; every step is bounded in time,
 * and the server and clients are stopped at the end even on failure.
 *
 * The sessions:
 *  - zkcli.json: zkCli.sh (the Java client) with every create mode, set/get/stat/ls, ACLs with
 *    digest and ip, addauth, whoami, getEphemerals, getAllChildrenNumber, setquota, sync,
 *    config, reconfig (refused), watches of every kind and their notifications, removewatches,
 *    deleteall (a multi), pings, and two connection drops: the client reconnects to its session
 *    with SetWatches, then with SetWatches2 (once persistent watches exist), re-sending its auth.
 *  - kazoo.json: kazoo's create2, transactions (multi, one failing), getChildren2, an 'auth'
 *    ACL with a null id, watches, sync, pings and close (test/golden/kazoo-session.py).
 *  - cli-mt.json: the C client's requests and replies for a few commands.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OpCode } from '../../src/protocol/constants';
import { CLI_MT, runCliMt } from '../helpers/cli-mt';
import { refAvailable, repoRoot, runCommand, startRef } from '../helpers/servers';
import { ZKCLI } from '../helpers/zkcli';
import { annotate, GOLDEN_DIR, type GoldenFile } from './golden-frames';
import { RecordingProxy, type RecordedFrame } from './recording-proxy';

const SERVER = 'Apache ZooKeeper 3.8.0 (Debian package), standalone, tickTime=2000, extendedTypesEnabled=true';
const REGENERATE = 'npx tsc -p tsconfig.json && node dist/test/golden/capture.js';
const SYSTEM_PYTHON = '/usr/bin/python3';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function toGolden(description: string, client: string, frames: readonly RecordedFrame[]): GoldenFile {
  const conns = [...new Set(frames.map((f) => f.conn))].sort((a, b) => a - b);
  return {
    description,
    server: SERVER,
    client,
    capturedAt: new Date().toISOString(),
    regenerate: REGENERATE,
    connections: conns.map((conn) => {
      const mine = frames.filter((f) => f.conn === conn);
      const bad = mine.find((f) => f.kind === 'unframed');
      if (bad !== undefined) throw new Error(`${client}, connection ${conn}: the ${bad.from} sent bytes that are not frames: ${bad.bytes.subarray(0, 64).toString('hex')}`);
      try {
        return { conn, frames: annotate(mine.map((f) => ({ from: f.from, bytes: f.bytes, partial: f.kind === 'partial' }))) };
      } catch (e) {
        const dump = mine.map((f) => `  ${f.seq} ${f.from} ${f.kind} ${f.bytes.subarray(0, 24).toString('hex')}`).join('\n');
        throw new Error(`${client}, connection ${conn}: ${(e as Error).message}\n${dump}`);
      }
    }),
  };
}

/** zkCli.sh with standard input fed in stages, so that the capture can act between them. */
class ZkCliProcess {
  private output = '';
  private readonly exited: Promise<void>;
  private hasExited = false;
  private readonly child;

  constructor(connectString: string) {
    // exec through a shell so that 2>&1 makes stderr and stdout one pipe; a process group of
    // its own so that the JVM goes with it when it is killed.
    this.child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', ZKCLI, '-timeout', '4000', '-server', connectString], {
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
      env: { ...process.env, CLIENT_JVMFLAGS: '-Xmx256m' },
    });
    this.child.stdin.on('error', () => undefined);
    this.child.stdout.on('data', (d: Buffer) => {
      this.output = (this.output + d.toString('utf8')).slice(-200_000);
    });
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
    void this.exited.then(() => (this.hasExited = true));
  }

  /** Sends commands, then waits until zkCli has answered the last of them (a read of a missing node). */
  async stage(n: number, commands: string[], timeoutMs = 30_000): Promise<void> {
    const mark = `/golden-mark-${n}`;
    this.child.stdin.write([...commands, `get ${mark}`].join('\n') + '\n');
    const want = `Node does not exist: ${mark}`;
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes(want)) {
      if (this.hasExited) throw new Error(`zkCli.sh exited during stage ${n}; output tail:\n${this.output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`zkCli.sh stage ${n} timed out; output tail:\n${this.output.slice(-3000)}`);
      await sleep(50);
    }
  }

  async finish(commands: string[], timeoutMs = 15_000): Promise<string> {
    this.child.stdin.end(commands.join('\n') + '\n');
    await Promise.race([this.exited, sleep(timeoutMs)]);
    this.kill();
    await this.exited;
    return this.output;
  }

  kill(): void {
    if (this.hasExited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const isRequest = (f: RecordedFrame, opcode: number, conn?: number) =>
  f.from === 'client' && f.kind === 'frame' && f.bytes.length >= 12 && f.bytes.readInt32BE(8) === opcode && (conn === undefined || f.conn === conn);

/** Waits for the proxy to see the current connection drop and the client come back on a new one. */
async function dropAndAwaitReconnect(proxy: RecordingProxy, setWatchesOpcode: number): Promise<void> {
  const before = proxy.connections;
  await proxy.dropAll();
  const conn = before + 1;
  await proxy.waitFor((f) => f.conn === conn && f.from === 'server', 15_000, `ConnectResponse on connection ${conn}`);
  const sw = await proxy.waitFor((f) => isRequest(f, setWatchesOpcode, conn), 5_000, `setWatches (${setWatchesOpcode}) on connection ${conn}`);
  const xid = sw.bytes.readInt32BE(4);
  await proxy.waitFor((f) => f.conn === conn && f.from === 'server' && f.seq > sw.seq && f.bytes.readInt32BE(4) === xid, 5_000, 'the setWatches reply');
}

async function captureZkCli(refPort: number): Promise<GoldenFile> {
  const proxy = await RecordingProxy.start(refPort);
  const cli = new ZkCliProcess(`127.0.0.1:${proxy.port}`);
  const digest = `alice:${crypto.createHash('sha1').update('alice:secret').digest('base64')}`;
  try {
    await cli.stage(1, [
      'create /golden "root"',
      'create /golden/p "persistent"',
      'create -e /golden/e "ephemeral"',
      'create -s /golden/s- "sequential"',
      'create -e -s /golden/es- "ephemeral sequential"',
      'create -c /golden/c "container"',
      'create /golden/c/child',
      'create -t 60000 /golden/t "ttl"',
      'create /golden/p "again"',
      'set /golden/p "updated"',
      'set -v 1 /golden/p "second"',
      'set -v 99 /golden/p "stale"',
      'get -s /golden/p',
      'get /golden/missing',
      'stat /golden/e',
      'ls /golden',
      'ls -s /golden',
      'ls -R /golden',
      'getAllChildrenNumber /golden',
      'getEphemerals /golden',
      'getEphemerals',
      'addauth digest alice:secret',
      `create /golden/d "digest" digest:${digest}:cdrwa`,
      'create /golden/a "auth" auth::cdrwa',
      `setAcl /golden/p digest:${digest}:cdrwa,ip:127.0.0.1:r`,
      'getAcl /golden/p',
      'create /golden/ip "ip"',
      'setAcl -v 0 /golden/ip ip:127.0.0.1:cdrwa',
      'getAcl /golden/ip',
      'getAcl /golden/d',
      'whoami',
      'create /golden/q',
      'setquota -n 10 /golden/q',
      'listquota /golden/q',
      'sync /golden',
      'config',
      'reconfig -members server.1=127.0.0.1:2888:3888;2181',
    ]);
    // Idle: the client pings after a third of the negotiated 4 s timeout.
    const pingAfter = proxy.frames.length;
    await proxy.waitFor((f) => f.seq >= pingAfter && isRequest(f, OpCode.ping), 10_000, 'ping');
    await sleep(300);

    // One-time watches of every kind, then a dropped connection: the client comes back to its
    // session, re-sends them with SetWatches and its credentials with an auth packet.
    await cli.stage(2, ['create /golden/w "watched"', 'get -w /golden/w', 'ls -w /golden/w', 'stat -w /golden/later']);
    await dropAndAwaitReconnect(proxy, OpCode.setWatches);

    await cli.stage(3, [
      'set /golden/w "changed"',
      'create /golden/w/kid',
      'create /golden/later',
      'create /golden/pw',
      'create /golden/pp',
      'addWatch /golden/pw',
      'addWatch -m PERSISTENT /golden/pp',
      'get -w /golden/ip',
    ]);
    // Persistent watches now exist: the reconnect uses SetWatches2.
    await dropAndAwaitReconnect(proxy, OpCode.setWatches2);

    await cli.stage(4, [
      'create /golden/pw/a "a"',
      'create /golden/pw/a/b',
      'set /golden/pw/a "b"',
      'delete /golden/pw/a/b',
      'set /golden/pp "pp"',
      'create /golden/pp/kid',
      'removewatches /golden/pp',
      'removewatches /golden/ip -d',
      'removewatches /golden/nowatch',
      'delete /golden/missing',
      'delete -v 5 /golden/e',
      'delete /golden/e',
      'deleteall /golden/pw',
    ]);
    await cli.finish(['close', 'quit']);
    // The close's reply comes before the server closes; give the proxy a moment to see the end.
    await proxy.waitFor((f) => isRequest(f, OpCode.closeSession), 5_000, 'closeSession');
    await sleep(500);
  } finally {
    cli.kill();
    await proxy.stop();
  }
  return toGolden(
    'zkCli.sh session: every create mode, set/get/stat/ls, ACLs (digest, ip, auth), addauth, whoami, getEphemerals, ' +
      'getAllChildrenNumber, setquota, sync, config, reconfig (refused), watches and notifications, addWatch, removewatches, ' +
      'deleteall (multi), pings, reconnects with SetWatches and SetWatches2, close.',
    'zkCli.sh 3.8.0 (Java client, ClientCnxnSocketNIO), -timeout 4000',
    proxy.frames,
  );
}

async function captureKazoo(refPort: number): Promise<GoldenFile> {
  const proxy = await RecordingProxy.start(refPort);
  try {
    const script = path.join(repoRoot, 'test', 'golden', 'kazoo-session.py');
    const res = await runCommand(SYSTEM_PYTHON, [script, `127.0.0.1:${proxy.port}`], { timeoutMs: 60_000, mergeStderr: true });
    if (res.code !== 0 || !res.stdout.includes('done')) {
      throw new Error(`kazoo session failed (code ${res.code}${res.timedOut ? ', timed out' : ''}):\n${res.stdout.slice(-3000)}`);
    }
    if (!res.stdout.includes('events 3')) throw new Error(`kazoo saw fewer watch events than expected:\n${res.stdout.slice(-2000)}`);
    await sleep(300);
  } finally {
    await proxy.stop();
  }
  return toGolden(
    'kazoo session: create/create2, ephemeral sequential, digest and auth ACLs (a null ACL id), getChildren/getChildren2, ' +
      'getACL/setACL, multi (one committed, one failing), exists/getData/getChildren watches and their events, sync, pings, close.',
    `kazoo 2.8 (${SYSTEM_PYTHON}, Debian python3-kazoo)`,
    proxy.frames,
  );
}

async function captureCliMt(refPort: number): Promise<GoldenFile> {
  const proxy = await RecordingProxy.start(refPort);
  try {
    const transcript = await runCliMt(
      `127.0.0.1:${proxy.port}`,
      ['create /cm', 'create2 +e /cm/e', 'create +s /cm/s-', 'ls /cm', 'ls2 /cm', 'get /cm', 'set /cm data', 'exists /cm/e', 'wexists /cm/w', 'create /cm/w', 'addauth digest carol:pw', 'delete /cm/w'],
      { commandTimeoutMs: 10_000, totalTimeoutMs: 60_000 },
    );
    if (transcript.some((l) => l.startsWith('<cli_mt stopped'))) throw new Error(`cli_mt session failed:\n${transcript.join('\n')}`);
    await sleep(300);
  } finally {
    await proxy.stop();
  }
  return toGolden(
    'cli_mt session (the C client): create, create2, sequential, getChildren/getChildren2, getData, setData, exists with a watch and its event, sync, auth, delete.',
    'cli_mt 3.8.0 (C client, Debian)',
    proxy.frames,
  );
}

async function main(): Promise<void> {
  const outAt = process.argv.indexOf('--out');
  const outDir = outAt >= 0 && process.argv[outAt + 1] !== undefined ? path.resolve(process.argv[outAt + 1]!) : GOLDEN_DIR;
  for (const [what, ok] of [
    ['the reference server', refAvailable()],
    [ZKCLI, fs.existsSync(ZKCLI)],
    [CLI_MT, fs.existsSync(CLI_MT)],
    [SYSTEM_PYTHON, fs.existsSync(SYSTEM_PYTHON)],
  ] as const) {
    if (!ok) throw new Error(`capture needs ${what} (Debian: apt-get install -y zookeeper zookeeper-bin python3-kazoo)`);
  }
  const ref = await startRef({ extraCfg: { extendedTypesEnabled: 'true' } });
  const files: [string, GoldenFile][] = [];
  try {
    files.push(['zkcli.json', await captureZkCli(ref.port)]);
    files.push(['kazoo.json', await captureKazoo(ref.port)]);
    files.push(['cli-mt.json', await captureCliMt(ref.port)]);
  } finally {
    await ref.stop();
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, file] of files) {
    // One frame a line: diffs of a regenerated fixture stay readable.
    const text = JSON.stringify(file, null, 1).replace(/\{\s+("from"[^{}]*?)\s+\}/g, (_m, inner: string) => `{ ${inner.replace(/\s*\n\s*/g, ' ')} }`);
    fs.writeFileSync(path.join(outDir, name), text + '\n');
    const n = file.connections.reduce((s, c) => s + c.frames.length, 0);
    console.log(`${name}: ${file.connections.length} connection(s), ${n} frames`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
