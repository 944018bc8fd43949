/**
 * multi and multiRead bodies (MultiOperationRecord, MultiResponse):
 *
 *   MultiRequest  := { MultiHeader(type, done=false, err=-1) op-record }* MultiHeader(-1, true, -1)
 *   op-record     := CreateRequest | CreateTTLRequest | DeleteRequest | SetDataRequest
 *                  | CheckVersionRequest | GetChildrenRequest | GetDataRequest   (by type)
 *   MultiResponse := { MultiHeader(type, false, err) result-record }* MultiHeader(-1, true, -1)
 *   result-record := CreateResponse (create) | Create2Response (create2) | nothing (delete, check)
 *                  | SetDataResponse | GetChildrenResponse | GetDataResponse | ErrorResponse (error)
 *
 * A multi mixes no reads with writes; Apache ZooKeeper refuses that as a marshalling error.
 */
import { JuteError, JuteReader, JuteWriter } from '../jute/codec';
import * as R from '../jute/records';
import type { Value } from '../jute/records';
import { CreateFlag, OpCode } from './constants';

export type MultiOp =
  | { type: typeof OpCode.create | typeof OpCode.createContainer | typeof OpCode.createTTL; req: Value<typeof R.CreateTTLRequest> }
  | { type: typeof OpCode.delete; req: Value<typeof R.DeleteRequest> }
  | { type: typeof OpCode.setData; req: Value<typeof R.SetDataRequest> }
  | { type: typeof OpCode.check; req: Value<typeof R.CheckVersionRequest> }
  | { type: typeof OpCode.getChildren; req: Value<typeof R.GetChildrenRequest> }
  | { type: typeof OpCode.getData; req: Value<typeof R.GetDataRequest> };

const READ_OPS = new Set<number>([OpCode.getChildren, OpCode.getData]);

/** Op.create picks the op's type from the create mode (Op.Create.getOpcode). */
function createOpType(flags: number): typeof OpCode.create | typeof OpCode.createContainer | typeof OpCode.createTTL {
  if (flags === CreateFlag.CONTAINER) return OpCode.createContainer;
  if (flags === CreateFlag.PERSISTENT_WITH_TTL || flags === CreateFlag.PERSISTENT_SEQUENTIAL_WITH_TTL) return OpCode.createTTL;
  return OpCode.create;
}

/**
 * Decodes a multi or multiRead body; throws JuteError on bad bytes or mixed kinds. The indexes
 * of ops whose path is null (length -1, which decodes as "") go into `nullPaths` when given:
 * Apache ZooKeeper keeps such a path null and fails on it.
 */
export function decodeMultiRequest(r: JuteReader, nullPaths?: number[]): MultiOp[] {
  const ops: MultiOp[] = [];
  let kind: 'read' | 'write' | null = null;
  let h = R.MultiHeader.decode(r);
  // Bounded by the frame: every op consumes at least a header's 9 bytes.
  while (!h.done) {
    // Every op record starts with its path.
    if (nullPaths !== undefined && r.remaining() >= 4 && r.buf.readInt32BE(r.offset) === -1) nullPaths.push(ops.length);
    let op: MultiOp;
    switch (h.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer: {
        const c = R.CreateRequest.decode(r);
        const type = createOpType(c.flags);
        if (type === OpCode.createTTL) throw new JuteError('a TTL create mode needs a createTTL op');
        op = { type, req: { ...c, ttl: -1 } };
        break;
      }
      case OpCode.createTTL: {
        const c = R.CreateTTLRequest.decode(r);
        op = { type: OpCode.createTTL, req: c };
        break;
      }
      case OpCode.delete:
        op = { type: OpCode.delete, req: R.DeleteRequest.decode(r) };
        break;
      case OpCode.setData:
        op = { type: OpCode.setData, req: R.SetDataRequest.decode(r) };
        break;
      case OpCode.check:
        op = { type: OpCode.check, req: R.CheckVersionRequest.decode(r) };
        break;
      case OpCode.getChildren:
        op = { type: OpCode.getChildren, req: R.GetChildrenRequest.decode(r) };
        break;
      case OpCode.getData:
        op = { type: OpCode.getData, req: R.GetDataRequest.decode(r) };
        break;
      default:
        throw new JuteError(`invalid type of op ${h.type}`);
    }
    const k = READ_OPS.has(op.type) ? 'read' : 'write';
    if (kind !== null && kind !== k) throw new JuteError('Mixing different kind of ops');
    kind = k;
    ops.push(op);
    h = R.MultiHeader.decode(r);
  }
  return ops;
}

export type MultiResult =
  | { type: typeof OpCode.create; path: string }
  | { type: typeof OpCode.create2; path: string; stat: Value<typeof R.Stat> }
  | { type: typeof OpCode.delete }
  | { type: typeof OpCode.check }
  | { type: typeof OpCode.setData; stat: Value<typeof R.Stat> }
  | { type: typeof OpCode.getChildren; children: string[] }
  | { type: typeof OpCode.getData; data: Buffer | null; stat: Value<typeof R.Stat> }
  | { type: typeof OpCode.error; err: number };

export function encodeMultiResponse(w: JuteWriter, results: readonly MultiResult[]): void {
  for (const res of results) {
    R.MultiHeader.encode(w, { type: res.type, done: false, err: res.type === OpCode.error ? res.err : 0 });
    switch (res.type) {
      case OpCode.create:
        w.ustring(res.path);
        break;
      case OpCode.create2:
        R.Create2Response.encode(w, { path: res.path, stat: res.stat });
        break;
      case OpCode.delete:
      case OpCode.check:
        break;
      case OpCode.setData:
        R.Stat.encode(w, res.stat);
        break;
      case OpCode.getChildren:
        R.GetChildrenResponse.encode(w, { children: res.children });
        break;
      case OpCode.getData:
        R.GetDataResponse.encode(w, { data: res.data, stat: res.stat });
        break;
      case OpCode.error:
        w.int(res.err);
        break;
    }
  }
  R.MultiHeader.encode(w, { type: -1, done: true, err: -1 });
}
