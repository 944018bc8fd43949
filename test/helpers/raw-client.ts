/**
 * A minimal ZooKeeper client that speaks the raw wire protocol on top of src/jute, for the
 * differential and bad-input tests. It hides nothing: the caller picks the xid, the opcode, the
 * request record and the record to decode the reply with, and every frame the server sends is
 * kept, in arrival order, in one log (replies, watch notifications and the final close), so a
 * test can compare exactly what two servers said and in which order.
 *
 *   frame    := int32 length, then length bytes (both directions)
 *   connect  := ConnectRequest [readOnly:boolean]         → ConnectResponse [readOnly:boolean]
 *   request  := RequestHeader(xid, type) [record]         → ReplyHeader(xid, zxid, err) [record]
 *   event    :=                                              ReplyHeader(-1, -1, 0) WatcherEvent
 *
 * Every wait is bounded: a request, a handshake or a waitFor that takes longer than its timeout
 * rejects with an error that says what was awaited.
 */
import net from 'node:net';
import { JuteReader, JuteWriter } from '../../src/jute/codec';
import * as R from '../../src/jute/records';
import type { RecordType } from '../../src/jute/schema';
import { OpCode, Xid } from '../../src/protocol/constants';

export const DEFAULT_IO_TIMEOUT_MS = 5000;
/** Frames larger than this from a server are a bug in the server; the client gives up on them. */
const MAX_INCOMING_FRAME_BYTES = 64 * 1024 * 1024;

export interface HandshakeOptions {
  protocolVersion?: number;
  lastZxidSeen?: number;
  /** Requested session timeout in ms. */
  timeoutMs?: number;
  sessionId?: bigint;
  passwd?: Buffer | null;
  /**
   * The trailing readOnly byte: true/false sends it, null leaves it out (an "old client", to
   * which Apache ZooKeeper answers without the byte either).
   */
  readOnly?: boolean | null;
  /** How long to wait for the answer. */
  ioTimeoutMs?: number;
}

export interface ConnectAnswer {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  /** The trailing readOnly byte, or null when the server did not send one. */
  readOnly: boolean | null;
  /** The whole frame, for byte-level comparisons. */
  raw: Buffer;
}

export interface ReplyEntry {
  kind: 'reply';
  xid: number;
  zxid: number;
  err: number;
  /** The bytes after the reply header. */
  body: Buffer;
}

export interface EventEntry {
  kind: 'event';
  /** The zxid in the notification's reply header (Apache ZooKeeper 3.8 sends -1). */
  zxid: number;
  err: number;
  type: number;
  state: number;
  path: string;
}

export interface ClosedEntry {
  kind: 'closed';
}

/** A frame that did not decode as what the protocol says comes next. */
export interface UnparsedEntry {
  kind: 'unparsed';
  raw: Buffer;
  error: string;
}

export type LogEntry = ReplyEntry | EventEntry | ClosedEntry | UnparsedEntry;

export interface Reply<T> {
  xid: number;
  zxid: number;
  err: number;
  /** The body decoded with the record type given, or null (error reply, empty body, no type). */
  body: T | null;
  /** Why decoding the body failed, if it did. */
  decodeError: string | null;
  raw: Buffer;
}

interface Pending {
  resolve(e: ReplyEntry): void;
  reject(e: Error): void;
}

interface Waiter {
  check(): boolean;
  reject(e: Error): void;
}

