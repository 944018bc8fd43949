/**
 * ACLs: the reference-counted ACL cache the tree stores (ReferenceCountedACLCache), the
 * authentication providers Apache ZooKeeper registers by default (ip, digest), ACL fix-up on
 * create/setACL (PrepRequestProcessor.fixupACL) and the permission check (checkACL).
 */
import { createHash } from 'node:crypto';
import { Err, Perms } from '../protocol/constants';
import { KeeperError } from '../protocol/keeper-error';
import type { AclValue, IdValue } from '../jute/records';
import { javaSplit } from './paths';

export const OPEN_ACL_UNSAFE: AclValue[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
export const READ_ACL_UNSAFE: AclValue[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];
/** The cache key Apache ZooKeeper reserves for OPEN_ACL_UNSAFE. */
export const OPEN_UNSAFE_ACL_ID = -1;

function aclKey(acls: readonly AclValue[]): string {
  let k = '';
  for (const a of acls) k += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
  return k;
}

const OPEN_ACL_UNSAFE_KEY = aclKey(OPEN_ACL_UNSAFE);

/** True for a list equal to OPEN_ACL_UNSAFE, the one most znodes carry (its key needs no building). */
function isOpenAclUnsafe(acls: readonly AclValue[]): boolean {
  if (acls.length !== 1) return false;
  const a = acls[0]!;
  return a.perms === Perms.ALL && a.id.scheme === 'world' && a.id.id === 'anyone';
}

/** Interns ACL lists: every znode holds a small integer instead of its own list. */
export class AclCache {
  private nextIndex = 0;
  private readonly byIndex = new Map<number, AclValue[]>();
  private readonly byKey = new Map<string, number>();
  private readonly refCounts = new Map<number, number>();

  /** Interns `acls` and counts one more user of it. */
  intern(acls: AclValue[] | null): number {
    if (acls === null) return OPEN_UNSAFE_ACL_ID;
    const key = isOpenAclUnsafe(acls) ? OPEN_ACL_UNSAFE_KEY : aclKey(acls);
    let index = this.byKey.get(key);
    if (index === undefined) {
      index = ++this.nextIndex;
      this.byIndex.set(index, acls);
      this.byKey.set(key, index);
    }
    this.addUsage(index);
    return index;
  }

  lookup(index: number): AclValue[] {
    if (index === OPEN_UNSAFE_ACL_ID) return OPEN_ACL_UNSAFE;
    const acls = this.byIndex.get(index);
    if (acls === undefined) throw new Error(`ACL index ${index} is not in the cache`);
    return acls;
  }

  addUsage(index: number, count = 1): void {
    if (index === OPEN_UNSAFE_ACL_ID) return;
    this.refCounts.set(index, (this.refCounts.get(index) ?? 0) + count);
  }

  removeUsage(index: number): void {
    if (index === OPEN_UNSAFE_ACL_ID) return;
    const n = (this.refCounts.get(index) ?? 0) - 1;
    if (n > 0) {
      this.refCounts.set(index, n);
      return;
    }
    this.refCounts.delete(index);
    const acls = this.byIndex.get(index);
    if (acls !== undefined) this.byKey.delete(aclKey(acls));
    this.byIndex.delete(index);
  }

  size(): number {
    return this.byIndex.size;
  }

  /** Every interned list with its index, for snapshots. */
  entries(): IterableIterator<[number, AclValue[]]> {
    return this.byIndex.entries();
  }
}

// ---- authentication providers -------------------------------------------------------------

/** `user:base64(sha1(user:password))`, DigestAuthenticationProvider.generateDigest. */
export function generateDigest(idPassword: string): string {
  const user = javaSplit(idPassword, ':', 2)[0]!;
  const sha1 = createHash('sha1').update(idPassword, 'utf8').digest('base64');
  return `${user}:${sha1}`;
}

function ipv4Bytes(addr: string): number[] | null {
  const parts = addr.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[+-]?\d+$/.test(p)) return null;
    const v = Number.parseInt(p, 10);
    if (v < 0 || v > 255) return null;
    out.push(v);
  }
  return out;
}

function maskBytes(b: number[], bits: number): void {
  let start = Math.floor(bits / 8);
  let startMask = ~((1 << (8 - (bits % 8))) - 1);
  while (start < b.length) {
    b[start] = b[start]! & startMask & 0xff;
    startMask = 0;
    start++;
  }
}

function parseBits(s: string, max: number): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const bits = Number.parseInt(s, 10);
  return bits < 0 || bits > max ? null : bits;
}

export interface AuthProvider {
  readonly scheme: string;
  /** Whether ids of this scheme stand for an authenticated user (expands the `auth` scheme). */
  readonly isAuthenticated: boolean;
  isValid(id: string): boolean;
  matches(id: string, aclExpr: string): boolean;
  userName(id: string): string;
}

const ipProvider: AuthProvider = {
  scheme: 'ip',
  isAuthenticated: false,
  isValid(id) {
    const parts = javaSplit(id, '/', 2);
    const addr = ipv4Bytes(parts[0]!);
    if (addr === null) return false;
    return parts.length !== 2 || parseBits(parts[1]!, addr.length * 8) !== null;
  },
  matches(id, aclExpr) {
    const parts = javaSplit(aclExpr, '/', 2);
    const aclAddr = ipv4Bytes(parts[0]!);
    if (aclAddr === null) return false;
    let bits = aclAddr.length * 8;
    if (parts.length === 2) {
      const b = parseBits(parts[1]!, aclAddr.length * 8);
      if (b === null) return false;
      bits = b;
    }
    maskBytes(aclAddr, bits);
    const remote = ipv4Bytes(id);
    if (remote === null) return false;
    maskBytes(remote, bits);
    return remote.every((v, i) => v === aclAddr[i]);
  },
  userName: (id) => id,
};

