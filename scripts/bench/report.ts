// The result record of one `npm run bench` run and its renderings: a plain-text table for the
// terminal and a markdown page for docs/bench-results/.

import type { BenchPoint, BenchResult, FillResult } from './loadgen';
import type { ProfileSummary } from './cpuprofile';
import { summaryToMarkdown } from './cpuprofile';
import type { RssSplit } from './servers';

export interface PointResult extends BenchPoint {
  ours: BenchResult | { error: string };
  ref: BenchResult | { error: string };
  /** ours ops/s divided by ref ops/s, or null if either failed. */
  ratio: number | null;
  /** Which server ran first at this point (they alternate). */
  first: 'ours' | 'ref';
}

export interface MemorySide {
  fill: FillResult | null;
  nodeCountAfterFill: number | null;
  rssBeforeFillBytes: number | null;
  rssAfterFillBytes: number | null;
  /** RssAnon / RssFile / RssShmem read with rssAfterFillBytes (absent in results from before they were recorded). */
  rssAfterFillSplit?: RssSplit | null;
  /** RSS and its split 10 s after the fill (8 s after rssAfterFillBytes), once idle-time GC could run. */
  rssSettledBytes?: number | null;
  rssSettledSplit?: RssSplit | null;
  /**
   * Live memory right after a forced full GC. ref: Java heap used (jcmd GC.run, GC.heap_info).
   * ours: V8 heap used + ArrayBuffer memory (servers.ts, liveBytesOf), through the inspector.
   */
  liveHeapBytes?: number | null;
  restart: {
    status: 'ok' | 'lost' | 'timeout' | 'error';
    /** Process spawn to `srvr` showing every znode, ms; null unless status is ok. */
    ms: number | null;
    nodeCountAfter: number | null;
    rssBytes: number | null;
    /** RssAnon / RssFile / RssShmem read with rssBytes. */
    rssSplit?: RssSplit | null;
    detail?: string;
  } | null;
  error?: string;
}

export interface MemoryResult {
  nodes: number;
  parents: number;
  valueBytes: number;
  fillClients: number;
  fillOutstanding: number;
  refHeap: string;
  ours: MemorySide;
  ref: MemorySide;
}

export interface ProfileResult {
  point: BenchPoint;
  seconds: number;
  load: BenchResult | { error: string };
  profileFile: string;
  summary: ProfileSummary;
}

export interface Environment {
  node: string;
  java: string;
  cpu: string;
  cores: number;
  memTotalBytes: number;
  kernel: string;
  gitCommit: string;
  gitDirty: boolean;
  /** Which zookeeper-ts build ran (this checkout, or a frozen copy given with --ours-root). */
  oursBuild: string;
  /** 1-minute load average when the run started and when it ended: other work on the machine skews the figures. */
  loadAvgStart: number;
  loadAvgEnd: number;
}

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  options: Record<string, unknown>;
  environment: Environment;
  /** How our server kept its data in the load phase: txn log files in dataDir/version-2 afterwards. */
  oursMode: { load: string | null; memory: string | null; detail: string };
  load: PointResult[];
  memory: MemoryResult | null;
  profiles: ProfileResult[];
}

