/**
 * Writes zeros ahead of the txn log on a thread of its own (txn-log.ts explains why the log is
 * filled at all). The zeros go in 4 KiB writes through a descriptor without O_DSYNC, then one
 * fdatasync makes the blocks durable. 4 KiB matters: the page cache keeps what one write put
 * there as one folio, and a later synced write of a few bytes flushes its whole folio, so zeros
 * written 1 MiB at a time made every small log write flush 1 MiB (measured: 5,000 writes of
 * 200 bytes wrote 5,000 MiB). 2,048 writes per 8 MiB are too many callbacks for the event loop,
 * hence this thread.
 *
 * Messages in:  {id, file, from, to}      (byte offsets; to - from a multiple of 4 KiB or not)
 * Messages out: {id, error: string|null}
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';

const PAGE_BYTES = 4096;
const zeros = Buffer.alloc(PAGE_BYTES);

interface FillRequest {
  id: number;
  file: string;
  from: number;
  to: number;
}

function fill(r: FillRequest): void {
  const fd = fs.openSync(r.file, 'r+');
  try {
    for (let pos = r.from; pos < r.to; ) {
      // The first and last pages may be partial; every other write is one whole page.
      const n = Math.min(PAGE_BYTES - (pos % PAGE_BYTES), r.to - pos);
      pos += fs.writeSync(fd, zeros, 0, n, pos);
    }
    fs.fdatasyncSync(fd);
  } finally {
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
