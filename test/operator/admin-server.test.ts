// The AdminServer over HTTP, compared with Apache ZooKeeper 3.8's Jetty AdminServer: both get
// the same client traffic and the same requests in the same order; answers are compared as
// text (Jackson's layout included) after replacing what legitimately differs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { startOurs } from '../helpers/servers';
import { freePort, HOST, httpGet, populate, requireRefAdmin, startRefAdmin } from './harness';

/** Requests in order; state-changing ones (resets, set_trace_mask) come between readers. */
const PATHS = [
  '/commands',
  '/commands/',
  '/commands/ruok',
  '/commands/configuration',
  '/commands/conf',
  '/commands/connections',
  '/commands/dirs',
  '/commands/dump',
  '/commands/get_trace_mask',
  '/commands/set_trace_mask',
  '/commands/set_trace_mask?traceMask=abc',
  '/commands/stmk?traceMask=12',
  '/commands/gtmk',
  '/commands/hash',
  '/commands/is_read_only',
  '/commands/leader',
  '/commands/observer_connection_stat_reset',
  '/commands/observers',
  '/commands/server_stats',
  '/commands/stats',
  '/commands/connection_stat_reset',
  '/commands/cons',
  '/commands/stat_reset',
  '/commands/srvr',
  '/commands/voting_view',
  '/commands/watch_summary',
  '/commands/watches',
  '/commands/watches_by_path',
  '/commands/zabstate',
  '/commands/no_such_command',
  '/commands/srvr/extra',
];

function normalize(body: string): string {
  return body
    .replace(/"version" : "[^"]*"/g, '"version" : "<VERSION>"')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>')
    .replace(/"client_port" : \d+/g, '"client_port" : <PORT>')
    .replace(/"(data_dir|data_log_dir)" : "[^"]*"/g, '"$1" : "<DIR>"')
    .replace(/"(datadir_size|logdir_size|data_dir_size|log_dir_size)" : \d+/g, '"$1" : <SIZE>')
    .replace(/"(established|last_response_time|uptime)" : \d+/g, '"$1" : <TIME>')
    .replace(/"(last_latency|min_latency|avg_latency|max_latency)" : [\d.]+/g, '"$1" : <MS>')
    .replace(/"(last_buffer_size|min_buffer_size|max_buffer_size)" : -?\d+/g, '"$1" : <BYTES>')
    // The start-up probes (srvr words, themselves packets) differ in number between the two.
    .replace(/"(packets_sent|packets_received)" : \d+/g, '"$1" : <N>')
    .replace(/-?\d{15,20}/g, '<SID>')
    .replace(/"\d+" : \[ (<SID>(, )?)+ \]/g, '"<EXPIRY>" : [ <SIDS> ]')
    // A bucket a session has just left stays, empty, until its time passes (ExpiryQueue keeps
    // emptied sets); whether one exists at the moment of the request depends on tick timing.
    .replace(/ {4}"\d+" : \[ \],?\n/g, '');
}

/**
 * Jackson writes the ServerStats bean's properties in the order the JVM lists its getters,
 * which changes from run to run; for answers holding it, compare the parsed JSON (object key
 * order ignored) plus the order of the top-level keys.
 */
const BEAN_PATHS = new Set(['/commands/server_stats', '/commands/stats', '/commands/srvr']);

function parsed(normalized: string): unknown {
  return JSON.parse(normalized.replace(/(: |\[ |, )(<[A-Z]+>)/g, '$1"$2"'));
}

function keysOf(body: string): string[] {
  return [...body.matchAll(/^ {2}"([^"]+)" :/gm)].map((m) => m[1]!);
}

test('AdminServer: same answers as Apache ZooKeeper 3.8', async (t) => {
  if (!requireRefAdmin(t)) return;
  const adminPort = await freePort();
  const [ref, ours] = await Promise.all([
    startRefAdmin(),
    startOurs({ extraCfg: { 'admin.enableServer': 'true', 'admin.serverAddress': HOST, 'admin.serverPort': String(adminPort) } }),
  ]);
  t.after(() => Promise.all([ref.stop(), ours.stop()]));
  const [rc, oc] = await Promise.all([populate(ref.port), populate(ours.port)]);
  t.after(() => Promise.all([rc.close().catch(() => null), oc.close().catch(() => null)]));
  const refBase = `http://${HOST}:${ref.adminPort}`;
  const ourBase = `http://${HOST}:${adminPort}`;

  for (const p of PATHS) {
    const [r, o] = await Promise.all([httpGet(refBase + p), httpGet(ourBase + p)]);
    assert.equal(o.status, r.status, `${p}: status`);
    if (p.startsWith('/commands/') && p !== '/commands/') assert.equal(o.headers['content-type'], r.headers['content-type'], `${p}: content type`);
    if (BEAN_PATHS.has(p)) {
      assert.deepEqual(parsed(normalize(o.body)), parsed(normalize(r.body)), p);
      assert.deepEqual(keysOf(o.body), keysOf(r.body), `${p}: key order`);
    } else {
      assert.equal(normalize(o.body), normalize(r.body), p);
    }
  }

  await t.test('monitor: the keys of mntr, in order', async () => {
    const [r, o] = await Promise.all([httpGet(`${refBase}/commands/monitor`), httpGet(`${ourBase}/commands/mntr`)]);
    // Per-namespace summaries included: populate wrote to /a and /e and read /a on both.
    assert.deepEqual(keysOf(o.body), keysOf(r.body));
    assert.ok(keysOf(o.body).includes('avg_a_read_per_namespace'));
  });
  await t.test('environment and system_properties: Java key names', async () => {
    const [r, o] = await Promise.all([httpGet(`${refBase}/commands/environment`), httpGet(`${ourBase}/commands/envi`)]);
    assert.deepEqual(keysOf(o.body), keysOf(r.body));
    const sysp = await httpGet(`${ourBase}/commands/system_properties`);
    const keys = keysOf(sysp.body);
    for (const k of ['java.version', 'os.name', 'user.dir', 'zookeeper.4lw.commands.whitelist', 'zookeeper.admin.serverPort']) assert.ok(keys.includes(k), k);
    assert.deepEqual(keys.slice(0, -2), [...keys.slice(0, -2)].sort(), 'sorted by key');
  });
  await t.test('initial_configuration is the config file as written; last_snapshot names a zxid', async () => {
    const icfg = JSON.parse((await httpGet(`${ourBase}/commands/icfg`)).body) as { initial_configuration: string };
    assert.equal(icfg.initial_configuration, fs.readFileSync(`${ours.dir}/zoo.cfg`, 'utf8'));
    const ls = JSON.parse((await httpGet(`${ourBase}/commands/last_snapshot`)).body) as { zxid: string; timestamp: number };
    assert.match(ls.zxid, /^[0-9a-f]+$/);
    assert.equal(typeof ls.timestamp, 'number');
  });
  await t.test('unknown paths and methods', async () => {
    for (const [p, method] of [['/nothing', 'GET'], ['/commands/ruok', 'POST']] as const) {
      const [r, o] = await Promise.all([httpGet(refBase + p, method), httpGet(ourBase + p, method)]);
      assert.equal(o.status, r.status, `${method} ${p}`);
    }
  });
});
