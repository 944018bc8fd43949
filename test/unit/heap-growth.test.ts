// The heap growth factor the server sets for V8 (src/server/heap-growth.ts): set at start,
// unless the operator gave node one, and in force at the next full collection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { HEAP_GROWING_PERCENT, operatorSetHeapGrowth } from '../../src/server/heap-growth';

const MODULE = path.join(__dirname, '../../src/server/heap-growth.js');

test("an operator's heap-growing flag on node's command line is recognised", () => {
  assert.equal(operatorSetHeapGrowth([]), false);
  assert.equal(operatorSetHeapGrowth(['--max-old-space-size=512', '--enable-source-maps']), false);
  assert.equal(operatorSetHeapGrowth(['--heap-growing-percent=50']), true);
  assert.equal(operatorSetHeapGrowth(['--heap_growing_percent', '50']), true);
  assert.equal(operatorSetHeapGrowth(['--heap-growing-percentile=1']), false);
});

/** Runs setHeapGrowth() in a fresh node, forces a full collection, and returns what V8 logged. */
function growthAfterFullGc(nodeArgs: string[]): { set: boolean; factors: string[] } {
  const script = `const set = require(${JSON.stringify(MODULE)}).setHeapGrowth(); globalThis.gc(); console.log('set=' + set);`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--trace-gc-verbose', ...nodeArgs, '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  // "[HeapController] Limit: old size: 7319 KB, new limit: 33302 KB (3.0)"
  const factors = [...out.matchAll(/\[HeapController\] Limit: .*\(([0-9.]+)\)/g)].map((m) => m[1]!);
  return { set: /set=true/.test(out), factors };
}

test('the server sets the growth factor, and V8 uses it at the next full collection', { timeout: 60_000 }, () => {
  const ours = growthAfterFullGc([]);
  assert.equal(ours.set, true);
  assert.ok(ours.factors.length > 0, 'V8 logged no heap limit');
  assert.equal(ours.factors.at(-1), (1 + HEAP_GROWING_PERCENT / 100).toFixed(1));

  const operators = growthAfterFullGc(['--heap-growing-percent=50']);
  assert.equal(operators.set, false, "the operator's flag is left alone");
  assert.equal(operators.factors.at(-1), '1.5');
});
