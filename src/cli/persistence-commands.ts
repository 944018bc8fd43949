/**
 * Command-line tools for the data directories:
 *
 *   cleanup <dataLogDir|zoo.cfg> [snapDir] -n <count>   PurgeTxnLog / zkCleanup.sh
 *   export-snapshot <dataDir|zoo.cfg> [--out <dir>]     write a ZooKeeper snapshot.<zxid>
 *   verify-log <logfile>...                             check txn log files record by record
 *
 * They read the directories while the server may be running: nothing here writes to a file
 * the server writes (cleanup deletes only files the server no longer needs; export writes a
 * new file).
 */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, loadConfigFile } from '../config/zoo-cfg';
import { createLogger } from '../server/logger';
import { recoverState, StorageError } from '../persistence/database';
import { LMDB_FILE_NAME, LmdbStore } from '../persistence/lmdb-store';
import { purge } from '../persistence/purge';
import { scanLog, VERSION_DIR } from '../persistence/txn-log-format';
import { writeZkSnapshotFile } from '../persistence/zk-snapshot';

interface Dirs {
  dataDir: string;
  dataLogDir: string;
}

/** A zoo.cfg names both directories; a bare directory is both. */
function dirsFrom(arg: string): Dirs {
  const st = fs.statSync(arg, { throwIfNoEntry: false });
  if (st === undefined) throw new StorageError(`${arg} does not exist`);
  if (st.isDirectory()) return { dataDir: arg, dataLogDir: arg };
  const cfg = loadConfigFile(arg);
  return { dataDir: cfg.dataDir, dataLogDir: cfg.dataLogDir };
}

/** The zxid the LMDB store in `snapDir` reflects, or null when there is none. */
function storeZxidIn(snapDir: string): number | null {
  const file = path.join(snapDir, LMDB_FILE_NAME);
  if (!fs.existsSync(file)) return null;
  const store = LmdbStore.open(file, true);
  try {
    return store.lastZxid();
  } finally {
    void store.close();
  }
}

function fail(e: unknown): never {
  if (e instanceof StorageError || e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  throw e;
}

async function cleanup(first: string, snapArg: string | undefined, opts: { n: string }): Promise<void> {
  try {
    const count = Number.parseInt(opts.n, 10);
    if (!Number.isInteger(count) || count < 3) throw new StorageError(`-n must be an integer of at least 3, got '${opts.n}'`);
    const dirs = dirsFrom(first);
    const logDir = path.join(dirs.dataLogDir, VERSION_DIR);
    const snapDir = path.join(snapArg ?? dirs.dataDir, VERSION_DIR);
    const r = purge(snapDir, logDir, storeZxidIn(snapDir), count);
    for (const n of r.deleteSnapshots) process.stdout.write(`Removing file: ${path.join(snapDir, n)}\n`);
    for (const n of r.deleteLogs) process.stdout.write(`Removing file: ${path.join(logDir, n)}\n`);
    for (const e of r.errors) process.stderr.write(`Failed to remove ${e}\n`);
    if (r.errors.length > 0) process.exit(1);
  } catch (e) {
    fail(e);
  }
}

async function exportSnapshot(src: string, opts: { out?: string }): Promise<void> {
  try {
    const dirs = dirsFrom(src);
    const snapDir = path.join(dirs.dataDir, VERSION_DIR);
    const logDir = path.join(dirs.dataLogDir, VERSION_DIR);
    // Logs go to stderr so stdout carries only the result.
    const logger = createLogger({ destination: 2, level: process.env['ZOO_LOG_LEVEL']?.toLowerCase() ?? 'warn' });
    const file = path.join(snapDir, LMDB_FILE_NAME);
    const store = fs.existsSync(file) ? LmdbStore.open(file, true) : null;
    let state;
    try {
      state = recoverState(snapDir, logDir, store, false, logger);
    } finally {
      await store?.close();
    }
    const outDir = opts.out === undefined ? snapDir : path.join(opts.out, VERSION_DIR);
    fs.mkdirSync(outDir, { recursive: true });
    const written = await writeZkSnapshotFile(outDir, state.tree, state.sessions, state.tree.lastProcessedZxid);
    process.stdout.write(
      `${written}\nzxid 0x${state.tree.lastProcessedZxid.toString(16)}, ${state.tree.nodeCount()} znodes, ${state.sessions.size} sessions\n`,
    );
  } catch (e) {
    fail(e);
  }
}

function verifyLog(files: string[]): void {
  let bad = 0;
  for (const f of files) {
    const buf = fs.readFileSync(f);
    let n = 0;
    const scan = scanLog(buf, -1, () => n++);
    const d = scan.damage;
    const end = scan.lastZxid < 0 ? '-' : `0x${scan.lastZxid.toString(16)}`;
    if (d === null) {
      process.stdout.write(`${f}: ${n} txns, last zxid ${end}, clean end at offset ${scan.goodEnd}\n`);
    } else {
      bad++;
      const kind = d.followedByValid ? 'CORRUPT (intact records follow)' : 'torn tail';
      process.stdout.write(`${f}: ${n} txns, last zxid ${end}, ${kind} at offset ${d.offset}: ${d.reason}\n`);
    }
  }
  if (bad > 0) process.exitCode = 1;
}

export function registerPersistenceCommands(program: Command): void {
  program
    .command('cleanup')
    .description('delete old txn logs and snapshots no longer needed (PurgeTxnLog, zkCleanup.sh)')
    .argument('<dataLogDir|cfg>', 'a zoo.cfg, or the directory holding version-2/log.*')
    .argument('[snapDir]', 'the directory holding version-2 snapshots, when it differs')
    .requiredOption('-n <count>', 'how many snapshots (and log files before the one still needed) to keep; at least 3')
    .action((first: string, snap: string | undefined, opts: { n: string }) => cleanup(first, snap, opts));
  program
    .command('export-snapshot')
    .description('write the current state as an Apache ZooKeeper snapshot.<zxid> file')
    .argument('<dataDir|cfg>', 'a zoo.cfg, or a data directory')
    .option('--out <dir>', 'write <dir>/version-2/snapshot.<zxid> (a data directory ZooKeeper 3.8 starts from) instead of into the source')
    .action((src: string, opts: { out?: string }) => exportSnapshot(src, opts));
  program
    .command('verify-log')
    .description('check txn log files record by record and report where each one ends')
    .argument('<logfile...>', 'log.* files')
    .action((files: string[]) => verifyLog(files));
}
