/**
 * The AdminServer's commands (Apache ZooKeeper's server/admin/Commands.java): every command of
 * 3.8 under its primary name and aliases, answering maps that serialize to the JSON ZooKeeper
 * 3.8.0 writes (same keys, same order; compared against the Debian 3.8.0 server).
 *
 * Response shape (CommandResponse.toMap): the command's own keys in order, then "command"
 * (the primary name) and "error" (null) unless the command set them itself. An unknown name
 * answers {"command": <name>, "error": "Unknown command: <name>"}; a command that needs a
 * running server answers the not-serving error instead of running.
 */
import { connectionInfo, resetConnectionStats } from './connection-info';
import { environmentEntries, systemProperties } from './environment';
import { javaHexLong } from './java-format';
import { jdouble, type JsonValue } from './json-output';
import type { MetricValue } from './metrics-registry';
import { monitorValues } from './monitor';
import type { OperatorState } from './operator-state';
import type { ServerContext } from './server-context';
import { clientPort, serverId, dirSizes, ephemerals, logDir, sessionBuckets, snapDir, watchSummary, watchesByConnection, watchesByPath, znodeCount } from './server-view';
import { ZK_NOT_SERVING } from './four-letter-words';

export type CommandData = Map<string, JsonValue>;

export interface AdminCommand {
  /** Primary name first, then aliases. */
  readonly names: readonly string[];
  readonly serverRequired: boolean;
  run(ctx: ServerContext, state: OperatorState, kwargs: ReadonlyMap<string, string>): CommandData | Promise<CommandData>;
}

function cmd(names: string[], serverRequired: boolean, run: AdminCommand['run']): AdminCommand {
  return { names, serverRequired, run };
}

function metricJson(v: MetricValue): JsonValue {
  return v;
}

function serverStatsMap(ctx: ServerContext): CommandData {
  const s = ctx.server.stats;
  const sizes = dirSizes(ctx);
  const cr = s.clientResponse;
  const responseStats = (): CommandData =>
    new Map<string, JsonValue>([
      ['last_buffer_size', cr.lastBufferSize],
      ['min_buffer_size', cr.minBufferSize],
      ['max_buffer_size', cr.maxBufferSize],
    ]);
  const serverStats = new Map<string, JsonValue>([
    ['packets_sent', s.packetsSent],
    ['packets_received', s.packetsReceived],
    ['fsync_threshold_exceed_count', s.fsyncThresholdExceedCount],
    ['client_response_stats', responseStats()],
    ['data_dir_size', sizes.dataDirSize],
    ['log_dir_size', sizes.logDirSize],
    ['provider_null', false],
    ['server_state', ctx.mode()],
    ['last_processed_zxid', ctx.server.lastZxid()],
    ['outstanding_requests', ctx.server.outstandingRequests()],
    ['avg_latency', jdouble(s.avgLatency())],
    ['max_latency', s.maxLatencyMs],
    ['min_latency', s.minLatency()],
    ['num_alive_client_connections', ctx.connectionCount()],
    ['auth_failed_count', s.authFailedCount],
    ['non_mtlsremote_conn_count', s.nonMtlsRemoteConnCount],
    ['non_mtlslocal_conn_count', s.nonMtlsLocalConnCount],
    ['uptime', s.uptimeMs()],
  ]);
  return new Map<string, JsonValue>([
    ['version', ctx.versionString],
    ['read_only', false],
    ['server_stats', serverStats],
    ['client_response', responseStats()],
    ['node_count', znodeCount(ctx)],
  ]);
}

function connectionList(ctx: ServerContext, brief: boolean): JsonValue[] {
  return [...ctx.connections()].map((c) => connectionInfo(c, brief));
}

