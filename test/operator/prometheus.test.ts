// The Prometheus metrics provider: /metrics in the text exposition format under Apache
// ZooKeeper's metric names and types. (The Debian reference has no Prometheus provider jar,
// so the names are checked against the catalog taken from ZooKeeper 3.8's ServerMetrics and
// the types against PrometheusMetricsProvider: gauges, counters, summaries with quantiles.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ADVANCED_SUMMARIES, BASIC_SUMMARIES, COUNTERS, GAUGES } from '../../src/admin/metric-catalog';
import { startOurs } from '../helpers/servers';
import { fourLetter, freePort, HOST, httpGet, populate } from './harness';

const PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"=.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  assert.ok(m !== null, `no sample ${name}`);
  return Number(m[1]);
}

test('Prometheus: /metrics serves ZooKeeper metric names, types and values', async (t) => {
  const metricsPort = await freePort();
  const ours = await startOurs({
    extraCfg: { 'metricsProvider.className': PROVIDER, 'metricsProvider.httpHost': HOST, 'metricsProvider.httpPort': String(metricsPort) },
  });
  t.after(() => ours.stop());
  const c = await populate(ours.port);
  t.after(() => c.close().catch(() => null));

  const res = await httpGet(`http://${HOST}:${metricsPort}/metrics`);
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const ty = types(res.body);
  for (const g of GAUGES) if (g !== 'open_file_descriptor_count' && g !== 'max_file_descriptor_count') assert.equal(ty.get(g), 'gauge', g);
  for (const n of COUNTERS) assert.equal(ty.get(n), 'counter', n);
  for (const n of [...BASIC_SUMMARIES, ...ADVANCED_SUMMARIES]) assert.equal(ty.get(n), 'summary', n);

  // Apache ZooKeeper counts the root twice, so 7 znodes read as 8.
  assert.equal(sample(res.body, 'znode_count'), 8);
  assert.equal(sample(res.body, 'ephemerals_count'), 1);
  assert.equal(sample(res.body, 'watch_count'), 3);
  assert.equal(sample(res.body, 'global_sessions'), 1);
  assert.equal(sample(res.body, 'outstanding_requests'), 0);
  assert.ok(sample(res.body, 'num_alive_connections') >= 1);
  // Advanced summaries have the 0.5, 0.9 and 0.99 quantiles; basic ones 0.5 only.
  for (const q of ['0.5', '0.9', '0.99']) sample(res.body, `readlatency{quantile="${q}"}`);
  assert.ok(sample(res.body, 'updatelatency_count') >= 4, 'createSession and 3 creates');
  assert.ok(sample(res.body, 'readlatency_count') >= 3, 'getData, getChildren, exists');
  sample(res.body, 'fsynctime{quantile="0.5"}');
  // Every sync of the txn log is timed: at least one for the writes above.
  assert.ok(sample(res.body, 'fsynctime_count') >= 1, 'fsynctime is fed by the txn log');
  // Per-namespace summaries carry the namespace as their `key` label: /a and /a/b written, /a read twice, /e written.
  assert.equal(sample(res.body, 'write_per_namespace_count{key="a"}'), 2);
  assert.equal(sample(res.body, 'write_per_namespace_sum{key="a"}'), 2 + 5 + 4 + 100);
  assert.equal(sample(res.body, 'write_per_namespace_count{key="e"}'), 1);
  assert.equal(sample(res.body, 'read_per_namespace_count{key="a"}'), 2);
  assert.match(res.body, /^read_per_namespace\{[^}]*key="a"[^}]*\} /m);
  assert.ok(sample(res.body, 'bytes_received_count') > 0);
  // exportJvmInfo (default true): the runtime's process metrics.
  assert.match(res.body, /^process_cpu_user_seconds_total /m);
  assert.equal((await httpGet(`http://${HOST}:${metricsPort}/other`)).status, 404);

  // With this provider mntr prints the Prometheus samples, values as doubles, as ZooKeeper does.
  const mntr = await fourLetter(ours.port, 'mntr');
  assert.match(mntr, /^zk_server_state\tstandalone$/m);
  assert.match(mntr, /^zk_znode_count\t8\.0$/m);
  assert.match(mntr, /^zk_readlatency\{quantile="0\.5"\}\t\d/m);
});

test('Prometheus: exportJvmInfo=false leaves out the process metrics; a taken port stops the server', async (t) => {
  const metricsPort = await freePort();
  const extraCfg = {
    'metricsProvider.className': PROVIDER,
    'metricsProvider.httpHost': HOST,
    'metricsProvider.httpPort': String(metricsPort),
    'metricsProvider.exportJvmInfo': 'false',
  };
  const ours = await startOurs({ extraCfg });
  t.after(() => ours.stop());
  const res = await httpGet(`http://${HOST}:${metricsPort}/metrics`);
  assert.doesNotMatch(res.body, /^process_/m);
  assert.match(res.body, /^znode_count /m);
  // A second server on the same metrics port cannot boot its provider: it exits.
  await assert.rejects(startOurs({ extraCfg }), /exited early|failed to start/);
});
