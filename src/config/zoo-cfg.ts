/**
 * zoo.cfg: read as Java reads a properties file, validated into one typed ServerConfig with
 * Apache ZooKeeper 3.8's rules (QuorumPeerConfig.parse). Defaults, cross-checks and the system
 * properties that ZooKeeper reads are all settled here; the rest of the server reads only the
 * ServerConfig.
 *
 * Grammar (java.util.Properties):
 *   line     := comment | key sep value          comment := ("#" | "!") ...
 *   sep      := "=" | ":" | whitespace            a trailing "\" continues the line
 *   server.N := host ":" quorumPort ":" electionPort [":" ("participant" | "observer")]
 *               ("|" another address)* [";" [clientHost ":"] clientPort]
 *   group.G  := sid (":" sid)*                    weight.N := integer
 *
 * Keys QuorumPeerConfig knows are typed and checked here; every other key is accepted and
 * becomes the Java system property `zookeeper.<key>` (4lw.commands.whitelist, admin.*,
 * snapCount ...), exactly as Apache ZooKeeper does, and `unknownKeys` lists those the server
 * does not use so that startup can mention them. `dynamicConfigFile` moves the server.N,
 * group and weight lines into a second properties file. dataDir/myid holds this server's id
 * (1..255 here, since session ids carry it in their top byte).
 *
 * A bad value is a ConfigError naming the file and the key; the CLI prints it as one line and
 * exits with code 2, as ZooKeeper does for an invalid config.
 *
 * `ini` parses `key=value` lines and comments; before handing it the text we turn Java's other
 * separators (`key: value`, `key value`) into `=`, join backslash-continued lines, and escape
 * `;` and `#` inside values, which Java keeps literally (`server.1=host:2888:3888;2181` needs
 * its `;2181`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
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
  /** The first quorum and election address (more with multiAddress.enabled). */
  quorum: ServerAddress;
  election: ServerAddress;
  /** Every address of the server; one unless multiAddress is enabled. */
  addresses: { quorum: ServerAddress; election: ServerAddress }[];
  type: 'participant' | 'observer';
  client: ServerAddress | null;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export const DEFAULT_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';
export const PROMETHEUS_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
export const NULL_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.impl.NullMetricsProvider';
const KNOWN_METRICS_PROVIDERS = new Set([DEFAULT_METRICS_PROVIDER, PROMETHEUS_METRICS_PROVIDER, NULL_METRICS_PROVIDER]);

export interface ServerConfig {
  configFile: string | null;
  /** The text of the config file, for the AdminServer's initial_configuration. */
  initialConfig: string;
  dataDir: string;
  dataLogDir: string;
  clientPort: number;
  /** False when zoo.cfg has no clientPort (nor a client port on this server's server.N line). */
  clientPortSet: boolean;
  /** null: listen on every address, IPv4 and IPv6. */
  clientPortAddress: string | null;
  secureClientPort: number;
  secureClientPortAddress: string | null;
  observerMasterPort: number;
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
  /** group.N lines (hierarchical quorums): group id -> server ids. */
  groups: Map<number, number[]>;
  /** weight.N lines. */
  weights: Map<number, number>;
  /** The `version` of the dynamic configuration (hex), when known. */
  dynamicConfigVersion: string | null;
  /** The server id from dataDir/myid; 0 when there is no myid file. */
  myid: number;
  /** QuorumPeerConfig.isDistributed: more than one voter, or standaloneEnabled=false. */
  distributed: boolean;
  standaloneEnabled: boolean;
  reconfigEnabled: boolean;
  localSessionsEnabled: boolean;
  localSessionsUpgradingEnabled: boolean;
  syncEnabled: boolean;
  quorumListenOnAllIPs: boolean;
  sslQuorum: boolean;
  portUnification: boolean;
  quorumSaslEnabled: boolean;
  quorumServerRequireSasl: boolean;
  quorumLearnerRequireSasl: boolean;
  multiAddressEnabled: boolean;
  dynamicConfigFile: string | null;
  snapRetainCount: number;
  purgeIntervalHours: number;
  clientPortListenBacklog: number;
  metricsProviderClassName: string;
  metricsProvider: Record<string, string>;
  /** pino level: ZOO_LOG_LEVEL, else the zookeeper.root.logger property, else info. */
  logLevel: LogLevel;
  /** Every key of the file, in order, for `conf` and diagnostics. */
  raw: Map<string, string>;
  /** Keys that became zookeeper.<key> properties and that this server does not read. */
  unknownKeys: string[];
  /** Things Apache ZooKeeper logs a warning about but accepts. */
  warnings: string[];
  /** Java system properties in effect: JVM flags plus unknown zoo.cfg keys as zookeeper.<key>. */
  props: SystemProperties;
  // Settings Apache ZooKeeper takes as system properties, resolved once here.
  juteMaxBufferBytes: number;
  globalOutstandingLimit: number;
  fourLetterWordsWhitelist: ReadonlySet<string> | '*';
  readOnlyModeEnabled: boolean;
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
  const t = value.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new ConfigError(`${key} must be an integer, got '${value}'`, file, key);
  const n = Number.parseInt(t, 10);
  if (n > 2147483647 || n < -2147483648) throw new ConfigError(`${key} is out of range for an int: '${value}'`, file, key);
  return n;
}

