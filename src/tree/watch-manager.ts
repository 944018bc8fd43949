/**
 * One table of watches (Apache ZooKeeper keeps two: data watches and child watches), with the
 * 3.6+ modes: standard one-time watches, persistent, and persistent-recursive.
 *
 * A watcher is a connection id: as in ZooKeeper, watches belong to a connection, die with it,
 * and a reconnecting client re-registers them with setWatches. Triggering does no I/O; it
 * returns the set of watchers to notify and the caller delivers the events.
 */
import { EventType } from '../protocol/constants';

export const WatcherMode = { STANDARD: 0, PERSISTENT: 1, PERSISTENT_RECURSIVE: 2 } as const;
export type WatcherModeValue = (typeof WatcherMode)[keyof typeof WatcherMode];

export type WatcherId = number;

/** What a trigger that fires nothing returns (shared: callers only read it). */
const NO_WATCHERS: ReadonlySet<WatcherId> = new Set();

export class WatchManager {
  /** path -> watchers, each watcher once per path. */
  private readonly byPath = new Map<string, Set<WatcherId>>();
  /** watcher -> paths it watches. */
  private readonly byWatcher = new Map<WatcherId, Set<string>>();
  /** Non-standard modes, keyed by watcher and path; absence means STANDARD. */
  private readonly modes = new Map<WatcherId, Map<string, WatcherModeValue>>();
  private recursiveCount = 0;

  add(path: string, watcher: WatcherId, mode: WatcherModeValue = WatcherMode.STANDARD): boolean {
    let set = this.byPath.get(path);
    if (set === undefined) {
      set = new Set();
      this.byPath.set(path, set);
    }
    set.add(watcher);
    let paths = this.byWatcher.get(watcher);
    if (paths === undefined) {
      paths = new Set();
      this.byWatcher.set(watcher, paths);
    }
    this.setMode(watcher, path, mode);
    const had = paths.has(path);
    paths.add(path);
    return !had;
  }

  private modeOf(watcher: WatcherId, path: string): WatcherModeValue {
    return this.modes.get(watcher)?.get(path) ?? WatcherMode.STANDARD;
  }

  private setMode(watcher: WatcherId, path: string, mode: WatcherModeValue): void {
    const old = this.modeOf(watcher, path);
    if (mode === WatcherMode.STANDARD) {
      const m = this.modes.get(watcher);
      if (m !== undefined) {
        m.delete(path);
        if (m.size === 0) this.modes.delete(watcher);
      }
    } else {
      let m = this.modes.get(watcher);
      if (m === undefined) {
        m = new Map();
        this.modes.set(watcher, m);
      }
      m.set(path, mode);
    }
    const wasRecursive = old === WatcherMode.PERSISTENT_RECURSIVE;
    const isRecursive = mode === WatcherMode.PERSISTENT_RECURSIVE;
    if (wasRecursive !== isRecursive) this.recursiveCount += isRecursive ? 1 : -1;
  }

  /** Drops every watch of a watcher (its connection closed). */
  removeWatcher(watcher: WatcherId): void {
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined) return;
    this.byWatcher.delete(watcher);
    for (const p of paths) {
      const set = this.byPath.get(p);
      if (set !== undefined) {
        set.delete(watcher);
        if (set.size === 0) this.byPath.delete(p);
      }
      this.setMode(watcher, p, WatcherMode.STANDARD);
    }
  }

  /** Removes one watch; false when the watcher had none on that path. */
  removeWatch(path: string, watcher: WatcherId): boolean {
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined || !paths.delete(path)) return false;
    if (paths.size === 0) this.byWatcher.delete(watcher);
    const set = this.byPath.get(path);
    if (set === undefined || !set.delete(watcher)) return false;
    if (set.size === 0) this.byPath.delete(path);
    this.setMode(watcher, path, WatcherMode.STANDARD);
    return true;
  }

  /**
   * WatchManager.containsWatcher: a watch on the path itself of any mode, or a recursive watch
   * whose mode is looked up on the path itself (a quirk kept for fidelity).
   */
  contains(path: string, watcher: WatcherId): boolean {
    const recursive = this.modeOf(watcher, path) === WatcherMode.PERSISTENT_RECURSIVE;
    let first = true;
    for (const p of this.pathAndParents(path)) {
      if (first && this.byPath.get(p) !== undefined) return true;
      first = false;
      if (recursive) return true;
    }
    return false;
  }

  private *pathAndParents(path: string): Generator<string> {
    const all = this.recursiveCount > 0;
    let p = path;
    let level = 0;
    while (p.length > 0 && (all || level === 0)) {
      yield p;
      level++;
      if (p === '/') p = '';
      else {
        p = p.substring(0, p.lastIndexOf('/'));
        if (p.length === 0) p = '/';
      }
    }
  }

  /**
   * Fires the watches an event on `path` triggers and removes the one-time ones.
   * Returns the watchers to notify, minus `suppress`.
   */
  trigger(path: string, type: number, suppress?: ReadonlySet<WatcherId>): ReadonlySet<WatcherId> {
    // Most changes touch paths nobody watches. Without recursive watches only `path` itself can
    // match, so a miss is one lookup and allocates nothing. Under create 128 B 4×8 (two triggers
    // per create) the set and the generator below made the server allocate ~15 % more (sampling
    // heap profile over 6 s: 762 against 648 MB for the same number of creates).
    if (this.recursiveCount === 0 && !this.byPath.has(path)) return NO_WATCHERS;
    const fired = new Set<WatcherId>();
    let atParent = false;
    for (const p of this.pathAndParents(path)) {
      const set = this.byPath.get(p);
      if (set !== undefined && set.size > 0) {
        for (const w of Array.from(set)) {
          const mode = this.modeOf(w, p);
          if (mode === WatcherMode.PERSISTENT_RECURSIVE) {
            if (type !== EventType.NodeChildrenChanged) fired.add(w);
          } else if (!atParent) {
            fired.add(w);
            if (mode === WatcherMode.STANDARD) {
              set.delete(w);
              const paths = this.byWatcher.get(w);
              if (paths !== undefined) {
                paths.delete(p);
                if (paths.size === 0) this.byWatcher.delete(w);
              }
            }
          }
        }
        if (set.size === 0) this.byPath.delete(p);
      }
      atParent = true;
    }
    if (suppress !== undefined) for (const w of suppress) fired.delete(w);
    return fired;
  }

  /** Number of (watcher, path) pairs, as `wchs` and `mntr` count them. */
  size(): number {
    let n = 0;
    for (const paths of this.byWatcher.values()) n += paths.size;
    return n;
  }

  pathCount(): number {
    return this.byPath.size;
  }

  watcherCount(): number {
    return this.byWatcher.size;
  }

  byWatcherEntries(): IterableIterator<[WatcherId, Set<string>]> {
    return this.byWatcher.entries();
  }

  byPathEntries(): IterableIterator<[string, Set<WatcherId>]> {
    return this.byPath.entries();
  }
}
