// Server processes that the test harnesses start: spawned with their output kept (the tail only,
// bounded), stopped with SIGTERM and then SIGKILL after a grace period, and killed when the test
// process exits, even after a crash, so that no server outlives the test that started it.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fourLetterAt, HOST } from './net.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Tracked {
  child: ChildProcess;
  /** The last part of everything the process wrote to stdout and stderr. */
  output(): string;
  exited: Promise<ExitStatus>;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGKILL (no chance to flush anything), then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM; SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** How much of the output to keep (default 200,000 characters). */
  keepChars?: number;
  /**
   * Send the output to this file instead of a pipe (the process then never blocks on a reader);
   * output() reads the file's tail.
   */
  logFile?: string;
  /** The grace period of stop() when none is given (default 5 s). */
  graceMs?: number;
  /**
   * Let this test process exit while the child still runs (the exit hook then kills it), so that
   * a server a test forgot to stop cannot hold the test runner until its timeout. Only for
   * callers that never wait on the child with nothing else keeping the event loop alive.
   */
  unref?: boolean;
}

export function spawnTracked(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Tracked {
  installExitHook();
  const keepChars = opts.keepChars ?? 200_000;
  let out = '';
  let child: ChildProcess;
  if (opts.logFile !== undefined) {
    const fd = fs.openSync(opts.logFile, 'w');
    child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
  } else {
    child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      out = (out + d.toString('utf8')).slice(-keepChars);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }
  child.once('error', (err) => {
    out = (out + `spawn error: ${String(err)}\n`).slice(-keepChars);
  });
  live.add(child);
  if (opts.unref === true) {
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const logFile = opts.logFile;
  const output = (): string => {
    if (logFile === undefined) return out;
    try {
      return out + fs.readFileSync(logFile, 'utf8').slice(-keepChars);
    } catch {
      return out;
    }
  };
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill = async (): Promise<void> => {
    if (alive()) child.kill('SIGKILL');
    if (child.pid !== undefined) await exited;
  };
  const stop = async (graceMs = opts.graceMs ?? 5000): Promise<void> => {
    if (!alive()) return;
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) await kill();
  };
  return { child, output, exited, alive, kill, stop };
}

/**
 * Polls `srvr` on host:port until it answers like a ZooKeeper server (a `Mode:` line). Throws,
 * with the tail of the process's output, if the process exits first or `timeoutMs` passes.
 */
export async function waitForSrvr(p: Tracked, port: number, timeoutMs: number, host = HOST): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!p.alive()) {
      throw new Error(`server exited during startup (code ${p.child.exitCode}, signal ${p.child.signalCode}):\n${p.output().slice(-4000)}`);
    }
    try {
      const answer = await fourLetterAt(host, port, 'srvr', 2000);
      if (answer.includes('Mode:')) return;
      last = `srvr answered: ${JSON.stringify(answer.slice(0, 200))}`;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`server did not answer srvr within ${timeoutMs} ms (last: ${last}):\n${p.output().slice(-4000)}`);
    await sleep(50);
  }
}
