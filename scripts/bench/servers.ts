// Starting, restarting and stopping the two servers the benchmark compares, on loopback:
//   ref   Apache ZooKeeper 3.8 (Debian package) through shared/tools/ref-zk.sh, standalone
//   ours  zookeeper-ts, `node dist/src/cli/main.js start-foreground zoo.cfg`
// Both get the same zoo.cfg essentials (tickTime=2000, a fresh dataDir, clientPortAddress=127.0.0.1,
// every four-letter word allowed, no admin server) and log at WARN.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fourLetter, freePort, HOST } from '../../test/helpers/net';
import { addCleanup, isAlive, run, runSync, sleep, terminate } from './procs';

export { HOST };

export type ServerKind = 'ours' | 'ref';

export interface BenchServer {
  readonly kind: ServerKind;
  readonly port: number;
  readonly connectString: string;
  /** The data directory (snapshots and txn logs go under version-2/). */
  readonly dataDir: string;
  /** The server's process id (the JVM for ref, node for ours), or null when stopped. */
  pid(): number | null;
  /** Starts the process; resolves once `srvr` answers with a Mode line. Returns the spawn time (ms). */
  start(): Promise<number>;
  /** Graceful stop (SIGTERM, wait for exit). Idempotent. */
  stop(): Promise<void>;
}

// The socket helpers the test harnesses use (dependency-free: importing them starts nothing).
export { freePort, fourLetter };

/** The `Node count:` of a `srvr` answer, or null if the server is not serving yet. */
export function nodeCountOf(srvr: string): number | null {
  const m = /^Node count: (\d+)$/m.exec(srvr);
  return m === null ? null : Number(m[1]);
}

export async function nodeCount(port: number): Promise<number | null> {
  try {
    return nodeCountOf(await fourLetter(port, 'srvr'));
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes (`ps -o rss=`), or null if it cannot be read. */
/** Bytes the process has caused to be written (write_bytes of /proc/PID/io), or null. */
export function writtenBytes(pid: number): number | null {
  try {
    const m = /^write_bytes: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * Waits until none of `pids` has written anything for `quietMs` (at most `maxMs`), and returns
 * how long that took. Both servers write in the background after a point (the reference its
 * snapshots, ours its snapshot store when it falls quiet); a point measured while the other
 * server still writes would pay for that server's work.
 */
export async function waitDiskQuiet(pids: readonly number[], quietMs = 500, maxMs = 60_000): Promise<number> {
  const t0 = performance.now();
  let last = pids.map(writtenBytes);
  let quietSince = performance.now();
  while (performance.now() - t0 < maxMs) {
    await sleep(100);
    const now = pids.map(writtenBytes);
    if (now.some((b, i) => b !== last[i])) quietSince = performance.now();
    else if (performance.now() - quietSince >= quietMs) break;
    last = now;
  }
  return performance.now() - t0;
}

export function rssBytes(pid: number): number | null {
  const r = runSync('ps', ['-o', 'rss=', '-p', String(pid)]);
  const kb = Number.parseInt(r.stdout.trim(), 10);
  return Number.isFinite(kb) ? kb * 1024 : null;
}

/** How a process's resident memory divides (/proc/PID/status), in bytes. */
export interface RssSplit {
  /** RssAnon: heap, stacks, malloc arenas (for ours: the V8 heap and ArrayBuffers). */
  anonBytes: number;
  /** RssFile: mapped files (the binary and libraries; for ours also LMDB's map of its store). */
  fileBytes: number;
  /** RssShmem: shared memory. */
  shmemBytes: number;
}

/** The RssAnon / RssFile / RssShmem lines of /proc/PID/status, or null if it cannot be read. */
export function rssSplit(pid: number): RssSplit | null {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key: string): number | null => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
    return m === null ? null : Number(m[1]) * 1024;
  };
  const anonBytes = kb('RssAnon');
  const fileBytes = kb('RssFile');
  const shmemBytes = kb('RssShmem');
  if (anonBytes === null || fileBytes === null || shmemBytes === null) return null;
  return { anonBytes, fileBytes, shmemBytes };
}

async function waitServing(port: number, pid: () => number | null, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (/^Mode: /m.test(await fourLetter(port, 'srvr', 1000))) return;
    } catch {
      // not listening yet
    }
    const p = pid();
    if (p !== null && !isAlive(p)) throw new Error(`server on port ${port} exited during start; see ${logFile}`);
    await sleep(50);
  }
  throw new Error(`server on port ${port} did not start serving within ${timeoutMs} ms; see ${logFile}`);
}

