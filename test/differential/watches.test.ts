// A client's watch events are queued to it before the reply to the write that caused them goes
// out, in both servers; so once that reply is in, any later request of the watcher (a ping here)
// is answered after the events: no waiting on timers is needed.
//
// Differential tests of watches: one-shot data/exist/child watches and the order of their
// events relative to replies, checkWatches (17), removeWatches (18), addWatch (106) with the
// persistent and persistent-recursive event streams, and setWatches (101) / setWatches2 (105)
// replaying missed events after a reconnect.
import { test } from 'node:test';
import { AddWatchMode, WatcherType } from '../../src/protocol/constants';
import { differential, utf8 } from './harness';

test('one-shot watches: which events fire, once, and before the reply that caused them', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    const w = await run.connect('W');
    await run.create(a, '/w', utf8('0'));
    await run.create(a, '/w/c1', null);
    // The same client watches and writes: its event must precede its reply.
    await run.getData(a, '/w', true);
    await run.setData(a, '/w', utf8('1'));
    await run.setData(a, '/w', utf8('2'));
    // Another client's watches: data, exists (present and absent), children.
    await run.getData(w, '/w', true);
    await run.exists(w, '/w/c1', true);
    await run.exists(w, '/w/absent', true);
    await run.getChildren(w, '/w', true);
    await run.getChildren2(w, '/w/c1', true);
    await run.getData(w, '/w/missing', true);
    await run.getChildren(w, '/w/missing', true);
    await run.create(a, '/w/absent', null);
    await run.create(a, '/w/missing', null);
    await run.setData(a, '/w', utf8('3'));
    await run.setData(a, '/w', utf8('4'));
    await run.create(a, '/w/c1/g', null);
    await run.delete(a, '/w/c1/g');
    await run.ping(w);
    // Data and child watch of one client on one node: what deleting it delivers.
    await run.getData(w, '/w/c1', true);
    await run.getChildren(w, '/w/c1', true);
    await run.exists(w, '/w/c1', true);
    await run.delete(a, '/w/c1');
    await run.ping(w);
    // Watches set twice, and set by two clients.
    await run.exists(w, '/w/twice', true);
    await run.exists(w, '/w/twice', true);
    await run.exists(a, '/w/twice', true);
    await run.create(a, '/w/twice', null, 1);
    await run.ping(w);
    // A watch on the root and on a system node.
    await run.getChildren(w, '/', true);
    await run.getData(w, '/zookeeper/config', true);
    await run.create(a, '/top', null);
    await run.ping(w);
    // Closing the session deletes its ephemeral: watchers hear of it.
    await run.exists(w, '/w/twice', true);
    await run.getChildren(w, '/w', true);
    await run.closeSession(a);
    await run.ping(w);
    await run.closeSession(w);
  });
});

test('checkWatches and removeWatches for each watcher type', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    const b = await run.connect('B');
    await run.create(a, '/r', null);
    await run.create(a, '/r/x', null);
    for (const type of [WatcherType.Children, WatcherType.Data, WatcherType.Any]) {
      await run.checkWatches(a, '/r', type);
      await run.removeWatches(a, '/r', type);
    }
    await run.getData(a, '/r', true);
    await run.checkWatches(a, '/r', WatcherType.Data);
    await run.checkWatches(a, '/r', WatcherType.Children);
    await run.checkWatches(a, '/r', WatcherType.Any);
    await run.checkWatches(b, '/r', WatcherType.Data);
    await run.removeWatches(b, '/r', WatcherType.Data);
    await run.removeWatches(a, '/r', WatcherType.Children);
    await run.removeWatches(a, '/r', WatcherType.Data);
    await run.checkWatches(a, '/r', WatcherType.Any);
    await run.getChildren(a, '/r', true);
    await run.exists(a, '/r/none', true);
    await run.checkWatches(a, '/r', WatcherType.Children);
    await run.checkWatches(a, '/r/none', WatcherType.Data);
    await run.removeWatches(a, '/r', WatcherType.Any);
    await run.removeWatches(a, '/r/none', WatcherType.Any);
    await run.checkWatches(a, '/r', WatcherType.Any);
    // Removed watches do not fire.
    await run.create(b, '/r/none', null);
    await run.setData(b, '/r', utf8('changed'));
    await run.getData(a, '/r', true);
    await run.getChildren(a, '/r', true);
    await run.removeWatches(a, '/r', WatcherType.Any);
    await run.checkWatches(a, '/r', WatcherType.Any);
    await run.checkWatches(a, '/missing', WatcherType.Any);
    await run.removeWatches(a, '/missing', WatcherType.Data);
    await run.checkWatches(a, 'bad', WatcherType.Data);
    await run.checkWatches(a, '/r', 0);
    await run.checkWatches(a, '/r', 4);
    run.record('A closed after bad type', await a.raw.closesWithin(1500));
    await run.removeWatches(b, '/r', 7);
    run.record('B closed after bad type', await b.raw.closesWithin(1500));
    const c = await run.connect('C');
    await run.addWatch(c, '/r', AddWatchMode.PERSISTENT);
    await run.checkWatches(c, '/r', WatcherType.Data);
    await run.checkWatches(c, '/r', WatcherType.Children);
    await run.checkWatches(c, '/r', WatcherType.Any);
    await run.removeWatches(c, '/r', WatcherType.Data);
    await run.checkWatches(c, '/r', WatcherType.Any);
    await run.removeWatches(c, '/r', WatcherType.Any);
    await run.checkWatches(c, '/r', WatcherType.Any);
    await run.addWatch(c, '/r', AddWatchMode.PERSISTENT_RECURSIVE);
    await run.checkWatches(c, '/r/x', WatcherType.Any);
    await run.checkWatches(c, '/r', WatcherType.Children);
    await run.removeWatches(c, '/r', WatcherType.Children);
    await run.removeWatches(c, '/r', WatcherType.Any);
    await run.closeSession(c);
  });
});

