/**
 * Server-wide request statistics, as `stat`, `srvr` and `mntr` report them (ServerStats), and
 * the metrics registry every other part of the server reports to (`stats.metrics`).
 */
import { MetricsRegistry } from '../admin/metrics-registry';
import { WRITE_OPCODES } from '../protocol/constants';

/** BufferStats: sizes of the replies sent to clients; -1 until the first one. */
export interface BufferStats {
  lastBufferSize: number;
  minBufferSize: number;
  maxBufferSize: number;
}

export class ServerStats {
  packetsReceived = 0;
  packetsSent = 0;
  minLatencyMs = Number.MAX_SAFE_INTEGER;
  maxLatencyMs = 0;
  totalLatencyMs = 0;
  count = 0;
  /** Counts by opcode, for metrics. */
  readonly byType = new Map<number, number>();
  fsyncThresholdExceedCount = 0;
  authFailedCount = 0;
  nonMtlsRemoteConnCount = 0;
  nonMtlsLocalConnCount = 0;
  readonly clientResponse: BufferStats = { lastBufferSize: -1, minBufferSize: -1, maxBufferSize: -1 };
  /** ServerMetrics: counters and summaries under Apache ZooKeeper's metric names. */
  readonly metrics = new MetricsRegistry();
  /** Wall-clock start, for `uptime`. */
  readonly startedAtMs = Date.now();

  /**
   * ServerStats.updateLatency: whole milliseconds, as Java measures them; writes (requests that
   * carry a txn) feed `updatelatency`, everything else `readlatency`.
   */
  recordLatency(latencyMs: number, type: number): void {
    const latency = Math.floor(latencyMs);
    if (latency < 0) return;
    this.count++;
    this.totalLatencyMs += latency;
    if (latency < this.minLatencyMs) this.minLatencyMs = latency;
    if (latency > this.maxLatencyMs) this.maxLatencyMs = latency;
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
    this.metrics.summary(WRITE_OPCODES.has(type) ? 'updatelatency' : 'readlatency').add(latency);
  }

  /** ServerStats.updateClientResponseSize and the response_bytes counter. */
  recordResponseSize(bytes: number): void {
    const b = this.clientResponse;
    b.lastBufferSize = bytes;
    if (b.minBufferSize === -1 || bytes < b.minBufferSize) b.minBufferSize = bytes;
    if (b.maxBufferSize === -1 || bytes > b.maxBufferSize) b.maxBufferSize = bytes;
    this.metrics.counter('response_bytes').add(bytes);
  }

  minLatency(): number {
    return this.minLatencyMs === Number.MAX_SAFE_INTEGER ? 0 : this.minLatencyMs;
  }

  /** AvgMinMaxCounter.getAvg: rounded to 4 decimals. */
  avgLatency(): number {
    return this.count === 0 ? 0 : Math.round((this.totalLatencyMs / this.count) * 10000) / 10000;
  }

  uptimeMs(): number {
    return Date.now() - this.startedAtMs;
  }

  /**
   * ServerStats.reset (`srst`): latency, packet counters, response sizes and every metric; the
   * auth-failure and fsync-threshold counts survive, as in Apache ZooKeeper.
   */
  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.minLatencyMs = Number.MAX_SAFE_INTEGER;
    this.maxLatencyMs = 0;
    this.totalLatencyMs = 0;
    this.count = 0;
    this.byType.clear();
    this.clientResponse.lastBufferSize = -1;
    this.clientResponse.minBufferSize = -1;
    this.clientResponse.maxBufferSize = -1;
    this.metrics.reset();
  }
}
