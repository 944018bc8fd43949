/**
 * Znode path rules, as Apache ZooKeeper's PathUtils.validatePath states them, and the small
 * path helpers the tree and the request stages share.
 */

/** Returns why a path is invalid, or null when it is valid. Mirrors PathUtils.validatePath. */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'Path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'Path must start with / character';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'Path must not end with / character';
  let last = 0x2f;
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`;
    if (c === 0x2e && last === 0x2e) {
      if (path.charCodeAt(i - 2) === 0x2f && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) {
        return `relative paths not allowed @${i}`;
      }
    } else if (c === 0x2e) {
      if (path.charCodeAt(i - 1) === 0x2f && (i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f)) {
        return `relative paths not allowed @${i}`;
      }
    } else if (
      (c > 0 && c <= 0x1f) ||
      (c >= 0x7f && c <= 0x9f) ||
      (c >= 0xd800 && c <= 0xf8ff) ||
      (c >= 0xfff0 && c <= 0xffff)
    ) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

/** The parent of a path as Apache ZooKeeper computes it: everything before the last '/'. */
export function parentOf(path: string): string {
  return path.substring(0, path.lastIndexOf('/'));
}

/** The parent as the watch manager names it: the root is "/" rather than "". */
export function watchParentOf(path: string): string {
  const p = parentOf(path);
  return p === '' ? '/' : p;
}

export function childNameOf(path: string): string {
  return path.substring(path.lastIndexOf('/') + 1);
}

/** Java's String.split(regex) for a literal separator: trailing empty strings are dropped. */
export function javaSplit(s: string, sep: string, limit = 0): string[] {
  let parts: string[];
  if (limit > 0) {
    parts = [];
    let rest = s;
    while (parts.length < limit - 1) {
      const i = rest.indexOf(sep);
      if (i < 0) break;
      parts.push(rest.substring(0, i));
      rest = rest.substring(i + sep.length);
    }
    parts.push(rest);
    return parts;
  }
  parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0) return s.length === 0 ? [''] : [];
  return parts;
}
