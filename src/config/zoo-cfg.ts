/**
 * zoo.cfg: read with `ini`, validated into one typed ServerConfig. Defaults, cross-checks and
 * the system properties that Apache ZooKeeper reads are all settled here; the rest of the
 * server reads only the ServerConfig.
 *
 * zoo.cfg is a Java properties file. `ini` parses `key=value` lines and comments; before handing
 * it the text we turn Java's other separators (`key: value`, `key value`) into `=`, join
 * backslash-continued lines, and escape `;` and `#` inside values, which Java keeps literally
 * (`server.1=host:2888:3888;2181` needs its `;2181`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import ini from 'ini';
import { SystemProperties } from './system-properties';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly file?: string,
    readonly key?: string,
  ) {
    super(file !== undefined ? `${file}: ${message}` : message);
  }
}

export interface ServerAddress {
  host: string;
  port: number;
}

export interface QuorumServerSpec {
  id: number;
  quorum: ServerAddress;
  election: ServerAddress;
  type: 'participant' | 'observer';
  client: ServerAddress | null;
}

export interface ServerConfig {
  configFile: string | null;
  dataDir: string;
  dataLogDir: string;
  clientPort: number;
  /** null: listen on every address, IPv4 and IPv6. */
  clientPortAddress: string | null;
  secureClientPort: number;
  secureClientPortAddress: string | null;
  tickTimeMs: number;
  maxClientCnxns: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  initLimit: number;
  syncLimit: number;
  connectToLearnerMasterLimit: number;
  electionAlg: number;
  peerType: 'participant' | 'observer';
  servers: QuorumServerSpec[];
  myid: number;
  standaloneEnabled: boolean;
  reconfigEnabled: boolean;
  localSessionsEnabled: boolean;
  syncEnabled: boolean;
  quorumListenOnAllIPs: boolean;
  dynamicConfigFile: string | null;
  snapRetainCount: number;
  purgeIntervalHours: number;
  clientPortListenBacklog: number;
  metricsProviderClassName: string;
  metricsProvider: Record<string, string>;
  /** Every key of the file, in order, for `conf` and diagnostics. */
  raw: Map<string, string>;
  /** Java system properties in effect: JVM flags plus unknown zoo.cfg keys as zookeeper.<key>. */
  props: SystemProperties;
  // Settings Apache ZooKeeper takes as system properties, resolved once here.
  juteMaxBufferBytes: number;
  globalOutstandingLimit: number;
  fourLetterWordsWhitelist: ReadonlySet<string> | '*';
  adminEnableServer: boolean;
  adminServerAddress: string;
  adminServerPort: number;
  adminCommandUrl: string;
  extendedTypesEnabled: boolean;
  superDigest: string | null;
  skipACL: boolean;
  enforceQuota: boolean;
  containerCheckIntervalMs: number;
  containerMaxPerMinute: number;
  containerMaxNeverUsedIntervalMs: number;
  snapCount: number;
  preAllocSizeKb: number;
  forceSync: boolean;
  fsyncWarningThresholdMs: number;
  closeSessionTxnEnabled: boolean;
  digestEnabled: boolean;
  maxCnxns: number;
}

/** Normalizes Java-properties text so that `ini` reads it as Java would. */
function toIniText(text: string): string {
  const out: string[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // A line ending in an odd number of backslashes continues on the next one.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '');
    }
    const m = /^((?:\\.|[^=:\s\\])*)\s*[=:]?\s*(.*)$/.exec(line);
    if (m === null) continue;
    const key = m[1]!.replace(/\\(.)/g, '$1');
    const value = m[2]!.replace(/\\(.)/g, '$1');
    const esc = (s: string): string => s.replace(/[\\;#]/g, (c) => `\\${c}`);
    out.push(`${esc(key)}=${esc(value)}`);
  }
  return out.join('\n') + '\n';
}

export function parseProperties(text: string): Map<string, string> {
  const parsed = ini.parse(toIniText(text)) as Record<string, unknown>;
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(parsed)) {
    // ini turns the words true/false/null into JS values; Java keeps them as text.
    if (typeof v === 'string') out.set(k.trim(), v.trim());
    else if (typeof v === 'boolean' || v === null) out.set(k.trim(), String(v));
  }
  return out;
}

