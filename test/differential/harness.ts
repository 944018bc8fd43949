/**
 * The differential harness: runs one scripted scenario against Apache ZooKeeper 3.8 and against
 * our server, each freshly started with the same zoo.cfg lines and the same Java system
 * properties, and compares the two transcripts line by line.
 *
 * A transcript holds, in order: every operation's outcome (error code, reply zxid, decoded and
 * normalized body), every handshake answer, and at the end the complete ordered log of frames
 * each connection received (replies, watch notifications, the close), so the interleaving of
 * events and replies is compared too.
 *
 * Normalization keeps only what legitimately differs between two runs: wall-clock times become
 * <T>, session ids become the name of the scenario's client that owns them (S:name), passwords
 * become their length. zxids, versions, children order and data are compared as they are: for the
 * same history on a fresh server they must match.
 *
 * The reference server is launched here rather than through ref-zk.sh because the scenarios need
 * Java system properties (-D flags), which ref-zk.sh cannot pass. Our server gets the same
 * properties through JVMFLAGS, which it reads the way zkServer.sh passes them to java.
 *
 * Writing a scenario: DIFF_DUMP=1 prints Apache ZooKeeper's transcript of each passing test,
 * DIFF_TRACE=1 prints every step as it is sent, with a timestamp, on both servers.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { JuteReader, JuteWriter } from '../../src/jute/codec';
import * as R from '../../src/jute/records';
import type { AclValue, StatValue } from '../../src/jute/records';
import type { RecordType } from '../../src/jute/schema';
import { OpCode, Xid } from '../../src/protocol/constants';
import { codeName } from '../../src/protocol/keeper-error';
import { spawnTracked, waitForSrvr, type Tracked } from '../helpers/child';
import { freePort, HOST, REF_JAR, refAvailable, repoRoot, requireRef } from '../helpers/servers';
import { RawClient, type HandshakeOptions, type LogEntry, type ReplyEntry } from '../helpers/raw-client';

// ---- launching the two servers --------------------------------------------------------------

export interface ServerSpec {
  /** zoo.cfg lines beyond the base ones (key=value). */
  cfg?: Record<string, string>;
  /** Java system properties (-Dkey=value) for both servers. */
  props?: Record<string, string>;
}

