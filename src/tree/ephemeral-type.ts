/**
 * What a znode's ephemeralOwner encodes (EphemeralType in Apache ZooKeeper):
 *   0                          a persistent node
 *   0x8000000000000000         a container (CONTAINER_EPHEMERAL_OWNER, Long.MIN_VALUE)
 *   0xFF00_0000_0000_0000 | t  a TTL node with TTL t ms (only when extended types are enabled)
 *   anything else              an ephemeral owned by that session id
 */

export const CONTAINER_EPHEMERAL_OWNER = -0x8000000000000000n;
export const TTL_EPHEMERAL_MASK = -0x100000000000000n; // 0xff00000000000000 as a signed long
const RESERVED_BITS_MASK = 0x00ffff0000000000n;
/** The largest TTL: the bits below the extended mask and the reserved bits. */
export const MAX_TTL_MS = 0xffffffffffn;

export const EphemeralKind = { VOID: 0, NORMAL: 1, CONTAINER: 2, TTL: 3 } as const;
export type EphemeralKindValue = (typeof EphemeralKind)[keyof typeof EphemeralKind];

let extendedTypesEnabled = false;

/** `zookeeper.extendedTypesEnabled`: set once at startup from the system properties. */
export function setExtendedTypesEnabled(on: boolean): void {
  extendedTypesEnabled = on;
}

export function isExtendedTypesEnabled(): boolean {
  return extendedTypesEnabled;
}

export function ephemeralKindOf(owner: bigint): EphemeralKindValue {
  if (extendedTypesEnabled && (owner & TTL_EPHEMERAL_MASK) === TTL_EPHEMERAL_MASK) {
    // Only the TTL feature bit (0) is defined; other reserved bits are invalid owners.
    return (owner & RESERVED_BITS_MASK) === 0n ? EphemeralKind.TTL : EphemeralKind.NORMAL;
  }
  if (owner === CONTAINER_EPHEMERAL_OWNER) return EphemeralKind.CONTAINER;
  return owner === 0n ? EphemeralKind.VOID : EphemeralKind.NORMAL;
}

export function ttlOf(owner: bigint): number {
  return ephemeralKindOf(owner) === EphemeralKind.TTL ? Number(owner & MAX_TTL_MS) : 0;
}

/** EphemeralType.validateTTL: a TTL mode needs 0 < ttl <= max; other modes need ttl < 0. */
export function ttlIsValid(isTtlMode: boolean, ttl: number): boolean {
  if (isTtlMode) return ttl > 0 && BigInt(ttl) <= MAX_TTL_MS;
  return ttl < 0;
}
