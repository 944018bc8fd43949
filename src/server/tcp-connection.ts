/**
 * One client TCP connection (Apache ZooKeeper's NIOServerCnxn): the I/O shell around the core.
 *
 * Wire format, both directions:
 *   frame    := int32 length, then length bytes
 *   first    := ConnectRequest [readOnly:boolean]           (client, once)
 *             | a four-letter word: 4 ASCII bytes read as the length int, e.g. "ruok"
 *   request  := RequestHeader(xid, type) record              (client, after the handshake)
 *   reply    := ReplyHeader(xid, zxid, err) [record]         (server)
 *   event    := ReplyHeader(-1, -1, 0) WatcherEvent          (server)
 *   connect  := ConnectResponse [readOnly:boolean]           (server, once)
 *
 * A length outside [0, jute.maxbuffer] or a frame that does not decode closes this connection
 * with a log line; nothing else is affected. Replies written in one event-loop turn are encoded
 * into one buffer and leave in one write (large values as chunks of their own, in one writev).
 */
import type { Socket } from 'node:net';
import { JuteError, JuteReader, JuteWriter } from '../jute/codec';
import { holdSpliced, releaseSpliced } from '../jute/value-memory';
import * as R from '../jute/records';
import { Xid } from '../protocol/constants';
import type { IdValue } from '../jute/records';
import { newConnectionStats, type ClientConnection, type ConnectionStats, type ReplyBody } from './client-connection';
import type { Logger, ZooKeeperServer } from './zookeeper-server';
import { hexSessionId } from './zookeeper-server';

/** Stop reading from a client whose unsent replies exceed this. */
const MAX_PENDING_WRITE_BYTES = 8 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * A turn's output buffer starts at most this large (it grows as needed); only buffers up to
 * this size are kept for reuse, and values that would take a turn past it are spliced.
 */
const MAX_OUT_BYTES_HINT = 64 * 1024;

/**
 * Output buffers free for another turn's frames, shared by all connections. A turn's frames are
 * encoded into one buffer and leave in one socket.write; when the socket takes them at once
 * (the kernel had room, so nothing is left queued when write returns) the buffer is free again,
 * and the next turn of any connection encodes into it instead of allocating one. Bounded:
 * at most MAX_SPARE_OUT_BUFFERS buffers of at most MAX_OUT_BYTES_HINT bytes each.
 */
const spareOut: Buffer[] = [];
const MAX_SPARE_OUT_BUFFERS = 16;

function giveBackOut(b: Buffer): void {
  if (b.length <= MAX_OUT_BYTES_HINT && spareOut.length < MAX_SPARE_OUT_BUFFERS) spareOut.push(b);
}

export interface FourLetterWordHandler {
  /** The word for a 4-byte length value, or null if it is not a four-letter word. */
  wordFor(len: number): string | null;
  /** Produces the whole answer; the connection closes after writing it. */
  run(word: string, cnxn: TcpConnection, rest?: Buffer): Promise<string> | string;
}

let nextConnectionId = 1;

/** InetAddress.getHostAddress formatting: IPv4 dotted, IPv6 in full uncompressed groups. */
export function javaHostAddress(addr: string | undefined): string {
  if (addr === undefined) return '';
  if (addr.startsWith('::ffff:') && addr.includes('.')) return addr.substring(7);
  if (!addr.includes(':')) return addr;
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}

export class TcpConnection implements ClientConnection {
  readonly id = nextConnectionId++;
  sessionId = 0n;
  sessionTimeoutMs = 0;
  readonly remoteAddress: string;
  readonly remotePort: number;
  authInfo: readonly IdValue[];
  readonly stats: ConnectionStats;
  outstanding = 0;
  closed = false;
  private initialized = false;
  /** Between the ConnectRequest and its answer: later frames wait, as NIOServerCnxn.disableRecv does. */
  private awaitingSession = false;
  private closing = false;
  private buf: Buffer = EMPTY;
  /** A frame that has arrived only in part, in a buffer of its whole size, and how much of it is there. */
  private partial: Buffer | null = null;
  private partialFill = 0;
  /**
   * The frames (replies, events) of this event-loop turn, encoded back to back and written
   * with one socket.write at the end of the turn; null when nothing is waiting.
   */
  private out: JuteWriter | null = null;
  /** What the last turn's frames took: the next turn's buffer starts at that size. */
  private outBytesHint = 256;
  private paused = false;
  private oldClient = true;