export interface Launched {
  kind: 'ref' | 'ours';
  port: number;
  dir: string;
  /** True while the server process runs. */
  alive(): boolean;
  /** The last part of the server's output, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const REF_JARS = [
  'zookeeper',
  'zookeeper-jute',
  'slf4j-api',
  'slf4j-log4j12',
  'log4j-1.2',
  'netty-handler',
  'netty-common',
  'netty-transport',
  'netty-buffer',
  'netty-resolver',
  'netty-codec',
  'netty-transport-native-epoll',
  'netty-transport-native-unix-common',
];

function baseCfg(dir: string, port: number, spec: ServerSpec): string {
  const cfg: Record<string, string> = {
    tickTime: '2000',
    initLimit: '10',
    syncLimit: '5',
    dataDir: path.join(dir, 'data'),
    clientPort: String(port),
    clientPortAddress: HOST,
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': '*',
    ...(spec.cfg ?? {}),
  };
  return Object.entries(cfg)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n') + '\n';
}

function propFlags(spec: ServerSpec): string[] {
  return Object.entries(spec.props ?? {}).map(([k, v]) => `-D${k}=${v}`);
}

async function launch(kind: 'ref' | 'ours', spec: ServerSpec): Promise<Launched> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `zkts-diff-${kind}-`));
  await fsp.mkdir(path.join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const cfgPath = path.join(dir, 'zoo.cfg');
  await fsp.writeFile(cfgPath, baseCfg(dir, port, spec));
  // A server must never keep a test process alive (a leaked one would hold node's test runner
  // until its timeout): unref, and the exit hook of spawnTracked kills whatever is left.
  let p: Tracked;
  if (kind === 'ref') {
    const cp = ['/etc/zookeeper/conf', ...REF_JARS.map((j) => `/usr/share/java/${j}.jar`)].join(':');
    p = spawnTracked(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-cp',
        cp,
        '-Dzookeeper.root.logger=WARN,CONSOLE',
        `-Dzookeeper.log.dir=${dir}`,
        ...propFlags(spec),
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        cfgPath,
      ],
      { cwd: dir, keepChars: 20_000, unref: true },
    );
  } else {
    const main = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
    if (!fs.existsSync(main)) throw new Error(`our server is not built: ${main} is missing (run npx tsc -p tsconfig.json)`);
    p = spawnTracked(process.execPath, [main, 'start-foreground', cfgPath], {
      cwd: dir,
      env: { JVMFLAGS: propFlags(spec).join(' ') },
      keepChars: 20_000,
      unref: true,
    });
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await p.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForSrvr(p, port, 30_000);
  } catch (e) {
    await stop();
    throw new Error(`${kind} server: ${(e as Error).message}`);
  }
  return { kind, port, dir, alive: p.alive, output: p.output, stop };
}

/**
 * Starts a fresh reference server and a fresh server of ours in parallel. If either fails to
 * start, the other is stopped before the error is thrown, so that no server outlives the test.
 */
export async function startBoth(spec: ServerSpec = {}): Promise<[Launched, Launched]> {
  const [ref, ours] = await Promise.allSettled([startRefServer(spec), startOurServer(spec)]);
  if (ref.status === 'fulfilled' && ours.status === 'fulfilled') return [ref.value, ours.value];
  if (ref.status === 'fulfilled') await ref.value.stop();
  if (ours.status === 'fulfilled') await ours.value.stop();
  const reason = ref.status === 'rejected' ? ref.reason : (ours as PromiseRejectedResult).reason;
  throw reason instanceof Error ? reason : new Error(String(reason));
}

export function startRefServer(spec: ServerSpec = {}): Promise<Launched> {
  if (!refAvailable() || !fs.existsSync(REF_JAR)) throw new Error(`reference server unavailable: ${REF_JAR} missing`);
  return launch('ref', spec);
}

export function startOurServer(spec: ServerSpec = {}): Promise<Launched> {
  return launch('ours', spec);
}

// ---- client-side encoding of multi ------------------------------------------------------------

export type MultiOpSpec =
  | { op: 'create'; path: string; data?: Buffer | null; acl?: AclValue[]; flags?: number }
  | { op: 'create2'; path: string; data?: Buffer | null; acl?: AclValue[]; flags?: number }
  | { op: 'createTTL'; path: string; data?: Buffer | null; acl?: AclValue[]; flags?: number; ttl: number }
  | { op: 'delete'; path: string; version?: number }
  | { op: 'setData'; path: string; data: Buffer | null; version?: number }
  | { op: 'check'; path: string; version: number }
  | { op: 'getChildren'; path: string }
  | { op: 'getData'; path: string }
  /** A header with an arbitrary type and no record after it. */
  | { op: 'rawType'; type: number };

export const OPEN_ACL: AclValue[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export function encodeMulti(ops: readonly MultiOpSpec[]): Buffer {
  const w = new JuteWriter(256);
  for (const o of ops) {
    switch (o.op) {
      case 'create':
      case 'create2':
        R.MultiHeader.encode(w, { type: o.op === 'create' ? OpCode.create : OpCode.create2, done: false, err: -1 });
        R.CreateRequest.encode(w, { path: o.path, data: o.data ?? null, acl: o.acl ?? OPEN_ACL, flags: o.flags ?? 0 });
        break;
      case 'createTTL':
        R.MultiHeader.encode(w, { type: OpCode.createTTL, done: false, err: -1 });
        R.CreateTTLRequest.encode(w, { path: o.path, data: o.data ?? null, acl: o.acl ?? OPEN_ACL, flags: o.flags ?? 5, ttl: o.ttl });
        break;
      case 'delete':
        R.MultiHeader.encode(w, { type: OpCode.delete, done: false, err: -1 });
        R.DeleteRequest.encode(w, { path: o.path, version: o.version ?? -1 });
        break;
      case 'setData':
        R.MultiHeader.encode(w, { type: OpCode.setData, done: false, err: -1 });
        R.SetDataRequest.encode(w, { path: o.path, data: o.data, version: o.version ?? -1 });
        break;
      case 'check':
        R.MultiHeader.encode(w, { type: OpCode.check, done: false, err: -1 });
        R.CheckVersionRequest.encode(w, { path: o.path, version: o.version });
        break;
      case 'getChildren':
        R.MultiHeader.encode(w, { type: OpCode.getChildren, done: false, err: -1 });
        R.GetChildrenRequest.encode(w, { path: o.path, watch: false });
        break;
      case 'getData':
        R.MultiHeader.encode(w, { type: OpCode.getData, done: false, err: -1 });
        R.GetDataRequest.encode(w, { path: o.path, watch: false });
        break;
      case 'rawType':
        R.MultiHeader.encode(w, { type: o.type, done: false, err: -1 });
        break;
    }
  }
  R.MultiHeader.encode(w, { type: -1, done: true, err: -1 });
  return Buffer.from(w.finish());
}

export type MultiResultView =
  | { type: 'create'; path: string }
  | { type: 'create2'; path: string; stat: StatValue }
  | { type: 'delete' }
  | { type: 'check' }
  | { type: 'setData'; stat: StatValue }
  | { type: 'getChildren'; children: string[] }
  | { type: 'getData'; data: Buffer | null; stat: StatValue }
  | { type: 'error'; err: string; headerErr: string };

/** Decodes a MultiResponse the way the Java client does; bounded by the body's length. */
export function decodeMultiResponse(body: Buffer): MultiResultView[] {
  const r = new JuteReader(body);
  const out: MultiResultView[] = [];
  let h = R.MultiHeader.decode(r);
  while (!h.done) {
    switch (h.type) {
      case OpCode.create:
        out.push({ type: 'create', path: r.ustring() });
        break;
      case OpCode.create2: {
        const c = R.Create2Response.decode(r);
        out.push({ type: 'create2', path: c.path, stat: c.stat });
        break;
      }
      case OpCode.delete:
        out.push({ type: 'delete' });
        break;
      case OpCode.check:
        out.push({ type: 'check' });
        break;
      case OpCode.setData:
        out.push({ type: 'setData', stat: R.Stat.decode(r) });
        break;
      case OpCode.getChildren:
        out.push({ type: 'getChildren', children: R.GetChildrenResponse.decode(r).children });
        break;
      case OpCode.getData: {
        const d = R.GetDataResponse.decode(r);
        out.push({ type: 'getData', data: d.data, stat: d.stat });
        break;
      }
      case OpCode.error:
        out.push({ type: 'error', err: codeName(r.int()), headerErr: codeName(h.err) });
        break;
      default:
        throw new Error(`invalid type ${h.type} in MultiResponse`);
    }
    h = R.MultiHeader.decode(r);
  }
  if (r.remaining() !== 0) throw new Error(`${r.remaining()} bytes after the MultiResponse`);
  return out;
}

// ---- the scenario context -------------------------------------------------------------------

const PLAUSIBLE_TIME_MS = 6 * 3600 * 1000;

function normTime(ms: number): string | number {
  if (ms === 0) return 0;
  return Math.abs(ms - Date.now()) < PLAUSIBLE_TIME_MS ? '<T>' : `<BAD-TIME ${ms}>`;
}

/** One client of a scenario: a raw connection plus the name its session is known by. */
export interface Client {
  name: string;
  raw: RawClient;
}

export type Body =
  | { kind: 'record'; type: RecordType<any> }
  | { kind: 'multi' }
  | { kind: 'none' };

export class Run {
  /** The transcript compared between the two servers. */
  readonly lines: string[] = [];
  private readonly sessionNames = new Map<bigint, string>();
  private readonly clients: Client[] = [];

  constructor(
    readonly kind: 'ref' | 'ours',
    readonly server: Launched,
  ) {}

  get port(): number {
    return this.server.port;
  }

  record(label: string, value: unknown): void {
    if (process.env['DIFF_TRACE'] === '1') console.log(`${this.kind} ${Date.now() % 100000} ${label}`);
    this.lines.push(`${label}: ${JSON.stringify(this.norm(value, null))}`);
  }

  /** Connects and completes the handshake; the session is named after the client. */
  async connect(name: string, opts: HandshakeOptions = {}): Promise<Client> {
    const raw = await RawClient.open(this.port);
    const c: Client = { name, raw };
    this.clients.push(c);
    const a = await raw.handshake(opts);
    if (a !== null && a.sessionId !== 0n && !this.sessionNames.has(a.sessionId)) this.sessionNames.set(a.sessionId, name);
    this.record(`${name} connect`, a === null ? 'closed without answer' : this.connectView(a));
    if (a === null) throw new Error(`${this.kind}: ${name}: the server closed the connection without answering the handshake`);
    return c;
  }

  /** Like connect, but records and returns a missing answer instead of throwing. */
  async tryConnect(name: string, opts: HandshakeOptions = {}): Promise<Client> {
    const raw = await RawClient.open(this.port);
    const c: Client = { name, raw };
    this.clients.push(c);
    const a = await raw.handshake(opts);
    if (a !== null && a.sessionId !== 0n && !this.sessionNames.has(a.sessionId)) this.sessionNames.set(a.sessionId, name);
    this.record(`${name} connect`, a === null ? 'closed without answer' : this.connectView(a));
    return c;
  }

  private connectView(a: NonNullable<RawClient['session']>): unknown {
    return {
      protocolVersion: a.protocolVersion,
      timeOut: a.timeOut,
      sessionId: a.sessionId,
      passwd: a.passwd === null ? null : `<${a.passwd.length} bytes${a.passwd.every((b) => b === 0) ? ', zero' : ''}>`,
      readOnly: a.readOnly,
    };
  }

  /** Sends one request and records its outcome under `label`. */
  async op(c: Client, label: string, type: number, body: Buffer, resp: Body, opts: { xid?: number } = {}): Promise<OpOutcome> {
    if (process.env['DIFF_TRACE'] === '1') console.log(`${this.kind} ${Date.now() % 100000} ${c.name} ${label}`);
    const e = await c.raw.requestRaw(type, body, opts);
    const out = this.decode(e, resp);
    this.lines.push(
      `${c.name} ${label}: xid=${e.xid} err=${codeName(e.err)} zxid=${e.zxid} body=${JSON.stringify(this.norm(out.value, c))}`,
    );
    return out;
  }

  private decode(e: ReplyEntry, resp: Body): OpOutcome {
    let value: unknown = null;
    if (e.body.length > 0) {
      try {
        if (resp.kind === 'multi') value = decodeMultiResponse(e.body);
        else if (resp.kind === 'record') {
          const r = new JuteReader(e.body);
          value = resp.type.decode(r);
          if (r.remaining() !== 0) value = { decoded: value, trailingBytes: e.body.subarray(e.body.length - r.remaining()).toString('hex') };
        } else value = { rawHex: e.body.toString('hex') };
      } catch (err) {
        value = { undecodable: String(err), rawHex: e.body.toString('hex') };
      }
    }
    return { err: e.err, zxid: e.zxid, value, entry: e };
  }

  /** Session ids, times and buffers in a form that compares across servers. */
  norm(v: unknown, viewer: Client | null): unknown {
    return this.normValue(v, viewer, 0);
  }

  private normValue(v: unknown, viewer: Client | null, depth: number): unknown {
    if (depth > 20) return '<too deep>';
    if (v === null || v === undefined) return v ?? null;
    if (typeof v === 'bigint') return this.sessionName(v, viewer);
    if (Buffer.isBuffer(v)) {
      const s = v.toString('utf8');
      return /^[\x20-\x7e]*$/.test(s) ? `utf8:${s}` : `hex:${v.toString('hex')}`;
    }
    if (Array.isArray(v)) return v.map((x) => this.normValue(x, viewer, depth + 1));
    if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) {
        if ((k === 'ctime' || k === 'mtime') && typeof x === 'number') out[k] = normTime(x);
        else out[k] = this.normValue(x, viewer, depth + 1);
      }
      return out;
    }
    return v;
  }

