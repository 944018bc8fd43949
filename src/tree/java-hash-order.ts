/**
 * Apache ZooKeeper keeps a znode's children in a java.util.HashSet and returns them in that
 * set's iteration order. Clients that do not sort (kazoo, Curator's raw calls, the C client)
 * see that order, so we reproduce it: HashMap buckets are `spread(String.hashCode) & (cap - 1)`,
 * iteration walks buckets in index order and each bucket in insertion order (a resize splits a
 * bucket without reordering it). The capacity of a child set starts at 8 and doubles whenever
 * the size passes 3/4 of it, and never shrinks, so it follows from the largest size ever held.
 *
 * Not reproduced: buckets that Java turns into trees (8+ colliding names in one bucket with a
 * table of 64+), whose order then depends on tree shape. Such collisions need crafted names.
 */

export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The table capacity of a HashSet that has held at most `maxSize` elements: HashSet(8) for
 * children, `new HashSet<>()` (16) for a session's ephemerals.
 */
export function javaHashSetCapacity(maxSize: number, initialCapacity = 8): number {
  let cap = initialCapacity;
  // Bounded: the capacity doubles each pass and maxSize is finite.
  while (maxSize > cap * 0.75) cap *= 2;
  return cap;
}

/** HashMap.tableSizeFor: the smallest power of two at least n (1 for n <= 1). */
export function javaTableSizeFor(n: number): number {
  let cap = 1;
  while (cap < n && cap < 1 << 30) cap *= 2;
  return cap;
}

/**
 * The capacity of `set.clone()` for a HashSet of `size` elements: HashMap.clone re-inserts the
 * entries into a table pre-sized by putMapEntries, tableSizeFor((int)(size / 0.75f + 1)).
 */
export function javaCloneCapacity(size: number): number {
  return javaTableSizeFor(Math.floor(Math.fround(Math.fround(size) / Math.fround(0.75)) + 1));
}

/**
 * Iteration order of a Java HashSet with the given table capacity whose elements were inserted
 * in the order given: buckets in index order, each bucket in insertion order.
 */
export function javaHashOrder(namesInInsertionOrder: Iterable<string>, capacity: number): string[] {
  const names = Array.from(namesInInsertionOrder);
  if (names.length < 2) return names;
  const mask = capacity - 1;
  const keyed = names.map((name, i) => {
    const h = javaStringHash(name);
    return { name, bucket: (h ^ (h >>> 16)) & mask, i };
  });
  keyed.sort((a, b) => a.bucket - b.bucket || a.i - b.i);
  return keyed.map((k) => k.name);
}

/**
 * Orders `namesInInsertionOrder` (a JS Set's order: a re-added name goes last, as it does in
 * its Java bucket) the way Java's HashSet would iterate them.
 */
export function javaHashSetOrder(namesInInsertionOrder: Iterable<string>, maxSizeEver: number): string[] {
  const names = Array.from(namesInInsertionOrder);
  if (names.length < 2) return names;
  const mask = javaHashSetCapacity(maxSizeEver) - 1;
  const keyed = names.map((name, i) => {
    const h = javaStringHash(name);
    return { name, bucket: (h ^ (h >>> 16)) & mask, i };
  });
  keyed.sort((a, b) => a.bucket - b.bucket || a.i - b.i);
  return keyed.map((k) => k.name);
}

/**
 * Iteration order of a `new ConcurrentHashMap<>()` into which `keysInInsertionOrder` were put
 * (never removed): ServerMetrics' per-key sets (e.g. `<namespace>_read_per_namespace`) print
 * their keys in this order. The table starts at 16 and doubles once the count reaches 3/4 of
 * it; new keys go to the tail of their bucket, but a resize (ConcurrentHashMap.transfer) keeps
 * only the last run of keys bound for the same half in order and prepends the ones before it,
 * reversing them. Not reproduced: 9+ keys colliding in one bucket (tree bins).
 */
export function javaConcurrentHashMapOrder(keysInInsertionOrder: Iterable<string>): string[] {
  let capacity = 16;
  let sizeCtl = 12;
  let table: { key: string; hash: number }[][] = Array.from({ length: capacity }, () => []);
  let count = 0;
  for (const key of keysInInsertionOrder) {
    const h = javaStringHash(key);
    const hash = (h ^ (h >>> 16)) & 0x7fffffff;
    table[hash & (capacity - 1)]!.push({ key, hash });
    count++;
    // Bounded: each pass doubles the capacity, and the count is at most the number of keys.
    while (count >= sizeCtl && capacity < 1 << 30) {
      const next: { key: string; hash: number }[][] = Array.from({ length: capacity * 2 }, () => []);
      for (let i = 0; i < capacity; i++) {
        const bin = table[i]!;
        if (bin.length === 0) continue;
        let runBit = bin[0]!.hash & capacity;
        let lastRun = 0;
        for (let j = 1; j < bin.length; j++) {
          const b = bin[j]!.hash & capacity;
          if (b !== runBit) {
            runBit = b;
            lastRun = j;
          }
        }
        const low = runBit === 0 ? bin.slice(lastRun) : [];
        const high = runBit === 0 ? [] : bin.slice(lastRun);
        for (let j = 0; j < lastRun; j++) {
          const p = bin[j]!;
          if ((p.hash & capacity) === 0) low.unshift(p);
          else high.unshift(p);
        }
        next[i] = low;
        next[i + capacity] = high;
      }
      sizeCtl = capacity * 2 - (capacity >>> 1);
      capacity *= 2;
      table = next;
    }
  }
  return table.flatMap((bin) => bin.map((n) => n.key));
}
