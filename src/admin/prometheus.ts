/**
 * The Prometheus metrics provider (Apache ZooKeeper's PrometheusMetricsProvider), enabled with
 *
 *   metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
 *   metricsProvider.httpHost=0.0.0.0     metricsProvider.httpPort=7000
 *   metricsProvider.exportJvmInfo=true   (here: prom-client's process and Node.js metrics)
 *
 * GET /metrics answers the text exposition format (prom-client) under ZooKeeper's metric names:
 * every gauge (znode_count, watch_count, ephemerals_count, outstanding_requests,
 * num_alive_connections, ...) sampled at scrape time; every counter; every summary with its
 * quantiles (0.5 for basic ones; 0.5, 0.9, 0.99 for advanced ones such as readlatency and
 * updatelatency), _sum and _count; summary and counter sets with a `key` label.
 *
 * With this provider `mntr` prints the Prometheus samples (zk_<name>{labels} value, values as
 * doubles), exactly as Apache ZooKeeper's provider dump does.
 */
import * as http from 'node:http';
import * as client from 'prom-client';
import { jdouble, JDouble } from './json-output';
import type { MetricSink, MetricsListener, MetricsRegistry, MetricValue } from './metrics-registry';
import type { ServerContext } from './server-context';

export const PROMETHEUS_PROVIDER_CLASS = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

export class MetricsProviderError extends Error {
  override readonly name = 'MetricsProviderError';
}

export interface PrometheusOptions {
  host: string;
  port: number;
  exportJvmInfo: boolean;
}

const LABELS = ['key'] as const;
/** As the Java simpleclient's default: quantiles over the last 10 minutes, in 5 age buckets. */
const MAX_AGE_SECONDS = 600;
const AGE_BUCKETS = 5;

function numeric(v: MetricValue | null): number {
  if (v === null) return 0;
  if (v instanceof JDouble) return v.value;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

export class PrometheusExporter implements MetricsListener {
  readonly registry = new client.Registry();
  private readonly counters = new Map<string, client.Counter<string>>();
  private readonly summaries = new Map<string, client.Summary<string>>();
  private server: http.Server | null = null;

  constructor(
    private readonly ctx: ServerContext,
    private readonly metrics: MetricsRegistry,
    private readonly opts: PrometheusOptions,
  ) {
    const reg = this.registry;
    for (const name of metrics.gaugeNames()) {
      const m = metrics;
      new client.Gauge({
        name,
        help: name,
        registers: [reg],
        collect() {
          this.set(numeric(m.readGauge(name)));
        },
      });
    }
    for (const c of metrics.allCounters()) {
      this.counters.set(c.name, new client.Counter({ name: c.name, help: c.name, registers: [reg] }));
    }
    for (const name of metrics.counterSetNames()) {
      this.counters.set(name, new client.Counter({ name, help: name, labelNames: LABELS, registers: [reg] }));
    }
    const percentiles = (advanced: boolean): number[] => (advanced ? [0.5, 0.9, 0.99] : [0.5]);
    for (const [name, advanced] of metrics.summaryNames()) {
      this.summaries.set(
        name,
        new client.Summary({ name, help: name, percentiles: percentiles(advanced), maxAgeSeconds: MAX_AGE_SECONDS, ageBuckets: AGE_BUCKETS, registers: [reg] }),
      );
    }
    for (const [name, advanced] of metrics.summarySetNames()) {
      this.summaries.set(
        name,
        new client.Summary({
          name,
          help: name,
          labelNames: LABELS,
          percentiles: percentiles(advanced),
          maxAgeSeconds: MAX_AGE_SECONDS,
          ageBuckets: AGE_BUCKETS,
          registers: [reg],
        }),
      );
    }
    if (opts.exportJvmInfo) client.collectDefaultMetrics({ register: reg });
    metrics.addListener(this);
  }

  counter(name: string, delta: number, key?: string): void {
    const c = this.counters.get(name);
    // Prometheus counters only go up; Apache ZooKeeper logs and drops a negative delta too.
    if (c === undefined || delta < 0) return;
    if (key === undefined) c.inc(delta);
    else c.inc({ key }, delta);
  }

  summary(name: string, value: number, _advanced: boolean, key?: string): void {
    const s = this.summaries.get(name);
    if (s === undefined) return;
    if (key === undefined) s.observe(value);
    else s.observe({ key }, value);
  }

  async start(): Promise<void> {
    const { host, port } = this.opts;
    this.ctx.logger.info({ host, port, exportJvmInfo: this.opts.exportJvmInfo }, `Starting /metrics HTTP endpoint at host: ${host}, port: ${port}`);
    const srv = http.createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
      const url = new URL(req.url ?? '/', 'http://metrics.invalid');
      if (url.pathname !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('Not Found\n');
        return;
      }
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': this.registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (e: unknown) => {
          this.ctx.logger.error({ err: (e as Error).message }, 'cannot render /metrics');
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('metrics unavailable\n');
        },
      );
    });
    try {
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host, port }, () => {
          srv.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      this.metrics.removeListener(this);
      throw new MetricsProviderError(`Cannot boot MetricsProvider ${PROMETHEUS_PROVIDER_CLASS}: cannot start /metrics server on ${host}:${port}: ${(e as Error).message}`);
    }
    srv.on('error', (e) => this.ctx.logger.error({ err: e.message }, '/metrics server error'));
    this.server = srv;
  }

  port(): number {
    const a = this.server?.address();
    return a !== null && a !== undefined && typeof a === 'object' ? a.port : 0;
  }

  /** PrometheusMetricsProvider.dump: every sample as name{labels} with a double value. */
  async dump(sink: MetricSink): Promise<void> {
    for (const m of await this.registry.getMetricsAsJSON()) {
      for (const v of m.values) {
        const name = (v as { metricName?: string }).metricName ?? m.name;
        const labels = Object.entries(v.labels ?? {});
        const key = labels.length === 0 ? name : `${name}{${labels.map(([k, x]) => `${k}="${String(x)}"`).join(',')}}`;
        sink(key, jdouble(v.value));
      }
    }
  }

  async stop(): Promise<void> {
    this.metrics.removeListener(this);
    this.registry.clear();
    const srv = this.server;
    if (srv === null) return;
    this.server = null;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}
