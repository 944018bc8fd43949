#!/usr/bin/python3
"""Exercise kazoo's recipes and transactions against a ZooKeeper server.

Usage: /usr/bin/python3 kazoo_recipes.py HOST:PORT

Prints a deterministic transcript on stdout, one fact a line, so that the transcript against
Apache ZooKeeper and the one against another server can be compared line by line. Values that
differ between runs by nature (uuids in lock node names, session ids, times) are never printed;
children are printed sorted because ZooKeeper does not define their order (the order itself is
compared by the cli_mt transcript). Exits non-zero on any failure. Every wait is bounded, and a
watchdog ends the process if the whole run takes too long.
"""

import datetime
import logging
import os
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, LockTimeout
from kazoo.recipe.watchers import ChildrenWatch, DataWatch
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE

WAIT = 10.0  # seconds allowed for any single expected event
TOTAL = 100.0  # seconds allowed for the whole run

HOSTS = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2181"
ROOT = "/recipes"
_clients = []


def out(*parts):
    print(*parts, flush=True)


def fail(msg):
    out("FAIL: " + msg)
    raise AssertionError(msg)


def expect(cond, msg):
    if not cond:
        fail(msg)


def wait_event(ev, what):
    if not ev.wait(WAIT):
        fail("timed out waiting for " + what)


