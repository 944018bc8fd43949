/**
 * Quotas live in the tree itself, as Apache ZooKeeper keeps them:
 *   /zookeeper/quota<path>/zookeeper_limits   "count=N,bytes=M[;countHardLimit=..;byteHardLimit=..]" (set by clients)
 *   /zookeeper/quota<path>/zookeeper_stats    "count=N,bytes=M" (maintained by the server)
 * The text format is StatsTrack's: pairs separated by ',' or ';', each `key=value`.
 */

export const QUOTA_ROOT = '/zookeeper/quota';
export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

export function parseStats(data: Buffer | null): Map<string, number> {
  const out = new Map<string, number>();
  if (data === null || data.length === 0) return out;
  for (const pair of data.toString('utf8').split(/[,;]+/)) {
    if (pair === '') continue;
    const [k, v] = pair.split('=');
    if (k === undefined) continue;
    const n = v === undefined || v === '' ? -1 : Number.parseInt(v, 10);
    out.set(k, Number.isNaN(n) ? -1 : n);
  }
  return out;
}

/** StatsTrack.toString, including its stray '=' before extra keys. */
export function formatStats(stats: ReadonlyMap<string, number>): string {
  let s = `count=${stats.get('count') ?? -1},bytes=${stats.get('bytes') ?? -1}`;
  const extra = [...stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
  if (extra.length > 0) {
    s += '=';
    for (const k of extra) s += `;${k}=${stats.get(k)}`;
  }
  return s;
}

export interface QuotaLimits {
  count: number;
  bytes: number;
  countHardLimit: number;
  byteHardLimit: number;
}

export function limitsOf(data: Buffer | null): QuotaLimits {
  const m = parseStats(data);
  return {
    count: m.get('count') ?? -1,
    bytes: m.get('bytes') ?? -1,
    countHardLimit: m.get('countHardLimit') ?? -1,
    byteHardLimit: m.get('byteHardLimit') ?? -1,
  };
}
