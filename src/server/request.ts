/**
 * A client request as it travels through the pipeline (Apache ZooKeeper's Request): the
 * prepare stage fills in the txn (or the error), the apply stage the result.
 */
import type { IdValue, TxnHeaderValue } from '../jute/records';
import type { KeeperError } from '../protocol/keeper-error';
import type { TxnBody } from '../tree/txn';
import type { ClientConnection } from './client-connection';

export interface Request {
  /** The connection to answer; null for requests the server makes itself (expiry, containers). */
  readonly cnxn: ClientConnection | null;
  readonly sessionId: bigint;
  readonly cxid: number;
  readonly type: number;
  /** The request record's bytes, after the RequestHeader. */
  readonly body: Buffer;
  readonly authInfo: readonly IdValue[];
  /** Monotonic ms when the request arrived, for latency statistics. */
  readonly createdAtMs: number;
  /** Set by prepare for requests that become txns. */
  hdr: TxnHeaderValue | null;
  txn: TxnBody | null;
  /** The error prepare found (the txn is then an error txn). */
  exception: KeeperError | null;
  /** For createSession: the negotiated timeout. */
  sessionTimeoutMs?: number;
}

export function newRequest(
  cnxn: ClientConnection | null,
  sessionId: bigint,
  cxid: number,
  type: number,
  body: Buffer,
  authInfo: readonly IdValue[],
  nowMs: number,
): Request {
  return { cnxn, sessionId, cxid, type, body, authInfo, createdAtMs: nowMs, hdr: null, txn: null, exception: null };
}
