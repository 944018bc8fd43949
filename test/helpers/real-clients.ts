// The real ZooKeeper clients whose transcripts are compared between Apache ZooKeeper and our
// server: zkCli.sh (Java), cli_mt (C), kazoo (Python) and node-zookeeper-client (JavaScript).
// Each entry says what it needs, which server options it wants, and how to get its transcript.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import { CLI_MT, cliMtAvailable, readCliMtSession, runCliMt } from './cli-mt.js';
import { repoRoot, requireRef, runCommand, withServer, type ServerKind, type StartOptions } from './servers.js';
import { readSession, runZkCli, ZKCLI, zkCliAvailable, ZKCLI_SESSION, ZKCLI_SESSION_EXTENDED } from './zkcli.js';
import { runNodeClient } from '../clients/node-client.js';

export const SYSTEM_PYTHON = '/usr/bin/python3';
export const KAZOO_SCRIPT = path.join(repoRoot, 'test', 'clients', 'kazoo_recipes.py');

export interface ClientSpec {
  name: string;
  /** Why the client cannot run here, or null when it can. */
  missing(): string | null;
  /** Options for the server the client runs against (the same for both servers). */
  server?: StartOptions;
  /** Runs the client against connectString and returns its normalized transcript. */
  run(connectString: string): Promise<string[]>;
  /** A reference transcript shorter than this is taken as a sign that the client broke. */
  minLines: number;
  /** The last line of a complete transcript, when the client prints one. */
  lastLine?: string;
}

let kazooChecked: string | null | undefined;

function kazooMissing(): string | null {
  if (kazooChecked !== undefined) return kazooChecked;
  if (!fs.existsSync(SYSTEM_PYTHON)) {
    kazooChecked = `${SYSTEM_PYTHON} not found`;
  } else {
    // The python3 on PATH may be another installation without kazoo; only the system one counts.
    const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import kazoo'], { timeout: 20_000, encoding: 'utf8' });
    kazooChecked = r.status === 0 ? null : `kazoo is not importable by ${SYSTEM_PYTHON} (apt-get install -y python3-kazoo)`;
  }
  return kazooChecked;
}

/** Runs kazoo_recipes.py; its stdout is the transcript, plus the exit status if it failed. */
export async function runKazoo(connectString: string): Promise<string[]> {
  const res = await runCommand(SYSTEM_PYTHON, [KAZOO_SCRIPT, connectString], { timeoutMs: 150_000 });
  const lines = res.stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (res.code !== 0 || res.timedOut) {
    lines.push(`<kazoo_recipes.py exit ${res.code}${res.timedOut ? ' (timed out)' : ''}>`);
    lines.push(...res.stderr.split('\n').slice(-30).map((l) => `<stderr> ${l}`));
  }
  return lines;
}

/** The extended zkCli session needs TTL nodes and hard quotas switched on. */
export const EXTENDED_CFG: Record<string, string> = { extendedTypesEnabled: 'true', enforceQuota: 'true' };

export const CLIENTS: ClientSpec[] = [
  {
    name: 'zkcli',
    missing: () => (zkCliAvailable() ? null : `${ZKCLI} not found (apt-get install -y zookeeper)`),
    run: (cs) => runZkCli(cs, readSession(ZKCLI_SESSION)),
    minLines: 300,
  },
  {
    name: 'zkcli-extended',
    missing: () => (zkCliAvailable() ? null : `${ZKCLI} not found (apt-get install -y zookeeper)`),
    server: { extraCfg: EXTENDED_CFG },
    run: (cs) => runZkCli(cs, readSession(ZKCLI_SESSION_EXTENDED)),
    minLines: 50,
  },
  {
    name: 'kazoo',
    missing: kazooMissing,
    run: runKazoo,
    minLines: 100,
    lastLine: 'done',
  },
  {
    name: 'cli_mt',
    missing: () => (cliMtAvailable() ? null : `${CLI_MT} not found (apt-get install -y zookeeper-bin)`),
    run: (cs) => runCliMt(cs, readCliMtSession()),
    minLines: 150,
  },
  {
    name: 'node-zookeeper-client',
    missing: () => null,
    run: runNodeClient,
    minLines: 50,
    lastLine: 'done',
  },
];

export function findClient(name: string): ClientSpec {
  const spec = CLIENTS.find((c) => c.name === name);
  if (!spec) throw new Error(`unknown client ${name}; known: ${CLIENTS.map((c) => c.name).join(', ')}`);
  return spec;
}

/** Starts a fresh server of the given kind, runs the client against it, and stops the server. */
export function transcriptOn(kind: ServerKind, spec: ClientSpec, onStarted?: (stop: () => Promise<void>) => void): Promise<string[]> {
  return withServer(kind, spec.server, (h) => {
    onStarted?.(() => h.stop());
    return spec.run(h.connectString);
  });
}