  constructor(
    private readonly socket: Socket,
    private readonly server: ZooKeeperServer,
    private readonly logger: Logger,
    private readonly maxBufferBytes: number,
    private readonly fourLetterWords: FourLetterWordHandler,
    private readonly onClose: (c: TcpConnection) => void,
  ) {
    this.remoteAddress = javaHostAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.authInfo = [{ scheme: 'ip', id: this.remoteAddress }];
    this.stats = newConnectionStats(server.clock.monoNowMs());
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.logger.debug({ err: e.message, client: this.remoteAddress }, 'client socket error'));
    socket.on('close', () => this.cleanup());
    socket.on('drain', () => this.maybeResume());
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    let data = chunk;
    if (this.partial !== null) {
      // Fill the frame that arrived in part; only its own bytes are copied.
      const p = this.partial;
      const n = Math.min(p.length - this.partialFill, chunk.length);
      chunk.copy(p, this.partialFill, 0, n);
      this.partialFill += n;
      if (this.partialFill < p.length) return;
      this.partial = null;
      this.buf = p;
      data = chunk.subarray(n);
      if (!this.readFrames()) return;
    }
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    if (!this.readFrames()) return;
    if (this.buf.length >= 4 && !this.awaitingSession && !this.closing) {
      // The rest is the start of a frame whose length readFrames has checked: give it a buffer
      // of its final size, so that the reads still to come are copied once, not concatenated
      // with everything after them.
      const p = Buffer.allocUnsafe(4 + this.buf.readInt32BE(0));
      this.partialFill = this.buf.copy(p);
      this.partial = p;
      this.buf = EMPTY;
    }
    if (this.buf.length === 0) this.buf = EMPTY;
    if (!this.paused && this.server.shouldThrottle()) {
      this.paused = true;
      this.socket.pause();
      this.server.whenUnthrottled(() => this.maybeResume());
    }
  }

  /**
   * Reads the whole frames at the start of `buf`; false when the connection closed or turned
   * into a four-letter word. Frames are read at an offset into `buf`, which is cut once at the
   * end, so that a request costs no views of its own but its body.
   */
  private readFrames(): boolean {
    const buf = this.buf;
    let at = 0;
    try {
      // Bounded: each pass consumes one whole frame or stops.
      while (!this.closing && !this.awaitingSession && buf.length - at >= 4) {
        const len = buf.readInt32BE(at);
        if (!this.initialized) {
          const word = this.fourLetterWords.wordFor(len);
          if (word !== null) {
            // What follows the word is its argument (stmk's 8-byte mask) or ignored.
            const rest = buf.subarray(at + 4);
            this.buf = EMPTY;
            this.runFourLetterWord(word, rest);
            return false;
          }
        }
        if (len < 0 || len > this.maxBufferBytes) {
          this.logger.warn(
            { client: `${this.remoteAddress}:${this.remotePort}`, len, maxBuffer: this.maxBufferBytes },
            `Len error ${len}: closing connection (frame length outside 0..jute.maxbuffer)`,
          );
          this.buf = EMPTY;
          this.close(`Len error ${len}`);
          return false;
        }
        if (buf.length - at < 4 + len) break;
        const start = at + 4;
        at = start + len;
        this.stats.packetsReceived++;
        this.server.stats.metrics.counter('bytes_received_count').add(4 + len);
        if (!this.initialized) {
          // The answer to a ConnectRequest looks at what is left unread (sendConnectResponse).
          this.buf = buf.subarray(at);
          this.readConnectRequest(buf.subarray(start, at));
        } else {
          this.readRequest(buf, start, at);
        }
      }
    } catch (e) {
      if (e instanceof JuteError) {
        this.buf = EMPTY;
        this.logger.warn({ client: `${this.remoteAddress}:${this.remotePort}`, err: e.message }, 'malformed request; closing connection');
        this.close(`malformed request: ${e.message}`);
        return false;
      }
      throw e;
    }
    this.buf = at === 0 ? buf : at === buf.length ? EMPTY : buf.subarray(at);
    return true;
  }

  private maybeResume(): void {
    if (!this.paused || this.closed) return;
    if (this.socket.writableLength > MAX_PENDING_WRITE_BYTES || this.server.shouldThrottle()) return;
    this.paused = false;
    this.socket.resume();
  }

  private readConnectRequest(frame: Buffer): void {
    this.awaitingSession = true;
    // A client that sends no readOnly byte after its ConnectRequest is an "old client" and gets
    // no readOnly byte back (ServerCnxn.isOldClient in Apache ZooKeeper).
    try {
      const r = new JuteReader(frame);
      R.ConnectRequest.decode(r);
      this.oldClient = r.remaining() === 0;
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
    }
    const err = this.server.processConnectRequest(this, frame);
    if (err !== null) {
      this.logger.info({ client: this.remoteAddress }, err);
      this.close(err);
    }
  }

  /** The request frame in buf[start, end): its RequestHeader (xid, type), then the body. */
  private readRequest(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    // The message JuteReader gives for a truncated RequestHeader.
    if (n < 8) throw new JuteError(`record truncated: need 4 bytes at offset ${n < 4 ? 0 : 4}, have ${n < 4 ? n : n - 4}`);
    const xid = buf.readInt32BE(start);
    const type = buf.readInt32BE(start + 4);
    this.server.processPacket(this, xid, type, buf.subarray(start + 8, end));
  }

  private runFourLetterWord(word: string, rest: Buffer): void {
    this.initialized = true;
    this.closing = true;
    this.socket.pause();
    Promise.resolve()
      .then(() => this.fourLetterWords.run(word, this, rest))
      .then(
        (out) => this.socket.end(out),
        (e) => {
          this.logger.error({ err: e, word }, 'four-letter word failed');
          this.socket.destroy();
        },
      );
  }

  /**
   * The writer for this turn's frames, into a spare buffer when there is one. Large values
   * (SPLICE_MIN_BYTES and up) are not copied into it but written as chunks of their own
   * (JuteWriter.spliceLargeBuffers).
   */
  private turnWriter(): JuteWriter {
    let w = this.out;
    if (w === null) {
      const spare = spareOut.pop();
      w = new JuteWriter(spare !== undefined && spare.length >= this.outBytesHint ? spare : this.outBytesHint);
      w.spliceLargeBuffers(MAX_OUT_BYTES_HINT);
      this.out = w;
      process.nextTick(this.flushTurn);
    }
    return w;
  }

  /** Writes this turn's frames: one socket.write, or one writev of a few chunks when values were spliced. */
  private readonly flushTurn = (): void => {
    const w = this.out;
    if (w === null) return;
    this.out = null;
    if (this.closed) {
      if (w.splicedBuffers().length === 0) giveBackOut(w.backing());
      return;
    }
    this.outBytesHint = Math.min(MAX_OUT_BYTES_HINT, Math.max(256, w.offset));
    const chunks = w.chunks();
    // Spliced values stay held until the socket has taken them: the buffer of a value that
    // leaves the tree meanwhile must not be reused for another (value-memory.ts, recycleValue). The
    // last write's callback runs once every chunk before it is written too, or dropped.
    const spliced = w.splicedBuffers();
    let done: (() => void) | undefined;
    if (spliced.length > 0) {
      holdSpliced(spliced);
      done = () => releaseSpliced(spliced);
    }
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!, done);
      // Nothing queued: the kernel has the bytes and the buffer is free (see spareOut).
      if (this.socket.writableLength === 0) giveBackOut(w.backing());
    } else {
      this.socket.cork();
      for (let i = 0; i < chunks.length; i++) this.socket.write(chunks[i]!, i === chunks.length - 1 ? done : undefined);
      this.socket.uncork();
    }
    if (!this.paused && this.socket.writableLength > MAX_PENDING_WRITE_BYTES) {
      this.paused = true;
      this.socket.pause();
    }
  };

  /** Starts a frame in this turn's writer (a scratch one once closed); returns where its length goes. */
  private beginFrame(): JuteWriter {
    return this.closed ? new JuteWriter(128) : this.turnWriter();
  }

  /** Fills in the length of the frame begun at `at`; returns that length. */
  private endFrame(w: JuteWriter, at: number, splicedBefore: number): number {
    const len = w.offset - at - 4 + (w.splicedBytes - splicedBefore);
    w.patchInt(at, len);
    if (!this.closed) {
      this.stats.packetsSent++;
      this.server.stats.packetsSent++;
    }
    return len;
  }

  sendReply(xid: number, zxid: number, err: number, body: ReplyBody | null): void {
    const w = this.beginFrame();
    const spliced = w.splicedBytes;
    const at = w.reserveInt();
    w.int(xid);
    w.long(zxid);
    w.int(err);
    if (body !== null) body.encode(w);
    this.server.stats.recordResponseSize(this.endFrame(w, at, spliced));
  }

  sendNotification(type: number, state: number, path: string): void {
    const w = this.beginFrame();
    const spliced = w.splicedBytes;
    const at = w.reserveInt();
    w.int(Xid.NOTIFICATION);
    w.long(-1);
    w.int(0);
    R.WatcherEvent.encode(w, { type, state, path });
    this.server.stats.metrics.counter('watch_bytes').add(this.endFrame(w, at, spliced));
  }

  finishSessionInit(valid: boolean, passwd: Buffer): void {
    const w = this.beginFrame();
    const spliced = w.splicedBytes;
    const at = w.reserveInt();
    R.ConnectResponse.encode(w, {
      protocolVersion: 0,
      timeOut: valid ? this.sessionTimeoutMs : 0,
      sessionId: valid ? this.sessionId : 0n,
      passwd,
    });
    if (!this.oldClient) w.boolean(false);
    this.endFrame(w, at, spliced);
    this.awaitingSession = false;
    if (valid) {
      this.initialized = true;
      if (this.buf.length > 0) setImmediate(() => this.onData(Buffer.alloc(0)));
    } else {
      this.closeAfterFlush(`invalid session ${hexSessionId(this.sessionId)}, probably expired`);
    }
  }

  closeAfterFlush(reason: string): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.logger.debug({ sessionId: hexSessionId(this.sessionId), reason }, 'closing connection');
    this.flushTurn();
    this.socket.end();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.logger.debug({ sessionId: hexSessionId(this.sessionId), reason }, 'closing connection');
    this.closing = true;
    this.socket.destroy();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }

  isInitialized(): boolean {
    return this.initialized;
  }
}