  /** A session id as "own", "S:<client name>", 0, or hex for special owners (TTL, container). */
  sessionName(id: bigint, viewer: Client | null): string | number {
    if (id === 0n) return 0;
    if (viewer !== null && id === viewer.raw.sessionId) return 'own';
    const n = this.sessionNames.get(id);
    if (n !== undefined) return `S:${n}`;
    return `0x${BigInt.asUintN(64, id).toString(16)}`;
  }

  /** Waits for a client's log to satisfy `pred`; bounded. */
  waitFor(c: Client, pred: (log: readonly LogEntry[]) => boolean, what: string, ms = 10_000): Promise<void> {
    return c.raw.waitFor(pred, `${this.kind}: ${c.name}: ${what}`, ms);
  }

  waitForEvents(c: Client, n: number, ms = 10_000): Promise<void> {
    return this.waitFor(c, (log) => log.filter((e) => e.kind === 'event').length >= n, `${n} events`, ms);
  }

  /** Appends each client's full ordered log to the transcript and closes what is still open. */
  async finish(): Promise<void> {
    for (const c of this.clients) {
      for (const e of c.raw.log) this.lines.push(`${c.name} log: ${this.describeEntry(e)}`);
    }
    for (const c of this.clients) c.raw.destroy();
  }

  describeEntry(e: LogEntry): string {
    switch (e.kind) {
      case 'reply':
        return `reply xid=${e.xid === Xid.PING ? 'PING' : e.xid} zxid=${e.zxid} err=${codeName(e.err)} bodyBytes=${e.body.length}`;
      case 'event':
        return `event ${eventName(e.type)} state=${e.state} path=${e.path} hdrZxid=${e.zxid} hdrErr=${e.err}`;
      case 'closed':
        return 'closed';
      case 'unparsed':
        return `unparsed frame ${e.raw.toString('hex').slice(0, 64)} (${e.error})`;
    }
  }

