// Helpers for the operator-surface tests: a reference Apache ZooKeeper with its AdminServer
// (ref-zk.sh starts the reference without Jetty on the classpath, so that one cannot serve
// HTTP), raw four-letter words, plain HTTP GETs, and one fixed piece of client traffic that
// leaves sessions, ephemerals and watches behind for the dumps to show.
//
// Every server listens on 127.0.0.1 on a port that was free a moment before, and is stopped by
// the caller (t.after) or, failing that, when the test process exits.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import * as R from '../../src/jute/records';
import { OpCode } from '../../src/protocol/constants';
import { RawClient } from '../helpers/raw-client';
import { sleep, spawnTracked } from '../helpers/child';
import { fourLetter, freePort, HOST, REF_JAR, requireRef } from '../helpers/servers';

export { fourLetter, freePort, HOST, requireRef };

/** Jars the Debian reference needs to run its Jetty AdminServer. */
const REF_ADMIN_JARS = [
  'zookeeper', 'zookeeper-jute', 'slf4j-api', 'slf4j-log4j12', 'log4j-1.2', 'netty-handler', 'netty-common',
  'netty-transport', 'netty-buffer', 'netty-resolver', 'netty-codec', 'netty-transport-native-epoll',
  'netty-transport-native-unix-common', 'jetty9-server', 'jetty9-servlet', 'jetty9-util', 'jetty9-http', 'jetty9-io',
  'jetty9-security', 'servlet-api', 'jackson-annotations', 'jackson-core', 'jackson-databind', 'metrics-core', 'snappy-java',
  'commons-cli',
].map((j) => `/usr/share/java/${j}.jar`);

export function refAdminAvailable(): boolean {
  return fs.existsSync(REF_JAR) && REF_ADMIN_JARS.every((j) => fs.existsSync(j));
}

/** Like requireRef, for the reference with its AdminServer. */
export function requireRefAdmin(t: TestContext): boolean {
  if (refAdminAvailable()) return true;
  const reason = `reference AdminServer not available (need ${REF_ADMIN_JARS.join(', ')}; apt-get install -y zookeeper libjetty9-java)`;
  if (process.env['CI'] === 'true') throw new Error(reason);
  console.log(`# skipping: ${reason}`);
  t.skip(reason);
  return false;
}

export interface RefAdminHandle {
  port: number;
  adminPort: number;
  dir: string;
  stop(): Promise<void>;
}

/** Apache ZooKeeper 3.8 standalone with its AdminServer on 127.0.0.1, in a temporary directory. */
export async function startRefAdmin(extraCfg: Record<string, string> = {}): Promise<RefAdminHandle> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-refadmin-'));
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = [
    'tickTime=2000',
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    `clientPortAddress=${HOST}`,
    '4lw.commands.whitelist=*',
    'admin.enableServer=true',
    `admin.serverAddress=${HOST}`,
    `admin.serverPort=${adminPort}`,
    ...Object.entries(extraCfg).map(([k, v]) => `${k}=${v}`),
  ];
  await fsp.writeFile(path.join(dir, 'zoo.cfg'), cfg.join('\n') + '\n');
  const p = spawnTracked(
    'java',
    ['-Xmx256m', '-cp', ['/etc/zookeeper/conf', ...REF_ADMIN_JARS].join(':'), '-Dzookeeper.root.logger=WARN,CONSOLE',
      'org.apache.zookeeper.server.quorum.QuorumPeerMain', path.join(dir, 'zoo.cfg')],
    { cwd: dir, logFile: path.join(dir, 'out.log') },
  );
  const stop = async (): Promise<void> => {
    await p.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!p.alive()) {
      const log = p.output();
      await stop();
      throw new Error(`reference exited early:\n${log.slice(-3000)}`);
    }
    try {
      const s = await fourLetter(port, 'srvr', 1000);
      if (s.includes('Mode:') && (await httpGet(`http://${HOST}:${adminPort}/commands/ruok`)).status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('reference with AdminServer did not come up in 30 s');
    }
    await sleep(150);
  }
  return { port, adminPort, dir, stop };
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function httpGet(url: string, method = 'GET', timeoutMs = 5000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes as the start of a connection and returns all the server answered. */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 5000): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host: HOST, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ answer: Buffer.concat(chunks).toString('utf8'), closed: false });
    }, timeoutMs);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e) => {
      clearTimeout(timer);
      // A reset after the answer still counts as closed.
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') resolve({ answer: Buffer.concat(chunks).toString('utf8'), closed: true });
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ answer: Buffer.concat(chunks).toString('utf8'), closed: true });
    });
  });
}

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/**
 * The traffic every comparison starts from: /a (data), /a/b (100 bytes), an ephemeral /e, a
 * data watch on /a, a child watch on /a and an exists watch on the absent /zz. The session
 * stays open until the returned client is closed.
 */