export const ADMIN_COMMANDS: readonly AdminCommand[] = [
  cmd(['connection_stat_reset', 'crst'], true, (ctx) => {
    for (const c of ctx.connections()) resetConnectionStats(c);
    return new Map();
  }),
  cmd(['configuration', 'conf', 'config'], true, (ctx) => {
    const c = ctx.config;
    return new Map<string, JsonValue>([
      ['client_port', clientPort(ctx)],
      ['data_dir', snapDir(ctx)],
      ['data_log_dir', logDir(ctx)],
      ['tick_time', c.tickTimeMs],
      ['max_client_cnxns', c.maxClientCnxns],
      ['min_session_timeout', c.minSessionTimeoutMs],
      ['max_session_timeout', c.maxSessionTimeoutMs],
      ['server_id', serverId(ctx)],
      ['client_port_listen_backlog', c.clientPortListenBacklog],
    ]);
  }),
  cmd(['connections', 'cons'], true, (ctx) =>
    new Map<string, JsonValue>([
      ['connections', connectionList(ctx, false)],
      ['secure_connections', []],
    ]),
  ),
  cmd(['hash'], true, (ctx) =>
    new Map<string, JsonValue>([
      [
        'digests',
        // Jackson lists ZxidDigest's properties in field order: zxid, digest, digestVersion.
        (ctx.digestLog?.() ?? []).map(
          (d) =>
            new Map<string, JsonValue>([
              ['zxid', d.zxid],
              ['digest', d.digest],
              ['digest_version', d.digestVersion],
            ]),
        ),
      ],
    ]),
  ),
  cmd(['dirs'], true, (ctx) => {
    const s = dirSizes(ctx);
    return new Map<string, JsonValue>([
      ['datadir_size', s.dataDirSize],
      ['logdir_size', s.logDirSize],
    ]);
  }),
  cmd(['dump'], true, (ctx) => {
    const expiry = new Map<string, JsonValue>();
    for (const b of sessionBuckets(ctx)) expiry.set(String(Math.floor(b.monoMs)), b.sessionIds.map((id) => BigInt.asIntN(64, id)));
    const eph = new Map<string, JsonValue>();
    for (const [sid, paths] of ephemerals(ctx)) eph.set(BigInt.asIntN(64, sid).toString(), paths);
    return new Map<string, JsonValue>([
      ['expiry_time_to_session_ids', expiry],
      ['session_id_to_ephemeral_paths', eph],
    ]);
  }),
  cmd(['environment', 'env', 'envi'], false, (ctx) => new Map<string, JsonValue>(environmentEntries(ctx.versionString))),
  cmd(['get_trace_mask', 'gtmk'], false, (_ctx, state) => new Map<string, JsonValue>([['tracemask', state.traceMask]])),
  cmd(['initial_configuration', 'icfg'], true, (ctx) => new Map<string, JsonValue>([['initial_configuration', ctx.config.initialConfig]])),
  cmd(['is_read_only', 'isro'], true, () => new Map<string, JsonValue>([['read_only', false]])),
  cmd(['last_snapshot', 'lsnp'], true, (ctx) => {
    const info = ctx.lastSnapshot?.() ?? null;
    return new Map<string, JsonValue>([
      ['zxid', javaHexLong(info === null ? -1 : info.zxid)],
      ['timestamp', info === null ? -1 : Math.floor(info.timestampMs / 1000)],
    ]);
  }),
  cmd(['leader', 'lead'], true, () => new Map<string, JsonValue>([['error', 'server is not initialized']])),
  cmd(['monitor', 'mntr'], false, async (ctx, state) => {
    const m = new Map<string, JsonValue>();
    for (const [k, v] of await monitorValues(ctx, state)) m.set(k, metricJson(v));
    return m;
  }),
  cmd(['observer_connection_stat_reset', 'orst'], true, () => new Map()),
  cmd(['ruok'], true, () => new Map()),
  cmd(['set_trace_mask', 'stmk'], false, (_ctx, state, kwargs) => {
    const v = kwargs.get('traceMask');
    if (v === undefined) return new Map<string, JsonValue>([['error', 'setTraceMask requires long traceMask argument']]);
    // Long.parseLong: optional sign, decimal digits, within 64 bits.
    const ok = /^[+-]?\d+$/.test(v) && BigInt(v) <= 0x7fffffffffffffffn && BigInt(v) >= -0x8000000000000000n;
    if (!ok) return new Map<string, JsonValue>([['error', `setTraceMask requires long traceMask argument, got ${v}`]]);
    state.traceMask = BigInt(v);
    return new Map<string, JsonValue>([['tracemask', state.traceMask]]);
  }),
  cmd(['server_stats', 'srvr'], true, (ctx) => serverStatsMap(ctx)),
  cmd(['stats', 'stat'], true, (ctx) => {
    const m = serverStatsMap(ctx);
    m.set('connections', connectionList(ctx, true));
    m.set('secure_connections', []);
    return m;
  }),
  cmd(['stat_reset', 'srst'], true, (ctx) => {
    ctx.server.stats.reset();
    return new Map();
  }),
  cmd(['observers', 'obsr'], true, () =>
    new Map<string, JsonValue>([
      ['synced_observers', 0],
      ['observers', []],
    ]),
  ),
  cmd(['system_properties', 'sysp'], false, (ctx) => new Map<string, JsonValue>(systemProperties(ctx.config.props))),
  cmd(['voting_view'], true, () => new Map<string, JsonValue>([['current_config', new Map()]])),
  cmd(['watches', 'wchc'], true, (ctx) => {
    const m = new Map<string, JsonValue>();
    for (const [sid, paths] of watchesByConnection(ctx)) m.set(BigInt.asIntN(64, sid).toString(), paths);
    return new Map<string, JsonValue>([['session_id_to_watched_paths', m]]);
  }),
  cmd(['watches_by_path', 'wchp'], true, (ctx) => {
    const m = new Map<string, JsonValue>();
    for (const [p, sids] of watchesByPath(ctx)) m.set(p, sids.map((s) => BigInt.asIntN(64, s)));
    return new Map<string, JsonValue>([['path_to_session_ids', m]]);
  }),
  cmd(['watch_summary', 'wchs'], true, (ctx) => {
    const s = watchSummary(ctx);
    return new Map<string, JsonValue>([
      ['num_connections', s.connections],
      ['num_paths', s.paths],
      ['num_total_watches', s.total],
    ]);
  }),
  cmd(['zabstate'], false, () =>
    new Map<string, JsonValue>([
      ['voting', false],
      ['zabstate', ''],
    ]),
  ),
];

