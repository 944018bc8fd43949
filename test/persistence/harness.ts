// Helpers for the durability tests: our server as a real process on a data directory that
// outlives it (so it can be killed and restarted on the same files and port), the CLI, and a
// small promise wrapper over node-zookeeper-client. Every server listens on 127.0.0.1 only and
// is killed when the test process exits, even if a test forgot to stop it.

import zookeeper, { type ACL as AclType, type Client, type Exception } from 'node-zookeeper-client';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { JuteReader, JuteWriter } from '../../src/jute/codec';
import * as R from '../../src/jute/records';
import { spawnTracked, waitForSrvr, type Tracked } from '../helpers/child';
import { freePort, HOST, repoRoot, runCommand, type RunResult } from '../helpers/servers';

export const MAIN_JS = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
export const ZK_CLASSPATH = [
  'zookeeper',
  'zookeeper-jute',
  'slf4j-api',
  'slf4j-nop',
  'commons-cli',
  'netty-handler',
  'netty-common',
  'netty-transport',
  'netty-buffer',
  'netty-resolver',
  'netty-codec',
  'netty-transport-native-epoll',
  'netty-transport-native-unix-common',
]
  .map((j) => `/usr/share/java/${j}.jar`)
  .join(':');


export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface DataDir {
  dir: string;
  dataDir: string;
  cfgPath: string;
  port: number;
}

/** A fresh directory with a zoo.cfg for our server; removed after the test. */
export async function makeDataDir(t: TestContext, extraCfg: Record<string, string> = {}, separateLogDir = false): Promise<DataDir> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-dur-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  const cfg: Record<string, string> = {
    tickTime: '500',
    dataDir,
    clientPort: String(port),
    clientPortAddress: HOST,
    ...(separateLogDir ? { dataLogDir: path.join(dir, 'txnlog') } : {}),
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': '*',
    ...extraCfg,
  };
  const cfgPath = path.join(dir, 'zoo.cfg');
  await fsp.writeFile(cfgPath, Object.entries(cfg).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return { dir, dataDir, cfgPath, port };
}

/** A server or CLI process of a test (test/helpers/child.ts): output tail, kill (SIGKILL), stop (SIGTERM). */
export type Proc = Tracked;

/** Spawns `node main.js args...`, keeping the tail of its output; stop() waits up to 10 s for a clean exit. */
export function spawnOurs(args: string[], env: Record<string, string> = {}): Proc {
  return spawnTracked(process.execPath, [MAIN_JS, ...args], { env, graceMs: 10_000 });
}

/** Starts our server on `d` and waits until it answers `srvr`; fails with its output if it exits. */
export async function startServer(t: TestContext, d: DataDir, timeoutMs = 20_000): Promise<Proc> {
  const p = spawnOurs(['start-foreground', d.cfgPath]);
  t.after(() => p.kill());
  try {
    await waitForSrvr(p, d.port, timeoutMs);
  } catch (e) {
    await p.kill();
    throw e;
  }
  return p;
}

/** Runs our CLI to completion. */
export function runCli(args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return runCommand(process.execPath, [MAIN_JS, ...args], { timeoutMs });
}

export function refJavaAvailable(): boolean {
  return fs.existsSync('/usr/share/java/zookeeper.jar') && fs.existsSync('/usr/bin/java');
}

/** Like requireRef: fails under CI when the reference jars are missing, skips locally. */
export function requireJava(t: TestContext): boolean {
  if (refJavaAvailable()) return true;
  const reason = 'Apache ZooKeeper jars or java not installed (apt-get install -y zookeeper)';
  if (process.env['CI'] === 'true') throw new Error(reason);
  console.log(`# skipping: ${reason}`);
  t.skip(reason);
  return false;
}

export function runJava(mainClass: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return runCommand('java', ['-cp', ZK_CLASSPATH, mainClass, ...args], { timeoutMs });
}

// ---- a promise client ---------------------------------------------------------------------------

export const { ACL, Id, Permission, CreateMode } = zookeeper;
export const OPEN = zookeeper.ACL.OPEN_ACL_UNSAFE;

export class Zk {
  private constructor(readonly client: Client) {}

