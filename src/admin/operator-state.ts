/**
 * Mutable state shared by the four-letter words and the AdminServer of one server: the trace
 * mask (ZooTrace's text trace level, which `stmk` sets and `gtmk` reads) and where `mntr`
 * reads metrics from (the default registry, or the Prometheus collector when that provider is
 * configured, as Apache ZooKeeper's MetricsProvider.dump does).
 */
import type { MetricSink } from './metrics-registry';

/** ZooTrace's default: CLIENT_REQUEST | SERVER_PACKET | SESSION | WARNING = 306. */
export const DEFAULT_TRACE_MASK = 306n;

export type MetricsDump = (sink: MetricSink) => Promise<void> | void;

export class OperatorState {
  traceMask: bigint = DEFAULT_TRACE_MASK;

  constructor(public metricsDump: MetricsDump) {}
}