  // ---- one helper per opcode, recording as it goes ----

  create(c: Client, p: string, data: Buffer | null = null, flags = 0, acl: AclValue[] = OPEN_ACL, label = `create ${p}`) {
    return this.op(c, label, OpCode.create, R.CreateRequest.serialize({ path: p, data, acl, flags }), rec(R.CreateResponse));
  }

  create2(c: Client, p: string, data: Buffer | null = null, flags = 0, acl: AclValue[] = OPEN_ACL, label = `create2 ${p}`) {
    return this.op(c, label, OpCode.create2, R.CreateRequest.serialize({ path: p, data, acl, flags }), rec(R.Create2Response));
  }

  createContainer(c: Client, p: string, data: Buffer | null = null, flags = 4, acl: AclValue[] = OPEN_ACL, label = `createContainer ${p}`) {
    return this.op(c, label, OpCode.createContainer, R.CreateRequest.serialize({ path: p, data, acl, flags }), rec(R.Create2Response));
  }

  createTTL(c: Client, p: string, ttl: number, flags = 5, data: Buffer | null = null, acl: AclValue[] = OPEN_ACL, label = `createTTL ${p} ttl=${ttl} flags=${flags}`) {
    return this.op(c, label, OpCode.createTTL, R.CreateTTLRequest.serialize({ path: p, data, acl, flags, ttl }), rec(R.Create2Response));
  }

