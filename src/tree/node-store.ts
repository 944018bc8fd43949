/**
 * The znodes of a DataTree, stored column by column: a node is an integer index into typed
 * arrays, not an object. A million znodes as objects cost about 380 B each besides their value
 * (the object, a Buffer wrapping the value, boxed ms timestamps, a child-name string and a Set
 * entry in the parent); here a leaf costs 69 B of columns plus its path string, a slot in
 * `paths` and one Map entry. See docs/performance.md, "Compact znodes".
 *
 * - Zxids and times are Float64 (exact below 2^53, like the JS numbers they were); versions,
 *   the ACL index, the cached digest and the sibling links are Int32. The ephemeral owner,
 *   0 for most nodes, is a flag byte plus a Map entry for the nodes that have one.
 * - A value is not kept as a Buffer but as (slab, offset and length packed in one Int32) into
 *   the ArrayBuffer it was decoded into. Slabs are reference-counted per value, so a slab is
 *   released exactly when the last node holding a value in it lets go, as it was while nodes
 *   held Buffers.
 * - Children form a doubly linked list in insertion order (next/previous sibling), which is the
 *   order a JS Set kept them in; a child's name is the tail of its path. The list's head, tail,
 *   count and largest count, and the node's pzxid and stored cversion, live in a child-list
 *   record that a node gets with its first child (or when its pzxid or cversion first leaves
 *   its default: czxid and 0). Leaves, most nodes, pay 4 bytes for all that instead of 28.
 *
 * Freed indexes are reused by later creates. Nothing here checks paths or tree invariants; the
 * DataTree does.
 */

import { nodeStoreHolds, recycleValue } from '../jute/value-memory';

/** No node: an absent child link, or a failed lookup. */
export const NIL = -1;

const INITIAL_CAPACITY = 1024;
/** Growth factor of the columns: a trade between copies and unused capacity. */
const GROWTH = 1.5;
/**
 * valueLocation: where a node's value is. A null value (Jute writes it as length -1) and an
 * empty one are told apart; a value that fills its ArrayBuffer (2 KiB and up, from allocValue)
 * takes the slab's length; any other is offset * 2^15 + length within its slab.
 */
const LOC_NULL = -1;
const LOC_EMPTY = -2;
const LOC_WHOLE = -3;
const LENGTH_BITS = 15;
const LENGTH_LIMIT = 1 << LENGTH_BITS;
const OFFSET_LIMIT = 1 << 16;
const EMPTY_VALUE = Buffer.alloc(0);

export class NodeStore {
  private capacity = 0;
  /** One past the largest index ever handed out. */
  private top = 0;
  /** Indexes of deleted nodes, reused before `top` grows. */
  private readonly freeList: number[] = [];

  czxid: Float64Array = new Float64Array(0);
  mzxid: Float64Array = new Float64Array(0);
  ctime: Float64Array = new Float64Array(0);
  mtime: Float64Array = new Float64Array(0);
  version: Int32Array = new Int32Array(0);
  aversion: Int32Array = new Int32Array(0);
  /** Index into the ACL cache. */
  acl: Int32Array = new Int32Array(0);
  /**
   * This node's share of the tree digest as it was last added (DataNode's cached digest), so a
   * change subtracts exactly what was added; 0 when digests are off or below /zookeeper/.
   */
  digest: Int32Array = new Int32Array(0);
  nextSibling: Int32Array = new Int32Array(0);
  prevSibling: Int32Array = new Int32Array(0);
  /** The node's child-list record, NIL until its first child. */
  private kids: Int32Array = new Int32Array(0);
  /** 1 when the node has a non-zero ephemeral owner (in `owners`). */
  private hasOwner: Uint8Array = new Uint8Array(0);
  private readonly owners = new Map<number, bigint>();
  private valueSlab: Int32Array = new Int32Array(0);
  private valueLocation: Int32Array = new Int32Array(0);
  /** The full path of each live node ('' for a free index). */
  private paths: string[] = [];

  // Child-list records, by record index.
  private listCapacity = 0;
  private listTop = 0;
  private readonly freeLists: number[] = [];
  private listFirst: Int32Array = new Int32Array(0);
  private listLast: Int32Array = new Int32Array(0);
  private listCount: Int32Array = new Int32Array(0);
  /** Largest child count ever held, which fixes Java's HashSet capacity (see java-hash-order). */
  private listMax: Int32Array = new Int32Array(0);
  private listPzxid: Float64Array = new Float64Array(0);
  /** The stored cversion: child creations (see DataTree's statOf). */
  private listCversion: Int32Array = new Int32Array(0);

