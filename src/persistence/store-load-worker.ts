/**
 * The reading half of a snapshot store load, on a worker thread: it walks the nodes database
 * and copies the raw node values, back to back, into chunks that it hands to the loading
 * thread, which decodes them into the tree meanwhile (lmdb-store.ts, loadNodesInWorker). So the
 * B-tree walk, the page faults of the memory map, lmdb-js's per-entry work and each node's
 * digest (its share of the tree digest, DataTree keeps it per node) run beside the decoding
 * instead of before each node. The digest is computed from the stored bytes (storedNodeDigest),
 * or, where that cannot give the exact value, by nodeDigest on the node as decodeNodeInto reads
 * it: either way the value the loader would compute.
 *
 * Chunk := (size:int32 digest:int32 value:byte[size])*   (big-endian; digest 0 when digests are off)
 *
 * Messages on `port`: {kind: 'chunk', buf, used}, then {kind: 'end', lastZxid, count}, or
 * {kind: 'error', message}. `sync` counts chunks posted (0) and consumed (1); the worker keeps
 * at most MAX_CHUNKS_IN_FLIGHT chunks ahead of the loader, so the memory it uses is bounded.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { open } from 'lmdb';
import type * as R from '../jute/records';
import { nodeDigest } from '../tree/digest';
import { decodeNodeInto, MAP_SIZE_BYTES, newRestoredNode, PATH_SKIPPING_KEY_ENCODER, storedNodeDigest } from './lmdb-store';

/**
 * Chunks start small, so the loader can start decoding soon after the worker starts, and double
 * up to CHUNK_BYTES, so that most values travel in few messages.
 */
const FIRST_CHUNK_BYTES = 64 * 1024;
const CHUNK_BYTES = 4 * 1024 * 1024;
const MAX_CHUNKS_IN_FLIGHT = 8;
/** The loader gone for this long (it never is while it waits for us) ends the worker. */
const MAX_WAIT_MS = 120_000;

interface LoadWorkerData {
  file: string;
  digestEnabled: boolean;
  port: MessagePort;
  sync: SharedArrayBuffer;
}

const { file, digestEnabled, port, sync } = workerData as LoadWorkerData;
const node = newRestoredNode();
const aclLists = new Map<string, R.AclValue[]>();
const counters = new Int32Array(sync);
let chunkBytes = FIRST_CHUNK_BYTES;
let chunk = new Uint8Array(chunkBytes);
let used = 0;

function signalPosted(): void {
  Atomics.add(counters, 0, 1);
  Atomics.notify(counters, 0);
}

function postChunk(): void {
  let waitedMs = 0;
  for (;;) {
    const consumed = Atomics.load(counters, 1);
    if (Atomics.load(counters, 0) - consumed < MAX_CHUNKS_IN_FLIGHT) break;
    if (Atomics.wait(counters, 1, consumed, 1000) === 'timed-out' && (waitedMs += 1000) >= MAX_WAIT_MS) {
      throw new Error('the loader stopped taking chunks');
    }
  }
  port.postMessage({ kind: 'chunk', buf: chunk.buffer, used }, [chunk.buffer]);
  signalPosted();
  chunkBytes = Math.min(chunkBytes * 2, CHUNK_BYTES);
  chunk = new Uint8Array(chunkBytes);
  used = 0;
}

function append(bytes: Uint8Array, size: number): void {
  if (used + 8 + size > chunk.length) {
    if (used > 0) postChunk();
    if (8 + size > chunk.length) chunk = new Uint8Array(8 + size);
  }
  let digest = 0;
  if (digestEnabled) {
    const stored = storedNodeDigest(bytes, size);
    if (stored !== null) {
      digest = stored;
    } else {
      const n = decodeNodeInto(bytes, 0, size, aclLists, node);
      digest = nodeDigest(n.path === '' ? '/' : n.path, n.data, n);
    }
  }
  writeInt32(used, size);
  writeInt32(used + 4, digest);
  chunk.set(new Uint8Array(bytes.buffer, bytes.byteOffset, size), used + 8);
  used += 8 + size;
}

function writeInt32(at: number, v: number): void {
  chunk[at] = v >>> 24;
  chunk[at + 1] = (v >>> 16) & 0xff;
  chunk[at + 2] = (v >>> 8) & 0xff;
  chunk[at + 3] = v & 0xff;
}

try {
  // The same map size as the server's handle (lmdb-store.ts): one environment per file and process.
  const root = open({ path: file, readOnly: true, mapSize: MAP_SIZE_BYTES });
  const meta = root.openDB<number, string>({ name: 'meta' });
  // The same keys, decoder hooks and starting key as the in-thread load (lmdb-store.ts).
  const nodes = root.openDB<number, Uint8Array>({
    name: 'nodes',
    encoder: {
      encode: (): Buffer => {
        throw new Error('read-only');
      },
      decode: (bytes: Uint8Array, size: number): number => {
        append(bytes, size);
        return size;
      },
    },
    keyEncoder: PATH_SKIPPING_KEY_ENCODER,
  } as never);
  // One synchronous run reads one snapshot: lastZxid and the nodes agree.
  const lastZxid = meta.get('lastZxid') ?? null;
  let count = 0;
  for (const entry of nodes.getRange()) {
    void entry;
    count++;
  }
  if (used > 0) postChunk();
  port.postMessage({ kind: 'end', lastZxid, count });
  signalPosted();
  root.close().catch(() => undefined);
} catch (e) {
  port.postMessage({ kind: 'error', message: (e as Error).message });
  signalPosted();
}