  /** Connects to 127.0.0.1:port; rejects after `timeoutMs`. */
  static async connect(port: number, opts: { sessionTimeoutMs?: number; timeoutMs?: number } = {}): Promise<Zk> {
    const client = zookeeper.createClient(`${HOST}:${port}`, { sessionTimeout: opts.sessionTimeoutMs ?? 4000, spinDelay: 100, retries: 0 });
    const zk = new Zk(client);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(new Error(`could not connect to ${HOST}:${port}`));
      }, opts.timeoutMs ?? 10_000);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
    return zk;
  }

  sessionId(): bigint {
    return this.client.getSessionId().readBigInt64BE(0);
  }

  /** Resolves on the next 'connected' event (after a reconnect). */
  nextConnected(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reconnect in time')), timeoutMs);
      this.client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  create(p: string, data: Buffer | string | null, mode: number = CreateMode.PERSISTENT, acl: AclType[] = OPEN): Promise<string> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return new Promise((resolve, reject) => this.client.create(p, buf, acl, mode, (e, created) => (e ? reject(e) : resolve(created!))));
  }

  get(p: string): Promise<Buffer | null> {
    return new Promise((resolve, reject) => this.client.getData(p, undefined, (e, data) => (e ? reject(e) : resolve(data ?? null))));
  }

  /** The data, or undefined when the node does not exist. */
  async tryGet(p: string): Promise<Buffer | null | undefined> {
    try {
      return await this.get(p);
    } catch (e) {
      // -101 is NONODE (KeeperException.Code.NONODE).
      if ((e as Exception).getCode?.() === -101) return undefined;
      throw e;
    }
  }

  set(p: string, data: Buffer | string, version = -1): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return new Promise((resolve, reject) => this.client.setData(p, buf, version, (e) => (e ? reject(e) : resolve())));
  }

  exists(p: string): Promise<boolean> {
    return new Promise((resolve, reject) => this.client.exists(p, undefined, (e, st) => (e ? reject(e) : resolve(st !== null && st !== undefined))));
  }

  children(p: string): Promise<string[]> {
    return new Promise((resolve, reject) => this.client.getChildren(p, undefined, (e, c) => (e ? reject(e) : resolve([...c!].sort()))));
  }

  acl(p: string): Promise<string[]> {
    return new Promise((resolve, reject) =>
      this.client.getACL(p, (e, acls) => (e ? reject(e) : resolve(acls!.map((a) => `${a.id.scheme}:${a.id.id}:${a.permission}`)))),
    );
  }

  /** Creates every path in one multi: all or nothing. */
  createAll(paths: [string, string][]): Promise<void> {
    let tx = this.client.transaction();
    for (const [p, d] of paths) tx = tx.create(p, Buffer.from(d), OPEN, CreateMode.PERSISTENT);
    return new Promise((resolve, reject) => tx.commit((e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    this.client.close();
  }
}

/** Every znode under `root` (inclusive) with its data, sorted by path. */
export async function dumpTree(zk: Zk, root = '/'): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const walk = async (p: string): Promise<void> => {
    const data = await zk.get(p);
    out.push([p, data === null ? '<null>' : data.toString('utf8')]);
    for (const c of await zk.children(p)) await walk(p === '/' ? `/${c}` : `${p}/${c}`);
  };
  await walk(root);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// ---- a raw session that can vanish without closing ----------------------------------------------


/**
 * A session opened over a bare socket with our Jute codec: it can create an ephemeral node and
 * then disappear without a closeSession, like a client that crashed.
 */
export class RawSession {
  private buf = Buffer.alloc(0);
  private waiters: ((frame: Buffer) => void)[] = [];
  private xid = 1;
  sessionId = 0n;
  passwd: Buffer = Buffer.alloc(16);

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const len = this.buf.readInt32BE(0);
        const frame = this.buf.subarray(4, 4 + len);
        this.buf = this.buf.subarray(4 + len);
        this.waiters.shift()?.(frame);
      }
    });
    sock.on('error', () => undefined);
  }

  private send(w: JuteWriter): Promise<Buffer> {
    const body = w.finish();
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length, 0);
    body.copy(frame, 4);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw session: no answer')), 10_000);
      this.waiters.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
      this.sock.write(frame);
    });
  }

  /** Opens a new session, or resumes `resume` (id and password) when given. */
  static async open(port: number, timeoutMs: number, resume?: { sessionId: bigint; passwd: Buffer }): Promise<RawSession> {
    const sock = net.connect({ host: HOST, port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    const s = new RawSession(sock);
    const w = new JuteWriter();
    R.ConnectRequest.encode(w, {
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: timeoutMs,
      sessionId: resume?.sessionId ?? 0n,
      passwd: resume?.passwd ?? Buffer.alloc(16),
    });
    w.boolean(false);
    const rsp = R.ConnectResponse.decode(new JuteReader(await s.send(w)));
    s.sessionId = rsp.sessionId;
    s.passwd = rsp.passwd ?? Buffer.alloc(16);
    if (rsp.timeOut <= 0) throw new Error('session refused (expired or unknown)');
    return s;
  }

  /** create(path, data, OPEN_ACL_UNSAFE, ephemeral); resolves to the error code (0 = OK). */
  async create(p: string, data: string, ephemeral: boolean): Promise<number> {
    const w = new JuteWriter();
    R.RequestHeader.encode(w, { xid: this.xid++, type: 1 });
    R.CreateRequest.encode(w, { path: p, data: Buffer.from(data), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: ephemeral ? 1 : 0 });
    const rsp = await this.send(w);
    return R.ReplyHeader.decode(new JuteReader(rsp)).err;
  }

  /** Drops the connection without closing the session. */
  vanish(): void {
    this.sock.destroy();
  }
}

// ---- Apache ZooKeeper 3.8 as a process on a data directory --------------------------------------

/** The classpath with log4j instead of slf4j-nop, so the server's INFO log can be checked. */
const ZK_SERVER_CLASSPATH = ['/etc/zookeeper/conf', ...ZK_CLASSPATH.split(':').filter((j) => !j.includes('slf4j-nop'))]
  .concat(['/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'])
  .join(':');

/** Starts ZooKeeperServerMain (standalone) on the zoo.cfg of `d` and waits until it serves. */
export async function startJava(t: TestContext, d: DataDir, timeoutMs = 30_000): Promise<Proc> {
  const p = spawnTracked(
    'java',
    ['-Xmx256m', '-cp', ZK_SERVER_CLASSPATH, '-Dzookeeper.root.logger=INFO,CONSOLE', '-Dzookeeper.log.dir=' + d.dir, 'org.apache.zookeeper.server.ZooKeeperServerMain', d.cfgPath],
    { keepChars: 400_000, graceMs: 15_000 },
  );
  t.after(() => p.kill());
  try {
    await waitForSrvr(p, d.port, timeoutMs);
  } catch (e) {
    await p.kill();
    throw new Error(`ZooKeeper did not come up: ${(e as Error).message}`);
  }
  return p;
}
