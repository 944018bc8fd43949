// Shared pieces of transcript normalization. Each client prints a few values that legitimately
// differ between two runs (wall-clock times, session ids); they are replaced by placeholders so
// that a transcript from Apache ZooKeeper and one from our server compare line by line.
// Everything else, zxids included, is kept: for the same history on a fresh server they match.

/** How far from "now" a node's ctime/mtime may be and still count as a plausible wall-clock time. */
const PLAUSIBLE_MS = 6 * 3600 * 1000;

/**
 * Normalizes a rendered date. Epoch zero (the system nodes' ctime) is kept as <EPOCH> because a
 * server that reports it differently is not faithful; a date near now becomes <TIME>; anything
 * else stays as it was so that a comparison points at it.
 */
export function normalizeDate(text: string): string {
  const trimmed = text.trim();
  const ms = Date.parse(trimmed);
  if (Number.isNaN(ms)) return trimmed;
  // Dates without a zone are parsed as local time, the same way the client rendered them.
  if (Math.abs(ms) < 24 * 3600 * 1000) return '<EPOCH>';
  if (Math.abs(ms - Date.now()) < PLAUSIBLE_MS) return '<TIME>';
  return trimmed;
}

/** Normalizes a time given as milliseconds since the epoch (what kazoo and node clients expose). */
export function normalizeEpochMs(ms: number | bigint): string {
  const n = Number(ms);
  if (n === 0) return '<EPOCH>';
  if (Math.abs(n - Date.now()) < PLAUSIBLE_MS) return '<TIME>';
  return `<BAD-TIME ${String(ms)}>`;
}

/**
 * Replaces session ids by <SESSION-n>, numbered in order of first appearance, so that a
 * transcript still shows which lines refer to the same session.
 */
export class SessionIds {
  private readonly ids = new Map<string, string>();

  name(raw: string): string {
    const key = raw.toLowerCase().replace(/^0x/, '').replace(/^0+(?=.)/, '');
    if (key === '0') return raw;
    let v = this.ids.get(key);
    if (v === undefined) {
      v = `<SESSION-${this.ids.size + 1}>`;
      this.ids.set(key, v);
    }
    return v;
  }
}
