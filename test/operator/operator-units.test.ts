// The pure pieces of the operator surfaces: Java number and date formatting, Jackson-style
// JSON, the metrics registry (mntr's order and arithmetic), the 4lw whitelist and the admin
// command table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCommand, primaryNames, responseMap } from '../../src/admin/commands';
import { isWordEnabled, monitorValueText } from '../../src/admin/four-letter-words';
import { javaDate, javaDouble, javaHexLong } from '../../src/admin/java-format';
import { jdouble, toJacksonJson } from '../../src/admin/json-output';
import { ADVANCED_SUMMARIES, BASIC_SUMMARIES, COUNTERS } from '../../src/admin/metric-catalog';
import { MetricsRegistry, type MetricValue } from '../../src/admin/metrics-registry';

test('javaDouble prints like Double.toString', () => {
  assert.equal(javaDouble(0), '0.0');
  assert.equal(javaDouble(1), '1.0');
  assert.equal(javaDouble(1.5), '1.5');
  assert.equal(javaDouble(0.0123), '0.0123');
  assert.equal(javaDouble(1e7), '1.0E7');
  assert.equal(javaDouble(12345678.9), '1.23456789E7');
  assert.equal(javaDouble(0.0001), '1.0E-4');
  assert.equal(javaDouble(-2.5e-5), '-2.5E-5');
});

test('javaHexLong prints negatives as unsigned 64-bit, like Long.toHexString', () => {
  assert.equal(javaHexLong(-1), 'ffffffffffffffff');
  assert.equal(javaHexLong(0x100000004), '100000004');
  assert.equal(javaHexLong(0x1000013a2160000n), '1000013a2160000');
});

test('javaDate has the shape of Date.toString', () => {
  assert.match(javaDate(Date.UTC(2026, 10, 22, 4, 46, 18)), /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \S+ \d{4}$/);
});

test('toJacksonJson matches Jackson DefaultPrettyPrinter output', () => {
  const v = new Map<string, unknown>([
    ['connections', [new Map<string, unknown>([['remote_socket_address', '127.0.0.1:1'], ['session_id', 72057678361657344n]])]],
    ['secure_connections', []],
    ['nested', new Map<string, unknown>([['avg', jdouble(0)], ['empty', new Map()]])],
    ['paths', ['/a', '/zz']],
    ['error', null],
    ['ok', true],
    ['text', 'a"b\\c\n\u0001'],
  ]);
  const expected = [
    '{',
    '  "connections" : [ {',
    '    "remote_socket_address" : "127.0.0.1:1",',
    '    "session_id" : 72057678361657344',
    '  } ],',
    '  "secure_connections" : [ ],',
    '  "nested" : {',
    '    "avg" : 0.0,',
    '    "empty" : { }',
    '  },',
    '  "paths" : [ "/a", "/zz" ],',
    '  "error" : null,',
    '  "ok" : true,',
    '  "text" : "a\\"b\\\\c\\n\\u0001"',
    '}',
  ].join('\n');
  assert.equal(toJacksonJson(v as never), expected);
});

test('metrics registry: Java order, summary arithmetic, percentiles, reset', () => {
  const m = new MetricsRegistry(() => 0.5);
  m.registerGauge('znode_count', () => 5);
  m.registerGauge('avg_latency', () => jdouble(0.25));
  const keys: string[] = [];
  const values = new Map<string, MetricValue>();
  m.dump((k, v) => {
    keys.push(k);
    values.set(k, v);
  });
  assert.deepEqual(keys.slice(0, 2), ['znode_count', 'avg_latency']);
  assert.equal(keys[2], COUNTERS[0]);
  assert.equal(keys.length, 2 + COUNTERS.length + 5 * BASIC_SUMMARIES.length + 9 * ADVANCED_SUMMARIES.length);
  assert.equal(monitorValueText(values.get('avg_latency')!), '0.25');
  assert.equal(monitorValueText(values.get('avg_readlatency')!), '0.0');

  const s = m.summary('readlatency');
  for (const v of [1, 2, 3, 4, 100]) s.add(v);
  assert.equal(s.avg(), 22);
  assert.equal(s.getMin(), 1);
  assert.equal(s.getMax(), 100);
  assert.equal(s.getTotal(), 110);
  // UniformSnapshot: pos = q * (n + 1); p50 -> 3rd value, p95 -> the last.
  assert.equal(s.quantile(0.5), 3);
  assert.equal(s.quantile(0.95), 100);
  m.summary('fsynctime').add(7.9);
  assert.equal(m.summary('fsynctime').getTotal(), 7);
  m.summarySet('write_per_namespace').add('a', 10);
  const setKeys: string[] = [];
  m.dump((k) => setKeys.push(k));
  assert.ok(setKeys.includes('avg_a_write_per_namespace'));
  m.counter('commit_count').add(3);
  m.reset();
  assert.equal(m.counter('commit_count').get(), 0);
  assert.equal(s.getCount(), 0);
  assert.equal(m.readGauge('znode_count'), 5);
});

test('4lw whitelist: srvr always, * everything, isro with read-only mode', () => {
  const wl = new Set(['ruok']);
  assert.equal(isWordEnabled(wl, 'ruok', false), true);
  assert.equal(isWordEnabled(wl, 'srvr', false), true);
  assert.equal(isWordEnabled(wl, 'stat', false), false);
  assert.equal(isWordEnabled(wl, 'isro', false), false);
  assert.equal(isWordEnabled(wl, 'isro', true), true);
  assert.equal(isWordEnabled('*', 'telnet close', false), true);
});

test('admin command table: every 3.8 name and alias, CommandResponse key order', () => {
  assert.deepEqual(primaryNames(), [
    'configuration', 'connection_stat_reset', 'connections', 'dirs', 'dump', 'environment', 'get_trace_mask', 'hash',
    'initial_configuration', 'is_read_only', 'last_snapshot', 'leader', 'monitor', 'observer_connection_stat_reset',
    'observers', 'ruok', 'server_stats', 'set_trace_mask', 'stat_reset', 'stats', 'system_properties', 'voting_view',
    'watch_summary', 'watches', 'watches_by_path', 'zabstate',
  ]);
  const aliases: [string, string][] = [
    ['conf', 'configuration'], ['config', 'configuration'], ['cons', 'connections'], ['crst', 'connection_stat_reset'],
    ['env', 'environment'], ['envi', 'environment'], ['gtmk', 'get_trace_mask'], ['icfg', 'initial_configuration'],
    ['isro', 'is_read_only'], ['lsnp', 'last_snapshot'], ['lead', 'leader'], ['mntr', 'monitor'],
    ['orst', 'observer_connection_stat_reset'], ['stmk', 'set_trace_mask'], ['srvr', 'server_stats'], ['stat', 'stats'],
    ['srst', 'stat_reset'], ['obsr', 'observers'], ['sysp', 'system_properties'], ['wchc', 'watches'],
    ['wchp', 'watches_by_path'], ['wchs', 'watch_summary'],
  ];
  for (const [alias, primary] of aliases) assert.equal(findCommand(alias)?.names[0], primary, alias);
  assert.deepEqual([...responseMap('x', null, new Map([['a', 1]])).keys()], ['a', 'command', 'error']);
  assert.deepEqual([...responseMap('leader', null, new Map([['error', 'e']])).entries()], [['error', 'e'], ['command', 'leader']]);
});