export async function populate(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port, { timeoutMs: 10000 });
  const create = async (p: string, data: Buffer, flags: number) => {
    const r = await c.request(OpCode.create, R.CreateRequest, { path: p, data, acl: OPEN_ACL, flags });
    if (r.err !== 0) throw new Error(`create ${p}: err ${r.err}`);
  };
  await create('/a', Buffer.from('hello'), 0);
  await create('/a/b', Buffer.alloc(100, 'x'), 0);
  await create('/e', Buffer.alloc(0), 1);
  await c.request(OpCode.getData, R.GetDataRequest, { path: '/a', watch: true });
  await c.request(OpCode.getChildren, R.GetChildrenRequest, { path: '/a', watch: true });
  await c.request(OpCode.exists, R.ExistsRequest, { path: '/zz', watch: true });
  return c;
}

/** Waits until `check` holds or the time is up; returns whether it held. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

export interface OursHandle {
  port: number;
  dir: string;
  cfgPath: string;
  /** Everything the process wrote so far (bounded). */
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Our server from a zoo.cfg made of exactly `lines` plus dataDir (and clientPort unless given):
 * for tests that need keys absent (the default whitelist) rather than overridden.
 */
export async function startOursRaw(lines: string[], env: Record<string, string> = {}, waitForPort = true): Promise<OursHandle> {
  const main = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-op-'));
  const port = await freePort();
  const all = [`dataDir=${path.join(dir, 'data')}`, ...lines];
  if (!lines.some((l) => l.startsWith('clientPort='))) all.push(`clientPort=${port}`, `clientPortAddress=${HOST}`);
  const cfgPath = path.join(dir, 'zoo.cfg');
  await fsp.writeFile(cfgPath, all.join('\n') + '\n');
  const p = spawnTracked(process.execPath, [main, 'start-foreground', cfgPath], { cwd: dir, env, keepChars: 50_000 });
  const stop = async (): Promise<void> => {
    await p.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  };
  if (waitForPort) {
    const up = await eventually(async () => {
      if (!p.alive()) return true;
      try {
        return (await fourLetter(port, 'srvr', 1000)).includes('Mode:');
      } catch {
        return false;
      }
    }, 15_000);
    if (!up || !p.alive()) {
      await stop();
      throw new Error(`our server did not start:\n${p.output().slice(-3000)}`);
    }
  }
  return { port, dir, cfgPath, output: p.output, exited: p.exited.then((e) => e.code), stop };
}

export interface ExitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runToExit(cmd: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<ExitResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-20_000)));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs Apache ZooKeeper's QuorumPeerMain on a config file until it exits (startup failures). */
export function runRefMain(cfgPath: string, cwd: string, timeoutMs = 30_000): Promise<ExitResult> {
  const cp = ['/etc/zookeeper/conf', ...REF_ADMIN_JARS].join(':');
  return runToExit('java', ['-Xmx128m', '-cp', cp, '-Dzookeeper.root.logger=ERROR,CONSOLE', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfgPath], cwd, timeoutMs);
}

/** Runs our start-foreground on a config file until it exits (startup failures). */
export function runOursMain(cfgPath: string, cwd: string, timeoutMs = 30_000, env: Record<string, string> = {}): Promise<ExitResult> {
  const main = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
  return runToExit(process.execPath, [main, 'start-foreground', cfgPath], cwd, timeoutMs, env);
}
