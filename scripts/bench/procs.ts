// Child processes and servers the benchmark started, so that every one of them is stopped at the
// end: on normal completion, on an error, and on ctrl-C / SIGTERM.
//
// Async cleanups (stop a server gracefully, wait for it) run from `runCleanups()`. The 'exit'
// handler can only do synchronous work, so each cleanup also registers a synchronous fallback
// that sends SIGKILL (or runs `ref-zk.sh stop` with spawnSync).

import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Cleanup {
  name: string;
  /** Graceful stop; must be idempotent. */
  run(): Promise<void>;
  /** Last resort, synchronous; must be idempotent. */
  runSync(): void;
}

const cleanups = new Set<Cleanup>();
const children = new Set<ChildProcess>();
let hooksInstalled = false;
let aborting = false;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function trySignal(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  return trySignal(pid, 0);
}

/** Sends SIGTERM, waits up to `graceMs` for the process to go, then SIGKILL. */
export async function terminate(pid: number, graceMs = 10_000): Promise<void> {
  if (!trySignal(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  trySignal(pid, 'SIGKILL');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(20);
}

export function addCleanup(c: Cleanup): () => void {
  installHooks();
  cleanups.add(c);
  return () => cleanups.delete(c);
}

export async function runCleanups(): Promise<void> {
  for (const child of children) if (child.pid !== undefined) trySignal(child.pid, 'SIGKILL');
  const all = [...cleanups].reverse();
  for (const c of all) {
    try {
      await c.run();
    } catch (e) {
      process.stderr.write(`bench: cleanup ${c.name} failed: ${(e as Error).message}\n`);
      c.runSync();
    }
    cleanups.delete(c);
  }
}

export function isAborting(): boolean {
  return aborting;
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (aborting) {
      // A second ctrl-C: stop waiting, kill everything now.
      for (const c of cleanups) c.runSync();
      process.exit(130);
    }
    aborting = true;
    process.stderr.write(`\nbench: ${signal}: stopping every server started...\n`);
    runCleanups().then(
      () => process.exit(signal === 'SIGINT' ? 130 : 143),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => {
    for (const child of children) if (child.pid !== undefined) trySignal(child.pid, 'SIGKILL');
    for (const c of cleanups) c.runSync();
  });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a command to completion, collecting its output. `onStderrLine` sees stderr as it comes
 * (progress lines). The child is killed if the benchmark aborts or the timeout passes.
 */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; onStderrLine?: (line: string) => void },
): Promise<RunResult> {
  installHooks();
  return new Promise((resolve, reject) => {
    const so: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env };
    const child = spawn(cmd, args, so);
    children.add(child);
    let stdout = '';
    let stderr = '';
    let pending = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (opts.onStderrLine !== undefined) {
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          opts.onStderrLine(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) trySignal(child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Synchronous run for the 'exit' path and for quick probes (versions, ps). */
export function runSync(cmd: string, args: string[], timeoutMs = 30_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
