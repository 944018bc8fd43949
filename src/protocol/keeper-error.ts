/**
 * A KeeperException: an operating error that becomes an error code in a reply or an error txn.
 * Thrown inside the request stages and caught at their boundary, never past it.
 */
import { Err } from './constants';

export class KeeperError extends Error {
  override readonly name = 'KeeperError';
  constructor(
    readonly code: number,
    readonly path?: string,
  ) {
    super(`KeeperErrorCode = ${codeName(code)}${path !== undefined ? ` for ${path}` : ''}`);
  }
}

const NAMES = new Map<number, string>(Object.entries(Err).map(([k, v]) => [v, k]));

export function codeName(code: number): string {
  return NAMES.get(code) ?? `UNKNOWN(${code})`;
}