def wait_until(pred, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    fail("timed out waiting for " + what)


def join(thread, what):
    thread.join(WAIT)
    if thread.is_alive():
        fail("thread did not finish: " + what)


def err_name(fn):
    """Runs fn and returns the name of the exception it raised, or 'ok'."""
    try:
        fn()
        return "ok"
    except KazooException as e:
        return type(e).__name__


def new_client():
    c = KazooClient(hosts=HOSTS, timeout=10.0, connection_retry={"max_tries": 3, "delay": 0.1},
                    command_retry={"max_tries": 3, "delay": 0.1})
    c.start(timeout=WAIT)
    _clients.append(c)
    return c


def zx(value, base):
    """A zxid, absolute or, with a base, as an offset from it."""
    if base is None:
        return "%#x" % value
    return "base%+d" % (value - base)


def stat_line(st, base=None):
    # Times and the owning session are left out on purpose; versions, zxids and sizes are kept.
    # Sections that run after the multi-client recipes pass a base zxid: how many transactions
    # the recipes used depends on their retry loops, while zxid steps inside a section must not.
    return ("czxid=%s mzxid=%s pzxid=%s version=%d cversion=%d aversion=%d ephemeral=%s "
            "dataLength=%d numChildren=%d" % (zx(st.czxid, base), zx(st.mzxid, base), zx(st.pzxid, base),
                                               st.version, st.cversion, st.aversion, st.ephemeralOwner != 0,
                                               st.dataLength, st.numChildren))


def section(name):
    out("== " + name)


def server_info(zk):
    section("server")
    # server_version parses the 'envi' four-letter word; ruok is the liveness probe.
    out("server_version", zk.server_version())
    out("ruok", zk.command(b"ruok").strip())


def basics(zk):
    section("basics")
    out("create", zk.create(ROOT + "/basic", b"v0"))
    data, st = zk.get(ROOT + "/basic")
    out("get", data, stat_line(st))
    st = zk.set(ROOT + "/basic", b"v1")
    out("set", stat_line(st))
    out("set bad version", err_name(lambda: zk.set(ROOT + "/basic", b"v2", version=7)))
    out("exists", zk.exists(ROOT + "/basic") is not None, zk.exists(ROOT + "/nope"))
    out("create seq", zk.create(ROOT + "/basic/s-", b"", sequence=True))
    out("create seq", zk.create(ROOT + "/basic/s-", b"", sequence=True))
    out("create eph", zk.create(ROOT + "/basic/e", b"", ephemeral=True))
    out("create eph child", err_name(lambda: zk.create(ROOT + "/basic/e/x")))
    path, st = zk.create(ROOT + "/basic/c2", b"abc", include_data=True)
    out("create2", path, stat_line(st))
    out("children", sorted(zk.get_children(ROOT + "/basic")))
    kids, st = zk.get_children(ROOT + "/basic", include_data=True)
    out("children2", sorted(kids), stat_line(st))
    out("create existing", err_name(lambda: zk.create(ROOT + "/basic")))
    out("create no parent", err_name(lambda: zk.create(ROOT + "/none/x")))
    out("create makepath", zk.create(ROOT + "/deep/a/b", b"x", makepath=True))
    out("delete not empty", err_name(lambda: zk.delete(ROOT + "/deep")))
    out("delete missing", err_name(lambda: zk.delete(ROOT + "/missing")))
    out("delete bad version", err_name(lambda: zk.delete(ROOT + "/deep/a/b", version=3)))
    out("delete recursive", zk.delete(ROOT + "/deep", recursive=True))
    out("get missing", err_name(lambda: zk.get(ROOT + "/missing")))
    out("sync", zk.sync(ROOT))


def acls(zk):
    section("acls")
    digest = make_digest_acl("user1", "pass1", all=True)
    out("digest acl", digest.id.scheme, digest.id.id, digest.perms)
    zk.create(ROOT + "/acl", b"secret", acl=[digest])
    base = zk.exists(ROOT + "/acl").czxid
    # Since 3.7 reading an ACL needs READ or ADMIN permission on the node.
    out("get_acls without auth", err_name(lambda: zk.get_acls(ROOT + "/acl")))
    other = new_client()
    out("get without auth", err_name(lambda: other.get(ROOT + "/acl")))
    other.add_auth("digest", "user1:pass1")
    out("get with auth", other.get(ROOT + "/acl")[0])
    acl, st = other.get_acls(ROOT + "/acl")
    out("get_acls with auth", [(a.perms, a.id.scheme, a.id.id) for a in acl], "aversion=%d" % st.aversion)
    # An unknown auth scheme is not tried here: the server answers AuthFailed and drops the
    # connection but keeps the session until it expires, and that expiry would take a zxid at a
    # time that depends on the machine's speed.
    zk.create(ROOT + "/acl-read", b"r", acl=READ_ACL_UNSAFE)
    out("set on read-only", err_name(lambda: zk.set(ROOT + "/acl-read", b"w")))
    out("set_acls bad version", err_name(lambda: zk.set_acls(ROOT + "/acl-read", OPEN_ACL_UNSAFE, version=5)))
    out("set_acls no auth", err_name(lambda: zk.set_acls(ROOT + "/acl-read", OPEN_ACL_UNSAFE)))
    out("set_acls via auth", stat_line(other.set_acls(ROOT + "/acl", OPEN_ACL_UNSAFE), base))
    out("get after open", zk.get(ROOT + "/acl")[0])
    other.stop()
    other.close()


def watches(zk):
    section("watches")
    zk.create(ROOT + "/watched", b"w0")
    events = []
    got = threading.Event()

    def on_event(ev):
        events.append("%s %s %s" % (ev.type, ev.state, ev.path))
        got.set()

    zk.get(ROOT + "/watched", watch=on_event)
    zk.set(ROOT + "/watched", b"w1")
    wait_event(got, "data watch")
    got.clear()
    zk.get_children(ROOT + "/watched", watch=on_event)
    zk.create(ROOT + "/watched/kid")
    wait_event(got, "child watch")
    got.clear()
    zk.exists(ROOT + "/watched/later", watch=on_event)
    zk.create(ROOT + "/watched/later")
    wait_event(got, "exists watch")
    got.clear()
    zk.exists(ROOT + "/watched/later", watch=on_event)
    zk.delete(ROOT + "/watched/later")
    wait_event(got, "delete watch")
    for e in events:
        out("event", e)

    # The DataWatch and ChildrenWatch recipes call back once at start and after each change.
    seen = []
    cond = threading.Condition()

    def record(item):
        with cond:
            seen.append(item)
            cond.notify_all()

    def wait_seen(n, what):
        with cond:
            if not cond.wait_for(lambda: len(seen) >= n, WAIT):
                fail("timed out waiting for " + what)

    @DataWatch(zk, ROOT + "/watched")
    def data_watch(data, stat, event):
        record("data %s version=%s event=%s" % (data, stat.version if stat else None,
                                                 event.type if event else None))

    wait_seen(1, "first DataWatch call")
    zk.set(ROOT + "/watched", b"w2")
    wait_seen(2, "DataWatch after set")

    @ChildrenWatch(zk, ROOT + "/watched")
    def children_watch(children):
        record("children %s" % sorted(children))

    wait_seen(3, "first ChildrenWatch call")
    zk.create(ROOT + "/watched/kid2")
    wait_seen(4, "ChildrenWatch after create")
    for s in seen:
        out(s)


def locks(zk):
    section("lock")
    zk2 = new_client()
    lock_a = zk.Lock(ROOT + "/lock", "owner-a")
    lock_b = zk2.Lock(ROOT + "/lock", "owner-b")
    out("a acquire", lock_a.acquire(timeout=WAIT))
    out("a is_acquired", lock_a.is_acquired)
    out("b acquire non-blocking", lock_b.acquire(blocking=False))
    try:
        lock_b.acquire(timeout=0.3)
        out("b acquire timeout", "acquired?!")
    except LockTimeout:
        out("b acquire timeout", "LockTimeout")
    out("contenders", lock_a.contenders())
    got_b = threading.Event()

    def take_b():
        if lock_b.acquire(timeout=WAIT):
            got_b.set()

    t = threading.Thread(target=take_b, daemon=True)
    t.start()
    wait_until(lambda: len(lock_a.contenders()) == 2, "b to queue for the lock")
    out("contenders while b waits", lock_a.contenders())
    out("b has lock before release", got_b.is_set())
    out("a release", lock_a.release())
    wait_event(got_b, "b to get the lock")
    join(t, "lock b")
    out("b has lock after release", lock_b.is_acquired)
    out("contenders", lock_a.contenders())
    out("b release", lock_b.release())
    out("lock nodes left", len(zk.get_children(ROOT + "/lock")))

    section("read/write lock")
    r1 = zk.ReadLock(ROOT + "/rw", "reader-1")
    r2 = zk2.ReadLock(ROOT + "/rw", "reader-2")
    w = zk2.WriteLock(ROOT + "/rw", "writer")
    out("r1", r1.acquire(timeout=WAIT))
    out("r2 shares", r2.acquire(timeout=WAIT))
    out("writer blocked", w.acquire(blocking=False))
    out("contenders", r1.contenders())
    r1.release()
    r2.release()
    out("writer after readers", w.acquire(timeout=WAIT))
    out("reader blocked", zk.ReadLock(ROOT + "/rw", "reader-3").acquire(blocking=False))
    w.release()

    section("semaphore")
    s1 = zk.Semaphore(ROOT + "/sem", "holder-1", max_leases=2)
    s2 = zk2.Semaphore(ROOT + "/sem", "holder-2", max_leases=2)
    s3 = zk2.Semaphore(ROOT + "/sem", "holder-3", max_leases=2)
    out("s1", s1.acquire(timeout=WAIT))
    out("s2", s2.acquire(timeout=WAIT))
    out("s3 blocked", s3.acquire(blocking=False))
    out("holders", sorted(s1.lease_holders()))
    s1.release()
    out("s3 after release", s3.acquire(timeout=WAIT))
    out("holders", sorted(s1.lease_holders()))
    s2.release()
    s3.release()
    zk2.stop()
    zk2.close()


def election(zk):
    section("election")
    zk2 = new_client()
    e_a = zk.Election(ROOT + "/election", "id-a")
    e_b = zk2.Election(ROOT + "/election", "id-b")
    a_leads, a_done, b_leads, b_done = (threading.Event() for _ in range(4))

    def lead(is_leader, done):
        is_leader.set()
        done.wait(WAIT)

    ta = threading.Thread(target=e_a.run, args=(lead, a_leads, a_done), daemon=True)
    ta.start()
    wait_event(a_leads, "a to lead")
    out("a leads", True)
    tb = threading.Thread(target=e_b.run, args=(lead, b_leads, b_done), daemon=True)
    tb.start()
    wait_until(lambda: len(e_a.contenders()) == 2, "b to join the election")
    out("contenders", e_a.contenders())
    out("b leads while a leads", b_leads.is_set())
    a_done.set()
    join(ta, "election a")
    wait_event(b_leads, "b to lead")
    out("b leads after a", True)
    out("contenders", e_b.contenders())
    b_done.set()
    join(tb, "election b")
    out("contenders at end", e_a.contenders())
    zk2.stop()
    zk2.close()


def barriers(zk):
    section("barrier")
    zk2 = new_client()
    b1 = zk.Barrier(ROOT + "/barrier")
    b2 = zk2.Barrier(ROOT + "/barrier")
    out("wait without barrier", b2.wait(timeout=0.1))
    b1.create()
    out("wait while up", b2.wait(timeout=0.3))
    released = []

    def waiter():
        released.append(b2.wait(timeout=WAIT))

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    b1.remove()
    join(t, "barrier waiter")
    out("released by remove", released)

    section("double barrier")
    d1 = zk.DoubleBarrier(ROOT + "/double", 2, identifier="member-1")
    d2 = zk2.DoubleBarrier(ROOT + "/double", 2, identifier="member-2")
    entered = threading.Event()

    def enter1():
        d1.enter()
        entered.set()

    t = threading.Thread(target=enter1, daemon=True)
    t.start()
    time.sleep(0.2)
    out("first entered alone", entered.is_set())
    d2.enter()
    wait_event(entered, "first member to enter")
    join(t, "double barrier enter")
    out("both participating", d1.participating, d2.participating)
    out("members", len([c for c in zk.get_children(ROOT + "/double") if c != "ready"]))
    left = threading.Event()

    def leave1():
        d1.leave()
        left.set()

    t = threading.Thread(target=leave1, daemon=True)
    t.start()
    d2.leave()
    wait_event(left, "first member to leave")
    join(t, "double barrier leave")
    out("both left", not d1.participating, not d2.participating)
    out("children after leave", sorted(zk.get_children(ROOT + "/double")))
    zk2.stop()
    zk2.close()


def counters(zk):
    section("counter")
    c = zk.Counter(ROOT + "/counter")
    out("initial", c.value)
    c += 5
    c -= 2
    out("after +5 -2", c.value, "pre", c.pre_value, "post", c.post_value)
    c2 = new_client().Counter(ROOT + "/counter")
    c2 += 10
    out("seen by a second client", c.value)
    f = zk.Counter(ROOT + "/float", default=1.5)
    f += 0.25
    out("float", f.value)
    out("stored", zk.get(ROOT + "/counter")[0], zk.get(ROOT + "/float")[0])


def queues(zk):
    section("queue")
    q = zk.Queue(ROOT + "/queue")
    q.put(b"one")
    q.put(b"two")
    q.put(b"urgent", priority=1)
    out("len", len(q))
    out("get", q.get(), q.get(), q.get(), q.get())
    out("len", len(q))

    section("locking queue")
    lq = zk.LockingQueue(ROOT + "/lqueue")
    lq.put(b"a")
    lq.put_all([b"b", b"c"])
    lq.put(b"first", priority=10)
    out("len", len(lq))
    out("get", lq.get(timeout=WAIT))
    out("holds_lock", lq.holds_lock())
    out("consume", lq.consume())
    out("get", lq.get(timeout=WAIT))
    out("release", lq.release())
    out("get again", lq.get(timeout=WAIT))
    out("consume", lq.consume())
    out("get", lq.get(timeout=WAIT), lq.consume())
    out("get", lq.get(timeout=WAIT), lq.consume())
    out("get empty", lq.get(timeout=0.2))
    out("len", len(lq))


def parties(zk):
    section("party")
    zk2 = new_client()
    p1 = zk.Party(ROOT + "/party", "member-a")
    p2 = zk2.Party(ROOT + "/party", "member-b")
    p1.join()
    p2.join()
    out("members", sorted(p1), "len", len(p1))
    p1.leave()
    out("after leave", sorted(p2), "len", len(p2))
    s1 = zk.ShallowParty(ROOT + "/shallow", "shallow-a")
    s2 = zk2.ShallowParty(ROOT + "/shallow", "shallow-b")
    s1.join()
    s2.join()
    out("shallow members", sorted(s1))
    zk2.stop()
    zk2.close()
    wait_until(lambda: len(s1) == 1, "ephemeral party members of a closed session to go")
    out("after other session closed", sorted(s1), sorted(p1))


def lease(zk):
    section("lease")
    zk2 = new_client()
    hour = datetime.timedelta(hours=1)
    l1 = zk.NonBlockingLease(ROOT + "/lease", hour, identifier="lease-a")
    l2 = zk2.NonBlockingLease(ROOT + "/lease", hour, identifier="lease-b")
    out("a obtains", bool(l1), "b obtains", bool(l2))
    zk2.stop()
    zk2.close()


def transactions(zk):
    section("transactions")
    zk.create(ROOT + "/tx", b"base")
    base = zk.exists(ROOT + "/tx").czxid
    t = zk.transaction()
    t.create(ROOT + "/tx/a", b"1")
    t.create(ROOT + "/tx/s-", b"", sequence=True)
    t.check(ROOT + "/tx", 0)
    t.set_data(ROOT + "/tx", b"changed")
    t.delete(ROOT + "/tx/a")
    res = t.commit()
    out("ok results", [r if not hasattr(r, "version") else "stat(%s)" % stat_line(r, base) for r in res])
    out("after ok", sorted(zk.get_children(ROOT + "/tx")), zk.get(ROOT + "/tx")[0])

    t = zk.transaction()
    t.create(ROOT + "/tx/b", b"2")
    t.check(ROOT + "/tx", 0)  # the version is 1 now, so this fails and rolls everything back
    t.set_data(ROOT + "/tx", b"never")
    res = t.commit()
    out("failed results", [type(r).__name__ if isinstance(r, Exception) else r for r in res])
    out("after failed", sorted(zk.get_children(ROOT + "/tx")), zk.get(ROOT + "/tx")[0])

    for name, build in [
        ("create existing", lambda t: t.create(ROOT + "/tx")),
        ("delete missing", lambda t: t.delete(ROOT + "/tx/none")),
        ("delete not empty", lambda t: t.delete(ROOT + "/tx")),
        ("set bad version", lambda t: t.set_data(ROOT + "/tx", b"x", version=9)),
        ("check missing", lambda t: t.check(ROOT + "/tx/none", 0)),
    ]:
        t = zk.transaction()
        t.create(ROOT + "/tx/pre", b"")
        build(t)
        t.create(ROOT + "/tx/post", b"")
        res = t.commit()
        out("fail", name, [type(r).__name__ if isinstance(r, Exception) else r for r in res])
    out("after failures", sorted(zk.get_children(ROOT + "/tx")))

    with zk.transaction() as t:
        t.create(ROOT + "/tx/ctx", b"")
    out("context manager", t.committed, zk.exists(ROOT + "/tx/ctx") is not None)
    # An empty transaction is legal and returns no results.
    out("empty", zk.transaction().commit())
    _, st = zk.get(ROOT + "/tx")
    out("tx node", stat_line(st, base))


def main():
    logging.basicConfig(level=logging.CRITICAL)
    watchdog = threading.Timer(TOTAL, lambda: (print("FAIL: watchdog: run took longer than %ss" % TOTAL,
                                                     flush=True), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    failures = 0
    try:
        zk = new_client()
        zk.ensure_path(ROOT)
        # Each section runs even if an earlier one failed, so that one missing feature does not
        # hide the state of all the others; the exit status still reports the failure.
        for fn in (server_info, basics, acls, watches, locks, election, barriers, counters, queues,
                   parties, lease, transactions):
            try:
                fn(zk)
            except Exception as e:  # noqa: BLE001 - every failure is reported the same way
                if not isinstance(e, AssertionError):
                    out("FAIL: %s: %s: %s" % (fn.__name__, type(e).__name__, e))
                traceback.print_exc()
                failures += 1
        section("end")
        out("root children", sorted(zk.get_children(ROOT)))
        if failures == 0:
            out("done")
    except Exception as e:  # noqa: BLE001 - connection or setup failure
        out("FAIL: %s: %s" % (type(e).__name__, e))
        traceback.print_exc()
        failures += 1
    finally:
        for c in _clients:
            try:
                c.stop()
                c.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        watchdog.cancel()
    code = 1 if failures else 0
    sys.stdout.flush()
    # os._exit skips waiting for kazoo's daemon threads, which may still be winding down.
    os._exit(code)


if __name__ == "__main__":
    main()