  delete(c: Client, p: string, version = -1, label = `delete ${p} v=${version}`) {
    return this.op(c, label, OpCode.delete, R.DeleteRequest.serialize({ path: p, version }), none());
  }

  deleteContainer(c: Client, p: string, label = `deleteContainer ${p}`) {
    return this.op(c, label, OpCode.deleteContainer, Buffer.from(p, 'utf8'), none());
  }

  exists(c: Client, p: string, watch = false, label = `exists ${p}${watch ? ' watch' : ''}`) {
    return this.op(c, label, OpCode.exists, R.ExistsRequest.serialize({ path: p, watch }), rec(R.ExistsResponse));
  }

  getData(c: Client, p: string, watch = false, label = `getData ${p}${watch ? ' watch' : ''}`) {
    return this.op(c, label, OpCode.getData, R.GetDataRequest.serialize({ path: p, watch }), rec(R.GetDataResponse));
  }

  setData(c: Client, p: string, data: Buffer | null, version = -1, label = `setData ${p} v=${version}`) {
    return this.op(c, label, OpCode.setData, R.SetDataRequest.serialize({ path: p, data, version }), rec(R.SetDataResponse));
  }

  getACL(c: Client, p: string, label = `getACL ${p}`) {
    return this.op(c, label, OpCode.getACL, R.GetACLRequest.serialize({ path: p }), rec(R.GetACLResponse));
  }

  setACL(c: Client, p: string, acl: AclValue[], version = -1, label = `setACL ${p} v=${version}`) {
    return this.op(c, label, OpCode.setACL, R.SetACLRequest.serialize({ path: p, acl, version }), rec(R.SetACLResponse));
  }

  getChildren(c: Client, p: string, watch = false, label = `getChildren ${p}${watch ? ' watch' : ''}`) {
    return this.op(c, label, OpCode.getChildren, R.GetChildrenRequest.serialize({ path: p, watch }), rec(R.GetChildrenResponse));
  }

  getChildren2(c: Client, p: string, watch = false, label = `getChildren2 ${p}${watch ? ' watch' : ''}`) {
    return this.op(c, label, OpCode.getChildren2, R.GetChildren2Request.serialize({ path: p, watch }), rec(R.GetChildren2Response));
  }

