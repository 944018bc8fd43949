/**
 * Server-wide request statistics, as `stat`, `srvr` and `mntr` report them (ServerStats).
 */
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

  recordLatency(latencyMs: number, type: number): void {
    this.count++;
    this.totalLatencyMs += latencyMs;
    if (latencyMs < this.minLatencyMs) this.minLatencyMs = latencyMs;
    if (latencyMs > this.maxLatencyMs) this.maxLatencyMs = latencyMs;
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
  }

  minLatency(): number {
    return this.minLatencyMs === Number.MAX_SAFE_INTEGER ? 0 : this.minLatencyMs;
  }

  avgLatency(): number {
    return this.count === 0 ? 0 : this.totalLatencyMs / this.count;
  }

  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.minLatencyMs = Number.MAX_SAFE_INTEGER;
    this.maxLatencyMs = 0;
    this.totalLatencyMs = 0;
    this.count = 0;
    this.byType.clear();
    this.fsyncThresholdExceedCount = 0;
    this.authFailedCount = 0;
  }
}
