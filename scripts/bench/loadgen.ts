// The load generators, both on Apache ZooKeeper 3.8's Java client:
//   ZkBench  shared/bench/run.sh (builds once, caches classes in /tmp/zkbench-classes)
//   Filler   scripts/bench/Filler.java, compiled here with the same class path into
//            <tmpdir>/zkbench-filler-classes when missing or older than its source

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from './procs';

export type Op = 'create' | 'set' | 'get' | 'exists' | 'mixed';
export const ALL_OPS: readonly Op[] = ['create', 'set', 'get', 'exists', 'mixed'];

export interface BenchPoint {
  op: Op;
  valueBytes: number;
  clients: number;
  outstanding: number;
}

export interface BenchResult {
  opsPerSec: number;
  ops: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  errors: number;
}

// The class path run.sh uses (Debian's jars).
const JARS = [
  'zookeeper',
  'zookeeper-jute',
  'slf4j-api',
  'slf4j-nop',
  'netty-handler',
  'netty-common',
  'netty-transport',
  'netty-buffer',
  'netty-resolver',
  'netty-codec',
  'netty-transport-native-epoll',
  'netty-transport-native-unix-common',
];
const CLASS_PATH = JARS.map((j) => `/usr/share/java/${j}.jar`).join(':');

function parseKv(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const tok of line.trim().split(/\s+/)) {
    const eq = tok.indexOf('=');
    if (eq > 0) m.set(tok.slice(0, eq), tok.slice(eq + 1));
  }
  return m;
}

function num(m: Map<string, string>, key: string, line: string): number {
  const v = m.get(key);
  const n = v === undefined ? Number.NaN : Number(v);
  if (!Number.isFinite(n)) throw new Error(`no ${key}= in "${line}"`);
  return n;
}

/** Runs one ZkBench point against a server; `seconds` of measurement after its own warm-up. */
export async function runZkBench(runSh: string, connect: string, p: BenchPoint, seconds: number, root = '/bench'): Promise<BenchResult> {
  const args = [runSh, connect, p.op, String(p.clients), String(p.outstanding), String(seconds), String(p.valueBytes), root];
  const r = await run('bash', args, { timeoutMs: (seconds + 120) * 1000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('op='));
  if (r.code !== 0 || line === undefined) {
    throw new Error(`ZkBench ${p.op} against ${connect} failed (code ${r.code}${r.timedOut ? ', timed out' : ''}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  }
  const m = parseKv(line);
  return {
    opsPerSec: num(m, 'ops_per_s', line),
    ops: num(m, 'ops', line),
    p50Us: num(m, 'p50_us', line),
    p99Us: num(m, 'p99_us', line),
    p999Us: num(m, 'p999_us', line),
    errors: num(m, 'errors', line),
  };
}

export function fillerClassesDir(): string {
  return process.env['ZKBENCH_FILLER_CLASSES'] ?? path.join(os.tmpdir(), 'zkbench-filler-classes');
}

/** Compiles Filler.java unless an up-to-date class is already there. */
export async function buildFiller(source: string): Promise<string> {
  const out = fillerClassesDir();
  const cls = path.join(out, 'Filler.class');
  const fresh = fs.existsSync(cls) && fs.statSync(cls).mtimeMs >= fs.statSync(source).mtimeMs;
  if (!fresh) {
    fs.mkdirSync(out, { recursive: true });
    const r = await run('javac', ['-d', out, '-cp', CLASS_PATH, source], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`javac Filler.java failed: ${r.stderr.trim()}`);
  }
  return out;
}

export interface FillResult {
  created: number;
  existed: number;
  errors: number;
  seconds: number;
  opsPerSec: number;
}

export interface FillOptions {
  connect: string;
  root: string;
  nodes: number;
  parents: number;
  valueBytes: number;
  clients: number;
  outstanding: number;
  onProgress?: (line: string) => void;
}

export async function runFiller(classesDir: string, o: FillOptions): Promise<FillResult> {
  const args = [
    '-cp',
    `${classesDir}:${CLASS_PATH}`,
    'Filler',
    o.connect,
    o.root,
    String(o.nodes),
    String(o.parents),
    String(o.valueBytes),
    String(o.clients),
    String(o.outstanding),
  ];
  // Generous: at 1,000 creates/s a million nodes take ~17 minutes.
  const timeoutMs = Math.max(120_000, o.nodes * 1.2);
  const r = await run('java', args, { timeoutMs, ...(o.onProgress ? { onStderrLine: o.onProgress } : {}) });
  const line = r.stdout.split('\n').find((l) => l.startsWith('created='));
  if (line === undefined) {
    throw new Error(`Filler against ${o.connect} failed (code ${r.code}${r.timedOut ? ', timed out' : ''}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  }
  const m = parseKv(line);
  const res: FillResult = {
    created: num(m, 'created', line),
    existed: num(m, 'existed', line),
    errors: num(m, 'errors', line),
    seconds: num(m, 'seconds', line),
    opsPerSec: num(m, 'ops_per_s', line),
  };
  if (res.errors > 0) throw new Error(`Filler against ${o.connect}: ${res.errors} creates failed (${line})`);
  return res;
}
