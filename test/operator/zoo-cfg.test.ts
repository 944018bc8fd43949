// zoo.cfg parsing and validation (src/config/zoo-cfg.ts): defaults, every kind of key, the
// server.N grammar, dataDir/myid and dynamicConfigFile, and bad values, which must fail with a
// ConfigError naming the file and the key. Messages follow Apache ZooKeeper 3.8's where it has one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildConfig, ConfigError, loadConfigFile, parseLogLevel, parseProperties, parseServerLine, type LoadOptions } from '../../src/config/zoo-cfg';

const FILE = '/etc/zk/zoo.cfg';

function cfg(text: string, opts: LoadOptions = {}) {
  return buildConfig(parseProperties(text), FILE, { env: {}, readMyid: () => null, ...opts });
}

function bad(text: string, key: string, message: RegExp, opts: LoadOptions = {}): void {
  assert.throws(
    () => cfg(text, opts),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
      assert.equal(e.key, key);
      assert.match(e.message, message);
      assert.ok(e.message.includes(e.file ?? '<no file>'), `the message names the file: ${e.message}`);
      return true;
    },
  );
}

const BASE = 'dataDir=/var/zk\nclientPort=2181\n';

test('defaults are Apache ZooKeeper 3.8 defaults', () => {
  const c = cfg(BASE);
  assert.equal(c.tickTimeMs, 3000);
  assert.equal(c.minSessionTimeoutMs, 6000);
  assert.equal(c.maxSessionTimeoutMs, 60000);
  assert.equal(c.maxClientCnxns, 60);
  assert.equal(c.dataLogDir, '/var/zk');
  assert.equal(c.clientPortAddress, null);
  assert.equal(c.clientPortListenBacklog, -1);
  assert.equal(c.snapRetainCount, 3);
  assert.equal(c.purgeIntervalHours, 0);
  assert.equal(c.distributed, false);
  assert.equal(c.myid, 0);
  assert.deepEqual([...(c.fourLetterWordsWhitelist as Set<string>)], ['srvr']);
  assert.equal(c.adminEnableServer, true);
  assert.equal(c.adminServerAddress, '0.0.0.0');
  assert.equal(c.adminServerPort, 8080);
  assert.equal(c.adminCommandUrl, '/commands');
  assert.equal(c.metricsProviderClassName, 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.juteMaxBufferBytes, 0xfffff);
});

test('Java properties syntax: separators, comments, continuation, literal ; and #', () => {
  const c = cfg('# comment\n! also a comment\ndataDir : /var/zk\nclientPort 2181\ntickTime=\\\n  2000\nsuperUser=a;b#c\n');
  assert.equal(c.dataDir, '/var/zk');
  assert.equal(c.clientPort, 2181);
  assert.equal(c.tickTimeMs, 2000);
  assert.equal(c.props.get('zookeeper.superUser'), 'a;b#c');
  // The last of two equal keys wins, as in java.util.Properties.
  assert.equal(cfg(`${BASE}tickTime=1000\ntickTime=4000\n`).tickTimeMs, 4000);
});

test('unknown keys become zookeeper.<key> system properties and are listed', () => {
  const c = cfg(`${BASE}4lw.commands.whitelist=ruok, stat ,mntr\nadmin.serverPort=9090\nadmin.enableServer=false\nfooBar=1\nsnapCount=5000\n`);
  assert.deepEqual([...(c.fourLetterWordsWhitelist as Set<string>)].sort(), ['mntr', 'ruok', 'stat']);
  assert.equal(c.adminServerPort, 9090);
  assert.equal(c.adminEnableServer, false);
  assert.equal(c.props.get('zookeeper.fooBar'), '1');
  assert.equal(c.snapCount, 5000);
  assert.deepEqual(c.unknownKeys, ['fooBar']);
  assert.equal(cfg(`${BASE}4lw.commands.whitelist=*\n`).fourLetterWordsWhitelist, '*');
});

test('JVMFLAGS and SERVER_JVMFLAGS -D flags are system properties; zoo.cfg keys override them', () => {
  const env = { JVMFLAGS: '-Xmx1g -Dzookeeper.admin.serverPort=7070 -Dreadonlymode.enabled=true', SERVER_JVMFLAGS: "-Dzookeeper.4lw.commands.whitelist='ruok,conf'" };
  const c = cfg(BASE, { env });
  assert.equal(c.adminServerPort, 7070);
  assert.equal(c.readOnlyModeEnabled, true);
  assert.deepEqual([...(c.fourLetterWordsWhitelist as Set<string>)], ['ruok', 'conf']);
  assert.equal(cfg(`${BASE}admin.serverPort=6060\n`, { env }).adminServerPort, 6060);
});

