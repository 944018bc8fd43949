// The pool of value buffers that left the tree (src/jute/value-memory.ts, recycleValue): a buffer comes
// back from allocValue only after the turn that gave it back, and never while a reply holds it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocValue, holdSpliced, recycleValue, releaseSpliced, valuePoolStats } from '../../src/jute/value-memory';
import { NodeStore } from '../../src/tree/node-store';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a given-back value buffer is handed out again from the next turn on, for the same length only', async () => {
  const a = allocValue(5000);
  recycleValue(a);
  assert.notEqual(allocValue(5000).buffer, a.buffer, 'not in the turn that gave it back');
  await turn();
  assert.notEqual(allocValue(5001).buffer, a.buffer, 'not for another length');
  assert.equal(allocValue(5000).buffer, a.buffer);
  assert.notEqual(allocValue(5000).buffer, a.buffer, 'once only');
});

test('buffers that are not a value of their own are not taken', async () => {
  const before = valuePoolStats().recycledBytes;
  recycleValue(allocValue(100)); // cut from a shared slab
  recycleValue(Buffer.alloc(8192).subarray(0, 4096)); // a view into a larger buffer
  await turn();
  assert.equal(valuePoolStats().recycledBytes, before);
});

test('a buffer a reply still holds is left to the garbage collector', async () => {
  const held = allocValue(6000);
  holdSpliced([held]);
  recycleValue(held);
  await turn();
  assert.notEqual(allocValue(6000).buffer, held.buffer);
  releaseSpliced([held]);
  assert.equal(valuePoolStats().splicedInFlight, 0);
  // Held twice, released once: still held.
  const twice = allocValue(7000);
  holdSpliced([twice]);
  holdSpliced([twice]);
  releaseSpliced([twice]);
  recycleValue(twice);
  await turn();
  assert.notEqual(allocValue(7000).buffer, twice.buffer);
  releaseSpliced([twice]);
  assert.equal(valuePoolStats().splicedInFlight, 0);
});

test('a slab of small values that no node holds any more is not handed out as a value: the decoder may still cut values from it', async () => {
  const store = new NodeStore();
  // Two small values from the decoder's current slab: one stored, one still on its way (a
  // request waiting for the log, say).
  const stored = allocValue(100);
  const pending = allocValue(100);
  assert.equal(stored.buffer, pending.buffer, 'both cut from one slab');
  pending.fill(7);
  const i = store.allocate('/a');
  store.setValue(i, stored);
  store.setValue(i, null); // the only node holding the slab lets go
  await turn();
  const big = allocValue(stored.buffer.byteLength);
  assert.notEqual(big.buffer, stored.buffer, 'the slab came back as a value of its own');
  big.fill(1);
  assert.ok(pending.every((b) => b === 7), 'the pending value was overwritten');
});
