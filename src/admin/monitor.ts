/**
 * The values of `mntr` and of the AdminServer's `monitor`: ZooKeeperServer.dumpMonitorValues
 * (version, server_state) followed by the metrics provider's dump.
 */
import type { MetricValue } from './metrics-registry';
import type { OperatorState } from './operator-state';
import type { ServerContext } from './server-context';

export async function monitorValues(ctx: ServerContext, state: OperatorState): Promise<[string, MetricValue][]> {
  const out: [string, MetricValue][] = [
    ['version', ctx.versionString],
    ['server_state', ctx.mode()],
  ];
  await state.metricsDump((k, v) => {
    out.push([k, v]);
  });
  return out;
}