export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class RawClient {
  /** Everything the server sent after the handshake, in arrival order, ending with 'closed'. */
  readonly log: LogEntry[] = [];
  session: ConnectAnswer | null = null;
  closed = false;
  private nextXid = 1;
  private sawFirstFrame = false;
  private buf: Buffer = Buffer.alloc(0);
  private handshakeWaiter: { resolve(a: ConnectAnswer | null): void } | null = null;
  private readonly pending = new Map<number, Pending[]>();
  private readonly waiters = new Set<Waiter>();
  private readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (d: Buffer) => this.onData(d));
    // Errors (ECONNRESET when the server drops us) end in 'close', which is what tests observe.
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
  }

  /** Opens a TCP connection without any handshake. */
  static open(port: number, host = '127.0.0.1', ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${ioTimeoutMs} ms`));
      }, ioTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new RawClient(socket));
      });
      const onError = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      socket.once('error', onError);
    });
  }

  /** Opens a connection and completes the handshake; throws if the server does not answer. */
  static async connect(port: number, opts: HandshakeOptions = {}, host = '127.0.0.1'): Promise<RawClient> {
    const c = await RawClient.open(port, host, opts.ioTimeoutMs);
    const a = await c.handshake(opts);
    if (a === null) {
      c.destroy();
      throw new ConnectionClosedError(`server at ${host}:${port} closed the connection without answering the ConnectRequest`);
    }
    return c;
  }

  /** The bytes of a ConnectRequest frame, for tests that want to mangle them. */
  static connectFrame(opts: HandshakeOptions = {}): Buffer {
    const w = new JuteWriter(64);
    const at = w.reserveInt();
    R.ConnectRequest.encode(w, {
      protocolVersion: opts.protocolVersion ?? 0,
      lastZxidSeen: opts.lastZxidSeen ?? 0,
      timeOut: opts.timeoutMs ?? 30000,
      sessionId: opts.sessionId ?? 0n,
      passwd: opts.passwd === undefined ? Buffer.alloc(16) : opts.passwd,
    });
    const ro = opts.readOnly === undefined ? false : opts.readOnly;
    if (ro !== null) w.boolean(ro);
    w.patchInt(at, w.offset - 4);
    return Buffer.from(w.finish());
  }

  /**
   * Sends a ConnectRequest and waits for the ConnectResponse. Resolves null if the server closes
   * the connection without answering.
   */
  handshake(opts: HandshakeOptions = {}): Promise<ConnectAnswer | null> {
    const answer = this.awaitConnectResponse(opts.ioTimeoutMs);
    if (!this.closed) this.socket.write(RawClient.connectFrame(opts));
    return answer;
  }

  /**
   * Waits, without sending anything, for the server's first frame read as a ConnectResponse
   * (resolves at once if it already came), or for the close (resolves null).
   */
  awaitConnectResponse(ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<ConnectAnswer | null> {
    return new Promise((resolve, reject) => {
      if (this.session !== null) {
        resolve(this.session);
        return;
      }
      if (this.closed) {
        resolve(null);
        return;
      }
      const timer = setTimeout(() => {
        this.handshakeWaiter = null;
        reject(new Error(`no ConnectResponse within ${ioTimeoutMs} ms`));
      }, ioTimeoutMs);
      this.handshakeWaiter = {
        resolve: (a) => {
          clearTimeout(timer);
          this.handshakeWaiter = null;
          resolve(a);
        },
      };
    });
  }

  get sessionId(): bigint {
    return this.session?.sessionId ?? 0n;
  }

  /** Writes bytes as they are, with no framing. */
  sendRaw(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Writes one frame: RequestHeader(xid, type) then body. */
  sendFrame(xid: number, type: number, body: Buffer = Buffer.alloc(0)): void {
    const frame = Buffer.allocUnsafe(12 + body.length);
    frame.writeInt32BE(8 + body.length, 0);
    frame.writeInt32BE(xid, 4);
    frame.writeInt32BE(type, 8);
    body.copy(frame, 12);
    this.sendRaw(frame);
  }

  /** Allocates the next xid, as ClientCnxn does (1, 2, 3, ...). */
  xid(): number {
    return this.nextXid++;
  }

  /**
   * Sends a request with an already encoded body and waits for the reply with that xid.
   * Special xids (ping -2, auth -4, setWatches -8) work too; replies to the same xid are matched
   * in order.
   */
  requestRaw(type: number, body: Buffer, opts: { xid?: number; ioTimeoutMs?: number } = {}): Promise<ReplyEntry> {
    const xid = opts.xid ?? this.xid();
    const ioTimeoutMs = opts.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ConnectionClosedError(`connection closed before sending request xid=${xid} type=${type}`));
        return;
      }
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        const list = this.pending.get(xid);
        if (list !== undefined) {
          const i = list.indexOf(p);
          if (i >= 0) list.splice(i, 1);
        }
        reject(new Error(`no reply to xid=${xid} type=${type} within ${ioTimeoutMs} ms`));
      }, ioTimeoutMs);
      const p: Pending = {
        resolve: (e) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(e);
        },
        reject: (e) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(e);
        },
      };
      let list = this.pending.get(xid);
      if (list === undefined) {
        list = [];
        this.pending.set(xid, list);
      }
      list.push(p);
      this.sendFrame(xid, type, body);
    });
  }

  /** Sends a request record and decodes the reply body with `resp` (when given and err is 0). */
  async request<Q, T = unknown>(
    type: number,
    req: RecordType<Q> | null,
    value: Q | null,
    resp: RecordType<T> | null = null,
    opts: { xid?: number; ioTimeoutMs?: number } = {},
  ): Promise<Reply<T>> {
    const body = req === null || value === null ? Buffer.alloc(0) : Buffer.from(req.serialize(value));
    const e = await this.requestRaw(type, body, opts);
    return decodeReply(e, resp);
  }

  /** Sends a ping (xid -2) and waits for its answer. */
  ping(ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<ReplyEntry> {
    return this.requestRaw(OpCode.ping, Buffer.alloc(0), { xid: Xid.PING, ioTimeoutMs });
  }

  /** Sends closeSession, waits for the reply and for the server to close the connection. */
  async close(ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<ReplyEntry | null> {
    if (this.closed) return null;
    let reply: ReplyEntry | null = null;
    try {
      reply = await this.requestRaw(OpCode.closeSession, Buffer.alloc(0), { ioTimeoutMs });
    } catch (e) {
      if (!(e instanceof ConnectionClosedError)) throw e;
    }
    await this.waitClosed(ioTimeoutMs);
    return reply;
  }

  /** Drops the TCP connection without closing the session. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Waits until the server (or we) closed the connection; throws after the timeout. */
  async waitClosed(ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<void> {
    const ok = await Promise.race([this.closedPromise.then(() => true), sleep(ioTimeoutMs).then(() => false)]);
    if (!ok) throw new Error(`connection still open after ${ioTimeoutMs} ms`);
  }

  /** True if the connection closed within the time given. */
  async closesWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closedPromise.then(() => true), sleep(ms).then(() => false)]);
  }

  /** Watch notifications received so far. */
  events(): EventEntry[] {
    return this.log.filter((e): e is EventEntry => e.kind === 'event');
  }

  /** Waits until `pred` holds over the log (checked on every new frame); bounded by the timeout. */
  waitFor(pred: (log: readonly LogEntry[]) => boolean, what: string, ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<void> {
    if (pred(this.log)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${ioTimeoutMs} ms waiting for ${what}; log: ${describeLog(this.log)}`));
      }, ioTimeoutMs);
      const w: Waiter = {
        check: () => {
          if (!pred(this.log)) return false;
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve();
          return true;
        },
        reject: (e) => {
          clearTimeout(timer);
          this.waiters.delete(w);
          reject(e);
        },
      };
      this.waiters.add(w);
    });
  }

  /** Waits until at least n watch notifications arrived in total. */
  waitForEvents(n: number, ioTimeoutMs = DEFAULT_IO_TIMEOUT_MS): Promise<void> {
    return this.waitFor((log) => log.filter((e) => e.kind === 'event').length >= n, `${n} watch events`, ioTimeoutMs);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    // Bounded: each pass consumes one whole frame or stops.
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32BE(0);
      if (len < 0 || len > MAX_INCOMING_FRAME_BYTES) {
        this.socket.destroy(new Error(`server sent a frame length of ${len}`));
        return;
      }
      if (this.buf.length < 4 + len) break;
      const frame = Buffer.from(this.buf.subarray(4, 4 + len));
      this.buf = this.buf.subarray(4 + len);
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    try {
      this.decodeFrame(frame);
    } catch (e) {
      // A server under test may send anything; keep it for the test to look at.
      this.push({ kind: 'unparsed', raw: frame, error: String(e) });
    }
  }

  private decodeFrame(frame: Buffer): void {
    // The first frame a server sends is always the ConnectResponse, asked for or not.
    if (this.session === null && !this.sawFirstFrame) {
      this.sawFirstFrame = true;
      const r = new JuteReader(frame);
      const a = R.ConnectResponse.decode(r);
      const readOnly = r.remaining() > 0 ? r.boolean() : null;
      this.session = { ...a, readOnly, raw: frame };
      this.handshakeWaiter?.resolve(this.session);
      return;
    }
    const r = new JuteReader(frame);
    const h = R.ReplyHeader.decode(r);
    if (h.xid === Xid.NOTIFICATION) {
      const ev = R.WatcherEvent.decode(r);
      this.push({ kind: 'event', zxid: h.zxid, err: h.err, type: ev.type, state: ev.state, path: ev.path });
      return;
    }
    const entry: ReplyEntry = { kind: 'reply', xid: h.xid, zxid: h.zxid, err: h.err, body: frame.subarray(16) };
    this.push(entry);
    const list = this.pending.get(h.xid);
    const p = list?.shift();
    if (list !== undefined && list.length === 0) this.pending.delete(h.xid);
    p?.resolve(entry);
  }

  private push(e: LogEntry): void {
    this.log.push(e);
    for (const w of [...this.waiters]) w.check();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.push({ kind: 'closed' });
    this.handshakeWaiter?.resolve(null);
    for (const list of this.pending.values()) {
      for (const p of list) p.reject(new ConnectionClosedError('connection closed before the reply arrived'));
    }
    this.pending.clear();
    for (const w of [...this.waiters]) {
      if (!w.check()) w.reject(new ConnectionClosedError(`connection closed; log: ${describeLog(this.log)}`));
    }
  }
}

/** Decodes a reply body with `resp` when the reply is a success with a body. */
export function decodeReply<T>(e: ReplyEntry, resp: RecordType<T> | null): Reply<T> {
  let body: T | null = null;
  let decodeError: string | null = null;
  if (resp !== null && e.err === 0 && e.body.length > 0) {
    try {
      const r = new JuteReader(e.body);
      body = resp.decode(r);
      if (r.remaining() !== 0) decodeError = `${r.remaining()} bytes left after ${resp.name}`;
    } catch (err) {
      decodeError = String(err);
    }
  }
  return { xid: e.xid, zxid: e.zxid, err: e.err, body, decodeError, raw: e.body };
}

function describeLog(log: readonly LogEntry[]): string {
  return JSON.stringify(
    log.slice(-20).map((e) =>
      e.kind === 'reply' ? { ...e, body: e.body.toString('hex').slice(0, 64) } : e,
    ),
  );
}