const BY_NAME = new Map<string, AdminCommand>();
for (const c of ADMIN_COMMANDS) for (const n of c.names) BY_NAME.set(n, c);

export function primaryNames(): string[] {
  return ADMIN_COMMANDS.map((c) => c.names[0]!).sort();
}

export function findCommand(name: string): AdminCommand | undefined {
  return BY_NAME.get(name);
}

/** CommandResponse.toMap: the command's keys, then "command" and "error" unless already set. */
export function responseMap(command: string, error: string | null, data: CommandData): CommandData {
  const m = new Map(data);
  if (!m.has('command')) m.set('command', command);
  if (!m.has('error')) m.set('error', error);
  return m;
}

/** Commands.runCommand. */
export async function runAdminCommand(
  ctx: ServerContext,
  state: OperatorState,
  name: string,
  kwargs: ReadonlyMap<string, string>,
): Promise<CommandData> {
  const c = findCommand(name);
  if (c === undefined) return responseMap(name, `Unknown command: ${name}`, new Map());
  const primary = c.names[0]!;
  // As in Apache ZooKeeper, this answer names the command as it was asked for, alias or not.
  if (c.serverRequired && !ctx.isServing()) return responseMap(name, ZK_NOT_SERVING, new Map());
  return responseMap(primary, null, await c.run(ctx, state, kwargs));
}
