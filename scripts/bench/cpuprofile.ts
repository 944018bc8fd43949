// Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self and inclusive time per
// function, with idle time left out of the percentages.
//
// Standalone use: node dist/scripts/bench/cpuprofile.js FILE.cpuprofile [TOP]

import fs from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  location: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  /** Busy time by where the function lives: our code, node internals, node_modules, native/V8. */
  byArea: { area: string; ms: number; pct: number }[];
  top: FunctionTime[];
  topInclusive: FunctionTime[];
}

function shortUrl(url: string, repoRoot: string): string {
  if (url === '') return '';
  let u = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (u.startsWith(repoRoot + '/')) u = u.slice(repoRoot.length + 1);
  return u;
}

function areaOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(program)') return 'v8/native (program)';
  if (url === '') return 'v8/native';
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/node_modules/')) return 'node_modules';
  if (url.includes('/dist/src/')) return 'zookeeper-ts';
  return 'other';
}

export function summarize(file: string, repoRoot: string, topN = 30): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const keyOf = (n: ProfileNode): string => {
    const cf = n.callFrame;
    return `${cf.functionName || '(anonymous)'}\u0000${cf.url}:${cf.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const area = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  let allUs = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i]!;
    // timeDeltas[i] is the time since the previous sample; attribute the gap to this sample.
    const dt = Math.max(0, prof.timeDeltas[i] ?? 0);
    allUs += dt;
    const node = byId.get(id);
    if (node === undefined) continue;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idleUs += dt;
      continue;
    }
    if (name === '(garbage collector)') gcUs += dt;
    const k = keyOf(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const a = areaOf(node.callFrame.url, name);
    area.set(a, (area.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n === undefined || n.callFrame.functionName === '(root)') break;
      const kk = keyOf(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const busyUs = allUs - idleUs;
  const pct = (us: number): number => (busyUs > 0 ? (100 * us) / busyUs : 0);
  const toRow = (k: string): FunctionTime => {
    const [name, loc] = k.split('\u0000') as [string, string];
    const s = self.get(k) ?? 0;
    const t = total.get(k) ?? 0;
    return {
      name,
      location: loc === ':1' || loc === ':0' ? '' : shortUrl(loc, repoRoot),
      selfMs: s / 1000,
      selfPct: pct(s),
      totalMs: t / 1000,
      totalPct: pct(t),
    };
  };
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([k]) => toRow(k));
  const topInclusive = [...total.entries()]
    .filter(([k]) => k.includes('/dist/src/'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([k]) => toRow(k));
  return {
    file,
    wallMs: allUs / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    gcMs: gcUs / 1000,
    byArea: [...area.entries()].sort((a, b) => b[1] - a[1]).map(([a, us]) => ({ area: a, ms: us / 1000, pct: pct(us) })),
    top,
    topInclusive,
  };
}

export function summaryToMarkdown(s: ProfileSummary, title: string): string {
  const f1 = (n: number): string => n.toFixed(1);
  const lines: string[] = [];
  lines.push(`### ${title}`, '');
  lines.push(
    `Profile \`${path.basename(s.file)}\`: ${f1(s.wallMs / 1000)} s sampled, busy ${f1(s.busyMs / 1000)} s ` +
      `(${f1(s.wallMs > 0 ? (100 * s.busyMs) / s.wallMs : 0)} % of the main thread), GC ${f1(s.gcMs / 1000)} s ` +
      `(${f1(s.busyMs > 0 ? (100 * s.gcMs) / s.busyMs : 0)} % of busy).`,
    '',
  );
  lines.push('| area | busy ms | % of busy |', '|---|---:|---:|');
  for (const a of s.byArea) lines.push(`| ${a.area} | ${a.ms.toFixed(0)} | ${f1(a.pct)} |`);
  lines.push('', 'Top self time (% of busy):', '', '| # | function | location | self ms | self % | incl. % |', '|---:|---|---|---:|---:|---:|');
  s.top.forEach((r, i) => lines.push(`| ${i + 1} | \`${r.name}\` | ${r.location} | ${r.selfMs.toFixed(0)} | ${f1(r.selfPct)} | ${f1(r.totalPct)} |`));
  lines.push('', 'Top inclusive time, zookeeper-ts functions only (% of busy):', '', '| # | function | location | incl. ms | incl. % | self % |', '|---:|---|---|---:|---:|---:|');
  s.topInclusive.forEach((r, i) => lines.push(`| ${i + 1} | \`${r.name}\` | ${r.location} | ${r.totalMs.toFixed(0)} | ${f1(r.totalPct)} | ${f1(r.selfPct)} |`));
  lines.push('');
  return lines.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/scripts/bench/cpuprofile.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const root = path.resolve(__dirname, '../../..');
  process.stdout.write(summaryToMarkdown(summarize(file, root, Number(process.argv[3] ?? 30)), path.basename(file)));
}
