/**
 * Four-letter words on the client port (Apache ZooKeeper's server/command/*), with 3.8's exact
 * output formats. A word arrives as the first 4 bytes of a connection, read as the frame length;
 * the answer is written and the connection closed.
 *
 * Whitelist (`4lw.commands.whitelist`, FourLetterCommands.isEnabled): a comma-separated list,
 * `*` for every word; `srvr` is always enabled (zkServer.sh status needs it), `isro` too when
 * `readonlymode.enabled=true`. A word that is not enabled answers
 * "<word> is not executed because it is not in the whitelist.\n".
 *
 * Telnet's interrupt sequence (IAC IP IAC DO, 0xfff4fffd) is a known word, "telnet close": when
 * enabled (only by `*`) the connection closes without an answer, otherwise it gets the refusal.
 *
 * Outputs (N: newline):
 *   ruok  "imok"                    isro  "rw" | "ro" | "null"
 *   gtmk  <trace mask, decimal>     stmk  <new mask>   (the mask is the next 8 bytes, a long)
 *   srvr  version, latency, counters, mode, node count    stat  srvr plus the clients
 *   conf  key=value per line        envi  "Environment:" N key=value per line
 *   cons  one line per connection N, then N          crst/srst  "... stats reset." N
 *   dirs  "datadir_size: n" N "logdir_size: n" N     mntr  "zk_<key>" TAB value N per metric
 *   dump  sessions by expiry, ephemerals, connections by expiry
 *   wchs  "<c> connections watching <p> paths" N "Total watches:<t>" N
 *   wchc  0x<session> N (TAB path N)* per connection, then N
 *   wchp  path N (TAB 0x<session> N)* per path, then N
 *   hash  "<hex zxid>: <digest>" N per recorded digest
 * A word that needs a running server answers
 * "This ZooKeeper instance is not currently serving requests" N (`hash` without the N).
 */
import type { TcpConnection } from '../server/tcp-connection';
import type { ClientConnection } from '../server/client-connection';
import { connectionBuckets, dirSizes, clientPort, ephemerals, logDir, monoToWallMs, serverId, sessionBuckets, snapDir, watchSummary, watchesByConnection, watchesByPath, znodeCount } from './server-view';
import { dumpConnectionInfo, javaSocketAddress, resetConnectionStats } from './connection-info';
import { environmentEntries } from './environment';
import { javaDate, javaDouble, javaHexLong } from './java-format';
import { JDouble } from './json-output';
import { monitorValues } from './monitor';
import type { MetricValue } from './metrics-registry';
import { OperatorState } from './operator-state';
import type { ServerContext } from './server-context';

export const FOUR_LETTER_WORDS = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srst', 'srvr', 'stat',
  'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash',
] as const;

export const TELNET_CLOSE = 'telnet close';

const BY_INT = new Map<number, string>();
for (const w of FOUR_LETTER_WORDS) BY_INT.set(Buffer.from(w, 'ascii').readInt32BE(0), w);
BY_INT.set(0xfff4fffd | 0, TELNET_CLOSE);

export const ZK_NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

export { javaDouble };

/** Whether a word runs, by FourLetterCommands.isEnabled. */
export function isWordEnabled(whitelist: ReadonlySet<string> | '*', word: string, readOnlyModeEnabled: boolean): boolean {
  if (whitelist === '*') return true;
  if (word === 'srvr') return true;
  if (word === 'isro' && readOnlyModeEnabled) return true;
  return whitelist.has(word);
}

/** A connection as the words see it: the TCP shell, or anything with the same fields. */
export type CommandConnection = ClientConnection | TcpConnection;

interface RunContext {
  ctx: ServerContext;
  state: OperatorState;
  cnxn: CommandConnection;
  /** Bytes that followed the word (stmk's mask). */
  rest: Buffer;
}

type Command = (r: RunContext) => string | Promise<string>;

