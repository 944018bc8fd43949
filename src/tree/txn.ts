/**
 * Txns: what the prepare stage produces and the apply stage consumes, and what the txn log will
 * store. The header is TxnHeader; the body's record depends on the header's type exactly as in
 * Apache ZooKeeper (SerializeUtils.deserializeTxn).
 */
import { OpCode } from '../protocol/constants';
import * as R from '../jute/records';
import type { Value } from '../jute/records';
import { JuteReader, JuteWriter } from '../jute/codec';

export type TxnBody =
  | { type: typeof OpCode.create | typeof OpCode.create2; record: Value<typeof R.CreateTxn> }
  | { type: typeof OpCode.createContainer; record: Value<typeof R.CreateContainerTxn> }
  | { type: typeof OpCode.createTTL; record: Value<typeof R.CreateTTLTxn> }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer; record: Value<typeof R.DeleteTxn> }
  | { type: typeof OpCode.setData | typeof OpCode.reconfig; record: Value<typeof R.SetDataTxn> }
  | { type: typeof OpCode.setACL; record: Value<typeof R.SetACLTxn> }
  | { type: typeof OpCode.check; record: Value<typeof R.CheckVersionTxn> }
  | { type: typeof OpCode.error; record: Value<typeof R.ErrorTxn> }
  | { type: typeof OpCode.createSession; record: Value<typeof R.CreateSessionTxn> }
  | { type: typeof OpCode.closeSession; record: Value<typeof R.CloseSessionTxn> | null }
  | { type: typeof OpCode.multi; record: { txns: TxnBody[] } };

export interface Txn {
  hdr: R.TxnHeaderValue;
  body: TxnBody;
}

function recordTypeFor(type: number): R.RecordTypeAny | null {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
      return R.CreateTxn;
    case OpCode.createContainer:
      return R.CreateContainerTxn;
    case OpCode.createTTL:
      return R.CreateTTLTxn;
    case OpCode.delete:
    case OpCode.deleteContainer:
      return R.DeleteTxn;
    case OpCode.setData:
    case OpCode.reconfig:
      return R.SetDataTxn;
    case OpCode.setACL:
      return R.SetACLTxn;
    case OpCode.check:
      return R.CheckVersionTxn;
    case OpCode.error:
      return R.ErrorTxn;
    case OpCode.createSession:
      return R.CreateSessionTxn;
    case OpCode.closeSession:
      return R.CloseSessionTxn;
    default:
      return null;
  }
}

/** Serializes a txn body as its Jute record (a multi as MultiTxn of nested serialized txns). */
export function encodeTxnBody(w: JuteWriter, body: TxnBody): void {
  if (body.type === OpCode.multi) {
    w.int(body.record.txns.length);
    for (const sub of body.record.txns) {
      w.int(sub.type);
      const inner = new JuteWriter(64);
      encodeTxnBody(inner, sub);
      w.buffer(inner.finish());
    }
    return;
  }
  if (body.record === null) return;
  const rt = recordTypeFor(body.type);
  if (rt === null) throw new Error(`no record type for txn type ${body.type}`);
  rt.encode(w, body.record);
}

/** Decodes a txn body of `type` from `r`; a closeSession with no bytes left is the pre-3.6 form. */
export function decodeTxnBody(type: number, r: JuteReader): TxnBody {
  if (type === OpCode.multi) {
    const n = r.vectorCount();
    const txns: TxnBody[] = [];
    for (let i = 0; i < n; i++) {
      const subType = r.int();
      const data = r.buffer() ?? Buffer.alloc(0);
      txns.push(decodeTxnBody(subType, new JuteReader(data)));
    }
    return { type: OpCode.multi, record: { txns } };
  }
  if (type === OpCode.closeSession && r.remaining() === 0) return { type, record: null };
  const rt = recordTypeFor(type);
  if (rt === null) throw new Error(`unknown txn type ${type}`);
  return { type, record: rt.decode(r) } as TxnBody;
}
