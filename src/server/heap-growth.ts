/**
 * How far V8 lets the heap grow past what the last full collection left before it starts the
 * next one: a server's choice, as the JVM flags in ZooKeeper's zkEnv.sh are.
 *
 * V8 picks the growth factor itself, from how fast it collects against how fast the program
 * allocates, and for this server under write load it picks about the smallest it has (1.1–1.3, logged
 * by --trace-gc-verbose as "[HeapController] factor 1.1"). The next full collection then starts
 * after a few tens of MiB: set 4 KB at 4 clients × 8 in flight, after 400,000 znodes of 128 B,
 * ran 9–44 full collections in 5 s, each marking the whole heap (50–200 ms of a helper
 * thread's CPU on this 2-core machine, where the load generator wants the other core) and
 * pausing the event loop for 2–27 ms: they made the tail of the 4 KB writes' latency.
 * With growth factor 3 (`--heap-growing-percent=200`), `ab.js` (2 repetitions each, fresh
 * servers) measured set 4 KB 4×8 p99 3.4–4.3 ms against 9.8–12.5, set 4 KB 16×32 18–19 ms
 * against 23–40, create 4 KB 1×1 0.78–0.80 ms against 1.25–1.29, and less CPU per reply; the
 * price is a heap that may grow to three times its live size between collections, which the
 * idle collection (idle-gc.ts) gives back once writes stop: RSS after 1M creates was the same
 * (438 against 436 MiB). V8 alone picks between 1.1 and 4 (its largest, for heaps it collects
 * cheaply); the flag fixes it. See docs/performance.md, "Heap growth".
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 200;

/**
 * A heap-growing flag the operator gave node on its command line wins (node refuses it in
 * NODE_OPTIONS).
 */
export function operatorSetHeapGrowth(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a));
}

/** Sets the growth factor unless the operator did; V8 reads it at every full collection. */
export function setHeapGrowth(): boolean {
  if (operatorSetHeapGrowth(process.execArgv)) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
