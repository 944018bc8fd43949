// The tree's path index (src/tree/path-index.ts) against a JS Map as the model: random inserts,
// replacements, deletes (backward shift), growth, reserve and clear, over paths that share long
// prefixes, as znode paths do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathIndex } from '../../src/tree/path-index';

/** A small deterministic PRNG (mulberry32), so a failure repeats. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A node store stand-in: index -> path, '' for a free index, as NodeStore.pathOf. */
class Paths {
  readonly at: string[] = [];
  pathOf(i: number): string {
    return this.at[i] ?? '';
  }
}

test('path index: random operations agree with a Map', () => {
  for (const seed of [1, 2, 3]) {
    const rnd = prng(seed);
    const paths = new Paths();
    const index = new PathIndex(paths);
    const model = new Map<string, number>();
    const free: number[] = [];
    const pick = (): string => `/app/service-${Math.floor(rnd() * 40)}/n${Math.floor(rnd() * 3000)}`;
    for (let step = 0; step < 60000; step++) {
      const p = pick();
      const r = rnd();
      if (r < 0.55) {
        // Create or replace, as the tree does: unmap and free the old node first.
        const old = model.get(p);
        if (old !== undefined && r < 0.1) {
          assert.equal(index.delete(p), true);
          paths.at[old] = '';
          free.push(old);
          model.delete(p);
        }
        const i = free.pop() ?? paths.at.length;
        paths.at[i] = p;
        if (model.has(p)) {
          // The same path mapped to another index (restore's replacement).
          const o = model.get(p)!;
          index.set(p, i);
          paths.at[o] = '';
          free.push(o);
        } else {
          index.set(p, i);
        }
        model.set(p, i);
      } else if (r < 0.85) {
        const i = model.get(p);
        assert.equal(index.delete(p), i !== undefined, `delete ${p}`);
        if (i !== undefined) {
          paths.at[i] = '';
          free.push(i);
          model.delete(p);
        }
      } else {
        assert.equal(index.get(p), model.get(p) ?? -1, `get ${p} at step ${step}`);
      }
      assert.equal(index.size, model.size);
      if (step % 20000 === 19999) for (const [q, i] of model) assert.equal(index.get(q), i, `${q} after step ${step}`);
    }
    for (const [q, i] of model) assert.equal(index.get(q), i);
    index.clear();
    assert.equal(index.size, 0);
    for (const q of model.keys()) assert.equal(index.get(q), -1, 'cleared');
  }
});

test('path index: reserve keeps every entry, and a reserved table takes that many without growing', () => {
  const paths = new Paths();
  const index = new PathIndex(paths);
  for (let i = 0; i < 500; i++) {
    paths.at[i] = `/r/${i}`;
    index.set(paths.at[i]!, i);
  }
  index.reserve(100000);
  for (let i = 0; i < 500; i++) assert.equal(index.get(`/r/${i}`), i);
  for (let i = 500; i < 100000; i++) {
    paths.at[i] = `/r/${i}`;
    index.set(paths.at[i]!, i);
  }
  assert.equal(index.size, 100000);
  for (let i = 0; i < 100000; i += 997) assert.equal(index.get(`/r/${i}`), i);
  assert.equal(index.get('/r/100000'), -1);
  assert.equal(index.get(''), -1);
});