  sync(c: Client, p: string, label = `sync ${p}`) {
    return this.op(c, label, OpCode.sync, R.SyncRequest.serialize({ path: p }), rec(R.SyncResponse));
  }

  check(c: Client, p: string, version: number, label = `check ${p} v=${version}`) {
    return this.op(c, label, OpCode.check, R.CheckVersionRequest.serialize({ path: p, version }), rec(R.SetDataResponse));
  }

  multi(c: Client, ops: readonly MultiOpSpec[], label = 'multi') {
    return this.op(c, label, OpCode.multi, encodeMulti(ops), { kind: 'multi' });
  }

  multiRead(c: Client, ops: readonly MultiOpSpec[], label = 'multiRead') {
    return this.op(c, label, OpCode.multiRead, encodeMulti(ops), { kind: 'multi' });
  }

  checkWatches(c: Client, p: string, type: number, label = `checkWatches ${p} type=${type}`) {
    return this.op(c, label, OpCode.checkWatches, R.CheckWatchesRequest.serialize({ path: p, type }), none());
  }

  removeWatches(c: Client, p: string, type: number, label = `removeWatches ${p} type=${type}`) {
    return this.op(c, label, OpCode.removeWatches, R.RemoveWatchesRequest.serialize({ path: p, type }), none());
  }

  getEphemerals(c: Client, prefix: string, label = `getEphemerals ${prefix}`) {
    return this.op(c, label, OpCode.getEphemerals, R.GetEphemeralsRequest.serialize({ prefixPath: prefix }), rec(R.GetEphemeralsResponse));
  }

  getAllChildrenNumber(c: Client, p: string, label = `getAllChildrenNumber ${p}`) {
    return this.op(c, label, OpCode.getAllChildrenNumber, R.GetAllChildrenNumberRequest.serialize({ path: p }), rec(R.GetAllChildrenNumberResponse));
  }

  addWatch(c: Client, p: string, mode: number, label = `addWatch ${p} mode=${mode}`) {
    return this.op(c, label, OpCode.addWatch, R.AddWatchRequest.serialize({ path: p, mode }), rec(R.ErrorResponse));
  }

  whoAmI(c: Client, label = 'whoAmI') {
    return this.op(c, label, OpCode.whoAmI, Buffer.alloc(0), rec(R.WhoAmIResponse));
  }

  auth(c: Client, scheme: string, auth: Buffer, label = `auth ${scheme}`) {
    return this.op(c, label, OpCode.auth, R.AuthPacket.serialize({ type: 0, scheme, auth }), none(), { xid: Xid.AUTH });
  }

  setWatches(c: Client, relativeZxid: number, data: string[], exist: string[], child: string[], label = 'setWatches') {
    return this.op(
      c,
      label,
      OpCode.setWatches,
      R.SetWatches.serialize({ relativeZxid, dataWatches: data, existWatches: exist, childWatches: child }),
      none(),
      { xid: Xid.SET_WATCHES },
    );
  }

  setWatches2(
    c: Client,
    relativeZxid: number,
    w: { data?: string[]; exist?: string[]; child?: string[]; persistent?: string[]; recursive?: string[] },
    label = 'setWatches2',
  ) {
    return this.op(
      c,
      label,
      OpCode.setWatches2,
      R.SetWatches2.serialize({
        relativeZxid,
        dataWatches: w.data ?? [],
        existWatches: w.exist ?? [],
        childWatches: w.child ?? [],
        persistentWatches: w.persistent ?? [],
        persistentRecursiveWatches: w.recursive ?? [],
      }),
      none(),
      { xid: Xid.SET_WATCHES },
    );
  }

  ping(c: Client, label = 'ping') {
    return this.op(c, label, OpCode.ping, Buffer.alloc(0), none(), { xid: Xid.PING });
  }

  /** closeSession, then wait (bounded) for the server to close the connection; records both. */
  async closeSession(c: Client, label = 'closeSession'): Promise<void> {
    await this.op(c, label, OpCode.closeSession, Buffer.alloc(0), none());
    this.record(`${c.name} closed after closeSession`, await c.raw.closesWithin(5000));
  }
}

export interface OpOutcome {
  err: number;
  zxid: number;
  value: unknown;
  entry: ReplyEntry;
}

export function rec(type: RecordType<any>): Body {
  return { kind: 'record', type };
}

export function none(): Body {
  return { kind: 'none' };
}