const digestProvider: AuthProvider = {
  scheme: 'digest',
  isAuthenticated: true,
  isValid: (id) => javaSplit(id, ':').length === 2,
  matches: (id, aclExpr) => id === aclExpr,
  userName: (id) => javaSplit(id, ':')[0] ?? '',
};

/** The providers Apache ZooKeeper's ProviderRegistry registers without extra configuration. */
export const AUTH_PROVIDERS: ReadonlyMap<string, AuthProvider> = new Map([
  ['ip', ipProvider],
  ['digest', digestProvider],
]);

export interface AuthOptions {
  /** `zookeeper.DigestAuthenticationProvider.superDigest`: `user:base64sha1`. */
  superDigest: string | null;
  /** `zookeeper.skipACL=yes` turns every check off. */
  skipACL: boolean;
}

/**
 * The ids an `addauth` adds, or null when the scheme is unknown (AUTHFAILED).
 * `remoteAddress` is the client's address as Java prints it (for the ip scheme).
 */
export function authenticate(scheme: string, auth: Buffer | null, remoteAddress: string, opts: AuthOptions): IdValue[] | null {
  if (scheme === 'digest') {
    const digest = generateDigest((auth ?? Buffer.alloc(0)).toString('utf8'));
    const ids: IdValue[] = [];
    if (opts.superDigest !== null && digest === opts.superDigest) ids.push({ scheme: 'super', id: '' });
    ids.push({ scheme: 'digest', id: digest });
    return ids;
  }
  if (scheme === 'ip') return [{ scheme: 'ip', id: remoteAddress }];
  return null;
}

/** PrepRequestProcessor.fixupACL: de-duplicates, validates and expands `auth` ids. */
export function fixupAcl(path: string, authInfo: readonly IdValue[], acls: readonly AclValue[]): AclValue[] {
  // The usual case, a single world:anyone entry (OPEN_ACL_UNSAFE, READ_ACL_UNSAFE): kept as it is.
  if (acls.length === 1) {
    const a = acls[0]!;
    if (a.id.scheme === 'world' && a.id.id === 'anyone') return [a];
  }
  const uniq: AclValue[] = [];
  const seen = new Set<string>();
  for (const a of acls) {
    const k = aclKey([a]);
    if (!seen.has(k)) {
      seen.add(k);
      uniq.push(a);
    }
  }
  if (uniq.length === 0) throw new KeeperError(Err.INVALIDACL, path);
  const out: AclValue[] = [];
  for (const a of uniq) {
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') {
      out.push(a);
    } else if (scheme === 'auth') {
      let valid = false;
      for (const cid of authInfo) {
        const ap = AUTH_PROVIDERS.get(cid.scheme);
        if (ap !== undefined && ap.isAuthenticated) {
          valid = true;
          out.push({ perms: a.perms, id: cid });
        }
      }
      if (!valid) throw new KeeperError(Err.INVALIDACL, path);
    } else {
      const ap = AUTH_PROVIDERS.get(scheme);
      if (ap === undefined || !ap.isValid(id)) throw new KeeperError(Err.INVALIDACL, path);
      out.push(a);
    }
  }
  return out;
}

/** ZooKeeperServer.checkACL: throws NOAUTH unless one of `authInfo` grants `perm`. */
export function checkAcl(acls: readonly AclValue[], perm: number, authInfo: readonly IdValue[], opts: AuthOptions): void {
  if (opts.skipACL) return;
  if (acls.length === 0) return;
  for (const a of authInfo) if (a.scheme === 'super') return;
  for (const a of acls) {
    if ((a.perms & perm) === 0) continue;
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') return;
    const ap = AUTH_PROVIDERS.get(scheme);
    if (ap === undefined) continue;
    for (const authId of authInfo) {
      if (authId.scheme === scheme && ap.matches(authId.id, id)) return;
    }
  }
  throw new KeeperError(Err.NOAUTH);
}

/** whoAmI's ClientInfo for an id (AuthUtil.getClientInfos). */
export function userOf(id: IdValue): string {
  const ap = AUTH_PROVIDERS.get(id.scheme);
  return ap === undefined ? '' : ap.userName(id.id);
}

/** Jute's generated Id.hashCode: 37 * (37 * 17 + scheme.hashCode()) + id.hashCode(), in int32. */
function idHashCode(id: IdValue): number {
  const h = (s: string): number => {
    let x = 0;
    for (let i = 0; i < s.length; i++) x = (Math.imul(x, 31) + s.charCodeAt(i)) | 0;
    return x;
  };
  return (Math.imul((Math.imul(17, 37) + h(id.scheme)) | 0, 37) + h(id.id)) | 0;
}

/**
 * A connection's auth ids in the order Apache ZooKeeper reports them (whoAmI, `auth` ACL
 * expansion): it keeps them in a ConcurrentHashMap-backed set, which iterates by bin index
 * (spread hash & (table size - 1), table 16 until 12 entries), then insertion order in a bin.
 */
export function orderAuthInfo(ids: readonly IdValue[]): IdValue[] {
  let cap = 16;
  while (ids.length >= cap * 0.75) cap *= 2;
  return ids
    .map((id, i) => {
      const h = idHashCode(id);
      return { id, bin: (h ^ (h >>> 16)) & 0x7fffffff & (cap - 1), i };
    })
    .sort((a, b) => a.bin - b.bin || a.i - b.i)
    .map((x) => x.id);
}