test('log level: ZOO_LOG_LEVEL, then zookeeper.root.logger (JVMFLAGS or root.logger in zoo.cfg)', () => {
  assert.equal(cfg(BASE, { env: { ZOO_LOG_LEVEL: 'debug' } }).logLevel, 'debug');
  assert.equal(cfg(BASE, { env: { JVMFLAGS: '-Dzookeeper.root.logger=WARN,CONSOLE' } }).logLevel, 'warn');
  assert.equal(cfg(`${BASE}root.logger=ERROR,ROLLINGFILE\n`).logLevel, 'error');
  assert.equal(cfg(`${BASE}root.logger=ERROR\n`, { env: { ZOO_LOG_LEVEL: 'TRACE' } }).logLevel, 'trace');
  assert.equal(parseLogLevel('OFF'), 'silent');
  bad(BASE, 'ZOO_LOG_LEVEL', /ZOO_LOG_LEVEL 'loud' is not a log level/, { env: { ZOO_LOG_LEVEL: 'loud' } });
});

test('server.N lines: ports, observer type, client part, IPv6, multi-address', () => {
  const s = parseServerLine('server.3', '[::1]:2888:3888:observer;127.0.0.1:2183');
  assert.equal(s.id, 3);
  assert.deepEqual(s.quorum, { host: '::1', port: 2888 });
  assert.deepEqual(s.election, { host: '::1', port: 3888 });
  assert.equal(s.type, 'observer');
  assert.deepEqual(s.client, { host: '127.0.0.1', port: 2183 });
  assert.deepEqual(parseServerLine('server.1', 'zk1:2888:3888;2181').client, { host: '0.0.0.0', port: 2181 });
  assert.equal(parseServerLine('server.1', 'a:1:2|b:3:4', undefined, true).addresses.length, 2);
  assert.throws(() => parseServerLine('server.1', 'a:1:2|b:3:4'), /Multiple address feature is disabled/);
  assert.throws(() => parseServerLine('server.1', 'zk1:2888'), /does not have the form server_config/);
  assert.throws(() => parseServerLine('server.1', 'zk1:2888:2888'), /Client and election port must be different/);
  assert.throws(() => parseServerLine('server.1', 'zk1:2888:3888:voter'), /Unrecognised peertype: voter/);
  assert.throws(() => parseServerLine('server.x', 'zk1:2888:3888'), /server id 'x' is not a number/);
});

const QUORUM = `${BASE}initLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890:observer\n`;

test('a quorum config reads myid from dataDir and is distributed', () => {
  const c = cfg(QUORUM, { readMyid: (d) => (d === '/var/zk' ? '2\n' : null) });
  assert.equal(c.distributed, true);
  assert.equal(c.myid, 2);
  assert.deepEqual(c.servers.map((s) => [s.id, s.type]), [[1, 'participant'], [2, 'participant'], [3, 'observer']]);
  assert.equal(c.peerType, 'participant');
  // The observer's own config may say peerType=observer; the server list decides anyway.
  const o = cfg(`${QUORUM}peerType=observer\n`, { readMyid: () => '3' });
  assert.equal(o.peerType, 'observer');
  // A single server line with standaloneEnabled (the default) runs standalone, as in ZooKeeper.
  const one = cfg(`${BASE}server.1=127.0.0.1:2888:3888\n`);
  assert.equal(one.distributed, false);
  assert.ok(one.warnings.some((w) => /only one server specified/.test(w)));
});