export function isOk(r: BenchResult | { error: string }): r is BenchResult {
  return !('error' in r);
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtRatio = (r: number | null): string => (r === null ? 'n/a' : r.toFixed(2));
const lat = (r: BenchResult | { error: string }): string => (isOk(r) ? `${r.p50Us} / ${r.p99Us} / ${r.p999Us}` : 'error');
const ops = (r: BenchResult | { error: string }): string => (isOk(r) ? fmtInt(r.opsPerSec) + (r.errors > 0 ? ` (${r.errors} err)` : '') : 'error');
export const sizeLabel = (b: number): string => (b >= 1024 && b % 1024 === 0 ? `${b / 1024} KB` : `${b} B`);
export const mib = (b: number | null | undefined): string => (b === null || b === undefined ? 'n/a' : `${(b / 1048576).toFixed(0)} MiB`);

function loadRows(points: PointResult[]): string[][] {
  return points.map((p) => [
    p.op,
    sizeLabel(p.valueBytes),
    `${p.clients}×${p.outstanding}`,
    ops(p.ours),
    ops(p.ref),
    fmtRatio(p.ratio),
    lat(p.ours),
    lat(p.ref),
  ]);
}

const LOAD_HEAD = ['op', 'size', 'clients×inflight', 'ours ops/s', 'ref ops/s', 'ours/ref', 'ours p50/p99/p999 µs', 'ref p50/p99/p999 µs'];

export function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(head: string[], rows: string[][], rightFrom = 3): string {
  const sep = head.map((_, i) => (i >= rightFrom ? '---:' : '---'));
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function memoryRows(m: MemoryResult): string[][] {
  const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
    a === null || a === undefined || b === null || b === undefined || b === 0 ? 'n/a' : (a / b).toFixed(2);
  const perNode = (s: MemorySide): number | null =>
    s.rssAfterFillBytes === null || s.rssBeforeFillBytes === null ? null : (s.rssAfterFillBytes - s.rssBeforeFillBytes) / m.nodes;
  const restartText = (s: MemorySide): string => {
    const r = s.restart;
    if (r === null) return s.error !== undefined ? 'error' : 'n/a';
    if (r.status === 'ok' && r.ms !== null) return `${(r.ms / 1000).toFixed(2)} s`;
    if (r.status === 'lost') return `n/a (in-memory: ${r.nodeCountAfter ?? '?'} znodes after restart)`;
    return `${r.status}${r.detail !== undefined ? ` (${r.detail})` : ''}`;
  };
  const restartMs = (s: MemorySide): number | null => (s.restart?.status === 'ok' ? s.restart.ms : null);
  const fillRate = (s: MemorySide): number | null => s.fill?.opsPerSec ?? null;
  const o = m.ours;
  const r = m.ref;
  return [
    ['znodes after fill (srvr Node count)', String(o.nodeCountAfterFill ?? 'n/a'), String(r.nodeCountAfterFill ?? 'n/a'), ''],
    [
      `fill rate (creates/s, ${m.fillClients}×${m.fillOutstanding} pipelined)`,
      fillRate(o) === null ? 'n/a' : fmtInt(fillRate(o)!),
      fillRate(r) === null ? 'n/a' : fmtInt(fillRate(r)!),
      ratio(fillRate(o), fillRate(r)),
    ],
    ['RSS before fill', mib(o.rssBeforeFillBytes), mib(r.rssBeforeFillBytes), ratio(o.rssBeforeFillBytes, r.rssBeforeFillBytes)],
    ['RSS after fill', mib(o.rssAfterFillBytes), mib(r.rssAfterFillBytes), ratio(o.rssAfterFillBytes, r.rssAfterFillBytes)],
    ['… of which anonymous (RssAnon)', mib(o.rssAfterFillSplit?.anonBytes), mib(r.rssAfterFillSplit?.anonBytes), ratio(o.rssAfterFillSplit?.anonBytes, r.rssAfterFillSplit?.anonBytes)],
    ['… of which file-backed (RssFile)', mib(o.rssAfterFillSplit?.fileBytes), mib(r.rssAfterFillSplit?.fileBytes), ratio(o.rssAfterFillSplit?.fileBytes, r.rssAfterFillSplit?.fileBytes)],
    ['RSS 10 s after fill', mib(o.rssSettledBytes), mib(r.rssSettledBytes), ratio(o.rssSettledBytes, r.rssSettledBytes)],
    ['… of which anonymous (RssAnon)', mib(o.rssSettledSplit?.anonBytes), mib(r.rssSettledSplit?.anonBytes), ratio(o.rssSettledSplit?.anonBytes, r.rssSettledSplit?.anonBytes)],
    ['… of which file-backed (RssFile)', mib(o.rssSettledSplit?.fileBytes), mib(r.rssSettledSplit?.fileBytes), ratio(o.rssSettledSplit?.fileBytes, r.rssSettledSplit?.fileBytes)],
    [
      'RSS growth per znode',
      perNode(o) === null ? 'n/a' : `${perNode(o)!.toFixed(0)} B`,
      perNode(r) === null ? 'n/a' : `${perNode(r)!.toFixed(0)} B`,
      ratio(perNode(o), perNode(r)),
    ],
    ['live heap after full GC', mib(o.liveHeapBytes), mib(r.liveHeapBytes), ratio(o.liveHeapBytes, r.liveHeapBytes)],
    [
      'live heap / znodes (empty-server baseline included)',
      o.liveHeapBytes === null || o.liveHeapBytes === undefined ? 'n/a' : `${(o.liveHeapBytes / m.nodes).toFixed(0)} B`,
      r.liveHeapBytes === null || r.liveHeapBytes === undefined ? 'n/a' : `${(r.liveHeapBytes / m.nodes).toFixed(0)} B`,
      '',
    ],
    ['restart: spawn to serving every znode', restartText(o), restartText(r), ratio(restartMs(o), restartMs(r))],
    ['RSS after restart', mib(o.restart?.rssBytes), mib(r.restart?.rssBytes), ratio(o.restart?.rssBytes, r.restart?.rssBytes)],
    ['… of which anonymous (RssAnon)', mib(o.restart?.rssSplit?.anonBytes), mib(r.restart?.rssSplit?.anonBytes), ratio(o.restart?.rssSplit?.anonBytes, r.restart?.rssSplit?.anonBytes)],
    ['… of which file-backed (RssFile)', mib(o.restart?.rssSplit?.fileBytes), mib(r.restart?.rssSplit?.fileBytes), ratio(o.restart?.rssSplit?.fileBytes, r.restart?.rssSplit?.fileBytes)],
  ];
}

const MEM_HEAD = ['', 'ours', 'ref', 'ours/ref'];

export function renderText(rep: BenchReport): string {
  const out: string[] = [];
  out.push(`zookeeper-ts vs Apache ZooKeeper 3.8 (standalone, loopback) — ${rep.startedAt}`);
  out.push(`ours ran ${rep.oursMode.detail}`);
  const e = rep.environment;
  out.push(`load average ${e.loadAvgStart.toFixed(2)} → ${e.loadAvgEnd.toFixed(2)} on ${e.cores} cores${Math.max(e.loadAvgStart, e.loadAvgEnd) > 1 ? ' — other work was running: noisy figures' : ''}`);
  if (rep.load.length > 0) out.push('', textTable(LOAD_HEAD, loadRows(rep.load)));
  if (rep.memory !== null) {
    const m = rep.memory;
    out.push('', `memory and restart: ${fmtInt(m.nodes)} znodes of ${m.valueBytes} B under ${m.parents} parents (ref heap -Xmx${m.refHeap})`);
    out.push(textTable(MEM_HEAD, memoryRows(m)).replace(/^/gm, ''));
  }
  for (const p of rep.profiles) {
    out.push('', `profile of ours under ${p.point.op} ${sizeLabel(p.point.valueBytes)} ${p.point.clients}×${p.point.outstanding}: ${p.profileFile}`);
    out.push(
      textTable(
        ['function', 'location', 'self %', 'incl %'],
        p.summary.top.slice(0, 15).map((r) => [r.name, r.location, r.selfPct.toFixed(1), r.totalPct.toFixed(1)]),
      ),
    );
  }
  return out.join('\n');
}

export function renderMarkdown(rep: BenchReport): string {
  const e = rep.environment;
  const out: string[] = [];
  out.push('# Benchmark results: zookeeper-ts vs Apache ZooKeeper 3.8', '');
  out.push(
    `Run ${rep.startedAt} → ${rep.finishedAt} by \`npm run bench\` (scripts/bench.ts); options: \`${JSON.stringify(rep.options)}\`.`,
    '',
    `Machine: ${e.cpu}, ${e.cores} cores, ${(e.memTotalBytes / 2 ** 30).toFixed(0)} GiB, Linux ${e.kernel}; ${e.node}; ${e.java.split('\n')[0] ?? ''}. ` +
      `Harness at commit ${e.gitCommit}${e.gitDirty ? ' (with uncommitted changes)' : ''}; zookeeper-ts build measured: ${e.oursBuild}. ` +
      `1-minute load average ${e.loadAvgStart.toFixed(2)} at the start, ${e.loadAvgEnd.toFixed(2)} at the end` +
      (Math.max(e.loadAvgStart, e.loadAvgEnd) > 1 ? ' (other work was running on the machine: treat the figures as noisy).' : '.'),
    '',
    `**Our server ran ${rep.oursMode.detail}.**`,
    '',
    'Both servers standalone on 127.0.0.1, fresh data directories, driven alternately (never at the same time) by the same load generator, ' +
      '`shared/bench/ZkBench.java` on the Apache ZooKeeper 3.8 Java client. ops/s is the mean over the measured window; ' +
      'latencies are per request from the client (10 µs buckets).',
    '',
  );
  if (rep.load.length > 0) {
    out.push('## Throughput and latency', '', mdTable(LOAD_HEAD, loadRows(rep.load)), '');
    const failed = rep.load.filter((p) => !isOk(p.ours) || !isOk(p.ref));
    for (const p of failed) {
      if (!isOk(p.ours)) out.push(`- ours ${p.op} ${sizeLabel(p.valueBytes)} ${p.clients}×${p.outstanding}: ${p.ours.error.split('\n')[0]}`);
      if (!isOk(p.ref)) out.push(`- ref ${p.op} ${sizeLabel(p.valueBytes)} ${p.clients}×${p.outstanding}: ${p.ref.error.split('\n')[0]}`);
    }
    if (failed.length > 0) out.push('');
  }
  if (rep.memory !== null) {
    const m = rep.memory;
    out.push(
      '## Memory and restart',
      '',
      `${fmtInt(m.nodes)} znodes of ${m.valueBytes} bytes spread over ${m.parents} parents, created with async pipelined creates ` +
        `(scripts/bench/Filler.java, ${m.fillClients} sessions × ${m.fillOutstanding} in flight). RSS is \`ps -o rss\` of the server process ` +
        `(the JVM for ref, started with -Xmx${m.refHeap}; node with its default heap limit for ours), split into RssAnon and RssFile from \`/proc/PID/status\` (RssFile holds the binaries and, for ours, the pages of LMDB's map of its store); it depends on each runtime's heap sizing ` +
        'policy as much as on the data, so the live heap after a forced full GC is given too (ref: Java heap used, jcmd; ours: V8 heap used + ' +
        'ArrayBuffer and SharedArrayBuffer memory, through the inspector opened after the fill). Restart: SIGTERM, wait for exit, ' +
        'start again on the same data directory; the time runs from spawning the process until `srvr` reports the Node count seen before the restart.',
      '',
      mdTable(MEM_HEAD, memoryRows(m), 1),
      '',
    );
    for (const [k, s] of [['ours', m.ours], ['ref', m.ref]] as const) if (s.error !== undefined) out.push(`- ${k}: ${s.error.split('\n')[0]}`);
  }
  if (rep.profiles.length > 0) {
    out.push('## CPU profiles of our server', '');
    for (const p of rep.profiles) {
      const load = isOk(p.load) ? `${fmtInt(p.load.opsPerSec)} ops/s, p50 ${p.load.p50Us} µs` : 'load failed';
      out.push(
        summaryToMarkdown(
          p.summary,
          `${p.point.op} ${sizeLabel(p.point.valueBytes)} ${p.point.clients}×${p.point.outstanding}, ${p.seconds} s measured (${load})`,
        ),
      );
    }
  }
  return out.join('\n') + '\n';
}
