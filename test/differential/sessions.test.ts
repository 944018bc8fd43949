// Differential tests of sessions: the handshake (timeout negotiation and clamping, the readOnly
// byte, a client ahead of the server), expiry (a short timeout and no pings: ephemerals go,
// watchers hear it, the old id gets the "expired" answer), reconnecting with the right and the
// wrong password, a second connection taking a session over, pings keeping a session alive,
// closeSession (-11), and requests sent before the handshake answer.
import { test } from 'node:test';
import { OpCode } from '../../src/protocol/constants';
import * as R from '../../src/jute/records';
import { RawClient } from '../helpers/raw-client';
import { differential, utf8 } from './harness';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

test('handshake: timeout clamping, readOnly byte, protocol version, a client ahead of the server', async (t) => {
  await differential(t, { cfg: { minSessionTimeout: '3000', maxSessionTimeout: '9000' } }, async (run) => {
    for (const timeoutMs of [0, -5, 1, 2999, 3000, 3001, 8999, 9000, 9001, 2_000_000_000]) {
      const c = await run.connect(`T${timeoutMs}`, { timeoutMs });
      await run.closeSession(c);
    }
    const old = await run.connect('OLD', { readOnly: null });
    await run.create(old, '/old', null);
    await run.closeSession(old);
    const ro = await run.connect('RO', { readOnly: true });
    await run.getData(ro, '/old');
    await run.closeSession(ro);
    const pv = await run.connect('PV', { protocolVersion: 7 });
    await run.ping(pv);
    await run.closeSession(pv);
    const junkPw = await run.connect('PW', { passwd: Buffer.from('xyz') });
    await run.closeSession(junkPw);
    const nullPw = await run.connect('NP', { passwd: null });
    await run.closeSession(nullPw);
    // A client that has seen a later zxid than the server must go elsewhere: no answer.
    await run.tryConnect('AHEAD', { lastZxidSeen: 1_000_000 });
    const ok = await run.connect('BEHIND', { lastZxidSeen: 3 });
    await run.closeSession(ok);
  });
});

test('expiry: ephemerals deleted, watchers told, the old session id gets the expired answer', async (t) => {
  await differential(t, { cfg: { tickTime: '500' } }, async (run) => {
    const w = await run.connect('W', { timeoutMs: 20_000 });
    const e = await run.connect('E', { timeoutMs: 1000 });
    await run.create(e, '/eph', utf8('e'), 1);
    await run.create(e, '/seq-', null, 3);
    await run.create(e, '/per', null, 0);
    await run.exists(w, '/eph', true);
    await run.getChildren(w, '/', true);
    const sid = e.raw.sessionId;
    const pw = e.raw.session!.passwd;
    // Stop pinging: the session expires after about a second.
    e.raw.destroy();
    await run.waitFor(w, (log) => log.filter((x) => x.kind === 'event').length >= 2, 'the expiry events', 15_000);
    await run.getChildren(w, '/');
    await run.exists(w, '/eph');
    const again = await run.tryConnect('E-again', { sessionId: sid, passwd: pw, timeoutMs: 1000 });
    run.record('E-again closed', await again.raw.closesWithin(3000));
    await run.closeSession(w);
  });
});

test('reconnect: right password resumes, wrong password is refused, a newer connection takes over', async (t) => {
  await differential(t, { cfg: { tickTime: '500' } }, async (run) => {
    const a = await run.connect('A', { timeoutMs: 6000 });
    await run.create(a, '/mine', utf8('m'), 1);
    await run.getData(a, '/mine', true);
    const sid = a.raw.sessionId;
    const pw = a.raw.session!.passwd!;
    a.raw.destroy();
    await a.raw.waitClosed();
    const bad = Buffer.from(pw);
    bad[0] = (bad[0]! + 1) & 0xff;
    const wrong = await run.tryConnect('A-wrong', { sessionId: sid, passwd: bad, timeoutMs: 6000 });
    run.record('A-wrong closed', await wrong.raw.closesWithin(3000));
    const shortPw = await run.tryConnect('A-short', { sessionId: sid, passwd: pw.subarray(0, 8), timeoutMs: 6000 });
    run.record('A-short closed', await shortPw.raw.closesWithin(3000));
    const unknown = await run.tryConnect('U', { sessionId: sid + 12345n, passwd: pw, timeoutMs: 6000 });
    run.record('U closed', await unknown.raw.closesWithin(3000));
    // The right password, with a different timeout: the session (and its ephemeral) survives.
    const a2 = await run.connect('A2', { sessionId: sid, passwd: pw, timeoutMs: 3000 });
    await run.getEphemerals(a2, '/');
    await run.exists(a2, '/mine');
    // The data watch died with the first connection: no event for this change.
    await run.setData(a2, '/mine', utf8('changed'));
    await run.getData(a2, '/mine', true);
    // A third connection for the same session: the server drops the second one.
    const a3 = await run.connect('A3', { sessionId: sid, passwd: pw, timeoutMs: 6000 });
    run.record('A2 closed by takeover', await a2.raw.closesWithin(3000));
    await run.setData(a3, '/mine', utf8('again'));
    await run.getEphemerals(a3, '/');
    await run.closeSession(a3);
    // After closeSession the id is dead.
    const a4 = await run.tryConnect('A4', { sessionId: sid, passwd: pw, timeoutMs: 6000 });
    run.record('A4 closed', await a4.raw.closesWithin(3000));
    const b = await run.connect('B');
    await run.exists(b, '/mine');
    await run.closeSession(b);
  });
});

test('pings keep a short session alive; requests sent before the handshake answer wait for it', async (t) => {
  await differential(t, { cfg: { tickTime: '500' } }, async (run) => {
    const a = await run.connect('A', { timeoutMs: 1000 });
    await run.create(a, '/alive', null, 1);
    // 3 s of pings every 250 ms: three times the session timeout.
    for (let i = 0; i < 12; i++) {
      await a.raw.ping();
      await sleep(250);
    }
    run.record('A still open', !a.raw.closed);
    await run.exists(a, '/alive');
    await run.closeSession(a);
    // ConnectRequest and two requests in one write.
    const b = await run.connect('B0');
    await run.closeSession(b);
    const raw = await RawClient.open(run.port);
    const req1 = frame(1, OpCode.create, R.CreateRequest.serialize({ path: '/early', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 }));
    const req2 = frame(2, OpCode.exists, R.ExistsRequest.serialize({ path: '/early', watch: false }));
    const answered = raw.handshake({ timeoutMs: 10_000 });
    // handshake() already wrote a ConnectRequest; write the requests right behind it.
    raw.sendRaw(Buffer.concat([req1, req2]));
    const a1 = await answered;
    run.record('early connect timeout', a1?.timeOut ?? null);
    await raw.waitFor((log) => log.filter((x) => x.kind === 'reply').length >= 2, 'two replies');
    run.record('early replies', raw.log.map((x) => (x.kind === 'reply' ? { xid: x.xid, err: x.err, zxid: x.zxid, bytes: x.body.length } : x.kind)));
    raw.destroy();
  });
});

function frame(xid: number, type: number, body: Buffer): Buffer {
  const f = Buffer.alloc(12 + body.length);
  f.writeInt32BE(8 + body.length, 0);
  f.writeInt32BE(xid, 4);
  f.writeInt32BE(type, 8);
  body.copy(f, 12);
  return f;
}
