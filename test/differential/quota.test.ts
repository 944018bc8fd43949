// Differential tests of quotas. The quota nodes are written by hand the way zkCli's setquota
// writes them (/zookeeper/quota/<path>/zookeeper_limits, then zookeeper_stats), so the test
// also covers how the server maintains zookeeper_stats. With -Dzookeeper.enforceQuota=true a
// hard count or byte limit turns a create or setData into QUOTAEXCEEDED; soft limits and
// servers without enforcement only log.
import { test } from 'node:test';
import { differential, utf8, type Client, type Run } from './harness';

/** StatsTrack.toString of zkCli 3.8 for soft and hard limits. */
function limits(count: number, bytes: number, countHard: number, bytesHard: number): Buffer {
  return utf8(`count=${count},bytes=${bytes}=;byteHardLimit=${bytesHard};countHardLimit=${countHard}`);
}

async function setQuota(run: Run, c: Client, path: string, data: Buffer): Promise<void> {
  let at = '/zookeeper/quota';
  for (const part of path.split('/').filter((x) => x !== '')) {
    at += `/${part}`;
    await run.create(c, at, null);
  }
  await run.create(c, `${at}/zookeeper_limits`, data);
  await run.create(c, `${at}/zookeeper_stats`, utf8('count=0,bytes=0'));
}

async function quotaScenario(run: Run): Promise<void> {
  const a = await run.connect('A');
  await run.create(a, '/q', utf8('12345'));
  await run.create(a, '/q/one', utf8('1'));
  await setQuota(run, a, '/q', limits(-1, -1, 4, 20));
  await run.getData(a, '/zookeeper/quota/q/zookeeper_stats');
  await run.getData(a, '/zookeeper/quota/q/zookeeper_limits');
  await run.create(a, '/q/two', utf8('22'));
  await run.create(a, '/q/three', null);
  await run.getData(a, '/zookeeper/quota/q/zookeeper_stats');
  await run.create(a, '/q/four', null);
  await run.create(a, '/q/one/deep', null);
  await run.create2(a, '/q/seq-', null, 2);
  await run.multi(a, [{ op: 'create', path: '/q/m', data: null }], 'multi create over quota');
  await run.setData(a, '/q/two', utf8('0123456789'));
  await run.setData(a, '/q/two', utf8('0123456789abcdef'));
  await run.setData(a, '/q', null);
  await run.setData(a, '/q/two', utf8('0123456789abcdef'));
  await run.getData(a, '/zookeeper/quota/q/zookeeper_stats');
  await run.delete(a, '/q/three');
  await run.create(a, '/q/four', utf8('4'));
  await run.getData(a, '/zookeeper/quota/q/zookeeper_stats');
  // Soft limits only: everything passes.
  await run.create(a, '/soft', null);
  await setQuota(run, a, '/soft', limits(1, 2, -1, -1));
  await run.create(a, '/soft/a', utf8('abcdef'));
  await run.create(a, '/soft/b', null);
  await run.getData(a, '/zookeeper/quota/soft/zookeeper_stats');
  // A nested quota: the deepest one applies.
  await run.create(a, '/n', null);
  await run.create(a, '/n/inner', null);
  await setQuota(run, a, '/n', limits(-1, -1, 100, -1));
  await setQuota(run, a, '/n/inner', limits(-1, -1, 2, -1));
  await run.create(a, '/n/inner/x', null);
  await run.create(a, '/n/inner/y', null);
  await run.create(a, '/n/z', null);
  await run.getData(a, '/zookeeper/quota/n/zookeeper_stats');
  await run.getData(a, '/zookeeper/quota/n/inner/zookeeper_stats');
  // Removing the limit node lifts the quota.
  await run.delete(a, '/zookeeper/quota/n/inner/zookeeper_limits');
  await run.create(a, '/n/inner/w', null);
  await run.closeSession(a);
}

test('quotas with enforcement: hard count and byte limits', async (t) => {
  await differential(t, { props: { 'zookeeper.enforceQuota': 'true' } }, quotaScenario);
});

test('quotas without enforcement: limits only tracked', async (t) => {
  await differential(t, {}, quotaScenario);
});