/** Long.parseLong, kept as a JS number (the values it guards are small durations). */
function parseLongStrict(key: string, value: string, file: string | undefined): number {
  const t = value.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new ConfigError(`${key} must be an integer, got '${value}'`, file, key);
  const b = BigInt(t);
  if (b > 0x7fffffffffffffffn || b < -0x8000000000000000n) throw new ConfigError(`${key} is out of range for a long: '${value}'`, file, key);
  return Number(b);
}

/** QuorumPeerConfig.parseBoolean: "true" or "false", any case; anything else is an error. */
function parseBool(key: string, value: string, file: string | undefined): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`Invalid option ${value} for ${key}. Choose 'true' or 'false.'`, file, key);
}

function parsePort(key: string, portStr: string, file: string | undefined, what: string): number {
  if (!/^\d+$/.test(portStr.trim())) throw new ConfigError(`${key}: ${what} port '${portStr}' is not a number`, file, key);
  const port = Number.parseInt(portStr.trim(), 10);
  if (port < 0 || port > 65535) throw new ConfigError(`${key}: ${what} port ${port} is out of range (0..65535)`, file, key);
  return port;
}

/** ConfigUtils.getHostAndPort: splits on ':' outside [ipv6] brackets. */
function hostAndPort(s: string, file: string | undefined, key: string): string[] {
  const t = s.trim();
  if (t.startsWith('[')) {
    const end = t.indexOf(']');
    if (end < 0) throw new ConfigError(`${t} starts with '[' but has no matching ']'`, file, key);
    const host = t.substring(1, end);
    const rest = t.substring(end + 1);
    if (rest === '') return [host];
    if (!rest.startsWith(':')) throw new ConfigError(`${t} does not have : after ]`, file, key);
    return [host, ...rest.substring(1).split(':')];
  }
  return t.split(':');
}

const WRONG_FORMAT =
  ' does not have the form server_config or server_config;client_config where server_config is the pipe separated ' +
  'list of host:port:port or host:port:port:type and client_config is port or host:port';

/**
 * QuorumServer's address string: `host:port:port[:type]` (several joined by `|` with
 * multiAddress), then optionally `;[host:]clientPort`.
 */