function parseIntStrict(key: string, value: string, file: string | undefined): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new ConfigError(`${key} must be an integer, got '${value}'`, file, key);
  const n = Number.parseInt(value.trim(), 10);
  if (n > 2147483647 || n < -2147483648) throw new ConfigError(`${key} is out of range: '${value}'`, file, key);
  return n;
}

/** QuorumPeerConfig.parseBoolean: "true" or "false", any case; anything else is an error. */
function parseBool(key: string, value: string, file: string | undefined): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`Invalid option ${value} for ${key}. Choose 'true' or 'false.'`, file, key);
}

function parseAddress(s: string, what: string, file: string | undefined, key: string): ServerAddress {
  let host: string;
  let portStr: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') throw new ConfigError(`${key}: bad ${what} address '${s}'`, file, key);
    host = s.substring(1, end);
    portStr = s.substring(end + 2);
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) throw new ConfigError(`${key}: bad ${what} address '${s}'`, file, key);
    host = s.substring(0, i);
    portStr = s.substring(i + 1);
  }
  const port = parseIntStrict(key, portStr, file);
  if (port < 1 || port > 65535) throw new ConfigError(`${key}: ${what} port ${port} out of range`, file, key);
  return { host, port };
}

/** `server.N=host:quorumPort:electionPort[:participant|observer][;[clientAddr:]clientPort]`. */
export function parseServerLine(key: string, value: string, file?: string): QuorumServerSpec {
  const id = Number.parseInt(key.substring('server.'.length), 10);
  if (!/^server\.\d+$/.test(key) || !Number.isFinite(id) || id < 0) throw new ConfigError(`bad server key '${key}'`, file, key);
  const [serverPart, clientPart] = value.split(';', 2) as [string, string | undefined];
  // Split on ':' outside [ipv6] brackets.
  const parts: string[] = [];
  let cur = '';
  let depth = 0;
  for (const c of serverPart.trim()) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (c === ':' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  if (parts.length < 3 || parts.length > 4) {
    throw new ConfigError(
      `${value} does not have the form server_config or server_config;client_config where server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port or host:port`,
      file,
      key,
    );
  }
  const host = parts[0]!.replace(/^\[|\]$/g, '');
  const quorumPort = parseIntStrict(key, parts[1]!, file);
  const electionPort = parseIntStrict(key, parts[2]!, file);
  let type: 'participant' | 'observer' = 'participant';
  if (parts.length === 4) {
    const t = parts[3]!.toLowerCase();
    if (t === 'observer') type = 'observer';
    else if (t !== 'participant') throw new ConfigError(`Unrecognised peertype: ${parts[3]}`, file, key);
  }
  let client: ServerAddress | null = null;
  if (clientPart !== undefined && clientPart.trim() !== '') {
    const c = clientPart.trim();
    client = /^\d+$/.test(c) ? { host: '0.0.0.0', port: parseIntStrict(key, c, file) } : parseAddress(c, 'client', file, key);
  }
  return { id, quorum: { host, port: quorumPort }, election: { host, port: electionPort }, type, client };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Reads myid; by default from dataDir/myid. */
  readMyid?: (dataDir: string) => string | null;
}

export function loadConfigFile(file: string, opts: LoadOptions = {}): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file: ${(e as Error).message}`, file);
  }
  return buildConfig(parseProperties(text), file, opts);
}

export function buildConfig(raw: Map<string, string>, file: string | null, opts: LoadOptions = {}): ServerConfig {
  const f = file ?? undefined;
  const props = SystemProperties.fromEnv(opts.env ?? process.env);
  let dataDir: string | null = null;
  let dataLogDir: string | null = null;
  let clientPort = 0;
  let clientPortAddress: string | null = null;
  let secureClientPort = 0;
  let secureClientPortAddress: string | null = null;
  let tickTimeMs = 3000;
  let maxClientCnxns = 60;
  let minSessionTimeoutMs = -1;
  let maxSessionTimeoutMs = -1;
  let initLimit = 0;
  let syncLimit = 0;
  let connectToLearnerMasterLimit = 0;
  let electionAlg = 3;
  let peerType: 'participant' | 'observer' = 'participant';
  let standaloneEnabled = true;
  let reconfigEnabled = false;
  let localSessionsEnabled = false;
  let syncEnabled = true;
  let quorumListenOnAllIPs = false;
  let dynamicConfigFile: string | null = null;
  let snapRetainCount = 3;
  let purgeIntervalHours = 0;
  let clientPortListenBacklog = -1;
  let metricsProviderClassName = 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';
  const metricsProvider: Record<string, string> = {};
  const servers: QuorumServerSpec[] = [];
  const int = (k: string, v: string): number => parseIntStrict(k, v, f);
  const bool = (k: string, v: string): boolean => parseBool(k, v, f);
  const base = file === null ? process.cwd() : path.dirname(path.resolve(file));
  const resolveDir = (v: string): string => (path.isAbsolute(v) ? v : path.resolve(process.cwd(), v));
  void base;

  for (const [key, value] of raw) {
    switch (key) {
      case 'dataDir':
        dataDir = resolveDir(value);
        break;
      case 'dataLogDir':
        dataLogDir = resolveDir(value);
        break;
      case 'clientPort':
        clientPort = int(key, value);
        break;
      case 'clientPortAddress':
        clientPortAddress = value;
        break;
      case 'secureClientPort':
        secureClientPort = int(key, value);
        break;
      case 'secureClientPortAddress':
        secureClientPortAddress = value;
        break;
      case 'tickTime':
        tickTimeMs = int(key, value);
        break;
      case 'maxClientCnxns':
        maxClientCnxns = int(key, value);
        break;
      case 'minSessionTimeout':
        minSessionTimeoutMs = int(key, value);
        break;
      case 'maxSessionTimeout':
        maxSessionTimeoutMs = int(key, value);
        break;
      case 'initLimit':
        initLimit = int(key, value);
        break;
      case 'syncLimit':
        syncLimit = int(key, value);
        break;
      case 'connectToLearnerMasterLimit':
        connectToLearnerMasterLimit = int(key, value);
        break;
      case 'electionAlg':
        electionAlg = int(key, value);
        if (electionAlg !== 3) throw new ConfigError('Invalid electionAlg value. Only 3 is supported.', f, key);
        break;
      case 'peerType': {
        const v = value.toLowerCase();
        if (v === 'observer' || v === 'participant') peerType = v;
        else throw new ConfigError(`Unrecognised peertype: ${value}`, f, key);
        break;
      }
      case 'standaloneEnabled':
        standaloneEnabled = bool(key, value);
        break;
      case 'reconfigEnabled':
        reconfigEnabled = bool(key, value);
        break;
      case 'localSessionsEnabled':
        localSessionsEnabled = bool(key, value);
        break;
      case 'localSessionsUpgradingEnabled':
      case 'sslQuorum':
      case 'portUnification':
      case 'sslQuorumReloadCertFiles':
      case 'multiAddress.enabled':
      case 'multiAddress.reachabilityCheckEnabled':
      case 'jvm.pause.monitor':
        bool(key, value);
        break;
      case 'syncEnabled':
        syncEnabled = bool(key, value);
        break;
      case 'quorumListenOnAllIPs':
        quorumListenOnAllIPs = bool(key, value);
        break;
      case 'dynamicConfigFile':
        dynamicConfigFile = value;
        break;
      case 'autopurge.snapRetainCount':
        snapRetainCount = int(key, value);
        break;
      case 'autopurge.purgeInterval':
        purgeIntervalHours = int(key, value);
        break;
      case 'clientPortListenBacklog':
        clientPortListenBacklog = int(key, value);
        break;
      case 'observerMasterPort':
      case 'quorum.cnxn.threads.size':
      case 'multiAddress.reachabilityCheckTimeoutMs':
        int(key, value);
        break;
      case 'metricsProvider.className':
        metricsProviderClassName = value;
        break;
      case 'oraclePath':
      case 'version':
        break;
      default:
        if (key.startsWith('server.')) {
          if (raw.has('dynamicConfigFile')) throw new ConfigError(`parameter: ${key} must be in a separate dynamic config file`, f, key);
          servers.push(parseServerLine(key, value, f));
        } else if (key.startsWith('group') || key.startsWith('weight')) {
          if (raw.has('dynamicConfigFile')) throw new ConfigError(`parameter: ${key} must be in a separate dynamic config file`, f, key);
        } else if (key.startsWith('metricsProvider.')) {
          metricsProvider[key.substring('metricsProvider.'.length)] = value;
        } else if (key.startsWith('quorum.auth.') || key.startsWith('jvm.pause.')) {
          // Quorum SASL and JVM pause monitor settings: accepted; not applicable to this server yet.
        } else {
          // As in QuorumPeerConfig: any other key becomes the system property zookeeper.<key>.
          props.set(`zookeeper.${key}`, value);
        }
    }
  }

  if (snapRetainCount < 3) snapRetainCount = 3;
  if (dataDir === null) throw new ConfigError('dataDir is not set', f, 'dataDir');
  if (dataLogDir === null) dataLogDir = dataDir;
  if (clientPort === 0 && clientPortAddress !== null) {
    throw new ConfigError('clientPortAddress is set but clientPort is not set', f, 'clientPortAddress');
  }
  if (secureClientPort === 0 && secureClientPortAddress !== null) {
    throw new ConfigError('secureClientPortAddress is set but secureClientPort is not set', f, 'secureClientPortAddress');
  }
  if (clientPort < 0 || clientPort > 65535) throw new ConfigError(`clientPort ${clientPort} out of range`, f, 'clientPort');
  if (tickTimeMs <= 0) throw new ConfigError('tickTime is not set', f, 'tickTime');
  minSessionTimeoutMs = minSessionTimeoutMs === -1 ? tickTimeMs * 2 : minSessionTimeoutMs;
  maxSessionTimeoutMs = maxSessionTimeoutMs === -1 ? tickTimeMs * 20 : maxSessionTimeoutMs;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError('minSessionTimeout must not be larger than maxSessionTimeout', f, 'minSessionTimeout');
  }

  let myid = 0;
  if (servers.length > 0) {
    if (initLimit === 0) throw new ConfigError('initLimit is not set', f, 'initLimit');
    if (syncLimit === 0) throw new ConfigError('syncLimit is not set', f, 'syncLimit');
    const readMyid = opts.readMyid ?? ((dir: string) => {
      try {
        return readFileSync(path.join(dir, 'myid'), 'utf8');
      } catch {
        return null;
      }
    });
    const text = readMyid(dataDir);
    if (text === null) throw new ConfigError(`${path.join(dataDir, 'myid')} file is missing`, f, 'dataDir');
    const t = text.trim();
    if (!/^\d+$/.test(t)) throw new ConfigError(`serverid ${t} is not a number`, f, 'dataDir');
    myid = Number.parseInt(t, 10);
    if (myid < 1 || myid > 255) throw new ConfigError(`serverid ${myid} in myid must be between 1 and 255`, f, 'dataDir');
    if (!servers.some((s) => s.id === myid)) throw new ConfigError(`myid ${myid} has no server.${myid} line`, f, `server.${myid}`);
    const ids = new Set<number>();
    for (const s of servers) {
      if (ids.has(s.id)) throw new ConfigError(`duplicate server.${s.id}`, f, `server.${s.id}`);
      ids.add(s.id);
    }
  }

  const wl = props.get('zookeeper.4lw.commands.whitelist');
  let fourLetterWordsWhitelist: ReadonlySet<string> | '*';
  if (wl === undefined) fourLetterWordsWhitelist = new Set(['srvr']);
  else {
    const words = wl.split(',').map((w) => w.trim()).filter((w) => w !== '');
    fourLetterWordsWhitelist = words.includes('*') ? '*' : new Set(words);
  }

  const juteMax = props.get('jute.maxbuffer') ?? props.get('zookeeper.jute.maxbuffer');
  let juteMaxBufferBytes = 0xfffff;
  if (juteMax !== undefined) {
    if (!/^\d+$/.test(juteMax.trim())) throw new ConfigError(`jute.maxbuffer must be a positive integer, got '${juteMax}'`, f, 'jute.maxbuffer');
    juteMaxBufferBytes = Number.parseInt(juteMax.trim(), 10);
  }

  return {
    configFile: file,
    dataDir,
    dataLogDir,
    clientPort,
    clientPortAddress,
    secureClientPort,
    secureClientPortAddress,
    tickTimeMs,
    maxClientCnxns,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    initLimit,
    syncLimit,
    connectToLearnerMasterLimit,
    electionAlg,
    peerType,
    servers,
    myid,
    standaloneEnabled,
    reconfigEnabled,
    localSessionsEnabled,
    syncEnabled,
    quorumListenOnAllIPs,
    dynamicConfigFile,
    snapRetainCount,
    purgeIntervalHours,
    clientPortListenBacklog,
    metricsProviderClassName,
    metricsProvider,
    raw,
    props,
    juteMaxBufferBytes,
    globalOutstandingLimit: props.getInt('zookeeper.globalOutstandingLimit', 1000),
    fourLetterWordsWhitelist,
    adminEnableServer: (props.get('zookeeper.admin.enableServer') ?? 'true').trim().toLowerCase() !== 'false',
    adminServerAddress: props.get('zookeeper.admin.serverAddress') ?? '0.0.0.0',
    adminServerPort: props.getInt('zookeeper.admin.serverPort', 8080),
    adminCommandUrl: props.get('zookeeper.admin.commandURL') ?? '/commands',
    extendedTypesEnabled: props.getBoolean('zookeeper.extendedTypesEnabled'),
    superDigest: props.get('zookeeper.DigestAuthenticationProvider.superDigest') ?? null,
    skipACL: (props.get('zookeeper.skipACL') ?? 'no').trim() === 'yes',
    enforceQuota: props.getBoolean('zookeeper.enforceQuota'),
    containerCheckIntervalMs: props.getInt('znode.container.checkIntervalMs', 60000),
    containerMaxPerMinute: props.getInt('znode.container.maxPerMinute', 10000),
    containerMaxNeverUsedIntervalMs: props.getInt('znode.container.maxNeverUsedIntervalMs', 0),
    snapCount: props.getInt('zookeeper.snapCount', 100000),
    preAllocSizeKb: props.getInt('zookeeper.preAllocSize', 65536),
    forceSync: (props.get('zookeeper.forceSync') ?? 'yes').trim() !== 'no',
    fsyncWarningThresholdMs: props.getInt('zookeeper.fsync.warningthresholdms', props.getInt('fsync.warningthresholdms', 1000)),
    closeSessionTxnEnabled: props.getBoolean('zookeeper.closeSessionTxnEnabled', true),
    digestEnabled: props.getBoolean('zookeeper.digest.enabled', true),
    maxCnxns: props.getInt('zookeeper.maxCnxns', 0),
  };
}
