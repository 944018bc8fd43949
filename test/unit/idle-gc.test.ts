// The idle-collection policy (src/server/idle-gc.ts): when a collection is due, fed samples by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDLE_MS, IdleGcPolicy, MIN_GARBAGE_BYTES } from '../../src/server/idle-gc';

const MiB = 2 ** 20;

test('collects once requests have stopped for IDLE_MS and the heap grew, then not again until new work', () => {
  const p = new IdleGcPolicy();
  assert.equal(p.shouldCollect({ nowMs: 0, requests: 10, heapBytes: 600 * MiB }), false, 'requests just arrived');
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS - 1, requests: 10, heapBytes: 600 * MiB }), false, 'not idle long enough');
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS, requests: 10, heapBytes: 600 * MiB }), true);
  p.collected(400 * MiB);
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 5, requests: 10, heapBytes: 600 * MiB }), false, 'no work since the collection');
  // New work: the counter moves, then stops again.
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 6, requests: 11, heapBytes: 600 * MiB }), false);
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 7, requests: 11, heapBytes: 600 * MiB }), true, '200 MiB over 400 MiB live');
});

test('a small or proportionally small growth is not worth a pause', () => {
  const p = new IdleGcPolicy();
  assert.equal(p.shouldCollect({ nowMs: 0, requests: 1, heapBytes: 0 }), false);
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS, requests: 1, heapBytes: MIN_GARBAGE_BYTES - 1 }), false, 'an empty server');
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS, requests: 1, heapBytes: MIN_GARBAGE_BYTES }), true);
  p.collected(1000 * MiB);
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 3, requests: 2, heapBytes: 1200 * MiB }), false);
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 5, requests: 2, heapBytes: 1200 * MiB }), false, '20 % over the live size');
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 6, requests: 2, heapBytes: 1250 * MiB }), true, '25 % over it');
});

test('a counter reset (srst) counts as work, not as silence', () => {
  const p = new IdleGcPolicy();
  p.shouldCollect({ nowMs: 0, requests: 500, heapBytes: 600 * MiB });
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS - 10, requests: 0, heapBytes: 600 * MiB }), false);
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 2 - 20, requests: 0, heapBytes: 600 * MiB }), false);
  assert.equal(p.shouldCollect({ nowMs: IDLE_MS * 2, requests: 0, heapBytes: 600 * MiB }), true);
});