export function parseServerLine(key: string, value: string, file?: string, multiAddressEnabled = false): QuorumServerSpec {
  const idText = key.substring('server.'.length);
  if (!/^\d+$/.test(idText)) throw new ConfigError(`${key}: the server id '${idText}' is not a number`, file, key);
  const id = Number.parseInt(idText, 10);
  const parts = value.split(';');
  if (parts.length > 2) throw new ConfigError(`${value}${WRONG_FORMAT}`, file, key);
  const [serverPart, clientPart] = parts as [string, string | undefined];
  let client: ServerAddress | null = null;
  if (clientPart !== undefined) {
    const cp = hostAndPort(clientPart, file, key);
    if (cp.length > 2) throw new ConfigError(`${value}${WRONG_FORMAT}`, file, key);
    const host = cp.length === 2 ? cp[0]! : '0.0.0.0';
    client = { host, port: parsePort(key, cp[cp.length - 1]!, file, 'client') };
  }
  const addrs = serverPart.split('|');
  if (!multiAddressEnabled && addrs.length > 1) {
    throw new ConfigError(`Multiple address feature is disabled, but multiple addresses were specified for sid ${id}`, file, key);
  }
  let type: 'participant' | 'observer' | null = null;
  const addresses: QuorumServerSpec['addresses'] = [];
  for (const a of addrs) {
    const sp = hostAndPort(a, file, key);
    if (sp.length < 3 || sp.length > 4) throw new ConfigError(`${value}${WRONG_FORMAT}`, file, key);
    const host = sp[0]!;
    const quorum = { host, port: parsePort(key, sp[1]!, file, 'quorum') };
    const election = { host, port: parsePort(key, sp[2]!, file, 'election') };
    if (quorum.port === election.port) {
      throw new ConfigError(`Client and election port must be different! Please update the configuration file on server.${id}`, file, key);
    }
    if (sp.length === 4) {
      const t = sp[3]!.toLowerCase();
      if (t !== 'observer' && t !== 'participant') throw new ConfigError(`Unrecognised peertype: ${sp[3]}`, file, key);
      if (type !== null && type !== t) throw new ConfigError(`Multiple addresses should have similar roles: ${type} vs ${t}`, file, key);
      type = t;
    }
    addresses.push({ quorum, election });
  }
  return { id, quorum: addresses[0]!.quorum, election: addresses[0]!.election, addresses, type: type ?? 'participant', client };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Reads myid; by default from dataDir/myid (null when the file does not exist). */
  readMyid?: (dataDir: string) => string | null;
  /** Reads the dynamic config file; by default from disk. */
  readFile?: (file: string) => string;
}

export function loadConfigFile(file: string, opts: LoadOptions = {}): ServerConfig {
  let text: string;
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(err.code === 'ENOENT' ? 'file is missing' : `cannot read config file: ${err.message}`, file);
  }
  return buildConfig(parseProperties(text), file, { ...opts, initialConfig: text });
}

/** System properties this server reads (besides the keys QuorumPeerConfig knows). */
const USED_PROPERTIES = new Set([
  '4lw.commands.whitelist',
  'admin.enableServer',
  'admin.serverAddress',
  'admin.serverPort',
  'admin.commandURL',
  'admin.idleTimeout',
  'jute.maxbuffer',
  'globalOutstandingLimit',
  'extendedTypesEnabled',
  'DigestAuthenticationProvider.superDigest',
  'skipACL',
  'enforceQuota',
  'snapCount',
  'preAllocSize',
  'forceSync',
  'fsync.warningthresholdms',
  'closeSessionTxn.enabled',
  'digest.enabled',
  'maxCnxns',
  'root.logger',
]);

const LOG_LEVELS: Record<string, LogLevel> = {
  ALL: 'trace',
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
  FATAL: 'fatal',
  OFF: 'silent',
};

/** A log4j level ("INFO" or "INFO,CONSOLE") or a pino level name, as a pino level. */
export function parseLogLevel(value: string): LogLevel | null {
  const word = value.split(',')[0]!.trim().toUpperCase();
  if (word === 'SILENT') return 'silent';
  return LOG_LEVELS[word] ?? null;
}

function defaultReadMyid(dir: string): string | null {
  const f = path.join(dir, 'myid');
  if (!existsSync(f)) return null;
  try {
    if (!statSync(f).isFile()) return null;
  } catch {
    return null;
  }
  return readFileSync(f, 'utf8');
}

interface QuorumLines {
  servers: QuorumServerSpec[];
  groups: Map<number, number[]>;
  weights: Map<number, number>;
  version: string | null;
}