  /** A Buffer over the whole of each ArrayBuffer that holds values, by slab id. */
  private slabs: (Buffer | null)[] = [];
  private slabRefs: number[] = [];
  /**
   * The slab id of each buffer that holds values. A WeakMap, not a Map: every setData of a value
   * of its own deletes one key and adds another, and V8's Map rehashes itself every few hundred
   * such operations once it is large (100,000 keys: ~17 us per delete and set, against ~0.5 us
   * for a WeakMap), which made setData of 4 KB values in a tree of ~100,000 of them cost ~12 us
   * in this function alone (docs/performance.md).
   */
  private slabIds = new WeakMap<ArrayBufferLike, number>();
  private readonly freeSlabIds: number[] = [];
  /** Consecutive values mostly come from the same decoder slab: skip the Map for those. */
  private lastArrayBuffer: ArrayBufferLike | null = null;
  private lastSlabId = NIL;

  constructor() {
    this.grow(INITIAL_CAPACITY);
  }

  /** A new node with no children and no value; every other column is set by the caller. */
  allocate(path: string): number {
    let i = this.freeList.pop();
    if (i === undefined) {
      if (this.top === this.capacity) this.grow(Math.ceil(this.capacity * GROWTH));
      i = this.top++;
    }
    this.paths[i] = path;
    this.kids[i] = NIL;
    this.nextSibling[i] = NIL;
    this.prevSibling[i] = NIL;
    this.digest[i] = 0;
    this.valueSlab[i] = NIL;
    this.valueLocation[i] = LOC_NULL;
    return i;
  }

  /**
   * Frees a node that is already unlinked from its parent; its index may be reused at once. Its
   * own child list goes with it (the caller deals with children still on it).
   */
  free(i: number): void {
    this.releaseValue(i);
    this.paths[i] = '';
    this.setOwner(i, 0n);
    const k = this.kids[i]!;
    if (k !== NIL) {
      this.kids[i] = NIL;
      this.freeLists.push(k);
    }
    this.freeList.push(i);
  }

  ownerOf(i: number): bigint {
    return this.hasOwner[i] === 0 ? 0n : this.owners.get(i)!;
  }

  setOwner(i: number, owner: bigint): void {
    if (owner === 0n) {
      if (this.hasOwner[i] !== 0) {
        this.hasOwner[i] = 0;
        this.owners.delete(i);
      }
      return;
    }
    this.hasOwner[i] = 1;
    this.owners.set(i, owner);
  }

  /** Forgets every node and value. */
  clear(): void {
    this.capacity = 0;
    this.top = 0;
    this.freeList.length = 0;
    this.paths = [];
    this.owners.clear();
    for (const slab of this.slabs) if (slab !== null) nodeStoreHolds(slab.buffer, -1);
    this.listCapacity = 0;
    this.listTop = 0;
    this.freeLists.length = 0;
    this.listFirst = this.listLast = this.listCount = this.listMax = this.listCversion = new Int32Array(0);
    this.listPzxid = new Float64Array(0);
    this.slabs = [];
    this.slabRefs = [];
    this.slabIds = new WeakMap();
    this.freeSlabIds.length = 0;
    this.lastArrayBuffer = null;
    this.lastSlabId = NIL;
    // grow() copies the old columns into the new ones: start from empty ones.
    this.czxid = this.mzxid = this.ctime = this.mtime = new Float64Array(0);
    this.version = this.aversion = this.acl = this.digest = this.kids = new Int32Array(0);
    this.nextSibling = this.prevSibling = this.valueSlab = this.valueLocation = new Int32Array(0);
    this.hasOwner = new Uint8Array(0);
    this.grow(INITIAL_CAPACITY);
  }

  /** The path of the node at `i`, '' for a free index. */
  pathOf(i: number): string {
    return this.paths[i]!;
  }

  /** One past the largest index ever handed out: every node's index is below it. */
  indexLimit(): number {
    return this.top;
  }

  /** Makes room for `count` nodes in all, so that as many allocations do not grow the columns. */
  reserve(count: number): void {
    if (count > this.capacity) this.grow(count);
  }

  // ---- values -------------------------------------------------------------------------------

  value(i: number): Buffer | null {
    const loc = this.valueLocation[i]!;
    if (loc >= 0) {
      const off = loc >>> LENGTH_BITS;
      return this.slabs[this.valueSlab[i]!]!.subarray(off, off + (loc & (LENGTH_LIMIT - 1)));
    }
    // A value with an ArrayBuffer of its own is returned as the Buffer it came in.
    if (loc === LOC_WHOLE) return this.slabs[this.valueSlab[i]!]!;
    return loc === LOC_EMPTY ? EMPTY_VALUE : null;
  }

