/**
 * A recording TCP proxy for the golden-bytes capture: it sits between a real ZooKeeper client
 * and a server, forwards every byte unchanged in both directions, and keeps a copy of every
 * frame (int32 length, then that many bytes) in the order the proxy saw it.
 *
 *   client ──► proxy (127.0.0.1:port) ──► server (127.0.0.1:targetPort)
 *
 * It listens on 127.0.0.1 only and connects only to 127.0.0.1. Framing is the client port's:
 * every frame in either direction is length-prefixed, so the proxy can cut the stream without
 * understanding the records. A length outside 0..MAX_FRAME_BYTES (a four-letter word, or a
 * stream that is not ZooKeeper's) stops the cutting for that direction; the bytes are still
 * forwarded and the rest is kept as one 'unframed' chunk.
 */
import net from 'node:net';

/** Frames larger than this are not expected from a real session; the cutter gives up on them. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export type Direction = 'client' | 'server';

export interface RecordedFrame {
  /** Position in the proxy's global arrival order (both directions, every connection). */
  seq: number;
  /** 1 for the first connection the proxy accepted, 2 for the next... */
  conn: number;
  /** Who sent it: 'client' frames went to the server, 'server' frames to the client. */
  from: Direction;
  /** The whole frame, length prefix included. */
  bytes: Buffer;
  /** 'frame' normally; 'partial' for bytes left when the connection closed mid-frame. */
  kind: 'frame' | 'partial' | 'unframed';
}

/** Cuts one direction of one connection into frames. */
class FrameCutter {
  private buf: Buffer = Buffer.alloc(0);
  private framed = true;

  constructor(
    private readonly conn: number,
    private readonly from: Direction,
    private readonly emit: (f: Omit<RecordedFrame, 'seq'>) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    if (!this.framed) return;
    // Bounded: every pass removes one whole frame (at least 4 bytes) or stops.
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32BE(0);
      if (len < 0 || len > MAX_FRAME_BYTES) {
        this.framed = false;
        return;
      }
      if (this.buf.length < 4 + len) return;
      this.emit({ conn: this.conn, from: this.from, bytes: Buffer.from(this.buf.subarray(0, 4 + len)), kind: 'frame' });
      this.buf = this.buf.subarray(4 + len);
    }
  }

  /** At close: whatever did not make a whole frame. */
  finish(): void {
    if (this.buf.length === 0) return;
    this.emit({ conn: this.conn, from: this.from, bytes: Buffer.from(this.buf), kind: this.framed ? 'partial' : 'unframed' });
    this.buf = Buffer.alloc(0);
  }
}

interface Pair {
  conn: number;
  client: net.Socket;
  upstream: net.Socket;
  closed: Promise<void>;
}

export class RecordingProxy {
  readonly frames: RecordedFrame[] = [];
  private seq = 0;
  private connCount = 0;
  private readonly pairs = new Set<Pair>();
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  /** Starts a proxy on a free port of 127.0.0.1 that forwards to 127.0.0.1:targetPort. */
  static start(targetPort: number): Promise<RecordingProxy> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer({ pauseOnConnect: true });
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        if (a === null || typeof a !== 'object') {
          reject(new Error('could not read the proxy address'));
          return;
        }
        const proxy = new RecordingProxy(srv, a.port, targetPort);
        srv.on('connection', (s) => proxy.accept(s));
        resolve(proxy);
      });
    });
  }

  /** How many client connections the proxy has accepted so far. */
  get connections(): number {
    return this.connCount;
  }

  private record(f: Omit<RecordedFrame, 'seq'>): void {
    this.frames.push({ ...f, seq: this.seq++ });
    for (const l of [...this.listeners]) l();
  }

  private accept(client: net.Socket): void {
    const conn = ++this.connCount;
    const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
    const fromClient = new FrameCutter(conn, 'client', (f) => this.record(f));
    const fromServer = new FrameCutter(conn, 'server', (f) => this.record(f));
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let done = 0;
    let onBothClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (onBothClosed = resolve));
    const pair: Pair = { conn, client, upstream, closed };
    this.pairs.add(pair);
    const oneClosed = () => {
      if (++done < 2) return;
      fromClient.finish();
      fromServer.finish();
      this.pairs.delete(pair);
      onBothClosed();
    };
    // Record before forwarding, so a frame is always in the log before the answer it causes.
    client.on('data', (d: Buffer) => {
      fromClient.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      fromServer.push(d);
      client.write(d);
    });
    // A close on one side ends the other: half-closes are not part of the client protocol.
    client.on('close', () => {
      upstream.destroy();
      oneClosed();
    });
    upstream.on('close', () => {
      client.destroy();
      oneClosed();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    upstream.once('connect', () => client.resume());
  }

  /** Cuts every open connection at once, as a network failure would. */
  async dropAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
      waits.push(p.closed);
    }
    await Promise.all(waits);
  }

  /** Resolves when a recorded frame satisfies pred (checked against frames so far, then each new one). */
  waitFor(pred: (f: RecordedFrame) => boolean, timeoutMs: number, what: string): Promise<RecordedFrame> {
    return new Promise((resolve, reject) => {
      const found = this.frames.find(pred);
      if (found !== undefined) {
        resolve(found);
        return;
      }
      const check = () => {
        const f = this.frames.find(pred);
        if (f === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`proxy: no frame ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }

  async stop(): Promise<void> {
    await this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
