// Exercises a server through node-zookeeper-client (a pure JavaScript client that speaks the
// old protocol: no readOnly flag in its connect request, protocol version 0) and returns a
// normalized transcript. Run directly to print it:
//   node dist/test/clients/node-client.js 127.0.0.1:PORT
//
// Normalization: times and session ids are never printed raw (times become <TIME>/<EPOCH>,
// ephemeral owners become <SESSION-n>); zxids are printed as they are, since for the same
// history on a fresh server they must match; children are printed sorted because ZooKeeper
// does not define their order (cli_mt's transcript compares the order itself).

import zookeeper, { type ACL as AclType, type Client, type Event, type Stat, type TransactionResult } from 'node-zookeeper-client';
import crypto from 'node:crypto';
import { normalizeEpochMs, SessionIds } from '../helpers/normalize.js';

const { ACL, Id, Permission, CreateMode } = zookeeper;

const OP_TIMEOUT_MS = 10_000;
const ROOT = '/node-client';

class Transcript {
  readonly lines: string[] = [];
  readonly sessions = new SessionIds();
  failed = false;

  add(...parts: unknown[]): void {
    this.lines.push(
      parts
        .filter((p) => p !== '')
        .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
        .join(' '),
    );
  }
}

function long(buf: Buffer): bigint {
  return buf.readBigInt64BE(0);
}

function hex(buf: Buffer): string {
  return `0x${long(buf).toString(16)}`;
}

function statLine(t: Transcript, st: Stat | null | undefined): string {
  if (!st) return 'stat=null';
  const owner = long(st.ephemeralOwner);
  return [
    `czxid=${hex(st.czxid)}`,
    `mzxid=${hex(st.mzxid)}`,
    `pzxid=${hex(st.pzxid)}`,
    `ctime=${normalizeEpochMs(long(st.ctime))}`,
    `mtime=${normalizeEpochMs(long(st.mtime))}`,
    `version=${st.version}`,
    `cversion=${st.cversion}`,
    `aversion=${st.aversion}`,
    `ephemeralOwner=${owner === 0n ? '0' : t.sessions.name(owner.toString(16))}`,
    `dataLength=${st.dataLength}`,
    `numChildren=${st.numChildren}`,
  ].join(' ');
}

function errText(err: unknown): string {
  if (err && typeof err === 'object' && 'getName' in err && typeof (err as { getName: unknown }).getName === 'function') {
    const e = err as { getName(): string; getCode(): number };
    return `${e.getName()}(${e.getCode()})`;
  }
  return `error: ${String(err)}`;
}

