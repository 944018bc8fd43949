/**
 * Our server started with a zoo.cfg the test writes in full, for the network tests: they need
 * what test/helpers/servers.ts's startOurs fixes (clientPortAddress) and what it hides (the
 * server's log, to check that a refused connection says why).
 *
 * With clientPortAddress unset the server binds every address, as Apache ZooKeeper does; the
 * tests still only ever connect to loopback (127.0.0.1 and ::1).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot } from '../helpers/servers';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface OurServer {
  port: number;
  /** Everything the server logged so far (pino JSON lines). */
  output(): string;
  /** Waits until a log line matches; returns it. */
  waitForLog(re: RegExp, timeoutMs: number): Promise<string>;
  alive(): boolean;
  stop(): Promise<void>;
}

export interface OurServerOptions {
  /** null leaves clientPortAddress out of zoo.cfg. */
  clientPortAddress: string | null;
  extraCfg?: string[];
  env?: Record<string, string>;
}

/** Sends a four-letter word to host:port and returns the answer. */
export function fourLetterAt(host: string, port: number, word: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${word} to [${host}]:${port} timed out`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(word));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** Resolves with the connect error code ('ECONNREFUSED'...), or 'connected'. */
export function tryConnect(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('timeout');
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

export async function startOurServer(opts: OurServerOptions): Promise<OurServer> {
  const main = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`our server is not built: ${main} is missing`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'zkts-net-'));
  const port = await freePort();
  const cfg = [
    'tickTime=2000',
    `dataDir=${path.join(dir, 'data')}`,
    `clientPort=${port}`,
    ...(opts.clientPortAddress === null ? [] : [`clientPortAddress=${opts.clientPortAddress}`]),
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
    ...(opts.extraCfg ?? []),
  ];
  await fsp.mkdir(path.join(dir, 'data'));
  const cfgPath = path.join(dir, 'zoo.cfg');
  await fsp.writeFile(cfgPath, cfg.join('\n') + '\n');
  const child = spawn(process.execPath, [main, 'start-foreground', cfgPath], {
    cwd: dir,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let output = '';
  // Bounded: only the tail is kept, which is all a test looks at.
  const keep = (d: Buffer) => {
    output = (output + d.toString('utf8')).slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (alive()) {
      child.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    process.removeListener('exit', killOnExit);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const readyHost = opts.clientPortAddress === '::1' ? '::1' : '127.0.0.1';
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await fourLetterAt(readyHost, port, 'srvr', 1000).catch(() => '');
    if (answer.includes('Mode:')) break;
    if (!alive() || Date.now() > deadline) {
      await stop();
      throw new Error(`our server did not start on port ${port}:\n${output.slice(-3000)}`);
    }
    await sleep(100);
  }
  const waitForLog = async (re: RegExp, timeoutMs: number): Promise<string> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const line = output.split('\n').find((l) => re.test(l));
      if (line !== undefined) return line;
      if (Date.now() > until) throw new Error(`no log line matching ${re} within ${timeoutMs} ms; log tail:\n${output.slice(-2000)}`);
      await sleep(25);
    }
  };
  return { port, output: () => output, waitForLog, alive, stop };
}
