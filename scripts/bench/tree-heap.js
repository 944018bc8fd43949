#!/usr/bin/env node
// Live heap of a DataTree alone, in-process: N creates of 128 B values (cut by allocValue, as the
// decoder does; paths flattened as the decoder makes them) under 1,000 parents, then heapUsed and
// external after two forced GCs. The figures in docs/performance.md, "Compact znodes".
//
//   node --expose-gc scripts/bench/tree-heap.js DIST [N] [HEAPSNAPSHOT-FILE]
//     DIST: a build's dist directory (this checkout's dist, or a frozen build's, see freeze.sh)
'use strict';
const path = require('node:path');
const dist = path.resolve(process.argv[2]);
const N = Number(process.argv[3] ?? 200000);
const { DataTree } = require(path.join(dist, 'src/tree/data-tree.js'));
const { allocValue } = require(path.join(dist, 'src/jute/codec.js'));
const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
global.gc(); global.gc();
const m0 = process.memoryUsage();
const t = new DataTree();
let zxid = 1;
const root = '/bench';
t.createNode(root, allocValue(0), acl, 0n, -1, zxid++, Date.now());
const parents = [];
for (let p = 0; p < 1000; p++) { parents.push(`${root}/p${String(p).padStart(4, '0')}`); t.createNode(parents[p], allocValue(0), acl, 0n, -1, zxid++, Date.now()); }
const src = Buffer.alloc(128, 7);
const t0 = process.hrtime.bigint();
for (let k = 0; k < N; k++) {
  const v = allocValue(128); src.copy(v);
  t.createNode(Buffer.from(parents[k % 1000] + '/n' + k).toString(), v, acl, 0n, -1, zxid++, Date.now());
}
const fillMs = Number(process.hrtime.bigint() - t0) / 1e6;
global.gc(); global.gc();
const m1 = process.memoryUsage();
const heap = m1.heapUsed - m0.heapUsed;
console.log(JSON.stringify({ dist: process.argv[2], N, fillMs: Math.round(fillMs), heapUsedMiB: +(heap / 2**20).toFixed(1), externalMiB: +((m1.external - m0.external) / 2**20).toFixed(1), perNodeB: Math.round((heap + m1.external - m0.external) / N), rssMiB: +(m1.rss / 2**20).toFixed(0), count: t.nodeCount() }));
if (process.argv[4]) require('v8').writeHeapSnapshot(process.argv[4]);