/** ServerStats.toString plus the node count, shared by srvr and stat. */
function serverStatsText(ctx: ServerContext): string {
  const s = ctx.server.stats;
  let out = `Latency min/avg/max: ${s.minLatency()}/${javaDouble(s.avgLatency())}/${s.maxLatencyMs}\n`;
  out += `Received: ${s.packetsReceived}\n`;
  out += `Sent: ${s.packetsSent}\n`;
  out += `Connections: ${ctx.connectionCount()}\n`;
  out += `Outstanding: ${ctx.server.outstandingRequests()}\n`;
  out += `Zxid: 0x${javaHexLong(ctx.server.lastZxid())}\n`;
  out += `Mode: ${ctx.mode()}\n`;
  out += `Node count: ${znodeCount(ctx)}\n`;
  return out;
}

function statCommand(withClients: boolean): Command {
  return ({ ctx }) => {
    if (!ctx.isServing()) return `${ZK_NOT_SERVING}\n`;
    let out = `Zookeeper version: ${ctx.versionString}\n`;
    if (withClients) {
      out += 'Clients:\n';
      for (const c of ctx.connections()) out += `${dumpConnectionInfo(c, true)}\n`;
      out += '\n';
    }
    return out + serverStatsText(ctx);
  };
}

/** MonitorCommand.print: integers as longs, other numbers as Java doubles. */
export function monitorValueText(v: MetricValue | null): string {
  if (v === null) return 'null';
  if (v instanceof JDouble) return javaDouble(v.value);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : javaDouble(v);
  return v;
}

function notServing(ctx: ServerContext): string | null {
  return ctx.isServing() ? null : `${ZK_NOT_SERVING}\n`;
}

export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ['ruok', () => 'imok'],
  ['isro', ({ ctx }) => (ctx.isServing() ? 'rw' : 'null')],
  ['srvr', statCommand(false)],
  ['stat', statCommand(true)],
  ['gtmk', ({ state }) => state.traceMask.toString()],
  [
    'stmk',
    ({ state, rest }) => {
      // The mask is a big-endian long right after the word; Java reads it from the same packet.
      if (rest.length < 8) throw new Error('stmk: the 8-byte trace mask did not arrive with the command');
      state.traceMask = rest.readBigInt64BE(0);
      return state.traceMask.toString();
    },
  ],
  [
    'conf',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      const c = ctx.config;
      const sizes = dirSizes(ctx);
      return [
        `clientPort=${clientPort(ctx)}`,
        `secureClientPort=-1`,
        `dataDir=${snapDir(ctx)}`,
        `dataDirSize=${sizes.dataDirSize}`,
        `dataLogDir=${logDir(ctx)}`,
        `dataLogSize=${sizes.logDirSize}`,
        `tickTime=${c.tickTimeMs}`,
        `maxClientCnxns=${c.maxClientCnxns}`,
        `minSessionTimeout=${c.minSessionTimeoutMs}`,
        `maxSessionTimeout=${c.maxSessionTimeoutMs}`,
        `clientPortListenBacklog=${c.clientPortListenBacklog}`,
        `serverId=${serverId(ctx)}`,
        '',
      ].join('\n');
    },
  ],
  [
    'cons',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      let out = '';
      for (const c of ctx.connections()) out += `${dumpConnectionInfo(c, false)}\n`;
      return out + '\n';
    },
  ],
  [
    'crst',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      for (const c of ctx.connections()) resetConnectionStats(c);
      return 'Connection stats reset.\n';
    },
  ],
  [
    'srst',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      ctx.server.stats.reset();
      return 'Server stats reset.\n';
    },
  ],
  [
    'dirs',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      const s = dirSizes(ctx);
      return `datadir_size: ${s.dataDirSize}\nlogdir_size: ${s.logDirSize}\n`;
    },
  ],
  [
    'envi',
    ({ ctx }) => {
      let out = 'Environment:\n';
      for (const [k, v] of environmentEntries(ctx.versionString)) out += `${k}=${v}\n`;
      return out;
    },
  ],
  [
    'dump',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      const buckets = sessionBuckets(ctx);
      let out = 'SessionTracker dump:\n';
      out += `Session Sets (${buckets.length})/(${ctx.server.sessions.count()}):\n`;
      for (const b of buckets) {
        out += `${b.sessionIds.length} expire at ${javaDate(monoToWallMs(ctx, b.monoMs))}:\n`;
        for (const id of b.sessionIds) out += `\t0x${javaHexLong(id)}\n`;
      }
      const eph = ephemerals(ctx);
      out += 'ephemeral nodes dump:\n';
      out += `Sessions with Ephemerals (${eph.length}):\n`;
      for (const [sid, paths] of eph) {
        out += `0x${javaHexLong(sid)}:\n`;
        for (const p of paths) out += `\t${p}\n`;
      }
      const cb = connectionBuckets(ctx);
      out += 'Connections dump:\n';
      out += `Connections Sets (${cb.length})/(${cb.reduce((n, b) => n + b.connections.length, 0)}):\n`;
      for (const b of cb) {
        out += `${b.connections.length} expire at ${javaDate(monoToWallMs(ctx, b.monoMs))}:\n`;
        for (const c of b.connections) out += `\tip: ${javaSocketAddress(c)} sessionId: 0x${javaHexLong(c.sessionId)}\n`;
      }
      return out;
    },
  ],
  [
    'wchs',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      const s = watchSummary(ctx);
      return `${s.connections} connections watching ${s.paths} paths\nTotal watches:${s.total}\n`;
    },
  ],
  [
    'wchc',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      let out = '';
      for (const [sid, paths] of watchesByConnection(ctx)) {
        out += `0x${javaHexLong(sid)}\n`;
        for (const p of paths) out += `\t${p}\n`;
      }
      return out + '\n';
    },
  ],
  [
    'wchp',
    ({ ctx }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      let out = '';
      for (const [p, sids] of watchesByPath(ctx)) {
        out += `${p}\n`;
        for (const sid of sids) out += `\t0x${javaHexLong(sid)}\n`;
      }
      return out + '\n';
    },
  ],
  [
    'mntr',
    async ({ ctx, state }) => {
      const ns = notServing(ctx);
      if (ns !== null) return ns;
      let out = '';
      for (const [k, v] of await monitorValues(ctx, state)) out += `zk_${k}\t${monitorValueText(v)}\n`;
      return out;
    },
  ],
  [
    'hash',
    ({ ctx }) => {
      if (!ctx.isServing()) return ZK_NOT_SERVING;
      let out = '';
      for (const d of ctx.digestLog?.() ?? []) out += `${javaHexLong(d.zxid)}: ${d.digest}\n`;
      return out;
    },
  ],
]);