/** Reasons to distrust a transcript taken against the reference server; empty when it looks sane. */
export function transcriptProblems(spec: ClientSpec, lines: string[]): string[] {
  const problems: string[] = [];
  if (lines.length < spec.minLines) problems.push(`only ${lines.length} lines (expected at least ${spec.minLines})`);
  const bad = [/^FAIL/, /^<(barrier missing|no output|cli_mt stopped|unexpected marker|not run|kazoo_recipes)/, /Traceback/, /Exception in thread/];
  lines.forEach((l, i) => {
    if (bad.some((re) => re.test(l))) problems.push(`line ${i + 1}: ${l}`);
  });
  if (spec.lastLine !== undefined && lines[lines.length - 1] !== spec.lastLine) {
    problems.push(`last line is ${JSON.stringify(lines[lines.length - 1])}, expected ${JSON.stringify(spec.lastLine)}`);
  }
  return problems;
}

/**
 * A readable account of where two transcripts first differ: the nearest command header above,
 * a few lines of context from each side, and the line counts.
 */
export function describeDifference(expected: string[], actual: string[], context = 6): string {
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
  if (i === expected.length && i === actual.length) return 'transcripts are equal';
  let header = '';
  for (let j = Math.min(i, expected.length - 1); j >= 0; j--) {
    const l = expected[j]!;
    if (l.startsWith('$ ') || l.startsWith('== ')) {
      header = `${l} (line ${j + 1})`;
      break;
    }
  }
  const from = Math.max(0, i - 2);
  const show = (lines: string[]) =>
    lines
      .slice(from, i + context)
      .map((l, k) => `${from + k === i ? '>' : ' '} ${String(from + k + 1).padStart(4)}  ${l}`)
      .join('\n');
  return [
    `first difference at line ${i + 1}${header ? `, in ${header}` : ''}`,
    `reference has ${expected.length} lines, ours has ${actual.length}`,
    '--- reference (Apache ZooKeeper)',
    show(expected),
    '--- ours',
    show(actual),
  ].join('\n');
}

/** Writes both transcripts where a person can diff them; returns the two paths. */
export function saveTranscripts(name: string, ref: string[], ours: string[]): [string, string] {
  const dir = path.join(os.tmpdir(), 'zkts-transcripts');
  fs.mkdirSync(dir, { recursive: true });
  const refPath = path.join(dir, `${name}.ref.txt`);
  const oursPath = path.join(dir, `${name}.ours.txt`);
  fs.writeFileSync(refPath, ref.join('\n') + '\n');
  fs.writeFileSync(oursPath, ours.join('\n') + '\n');
  return [refPath, oursPath];
}

/** Like requireRef, for the client programs themselves: they are part of the reference too. */
function requireClient(t: TestContext, spec: ClientSpec): boolean {
  const missing = spec.missing();
  if (missing === null) return true;
  if (process.env['CI'] === 'true') throw new Error(`${spec.name}: ${missing}`);
  console.log(`# skipping ${spec.name}: ${missing}`);
  t.skip(missing);
  return false;
}

function take(t: TestContext, kind: ServerKind, spec: ClientSpec): Promise<string[]> {
  // withServer stops the server when the client finishes; the after hook covers a test that is
  // cancelled (for instance by its timeout) while the client is still running.
  return transcriptOn(kind, spec, (stop) => t.after(stop));
}

/**
 * One test per client: the reference's transcript must be sane (transcriptProblems), and ours
 * must equal it line by line. A failed comparison writes both transcripts (saveTranscripts).
 */
export function defineTranscriptTests(specs: readonly ClientSpec[]): void {
  for (const spec of specs) {
    test(`${spec.name}: our server gives the same transcript as Apache ZooKeeper`, { timeout: 300_000 }, async (t) => {
      if (!requireRef(t) || !requireClient(t, spec)) return;

      let ref: string[] = [];
      await t.test('reference transcript is sane', async (t2) => {
        ref = await take(t2, 'ref', spec);
        const problems = transcriptProblems(spec, ref);
        assert.deepEqual(problems, [], `${spec.name} against Apache ZooKeeper:\n${problems.join('\n')}\n---\n${ref.join('\n')}`);
      });

      await t.test('our transcript equals the reference', async (t2) => {
        assert.ok(ref.length > 0, 'no reference transcript to compare with');
        const ours = await take(t2, 'ours', spec);
        if (JSON.stringify(ours) !== JSON.stringify(ref)) {
          const [refPath, oursPath] = saveTranscripts(spec.name, ref, ours);
          assert.fail(`${spec.name}: transcripts differ\n${describeDifference(ref, ours)}\nfull transcripts: diff ${refPath} ${oursPath}`);
        }
      });
    });
  }
}
