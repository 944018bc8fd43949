// Values live in shared memory, which V8 does not count as external memory, while the estimate of
// such memory that no node store holds stays under the limit (src/jute/value-memory.ts). Past it,
// values are ordinary ArrayBuffers again until a full collection resets the estimate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { allocValue, copyBytes, MAX_SHARED_GARBAGE_BYTES, sharedGarbageBytes } from '../../src/jute/value-memory';
import { NodeStore } from '../../src/tree/node-store';

const isShared = (b: Buffer): boolean => b.buffer instanceof SharedArrayBuffer;

function fullGc(): void {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

test('values stored in a node store are not garbage; dropped ones are, up to the limit; a full collection resets the estimate', async () => {
  const store = new NodeStore();
  const base = sharedGarbageBytes();
  // Kept values (creates): shared memory, and no garbage however many.
  const kept: number[] = [];
  for (let k = 0; k < 2000; k++) {
    const v = allocValue(4096);
    assert.ok(isShared(v), 'a value of its own is shared memory');
    const i = store.allocate(`/n${k}`);
    store.setValue(i, v);
    kept.push(i);
  }
  const small = allocValue(100);
  assert.ok(isShared(small), 'slabs of small values are shared memory too');
  store.setValue(store.allocate('/small'), small);
  assert.ok(sharedGarbageBytes() - base < 16 * 1024 * 2, `stored values counted as garbage: ${sharedGarbageBytes() - base}`);

  // Values that leave the tree count as garbage (recycling takes at most 16 MiB of them).
  for (const i of kept) store.setValue(i, null);
  assert.ok(sharedGarbageBytes() - base >= 2000 * 4096, 'values that left the store are garbage');

  // Dropped values (never stored) up to the limit; past it, ordinary ArrayBuffers.
  let dropped = 0;
  while (isShared(allocValue(65536))) {
    dropped++;
    assert.ok(dropped <= MAX_SHARED_GARBAGE_BYTES / 65536 + 1, 'shared memory handed out past the limit');
  }
  assert.ok(sharedGarbageBytes() >= MAX_SHARED_GARBAGE_BYTES);
  // (4096 would come from the recycled pool, and the slab being cut stays what it was.)
  assert.ok(!isShared(allocValue(5000)), 'past the limit, values are ArrayBuffers');
  let slabValue = allocValue(1000);
  for (let k = 0; k < 17 && isShared(slabValue); k++) slabValue = allocValue(1000);
  assert.ok(!isShared(slabValue), 'past the limit, new slabs are ArrayBuffers');

  // A full collection frees them; the observer resets the estimate to what the store holds.
  fullGc();
  await until('a full collection reset the estimate', () => sharedGarbageBytes() === 0);
  assert.ok(isShared(allocValue(5000)), 'shared memory again after the collection');
  assert.equal(store.value(store.allocate('/x')), null);
});

test('a store that is cleared stops holding its values', async () => {
  fullGc();
  await until('reset', () => sharedGarbageBytes() === 0);
  const store = new NodeStore();
  for (let k = 0; k < 100; k++) store.setValue(store.allocate(`/c${k}`), allocValue(8192));
  assert.ok(sharedGarbageBytes() < 16 * 1024);
  store.clear();
  assert.ok(sharedGarbageBytes() >= 100 * 8192, 'cleared values are garbage');
});

test('copyBytes copies exactly what Buffer.copy does, into and out of shared memory, at any alignment', () => {
  const source = Buffer.alloc(10000);
  for (let k = 0; k < source.length; k++) source[k] = (k * 131 + 7) & 0xff;
  for (const len of [0, 1, 255, 256, 257, 4096, 5000]) {
    for (const off of [0, 1, 3, 8]) {
      for (const shared of [false, true]) {
        const target = shared ? Buffer.from(new SharedArrayBuffer(len + 16)) : Buffer.alloc(len + 16);
        target.fill(0xee);
        copyBytes(target, off, source, 5, 5 + len);
        const expected = Buffer.alloc(len + 16, 0xee);
        source.copy(expected, off, 5, 5 + len);
        assert.deepEqual(target, expected, `len ${len} at ${off}, shared ${shared}`);
        // And back out of it, whole.
        const out = Buffer.alloc(len + 20, 0x11);
        copyBytes(out, 3, target);
        assert.deepEqual(out.subarray(3, 3 + target.length), target);
        assert.equal(out[2], 0x11);
      }
    }
  }
});