/** Calls a callback-style client method with a deadline; resolves with [error, ...results]. */
function call<T extends unknown[]>(what: string, fn: (cb: (err: unknown, ...res: T) => void) => void): Promise<[unknown, ...T]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${OP_TIMEOUT_MS} ms`)), OP_TIMEOUT_MS);
    fn((err, ...res) => {
      clearTimeout(timer);
      resolve([err ?? null, ...res]);
    });
  });
}

/** Waits for the next watch event recorded in `events`, bounded in time. */
async function nextEvent(events: string[], count: number, what: string): Promise<void> {
  const deadline = Date.now() + OP_TIMEOUT_MS;
  while (events.length < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function connect(connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 10_000, spinDelay: 100, retries: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`could not connect to ${connectString} within ${OP_TIMEOUT_MS} ms`));
    }, OP_TIMEOUT_MS);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

function digestId(user: string, password: string): string {
  const hash = crypto.createHash('sha1').update(`${user}:${password}`).digest('base64');
  return `${user}:${hash}`;
}

function aclText(acls: AclType[] | undefined): string {
  return (acls ?? []).map((a) => `${a.id.scheme}:${a.id.id}:${a.permission}`).join(',');
}

/**
 * Runs one section of the script. A failure is recorded and the next section still runs, so
 * that one missing feature does not hide the state of all the others.
 */
async function section(t: Transcript, name: string, body: () => Promise<void>): Promise<void> {
  t.add(`== ${name}`);
  try {
    await body();
  } catch (err) {
    t.failed = true;
    t.add(`FAIL: ${name}: ${String(err)}`);
  }
}

export async function runNodeClient(connectString: string): Promise<string[]> {
  const t = new Transcript();
  const clients: Client[] = [];
  try {
    const zk = await connect(connectString);
    clients.push(zk);
    const open = ACL.OPEN_ACL_UNSAFE;
    const P = CreateMode.PERSISTENT;

    await section(t, 'create', async () => {
      let [err, p]: [unknown, ...unknown[]] = await call<[string?]>('create', (cb) => zk.create(ROOT, Buffer.from('root'), open, P, cb));
      t.add('create', err ? errText(err) : 'ok', p);
      for (const [name, mode] of [
        ['/seq-', CreateMode.PERSISTENT_SEQUENTIAL],
        ['/seq-', CreateMode.PERSISTENT_SEQUENTIAL],
        ['/eph', CreateMode.EPHEMERAL],
        ['/eph-seq-', CreateMode.EPHEMERAL_SEQUENTIAL],
      ] as const) {
        [err, p] = await call<[string?]>('create', (cb) => zk.create(ROOT + name, null, open, mode, cb));
        t.add('create', name, `mode=${mode}`, err ? errText(err) : 'ok', p);
      }
      [err, p] = await call<[string?]>('create', (cb) => zk.create(ROOT, null, open, P, cb));
      t.add('create existing', errText(err));
      [err, p] = await call<[string?]>('create', (cb) => zk.create(`${ROOT}/none/child`, null, open, P, cb));
      t.add('create without parent', errText(err));
      [err, p] = await call<[string?]>('create', (cb) => zk.create(`${ROOT}/eph/child`, null, open, P, cb));
      t.add('create under ephemeral', errText(err));
      [err, p] = await call<[string?]>('mkdirp', (cb) => zk.mkdirp(`${ROOT}/deep/a/b`, Buffer.from('x'), open, P, cb));
      t.add('mkdirp', err ? errText(err) : 'ok', p);
    });

    await section(t, 'read', async () => {
      const [e1, st1] = await call<[Stat | null | undefined]>('exists', (cb) => zk.exists(ROOT, undefined, cb));
      t.add('exists', e1 ? errText(e1) : 'ok', statLine(t, st1));
      const [e2, st2] = await call<[Stat | null | undefined]>('exists', (cb) => zk.exists(`${ROOT}/missing`, undefined, cb));
      t.add('exists missing', e2 ? errText(e2) : 'ok', statLine(t, st2));
      const [e3, d3, st3] = await call<[Buffer | null | undefined, Stat | undefined]>('getData', (cb) => zk.getData(ROOT, undefined, cb));
      t.add('getData', e3 ? errText(e3) : 'ok', d3?.toString('utf8'), statLine(t, st3));
      const [e4, d4, st4] = await call<[Buffer | null | undefined, Stat | undefined]>('getData', (cb) => zk.getData(`${ROOT}/eph`, undefined, cb));
      // A node created with null data has null data on the server (zkCli prints "null" for it),
      // which is not the same as empty data; this client reports it as undefined.
      t.add('getData null data', e4 ? errText(e4) : 'ok', d4 == null ? String(d4) : `len=${d4.length}`, statLine(t, st4));
      const [e5] = await call<[Buffer | null | undefined, Stat | undefined]>('getData', (cb) => zk.getData(`${ROOT}/missing`, undefined, cb));
      t.add('getData missing', errText(e5));
      const [e6, kids, st6] = await call<[string[]?, Stat?]>('getChildren', (cb) => zk.getChildren(ROOT, undefined, cb));
      t.add('getChildren', e6 ? errText(e6) : 'ok', [...(kids ?? [])].sort(), statLine(t, st6));
      const [e7] = await call<[string[]?, Stat?]>('getChildren', (cb) => zk.getChildren(`${ROOT}/missing`, undefined, cb));
      t.add('getChildren missing', errText(e7));
    });

    await section(t, 'write', async () => {
      const [e8, st8] = await call<[Stat | null | undefined]>('setData', (cb) => zk.setData(ROOT, Buffer.from('v1'), -1, cb));
      t.add('setData', e8 ? errText(e8) : 'ok', statLine(t, st8));
      const [e9, st9] = await call<[Stat | null | undefined]>('setData', (cb) => zk.setData(ROOT, Buffer.from('v2'), 1, cb));
      t.add('setData version 1', e9 ? errText(e9) : 'ok', statLine(t, st9));
      const [e10] = await call<[Stat | null | undefined]>('setData', (cb) => zk.setData(ROOT, Buffer.from('v3'), 1, cb));
      t.add('setData stale version', errText(e10));
      const [e11] = await call<[]>('remove', (cb) => zk.remove(`${ROOT}/deep`, -1, cb));
      t.add('remove not empty', errText(e11));
      const [e12] = await call<[]>('remove', (cb) => zk.remove(`${ROOT}/deep/a/b`, 4, cb));
      t.add('remove bad version', errText(e12));
      const [e13] = await call<[]>('remove', (cb) => zk.remove(`${ROOT}/deep/a/b`, -1, cb));
      t.add('remove', e13 ? errText(e13) : 'ok');
      const [e14] = await call<[]>('remove', (cb) => zk.remove(`${ROOT}/deep/a/b`, -1, cb));
      t.add('remove again', errText(e14));
    });

    await section(t, 'watches', async () => {
      const events: string[] = [];
      const watcher = (label: string) => (ev: Event) => events.push(`${label} ${ev.getName()} ${ev.getPath()}`);
      await call<[Buffer | null | undefined, Stat | undefined]>('getData', (cb) => zk.getData(ROOT, watcher('data'), cb));
      await call<[Stat | null | undefined]>('setData', (cb) => zk.setData(ROOT, Buffer.from('v3'), -1, cb));
      await nextEvent(events, 1, 'data watch');
      await call<[string[]?, Stat?]>('getChildren', (cb) => zk.getChildren(ROOT, watcher('children'), cb));
      await call<[string?]>('create', (cb) => zk.create(`${ROOT}/kid`, null, open, P, cb));
      await nextEvent(events, 2, 'child watch');
      await call<[Stat | null | undefined]>('exists', (cb) => zk.exists(`${ROOT}/later`, watcher('exists'), cb));
      await call<[string?]>('create', (cb) => zk.create(`${ROOT}/later`, null, open, P, cb));
      await nextEvent(events, 3, 'exists watch (created)');
      await call<[Stat | null | undefined]>('exists', (cb) => zk.exists(`${ROOT}/later`, watcher('exists'), cb));
      await call<[]>('remove', (cb) => zk.remove(`${ROOT}/later`, -1, cb));
      await nextEvent(events, 4, 'exists watch (deleted)');
      await call<[Buffer | null | undefined, Stat | undefined]>('getData', (cb) => zk.getData(`${ROOT}/kid`, watcher('data-kid'), cb));
      await call<[string[]?, Stat?]>('getChildren', (cb) => zk.getChildren(`${ROOT}/kid`, watcher('children-kid'), cb));
      await call<[]>('remove', (cb) => zk.remove(`${ROOT}/kid`, -1, cb));
      await nextEvent(events, 6, 'watches on a deleted node');
      // Both watches fire for one deletion; their relative order is not defined, so sort them.
      for (const e of [...events.slice(0, 4), ...events.slice(4).sort()]) t.add('event', e);
    });

    await section(t, 'acl', async () => {
      const [e15, acls, st15] = await call<[AclType[]?, Stat?]>('getACL', (cb) => zk.getACL(ROOT, cb));
      t.add('getACL', e15 ? errText(e15) : 'ok', aclText(acls), statLine(t, st15));
      const digestAcl = [new ACL(Permission.ALL, new Id('digest', digestId('user1', 'pass1')))];
      await call<[string?]>('create', (cb) => zk.create(`${ROOT}/secret`, Buffer.from('s'), digestAcl, P, cb));
      const [e16] = await call<[Buffer | null | undefined, Stat | undefined]>('getData', (cb) => zk.getData(`${ROOT}/secret`, undefined, cb));
      t.add('getData without auth', errText(e16));
      const [e17] = await call<[AclType[]?, Stat?]>('getACL', (cb) => zk.getACL(`${ROOT}/secret`, cb));
      t.add('getACL without auth', errText(e17));
      const zk2 = await connect(connectString);
      clients.push(zk2);
      // close() does not wait for the server to end the session, and the closeSession
      // transaction takes a zxid; an ephemeral node of zk2 lets zk wait for it to be done so
      // that later zxids do not depend on timing.
      await call<[string?]>('create', (cb) => zk2.create(`${ROOT}/zk2-alive`, null, open, CreateMode.EPHEMERAL, cb));
      zk2.addAuthInfo('digest', Buffer.from('user1:pass1'));
      const [e18, d18] = await call<[Buffer | null | undefined, Stat | undefined]>('getData', (cb) => zk2.getData(`${ROOT}/secret`, undefined, cb));
      t.add('getData with auth', e18 ? errText(e18) : 'ok', d18?.toString('utf8'));
      const [e19, acls19] = await call<[AclType[]?, Stat?]>('getACL', (cb) => zk2.getACL(`${ROOT}/secret`, cb));
      t.add('getACL with auth', e19 ? errText(e19) : 'ok', aclText(acls19));
      const [e20] = await call<[Stat | null | undefined]>('setACL', (cb) => zk2.setACL(`${ROOT}/secret`, ACL.READ_ACL_UNSAFE, 3, cb));
      t.add('setACL bad version', errText(e20));
      const [e21, st21] = await call<[Stat | null | undefined]>('setACL', (cb) => zk2.setACL(`${ROOT}/secret`, ACL.READ_ACL_UNSAFE, 0, cb));
      t.add('setACL', e21 ? errText(e21) : 'ok', statLine(t, st21));
      const [e22] = await call<[Stat | null | undefined]>('setData', (cb) => zk.setData(`${ROOT}/secret`, Buffer.from('w'), -1, cb));
      t.add('setData on read-only', errText(e22));
      const [e23, p23] = await call<[string?]>('create', (cb) => zk2.create(`${ROOT}/mine`, null, ACL.CREATOR_ALL_ACL, P, cb));
      t.add('create with CREATOR_ALL_ACL', e23 ? errText(e23) : 'ok', p23);
      const [, acls24] = await call<[AclType[]?, Stat?]>('getACL', (cb) => zk2.getACL(`${ROOT}/mine`, cb));
      t.add('its ACL', aclText(acls24));
      const [e25] = await call<[string?]>('create', (cb) => zk.create(`${ROOT}/bad-acl`, null, ACL.CREATOR_ALL_ACL, P, cb));
      t.add('CREATOR_ALL_ACL without auth', errText(e25));
      const zk2Gone: string[] = [];
      await call<[Stat | null | undefined]>('exists', (cb) =>
        zk.exists(`${ROOT}/zk2-alive`, (ev) => zk2Gone.push(`${ev.getName()} ${ev.getPath()}`), cb),
      );
      zk2.close();
      clients.splice(clients.indexOf(zk2), 1);
      await nextEvent(zk2Gone, 1, 'the closed session of zk2 to end');
      t.add('zk2 closed', ...zk2Gone);
    });

    await section(t, 'transaction', async () => {
      // This client turns a version of 0 into -1 ("any version") in check, setData and remove
      // (version || -1), so only non-zero versions below test version checks.
      const [e26, res26] = await call<[TransactionResult[]?]>('commit', (cb) =>
        zk
          .transaction()
          .create(`${ROOT}/tx`, Buffer.from('t'), open, P)
          .create(`${ROOT}/tx/s-`, null, open, CreateMode.PERSISTENT_SEQUENTIAL)
          .check(`${ROOT}/tx`, -1)
          .setData(`${ROOT}/tx`, Buffer.from('t2'), -1)
          .setData(`${ROOT}/tx`, Buffer.from('t3'), 1)
          .remove(`${ROOT}/tx/s-0000000000`, -1)
          .commit(cb),
      );
      t.add('commit', e26 ? errText(e26) : 'ok');
      for (const r of res26 ?? []) t.add(' result', `type=${r.type}`, r.path ?? '', r.stat ? statLine(t, r.stat) : '', r.err ?? '');
      const [e27, res27] = await call<[TransactionResult[]?]>('commit', (cb) =>
        zk
          .transaction()
          .create(`${ROOT}/tx/x`, null, open, P)
          .check(`${ROOT}/tx`, 7)
          .setData(`${ROOT}/tx`, Buffer.from('never'), -1)
          .commit(cb),
      );
      t.add('failing commit', errText(e27));
      for (const r of res27 ?? []) t.add(' result', `type=${r.type}`, `err=${r.err}`);
      const [e28, kids28] = await call<[string[]?, Stat?]>('getChildren', (cb) => zk.getChildren(`${ROOT}/tx`, undefined, cb));
      t.add('after failing commit', e28 ? errText(e28) : 'ok', [...(kids28 ?? [])].sort());
      const [e29, res29] = await call<[TransactionResult[]?]>('commit', (cb) =>
        zk.transaction().remove(`${ROOT}/tx/missing`, -1).create(`${ROOT}/tx`, null, open, P).commit(cb),
      );
      t.add('failing commit 2', errText(e29));
      for (const r of res29 ?? []) t.add(' result', `type=${r.type}`, `err=${r.err}`);
    });

    await section(t, 'ephemerals', async () => {
      const zk3 = await connect(connectString);
      clients.push(zk3);
      await call<[string?]>('create', (cb) => zk3.create(`${ROOT}/eph3`, null, open, CreateMode.EPHEMERAL, cb));
      const [, st30] = await call<[Stat | null | undefined]>('exists', (cb) => zk.exists(`${ROOT}/eph3`, undefined, cb));
      t.add('other session ephemeral', statLine(t, st30));
      const gone: string[] = [];
      await call<[Stat | null | undefined]>('exists', (cb) => zk.exists(`${ROOT}/eph3`, (ev) => gone.push(`${ev.getName()} ${ev.getPath()}`), cb));
      zk3.close();
      clients.splice(clients.indexOf(zk3), 1);
      await nextEvent(gone, 1, 'ephemeral of a closed session to go');
      t.add('after close', ...gone);
      const [, kids31] = await call<[string[]?, Stat?]>('getChildren', (cb) => zk.getChildren(ROOT, undefined, cb));
      t.add('children at end', [...(kids31 ?? [])].sort());
    });
    if (!t.failed) t.add('done');
  } catch (err) {
    t.add(`FAIL: ${String(err)}`);
  } finally {
    for (const c of clients) c.close();
  }
  return t.lines;
}

if (require.main === module) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: node dist/test/clients/node-client.js HOST:PORT');
    process.exit(2);
  }
  runNodeClient(target).then(
    (lines) => {
      console.log(lines.join('\n'));
      process.exit(lines.some((l) => l.startsWith('FAIL')) ? 1 : 0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
