/**
 * Our server started with a zoo.cfg the test writes in full, for the network tests: they need
 * what test/helpers/servers.ts's startOurs fixes (clientPortAddress) and what it hides (the
 * server's log, to check that a refused connection says why).
 *
 * With clientPortAddress unset the server binds every address, as Apache ZooKeeper does; the
 * tests still only ever connect to loopback (127.0.0.1 and ::1).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sleep, spawnTracked, waitForSrvr } from '../helpers/child';
import { freePort, repoRoot } from '../helpers/servers';

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
  // The output is kept whole up to 1 MB: waitForLog searches all of it.
  const p = spawnTracked(process.execPath, [main, 'start-foreground', cfgPath], { cwd: dir, env: opts.env, keepChars: 1_000_000 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await p.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForSrvr(p, port, 15_000, opts.clientPortAddress === '::1' ? '::1' : '127.0.0.1');
  } catch (e) {
    await stop();
    throw new Error(`our server did not start on port ${port}: ${(e as Error).message}`);
  }
  const output = p.output;
  const waitForLog = async (re: RegExp, timeoutMs: number): Promise<string> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const line = output().split('\n').find((l) => re.test(l));
      if (line !== undefined) return line;
      if (Date.now() > until) throw new Error(`no log line matching ${re} within ${timeoutMs} ms; log tail:\n${output().slice(-2000)}`);
      await sleep(25);
    }
  };
  return { port, output, waitForLog, alive: p.alive, stop };
}