export interface OursOptions {
  repoRoot: string;
  dir: string;
  port: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export function oursServer(o: OursOptions): BenchServer {
  const dataDir = path.join(o.dir, 'data');
  const cfgPath = path.join(o.dir, 'zoo.cfg');
  const logPath = path.join(o.dir, 'out.log');
  const main = path.join(o.repoRoot, 'dist/src/cli/main.js');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(
    cfgPath,
    [
      'tickTime=2000',
      'initLimit=10',
      'syncLimit=5',
      `dataDir=${dataDir}`,
      `clientPort=${o.port}`,
      `clientPortAddress=${HOST}`,
      '4lw.commands.whitelist=*',
      'admin.enableServer=false',
      '',
    ].join('\n'),
  );
  let pid: number | null = null;
  let unregister: (() => void) | null = null;
  const self: BenchServer = {
    kind: 'ours',
    port: o.port,
    connectString: `${HOST}:${o.port}`,
    dataDir,
    pid: () => pid,
    async start() {
      if (pid !== null) throw new Error('ours: already started');
      const out = fs.openSync(logPath, 'a');
      const t0 = performance.now();
      const child = spawn(process.execPath, [...(o.nodeArgs ?? []), main, 'start-foreground', cfgPath], {
        stdio: ['ignore', out, out],
        env: { ...process.env, ZOO_LOG_LEVEL: 'warn' },
        cwd: o.dir,
      });
      fs.closeSync(out);
      if (child.pid === undefined) throw new Error('ours: spawn failed');
      pid = child.pid;
      child.unref();
      const myPid = pid;
      unregister = addCleanup({
        name: `ours:${o.port}`,
        run: () => terminate(myPid),
        runSync: () => {
          if (isAlive(myPid)) process.kill(myPid, 'SIGKILL');
        },
      });
      await waitServing(o.port, () => pid, o.startTimeoutMs ?? 60_000, logPath);
      return t0;
    },
    async stop() {
      if (pid === null) return;
      await terminate(pid, 30_000);
      pid = null;
      unregister?.();
      unregister = null;
    },
  };
  return self;
}

export interface RefOptions {
  refScript: string;
  dir: string;
  port: number;
  heap: string;
  startTimeoutMs?: number;
}

export function refServer(o: RefOptions): BenchServer {
  const dataDir = path.join(o.dir, 's1', 'data');
  const pidFile = path.join(o.dir, 's1', 'pid');
  const logPath = path.join(o.dir, 's1', 'out.log');
  let unregister: (() => void) | null = null;
  let running = false;
  const readPid = (): number | null => {
    try {
      const n = Number.parseInt(fs.readFileSync(pidFile, 'utf8').trim(), 10);
      return Number.isFinite(n) ? n : null;
    } catch {
      return null;
    }
  };
  const stopSync = (): void => {
    runSync('bash', [o.refScript, 'stop', o.dir], 20_000);
  };
  const self: BenchServer = {
    kind: 'ref',
    port: o.port,
    connectString: `${HOST}:${o.port}`,
    dataDir,
    pid: () => (running ? readPid() : null),
    async start() {
      if (running) throw new Error('ref: already started');
      fs.mkdirSync(o.dir, { recursive: true });
      running = true;
      unregister = addCleanup({
        name: `ref:${o.port}`,
        run: async () => {
          await run('bash', [o.refScript, 'stop', o.dir], { timeoutMs: 30_000 });
        },
        runSync: stopSync,
      });
      const t0 = performance.now();
      // ref-zk.sh puts server i on BASEPORT+i; it waits (polling every 200 ms) until srvr shows a Mode.
      const started = run('bash', [o.refScript, 'start', o.dir, '1', String(o.port - 1)], {
        timeoutMs: o.startTimeoutMs ?? 120_000,
        env: { ...process.env, REF_ZK_HEAP: o.heap, REF_ZK_EXTRA: `clientPortAddress=${HOST}` },
      });
      // Poll on our own, faster than the script does, so that restart times are not rounded up to 200 ms.
      const serving = waitServing(o.port, readPid, o.startTimeoutMs ?? 120_000, logPath);
      serving.catch(() => undefined); // awaited below; do not let an early rejection go unhandled
      const r = await started;
      // ref-zk.sh gives up after 30 s; a restart over a large data set may take longer, so a failed
      // script only counts if the JVM is gone too.
      const p = readPid();
      if (r.code !== 0 && (p === null || !isAlive(p))) throw new Error(`ref-zk.sh start failed (${r.code}): ${r.stderr.trim()}`);
      await serving;
      return t0;
    },
    async stop() {
      if (!running) return;
      const r = await run('bash', [o.refScript, 'stop', o.dir], { timeoutMs: 30_000 });
      if (r.code !== 0) throw new Error(`ref-zk.sh stop failed: ${r.stderr.trim()}`);
      running = false;
      unregister?.();
      unregister = null;
    },
  };
  return self;
}

/** Which durability our server ran with: txn log files present in dataDir/version-2 after the run. */
export function durabilityOf(dataDir: string): { mode: 'durable' | 'in-memory'; logFiles: string[]; snapshotFiles: string[] } {
  const v2 = path.join(dataDir, 'version-2');
  let names: string[] = [];
  try {
    names = fs.readdirSync(v2);
  } catch {
    names = [];
  }
  const logFiles = names.filter((n) => n.startsWith('log.'));
  const snapshotFiles = names.filter((n) => n.startsWith('snapshot'));
  return { mode: logFiles.length > 0 ? 'durable' : 'in-memory', logFiles, snapshotFiles };
}

/**
 * Our server's live memory from its process.memoryUsage() after a full GC: the JS heap in use
 * plus the memory of ArrayBuffers. Znode values live in SharedArrayBuffers
 * (src/jute/value-memory.ts), which `arrayBuffers` counts and V8's `external` does not; the
 * node store's columns are ArrayBuffers, which both count. So the larger of the two is taken.
 */
export function liveBytesOf(m: { heapUsed: number; external: number; arrayBuffers?: number }): number {
  return m.heapUsed + Math.max(m.external, m.arrayBuffers ?? 0);
}