  /** The value's length; 0 for a null value, as Stat.dataLength counts it. */
  dataLength(i: number): number {
    const loc = this.valueLocation[i]!;
    if (loc >= 0) return loc & (LENGTH_LIMIT - 1);
    return loc === LOC_WHOLE ? this.slabs[this.valueSlab[i]!]!.length : 0;
  }

  /**
   * Keeps `data`'s bytes where they are, by reference: callers hand over a buffer nobody
   * changes afterwards (decoded values, quota stats), as they did when the node held it.
   */
  setValue(i: number, data: Buffer | null): void {
    this.releaseValue(i);
    if (data === null || data.length === 0) {
      this.valueLocation[i] = data === null ? LOC_NULL : LOC_EMPTY;
      return;
    }
    let whole = data.byteOffset === 0 && data.length === data.buffer.byteLength;
    if (!whole && (data.byteOffset >= OFFSET_LIMIT || data.length >= LENGTH_LIMIT)) {
      // Not addressable in a packed location (no decoder hands out such views): a copy of its
      // own, which also keeps a small value from pinning a large buffer.
      const copy = Buffer.allocUnsafeSlow(data.length);
      data.copy(copy);
      data = copy;
      whole = true;
    }
    const ab = data.buffer;
    let id = ab === this.lastArrayBuffer ? this.lastSlabId : this.slabIds.get(ab);
    if (id === undefined) {
      id = this.freeSlabIds.pop() ?? this.slabs.length;
      this.slabs[id] = whole ? data : Buffer.from(ab);
      this.slabRefs[id] = 0;
      this.slabIds.set(ab, id);
      nodeStoreHolds(ab, 1);
    }
    this.lastArrayBuffer = ab;
    this.lastSlabId = id;
    this.slabRefs[id]!++;
    this.valueSlab[i] = id;
    this.valueLocation[i] = whole ? LOC_WHOLE : data.byteOffset * LENGTH_LIMIT + data.length;
  }

  private releaseValue(i: number): void {
    const id = this.valueSlab[i]!;
    const ownBuffer = this.valueLocation[i] === LOC_WHOLE;
    this.valueSlab[i] = NIL;
    this.valueLocation[i] = LOC_NULL;
    if (id === NIL) return;
    if (--this.slabRefs[id]! > 0) return;
    const whole = this.slabs[id]!;
    this.slabIds.delete(whole.buffer);
    nodeStoreHolds(whole.buffer, -1);
    this.slabs[id] = null;
    this.freeSlabIds.push(id);
    if (this.lastSlabId === id) {
      this.lastArrayBuffer = null;
      this.lastSlabId = NIL;
    }
    // A value that was an ArrayBuffer of its own goes back to the decoder's pool (value-memory.ts
    // explains why). Never a slab of small values: the decoder may still be cutting values from
    // it, and values cut from it may be on their way through the pipeline, in no node yet.
    if (ownBuffer) recycleValue(whole);
  }

  // ---- children -----------------------------------------------------------------------------

  pzxid(i: number): number {
    const k = this.kids[i]!;
    return k === NIL ? this.czxid[i]! : this.listPzxid[k]!;
  }

  cversion(i: number): number {
    const k = this.kids[i]!;
    return k === NIL ? 0 : this.listCversion[k]!;
  }

  /** Sets the pzxid; the node's czxid must be set already (a new record starts from it). */
  setPzxid(i: number, zxid: number): void {
    const k = this.kids[i]!;
    // listOf may grow (replace) the record arrays: take the index before touching them.
    if (k === NIL && zxid === this.czxid[i]) return;
    const record = k !== NIL ? k : this.listOf(i);
    this.listPzxid[record] = zxid;
  }

  setCversion(i: number, cversion: number): void {
    const k = this.kids[i]!;
    if (k === NIL && cversion === 0) return;
    const record = k !== NIL ? k : this.listOf(i);
    this.listCversion[record] = cversion;
  }

  childCount(i: number): number {
    const k = this.kids[i]!;
    return k === NIL ? 0 : this.listCount[k]!;
  }

  /** Largest child count ever held, which fixes Java's HashSet capacity (see java-hash-order). */
  maxChildren(i: number): number {
    const k = this.kids[i]!;
    return k === NIL ? 0 : this.listMax[k]!;
  }

