# One kazoo session for the golden-bytes capture (test/golden/capture.ts), run with the system
# python (/usr/bin/python3, Debian's python3-kazoo 2.8) against the recording proxy:
#
#   /usr/bin/python3 kazoo-session.py 127.0.0.1:PORT
#
# It covers what zkCli.sh cannot send: create2 (include_data), multi (transactions, one of them
# failing), getChildren2 from kazoo, an ACL with the 'auth' scheme and an empty id (kazoo writes
# an empty string as a null one, length -1), and kazoo's own ping, close and readOnly byte.
# Every step is bounded: kazoo's calls time out on their own and the session timeout is short.
import sys
import time

from kazoo.client import KazooClient
from kazoo.security import ACL, Id, make_digest_acl

hosts = sys.argv[1]
events = []

zk = KazooClient(hosts=hosts, timeout=4.0, auth_data=[("digest", "bob:pw")])
zk.start(timeout=15)
try:
    zk.create("/kz", b"kazoo")
    zk.create("/kz/c2", b"v", include_data=True)
    zk.create("/kz/eph-", b"", ephemeral=True, sequence=True)
    zk.create("/kz/acl", b"x", acl=[make_digest_acl("bob", "pw", all=True)])
    zk.create("/kz/auth", None, acl=[ACL(31, Id("auth", ""))])
    zk.get_children("/kz", include_data=True)
    zk.get_children("/kz")
    zk.get_acls("/kz/acl")
    zk.set_acls("/kz/acl", [make_digest_acl("bob", "pw", read=True, write=True)])

    t = zk.transaction()
    t.create("/kz/t1", b"a")
    t.set_data("/kz/c2", b"w")
    t.check("/kz", 0)
    t.delete("/kz/t1")
    t.commit()

    # Fails on the delete: every result becomes an error, the create is rolled back.
    t = zk.transaction()
    t.create("/kz/t2", b"b")
    t.delete("/kz/missing")
    t.commit()

    zk.exists("/kz/later", watch=lambda e: events.append(e))
    zk.get("/kz", watch=lambda e: events.append(e))
    zk.get_children("/kz", watch=lambda e: events.append(e))
    zk.sync("/kz")

    # Idle for longer than a third of the 4 s session timeout: kazoo pings.
    time.sleep(2.0)

    zk.create("/kz/later", b"")
    zk.set("/kz", b"changed")
    deadline = time.time() + 5
    while len(events) < 3 and time.time() < deadline:
        time.sleep(0.05)
    print("events", len(events), flush=True)
    zk.delete("/kz", recursive=True)
finally:
    zk.stop()
    zk.close()
print("done", flush=True)
