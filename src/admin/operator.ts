/**
 * Everything an operator talks to besides the client protocol, for one server: the
 * four-letter words, the AdminServer, the metrics provider (default or Prometheus) and the
 * gauges behind `mntr`. The server shell creates one with its ServerContext, calls start()
 * once its client port listens and stop() when it shuts down.
 */
import { AdminServer } from './admin-server';
import { FourLetterWords } from './four-letter-words';
import { OperatorState } from './operator-state';
import { PROMETHEUS_PROVIDER_CLASS, PrometheusExporter } from './prometheus';
import { OpCode } from '../protocol/constants';
import { hexSessionId } from '../server/zookeeper-server';
import type { ServerContext } from './server-context';
import { gauges } from './server-view';

export const NULL_PROVIDER_CLASS = 'org.apache.zookeeper.metrics.impl.NullMetricsProvider';

export class OperatorSurfaces {
  readonly state: OperatorState;
  readonly fourLetterWords: FourLetterWords;
  readonly prometheus: PrometheusExporter | null = null;
  admin: AdminServer | null = null;

  constructor(private readonly ctx: ServerContext) {
    const metrics = ctx.server.stats.metrics;
    for (const [name, read] of gauges(ctx)) metrics.registerGauge(name, read);
    this.state = new OperatorState((sink) => metrics.dump(sink));
    const cfg = ctx.config;
    if (cfg.metricsProviderClassName === PROMETHEUS_PROVIDER_CLASS) {
      const p = cfg.metricsProvider;
      const exporter = new PrometheusExporter(ctx, metrics, {
        host: p['httpHost'] ?? '0.0.0.0',
        port: Number.parseInt(p['httpPort'] ?? '7000', 10),
        exportJvmInfo: (p['exportJvmInfo'] ?? 'true').toLowerCase() === 'true',
      });
      this.prometheus = exporter;
      this.state.metricsDump = (sink) => exporter.dump(sink);
    } else if (cfg.metricsProviderClassName === NULL_PROVIDER_CLASS) {
      this.state.metricsDump = () => undefined;
    }
    this.fourLetterWords = new FourLetterWords(ctx, this.state);
    // Session ends a client asked for (expiries are logged where they happen). Chained, since
    // persistence hooks the same callback.
    const previous = ctx.server.onApplied;
    ctx.server.onApplied = (req, rc) => {
      previous?.(req, rc);
      if (req.type === OpCode.closeSession && req.cnxn !== null) {
        ctx.logger.info({ sessionId: hexSessionId(req.sessionId), client: `${req.cnxn.remoteAddress}:${req.cnxn.remotePort}` }, 'Closed session');
      }
    };
  }

  /** Starts the metrics endpoint and the AdminServer; either failing to bind is fatal. */
  async start(): Promise<void> {
    const cfg = this.ctx.config;
    if (this.prometheus !== null) await this.prometheus.start();
    if (cfg.adminEnableServer) {
      const admin = new AdminServer(this.ctx, this.state, {
        address: cfg.adminServerAddress,
        port: cfg.adminServerPort,
        commandUrl: cfg.adminCommandUrl,
        idleTimeoutMs: cfg.props.getInt('zookeeper.admin.idleTimeout', 30000),
      });
      try {
        await admin.start();
      } catch (e) {
        await this.prometheus?.stop();
        throw e;
      }
      this.admin = admin;
    }
  }

  async stop(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    await Promise.all([admin?.stop(), this.prometheus?.stop()]);
  }
}
