/**
 * Declarative Jute schemas. A record is declared once, as an ordered map of field names to Jute
 * types; its TypeScript type, encoder and decoder all follow from that one declaration, so the
 * three can never disagree.
 *
 * Jute has one 64-bit `long`; we offer two JS views of it that are identical on the wire:
 * 'long' (a number, for zxids, times and counters) and 'bigLong' (a bigint, for session ids,
 * which carry the server id in their top byte).
 */
import { JuteReader, JuteWriter } from './codec';

export type Primitive = 'int' | 'long' | 'bigLong' | 'boolean' | 'buffer' | 'ustring';
export interface VectorType<E extends FieldType = FieldType> {
  readonly vector: E;
}
export type FieldType = Primitive | VectorType | RecordType<any>;
export type Fields = Readonly<Record<string, FieldType>>;

export type ValueOf<T> = T extends 'int' | 'long'
  ? number
  : T extends 'bigLong'
    ? bigint
    : T extends 'boolean'
      ? boolean
      : T extends 'buffer'
        ? Buffer | null
        : T extends 'ustring'
          ? string
          : T extends VectorType<infer E>
            ? ValueOf<E>[]
            : T extends RecordType<infer V>
              ? V
              : never;

export type RecordValue<F extends Fields> = { -readonly [K in keyof F]: ValueOf<F[K]> };

export interface RecordType<V> {
  readonly name: string;
  readonly fields: Fields;
  encode(w: JuteWriter, v: V): void;
  decode(r: JuteReader): V;
  /** Encodes a single record into a fresh buffer. */
  serialize(v: V): Buffer;
  /** Decodes a whole buffer as one record. */
  deserialize(buf: Buffer): V;
}

type Encoder = (w: JuteWriter, v: any) => void;
type Decoder = (r: JuteReader) => any;

function encoderFor(t: FieldType): Encoder {
  if (typeof t === 'string') {
    switch (t) {
      case 'int':
        return (w, v) => w.int(v);
      case 'long':
        return (w, v) => w.long(v);
      case 'bigLong':
        return (w, v) => w.bigLong(v);
      case 'boolean':
        return (w, v) => w.boolean(v);
      case 'buffer':
        return (w, v) => w.buffer(v);
      case 'ustring':
        return (w, v) => w.ustring(v);
    }
  }
  if ('vector' in t) {
    const elem = encoderFor(t.vector);
    return (w, v: unknown[] | null) => {
      if (v === null) {
        w.int(-1);
        return;
      }
      w.int(v.length);
      for (const e of v) elem(w, e);
    };
  }
  return (w, v) => t.encode(w, v);
}

function decoderFor(t: FieldType): Decoder {
  if (typeof t === 'string') {
    switch (t) {
      case 'int':
        return (r) => r.int();
      case 'long':
        return (r) => r.long();
      case 'bigLong':
        return (r) => r.bigLong();
      case 'boolean':
        return (r) => r.boolean();
      case 'buffer':
        return (r) => r.buffer();
      case 'ustring':
        return (r) => r.ustring();
    }
  }
  if ('vector' in t) {
    const elem = decoderFor(t.vector);
    return (r) => {
      const n = r.vectorCount();
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = elem(r);
      return out;
    };
  }
  return (r) => t.decode(r);
}

export function vector<E extends FieldType>(elem: E): VectorType<E> {
  return { vector: elem };
}

/**
 * Straight-line source for one record's encoder and decoder: a field access per field, in
 * declaration order, with primitive fields calling the JuteWriter/JuteReader method directly.
 * (A generic loop over the field list reads `v[names[i]]`, a megamorphic keyed access, and
 * builds the decoded object one property at a time; this is what the hot records use on every
 * request and reply.) Vector and record fields call their own encoder/decoder.
 */
function compile(name: string, fields: Fields): { encode: (w: JuteWriter, v: any) => void; decode: (r: JuteReader) => any } {
  const names = Object.keys(fields);
  const encoders = names.map((k) => encoderFor(fields[k]!));
  const decoders = names.map((k) => decoderFor(fields[k]!));
  const enc: string[] = [];
  const dec: string[] = [];
  names.forEach((k, i) => {
    const t = fields[k]!;
    const key = JSON.stringify(k);
    if (typeof t === 'string') {
      enc.push(`w.${t}(v[${key}]);`);
      dec.push(`${key}: r.${t}(),`);
    } else {
      enc.push(`encoders[${i}](w, v[${key}]);`);
      dec.push(`${key}: decoders[${i}](r),`);
    }
  });
  const fn = name.replace(/[^A-Za-z0-9_]/g, '_');
  const make = new Function(
    'encoders',
    'decoders',
    `return {
      encode: function encode${fn}(w, v) { ${enc.join(' ')} },
      decode: function decode${fn}(r) { return { ${dec.join(' ')} }; },
    };`,
  ) as (e: Encoder[], d: Decoder[]) => { encode: (w: JuteWriter, v: any) => void; decode: (r: JuteReader) => any };
  return make(encoders, decoders);
}

export function record<F extends Fields>(name: string, fields: F): RecordType<RecordValue<F>> {
  const { encode, decode } = compile(name, fields);
  const type: RecordType<RecordValue<F>> = {
    name,
    fields,
    encode: encode as (w: JuteWriter, v: RecordValue<F>) => void,
    decode: decode as (r: JuteReader) => RecordValue<F>,
    serialize(v) {
      const w = new JuteWriter(64);
      encode(w, v);
      return w.finish();
    },
    deserialize(buf) {
      return decode(new JuteReader(buf));
    },
  };
  return type;
}
