/**
 * Writes zeros ahead of the txn log on a thread of its own (txn-log.ts explains why the log is
 * filled at all), then one fdatasync makes the blocks durable.
 *
 * Where the filesystem takes O_DIRECT, the block-aligned part goes straight to the device, 1 MiB
 * per write, without touching the page cache (which costs fresh memory; txn-log.ts's header has
 * the figures), and the log's own writes are direct too. Elsewhere, and for the unaligned edges,
 * the zeros go in 4 KiB writes through the page cache. 4 KiB matters there: the page cache keeps
 * what one write put there as one folio, and a later synced write of a few bytes flushes its
 * whole folio, so zeros written 1 MiB at a time made every small buffered log write flush 1 MiB
 * (measured: 5,000 writes of 200 bytes wrote 5,000 MiB). 2,048 writes per 8 MiB are too many
 * callbacks for the event loop, hence this thread.
 *
 * Messages in:  {id, file, from, to}      (byte offsets; to - from a multiple of 4 KiB or not)
 * Messages out: {id, error: string|null}
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { DIRECT_ALIGN_BYTES, pageAlignedBuffer } from './aligned-buffer';

const PAGE_BYTES = 4096;
const DIRECT_CHUNK_BYTES = 1024 * 1024;
const zeros = Buffer.alloc(PAGE_BYTES);
/** Zeros in page-aligned memory, for direct writes. */
let directZeros: Buffer | null = null;
/** Cleared when the filesystem refuses O_DIRECT: every later fill goes through the page cache. */
let directUsable = fs.constants.O_DIRECT !== undefined;

interface FillRequest {
  id: number;
  file: string;
  from: number;
  to: number;
}

function openDirect(file: string): number | null {
  if (!directUsable) return null;
  try {
    return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_DIRECT!);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    directUsable = false;
    return null;
  }
}

function fill(r: FillRequest): void {
  const fd = fs.openSync(r.file, 'r+');
  let direct: number | null = null;
  try {
    direct = openDirect(r.file);
    let pos = r.from;
    const directEnd = r.to - (r.to % DIRECT_ALIGN_BYTES);
    while (pos < r.to) {
      if (direct !== null && pos % DIRECT_ALIGN_BYTES === 0 && pos < directEnd) {
        directZeros ??= pageAlignedBuffer(DIRECT_CHUNK_BYTES);
        try {
          pos += fs.writeSync(direct, directZeros, 0, Math.min(DIRECT_CHUNK_BYTES, directEnd - pos), pos);
          continue;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
          directUsable = false;
          fs.closeSync(direct);
          direct = null;
        }
      }
      // The first and last pages may be partial; every other write is one whole page.
      const n = Math.min(PAGE_BYTES - (pos % PAGE_BYTES), r.to - pos);
      pos += fs.writeSync(fd, zeros, 0, n, pos);
    }
    fs.fdatasyncSync(fd);
  } finally {
    if (direct !== null) fs.closeSync(direct);
    fs.closeSync(fd);
  }
}

parentPort!.on('message', (r: FillRequest) => {
  let error: string | null = null;
  try {
    fill(r);
  } catch (e) {
    error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  parentPort!.postMessage({ id: r.id, error });
});