test('addWatch: persistent and persistent-recursive event streams', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    const p = await run.connect('P');
    const r = await run.connect('R');
    await run.addWatch(p, '/p', AddWatchMode.PERSISTENT);
    await run.addWatch(r, '/p', AddWatchMode.PERSISTENT_RECURSIVE);
    await run.addWatch(r, '/', AddWatchMode.PERSISTENT_RECURSIVE);
    await run.addWatch(p, '/p/c', AddWatchMode.PERSISTENT);
    await run.addWatch(p, 'bad', AddWatchMode.PERSISTENT);
    await run.addWatch(p, '/p', 2);
    await run.create(a, '/p', utf8('0'));
    await run.setData(a, '/p', utf8('1'));
    await run.create(a, '/p/c', null);
    await run.create(a, '/p/c/g', null);
    await run.setData(a, '/p/c/g', utf8('g'));
    await run.setData(a, '/p/c', utf8('c'));
    await run.delete(a, '/p/c/g');
    await run.delete(a, '/p/c');
    await run.create(a, '/p/s-', null, 2);
    await run.create(a, '/p/e', null, 1);
    await run.multi(a, [
      { op: 'create', path: '/p/m1', data: null },
      { op: 'setData', path: '/p', data: utf8('2') },
      { op: 'delete', path: '/p/m1' },
    ]);
    // A one-shot watch on the same node as a persistent one of the same client.
    await run.getData(p, '/p', true);
    await run.setData(a, '/p', utf8('3'));
    await run.setData(a, '/p', utf8('4'));
    await run.closeSession(a);
    await run.ping(r);
    await run.ping(p);
    await run.removeWatches(p, '/p', WatcherType.Any);
    await run.removeWatches(r, '/p', WatcherType.Any);
    const b = await run.connect('B');
    await run.delete(b, '/p/s-0000000002');
    await run.create(b, '/q', null);
    await run.closeSession(b);
    await run.ping(r);
    await run.closeSession(p);
    await run.closeSession(r);
  });
});

test('setWatches and setWatches2 replay what a reconnecting client missed', async (t) => {
  await differential(t, {}, async (run) => {
    const a = await run.connect('A');
    const w = await run.connect('W', { timeoutMs: 30000 });
    await run.create(a, '/s', utf8('0'));
    await run.create(a, '/s/keep', utf8('k'));
    await run.create(a, '/s/gone', null);
    await run.create(a, '/s/same', null);
    await run.getData(w, '/s/keep', true);
    const seen = await run.getData(w, '/s/gone', true);
    const lastZxid = seen.zxid;
    // W's connection drops; the session lives on. Changes happen meanwhile.
    w.raw.destroy();
    await w.raw.waitClosed();
    await run.setData(a, '/s/keep', utf8('k2'));
    await run.delete(a, '/s/gone');
    await run.create(a, '/s/born', null);
    await run.create(a, '/s/keep/child', null);
    const w2 = await run.connect('W2', { sessionId: w.raw.sessionId, passwd: w.raw.session!.passwd, lastZxidSeen: lastZxid });
    await run.setWatches(w2, lastZxid, ['/s/keep', '/s/gone', '/s/same', '/s/absent'], ['/s/born', '/s/never'], ['/s', '/s/keep', '/s/same', '/s/absent']);
    await run.ping(w2);
    await run.getData(w2, '/s/keep');
    // Watches re-registered by setWatches for unchanged nodes fire on the next change.
    await run.setData(a, '/s/same', utf8('x'));
    await run.create(a, '/s/never', null);
    await run.ping(w2);
    // A relativeZxid ahead of everything replays nothing but registers the watches.
    const w3 = await run.connect('W3');
    await run.setWatches(w3, 1_000_000, ['/s/keep'], ['/s/none'], ['/s']);
    await run.setData(a, '/s/keep', utf8('k3'));
    await run.create(a, '/s/none', null);
    await run.ping(w3);
    // setWatches2 with persistent and recursive watches: no replay for those, only registration.
    const w4 = await run.connect('W4');
    await run.setWatches2(w4, 2, { data: ['/s/keep'], exist: ['/s/later'], child: ['/s/keep'], persistent: ['/s'], recursive: ['/s/keep'] });
    await run.ping(w4);
    await run.create(a, '/s/later', null);
    await run.setData(a, '/s/keep/child', utf8('c'));
    await run.delete(a, '/s/keep/child');
    await run.ping(w4);
    await run.closeSession(a);
    await run.closeSession(w2);
    await run.closeSession(w3);
    await run.closeSession(w4);
  });
});
