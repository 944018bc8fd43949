/**
 * A compacting garbage collection when the server falls idle after a burst of work: what the
 * JVM's periodic G1 collection (G1PeriodicGCInterval) does, for Node.
 *
 * V8 sizes its old generation to a multiple of the live heap and collects only when allocation
 * reaches that limit, and it keeps fragmented pages committed after a collection. So after a
 * burst of writes (a bulk load of znodes, say) hundreds of MiB stay resident until the next
 * burst: at 1M znodes, 840 MiB of heap and ArrayBuffers for 535 MiB of live data. V8's own
 * memory reducer gets to it only 30-60 s after the load stops (it waits 8 s at a time while the
 * recent allocation rate still looks high). So the shell samples the request counter and the
 * heap every SAMPLE_INTERVAL_MS; once no request has arrived for IDLE_MS and the heap's resident
 * size exceeds what the last collection left by MIN_GARBAGE_FRACTION (and MIN_GARBAGE_BYTES),
 * it collects and compacts. It collects at most once per idle period, and only if requests
 * arrived since the last collection (loading the data at start counts as work), so an idle
 * server is not collected over and over.
 *
 * The cost is one pause of the event loop while the live heap is copied: 106 ms at 1M znodes of
 * 128 B (znodes as columns, node-store.ts); 1.3 s when every znode was an object. Only a request that arrives during it can notice,
 * and it came after a second of silence.
 */
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import type { Logger } from './zookeeper-server';
import { noteFullCollection, sharedValueBytes } from '../jute/value-memory';

/** No request for this long counts as idle. */
export const IDLE_MS = 1000;
export const SAMPLE_INTERVAL_MS = 250;
/** Growth of the resident heap over what the last collection left that is worth a collection: */
export const MIN_GARBAGE_BYTES = 32 * 2 ** 20;
export const MIN_GARBAGE_FRACTION = 0.25;

export interface IdleGcSample {
  nowMs: number;
  /** A counter that moves with every request (ServerStats.packetsReceived). */
  requests: number;
  /**
   * V8's resident (physical) heap size plus external (ArrayBuffer) memory and the shared memory
   * of values (which V8 does not count as external; value-memory.ts), in bytes.
   */
  heapBytes: number;
}

/** The pure policy: fed a sample at a time, says when to collect. */
export class IdleGcPolicy {
  private lastRequests = -1;
  private lastRequestAtMs = 0;
  /** Whether there was work since the last collection; loading the data at start counts. */
  private busySinceGc = true;
  /** What the heap held right after the last collection (0: none yet). */
  private liveBytes = 0;

  shouldCollect(s: IdleGcSample): boolean {
    if (s.requests !== this.lastRequests) {
      this.lastRequests = s.requests;
      this.lastRequestAtMs = s.nowMs;
      this.busySinceGc = true;
      return false;
    }
    if (!this.busySinceGc || s.nowMs - this.lastRequestAtMs < IDLE_MS) return false;
    const garbage = s.heapBytes - this.liveBytes;
    return garbage >= MIN_GARBAGE_BYTES && garbage >= MIN_GARBAGE_FRACTION * this.liveBytes;
  }

  /** After a collection: what it left is the new live size. */
  collected(heapBytesAfter: number): void {
    this.liveBytes = heapBytesAfter;
    this.busySinceGc = false;
  }
}

function heapBytes(): number {
  const h = v8.getHeapStatistics();
  return h.total_physical_size + h.external_memory + sharedValueBytes();
}

let gcFunction: (() => void) | null = null;
/** V8's gc(), without starting node with --expose-gc (the flag only has to be set before a context is made). */
function fullGc(): void {
  if (gcFunction === null) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  // A plain full collection frees dead objects but leaves the old generation's pages as
  // fragmented as they were, and V8 keeps them committed: at 1M znodes it returned 28 of 828
  // MiB. Compacting every page (evacuating the live objects into as few pages as possible)
  // lets V8 release the rest. The flag is V8's own testing switch, read at each full
  // collection, so it is set for this one collection only.
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    gcFunction();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

/** Starts sampling; returns a function that stops it. The timer never keeps the process alive. */
export function startIdleGc(requests: () => number, logger: Logger): () => void {
  const policy = new IdleGcPolicy();
  const timer = setInterval(() => {
    const before = heapBytes();
    if (!policy.shouldCollect({ nowMs: performance.now(), requests: requests(), heapBytes: before })) return;
    const t0 = performance.now();
    fullGc();
    noteFullCollection();
    const after = heapBytes();
    policy.collected(after);
    logger.info(
      { beforeMiB: Math.round(before / 2 ** 20), afterMiB: Math.round(after / 2 ** 20), pauseMs: Math.round(performance.now() - t0) },
      'idle: collected garbage',
    );
  }, SAMPLE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
