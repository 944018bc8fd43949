// Four-letter words, compared with Apache ZooKeeper 3.8: both servers get the same client
// traffic (populate) and the same words in the same order, and each answer is compared after
// replacing what legitimately differs (ports, session ids, times, paths, sizes, the version).
// mntr is compared key by key: the same keys in the same order, and the same values for every
// key that does not measure time, memory or the process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as R from '../../src/jute/records';
import { OpCode } from '../../src/protocol/constants';
import { OPEN_ACL } from '../differential/harness';
import { RawClient } from '../helpers/raw-client';
import { startOurs, startRef } from '../helpers/servers';
import { fourLetter, populate, requireRef, sendRaw, startOursRaw } from './harness';

const WORDS = ['conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'srst', 'srvr', 'stat', 'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash'];

function common(s: string): string {
  return s
    .replace(/^Zookeeper version: .*$/m, 'Zookeeper version: <VERSION>')
    .replace(/\/127\.0\.0\.1:\d+/g, '/127.0.0.1:<PORT>')
    .replace(/0x[0-9a-f]{9,16}/g, '<SID>');
}

const NORMALIZE: Record<string, (s: string) => string> = {
  conf: (s) =>
    common(s)
      .replace(/^clientPort=\d+$/m, 'clientPort=<PORT>')
      .replace(/^(dataDir|dataLogDir)=.*$/gm, '$1=<DIR>')
      .replace(/^(dataDirSize|dataLogSize)=\d+$/gm, '$1=<SIZE>'),
  cons: (s) =>
    common(s)
      .replace(/(est|lresp|llat|minlat|avglat|maxlat)=\d+/g, '$1=<N>')
      .split('\n')
      .sort()
      .join('\n'),
  dirs: (s) => s.replace(/\d+/g, '<SIZE>'),
  dump: (s) => {
    const t = common(s).replace(/expire at .*:$/gm, 'expire at <DATE>:');
    // Connections expire in buckets of activity time, which differ with timing: keep the
    // total and the connection lines, not their grouping.
    const [head, conns = ''] = t.split('Connections dump:\n');
    const lines = conns.split('\n').filter((l) => l.startsWith('\tip:')).sort();
    const total = /Connections Sets \(\d+\)\/\((\d+)\)/.exec(conns)?.[1];
    return `${head}Connections dump: ${total} connections\n${lines.join('\n')}`;
  },
  envi: (s) =>
    s
      .split('\n')
      .map((l) => l.split('=')[0])
      .join('\n'),
  srvr: (s) => common(s).replace(/^Latency min\/avg\/max: .*$/m, 'Latency min/avg/max: <L>'),
  stat: (s) => {
    const t = common(s).replace(/^Latency min\/avg\/max: .*$/m, 'Latency min/avg/max: <L>');
    const [head, rest = ''] = t.split('Clients:\n');
    const [clients, tail = ''] = rest.split('\n\n');
    return `${head}Clients:\n${clients!.split('\n').sort().join('\n')}\n\n${tail}`;
  },
};

/** mntr keys whose values measure the process or the clock rather than the server's state. */
const MNTR_VOLATILE = new Set(['version', 'uptime', 'open_file_descriptor_count', 'max_file_descriptor_count']);

function mntrPairs(s: string): [string, string][] {
  return s
    .split('\n')
    .filter((l) => l !== '')
    .map((l): [string, string] => {
      const [k, v] = l.split('\t') as [string, string];
      return [k.replace(/^zk_/, ''), v];
    });
}

test('four-letter words: same answers as Apache ZooKeeper 3.8', async (t) => {
  if (!requireRef(t)) return;
  const [ref, ours] = await Promise.all([startRef(), startOurs()]);
  t.after(() => Promise.all([ref.stop(), ours.stop()]));
  const [rc, oc] = await Promise.all([populate(ref.port), populate(ours.port)]);
  t.after(() => Promise.all([rc.close().catch(() => null), oc.close().catch(() => null)]));

  const answers = new Map<string, [string, string]>();
  for (const w of WORDS) {
    const [r, o] = await Promise.all([fourLetter(ref.port, w), fourLetter(ours.port, w)]);
    answers.set(w, [r, o]);
  }
  for (const w of WORDS) {
    await t.test(w, () => {
      const [r, o] = answers.get(w)!;
      if (w === 'mntr') {
        const rp = mntrPairs(r);
        const op = mntrPairs(o);
        assert.deepEqual(op.map(([k]) => k), rp.map(([k]) => k), 'mntr keys and their order');
        const rv = new Map(rp);
        const diffs = op.filter(([k, v]) => !MNTR_VOLATILE.has(k) && rv.get(k) !== v).map(([k, v]) => `${k}: ours ${v}, ref ${rv.get(k)}`);
        assert.deepEqual(diffs, [], 'mntr values');
        return;
      }
      const norm = NORMALIZE[w] ?? common;
      assert.equal(norm(o), norm(r));
    });
  }
});

test('four-letter words: whitelist, telnet close, trailing newline, stmk', async (t) => {
  if (!requireRef(t)) return;
  const extraCfg = { '4lw.commands.whitelist': 'ruok, gtmk,stmk' };
  const [ref, ours] = await Promise.all([startRef({ extraCfg }), startOurs({ extraCfg })]);
  t.after(() => Promise.all([ref.stop(), ours.stop()]));
  const both = async (bytes: Buffer) => {
    const [r, o] = await Promise.all([sendRaw(ref.port, bytes), sendRaw(ours.port, bytes)]);
    return { r, o };
  };
  for (const w of ['ruok', 'stat', 'conf', 'mntr', 'wchc', 'isro', 'gtmk']) {
    const { r, o } = await both(Buffer.from(w));
    assert.equal(o.answer, r.answer, w);
  }
  assert.equal((await fourLetter(ours.port, 'stat')).toString(), 'stat is not executed because it is not in the whitelist.\n');
  // srvr is always enabled: zkServer.sh status depends on it.
  assert.match(await fourLetter(ours.port, 'srvr'), /^Zookeeper version: /);
  // netcat and echo send a newline after the word; only the first 4 bytes count.
  {
    const { r, o } = await both(Buffer.from('ruok\n'));
    assert.equal(o.answer, 'imok');
    assert.equal(o.answer, r.answer);
  }
  // telnet's interrupt sequence is a word too; not whitelisted, it gets the refusal.
  {
    const { r, o } = await both(Buffer.from([0xff, 0xf4, 0xff, 0xfd]));
    assert.equal(o.answer, r.answer);
    assert.equal(o.answer, 'telnet close is not executed because it is not in the whitelist.\n');
  }
  // stmk takes the mask as the 8 bytes after the word and answers it; gtmk reads it back.
  {
    const mask = Buffer.alloc(12);
    mask.write('stmk', 0, 'ascii');
    mask.writeBigInt64BE(0x1234n, 4);
    const { r, o } = await both(mask);
    assert.equal(o.answer, r.answer);
    assert.equal(o.answer, String(0x1234));
    const g = await both(Buffer.from('gtmk'));
    assert.equal(g.o.answer, g.r.answer);
  }
});

test('four-letter words: the default whitelist is srvr alone; * also enables telnet close', async (t) => {
  if (!requireRef(t)) return;
  const ours = await startOursRaw(['tickTime=2000', 'admin.enableServer=false']);
  t.after(() => ours.stop());
  for (const w of ['ruok', 'stat', 'mntr', 'conf', 'isro']) {
    assert.equal(await fourLetter(ours.port, w), `${w} is not executed because it is not in the whitelist.\n`, w);
  }
  assert.match(await fourLetter(ours.port, 'srvr'), /Mode: standalone\n/);
  // With everything enabled, telnet close closes the connection without an answer, as in ZooKeeper.
  const [ref, all] = await Promise.all([startRef(), startOurs()]);
  t.after(() => Promise.all([ref.stop(), all.stop()]));
  const bytes = Buffer.from([0xff, 0xf4, 0xff, 0xfd]);
  const [r, o] = await Promise.all([sendRaw(ref.port, bytes), sendRaw(all.port, bytes)]);
  assert.deepEqual(o, r);
  assert.deepEqual(o, { answer: '', closed: true });
});

/**
 * Reads and writes in 30 namespaces (past 12, so ZooKeeper's per-key map resizes and reorders),
 * plus requests that count nothing: getACL, exists of an absent node, reads of the root.
 */
async function namespaceTraffic(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port, { timeoutMs: 30000 });
  const must = async (p: Promise<{ err: number }>, what: string) => {
    const r = await p;
    if (r.err !== 0) throw new Error(`${what}: err ${r.err}`);
  };
  // Bounded: 30 namespaces, a handful of requests each.
  for (let i = 0; i < 30; i++) {
    const ns = `/ns${i}`;
    await must(c.request(OpCode.create, R.CreateRequest, { path: ns, data: Buffer.alloc(i, 0x62), acl: OPEN_ACL, flags: 0 }), `create ${ns}`);
    if (i % 2 === 0) await must(c.request(OpCode.create, R.CreateRequest, { path: `${ns}/child-${i}`, data: null, acl: OPEN_ACL, flags: 0 }), 'create child');
    if (i % 3 === 0) await must(c.request(OpCode.getData, R.GetDataRequest, { path: ns, watch: false }), 'getData');
    if (i % 4 === 0) await must(c.request(OpCode.getChildren2, R.GetChildren2Request, { path: ns, watch: false }), 'getChildren2');
    if (i % 5 === 0) await must(c.request(OpCode.exists, R.ExistsRequest, { path: ns, watch: false }), 'exists');
    if (i % 6 === 0) await must(c.request(OpCode.setData, R.SetDataRequest, { path: ns, data: Buffer.from('changed'), version: -1 }), 'setData');
    if (i % 7 === 0 && i % 2 === 0) await must(c.request(OpCode.delete, R.DeleteRequest, { path: `${ns}/child-${i}`, version: -1 }), 'delete');
  }
  await c.request(OpCode.getACL, R.GetACLRequest, { path: '/ns1' });
  await c.request(OpCode.exists, R.ExistsRequest, { path: '/absent/x', watch: false });
  await c.request(OpCode.getData, R.GetDataRequest, { path: '/', watch: false });
  await c.request(OpCode.getChildren, R.GetChildrenRequest, { path: '/', watch: false });
  return c;
}