test('myid: missing, malformed, out of range, unlisted', () => {
  bad(QUORUM, 'dataDir', /myid file is missing \(expected \/var\/zk\/myid/);
  bad(QUORUM, 'dataDir', /serverid abc is not a number/, { readMyid: () => 'abc' });
  bad(QUORUM, 'dataDir', /serverid 0 in \/var\/zk\/myid must be between 1 and 255/, { readMyid: () => '0' });
  bad(QUORUM, 'dataDir', /serverid 256 .* must be between 1 and 255/, { readMyid: () => '256' });
  bad(QUORUM, 'server.7', /serverid 7 .* has no server.7 line/, { readMyid: () => '7' });
  // Even a standalone server refuses a myid file that is not a number, as ZooKeeper does.
  bad(BASE, 'dataDir', /serverid x is not a number/, { readMyid: () => 'x' });
  bad(QUORUM.replace('initLimit=5\n', ''), 'initLimit', /initLimit is not set/, { readMyid: () => '1' });
});

test('the client port can come from this server\'s server.N line', () => {
  const text = 'dataDir=/var/zk\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2191\nserver.2=127.0.0.1:2889:3889;2192\n';
  const c = cfg(text, { readMyid: () => '1' });
  assert.equal(c.clientPort, 2191);
  assert.equal(c.clientPortAddress, '127.0.0.1');
  assert.equal(c.clientPortSet, true);
  bad(`${text}clientPort=3000\n`, 'clientPort', /client address for this server \(id = 1\) in static config file is .* is different from client address found in dynamic file/, {
    readMyid: () => '1',
  });
});

test('dynamicConfigFile holds the server lines; it must not hold anything else', () => {
  const files: Record<string, string> = {
    '/etc/zk/zoo.cfg.dynamic.100000000': 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\nserver.3=127.0.0.1:2890:3890;2183\n',
    '/etc/zk/bad.dynamic': 'server.1=127.0.0.1:2888:3888\ntickTime=2000\n',
    '/etc/zk/version.dynamic': 'version=1\nserver.1=127.0.0.1:2888:3888\n',
  };
  const readFile = (f: string) => {
    const t = files[f];
    if (t === undefined) throw new Error('ENOENT');
    return t;
  };
  const c = cfg('dataDir=/var/zk\ninitLimit=5\nsyncLimit=2\ndynamicConfigFile=/etc/zk/zoo.cfg.dynamic.100000000\n', { readFile, readMyid: () => '2' });
  assert.equal(c.servers.length, 3);
  assert.equal(c.clientPort, 2182);
  assert.equal(c.dynamicConfigVersion, '100000000');
  bad('dataDir=/var/zk\ndynamicConfigFile=/etc/zk/bad.dynamic\n', 'tickTime', /Unrecognised parameter: tickTime/, { readFile });
  bad('dataDir=/var/zk\ndynamicConfigFile=/etc/zk/version.dynamic\n', 'version', /dynamic file shouldn't have version inside/, { readFile });
  bad('dataDir=/var/zk\ndynamicConfigFile=/etc/zk/missing\n', 'dynamicConfigFile', /cannot read dynamicConfigFile/, { readFile });
  bad('dataDir=/var/zk\ndynamicConfigFile=/etc/zk/zoo.cfg.dynamic.100000000\nserver.1=a:1:2\n', 'server.1', /must be in a separate dynamic config file/, { readFile });
});

test('bad values fail naming the key and the file', () => {
  bad('clientPort=2181\n', 'dataDir', /dataDir is not set/);
  bad(`${BASE}tickTime=abc\n`, 'tickTime', /tickTime must be an integer, got 'abc'/);
  bad(`${BASE}tickTime=0\n`, 'tickTime', /tickTime is not set/);
  bad(`${BASE}maxClientCnxns=1.5\n`, 'maxClientCnxns', /maxClientCnxns must be an integer/);
  bad(`${BASE}initLimit=99999999999\n`, 'initLimit', /out of range/);
  bad('dataDir=/var/zk\nclientPort=70000\n', 'clientPort', /client port 70000 is out of range/);
  bad('dataDir=/var/zk\nclientPortAddress=127.0.0.1\n', 'clientPortAddress', /clientPortAddress is set but clientPort is not set/);
  bad(`${BASE}secureClientPortAddress=127.0.0.1\n`, 'secureClientPortAddress', /secureClientPortAddress is set but secureClientPort is not set/);
  bad(`${BASE}standaloneEnabled=yes\n`, 'standaloneEnabled', /Invalid option yes for standaloneEnabled. Choose 'true' or 'false.'/);
  bad(`${BASE}minSessionTimeout=10000\nmaxSessionTimeout=5000\n`, 'minSessionTimeout', /minSessionTimeout must not be larger than maxSessionTimeout/);
  bad(`${BASE}electionAlg=1\n`, 'electionAlg', /Only 3 is supported/);
  bad(`${BASE}peerType=leader\n`, 'peerType', /Unrecognised peertype: leader/);
  bad(`${BASE}metricsProvider.className=com.example.Nope\n`, 'metricsProvider.className', /metrics provider class was not found/);
  bad(`${BASE}metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\nmetricsProvider.httpPort=x\n`, 'metricsProvider.httpPort', /is not a number/);
  bad(`${BASE}admin.serverPort=http\n`, 'admin.serverPort', /admin server port 'http' is not a number/);
  bad(`${BASE}quorum.auth.serverRequireSasl=true\n`, 'quorum.auth.serverRequireSasl', /quorum.auth.enableSasl is disabled/);
  bad(`${BASE}jvm.pause.sleep.time.ms=soon\n`, 'jvm.pause.sleep.time.ms', /must be an integer/);
  bad(`${BASE}server.1=127.0.0.1:2888:3888\nstandaloneEnabled=false\nserver.2=127.0.0.1:2889:3889:observer\nserver.1=127.0.0.1:2888:3888:observer\n`, 'standaloneEnabled', /number of participants should be >0/);
  bad(`${BASE}server.1=127.0.0.1:2888:3888:observer\n`, 'server.1', /Observers w\/o participants is an invalid configuration/);
  bad(`${BASE}jute.maxbuffer=big\n`, 'jute.maxbuffer', /jute.maxbuffer must be a positive integer/);
});

test('loadConfigFile: a missing file, a directory, and the initial configuration text', () => {
  assert.throws(() => loadConfigFile('/nonexistent/zoo.cfg'), (e: unknown) => e instanceof ConfigError && /\/nonexistent\/zoo.cfg: file is missing/.test(e.message));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-cfg-'));
  try {
    assert.throws(() => loadConfigFile(dir), ConfigError);
    const f = path.join(dir, 'zoo.cfg');
    const text = `dataDir=${dir}\nclientPort=2181\n# trailing comment\n`;
    fs.writeFileSync(f, text);
    const c = loadConfigFile(f, { env: {} });
    assert.equal(c.initialConfig, text);
    assert.equal(c.configFile, f);
    // Relative dataDir is taken from the working directory, as Java does.
    fs.writeFileSync(f, 'dataDir=rel/data\nclientPort=2181\n');
    assert.equal(loadConfigFile(f, { env: {} }).dataDir, path.resolve(process.cwd(), 'rel/data'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
