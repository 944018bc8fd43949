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

/** The table capacity of a HashSet(8) that has held at most `maxSize` elements. */
export function javaHashSetCapacity(maxSize: number): number {
  let cap = 8;
  while (maxSize > cap * 0.75) cap *= 2;
  return cap;
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
