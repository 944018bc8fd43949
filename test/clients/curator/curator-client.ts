// Apache Curator 5.4 (Debian: libcurator-recipes-java) as one more real client whose transcript
// is compared between Apache ZooKeeper and our server. CuratorScenario.java, next to this file,
// is compiled once per test process into a temporary directory (with javac when there is one,
// otherwise with the compiler module of the Java runtime, which Debian's headless JRE ships),
// and run with the Debian jars on its class path. Its stdout is the transcript: it prints only
// session- and time-independent lines, so no further normalization is needed here.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClientSpec } from '../../helpers/real-clients.js';
import { repoRoot, runCommand } from '../../helpers/servers.js';

export const CURATOR_SOURCE = path.join(repoRoot, 'test', 'clients', 'curator', 'CuratorScenario.java');
const JAVA_DIR = '/usr/share/java';
/** The class path: Curator, its Guava (which carries failureaccess in Debian), ZooKeeper, slf4j without output. */
const JARS = ['curator-client', 'curator-framework', 'curator-recipes', 'guava', 'zookeeper', 'zookeeper-jute', 'slf4j-api', 'slf4j-nop'];
/** Extra jars used when they exist (some guava packagings keep failureaccess apart). */
const OPTIONAL_JARS = ['failureaccess'];

/** How long one run of the scenario may take; the scenario's own watchdog ends it after 100 s. */
const RUN_TIMEOUT_MS = 120_000;

function which(cmd: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

function jarPath(name: string): string {
  return path.join(JAVA_DIR, `${name}.jar`);
}

export function curatorClassPath(): string {
  const jars = JARS.map(jarPath);
  for (const o of OPTIONAL_JARS) if (fs.existsSync(jarPath(o))) jars.push(jarPath(o));
  return jars.join(path.delimiter);
}

let missingChecked: string | null | undefined;

/** Why the Curator client cannot run here, or null when it can. */
export function curatorMissing(): string | null {
  if (missingChecked !== undefined) return missingChecked;
  const absent = JARS.map(jarPath).filter((j) => !fs.existsSync(j));
  if (which('java') === null) {
    missingChecked = 'java not found (apt-get install -y default-jre-headless)';
  } else if (absent.length > 0) {
    missingChecked = `missing ${absent.join(', ')} (apt-get install -y libcurator-recipes-java zookeeper)`;
  } else if (which('javac') === null) {
    // Without javac, the compiler module of the runtime must be there.
    const r = spawnSync('java', ['--list-modules'], { timeout: 20_000, encoding: 'utf8' });
    missingChecked = r.status === 0 && /^jdk\.compiler@/m.test(r.stdout) ? null : 'no Java compiler (apt-get install -y default-jdk-headless)';
  } else {
    missingChecked = null;
  }
  return missingChecked;
}

let compiled: Promise<string> | undefined;

/** Compiles CuratorScenario.java once per process; resolves to the directory of its classes. */
export function compileCuratorScenario(): Promise<string> {
  compiled ??= (async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-curator-'));
    process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));
    const javacArgs = ['-nowarn', '-encoding', 'UTF-8', '-d', out, '-cp', curatorClassPath(), CURATOR_SOURCE];
    const javac = which('javac');
    const res = javac
      ? await runCommand(javac, javacArgs, { timeoutMs: 120_000 })
      : await runCommand('java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', ...javacArgs], { timeoutMs: 120_000 });
    if (res.code !== 0 || res.timedOut || !fs.existsSync(path.join(out, 'CuratorScenario.class'))) {
      throw new Error(
        `compiling ${CURATOR_SOURCE} failed (code ${res.code}${res.timedOut ? ', timed out' : ''}):\n${res.stdout}${res.stderr}`,
      );
    }
    return out;
  })();
  return compiled;
}

/** Runs the scenario against connectString; its stdout is the transcript, plus the exit status if it failed. */
export async function runCurator(connectString: string, args: string[] = []): Promise<string[]> {
  const classes = await compileCuratorScenario();
  const cp = [classes, curatorClassPath()].join(path.delimiter);
  const res = await runCommand('java', ['-Xmx256m', '-cp', cp, 'CuratorScenario', connectString, ...args], {
    timeoutMs: RUN_TIMEOUT_MS,
  });
  const lines = res.stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (res.code !== 0 || res.timedOut) {
    lines.push(`<CuratorScenario exit ${res.code}${res.timedOut ? ' (timed out)' : ''}>`);
    lines.push(...res.stderr.split('\n').slice(-40).map((l) => `<stderr> ${l}`));
  }
  return lines;
}

export const CURATOR_CLIENTS: ClientSpec[] = [
  {
    // Everything, with TTL nodes switched on (PersistentTtlNode, create withTtl).
    name: 'curator',
    missing: curatorMissing,
    server: { extraCfg: { extendedTypesEnabled: 'true' } },
    run: (cs) => runCurator(cs),
    minLines: 350,
    lastLine: 'done',
  },
  {
    // Only the create modes, on a server without extended types: TTL nodes are refused.
    name: 'curator-no-extended',
    missing: curatorMissing,
    run: (cs) => runCurator(cs, ['--no-extended']),
    minLines: 15,
    lastLine: 'done',
  },
];