/**
 * Java writes a word's answer through a BufferedWriter (8192 characters) into a writer that
 * sends whatever it is handed; each send counts as one packet sent.
 */
const FLUSH_CHARS = 8192;

export class FourLetterWords {
  readonly state: OperatorState;

  constructor(
    private readonly ctx: ServerContext,
    state?: OperatorState,
  ) {
    this.state = state ?? new OperatorState((sink) => ctx.server.stats.metrics.dump(sink));
  }

  wordFor(len: number): string | null {
    return BY_INT.get(len) ?? null;
  }

  isEnabled(word: string): boolean {
    return isWordEnabled(this.ctx.config.fourLetterWordsWhitelist, word, this.ctx.config.props.get('readonlymode.enabled') === 'true');
  }

  /**
   * Produces the whole answer; the caller writes it and closes the connection. An empty string
   * from "telnet close" means: close without writing.
   */
  async run(word: string, cnxn: CommandConnection, rest: Buffer = Buffer.alloc(0)): Promise<string> {
    const ctx = this.ctx;
    // NIOServerCnxn.packetReceived(4): the word counts as a packet received, here and server-wide.
    cnxn.stats.packetsReceived++;
    ctx.server.stats.packetsReceived++;
    ctx.server.stats.metrics.counter('bytes_received_count').add(4);
    let out: string;
    if (!this.isEnabled(word)) {
      ctx.logger.debug({ word }, `Command ${word} is not executed because it is not in the whitelist.`);
      out = `${word} is not executed because it is not in the whitelist.\n`;
    } else {
      const cmd = COMMANDS.get(word);
      if (cmd === undefined) return '';
      ctx.logger.info({ word, client: `${cnxn.remoteAddress}:${cnxn.remotePort}` }, `Processing ${word} command from ${cnxn.remoteAddress}:${cnxn.remotePort}`);
      out = await cmd({ ctx, state: this.state, cnxn, rest });
    }
    const flushes = out.length === 0 ? 0 : Math.ceil(out.length / FLUSH_CHARS);
    cnxn.stats.packetsSent += flushes;
    ctx.server.stats.packetsSent += flushes;
    return out;
  }
}
