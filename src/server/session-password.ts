/**
 * Session passwords exactly as Apache ZooKeeper derives them: 16 bytes from java.util.Random
 * seeded with `sessionId ^ 0xB3415C00`. Matching them means a session survives a client moving
 * between our server and Apache ZooKeeper's in a mixed ensemble, and clients see the same bytes.
 */
const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const MASK = (1n << 48n) - 1n;
const SUPER_SECRET = 0xb3415c00n;

export function generatePassword(sessionId: bigint, secret: bigint = SUPER_SECRET): Buffer {
  let seed = (BigInt.asIntN(64, sessionId ^ secret) ^ MULTIPLIER) & MASK;
  const nextInt = (): number => {
    seed = (seed * MULTIPLIER + ADDEND) & MASK;
    return Number(BigInt.asIntN(32, seed >> 16n));
  };
  const out = Buffer.alloc(16);
  for (let i = 0; i < out.length; ) {
    let rnd = nextInt();
    for (let n = Math.min(out.length - i, 4); n-- > 0; rnd >>= 8) out[i++] = rnd & 0xff;
  }
  return out;
}

export function checkPassword(sessionId: bigint, passwd: Buffer | null): boolean {
  return sessionId !== 0n && passwd !== null && generatePassword(sessionId).equals(passwd);
}
