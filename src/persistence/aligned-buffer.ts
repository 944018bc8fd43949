/**
 * Page-aligned memory for O_DIRECT writes (the txn log and its zero fill; txn-log.ts explains
 * why the log writes direct). Node gives no way to align a Buffer: malloc places its memory
 * anywhere. A WebAssembly memory, though, is whole pages that V8 maps for it alone.
 */

/**
 * Direct writes start and end on multiples of this and come from memory aligned to it: the
 * page size, which covers both 512-byte and 4 KiB logical blocks.
 */
export const DIRECT_ALIGN_BYTES = 4096;
/** WebAssembly memory comes in pages of this size. */
const WASM_PAGE_BYTES = 65536;

/** The one WebAssembly API used here (TypeScript's node lib does not declare it). */
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer } };

/**
 * A zero-filled buffer of at least `bytes` whose memory starts on a page boundary: V8 allocates
 * a WebAssembly memory as whole pages of its own, unlike Buffers, which malloc places anywhere.
 */
export function pageAlignedBuffer(bytes: number): Buffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
  return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
}
