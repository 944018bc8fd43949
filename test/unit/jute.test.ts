import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JuteError, JuteReader, JuteWriter } from '../../src/jute/codec';
import * as R from '../../src/jute/records';
import { generatePassword } from '../../src/server/session-password';
import { javaHashSetOrder, javaStringHash } from '../../src/tree/java-hash-order';

test('Stat round-trips and has the 68-byte layout of Apache ZooKeeper', () => {
  const stat = {
    czxid: 0x100000002,
    mzxid: 3,
    ctime: 1700000000000,
    mtime: 1700000000001,
    version: 1,
    cversion: -1,
    aversion: 2,
    ephemeralOwner: 0x0100000abcdef012n,
    dataLength: 5,
    numChildren: 0,
    pzxid: 4,
  };
  const buf = R.Stat.serialize(stat);
  assert.equal(buf.length, 6 * 8 + 5 * 4);
  assert.deepEqual(R.Stat.deserialize(buf), stat);
  assert.equal(buf.readBigInt64BE(0), 0x100000002n);
});

test('null buffers and vectors use length -1; ustring null reads as empty', () => {
  const w = new JuteWriter(4);
  w.buffer(null);
  w.ustring(null);
  w.int(-1);
  const r = new JuteReader(w.finish());
  assert.equal(r.buffer(), null);
  assert.equal(r.ustring(), '');
  assert.equal(r.vectorCount(), 0);
});

test('the reader rejects truncation, negative lengths and lying vector counts', () => {
  assert.throws(() => R.Stat.deserialize(Buffer.alloc(10)), JuteError);
  const neg = Buffer.alloc(4);
  neg.writeInt32BE(-5);
  assert.throws(() => new JuteReader(neg).buffer(), JuteError);
  const big = Buffer.alloc(8);
  big.writeInt32BE(1000);
  assert.throws(() => new JuteReader(big).vectorCount(), JuteError);
  const huge = Buffer.alloc(4);
  huge.writeInt32BE(0x7fffffff);
  assert.throws(() => new JuteReader(huge).ustring(), /jute.maxbuffer/);
});

test('CreateRequest golden bytes match the Java client encoding', () => {
  // create("/a", "x", OPEN_ACL_UNSAFE, PERSISTENT) as ZooKeeper's BinaryOutputArchive writes it.
  const bytes = R.CreateRequest.serialize({
    path: '/a',
    data: Buffer.from('x'),
    acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
    flags: 0,
  });
  assert.equal(
    bytes.toString('hex'),
    '000000022f61' + '0000000178' + '00000001' + '0000001f' + '00000005776f726c64' + '00000006616e796f6e65' + '00000000',
  );
});

test('session passwords follow java.util.Random seeded with id ^ 0xB3415C00', () => {
  // new Random(0 ^ 0xB3415C00L).nextBytes(16 bytes), computed with the JDK.
  assert.equal(generatePassword(0n).toString('hex'), 'f22acd4a97e69d6d20a49bb638eadb38');
  assert.equal(generatePassword(0x0100000abcdef012n).toString('hex'), '189247c200396955d15b1ce6e5fb05d5');
});

test('String.hashCode and HashSet iteration order match Java', () => {
  assert.equal(javaStringHash('a'), 97);
  assert.equal(javaStringHash('ab'), 97 * 31 + 98);
  assert.equal(javaStringHash('zookeeper'), 1600681804);
  // Printed by the JDK for a HashSet<>(8) filled in this order.
  const names = ['zookeeper', 'a', 'b', 'lock-0000000001', 'lock-0000000000', 'xyz', 'q', 'quota', 'config', 'abc', 'abd'];
  assert.deepEqual(javaHashSetOrder(names, names.length), [
    'a', 'q', 'b', 'abd', 'abc', 'zookeeper', 'quota', 'lock-0000000001', 'xyz', 'lock-0000000000', 'config',
  ]);
});

test('bigLong writes the two\'s complement of every 64-bit value, on its number path and its BigInt path', () => {
  const two63 = 2n ** 63n;
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  const values = [0n, 1n, -1n, 255n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), -(2n ** 32n) - 1n, safe, -safe, safe + 1n, -safe - 1n, two63 - 1n, -two63];
  // Session ids are written as Java longs: an unsigned value at or past 2^63 wraps.
  const wrapped = [two63, two63 + 5n, 2n ** 64n - 1n];
  for (const v of [...values, ...wrapped]) {
    const w = new JuteWriter(4);
    w.bigLong(v);
    const want = Buffer.alloc(8);
    want.writeBigInt64BE(BigInt.asIntN(64, v));
    assert.deepEqual(w.finish(), want, `bigLong(${v})`);
    assert.equal(new JuteReader(w.finish()).bigLong(), BigInt.asIntN(64, v));
  }
});

test('a writer over a given buffer writes into it, and grows out of it when it must', () => {
  const given = Buffer.alloc(16, 0xee);
  const w = new JuteWriter(given);
  w.int(7);
  assert.equal(w.backing(), given);
  assert.equal(given.readInt32BE(0), 7);
  w.raw(Buffer.alloc(20, 1));
  assert.notEqual(w.backing(), given);
  assert.ok(w.backing().length >= 24);
  assert.deepEqual(w.finish(), Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.alloc(20, 1)]));
});
