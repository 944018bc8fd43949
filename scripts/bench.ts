// `npm run bench`: zookeeper-ts against Apache ZooKeeper 3.8, side by side, standalone on loopback.
//
// Phases (choose with --phases, default load,memory):
//   load     both servers up on fresh data dirs; every point (op × value size × clients×inflight)
//            runs shared/bench/ZkBench.java against one server, then the other (the order
//            alternates point by point; never both at once: the machine has few cores).
//   memory   for each server in turn, alone: fresh start, fill N znodes of 128 B over 1,000 parents
//            (scripts/bench/Filler.java, async pipelined creates), RSS, clean restart, time from
//            spawn to serving every znode, RSS again.
//   profile  our server alone under `node --cpu-prof`, one process per profiled point; prints and
//            records the top self-time functions.
// Results: a table on stdout, docs/bench-results/latest.{json,md} (and <tag>.{json,md} with --tag).
//
// Options (argv, or the BENCH_* environment variable in brackets):
//   --quick                   smoke run: 1 s points, 128 B, 1×1 and 4×8, 20,000 znodes   [BENCH_QUICK=1]
//   --duration S              measured seconds per point (default 5)                     [BENCH_DURATION]
//   --ops a,b                 create,set,get,exists,mixed                                  [BENCH_OPS]
//   --sizes a,b               value bytes (default 128,4096)                               [BENCH_SIZES]
//   --conc CxK,..             clients × in flight (default 1x1,4x8,16x32)                  [BENCH_CONC]
//   --nodes N                 znodes for the memory phase (default 1000000)                [BENCH_NODES]
//   --parents N               parents they spread over (default 1000)
//   --phases load,memory,profile                                                           [BENCH_PHASES]
//   --profile                 add the profile phase
//   --profile-points op:size:CxK,..  (default create:128:4x8,set:128:4x8,get:128:4x8,get:4096:4x8)
//   --ref-heap 2g             -Xmx of the reference JVM                                    [BENCH_REF_HEAP]
//   --out DIR                 results directory (default docs/bench-results)
//   --tag NAME                also write DIR/NAME.json and DIR/NAME.md
//   --no-write                print only
//   --no-latest               with --tag: leave latest.{json,md} as they are
//   --keep                    keep the temporary data directories
//   --ours-root DIR           run the zookeeper-ts build in DIR/dist instead of this checkout's  [BENCH_OURS_ROOT]
//   (env only) BENCH_OURS_NODE_ARGS='--trace-gc ...'  extra node options for our server in the load phase
//                             (e.g. a frozen copy, so that rebuilds during a long run change nothing)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarize } from './bench/cpuprofile';
import {
  ALL_OPS,
  buildFiller,
  runFiller,
  runZkBench,
  type BenchPoint,
  type BenchResult,
  type Op,
} from './bench/loadgen';
import { isAborting, run, runCleanups, runSync, sleep } from './bench/procs';
import {
  durabilityOf,
  freePort,
  liveBytesOf,
  nodeCount,
  oursServer,
  refServer,
  rssBytes,
  rssSplit,
  waitDiskQuiet,
  type BenchServer,
} from './bench/servers';
import {
  isOk,
  mib,
  renderMarkdown,
  renderText,
  sizeLabel,
  type BenchReport,
  type Environment,
  type MemoryResult,
  type MemorySide,
  type PointResult,
  type ProfileResult,
} from './bench/report';

const repoRoot = findRepoRoot(__dirname);
const sharedDir = process.env['ZK_SHARED_DIR'] ?? path.resolve(repoRoot, '../shared');
const runSh = path.join(sharedDir, 'bench/run.sh');
const refScript = path.join(sharedDir, 'tools/ref-zk.sh');
const fillerSource = path.join(repoRoot, 'scripts/bench/Filler.java');

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

type Phase = 'load' | 'memory' | 'profile';

