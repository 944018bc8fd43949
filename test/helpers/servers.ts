// Starting and stopping the servers that the interoperability tests talk to: the reference
// Apache ZooKeeper (through shared/tools/ref-zk.sh) and our own server (dist/src/cli/main.js).
// Every server listens on 127.0.0.1 only, on a port that was free a moment before, and is
// stopped when the test process exits even if a test forgot to (or crashed before) stopping it.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export interface ServerHandle {
  kind: 'ref' | 'ours';
  host: string;
  port: number;
  connectString: string;
  dir: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra zoo.cfg lines (key=value). */
  extraCfg?: Record<string, string>;
  /** Extra environment for the server process (merged over process.env). */
  env?: Record<string, string>;
}

export interface RunOptions {
  input?: string;
  timeoutMs: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Send stderr into the same pipe as stdout so that their relative order is kept. */
  mergeStderr?: boolean;
  /**
   * Whether processes the command leaves behind in its process group are killed when it exits
   * (default true). ref-zk.sh start must set false: the server it starts in the background is
   * meant to outlive it.
   */
  killLeftovers?: boolean;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

import { spawnTracked, waitForSrvr } from './child.js';
import { freePort, fourLetter, fourLetterAt, HOST } from './net.js';

export { freePort, fourLetter, fourLetterAt, HOST };
export const REF_JAR = '/usr/share/java/zookeeper.jar';

/** The directory holding package.json, found by walking up from this compiled file. */
export const repoRoot: string = findRepoRoot(__dirname);

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

export const refScript: string = path.resolve(repoRoot, '../shared/tools/ref-zk.sh');

// Processes and process groups that must not outlive the test process. The 'exit' handler can
// only do synchronous work, so it sends SIGKILL and does not wait.
const pidsToKill = new Set<number>();
const groupsToKill = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of groupsToKill) trySignal(-pgid, 'SIGKILL');
    for (const pid of pidsToKill) trySignal(pid, 'SIGKILL');
  });
}

function trySignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  return trySignal(pid, 0);
}


export function refAvailable(): boolean {
  return fs.existsSync(REF_JAR) && fs.existsSync(refScript);
}

/**
 * Returns true when the reference server can be used. Otherwise, under CI=true, throws so the
 * test fails (CI must not silently lose its reference), and locally skips the test.
 */
export function requireRef(t: TestContext): boolean {
  if (refAvailable()) return true;
  const reason = `reference Apache ZooKeeper not available (need ${REF_JAR} and ${refScript}; apt-get install -y zookeeper)`;
  if (process.env['CI'] === 'true') throw new Error(reason);
  console.log(`# skipping: ${reason}`);
  t.skip(reason);
  return false;
}

/** True when 127.0.0.1:port can be bound right now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/**
 * Runs a command to completion with a hard time limit and returns its exit status and output.
 * The child gets its own process group so that a timeout also kills what it started (zkCli.sh,
 * for instance, is a bash script whose java child would otherwise survive).
 */
export async function runCommand(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  installExitHook();
  let file = cmd;
  let argv = args;
  if (opts.mergeStderr) {
    // A shell with 2>&1 makes both streams one pipe, which is the only way to keep the order in
    // which a program interleaves its stdout and stderr lines.
    file = '/bin/sh';
    argv = ['-c', 'exec "$0" "$@" 2>&1', cmd, ...args];
  }
  const child = spawn(file, argv, {
    cwd: opts.cwd ?? os.tmpdir(),
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const pgid = child.pid;
  if (pgid !== undefined) groupsToKill.add(pgid);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  // A child that exits before reading all its input must not crash us with EPIPE.
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(opts.input ?? '');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (pgid !== undefined) trySignal(-pgid, 'SIGKILL');
  }, opts.timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  }).finally(() => {
    clearTimeout(timer);
    if (pgid !== undefined) {
      // Anything the command left running in its group goes with it, unless asked otherwise.
      if (opts.killLeftovers !== false || timedOut) trySignal(-pgid, 'SIGKILL');
      groupsToKill.delete(pgid);
    }
  });
  return {
    code,
    signal,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    timedOut,
  };
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Picks BASEPORT for ref-zk.sh: it puts a standalone server's client port on BASEPORT+1. */
async function pickRefBasePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (port > 1025 && (await portIsFree(port))) return port - 1;
  }
  throw new Error('could not find a free port for the reference server');
}

