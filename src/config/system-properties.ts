/**
 * Apache ZooKeeper takes many settings as Java system properties: from `-Dkey=value` in
 * JVMFLAGS/SERVER_JVMFLAGS (as zkServer.sh passes them), and from every zoo.cfg key it does not
 * know itself, which it sets as `zookeeper.<key>`. We keep the same two ways in, in one map.
 */

/** Splits a JVM flags string like a shell would (quotes and backslashes), keeping -D flags. */
export function parseJvmFlags(flags: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const word of shellWords(flags)) {
    if (!word.startsWith('-D')) continue;
    const eq = word.indexOf('=');
    if (eq < 0) out.set(word.substring(2), '');
    else out.set(word.substring(2, eq), word.substring(eq + 1));
  }
  return out;
}

function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export class SystemProperties {
  private readonly props = new Map<string, string>();

  constructor(initial?: Iterable<[string, string]>) {
    if (initial !== undefined) for (const [k, v] of initial) this.props.set(k, v);
  }

  /** From the environment the way zkServer.sh builds the java command line. */
  static fromEnv(env: NodeJS.ProcessEnv): SystemProperties {
    const p = new SystemProperties();
    for (const name of ['JVMFLAGS', 'SERVER_JVMFLAGS', 'ZOO_JVMFLAGS']) {
      const v = env[name];
      if (v !== undefined) for (const [k, val] of parseJvmFlags(v)) p.set(k, val);
    }
    return p;
  }

  set(key: string, value: string): void {
    this.props.set(key, value);
  }

  has(key: string): boolean {
    return this.props.has(key);
  }

  get(key: string): string | undefined {
    return this.props.get(key);
  }

  /** Boolean.getBoolean / Boolean.parseBoolean: only "true" (any case) is true. */
  getBoolean(key: string, dflt = false): boolean {
    const v = this.props.get(key);
    return v === undefined ? dflt : v.trim().toLowerCase() === 'true';
  }

  /** Integer.getInteger: a malformed value falls back to the default, as in Java. */
  getInt(key: string, dflt: number): number {
    const v = this.props.get(key);
    if (v === undefined) return dflt;
    const t = v.trim();
    if (!/^[+-]?\d+$/.test(t)) return dflt;
    return Number.parseInt(t, 10);
  }

  entries(): IterableIterator<[string, string]> {
    return this.props.entries();
  }
}
