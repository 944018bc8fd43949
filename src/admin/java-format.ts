/**
 * The few Java text conversions that Apache ZooKeeper's operator output depends on, so that
 * scripts written against its four-letter words and AdminServer parse ours unchanged:
 *
 *   Double.toString     0.0, 1.5, 1.0E7, 1.0E-4   (always a fraction; exponent outside [1e-3, 1e7))
 *   Long.toHexString    two's complement for negatives: -1 -> ffffffffffffffff
 *   Date.toString       "EEE MMM dd HH:mm:ss zzz yyyy" in the local time zone
 */

/** Java's Double.toString. JS already prints the shortest round-trip digits; only the layout differs. */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  // Scientific: mantissa with at least one fraction digit, exponent without '+'.
  const [mant, exp] = x.toExponential().split('e') as [string, string];
  const m = mant.includes('.') ? mant : `${mant}.0`;
  return `${m}E${Number.parseInt(exp, 10)}`;
}

/** Java's Long.toHexString: negative values print as their unsigned 64-bit pattern. */
export function javaHexLong(v: bigint | number): string {
  const b = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
  return BigInt.asUintN(64, b).toString(16);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function zoneAbbreviation(d: Date): string {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d);
    const z = parts.find((p) => p.type === 'timeZoneName')?.value;
    if (z !== undefined && z !== '') return z === 'GMT' && d.getTimezoneOffset() === 0 ? 'UTC' : z;
  } catch {
    // Intl without time zone data: fall through to the numeric offset.
  }
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `GMT${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** Java's Date.toString, e.g. "Sun Nov 22 04:46:18 UTC 2026". */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${zoneAbbreviation(d)} ${d.getFullYear()}`
  );
}

/** BigDecimal(avg).setScale(4, HALF_UP), as AvgMinMaxCounter.getAvg rounds. */
export function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}
