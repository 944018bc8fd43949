/**
 * Sessions and their expiry, as SessionTrackerImpl and ExpiryQueue do it: every session sits in
 * a bucket keyed by its expiry time rounded up to the next tickTime multiple; a touch moves it
 * to a later bucket; a tick expires whole buckets at once. Pure: time comes in as an argument.
 */
import { Err } from '../protocol/constants';
import { KeeperError } from '../protocol/keeper-error';

export interface Session {
  readonly id: bigint;
  timeoutMs: number;
  closing: boolean;
  /** The bucket the session now sits in. */
  expiresAtMs: number;
}

export class SessionTracker {
  private readonly sessions = new Map<bigint, Session>();
  private readonly buckets = new Map<number, Set<Session>>();
  private nextExpirationMs: number;
  private nextSessionId: bigint;

  constructor(
    private readonly tickTimeMs: number,
    serverId: number,
    nowMs: number,
  ) {
    this.nextExpirationMs = this.roundToNextInterval(nowMs);
    this.nextSessionId = SessionTracker.initialSessionId(serverId, nowMs);
  }

  /** SessionTrackerImpl.initializeNextSessionId: server id in the top byte, a time-based rest. */
  static initialSessionId(serverId: number, nowMs: number): bigint {
    let sid = BigInt.asUintN(64, BigInt(Math.floor(nowMs)) << 24n) >> 8n;
    sid = BigInt.asIntN(64, sid | (BigInt(serverId) << 56n));
    if (sid === -0x8000000000000000n) sid++;
    return sid;
  }

  private roundToNextInterval(t: number): number {
    return (Math.floor(t / this.tickTimeMs) + 1) * this.tickTimeMs;
  }

  createSession(timeoutMs: number, nowMs: number): bigint {
    const id = this.nextSessionId;
    this.nextSessionId = BigInt.asIntN(64, this.nextSessionId + 1n);
    this.trackSession(id, timeoutMs, nowMs);
    return id;
  }

  /** Starts tracking a session (a new one, or one loaded from disk). */
  trackSession(id: bigint, timeoutMs: number, nowMs: number): boolean {
    let s = this.sessions.get(id);
    const added = s === undefined;
    if (s === undefined) {
      s = { id, timeoutMs, closing: false, expiresAtMs: 0 };
      this.sessions.set(id, s);
    }
    this.updateExpiry(s, timeoutMs, nowMs);
    return added;
  }

  private updateExpiry(s: Session, timeoutMs: number, nowMs: number): void {
    const at = this.roundToNextInterval(nowMs + timeoutMs);
    if (at === s.expiresAtMs) return;
    this.buckets.get(s.expiresAtMs)?.delete(s);
    let b = this.buckets.get(at);
    if (b === undefined) {
      b = new Set();
      this.buckets.set(at, b);
    }
    b.add(s);
    s.expiresAtMs = at;
    s.timeoutMs = timeoutMs;
  }

  /** Pushes a live session's expiry out; false when it is unknown or closing. */
  touchSession(id: bigint, timeoutMs: number, nowMs: number): boolean {
    const s = this.sessions.get(id);
    if (s === undefined || s.closing) return false;
    this.updateExpiry(s, timeoutMs, nowMs);
    return true;
  }

  get(id: bigint): Session | undefined {
    return this.sessions.get(id);
  }

  setClosing(id: bigint): void {
    const s = this.sessions.get(id);
    if (s !== undefined) s.closing = true;
  }

  removeSession(id: bigint): void {
    const s = this.sessions.get(id);
    if (s === undefined) return;
    this.sessions.delete(id);
    // An emptied bucket stays until its time comes, as in ExpiryQueue (`dump` shows it).
    this.buckets.get(s.expiresAtMs)?.delete(s);
  }

  /** SessionTrackerImpl.checkSession (standalone has a single owner, so no SESSIONMOVED). */
  checkSession(id: bigint): void {
    const s = this.sessions.get(id);
    if (s === undefined) throw new KeeperError(Err.UNKNOWNSESSION);
    if (s.closing) throw new KeeperError(Err.SESSIONEXPIRED);
  }

  checkGlobalSession(id: bigint): void {
    const s = this.sessions.get(id);
    if (s === undefined || s.closing) throw new KeeperError(Err.SESSIONEXPIRED);
  }

  /** Milliseconds until the next bucket is due. */
  waitTimeMs(nowMs: number): number {
    return Math.max(0, this.nextExpirationMs - nowMs);
  }

  /**
   * Expires every bucket that is due and marks its sessions closing; returns them so the
   * caller can submit a closeSession for each.
   */
  expire(nowMs: number): Session[] {
    const out: Session[] = [];
    // Bounded: at most one iteration per tick elapsed, and the catch-up jumps straight to now.
    while (nowMs >= this.nextExpirationMs) {
      const due = this.buckets.get(this.nextExpirationMs);
      this.buckets.delete(this.nextExpirationMs);
      if (due !== undefined) {
        for (const s of due) {
          s.closing = true;
          out.push(s);
        }
      }
      this.nextExpirationMs += this.tickTimeMs;
      if (this.buckets.size === 0 && nowMs >= this.nextExpirationMs) this.nextExpirationMs = this.roundToNextInterval(nowMs);
    }
    return out;
  }

  count(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Buckets in expiry order, for `dump`. */
  bucketsByTime(): [number, Session[]][] {
    return [...this.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([t, s]) => [t, [...s]]);
  }
}