test('mntr: per-namespace read/write summaries and fsynctime, as Apache ZooKeeper 3.8 reports them', async (t) => {
  if (!requireRef(t)) return;
  const [ref, ours] = await Promise.all([startRef(), startOurs()]);
  t.after(() => Promise.all([ref.stop(), ours.stop()]));
  const [rc, oc] = await Promise.all([namespaceTraffic(ref.port), namespaceTraffic(ours.port)]);
  t.after(() => Promise.all([rc.close().catch(() => null), oc.close().catch(() => null)]));
  const [r, o] = await Promise.all([fourLetter(ref.port, 'mntr'), fourLetter(ours.port, 'mntr')]);
  const perNs = (s: string) => mntrPairs(s).filter(([k]) => k.endsWith('_per_namespace'));
  // Every value is a byte count, so keys, their order and their values must all agree.
  assert.deepEqual(perNs(o), perNs(r));
  // Writes in all 30 namespaces, reads in the 18 whose number is a multiple of 3, 4 or 5.
  assert.equal(perNs(o).length, 5 * (30 + 18));
  // fsynctime: one sample per log sync; both servers synced at least once for these writes.
  const fsync = (s: string) => new Map(mntrPairs(s).filter(([k]) => k.endsWith('_fsynctime')));
  for (const [who, m] of [['ref', fsync(r)], ['ours', fsync(o)]] as const) {
    assert.deepEqual([...m.keys()], ['avg_fsynctime', 'min_fsynctime', 'max_fsynctime', 'cnt_fsynctime', 'sum_fsynctime'], who);
    assert.ok(Number(m.get('cnt_fsynctime')) >= 1, `${who}: cnt_fsynctime ${m.get('cnt_fsynctime')}`);
  }
});