/** QuorumMaj / QuorumHierarchical from server.N, group.G, weight.N and version keys. */
function parseQuorumLines(
  props: Map<string, string>,
  file: string | undefined,
  multiAddressEnabled: boolean,
  dynamicFile: boolean,
): QuorumLines {
  const servers: QuorumServerSpec[] = [];
  const groups = new Map<number, number[]>();
  const weights = new Map<number, number>();
  let version: string | null = null;
  for (const [key, value] of props) {
    if (key.startsWith('server.')) {
      servers.push(parseServerLine(key, value, file, multiAddressEnabled));
    } else if (key.startsWith('group')) {
      const g = key.substring(key.indexOf('.') + 1);
      if (!/^\d+$/.test(g)) throw new ConfigError(`${key}: the group id '${g}' is not a number`, file, key);
      const ids = value.split(':').map((s) => {
        if (!/^\s*\d+\s*$/.test(s)) throw new ConfigError(`${key}: '${s}' is not a server id`, file, key);
        return Number.parseInt(s, 10);
      });
      groups.set(Number.parseInt(g, 10), ids);
    } else if (key.startsWith('weight')) {
      const sid = key.substring(key.indexOf('.') + 1);
      if (!/^\d+$/.test(sid)) throw new ConfigError(`${key}: the server id '${sid}' is not a number`, file, key);
      weights.set(Number.parseInt(sid, 10), parseLongStrict(key, value, file));
    } else if (key === 'version') {
      version = value.trim();
    } else if (dynamicFile) {
      throw new ConfigError(`Unrecognised parameter: ${key}`, file, key);
    }
  }
  const ids = new Set<number>();
  for (const s of servers) {
    if (ids.has(s.id)) throw new ConfigError(`duplicate server.${s.id}`, file, `server.${s.id}`);
    ids.add(s.id);
  }
  servers.sort((a, b) => a.id - b.id);
  return { servers, groups, weights, version };
}

/** QuorumPeerConfig.getVersionFromFilename: the hex after the last '.' of zoo.cfg.dynamic.<version>. */
function versionFromFilename(f: string): string | null {
  const i = f.lastIndexOf('.');
  if (i < 0) return null;
  const v = f.substring(i + 1);
  return /^[0-9a-fA-F]+$/.test(v) ? v : null;
}