function cfgLines(extra: Record<string, string> | undefined): string[] {
  return Object.entries(extra ?? {}).map(([k, v]) => `${k}=${v}`);
}

/** Starts Apache ZooKeeper 3.8 standalone through ref-zk.sh in a fresh temporary directory. */
export async function startRef(opts: StartOptions = {}): Promise<ServerHandle> {
  if (!refAvailable()) throw new Error(`reference server unavailable: ${REF_JAR} or ${refScript} missing`);
  installExitHook();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-ref-'));
  const base = await pickRefBasePort();
  const port = base + 1;
  // ref-zk.sh does not set clientPortAddress, so without this line the Java server would listen
  // on every interface; the tests must only ever listen on loopback.
  const extra = ['clientPortAddress=127.0.0.1', ...cfgLines(opts.extraCfg)];
  const env: Record<string, string> = { ...(opts.env ?? {}), REF_ZK_EXTRA: extra.join(';') };
  const pidFile = path.join(dir, 's1', 'pid');
  const res = await runCommand('bash', [refScript, 'start', dir, '1', String(base)], {
    timeoutMs: 60_000,
    env,
    killLeftovers: false,
  });
  // ref-zk.sh starts java with nohup in the background; remember its pid so the exit hook can
  // kill it even if stop() is never reached.
  let pid: number | undefined;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (Number.isFinite(pid) && pid > 0) pidsToKill.add(pid);
  } catch {
    pid = undefined;
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await runCommand('bash', [refScript, 'stop', dir], { timeoutMs: 30_000 });
    if (pid !== undefined) {
      if (isAlive(pid)) trySignal(pid, 'SIGKILL');
      pidsToKill.delete(pid);
    }
    await fsp.rm(dir, { recursive: true, force: true });
  };
  if (res.code !== 0) {
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 's1', 'out.log'), 'utf8');
    } catch {
      log = '(no out.log)';
    }
    await stop();
    throw new Error(
      `ref-zk.sh start failed (code ${res.code}${res.timedOut ? ', timed out' : ''}):\n${res.stdout}${res.stderr}\n--- out.log ---\n${tail(log)}`,
    );
  }
  return { kind: 'ref', host: HOST, port, connectString: `${HOST}:${port}`, dir, stop };
}

/** Starts our server (dist/src/cli/main.js start-foreground) with a generated zoo.cfg. */
export async function startOurs(opts: StartOptions = {}): Promise<ServerHandle> {
  const main = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`our server is not built: ${main} is missing (run npx tsc -p tsconfig.json)`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-ours-'));
  const port = await freePort();
  const cfg = [
    'tickTime=2000',
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    `clientPortAddress=${HOST}`,
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
    ...cfgLines(opts.extraCfg),
  ];
  await fsp.mkdir(path.join(dir, 'data'), { recursive: true });
  const cfgPath = path.join(dir, 'zoo.cfg');
  await fsp.writeFile(cfgPath, cfg.join('\n') + '\n');
  // Only the last part of the output is kept: enough to explain a failed start.
  const p = spawnTracked(process.execPath, [main, 'start-foreground', cfgPath], { cwd: dir, env: opts.env, keepChars: 20_000 });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await p.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForSrvr(p, port, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`our server failed to start on ${HOST}:${port}: ${(err as Error).message}`);
  }
  return { kind: 'ours', host: HOST, port, connectString: `${HOST}:${port}`, dir, stop };
}

export type ServerKind = 'ref' | 'ours';

export function startServer(kind: ServerKind, opts?: StartOptions): Promise<ServerHandle> {
  return kind === 'ref' ? startRef(opts) : startOurs(opts);
}

/** Starts a server, runs fn against it, and always stops the server afterwards. */
export async function withServer<T>(
  kind: ServerKind,
  opts: StartOptions | undefined,
  fn: (h: ServerHandle) => Promise<T>,
): Promise<T> {
  const h = await startServer(kind, opts);
  try {
    return await fn(h);
  } finally {
    await h.stop();
  }
}