const EVENT_NAMES: Record<number, string> = {
  [-1]: 'None',
  1: 'NodeCreated',
  2: 'NodeDeleted',
  3: 'NodeDataChanged',
  4: 'NodeChildrenChanged',
  5: 'DataWatchRemoved',
  6: 'ChildWatchRemoved',
  7: 'PersistentWatchRemoved',
};

export function eventName(t: number): string {
  return EVENT_NAMES[t] ?? `Unknown(${t})`;
}

export function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

export type Scenario = (run: Run) => Promise<void>;

/**
 * Runs `scenario` against a fresh reference server and a fresh server of ours (in parallel, each
 * with its own clients) and asserts that the two transcripts are equal. Skips (or fails under
 * CI=true) when the reference server is missing.
 */
export async function differential(t: TestContext, spec: ServerSpec, scenario: Scenario): Promise<void> {
  if (!requireRef(t)) return;
  const [ref, ours] = await startBoth(spec);
  t.after(async () => {
    await Promise.all([ref.stop(), ours.stop()]);
  });
  const runs = [new Run('ref', ref), new Run('ours', ours)] as const;
  const results = await Promise.allSettled(
    runs.map(async (r) => {
      try {
        await scenario(r);
      } finally {
        await r.finish();
      }
    }),
  );
  const [refRes, oursRes] = results;
  if (refRes.status === 'rejected') {
    throw new Error(`the scenario failed against Apache ZooKeeper (a bug in the test): ${String(refRes.reason?.stack ?? refRes.reason)}\ntranscript:\n${runs[0].lines.join('\n')}`);
  }
  if (oursRes.status === 'rejected') {
    const msg = `the scenario failed against our server: ${String(oursRes.reason?.stack ?? oursRes.reason)}\n` +
      `--- ref transcript ---\n${runs[0].lines.join('\n')}\n--- our transcript ---\n${runs[1].lines.join('\n')}\n` +
      `--- our server output (tail) ---\n${ours.output().slice(-3000)}`;
    throw new Error(msg);
  }
  if (process.env['DIFF_DUMP'] === '1') {
    // For writing new scenarios: shows what Apache ZooKeeper answered.
    console.log(`--- ref transcript (${t.name}) ---\n${runs[0].lines.join('\n')}`);
  }
  assert.ok(ours.alive(), `our server died during the scenario:\n${ours.output().slice(-3000)}`);
  assertSameTranscript(runs[1].lines, runs[0].lines);
}

/**
 * Fails with a compact line diff (- Apache ZooKeeper, + ours, two lines of context) when the
 * transcripts differ; node's own deepStrictEqual message would print both transcripts whole.
 */
export function assertSameTranscript(ours: readonly string[], ref: readonly string[]): void {
  if (ours.length === ref.length && ours.every((l, i) => l === ref[i])) return;
  const ops = lineDiff(ref, ours);
  const keep = new Set<number>();
  ops.forEach((o, i) => {
    if (o.tag !== ' ') for (let j = Math.max(0, i - 2); j <= Math.min(ops.length - 1, i + 2); j++) keep.add(j);
  });
  const out: string[] = [];
  let last = -1;
  for (let i = 0; i < ops.length; i++) {
    if (!keep.has(i)) continue;
    if (last !== -1 && i !== last + 1) out.push('  ...');
    out.push(`${ops[i]!.tag} ${ops[i]!.line}`);
    last = i;
  }
  assert.fail(`transcript of our server differs from Apache ZooKeeper (- ref, + ours):\n${out.join('\n')}`);
}

/** Longest-common-subsequence line diff; transcripts are at most a few thousand lines. */
function lineDiff(a: readonly string[], b: readonly string[]): { tag: ' ' | '-' | '+'; line: string }[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = [];
  for (let i = 0; i <= n; i++) lcs.push(new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: { tag: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ tag: ' ', line: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ tag: '-', line: a[i++]! });
    else out.push({ tag: '+', line: b[j++]! });
  }
  while (i < n) out.push({ tag: '-', line: a[i++]! });
  while (j < m) out.push({ tag: '+', line: b[j++]! });
  return out;
}

/** sha1 digest of "user:password" in base64, as DigestAuthenticationProvider.generateDigest. */
export function digestOf(userPass: string): string {
  const user = userPass.split(':')[0]!;
  return `${user}:${crypto.createHash('sha1').update(userPass, 'utf8').digest('base64')}`;
}