export function buildConfig(
  raw: Map<string, string>,
  file: string | null,
  opts: LoadOptions & { initialConfig?: string } = {},
): ServerConfig {
  const f = file ?? undefined;
  const env = opts.env ?? process.env;
  const props = SystemProperties.fromEnv(env);
  let dataDir: string | null = null;
  let dataLogDir: string | null = null;
  let clientPort = 0;
  let clientPortSet = false;
  let clientPortAddress: string | null = null;
  let secureClientPort = 0;
  let secureClientPortAddress: string | null = null;
  let observerMasterPort = 0;
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
  let localSessionsUpgradingEnabled = false;
  let syncEnabled = true;
  let quorumListenOnAllIPs = false;
  let sslQuorum = false;
  let portUnification = false;
  let quorumSaslEnabled = false;
  let quorumServerRequireSasl = false;
  let quorumLearnerRequireSasl = false;
  let multiAddressEnabled = (props.get('zookeeper.multiAddress.enabled') ?? 'false').toLowerCase() === 'true';
  let dynamicConfigFile: string | null = null;
  let snapRetainCount = 3;
  let purgeIntervalHours = 0;
  let clientPortListenBacklog = -1;
  let metricsProviderClassName = DEFAULT_METRICS_PROVIDER;
  const metricsProvider: Record<string, string> = {};
  const unknownKeys: string[] = [];
  const warnings: string[] = [];
  const int = (k: string, v: string): number => parseIntStrict(k, v, f);
  const bool = (k: string, v: string): boolean => parseBool(k, v, f);
  // Relative directories are taken from the working directory, as Java's File does.
  const resolveDir = (v: string): string => path.resolve(process.cwd(), v);
  const hasDynamicFile = raw.has('dynamicConfigFile');

  for (const [key, value] of raw) {
    switch (key) {
      case 'dataDir':
        dataDir = resolveDir(value);
        break;
      case 'dataLogDir':
        dataLogDir = resolveDir(value);
        break;
      case 'clientPort':
        clientPort = parsePort(key, value, f, 'client');
        clientPortSet = true;
        break;
      case 'clientPortAddress':
        clientPortAddress = value.trim();
        break;
      case 'secureClientPort':
        secureClientPort = parsePort(key, value, f, 'secure client');
        break;
      case 'secureClientPortAddress':
        secureClientPortAddress = value.trim();
        break;
      case 'observerMasterPort':
        observerMasterPort = int(key, value);
        break;
      case 'clientPortListenBacklog':
        clientPortListenBacklog = int(key, value);
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
        localSessionsUpgradingEnabled = bool(key, value);
        break;
      case 'syncEnabled':
        syncEnabled = bool(key, value);
        break;
      case 'quorumListenOnAllIPs':
        quorumListenOnAllIPs = bool(key, value);
        break;
      case 'sslQuorum':
        sslQuorum = bool(key, value);
        break;
      case 'portUnification':
        portUnification = bool(key, value);
        break;
      case 'sslQuorumReloadCertFiles':
      case 'multiAddress.reachabilityCheckEnabled':
      case 'jvm.pause.monitor':
        bool(key, value);
        break;
      case 'multiAddress.enabled':
        multiAddressEnabled = bool(key, value) || multiAddressEnabled;
        break;
      case 'quorum.auth.enableSasl':
        quorumSaslEnabled = bool(key, value);
        break;
      case 'quorum.auth.serverRequireSasl':
        quorumServerRequireSasl = bool(key, value);
        break;
      case 'quorum.auth.learnerRequireSasl':
        quorumLearnerRequireSasl = bool(key, value);
        break;
      case 'quorum.auth.learner.saslLoginContext':
      case 'quorum.auth.server.saslLoginContext':
      case 'quorum.auth.kerberos.servicePrincipal':
      case 'oraclePath':
        break;
      case 'quorum.cnxn.threads.size':
      case 'multiAddress.reachabilityCheckTimeoutMs':
        int(key, value);
        break;
      case 'jvm.pause.info-threshold.ms':
      case 'jvm.pause.warn-threshold.ms':
      case 'jvm.pause.sleep.time.ms':
        parseLongStrict(key, value, f);
        break;
      case 'dynamicConfigFile':
        dynamicConfigFile = value.trim();
        break;
      case 'autopurge.snapRetainCount':
        snapRetainCount = int(key, value);
        break;
      case 'autopurge.purgeInterval':
        purgeIntervalHours = int(key, value);
        break;
      case 'metricsProvider.className':
        metricsProviderClassName = value.trim();
        break;
      default:
        if ((key.startsWith('server.') || key.startsWith('group') || key.startsWith('weight')) && hasDynamicFile) {
          throw new ConfigError(`parameter: ${key} must be in a separate dynamic config file`, f, key);
        } else if (key.startsWith('metricsProvider.')) {
          metricsProvider[key.substring('metricsProvider.'.length)] = value;
        } else {
          // As in QuorumPeerConfig: any other key becomes the system property zookeeper.<key>
          // (server.N lines too, which are then read again below).
          props.set(`zookeeper.${key}`, value);
          const quorumKey = key.startsWith('server.') || key.startsWith('group') || key.startsWith('weight') || key === 'version';
          if (!quorumKey && !USED_PROPERTIES.has(key)) unknownKeys.push(key);
        }
    }
  }

  if (!quorumSaslEnabled && quorumServerRequireSasl) {
    throw new ConfigError('quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl', f, 'quorum.auth.serverRequireSasl');
  }
  if (!quorumSaslEnabled && quorumLearnerRequireSasl) {
    throw new ConfigError('quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl', f, 'quorum.auth.learnerRequireSasl');
  }
  if (!quorumLearnerRequireSasl && quorumServerRequireSasl) {
    throw new ConfigError('quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl', f, 'quorum.auth.serverRequireSasl');
  }
  if (snapRetainCount < 3) {
    warnings.push(`Invalid autopurge.snapRetainCount: ${snapRetainCount}. Defaulting to 3`);
    snapRetainCount = 3;
  }
  if (dataDir === null) throw new ConfigError('dataDir is not set', f, 'dataDir');
  if (dataLogDir === null) dataLogDir = dataDir;
  if (!clientPortSet && clientPortAddress !== null) {
    throw new ConfigError('clientPortAddress is set but clientPort is not set', f, 'clientPortAddress');
  }
  if (secureClientPort === 0 && secureClientPortAddress !== null) {
    throw new ConfigError('secureClientPortAddress is set but secureClientPort is not set', f, 'secureClientPortAddress');
  }
  if (tickTimeMs === 0) throw new ConfigError('tickTime is not set', f, 'tickTime');
  if (tickTimeMs < 0) throw new ConfigError(`tickTime must be positive, got ${tickTimeMs}`, f, 'tickTime');
  minSessionTimeoutMs = minSessionTimeoutMs === -1 ? tickTimeMs * 2 : minSessionTimeoutMs;
  maxSessionTimeoutMs = maxSessionTimeoutMs === -1 ? tickTimeMs * 20 : maxSessionTimeoutMs;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError('minSessionTimeout must not be larger than maxSessionTimeout', f, 'minSessionTimeout');
  }
  if (!KNOWN_METRICS_PROVIDERS.has(metricsProviderClassName)) {
    throw new ConfigError(`metrics provider class was not found: ${metricsProviderClassName}`, f, 'metricsProvider.className');
  }
  if (metricsProviderClassName === PROMETHEUS_METRICS_PROVIDER) {
    const port = metricsProvider['httpPort'];
    if (port !== undefined) parsePort('metricsProvider.httpPort', port, f, 'metrics');
    const jvm = metricsProvider['exportJvmInfo'];
    if (jvm !== undefined && !/^(true|false)$/i.test(jvm.trim())) bool('metricsProvider.exportJvmInfo', jvm);
  }

  // The quorum: from the dynamic file when there is one, else from this file's server.N lines.
  let quorum: QuorumLines;
  let quorumFile = f;
  if (dynamicConfigFile !== null) {
    const dyn = dynamicConfigFile;
    quorumFile = dyn;
    let text: string;
    try {
      text = (opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(dyn);
    } catch (e) {
      throw new ConfigError(`cannot read dynamicConfigFile ${dyn}: ${(e as Error).message}`, f, 'dynamicConfigFile');
    }
    const dynProps = parseProperties(text);
    if (dynProps.has('version')) throw new ConfigError("dynamic file shouldn't have version inside", dyn, 'version');
    const v = versionFromFilename(dyn);
    if (v !== null) dynProps.set('version', v);
    quorum = parseQuorumLines(dynProps, dyn, multiAddressEnabled, true);
  } else {
    quorum = parseQuorumLines(raw, f, multiAddressEnabled, false);
  }
  const { servers } = quorum;
  const voters = servers.filter((s) => s.type === 'participant');
  const observers = servers.filter((s) => s.type === 'observer');
  if (voters.length === 0) {
    if (!standaloneEnabled) {
      throw new ConfigError('standaloneEnabled = false then number of participants should be >0', quorumFile, 'standaloneEnabled');
    }
    if (observers.length > 0) throw new ConfigError('Observers w/o participants is an invalid configuration', quorumFile, `server.${observers[0]!.id}`);
  } else if (voters.length === 1 && standaloneEnabled) {
    warnings.push('Invalid configuration, only one server specified (ignoring)');
    if (observers.length > 0) throw new ConfigError('Observers w/o quorum is an invalid configuration', quorumFile, `server.${observers[0]!.id}`);
  } else if (voters.length <= 2) {
    warnings.push('No server failure will be tolerated. You need at least 3 servers.');
  } else if (voters.length % 2 === 0) {
    warnings.push('Non-optimal configuration, consider an odd number of servers.');
  }
  const distributed = servers.length > 0 && (!standaloneEnabled || voters.length > 1);

  // dataDir/myid: read whenever it exists (a malformed one fails even a standalone server, as
  // in Apache ZooKeeper); required, in 1..255 and listed, when the quorum is distributed.
  const myidFile = path.join(dataDir, 'myid');
  const myidText = (opts.readMyid ?? defaultReadMyid)(dataDir);
  let myid = 0;
  if (myidText !== null) {
    const first = myidText.split(/\r?\n/)[0]!.trim();
    if (!/^\d+$/.test(first)) throw new ConfigError(`serverid ${first} is not a number (in ${myidFile})`, f, 'dataDir');
    myid = Number.parseInt(first, 10);
  }
  if (distributed) {
    if (initLimit === 0) throw new ConfigError('initLimit is not set', f, 'initLimit');
    if (syncLimit === 0) throw new ConfigError('syncLimit is not set', f, 'syncLimit');
    if (myidText === null) throw new ConfigError(`myid file is missing (expected ${myidFile} holding this server's id)`, f, 'dataDir');
    if (myid < 1 || myid > 255) throw new ConfigError(`serverid ${myid} in ${myidFile} must be between 1 and 255`, f, 'dataDir');
    if (!servers.some((s) => s.id === myid)) {
      throw new ConfigError(`serverid ${myid} (from ${myidFile}) has no server.${myid} line`, quorumFile, `server.${myid}`);
    }
  }

  // QuorumPeerConfig.setupClientPort: this server's `;clientPort` part gives the client port.
  const me = myidText !== null ? servers.find((s) => s.id === myid) : undefined;
  if (me !== undefined && me.client !== null) {
    const c = me.client;
    if (clientPortSet) {
      const wildcard = clientPortAddress === null || clientPortAddress === '0.0.0.0' || clientPortAddress === '::';
      const mismatch = wildcard ? clientPort !== c.port : clientPortAddress !== c.host || clientPort !== c.port;
      if (mismatch) {
        throw new ConfigError(
          `client address for this server (id = ${myid}) in static config file is ${clientPortAddress ?? '0.0.0.0'}:${clientPort} ` +
            `is different from client address found in dynamic file: ${c.host}:${c.port}`,
          f,
          'clientPort',
        );
      }
    }
    clientPort = c.port;
    clientPortSet = true;
    clientPortAddress = c.host === '0.0.0.0' ? clientPortAddress : c.host;
  }
  // QuorumPeerConfig.setupPeerType: the server list wins over peerType.
  if (me !== undefined && me.type !== peerType) {
    warnings.push(`Peer type from servers list (${me.type}) doesn't match peerType (${peerType}). Defaulting to servers list.`);
    peerType = me.type;
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

  const adminPortText = props.get('zookeeper.admin.serverPort');
  const adminServerPort = adminPortText === undefined ? 8080 : parsePort('admin.serverPort', adminPortText, f, 'admin server');

  let logLevel: LogLevel = 'info';
  const envLevel = env['ZOO_LOG_LEVEL'];
  const propLevel = props.get('zookeeper.root.logger');
  if (envLevel !== undefined && envLevel.trim() !== '') {
    const l = parseLogLevel(envLevel);
    if (l === null) throw new ConfigError(`ZOO_LOG_LEVEL '${envLevel}' is not a log level (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF)`, f, 'ZOO_LOG_LEVEL');
    logLevel = l;
  } else if (propLevel !== undefined) {
    const l = parseLogLevel(propLevel);
    if (l === null) throw new ConfigError(`zookeeper.root.logger '${propLevel}' does not start with a log level`, f, 'root.logger');
    logLevel = l;
  }

  return {
    configFile: file,
    initialConfig: opts.initialConfig ?? [...raw].map(([k, v]) => `${k}=${v}`).join('\n'),
    dataDir,
    dataLogDir,
    clientPort,
    clientPortSet,
    clientPortAddress,
    secureClientPort,
    secureClientPortAddress,
    observerMasterPort,
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
    groups: quorum.groups,
    weights: quorum.weights,
    dynamicConfigVersion: quorum.version,
    myid,
    distributed,
    standaloneEnabled,
    reconfigEnabled,
    localSessionsEnabled,
    localSessionsUpgradingEnabled,
    syncEnabled,
    quorumListenOnAllIPs,
    sslQuorum,
    portUnification,
    quorumSaslEnabled,
    quorumServerRequireSasl,
    quorumLearnerRequireSasl,
    multiAddressEnabled,
    dynamicConfigFile,
    snapRetainCount,
    purgeIntervalHours,
    clientPortListenBacklog,
    metricsProviderClassName,
    metricsProvider,
    logLevel,
    raw,
    unknownKeys,
    warnings,
    props,
    juteMaxBufferBytes,
    globalOutstandingLimit: props.getInt('zookeeper.globalOutstandingLimit', 1000),
    fourLetterWordsWhitelist,
    readOnlyModeEnabled: props.get('readonlymode.enabled') === 'true',
    adminEnableServer: props.get('zookeeper.admin.enableServer') !== 'false',
    adminServerAddress: props.get('zookeeper.admin.serverAddress') ?? '0.0.0.0',
    adminServerPort,
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
    closeSessionTxnEnabled: props.getBoolean('zookeeper.closeSessionTxn.enabled', true),
    digestEnabled: props.getBoolean('zookeeper.digest.enabled', true),
    maxCnxns: props.getInt('zookeeper.maxCnxns', 0),
  };
}
