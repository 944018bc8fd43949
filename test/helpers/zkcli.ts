// Runs Apache ZooKeeper's own shell, zkCli.sh, against a server with a list of commands fed on
// standard input in one session, and turns its output into a normalized transcript.
//
// How zkCli.sh behaves with piped standard input (observed with 3.8.0 from Debian):
// - JLine is off ("JLine support is disabled"), so there is no prompt and no echo of commands.
// - Results go to stdout but "Created /x" and every error go to stderr; the harness merges the
//   two into one pipe so their relative order is kept.
// - Watch notifications are printed by the client's event thread, which races with the main
//   thread: "WATCHER::" may come before or after the command's own output. Two measures make
//   the transcript deterministic. (1) After every command the harness sends "sync /": its
//   answer ("Sync is OK") is printed from a callback that runs on the event thread after every
//   event that arrived before it, so all events a command caused are printed before it.
//   (2) Event lines are taken out of the command's output and appended after it, in order.
// - After the sync, the harness reads a missing node /zkts-mark-N: the error text
//   "Node does not exist: /zkts-mark-N" marks the end of command N's output. It is a read, so
//   it changes neither the zxid nor the tree.

import fs from 'node:fs';
import path from 'node:path';
import { normalizeDate, SessionIds } from './normalize.js';
import { repoRoot, runCommand } from './servers.js';

export const ZKCLI = '/usr/share/zookeeper/bin/zkCli.sh';
export const ZKCLI_SESSION = path.join(repoRoot, 'test', 'clients', 'zkcli-session.txt');
export const ZKCLI_SESSION_EXTENDED = path.join(repoRoot, 'test', 'clients', 'zkcli-session-extended.txt');

const MARK_PREFIX = '/zkts-mark-';

export function zkCliAvailable(): boolean {
  return fs.existsSync(ZKCLI);
}

/** Reads a session file: one command a line; blank lines and '#' comments are skipped. */
export function readSession(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}

/** The text written to zkCli's standard input: each command followed by its barrier. */
export function buildZkCliInput(commands: string[]): string {
  const lines: string[] = ['sync /', `get ${MARK_PREFIX}0`];
  commands.forEach((cmd, i) => {
    lines.push(cmd, 'sync /', `get ${MARK_PREFIX}${i + 1}`);
  });
  return lines.join('\n') + '\n';
}

/** Runs the commands in one zkCli session and returns the normalized transcript. */
export async function runZkCli(connectString: string, commands: string[], timeoutMs = 120_000): Promise<string[]> {
  const res = await runCommand(ZKCLI, ['-server', connectString], {
    input: buildZkCliInput(commands),
    timeoutMs,
    mergeStderr: true,
    // A small heap keeps the client's start-up quick; the shell needs very little memory.
    env: { CLIENT_JVMFLAGS: '-Xmx256m' },
  });
  if (res.timedOut) {
    throw new Error(`zkCli.sh timed out after ${timeoutMs} ms; output tail:\n${res.stdout.slice(-3000)}`);
  }
  return normalizeZkCliOutput(res.stdout, commands);
}

/** Lines that come from logging or from the JVM rather than from a command. */
function isNoise(line: string): boolean {
  return (
    line.startsWith('SLF4J:') ||
    line.startsWith('NOTE: Picked up JDK_JAVA_OPTIONS') ||
    line.startsWith('Picked up JAVA_TOOL_OPTIONS') ||
    /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}[,.]\d{3} /.test(line) ||
    /^log4j:/.test(line)
  );
}

/**
 * Separates watcher output from a chunk of command output. zkCli prints an event as two
 * println calls, "\nWATCHER::" and "\nWatchedEvent ...", each one atomic write, so each shows up
 * as a blank line followed by its text, possibly with other output between the two.
 */
function splitEvents(lines: string[]): { output: string[]; events: string[] } {
  const output: string[] = [];
  const events: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const isWatcherLine = line === 'WATCHER::' || line.startsWith('WatchedEvent ');
    if (isWatcherLine) {
      // Drop the blank line that the same write produced.
      if (output.length > 0 && output[output.length - 1] === '') output.pop();
      if (line !== 'WATCHER::') events.push(`[event] ${line}`);
      continue;
    }
    output.push(line);
  }
  return { output, events };
}

function normalizeLine(line: string, sessions: SessionIds): string {
  const time = /^(ctime|mtime) = (.*)$/.exec(line);
  if (time) return `${time[1]} = ${normalizeDate(time[2]!)}`;
  // Only ephemeralOwner carries a session id in zkCli's output; zxids stay as they are.
  const owner = /^ephemeralOwner = (0x[0-9a-f]+)$/.exec(line);
  if (owner) return `ephemeralOwner = ${sessions.name(owner[1]!)}`;
  return line;
}

export function normalizeZkCliOutput(raw: string, commands: string[]): string[] {
  const sessions = new SessionIds();
  const lines = raw.split('\n').filter((l) => !isNoise(l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  // chunks[0] is everything before the first marker; chunks[n] is command n's output.
  const chunks: string[][] = [[]];
  const markRe = new RegExp(`^Node does not exist: ${MARK_PREFIX}(\\d+)$`);
  for (const line of lines) {
    const m = markRe.exec(line);
    if (m) {
      const n = Number(m[1]);
      if (n !== chunks.length - 1) chunks[chunks.length - 1]!.push(`<unexpected marker ${n}>`);
      chunks.push([]);
      continue;
    }
    chunks[chunks.length - 1]!.push(line);
  }

  const transcript: string[] = [];
  // The preamble's lines come from two threads in no fixed order ("Welcome to ZooKeeper!" and
  // the SyncConnected event), so it is reduced to its sorted, non-blank, server-independent part.
  const pre = splitEvents(dropBarrier(chunks[0]!).lines);
  const preLines = pre.output
    .filter((l) => l.trim() !== '')
    .map((l) => (l.startsWith('Connecting to ') ? 'Connecting to <SERVER>' : l));
  transcript.push(...[...preLines, ...pre.events.map((e) => e.replace('[event]', '[connect]'))].sort());

  commands.forEach((cmd, i) => {
    transcript.push(`$ ${cmd}`);
    const chunk = chunks[i + 1];
    if (chunk === undefined) {
      transcript.push('<no output: zkCli stopped before this command finished>');
      return;
    }
    const { lines: body, ok } = dropBarrier(chunk);
    const { output, events } = splitEvents(body);
    transcript.push(...output.map((l) => normalizeLine(l, sessions)), ...events);
    if (!ok) transcript.push('<barrier missing: no "Sync is OK" after this command>');
  });
  // Whatever follows the last marker (the Closed event at exit) is not part of any command.
  return transcript;
}

/** Removes the barrier's "Sync is OK", the last such line of a chunk. */
function dropBarrier(chunk: string[]): { lines: string[]; ok: boolean } {
  const idx = chunk.lastIndexOf('Sync is OK');
  if (idx < 0) return { lines: chunk, ok: false };
  return { lines: [...chunk.slice(0, idx), ...chunk.slice(idx + 1)], ok: true };
}
