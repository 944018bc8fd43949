/**
 * Four-letter words on the client port (Apache ZooKeeper's server/command/*), with 3.8's exact
 * output formats. A word arrives as the first 4 bytes of a connection, read as the frame length;
 * the answer is written and the connection closed. `4lw.commands.whitelist` decides which run.
 */
import type { FourLetterWordHandler, TcpConnection } from '../server/tcp-connection';
import type { ServerContext } from './server-context';

export const FOUR_LETTER_WORDS = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk', 'srst', 'srvr', 'stat',
  'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash',
] as const;

const BY_INT = new Map<number, string>();
for (const w of FOUR_LETTER_WORDS) BY_INT.set(Buffer.from(w, 'ascii').readInt32BE(0), w);
/** Telnet's interrupt-process sequence (IAC IP IAC DO): Apache ZooKeeper treats it as a word. */
const TELNET_CLOSE = 0xfff4fffd | 0;
BY_INT.set(TELNET_CLOSE, 'telnet close');

/** Java's Double.toString for the plain cases our statistics produce. */
export function javaDouble(x: number): string {
  if (Number.isInteger(x)) return x.toFixed(1);
  return String(x);
}

export type FourLetterWordCommand = (ctx: ServerContext, cnxn: TcpConnection) => string;

function statLike(ctx: ServerContext, withClients: boolean): string {
  if (!ctx.isServing()) return 'This ZooKeeper instance is not currently serving requests\n';
  const s = ctx.server.stats;
  let out = `Zookeeper version: ${ctx.versionString}\n`;
  if (withClients) {
    out += 'Clients:\n';
    for (const c of ctx.connections()) out += `${ctx.describeConnection(c, true)}\n`;
    out += '\n';
  }
  out += `Latency min/avg/max: ${s.minLatency()}/${javaDouble(s.avgLatency())}/${s.maxLatencyMs}\n`;
  out += `Received: ${s.packetsReceived}\n`;
  out += `Sent: ${s.packetsSent}\n`;
  out += `Connections: ${ctx.connectionCount()}\n`;
  out += `Outstanding: ${ctx.server.outstandingRequests()}\n`;
  out += `Zxid: 0x${ctx.server.lastZxid().toString(16)}\n`;
  out += `Mode: ${ctx.mode()}\n`;
  out += `Node count: ${ctx.server.tree.nodeCount()}\n`;
  return out;
}

export const COMMANDS: ReadonlyMap<string, FourLetterWordCommand> = new Map<string, FourLetterWordCommand>([
  ['ruok', () => 'imok'],
  ['isro', (ctx) => (ctx.isServing() ? 'rw' : 'null')],
  ['srvr', (ctx) => statLike(ctx, false)],
  ['stat', (ctx) => statLike(ctx, true)],
]);

export class FourLetterWords implements FourLetterWordHandler {
  constructor(private readonly ctx: ServerContext) {}

  wordFor(len: number): string | null {
    return BY_INT.get(len) ?? null;
  }

  isEnabled(word: string): boolean {
    const wl = this.ctx.config.fourLetterWordsWhitelist;
    return wl === '*' || wl.has(word);
  }

  run(word: string, cnxn: TcpConnection): string {
    if (word === 'telnet close') return '';
    if (!this.isEnabled(word)) return `${word} is not executed because it is not in the whitelist.\n`;
    this.ctx.logger.info({ word, client: `${cnxn.remoteAddress}:${cnxn.remotePort}` }, `Processing ${word} command`);
    const cmd = COMMANDS.get(word);
    if (cmd === undefined) return `${word} is not executed because it is not in the whitelist.\n`;
    return cmd(this.ctx, cnxn);
  }
}
