/**
 * Changes that prepare has decided but apply has not yet made (Apache ZooKeeper's
 * outstandingChanges and outstandingChangesForPath). Prepare reads the tree through them, so a
 * write that follows another one still in the log sees its effect: the parent's new cversion for
 * a sequential name, a node created a moment ago, a version just bumped.
 */
import type { AclValue, StatPersistedValue } from '../jute/records';
import { persistedStatOf, type DataTree } from '../tree/data-tree';

export type StatPersisted = StatPersistedValue;

export interface ChangeRecord {
  zxid: number;
  path: string;
  /** null marks a deletion. */
  stat: StatPersisted | null;
  childCount: number;
  acl: AclValue[];
  data: Buffer | null;
}

export function duplicateChange(c: ChangeRecord, zxid: number): ChangeRecord {
  return {
    zxid,
    path: c.path,
    stat: c.stat === null ? { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0 } : { ...c.stat },
    childCount: c.childCount,
    // ACL lists are never changed in place (setACL makes a new one), so they can be shared.
    acl: c.acl,
    data: c.data,
  };
}

export class OutstandingChanges {
  /** In zxid order. */
  private list: ChangeRecord[] = [];
  private head = 0;
  readonly byPath = new Map<string, ChangeRecord>();

  get size(): number {
    return this.list.length - this.head;
  }

  add(c: ChangeRecord): void {
    this.list.push(c);
    this.byPath.set(c.path, c);
  }

  /** All pending records in order (for closeSession's ephemeral scan). */
  *pending(): Generator<ChangeRecord> {
    for (let i = this.head; i < this.list.length; i++) yield this.list[i]!;
  }

  /** The record prepare should see for `path`: the newest pending change, else the tree's node. */
  recordFor(path: string, tree: DataTree): ChangeRecord | null {
    const pending = this.byPath.get(path);
    if (pending !== undefined) return pending.stat === null ? null : pending;
    const n = tree.getNode(path);
    if (n === undefined) return null;
    return {
      zxid: -1,
      path,
      stat: persistedStatOf(n),
      childCount: n.childCount,
      acl: tree.aclOf(n),
      data: n.data,
    };
  }

  /** Drops records up to `zxid` once their txn has been applied. */
  applied(zxid: number): void {
    while (this.head < this.list.length && this.list[this.head]!.zxid <= zxid) {
      const c = this.list[this.head]!;
      this.head++;
      if (this.byPath.get(c.path) === c) this.byPath.delete(c.path);
    }
    if (this.head > 1024 && this.head * 2 > this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Undoes the records a failed multi added (all carry `zxid`), restoring the ones it shadowed
   * (PrepRequestProcessor.rollbackPendingChanges).
   */
  rollback(zxid: number, shadowed: Map<string, ChangeRecord>): void {
    while (this.list.length > this.head && this.list[this.list.length - 1]!.zxid === zxid) {
      const c = this.list.pop()!;
      this.byPath.delete(c.path);
    }
    if (this.size === 0) return;
    const firstZxid = this.list[this.head]!.zxid;
    for (const c of shadowed.values()) {
      if (c.zxid < firstZxid) continue;
      this.byPath.set(c.path, c);
    }
  }
}
