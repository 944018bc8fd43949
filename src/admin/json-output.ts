/**
 * JSON the way Apache ZooKeeper's AdminServer writes it (Jackson's ObjectMapper with
 * INDENT_OUTPUT, i.e. DefaultPrettyPrinter), so that byte-level comparisons and naive parsers
 * keep working:
 *
 *   object   := "{ }" | "{" NL (indent key " : " value) ("," NL indent key " : " value)* NL indent' "}"
 *   array    := "[ ]" | "[ " value (", " value)* " ]"          (arrays never break lines)
 *   indent   := two spaces per enclosing object (arrays do not add a level)
 *   long     := decimal digits (64-bit: bigint here, session ids do not fit a JS number)
 *   double   := Java's Double.toString (0.0, 1.5, 1.0E7)
 *
 * No trailing newline. A JS number is written as a long when it is an integer; wrap it with
 * `jdouble()` when Java would have written a double (averages: 0.0, not 0).
 */
import { javaDouble } from './java-format';

/** A value Java holds as a double. */
export class JDouble {
  constructor(readonly value: number) {}
}

export function jdouble(x: number): JDouble {
  return new JDouble(x);
}

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JDouble
  | readonly JsonValue[]
  | ReadonlySet<JsonValue>
  | ReadonlyMap<string, JsonValue>
  | { readonly [key: string]: JsonValue };

function escapeString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out + '"';
}

function entriesOf(v: ReadonlyMap<string, JsonValue> | { readonly [key: string]: JsonValue }): [string, JsonValue][] {
  return v instanceof Map ? [...v.entries()] : Object.entries(v);
}

function write(v: JsonValue, depth: number): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : javaDouble(v);
  if (typeof v === 'string') return escapeString(v);
  if (v instanceof JDouble) return javaDouble(v.value);
  if (Array.isArray(v) || v instanceof Set) {
    const items = [...(v as Iterable<JsonValue>)];
    if (items.length === 0) return '[ ]';
    return `[ ${items.map((x) => write(x, depth)).join(', ')} ]`;
  }
  const entries = entriesOf(v as ReadonlyMap<string, JsonValue>);
  if (entries.length === 0) return '{ }';
  const pad = '  '.repeat(depth + 1);
  const body = entries.map(([k, x]) => `${pad}${escapeString(k)} : ${write(x, depth + 1)}`).join(',\n');
  return `{\n${body}\n${'  '.repeat(depth)}}`;
}

/** Serializes like Jackson's pretty printer. */
export function toJacksonJson(v: JsonValue): string {
  return write(v, 0);
}
