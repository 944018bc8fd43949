/**
 * The tree's map from path to node index: an open-addressing hash table (linear probing,
 * backward-shift deletion) over one typed array, each slot the node index and the path's hash
 * side by side (one cache line per probe: the table is far larger than the caches, and a
 * restart fills it in hash order). The paths themselves stay in the node store
 * (NodeStore.pathOf), so a slot costs 8 bytes and no heap object.
 *
 *   table := (node:int32 hash:int32)*   node -1 = empty slot; the slot count is a power of two
 *
 * Why not a JS Map: at a million znodes a Map<string, number> took ~400 ms to fill at start
 * (73 % of DataTree.restore's own time: inserts, and rehashing each time it doubled), ~40 MiB
 * of heap that every full collection marks, and ~0.5 us per lookup with a fresh path string,
 * which every request makes. This table fills in ~110 ms and looks up in ~0.2 us (both with
 * the path string's making), and it is sized once for a snapshot's count.
 *
 * The hash is FNV-1a over the path's UTF-16 code units with a per-table random start, so that
 * no client can choose paths that all fall into one probe run ahead of time.
 */
import { randomInt } from 'node:crypto';

/** No node (an empty slot, or a failed lookup); NodeStore's NIL. */
const NONE = -1;
const MIN_SLOTS = 1024;

/** Where the table finds each node's path. */
export interface PathSource {
  pathOf(i: number): string;
}

export class PathIndex {
  /** The slots, two int32 each (see the grammar above). */
  private table: Int32Array = new Int32Array(0);
  /** Slot count - 1, for the probe's wrap-around. */
  private mask = 0;
  private count = 0;
  private readonly seed = randomInt(0x7fffffff);

  constructor(private readonly source: PathSource) {
    this.resize(MIN_SLOTS);
  }

  get size(): number {
    return this.count;
  }

  private hash(path: string): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let k = 0; k < path.length; k++) h = Math.imul(h ^ path.charCodeAt(k), 0x01000193);
    return h ^ (h >>> 15);
  }

  /** The node index at `path`, or -1. */
  get(path: string): number {
    const h = this.hash(path);
    const { table, mask } = this;
    // Bounded: the table is at most half full, so an empty slot ends every probe run.
    for (let k = h & mask; ; k = (k + 1) & mask) {
      const v = table[2 * k]!;
      if (v === NONE) return NONE;
      if (table[2 * k + 1] === h && this.source.pathOf(v) === path) return v;
    }
  }

  has(path: string): boolean {
    return this.get(path) !== NONE;
  }

  /**
   * Maps `path` to `i`, replacing what it mapped to. The store must hold `path` at `i` already,
   * and at the node replaced, if any: callers unmap a node (delete) before they free it.
   */
  set(path: string, i: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
    const h = this.hash(path);
    const { table, mask } = this;
    for (let k = h & mask; ; k = (k + 1) & mask) {
      const v = table[2 * k]!;
      if (v === NONE) {
        table[2 * k] = i;
        table[2 * k + 1] = h;
        this.count++;
        return;
      }
      if (table[2 * k + 1] === h && this.source.pathOf(v) === path) {
        table[2 * k] = i;
        return;
      }
    }
  }

  /** Unmaps `path`; whether it was mapped. */
  delete(path: string): boolean {
    const h = this.hash(path);
    const { table, mask } = this;
    let hole = h & mask;
    for (; ; hole = (hole + 1) & mask) {
      const v = table[2 * hole]!;
      if (v === NONE) return false;
      if (table[2 * hole + 1] === h && this.source.pathOf(v) === path) break;
    }
    // Backward shift: every later entry of the run that may live in the hole moves into it,
    // so that no probe run is cut short and no tombstones build up.
    for (let j = (hole + 1) & mask; table[2 * j] !== NONE; j = (j + 1) & mask) {
      const home = table[2 * j + 1]! & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        table[2 * hole] = table[2 * j]!;
        table[2 * hole + 1] = table[2 * j + 1]!;
        hole = j;
      }
    }
    table[2 * hole] = NONE;
    this.count--;
    return true;
  }

  clear(): void {
    this.count = 0;
    this.table = new Int32Array(0);
    this.resize(MIN_SLOTS);
  }

  /** Makes room for `count` paths in all without growing again. */
  reserve(count: number): void {
    let n = this.mask + 1;
    while (n < count * 2) n *= 2;
    if (n > this.mask + 1) this.resize(n);
  }

  private resize(slotCount: number): void {
    const old = this.table;
    const table = new Int32Array(2 * slotCount).fill(NONE);
    const mask = slotCount - 1;
    for (let j = 0; j < old.length; j += 2) {
      const v = old[j]!;
      if (v === NONE) continue;
      const h = old[j + 1]!;
      let k = h & mask;
      while (table[2 * k] !== NONE) k = (k + 1) & mask;
      table[2 * k] = v;
      table[2 * k + 1] = h;
    }
    this.table = table;
    this.mask = mask;
  }
}