  /** Appends `child` to `parent`'s children (a re-added name goes last, as in a JS Set). */
  appendChild(parent: number, child: number): void {
    const k = this.listOf(parent);
    const last = this.listLast[k]!;
    this.prevSibling[child] = last;
    this.nextSibling[child] = NIL;
    if (last === NIL) this.listFirst[k] = child;
    else this.nextSibling[last] = child;
    this.listLast[k] = child;
    const count = ++this.listCount[k]!;
    if (count > this.listMax[k]!) this.listMax[k] = count;
  }

  /** Takes `child`, which must be on `parent`'s list, off it. */
  unlinkChild(parent: number, child: number): void {
    const k = this.kids[parent]!;
    const prev = this.prevSibling[child]!;
    const next = this.nextSibling[child]!;
    if (prev === NIL) this.listFirst[k] = next;
    else this.nextSibling[prev] = next;
    if (next === NIL) this.listLast[k] = prev;
    else this.prevSibling[next] = prev;
    this.prevSibling[child] = NIL;
    this.nextSibling[child] = NIL;
    this.listCount[k]!--;
  }

  /**
   * Empties every child list and sibling link, keeping each list record's pzxid and cversion
   * (they are the node's, not the list's): DataTree.restore links all nodes again from scratch.
   */
  resetChildLinks(): void {
    this.listFirst.fill(NIL, 0, this.listTop);
    this.listLast.fill(NIL, 0, this.listTop);
    this.listCount.fill(0, 0, this.listTop);
    this.listMax.fill(0, 0, this.listTop);
    this.nextSibling.fill(NIL, 0, this.top);
    this.prevSibling.fill(NIL, 0, this.top);
  }

  /** Child indexes in insertion order. */
  childIndexes(parent: number): number[] {
    const out: number[] = [];
    const k = this.kids[parent]!;
    if (k === NIL) return out;
    // Bounded by the count: the list holds exactly that many links.
    for (let c = this.listFirst[k]!, n = this.listCount[k]!; c !== NIL && n > 0; c = this.nextSibling[c]!, n--) out.push(c);
    return out;
  }

  /** Child names in insertion order. */
  childNames(parent: number): string[] {
    const out: string[] = [];
    const k = this.kids[parent]!;
    if (k === NIL) return out;
    // Bounded by the count: the list holds exactly that many links.
    for (let c = this.listFirst[k]!, n = this.listCount[k]!; c !== NIL && n > 0; c = this.nextSibling[c]!, n--) {
      const p = this.paths[c]!;
      out.push(p.substring(p.lastIndexOf('/') + 1));
    }
    return out;
  }

  /** The node's child-list record, made on first use with the defaults pzxid = czxid, cversion = 0. */
  private listOf(i: number): number {
    const k = this.kids[i]!;
    return k !== NIL ? k : (this.kids[i] = this.newList(this.czxid[i]!));
  }

  private newList(pzxid: number): number {
    let k = this.freeLists.pop();
    if (k === undefined) {
      if (this.listTop === this.listCapacity) {
        const capacity = Math.max(64, Math.ceil(this.listCapacity * GROWTH));
        const grown = (a: Int32Array): Int32Array => {
          const b = new Int32Array(capacity);
          b.set(a);
          return b;
        };
        this.listFirst = grown(this.listFirst);
        this.listLast = grown(this.listLast);
        this.listCount = grown(this.listCount);
        this.listMax = grown(this.listMax);
        this.listCversion = grown(this.listCversion);
        const listPzxid = new Float64Array(capacity);
        listPzxid.set(this.listPzxid);
        this.listPzxid = listPzxid;
        this.listCapacity = capacity;
      }
      k = this.listTop++;
    }
    this.listFirst[k] = NIL;
    this.listLast[k] = NIL;
    this.listCount[k] = 0;
    this.listMax[k] = 0;
    this.listPzxid[k] = pzxid;
    this.listCversion[k] = 0;
    return k;
  }

  // ---- storage ------------------------------------------------------------------------------

  private grow(capacity: number): void {
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(capacity);
      b.set(a);
      return b;
    };
    this.czxid = f64(this.czxid);
    this.mzxid = f64(this.mzxid);
    this.ctime = f64(this.ctime);
    this.mtime = f64(this.mtime);
    this.version = i32(this.version);
    this.aversion = i32(this.aversion);
    this.acl = i32(this.acl);
    this.digest = i32(this.digest);
    this.kids = i32(this.kids);
    this.nextSibling = i32(this.nextSibling);
    this.prevSibling = i32(this.prevSibling);
    this.valueSlab = i32(this.valueSlab);
    this.valueLocation = i32(this.valueLocation);
    const hasOwner = new Uint8Array(capacity);
    hasOwner.set(this.hasOwner);
    this.hasOwner = hasOwner;
    this.capacity = capacity;
  }
}
