// The watch table on its own: one-time, persistent and persistent-recursive watches, and the
// allocation-free miss (a change to a path nobody watches) that must not hide recursive watches
// on an ancestor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WatcherMode, WatchManager } from '../../src/tree/watch-manager';
import { EventType } from '../../src/protocol/constants';

test('a one-time watch fires once and is gone; a miss fires nothing', () => {
  const wm = new WatchManager();
  assert.equal(wm.add('/a', 7), true);
  assert.deepEqual([...wm.trigger('/b', EventType.NodeDataChanged)], []);
  assert.deepEqual([...wm.trigger('/a/b', EventType.NodeCreated)], [], 'a standard watch on a parent does not fire for its child');
  assert.deepEqual([...wm.trigger('/a', EventType.NodeDataChanged)], [7]);
  assert.deepEqual([...wm.trigger('/a', EventType.NodeDataChanged)], [], 'fired once');
  assert.equal(wm.size(), 0);
  assert.equal(wm.pathCount(), 0);
});

test('persistent watches stay; a recursive watch fires for every path below it, also for paths nobody watches directly', () => {
  const wm = new WatchManager();
  wm.add('/p', 1, WatcherMode.PERSISTENT);
  wm.add('/r', 2, WatcherMode.PERSISTENT_RECURSIVE);
  wm.add('/r/x', 3);
  assert.deepEqual([...wm.trigger('/p', EventType.NodeDataChanged)], [1]);
  assert.deepEqual([...wm.trigger('/p', EventType.NodeDataChanged)], [1], 'persistent: still there');
  assert.deepEqual([...wm.trigger('/r/a/b', EventType.NodeCreated)], [2], 'recursive, two levels up, no watch on the path itself');
  assert.deepEqual([...wm.trigger('/r/a', EventType.NodeChildrenChanged)], [], 'recursive watches take no child events');
  assert.deepEqual(new Set(wm.trigger('/r/x', EventType.NodeDataChanged)), new Set([2, 3]));
  assert.deepEqual([...wm.trigger('/r/x', EventType.NodeDataChanged, new Set([2]))], [], 'suppressed watchers are left out');
  // Once the recursive watch is gone, a change below /r fires nothing.
  wm.removeWatcher(2);
  assert.deepEqual([...wm.trigger('/r/a/b', EventType.NodeCreated)], []);
  assert.deepEqual([...wm.trigger('/p', EventType.NodeDataChanged)], [1]);
});
