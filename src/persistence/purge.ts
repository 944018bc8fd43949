/**
 * Purging old txn logs and snapshot files (Apache ZooKeeper's PurgeTxnLog, run by
 * DatadirCleanupManager every autopurge.purgeInterval hours and by zkCleanup.sh).
 *
 * What must stay: every log file that may hold a txn after the zxid the LMDB store reflects
 * (restart replays those), i.e. the newest log file whose first zxid is at or below that zxid
 * and every later one. What else stays, as ZooKeeper keeps `snapRetainCount` snapshots: the
 * newest `retainCount` snapshot.* files (exported ZooKeeper-format snapshots) with the logs
 * needed to replay from the oldest of them, and `retainCount - 1` log files before the one the
 * store needs, so that roughly as much history stays for tools as ZooKeeper would keep.
 * Everything older is deleted. The plan is computed by a pure function; only `purge` touches
 * the file system.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listLogFiles } from './txn-log';
import { listDataFiles, SNAPSHOT_FILE_PREFIX, type DataFile } from './txn-log-format';

export type { DataFile };

export interface PurgePlan {
  deleteLogs: string[];
  deleteSnapshots: string[];
}

/**
 * The index of the log that holds the txn after `zxid`: the newest file starting at or below
 * `zxid` (FileTxnLog.getLogFiles). -1 when every file starts after it.
 */
function logIndexFor(logs: readonly DataFile[], zxid: number): number {
  let idx = -1;
  for (let i = 0; i < logs.length; i++) if (logs[i]!.zxid <= zxid) idx = i;
  return idx;
}

/**
 * Decides what to delete. `logs` and `snapshots` are sorted oldest first; `storeZxid` is the
 * zxid the LMDB store durably reflects (null when there is no store: then the snapshots alone
 * decide, as in ZooKeeper).
 */
export function planPurge(logs: readonly DataFile[], snapshots: readonly DataFile[], storeZxid: number | null, retainCount: number): PurgePlan {
  if (retainCount < 3) throw new Error(`snapRetainCount must be at least 3, got ${retainCount}`);
  const keptSnaps = snapshots.slice(Math.max(0, snapshots.length - retainCount));
  const deleteSnapshots = snapshots.slice(0, snapshots.length - keptSnaps.length).map((f) => f.name);
  let keepFrom = logs.length; // index of the oldest log to keep
  if (storeZxid !== null) {
    const i = logIndexFor(logs, storeZxid);
    keepFrom = Math.min(keepFrom, i < 0 ? 0 : Math.max(0, i - (retainCount - 1)));
  }
  if (keptSnaps.length > 0) {
    const i = logIndexFor(logs, keptSnaps[0]!.zxid);
    keepFrom = Math.min(keepFrom, i < 0 ? 0 : i);
  }
  if (storeZxid === null && keptSnaps.length === 0) keepFrom = 0; // nothing to anchor on: keep all
  return { deleteLogs: logs.slice(0, keepFrom).map((f) => f.name), deleteSnapshots };
}

/** snapshot.<hex> files in `dir`, oldest first. */
export function listSnapshotFiles(dir: string): DataFile[] {
  return listDataFiles(dir, SNAPSHOT_FILE_PREFIX);
}

export interface PurgeResult extends PurgePlan {
  errors: string[];
}

/** Deletes what planPurge chose in `snapDir` (snapshots) and `logDir` (logs). */
export function purge(snapDir: string, logDir: string, storeZxid: number | null, retainCount: number): PurgeResult {
  const plan = planPurge(listLogFiles(logDir), listSnapshotFiles(snapDir), storeZxid, retainCount);
  const errors: string[] = [];
  const remove = (dir: string, name: string): void => {
    try {
      fs.unlinkSync(path.join(dir, name));
    } catch (e) {
      errors.push(`${path.join(dir, name)}: ${(e as Error).message}`);
    }
  };
  for (const n of plan.deleteSnapshots) remove(snapDir, n);
  for (const n of plan.deleteLogs) remove(logDir, n);
  return { ...plan, errors };
}