interface Options {
  quick: boolean;
  durationS: number;
  ops: Op[];
  sizes: number[];
  conc: [number, number][];
  nodes: number;
  parents: number;
  phases: Phase[];
  profilePoints: BenchPoint[];
  refHeap: string;
  outDir: string;
  tag: string | null;
  write: boolean;
  latest: boolean;
  keep: boolean;
  oursRoot: string;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\nsee the header of scripts/bench.ts for the options\n`);
  process.exit(2);
}

function parseConc(s: string): [number, number] {
  const m = /^(\d+)[x×*](\d+)$/.exec(s.trim());
  if (m === null) usage(`bad clients×inflight "${s}" (want e.g. 4x8)`);
  return [Number(m[1]), Number(m[2])];
}

function parseOp(s: string): Op {
  const op = s.trim() as Op;
  if (!ALL_OPS.includes(op)) usage(`unknown op "${s}" (want one of ${ALL_OPS.join(',')})`);
  return op;
}

function parsePositive(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) usage(`${what} must be a positive integer, got "${s}"`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const env = process.env;
  const args = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) usage(`unexpected argument "${a}"`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      args.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const key = a.slice(2);
    const flag = ['quick', 'profile', 'no-write', 'no-latest', 'keep', 'help'].includes(key);
    if (flag) args.set(key, true);
    else {
      const v = argv[++i];
      if (v === undefined) usage(`--${key} needs a value`);
      args.set(key, v);
    }
  }
  if (args.has('help')) usage('help');
  const known = ['quick', 'duration', 'ops', 'sizes', 'conc', 'nodes', 'parents', 'phases', 'profile', 'profile-points', 'ref-heap', 'out', 'tag', 'no-write', 'no-latest', 'keep', 'ours-root'];
  for (const k of args.keys()) if (!known.includes(k)) usage(`unknown option --${k}`);
  const str = (k: string, envKey: string | null): string | undefined => {
    const v = args.get(k);
    if (typeof v === 'string') return v;
    return envKey === null ? undefined : env[envKey];
  };
  const quick = args.get('quick') === true || env['BENCH_QUICK'] === '1';
  const durationS = parsePositive(str('duration', 'BENCH_DURATION') ?? (quick ? '1' : '5'), '--duration');
  const ops = (str('ops', 'BENCH_OPS') ?? ALL_OPS.join(',')).split(',').map(parseOp);
  const sizes = (str('sizes', 'BENCH_SIZES') ?? (quick ? '128' : '128,4096')).split(',').map((s) => parsePositive(s, '--sizes'));
  const conc = (str('conc', 'BENCH_CONC') ?? (quick ? '1x1,4x8' : '1x1,4x8,16x32')).split(',').map(parseConc);
  const nodes = parsePositive(str('nodes', 'BENCH_NODES') ?? (quick ? '20000' : '1000000'), '--nodes');
  const parents = parsePositive(str('parents', null) ?? '1000', '--parents');
  let phases = (str('phases', 'BENCH_PHASES') ?? 'load,memory').split(',').map((p) => {
    const t = p.trim();
    if (t !== 'load' && t !== 'memory' && t !== 'profile') usage(`unknown phase "${p}"`);
    return t as Phase;
  });
  if (args.get('profile') === true && !phases.includes('profile')) phases = [...phases, 'profile'];
  const profilePoints = (str('profile-points', null) ?? (quick ? 'create:128:4x8,get:128:4x8' : 'create:128:4x8,set:128:4x8,get:128:4x8,get:4096:4x8'))
    .split(',')
    .map((s) => {
      const [op, size, c] = s.split(':');
      if (op === undefined || size === undefined || c === undefined) usage(`bad profile point "${s}" (want op:size:CxK)`);
      const [clients, outstanding] = parseConc(c);
      return { op: parseOp(op), valueBytes: parsePositive(size, 'profile size'), clients, outstanding };
    });
  return {
    quick,
    durationS,
    ops,
    sizes,
    conc,
    nodes,
    parents,
    phases,
    profilePoints,
    refHeap: str('ref-heap', 'BENCH_REF_HEAP') ?? '2g',
    outDir: path.resolve(repoRoot, str('out', null) ?? 'docs/bench-results'),
    tag: str('tag', null) ?? null,
    write: args.get('no-write') !== true,
    latest: args.get('no-latest') !== true,
    keep: args.get('keep') === true,
    oursRoot: path.resolve(str('ours-root', 'BENCH_OURS_ROOT') ?? repoRoot),
  };
}

function environment(oursRoot: string): Environment {
  const java = runSync('java', ['-version']);
  const git = runSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  const dirty = runSync('git', ['-C', repoRoot, 'status', '--porcelain']);
  // A frozen copy may say which commit it was made from (BUILD-INFO, one line).
  let oursBuild = oursRoot === repoRoot ? 'this checkout' : oursRoot;
  try {
    oursBuild += `: ${fs.readFileSync(path.join(oursRoot, 'BUILD-INFO'), 'utf8').trim()}`;
  } catch {
    // no BUILD-INFO
  }
  return {
    node: `Node ${process.version}`,
    java: (java.stderr || java.stdout).trim(),
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.cpus().length,
    memTotalBytes: os.totalmem(),
    kernel: os.release(),
    gitCommit: git.stdout.trim() || 'unknown',
    gitDirty: dirty.stdout.trim().length > 0,
    oursBuild,
    loadAvgStart: os.loadavg()[0] ?? 0,
    loadAvgEnd: os.loadavg()[0] ?? 0,
  };
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function ensureAlive(s: BenchServer): Promise<void> {
  const pid = s.pid();
  if (pid !== null && (await nodeCount(s.port)) !== null) return;
  log(`${s.kind} is not answering; restarting it`);
  await s.stop().catch(() => undefined);
  await s.start();
}

// ---------------------------------------------------------------------------------------------
// load phase

async function loadPhase(o: Options, work: string): Promise<{ points: PointResult[]; mode: string }> {
  const ref = refServer({ refScript, dir: path.join(work, 'load-ref'), port: await freePort(), heap: o.refHeap });
  // BENCH_OURS_NODE_ARGS: extra node options for our server in the load phase (e.g. --trace-gc,
  // whose output lands in load-ours/out.log; keep it with --keep).
  const nodeArgs = (process.env['BENCH_OURS_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const ours = oursServer({ repoRoot: o.oursRoot, dir: path.join(work, 'load-ours'), port: await freePort(), nodeArgs });
  const points: PointResult[] = [];
  try {
    log(`starting ref on ${ref.connectString} and ours on ${ours.connectString}`);
    await ref.start();
    await ours.start();
    // Warm-up, not recorded: lets the reference JVM's JIT (and V8's) compile the request paths
    // before the first measured point, which would otherwise pay for it.
    const warmS = o.quick ? 1 : 3;
    for (const s of [ref, ours])
      for (const op of ['create', 'mixed'] as const) {
        log(`warm-up: ${s.kind} ${op} 4×8 for ${warmS} s`);
        await runZkBench(runSh, s.connectString, { op, valueBytes: 128, clients: 4, outstanding: 8 }, warmS);
      }
    const all: BenchPoint[] = [];
    for (const valueBytes of o.sizes)
      for (const [clients, outstanding] of o.conc) for (const op of o.ops) all.push({ op, valueBytes, clients, outstanding });
    let i = 0;
    for (const p of all) {
      if (isAborting()) break;
      const first: 'ours' | 'ref' = i++ % 2 === 0 ? 'ref' : 'ours';
      const results: Record<'ours' | 'ref', BenchResult | { error: string }> = { ours: { error: 'not run' }, ref: { error: 'not run' } };
      for (const s of first === 'ref' ? [ref, ours] : [ours, ref]) {
        try {
          await ensureAlive(s);
          // Neither server's background writes (snapshots, our store) may fall into the other's point.
          const waited = await waitDiskQuiet([ref.pid(), ours.pid()].filter((x): x is number => x !== null));
          if (waited > 2000) log(`waited ${(waited / 1000).toFixed(1)} s for both servers to stop writing`);
          results[s.kind] = await runZkBench(runSh, s.connectString, p, o.durationS);
        } catch (e) {
          if (isAborting()) throw e;
          results[s.kind] = { error: errText(e) };
          log(`${s.kind} ${p.op}: ${errText(e).split('\n')[0]}`);
        }
      }
      const ro = results.ours;
      const rr = results.ref;
      const ratio = isOk(ro) && isOk(rr) && rr.opsPerSec > 0 ? ro.opsPerSec / rr.opsPerSec : null;
      points.push({ ...p, ours: ro, ref: rr, ratio, first });
      log(
        `${i}/${all.length} ${p.op} ${sizeLabel(p.valueBytes)} ${p.clients}×${p.outstanding}: ` +
          `ours ${isOk(ro) ? Math.round(ro.opsPerSec) : 'error'} ref ${isOk(rr) ? Math.round(rr.opsPerSec) : 'error'} ops/s` +
          (ratio === null ? '' : ` (×${ratio.toFixed(2)})`),
      );
    }
  } finally {
    await ours.stop();
    await ref.stop();
  }
  const d = durabilityOf(ours.dataDir);
  return { points, mode: d.mode === 'durable' ? `durable (txn log: ${d.logFiles.join(', ')})` : 'in-memory (no txn log files in dataDir/version-2)' };
}

// ---------------------------------------------------------------------------------------------
// memory phase

async function liveHeapAfterGc(pid: number): Promise<number | null> {
  // Forces a full GC, then reads "garbage-first heap   total 123K, used 45K".
  const gc = await run('jcmd', [String(pid), 'GC.run'], { timeoutMs: 120_000 });
  if (gc.code !== 0) return null;
  const info = await run('jcmd', [String(pid), 'GC.heap_info'], { timeoutMs: 60_000 });
  const m = /heap\s+total\s+(\d+)K,\s+used\s+(\d+)K/.exec(info.stdout);
  return m === null ? null : Number(m[2]) * 1024;
}

/**
 * Our server's live memory after a full GC: JS heap in use plus ArrayBuffer memory (znode data
 * lives outside the JS heap; servers.ts, liveBytesOf). Opens the inspector with SIGUSR1 (the server was started with
 * --inspect-port) and asks it through scripts/bench/inspector-heap.ts.
 */
async function nodeLiveHeap(pid: number, inspectPort: number): Promise<number | null> {
  process.kill(pid, 'SIGUSR1');
  const helper = path.join(__dirname, 'bench/inspector-heap.js');
  const r = await run(process.execPath, ['--experimental-websocket', '--no-warnings', helper, `127.0.0.1:${inspectPort}`], { timeoutMs: 120_000 });
  try {
    return liveBytesOf(JSON.parse(r.stdout.trim()) as { heapUsed: number; external: number; arrayBuffers: number });
  } catch {
    log(`ours: could not read the live heap: ${(r.stderr || r.stdout).trim()}`);
    return null;
  }
}

async function measureMemory(o: Options, s: BenchServer, classes: string, inspectPort: number | null): Promise<MemorySide> {
  const side: MemorySide = { fill: null, nodeCountAfterFill: null, rssBeforeFillBytes: null, rssAfterFillBytes: null, restart: null };
  try {
    await s.start();
    await sleep(1000);
    side.rssBeforeFillBytes = rssBytes(s.pid()!);
    log(`${s.kind}: filling ${o.nodes} znodes (RSS before ${mib(side.rssBeforeFillBytes)})`);
    side.fill = await runFiller(classes, {
      connect: s.connectString,
      root: '/fill',
      nodes: o.nodes,
      parents: o.parents,
      valueBytes: 128,
      clients: FILL_CLIENTS,
      outstanding: FILL_OUTSTANDING,
      onProgress: (line) => log(`${s.kind}: ${line}`),
    });
    side.nodeCountAfterFill = await nodeCount(s.port);
    await sleep(2000); // let the last batch settle before reading RSS
    side.rssAfterFillBytes = rssBytes(s.pid()!);
    side.rssAfterFillSplit = rssSplit(s.pid()!);
    // And once more when a server that tidies up when idle (V8's memory reducer, our idle
    // collection, a JVM's periodic GC) has had time to.
    await sleep(SETTLE_MS);
    side.rssSettledBytes = rssBytes(s.pid()!);
    side.rssSettledSplit = rssSplit(s.pid()!);
    log(
      `${s.kind}: filled in ${side.fill.seconds.toFixed(1)} s (${Math.round(side.fill.opsPerSec)}/s), ${side.nodeCountAfterFill} znodes, ` +
        `RSS ${mib(side.rssAfterFillBytes)} (anon ${mib(side.rssAfterFillSplit?.anonBytes)}, file ${mib(side.rssAfterFillSplit?.fileBytes)}), ` +
        `${SETTLE_MS / 1000} s later ${mib(side.rssSettledBytes)}`,
    );
    if (s.kind === 'ref') side.liveHeapBytes = await liveHeapAfterGc(s.pid()!);
    else if (inspectPort !== null) side.liveHeapBytes = await nodeLiveHeap(s.pid()!, inspectPort);
    log(`${s.kind}: live heap after full GC ${mib(side.liveHeapBytes)}`);
    const target = side.nodeCountAfterFill;
    await s.stop();
    if (target === null) throw new Error('no Node count after the fill');
    side.restart = await timeRestart(s, target);
    log(
      `${s.kind}: restart ${side.restart.status}` +
        (side.restart.ms !== null ? ` in ${(side.restart.ms / 1000).toFixed(2)} s` : '') +
        `, ${side.restart.nodeCountAfter} znodes, RSS ${mib(side.restart.rssBytes)}` +
        ` (anon ${mib(side.restart.rssSplit?.anonBytes)}, file ${mib(side.restart.rssSplit?.fileBytes)})`,
    );
  } catch (e) {
    if (isAborting()) throw e;
    side.error = errText(e);
    log(`${s.kind}: memory phase failed: ${side.error.split('\n')[0]}`);
  } finally {
    await s.stop();
  }
  return side;
}

/** The second RSS reading comes this long after the first (2 s after the fill). */
const SETTLE_MS = 8000;
const FILL_CLIENTS = 4;
const FILL_OUTSTANDING = 250;
/** A server that serves fewer znodes than before the restart for this long has lost them. */
const LOST_AFTER_MS = 5000;
const RESTART_TIMEOUT_MS = 600_000;

async function timeRestart(s: BenchServer, target: number): Promise<NonNullable<MemorySide['restart']>> {
  let t0: number;
  try {
    t0 = await s.start();
  } catch (e) {
    return { status: 'error', ms: null, nodeCountAfter: null, rssBytes: null, detail: errText(e) };
  }
  let firstShortAt: number | null = null;
  for (;;) {
    const n = await nodeCount(s.port);
    const now = performance.now();
    if (n !== null && n >= target) {
      const ms = now - t0;
      await sleep(1000);
      return { status: 'ok', ms, nodeCountAfter: n, rssBytes: rssBytes(s.pid()!), rssSplit: rssSplit(s.pid()!) };
    }
    if (n !== null) {
      firstShortAt ??= now;
      if (now - firstShortAt > LOST_AFTER_MS) return { status: 'lost', ms: null, nodeCountAfter: n, rssBytes: rssBytes(s.pid()!) };
    }
    if (now - t0 > RESTART_TIMEOUT_MS) return { status: 'timeout', ms: null, nodeCountAfter: n, rssBytes: rssBytes(s.pid()!) };
    await sleep(20);
  }
}

async function memoryPhase(o: Options, work: string): Promise<{ result: MemoryResult; mode: string }> {
  const classes = await buildFiller(fillerSource);
  const ref = refServer({ refScript, dir: path.join(work, 'mem-ref'), port: await freePort(), heap: o.refHeap, startTimeoutMs: RESTART_TIMEOUT_MS });
  const refSide = await measureMemory(o, ref, classes, null);
  fs.rmSync(path.join(work, 'mem-ref'), { recursive: true, force: true });
  // The inspector stays closed until SIGUSR1 after the fill (see nodeLiveHeap).
  const inspectPort = await freePort();
  const ours = oursServer({
    repoRoot: o.oursRoot,
    dir: path.join(work, 'mem-ours'),
    port: await freePort(),
    startTimeoutMs: RESTART_TIMEOUT_MS,
    nodeArgs: [`--inspect-port=127.0.0.1:${inspectPort}`],
  });
  const oursSide = await measureMemory(o, ours, classes, inspectPort);
  const d = durabilityOf(ours.dataDir);
  return {
    result: {
      nodes: o.nodes,
      parents: o.parents,
      valueBytes: 128,
      fillClients: FILL_CLIENTS,
      fillOutstanding: FILL_OUTSTANDING,
      refHeap: o.refHeap,
      ours: oursSide,
      ref: refSide,
    },
    mode: d.mode === 'durable' ? `durable (txn log: ${d.logFiles.length} file(s))` : 'in-memory (no txn log files in dataDir/version-2)',
  };
}

// ---------------------------------------------------------------------------------------------
// profile phase

async function profilePhase(o: Options, work: string, profDir: string): Promise<ProfileResult[]> {
  const out: ProfileResult[] = [];
  for (const p of o.profilePoints) {
    if (isAborting()) break;
    const name = `${p.op}-${p.valueBytes}-${p.clients}x${p.outstanding}`;
    const dir = path.join(work, `prof-${name}`);
    const before = new Set(fs.existsSync(profDir) ? fs.readdirSync(profDir) : []);
    const ours = oursServer({
      repoRoot: o.oursRoot,
      dir,
      port: await freePort(),
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=ours-${name}-${Date.now()}.cpuprofile`],
    });
    let load: BenchResult | { error: string };
    try {
      await ours.start();
      log(`profiling ours under ${p.op} ${sizeLabel(p.valueBytes)} ${p.clients}×${p.outstanding}`);
      load = await runZkBench(runSh, ours.connectString, p, Math.max(o.durationS, 5)).catch((e: unknown) => ({ error: errText(e) }));
    } finally {
      await ours.stop(); // SIGTERM → process.exit → the profile is written
    }
    const file = fs.readdirSync(profDir).find((f) => !before.has(f) && f.endsWith('.cpuprofile'));
    if (file === undefined) {
      log(`no .cpuprofile appeared in ${profDir} for ${name}`);
      continue;
    }
    const full = path.join(profDir, file);
    out.push({ point: p, seconds: Math.max(o.durationS, 5), load, profileFile: full, summary: summarize(full, o.oursRoot, 25) });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  for (const f of [runSh, refScript, '/usr/share/java/zookeeper.jar', path.join(o.oursRoot, 'dist/src/cli/main.js')]) {
    if (!fs.existsSync(f)) usage(`missing ${f} (need shared/bench, shared/tools, Debian's zookeeper package, and a build)`);
  }
  const startedAt = new Date().toISOString();
  if ((os.loadavg()[0] ?? 0) > 0.5) log(`note: 1-minute load average is ${(os.loadavg()[0] ?? 0).toFixed(2)} before starting; other work will skew the figures`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zkbench-'));
  log(`work directory ${work}; phases ${o.phases.join(',')}; ${o.durationS} s per point`);
  const report: BenchReport = {
    version: 1,
    startedAt,
    finishedAt: startedAt,
    options: {
      quick: o.quick,
      durationS: o.durationS,
      ops: o.ops,
      sizes: o.sizes,
      conc: o.conc.map(([c, k]) => `${c}x${k}`),
      nodes: o.nodes,
      parents: o.parents,
      phases: o.phases,
      refHeap: o.refHeap,
    },
    environment: environment(o.oursRoot),
    oursMode: { load: null, memory: null, detail: '' },
    load: [],
    memory: null,
    profiles: [],
  };
  let failure: unknown = null;
  try {
    if (o.phases.includes('load')) {
      const r = await loadPhase(o, work);
      report.load = r.points;
      report.oursMode.load = r.mode;
    }
    if (o.phases.includes('memory') && !isAborting()) {
      const r = await memoryPhase(o, work);
      report.memory = r.result;
      report.oursMode.memory = r.mode;
    }
    if (o.phases.includes('profile') && !isAborting()) {
      const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkbench-profiles-'));
      report.profiles = await profilePhase(o, work, profDir);
      log(`CPU profiles kept in ${profDir}`);
    }
  } catch (e) {
    failure = e;
  } finally {
    await runCleanups();
    if (!o.keep) fs.rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
  if (isAborting()) return;
  report.finishedAt = new Date().toISOString();
  report.environment.loadAvgEnd = os.loadavg()[0] ?? 0;
  const modes = [report.oursMode.load, report.oursMode.memory].filter((m): m is string => m !== null);
  const inMemory = modes.some((m) => m.startsWith('in-memory'));
  report.oursMode.detail =
    modes.length === 0
      ? 'in an unknown mode (no load or memory phase)'
      : inMemory
        ? 'IN-MEMORY: no txn log, no fsync — write figures are not comparable to the reference, which fsyncs every batch'
        : 'durable: txn log written under dataDir/version-2';
  process.stdout.write(renderText(report) + '\n');
  if (o.write && (report.load.length > 0 || report.memory !== null || report.profiles.length > 0)) {
    fs.mkdirSync(o.outDir, { recursive: true });
    const names = [...(o.latest || o.tag === null ? ['latest'] : []), ...(o.tag !== null ? [o.tag] : [])];
    for (const n of names) {
      fs.writeFileSync(path.join(o.outDir, `${n}.json`), JSON.stringify(report, null, 2) + '\n');
      fs.writeFileSync(path.join(o.outDir, `${n}.md`), renderMarkdown(report));
    }
    log(`wrote ${names.map((n) => path.relative(repoRoot, path.join(o.outDir, n + '.{json,md}'))).join(', ')}`);
  }
  if (failure !== null) throw failure;
}

main().then(
  () => process.exit(0),
  async (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
