// Drives the ZooKeeper C client's interactive shell, cli_mt, and normalizes what it prints.
//
// How cli_mt (3.8.0, Debian) behaves with piped standard input:
// - No prompt and no echo. Almost everything goes to stderr; the harness merges stderr into the
//   stdout pipe so that the order is kept.
// - Every command except exists/wexists is asynchronous: the main thread sends the request and
//   reads the next line at once; results are printed later by the completion thread. At end of
//   input it says "bye" and exits without waiting for outstanding answers. Feeding the whole
//   script at once therefore loses output, so commands are sent one at a time.
// - Completions and watch notifications are delivered by one thread in arrival order. After
//   each command the harness sends "sync /zkts-mark-N" and waits until its completion
//   ("[/zkts-mark-N]: rc = 0" and "\tname = /zkts-mark-N") appears: by then everything that
//   command caused, its result and any watch events, has been printed. A sync does not change
//   the tree or the zxid, and the server accepts it for a path that does not exist.
// - "time = N msec" lines measure the client's own clock (and are garbage for get, which never
//   resets the start time); they are dropped.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { normalizeDate, SessionIds } from './normalize.js';
import { repoRoot } from './servers.js';

export const CLI_MT = '/usr/lib/zookeeper/bin/cli_mt';
export const CLI_MT_SESSION = path.join(repoRoot, 'test', 'clients', 'cli-mt-session.txt');

const MARK_PREFIX = '/zkts-mark-';

export function cliMtAvailable(): boolean {
  return fs.existsSync(CLI_MT);
}

export interface CliMtOptions {
  /** Time allowed for one command (and its barrier) to complete. */
  commandTimeoutMs?: number;
  /** Time allowed for the whole session. */
  totalTimeoutMs?: number;
}

/** Runs the commands in one cli_mt session and returns the normalized transcript. */
export async function runCliMt(connectString: string, commands: string[], opts: CliMtOptions = {}): Promise<string[]> {
  const commandTimeoutMs = opts.commandTimeoutMs ?? 10_000;
  const totalDeadline = Date.now() + (opts.totalTimeoutMs ?? 120_000);
  // exec through a shell so that 2>&1 makes stderr and stdout one pipe.
  const child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', CLI_MT, connectString], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), Math.max(1, totalDeadline - Date.now()) + 5_000);
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  child.stdin.on('error', () => undefined);

  let buffer = '';
  let waiter: (() => void) | null = null;
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString('utf8');
    waiter?.();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    waiter?.();
  });

  /** Waits until text appears in the output after position `from`; returns its index or -1. */
  const waitFor = async (text: string, from: number, timeoutMs: number): Promise<number> => {
    const deadline = Math.min(Date.now() + timeoutMs, totalDeadline);
    for (;;) {
      const idx = buffer.indexOf(text, from);
      if (idx >= 0) return idx;
      if (hasExited || Date.now() >= deadline) return -1;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      waiter = null;
    }
  };

  // Raw output of each step: [0] is the connection preamble, [n] is command n.
  const raw: string[] = [];
  let failure: string | null = null;
  let pos = 0;
  const steps = ['', ...commands];
  try {
    for (let i = 0; i < steps.length; i++) {
      const mark = `${MARK_PREFIX}${i}`;
      const cmd = steps[i]!;
      child.stdin.write((cmd === '' ? '' : `${cmd}\n`) + `sync ${mark}\n`);
      const barrier = `[${mark}]: rc = 0\n\tname = ${mark}\n`;
      const idx = await waitFor(barrier, pos, commandTimeoutMs);
      if (idx < 0) {
        raw.push(buffer.slice(pos));
        failure = hasExited ? 'cli_mt exited' : `timed out after ${commandTimeoutMs} ms`;
        break;
      }
      raw.push(buffer.slice(pos, idx));
      pos = idx + barrier.length;
    }
    if (failure === null) {
      child.stdin.write('quit\n');
      child.stdin.end();
      const quitDeadline = new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref());
      await Promise.race([exited, quitDeadline]);
    }
  } finally {
    clearTimeout(killTimer);
    if (!hasExited) child.kill('SIGKILL');
    await exited;
    process.removeListener('exit', onExit);
  }

  const sessions = new SessionIds();
  const transcript: string[] = [];
  raw.forEach((text, i) => {
    if (i > 0) transcript.push(`$ ${steps[i]}`);
    transcript.push(...normalizeCliMtChunk(text, sessions));
  });
  if (failure !== null) {
    transcript.push(`<cli_mt stopped: ${failure} at step ${raw.length - 1}>`);
    for (const cmd of steps.slice(raw.length)) transcript.push(`$ ${cmd}`, '<not run>');
  }
  return transcript;
}

export function normalizeCliMtChunk(text: string, sessions: SessionIds): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: string[] = [];
  for (const line of lines) {
    if (/^time = -?\d+ msec$/.test(line)) continue;
    let m = /^(\tctime = |\tmtime=)(.*)$/.exec(line);
    if (m) {
      out.push(`${m[1]}${normalizeDate(m[2]!)}`);
      continue;
    }
    m = /^(\tephemeralOwner = )([0-9a-f]+)$/.exec(line);
    if (m) {
      out.push(`${m[1]}${m[2] === '0' ? '0' : sessions.name(m[2]!)}`);
      continue;
    }
    m = /^(Got a new session id: )(0x[0-9a-f]+)$/.exec(line);
    if (m) {
      out.push(`${m[1]}${sessions.name(m[2]!)}`);
      continue;
    }
    out.push(line);
  }
  return out;
}

/** Reads a cli_mt session file (same format as the zkCli one). */
export function readCliMtSession(file = CLI_MT_SESSION): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}
