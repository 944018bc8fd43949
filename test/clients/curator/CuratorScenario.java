// Exercises Apache Curator 5.4 (framework and recipes) against a ZooKeeper server.
//
// Usage: java -cp <curator, zookeeper, guava, slf4j jars>:<classes> CuratorScenario HOST:PORT [--no-extended]
//
// Prints a deterministic transcript on stdout, one fact a line, so that the transcript taken
// against Apache ZooKeeper and the one taken against another server compare line by line.
// Nothing that differs between two runs by nature is printed: no session ids (ephemeral owners
// are named after the client that owns them), no times, no zxids, and the random UUIDs that
// Curator puts into protected and barrier node names are replaced by <uuid>. Children are printed
// sorted, because ZooKeeper does not define their order. Events that the recipes deliver from
// several threads are printed per participant, or collected up to a sentinel event and printed
// in the order they arrived when that order is defined by the server (one connection, one
// watch).
//
// Without --no-extended the server must run with extendedTypesEnabled=true (TTL nodes), and
// everything runs; with --no-extended only the connection facts and the create modes run, to
// check that a server without extended types refuses TTL nodes.
//
// Every wait is bounded (WAIT_MS); a watchdog ends the process when the whole run takes longer
// than TOTAL_MS. Any failure prints a line starting with "FAIL:" and exits non-zero.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.NodeCache;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.recipes.nodes.PersistentTtlNode;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.utils.EnsurePath;
import org.apache.curator.utils.ZKPaths;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

@SuppressWarnings("deprecation")
public class CuratorScenario {
    static final long WAIT_MS = 10_000; // any single expected event
    static final long SHORT_MS = 300; // waits that are expected to time out
    static final long TOTAL_MS = 100_000; // the whole run

    static String hosts;
    static boolean extended = true;
    static final List<CuratorFramework> clients = new ArrayList<>();
    /** Session id -> the name of the client that owns it, for ephemeral owners. */
    static final Map<Long, String> sessionNames = new HashMap<>();

    // ---------------------------------------------------------------- output and failure

    static synchronized void out(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static void section(String name) {
        out("== " + name);
    }

    static final class Failure extends RuntimeException {
        Failure(String msg) {
            super(msg);
        }
    }

    static Failure fail(String msg) {
        out("FAIL: " + msg);
        throw new Failure(msg);
    }

    static void expect(boolean cond, String msg) {
        if (!cond) throw fail(msg);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    interface Condition {
        boolean test() throws Exception;
    }

    static void waitUntil(Condition c, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (System.nanoTime() < deadline) {
            if (c.test()) return;
            Thread.sleep(10);
        }
        throw fail("timed out after " + WAIT_MS + " ms waiting for " + what);
    }

    static void await(CountDownLatch latch, String what) throws InterruptedException {
        if (!latch.await(WAIT_MS, TimeUnit.MILLISECONDS)) throw fail("timed out after " + WAIT_MS + " ms waiting for " + what);
    }

    /** A helper thread whose result or exception the main thread collects with join(). */
    static final class Task<T> {
        final Thread thread;
        volatile T result;
        volatile Throwable error;

        Task(String name, Callable<T> body) {
            thread = new Thread(() -> {
                try {
                    result = body.call();
                } catch (Throwable e) {
                    error = e;
                }
            }, name);
            thread.setDaemon(true);
            thread.start();
        }

        T join(String what) throws InterruptedException {
            thread.join(WAIT_MS);
            if (thread.isAlive()) throw fail("thread did not finish in " + WAIT_MS + " ms: " + what);
            if (error != null) throw fail(what + " threw " + describe(error));
            return result;
        }
    }

    // ---------------------------------------------------------------- rendering

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] data) {
        if (data == null) return "null";
        StringBuilder sb = new StringBuilder("'");
        for (byte x : data) {
            if (x >= 0x20 && x < 0x7f && x != '\\' && x != '\'') sb.append((char) x);
            else sb.append(String.format("\\x%02x", x & 0xff));
        }
        return sb.append("'").toString();
    }

    /** Replaces the random UUIDs Curator puts into node names. */
    static String norm(String s) {
        if (s == null) return "null";
        return s.replaceAll("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>");
    }

    static String names(Collection<String> list) {
        List<String> sorted = list.stream().map(CuratorScenario::norm).sorted().collect(Collectors.toList());
        return "[" + String.join(", ", sorted) + "]";
    }

    static String owner(long owner) {
        if (owner == 0) return "none";
        if (owner == Long.MIN_VALUE) return "container(0x8000000000000000)";
        if ((owner >>> 56) == 0xFF) return String.format("ttl(0x%016x)", owner);
        String name = sessionNames.get(owner);
        return name != null ? "session-" + name : "unknown-session";
    }

    static String stat(Stat s) {
        if (s == null) return "null";
        return "version=" + s.getVersion() + " cversion=" + s.getCversion() + " aversion=" + s.getAversion()
            + " dataLength=" + s.getDataLength() + " numChildren=" + s.getNumChildren() + " owner=" + owner(s.getEphemeralOwner())
            + " mzxid" + (s.getMzxid() == s.getCzxid() ? "==" : ">") + "czxid";
    }

    static String describe(Throwable e) {
        if (e instanceof KeeperException) {
            KeeperException ke = (KeeperException) e;
            return "KeeperException." + ke.code() + (ke.getPath() != null ? " path=" + ke.getPath() : "");
        }
        return e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + norm(e.getMessage()) : "");
    }

    /** Runs fn; returns its rendered value, or the rendered exception it threw. */
    static String attempt(Callable<Object> fn) {
        try {
            Object v = fn.call();
            return "ok " + (v == null ? "null" : norm(String.valueOf(v)));
        } catch (Failure f) {
            throw f;
        } catch (Exception e) {
            return "error " + describe(e);
        }
    }

    static String acls(List<ACL> list) {
        return list.stream().map(a -> a.getId().getScheme() + ":" + a.getId().getId() + ":" + a.getPerms()).collect(Collectors.joining(", ", "[", "]"));
    }

    static String result(CuratorTransactionResult r) {
        return r.getType() + " " + r.getForPath() + " -> " + norm(r.getResultPath()) + " error=" + r.getError()
            + (r.getResultStat() != null ? " stat{" + stat(r.getResultStat()) + "}" : "");
    }

    static String opResult(OpResult r) {
        if (r instanceof OpResult.ErrorResult) return "ErrorResult(" + KeeperException.Code.get(((OpResult.ErrorResult) r).getErr()) + ")";
        if (r instanceof OpResult.CreateResult) return "CreateResult(" + ((OpResult.CreateResult) r).getPath() + ")";
        if (r instanceof OpResult.SetDataResult) return "SetDataResult(version=" + ((OpResult.SetDataResult) r).getStat().getVersion() + ")";
        return r.getClass().getSimpleName();
    }

    static String event(CuratorEvent e) {
        StringBuilder sb = new StringBuilder();
        sb.append(e.getType()).append(" rc=").append(KeeperException.Code.get(e.getResultCode())).append(" path=").append(e.getPath());
        if (e.getName() != null) sb.append(" name=").append(norm(e.getName()));
        if (e.getData() != null) sb.append(" data=").append(str(e.getData()));
        if (e.getStat() != null) sb.append(" stat{").append(stat(e.getStat())).append("}");
        if (e.getChildren() != null) sb.append(" children=").append(names(e.getChildren()));
        if (e.getOpResults() != null) {
            sb.append(" ops=[");
            sb.append(e.getOpResults().stream().map(CuratorScenario::result).collect(Collectors.joining("; ")));
            sb.append("]");
        }
        return sb.toString();
    }

    static String child(ChildData d) {
        if (d == null) return "null";
        return d.getPath() + " " + str(d.getData()) + " version=" + (d.getStat() == null ? "?" : d.getStat().getVersion());
    }

    /** Events delivered by a recipe, printed from the main thread at points of its choosing. */
    static final class Events {
        private final List<String> list = new ArrayList<>();
        private int printed = 0;

        synchronized void add(String e) {
            list.add(e);
            notifyAll();
        }

        synchronized boolean hasNew(String e) {
            return list.subList(printed, list.size()).contains(e);
        }

        synchronized long countNew(String e) {
            return list.subList(printed, list.size()).stream().filter(e::equals).count();
        }

        synchronized List<String> take() {
            List<String> r = new ArrayList<>(list.subList(printed, list.size()));
            printed = list.size();
            return r;
        }

        void waitFor(String e) throws Exception {
            waitUntil(() -> hasNew(e), "event <" + e + ">");
        }

        /**
         * Runs action, waits until every expected event arrived, and prints the new events
         * sorted (for recipes whose event order depends on how their background reads
         * interleave). An unexpected extra event shows up here or in a later step.
         */
        void expect(String label, ThrowingRunnable action, String... expected) throws Exception {
            out("  step " + label);
            action.run();
            List<String> want = new ArrayList<>(List.of(expected));
            waitUntil(() -> {
                List<String> have;
                synchronized (this) {
                    have = new ArrayList<>(list.subList(printed, list.size()));
                }
                for (String w : want) {
                    if (!have.remove(w)) return false;
                }
                return true;
            }, "events " + want);
            List<String> got = take();
            Collections.sort(got);
            for (String e : got) out("    " + e);
        }

        /** Prints whatever arrived after the last step, after a short pause for stragglers. */
        void rest() throws Exception {
            Thread.sleep(200);
            out("  later events " + take());
        }
    }

    // ---------------------------------------------------------------- clients

    static CuratorFramework newClient(String name, int sessionTimeoutMs) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
            .connectString(hosts)
            .sessionTimeoutMs(sessionTimeoutMs)
            .connectionTimeoutMs(5000)
            .retryPolicy(new RetryNTimes(3, 200))
            .defaultData(new byte[0])
            .build();
        c.start();
        synchronized (clients) {
            clients.add(c);
        }
        if (!c.blockUntilConnected((int) WAIT_MS, TimeUnit.MILLISECONDS)) throw fail("client " + name + " did not connect to " + hosts);
        sessionNames.put(c.getZookeeperClient().getZooKeeper().getSessionId(), name);
        return c;
    }

    static CuratorFramework newClient(String name) throws Exception {
        return newClient(name, 15_000);
    }

    static void children(CuratorFramework c, String path) throws Exception {
        out("children " + path + " " + names(c.getChildren().forPath(path)));
    }

    static void show(CuratorFramework c, String path) throws Exception {
        Stat s = new Stat();
        byte[] data;
        try {
            data = c.getData().storingStatIn(s).forPath(path);
        } catch (KeeperException.NoNodeException e) {
            out("node " + norm(path) + " missing");
            return;
        }
        out("node " + norm(path) + " data=" + str(data) + " " + stat(s));
    }

    // ---------------------------------------------------------------- scenario

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: CuratorScenario HOST:PORT [--no-extended]");
            System.exit(2);
        }
        hosts = args[0];
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--no-extended")) extended = false;
            else {
                System.err.println("unknown argument " + args[i]);
                System.exit(2);
            }
        }
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(TOTAL_MS);
            } catch (InterruptedException e) {
                return;
            }
            out("FAIL: watchdog: the run took longer than " + TOTAL_MS + " ms");
            for (Map.Entry<Thread, StackTraceElement[]> t : Thread.getAllStackTraces().entrySet()) {
                System.err.println("thread " + t.getKey().getName());
                for (StackTraceElement el : t.getValue()) System.err.println("    at " + el);
            }
            System.err.flush();
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        int code = 0;
        try {
            run();
            out("done");
        } catch (Failure f) {
            code = 1;
        } catch (Throwable e) {
            out("FAIL: unexpected " + describe(e));
            e.printStackTrace();
            code = 1;
        }
        // Closing the clients may block on a server that stopped answering; the watchdog
        // still covers it.
        synchronized (clients) {
            for (CuratorFramework c : clients) {
                try {
                    c.close();
                } catch (Throwable ignore) {
                    // nothing more to do
                }
            }
        }
        System.out.flush();
        Runtime.getRuntime().halt(code);
    }

    static CuratorFramework a;
    static CuratorFramework bee;

    static void run() throws Exception {
        a = newClient("A");
        bee = newClient("B");
        section("connect");
        out("A negotiated session timeout " + a.getZookeeperClient().getZooKeeper().getSessionTimeout());
        CuratorFramework big = newClient("C", 100_000);
        out("C asked 100000, negotiated session timeout " + big.getZookeeperClient().getZooKeeper().getSessionTimeout());
        big.close();
        children(a, "/");
        children(a, "/zookeeper");
        out("config " + attempt(() -> str(a.getConfig().forEnsemble())));
        out("acl / " + acls(a.getACL().forPath("/")));
        out("acl /zookeeper " + acls(a.getACL().forPath("/zookeeper")));
        out("reconfig -> " + attempt(() -> new String(a.reconfig().leaving("2").forEnsemble(), StandardCharsets.UTF_8)));

        if (!extended) {
            // Only what depends on extended types: the create modes, TTL ones refused.
            modes();
            return;
        }
        basics();
        auth();
        modes();
        dataOps();
        watches();
        background();
        transactions();
        namespaces();
        mutex();
        readWriteLock();
        semaphore();
        leaderLatch();
        leaderSelector();
        atomicLong();
        sharedCount();
        barriers();
        queues();
        curatorCache();
        treeCache();
        nodeCache();
        pathChildrenCache();
        groupMember();
        persistentNodes();
        ttlNodes();
        ephemeralCleanup();
        section("end");
        children(a, "/curator");
    }

    static void basics() throws Exception {
        section("create");
        out("creatingParentsIfNeeded -> " + a.create().creatingParentsIfNeeded().forPath("/curator/a/b/c", b("leaf")));
        for (String p : new String[] {"/curator", "/curator/a", "/curator/a/b", "/curator/a/b/c"}) show(a, p);
        out("create existing -> " + attempt(() -> a.create().forPath("/curator/a/b/c", b("again"))));
        out("create without parent -> " + attempt(() -> a.create().forPath("/curator/missing/child")));
        out("orSetData on existing -> " + attempt(() -> a.create().orSetData().forPath("/curator/a/b/c", b("replaced"))));
        show(a, "/curator/a/b/c");
        out("orSetData on new -> " + attempt(() -> a.create().orSetData().forPath("/curator/a/b/d", b("fresh"))));
        out("idempotent create same data -> " + attempt(() -> a.create().idempotent().forPath("/curator/a/b/d", b("fresh"))));
        out("idempotent create other data -> " + attempt(() -> a.create().idempotent().forPath("/curator/a/b/d", b("other"))));
        Stat s = new Stat();
        out("create storingStatIn -> " + a.create().storingStatIn(s).forPath("/curator/a/stat", b("12345")));
        out("  stat " + stat(s));
        out("creatingParentContainersIfNeeded -> " + a.create().creatingParentContainersIfNeeded().forPath("/curator/containers/x/y", b("y")));
        show(a, "/curator/containers");
        show(a, "/curator/containers/x");
        show(a, "/curator/containers/x/y");
        a.createContainers("/curator/containers2/p/q");
        out("createContainers /curator/containers2/p/q");
        show(a, "/curator/containers2/p");
        show(a, "/curator/containers2/p/q");
        out("withProtection ephemeral_sequential -> "
            + norm(a.create().creatingParentsIfNeeded().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/curator/prot/node-", b("p"))));
        out("withProtectedEphemeralSequential -> "
            + attempt(() -> a.create().withProtectedEphemeralSequential().forPath("/curator/prot/node-", b("p"))));
        children(a, "/curator/prot");
        out("create with READ_ACL_UNSAFE -> " + a.create().withACL(ZooDefs.Ids.READ_ACL_UNSAFE).forPath("/curator/readonly", b("ro")));
        out("acl /curator/readonly " + acls(a.getACL().forPath("/curator/readonly")));
        out("setData readonly -> " + attempt(() -> a.setData().forPath("/curator/readonly", b("x"))));
        out("create under readonly -> " + attempt(() -> a.create().forPath("/curator/readonly/kid")));
        out("setACL readonly -> " + attempt(() -> stat(a.setACL().withVersion(0).withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath("/curator/readonly"))));
        out("setACL readonly bad version -> " + attempt(() -> a.setACL().withVersion(0).withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath("/curator/readonly")));
        out("setData after setACL -> " + attempt(() -> stat(a.setData().forPath("/curator/readonly", b("rw")))));
        out("create compressed -> " + a.create().compressed().forPath("/curator/compressed", b("squeeze me squeeze me squeeze me")));
        out("getData decompressed -> " + str(a.getData().decompressed().forPath("/curator/compressed")));
        out("getData raw length -> " + a.getData().forPath("/curator/compressed").length);
    }

    static void auth() throws Exception {
        section("auth");
        CuratorFramework d = CuratorFrameworkFactory.builder()
            .connectString(hosts)
            .sessionTimeoutMs(15_000)
            .connectionTimeoutMs(5000)
            .retryPolicy(new RetryNTimes(3, 200))
            .defaultData(new byte[0])
            .authorization("digest", b("curator:secret"))
            .build();
        d.start();
        synchronized (clients) {
            clients.add(d);
        }
        if (!d.blockUntilConnected((int) WAIT_MS, TimeUnit.MILLISECONDS)) throw fail("digest client did not connect");
        out("digest client creates CREATOR_ALL_ACL -> " + d.create().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath("/curator/secret", b("s")));
        out("acl " + acls(d.getACL().forPath("/curator/secret")));
        out("digest client reads -> " + str(d.getData().forPath("/curator/secret")));
        out("A reads -> " + attempt(() -> str(a.getData().forPath("/curator/secret"))));
        out("A exists -> " + stat(a.checkExists().forPath("/curator/secret")));
        out("A CREATOR_ALL_ACL without auth -> " + attempt(() -> a.create().withACL(ZooDefs.Ids.CREATOR_ALL_ACL).forPath("/curator/nosecret")));
        out("digest client ip ACL -> " + d.create().withACL(List.of(new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE, new org.apache.zookeeper.data.Id("ip", "127.0.0.1")),
            new ACL(ZooDefs.Perms.ALL, new org.apache.zookeeper.data.Id("digest", "other:bm90IGEgcmVhbCBoYXNo")))).forPath("/curator/byip", b("ip")));
        out("A reads ip-guarded -> " + attempt(() -> str(a.getData().forPath("/curator/byip"))));
        out("A creates child of ip-guarded -> " + attempt(() -> a.create().forPath("/curator/byip/kid")));
        out("A setACL ip-guarded -> " + attempt(() -> a.setACL().withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath("/curator/byip")));
        out("bad ACL scheme -> " + attempt(() -> a.create().withACL(List.of(new ACL(ZooDefs.Perms.ALL, new org.apache.zookeeper.data.Id("nosuch", "x")))).forPath("/curator/badacl")));
        a.getZookeeperClient().getZooKeeper().addAuthInfo("digest", b("curator:secret"));
        out("A after addAuthInfo reads -> " + attempt(() -> str(a.getData().forPath("/curator/secret"))));
        out("A setACL with auth -> " + attempt(() -> stat(a.setACL().withACL(ZooDefs.Ids.OPEN_ACL_UNSAFE).forPath("/curator/secret"))));
        out("acl " + acls(a.getACL().forPath("/curator/secret")));
        d.close();
    }

    static void modes() throws Exception {
        section("create modes");
        for (CreateMode m : new CreateMode[] {CreateMode.PERSISTENT, CreateMode.PERSISTENT_SEQUENTIAL, CreateMode.EPHEMERAL, CreateMode.EPHEMERAL_SEQUENTIAL, CreateMode.CONTAINER}) {
            String p = a.create().creatingParentsIfNeeded().withMode(m).forPath("/curator/modes/" + m.name().toLowerCase(), b(m.name()));
            out(m + " -> " + p);
            show(a, p);
        }
        out("child of ephemeral -> " + attempt(() -> a.create().forPath("/curator/modes/ephemeral/kid")));
        out("second PERSISTENT_SEQUENTIAL -> " + a.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/curator/modes/persistent_sequential"));
        out("sequential with empty name -> " + a.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/curator/modes/"));
        for (CreateMode m : new CreateMode[] {CreateMode.PERSISTENT_WITH_TTL, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL}) {
            String r = attempt(() -> a.create().withTtl(5000).withMode(m).forPath("/curator/modes/" + m.name().toLowerCase(), b(m.name())));
            out(m + " ttl=5000 -> " + r);
            if (r.startsWith("ok ")) show(a, r.substring(3));
        }
        if (extended) {
            out("ttl with parents -> " + attempt(() -> a.create().withTtl(60000).creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/curator/ttlparents/p/leaf")));
            show(a, "/curator/ttlparents/p");
            show(a, "/curator/ttlparents/p/leaf");
            out("ttl orSetData existing -> " + attempt(() -> a.create().orSetData().withTtl(60000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/curator/ttlparents/p/leaf", b("again"))));
            show(a, "/curator/ttlparents/p/leaf");
            out("ttl in transaction -> " + attempt(() -> a.transaction().forOperations(List.of(
                a.transactionOp().create().withTtl(30000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath("/curator/ttlparents/tx", b("t")))).stream()
                .map(CuratorScenario::result).collect(Collectors.toList())));
            show(a, "/curator/ttlparents/tx");
        }
        children(a, "/curator/modes");
    }

    static void dataOps() throws Exception {
        section("data");
        Stat s = a.setData().forPath("/curator/a/b/c", b("v1"));
        out("setData -> " + stat(s));
        out("setData withVersion(1) -> " + attempt(() -> stat(a.setData().withVersion(1).forPath("/curator/a/b/c", b("v2")))));
        out("setData withVersion(1) again -> " + attempt(() -> a.setData().withVersion(1).forPath("/curator/a/b/c", b("v3"))));
        out("setData missing -> " + attempt(() -> a.setData().forPath("/curator/nope", b("x"))));
        Stat st = new Stat();
        out("getData storingStatIn -> " + str(a.getData().storingStatIn(st).forPath("/curator/a/b/c")) + " " + stat(st));
        out("getData missing -> " + attempt(() -> a.getData().forPath("/curator/nope")));
        out("checkExists missing -> " + a.checkExists().forPath("/curator/nope"));
        out("checkExists /curator/a -> " + stat(a.checkExists().forPath("/curator/a")));
        Stat cs = new Stat();
        out("getChildren storingStatIn /curator/a/b -> " + names(a.getChildren().storingStatIn(cs).forPath("/curator/a/b")) + " " + stat(cs));
        out("getChildren missing -> " + attempt(() -> a.getChildren().forPath("/curator/nope")));
        out("delete non-empty -> " + attempt(() -> a.delete().forPath("/curator/a")));
        out("delete bad version -> " + attempt(() -> a.delete().withVersion(7).forPath("/curator/a/b/d")));
        out("delete right version -> " + attempt(() -> a.delete().withVersion(0).forPath("/curator/a/b/d")));
        out("delete missing -> " + attempt(() -> a.delete().forPath("/curator/nope")));
        out("delete quietly missing -> " + attempt(() -> a.delete().quietly().forPath("/curator/nope")));
        out("delete idempotent missing -> " + attempt(() -> a.delete().idempotent().forPath("/curator/nope")));
        out("delete guaranteed -> " + attempt(() -> a.delete().guaranteed().forPath("/curator/a/stat")));
        out("delete deletingChildrenIfNeeded -> " + attempt(() -> a.delete().deletingChildrenIfNeeded().forPath("/curator/a")));
        out("checkExists after -> " + a.checkExists().forPath("/curator/a"));
        out("sync -> " + attempt(() -> {
            CountDownLatch done = new CountDownLatch(1);
            String[] got = new String[1];
            a.sync().inBackground((c, e) -> {
                got[0] = e.getType() + " rc=" + KeeperException.Code.get(e.getResultCode()) + " path=" + e.getPath();
                done.countDown();
            }).forPath("/curator");
            await(done, "sync callback");
            return got[0];
        }));
    }

    static void watches() throws Exception {
        section("watches");
        a.create().forPath("/curator/w", b("0"));
        Events ev = new Events();
        Watcher w = e -> ev.add("one-shot " + e.getType() + " " + e.getPath());
        a.getData().usingWatcher(w).forPath("/curator/w");
        a.setData().forPath("/curator/w", b("1"));
        ev.waitFor("one-shot NodeDataChanged /curator/w");
        a.checkExists().usingWatcher(w).forPath("/curator/w/new");
        a.create().forPath("/curator/w/new");
        ev.waitFor("one-shot NodeCreated /curator/w/new");
        a.getChildren().usingWatcher(w).forPath("/curator/w");
        a.create().forPath("/curator/w/other");
        ev.waitFor("one-shot NodeChildrenChanged /curator/w");
        a.getData().usingWatcher(w).forPath("/curator/w/new");
        a.delete().forPath("/curator/w/new");
        ev.waitFor("one-shot NodeDeleted /curator/w/new");
        for (String e : ev.take()) out("  " + e);

        Events rec = new Events();
        Watcher rw = e -> rec.add("recursive " + e.getType() + " " + e.getPath());
        a.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(rw).forPath("/curator/w");
        out("  recursive watch alone:");
        a.create().forPath("/curator/w/r0", b("x"));
        a.create().forPath("/curator/w/r0/deep", b("y"));
        a.setData().forPath("/curator/w/r0/deep", b("z"));
        a.setData().forPath("/curator/w", b("1b"));
        a.delete().deletingChildrenIfNeeded().forPath("/curator/w/r0");
        a.getChildren().forPath("/curator/w");
        a.setData().forPath("/curator/w", b("1c"));
        waitUntil(() -> rec.countNew("recursive NodeDataChanged /curator/w") == 2, "recursive events");
        for (String e : rec.take()) out("  " + e);
        // A PERSISTENT watch on the same path from the same session replaces the server-side
        // mode of the watch: from now on the server sends the events of a persistent watch on
        // /curator/w only, and the client hands them to both watchers.
        out("  recursive and persistent watch on the same path:");
        Events per = new Events();
        Watcher pw = e -> per.add("persistent " + e.getType() + " " + e.getPath());
        a.watchers().add().withMode(AddWatchMode.PERSISTENT).usingWatcher(pw).forPath("/curator/w");
        a.create().forPath("/curator/w/r1", b("x"));
        a.create().forPath("/curator/w/r1/deep", b("y"));
        a.setData().forPath("/curator/w/r1/deep", b("z"));
        a.setData().forPath("/curator/w", b("2"));
        a.delete().deletingChildrenIfNeeded().forPath("/curator/w/r1");
        a.setData().forPath("/curator/w", b("3"));
        rec.waitFor("recursive NodeDataChanged /curator/w");
        per.waitFor("persistent NodeDataChanged /curator/w");
        // The second data change is the last event of both watches.
        waitUntil(() -> rec.countNew("recursive NodeDataChanged /curator/w") == 2, "second recursive data change");
        waitUntil(() -> per.countNew("persistent NodeDataChanged /curator/w") == 2, "second persistent data change");
        for (String e : rec.take()) out("  " + e);
        for (String e : per.take()) out("  " + e);
        out("remove persistent watcher -> " + attempt(() -> a.watchers().remove(pw).ofType(Watcher.WatcherType.Any).forPath("/curator/w")));
        per.waitFor("persistent PersistentWatchRemoved /curator/w");
        out("remove recursive watcher -> " + attempt(() -> a.watchers().remove(rw).ofType(Watcher.WatcherType.Any).forPath("/curator/w")));
        rec.waitFor("recursive PersistentWatchRemoved /curator/w");
        out("remove again -> " + attempt(() -> a.watchers().remove(rw).ofType(Watcher.WatcherType.Any).forPath("/curator/w")));
        a.setData().forPath("/curator/w", b("4"));
        // A one-shot watch set after the change is the sentinel: it fires only for the next change.
        CountDownLatch sentinel = new CountDownLatch(1);
        a.getData().usingWatcher((Watcher) e -> sentinel.countDown()).forPath("/curator/w");
        a.setData().forPath("/curator/w", b("5"));
        await(sentinel, "sentinel watch");
        for (String e : rec.take()) out("  " + e);
        for (String e : per.take()) out("  " + e);
        Events cw = new Events();
        Watcher dw = e -> cw.add("data-watch " + e.getType() + " " + e.getPath());
        a.getData().usingWatcher(dw).forPath("/curator/w");
        out("remove data watcher ofType(Data) -> " + attempt(() -> a.watchers().remove(dw).ofType(Watcher.WatcherType.Data).forPath("/curator/w")));
        cw.waitFor("data-watch DataWatchRemoved /curator/w");
        a.getChildren().usingWatcher(dw).forPath("/curator/w");
        out("remove child watcher ofType(Data) -> " + attempt(() -> a.watchers().remove(dw).ofType(Watcher.WatcherType.Data).forPath("/curator/w")));
        out("remove child watcher ofType(Children) -> " + attempt(() -> a.watchers().remove(dw).ofType(Watcher.WatcherType.Children).forPath("/curator/w")));
        cw.waitFor("data-watch ChildWatchRemoved /curator/w");
        out("removeAll with nothing left -> " + attempt(() -> a.watchers().removeAll().forPath("/curator/w")));
        out("remove quietly -> " + attempt(() -> a.watchers().remove(dw).quietly().forPath("/curator/w")));
        for (String e : cw.take()) out("  " + e);
    }

    static void background() throws Exception {
        section("background");
        List<String> got = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch[] latch = new CountDownLatch[1];
        org.apache.curator.framework.api.BackgroundCallback cb = (c, e) -> {
            got.add(event(e));
            latch[0].countDown();
        };
        ThrowingRunnable[] ops = new ThrowingRunnable[] {
            () -> a.create().creatingParentsIfNeeded().inBackground(cb).forPath("/curator/bg/one", b("1")),
            () -> a.create().inBackground(cb).forPath("/curator/bg/one", b("1")),
            () -> a.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).inBackground(cb).forPath("/curator/bg/seq-", b("s")),
            () -> a.getData().inBackground(cb).forPath("/curator/bg/one"),
            () -> a.getData().inBackground(cb).forPath("/curator/bg/none"),
            () -> a.setData().inBackground(cb).forPath("/curator/bg/one", b("2")),
            () -> a.setData().withVersion(9).inBackground(cb).forPath("/curator/bg/one", b("3")),
            () -> a.checkExists().inBackground(cb).forPath("/curator/bg/one"),
            () -> a.checkExists().inBackground(cb).forPath("/curator/bg/none"),
            () -> a.getChildren().inBackground(cb).forPath("/curator/bg"),
            () -> a.getACL().inBackground(cb).forPath("/curator/bg/one"),
            () -> a.delete().inBackground(cb).forPath("/curator/bg"),
            () -> a.delete().deletingChildrenIfNeeded().inBackground(cb).forPath("/curator/bg"),
            () -> a.checkExists().inBackground(cb).forPath("/curator/bg"),
        };
        for (ThrowingRunnable op : ops) {
            latch[0] = new CountDownLatch(1);
            op.run();
            await(latch[0], "background callback");
            out("  " + got.get(got.size() - 1));
        }
    }

    static void transactions() throws Exception {
        section("transactions");
        a.create().forPath("/curator/tx", b("base"));
        a.create().forPath("/curator/tx/old", b("old"));
        List<CuratorOp> ok = List.of(
            a.transactionOp().create().forPath("/curator/tx/a", b("a")),
            a.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/curator/tx/seq-", b("s")),
            a.transactionOp().create().withMode(CreateMode.EPHEMERAL).forPath("/curator/tx/eph", b("e")),
            a.transactionOp().setData().forPath("/curator/tx", b("changed")),
            a.transactionOp().check().withVersion(1).forPath("/curator/tx"),
            a.transactionOp().setData().withVersion(1).forPath("/curator/tx", b("changed again")),
            a.transactionOp().delete().forPath("/curator/tx/old"));
        for (CuratorTransactionResult r : a.transaction().forOperations(ok)) out("  ok-tx " + result(r));
        show(a, "/curator/tx");
        children(a, "/curator/tx");

        List<CuratorOp> bad = List.of(
            a.transactionOp().create().forPath("/curator/tx/b", b("b")),
            a.transactionOp().setData().withVersion(99).forPath("/curator/tx", b("never")),
            a.transactionOp().create().forPath("/curator/tx/c", b("c")));
        try {
            a.transaction().forOperations(bad);
            out("  failing-tx succeeded?!");
        } catch (KeeperException e) {
            out("  failing-tx threw " + describe(e));
            List<OpResult> rs = e.getResults();
            out("  failing-tx results " + (rs == null ? "null" : rs.stream().map(CuratorScenario::opResult).collect(Collectors.toList())));
        }
        out("  after failing-tx /curator/tx/b " + a.checkExists().forPath("/curator/tx/b"));
        show(a, "/curator/tx");

        String[] cases = {"create existing first", "delete missing last", "check version on missing", "delete non-empty"};
        List<List<CuratorOp>> lists = List.of(
            List.of(a.transactionOp().create().forPath("/curator/tx/a"), a.transactionOp().create().forPath("/curator/tx/d")),
            List.of(a.transactionOp().create().forPath("/curator/tx/d"), a.transactionOp().delete().forPath("/curator/tx/zz")),
            List.of(a.transactionOp().check().forPath("/curator/tx/zz")),
            List.of(a.transactionOp().delete().forPath("/curator/tx")));
        for (int i = 0; i < cases.length; i++) {
            CountDownLatch done = new CountDownLatch(1);
            String[] got = new String[1];
            a.transaction().inBackground((c, e) -> {
                got[0] = event(e);
                done.countDown();
            }).forOperations(lists.get(i));
            await(done, "background transaction");
            out("  bg-tx " + cases[i] + ": " + got[0]);
        }
        children(a, "/curator/tx");

        Collection<CuratorTransactionResult> old = a.inTransaction()
            .create().forPath("/curator/tx/legacy", b("l")).and()
            .setData().forPath("/curator/tx/legacy", b("l2")).and()
            .check().forPath("/curator/tx").and()
            .commit();
        for (CuratorTransactionResult r : old) out("  inTransaction " + result(r));
        out("  inTransaction failing -> " + attempt(() -> a.inTransaction()
            .delete().forPath("/curator/tx/legacy").and()
            .delete().forPath("/curator/tx/legacy").and()
            .commit()));
        show(a, "/curator/tx/legacy");
    }

    static void namespaces() throws Exception {
        section("namespace and paths");
        CuratorFramework ns = a.usingNamespace("curator/ns");
        out("namespace " + ns.getNamespace());
        out("create in namespace -> " + ns.create().creatingParentsIfNeeded().forPath("/x/y", b("nsy")));
        children(a, "/curator/ns");
        children(a, "/curator/ns/x");
        out("getData in namespace -> " + str(ns.getData().forPath("/x/y")));
        ns.createContainers("/cont/a");
        show(a, "/curator/ns/cont");
        out("nonNamespaceView exists /curator/ns -> " + (ns.nonNamespaceView().checkExists().forPath("/curator/ns") != null));
        out("transaction in namespace -> " + ns.transaction().forOperations(List.of(ns.transactionOp().create().forPath("/t", b("t"))))
            .stream().map(CuratorScenario::result).collect(Collectors.toList()));
        children(a, "/curator/ns");

        out("makePath -> " + ZKPaths.makePath("/curator", "zk/paths") + " " + ZKPaths.makePath("a", "b", "c", "d") + " " + ZKPaths.makePath("/", "x"));
        out("getNodeFromPath -> " + ZKPaths.getNodeFromPath("/curator/zk/leaf") + " '" + ZKPaths.getNodeFromPath("/") + "'");
        ZKPaths.PathAndNode pn = ZKPaths.getPathAndNode("/curator/zk/leaf");
        out("getPathAndNode -> " + pn.getPath() + " " + pn.getNode());
        out("split -> " + ZKPaths.split("/curator/zk/leaf"));
        out("extractSequentialSuffix -> " + ZKPaths.extractSequentialSuffix("lock-0000000042"));
        out("fixForNamespace -> " + ZKPaths.fixForNamespace("ns", "/p"));
        ZooKeeper zk = a.getZookeeperClient().getZooKeeper();
        ZKPaths.mkdirs(zk, "/curator/zkpaths/x/y/z");
        ZKPaths.mkdirs(zk, "/curator/zkpaths/p/q/r", false);
        out("mkdirs -> " + names(zk.getChildren("/curator/zkpaths", false)) + " " + names(zk.getChildren("/curator/zkpaths/p", false))
            + " r exists=" + (zk.exists("/curator/zkpaths/p/q/r", false) != null));
        ZKPaths.mkdirs(zk, "/curator/zkpaths/c/d", true, null, true);
        show(a, "/curator/zkpaths/c");
        zk.create("/curator/zkpaths/s-", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
        zk.create("/curator/zkpaths/s-", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
        out("getSortedChildren -> " + ZKPaths.getSortedChildren(zk, "/curator/zkpaths"));
        ZKPaths.deleteChildren(zk, "/curator/zkpaths/x", false);
        out("deleteChildren keep self -> " + names(zk.getChildren("/curator/zkpaths/x", false)));
        ZKPaths.deleteChildren(zk, "/curator/zkpaths", true);
        out("deleteChildren self -> exists=" + (zk.exists("/curator/zkpaths", false) != null));
        EnsurePath ep = new EnsurePath("/curator/ensure/a/b");
        ep.ensure(a.getZookeeperClient());
        ep.ensure(a.getZookeeperClient());
        out("EnsurePath " + ep.getPath() + " -> " + stat(a.checkExists().forPath("/curator/ensure/a/b")));
        EnsurePath ex = new EnsurePath("/curator/ensure2/a/b").excludingLast();
        ex.ensure(a.getZookeeperClient());
        out("EnsurePath excludingLast -> a exists=" + (a.checkExists().forPath("/curator/ensure2/a") != null) + " b exists=" + (a.checkExists().forPath("/curator/ensure2/a/b") != null));
        EnsurePath nep = ns.newNamespaceAwareEnsurePath("/ens/x");
        nep.ensure(ns.getZookeeperClient());
        out("namespace-aware EnsurePath " + nep.getPath() + " -> exists=" + (a.checkExists().forPath("/curator/ns/ens/x") != null));
    }

    static void mutex() throws Exception {
        section("InterProcessMutex");
        String path = "/curator/locks/mutex";
        InterProcessMutex ma = new InterProcessMutex(a, path);
        InterProcessMutex mb = new InterProcessMutex(bee, path);
        out("A acquire -> " + ma.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("A reentrant acquire -> " + ma.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("A isAcquiredInThisProcess " + ma.isAcquiredInThisProcess() + " ownedByCurrentThread " + ma.isOwnedByCurrentThread());
        out("participants " + names(ma.getParticipantNodes()));
        out("B acquire " + SHORT_MS + "ms -> " + mb.acquire(SHORT_MS, TimeUnit.MILLISECONDS));
        out("lock children after B gave up " + names(a.getChildren().forPath(path)));
        CountDownLatch bHas = new CountDownLatch(1);
        CountDownLatch bRelease = new CountDownLatch(1);
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        Task<Boolean> tb = new Task<>("mutex-B", () -> {
            boolean got = mb.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
            order.add("B acquired " + got);
            bHas.countDown();
            await(bRelease, "release signal");
            mb.release();
            order.add("B released");
            return got;
        });
        waitUntil(() -> ma.getParticipantNodes().size() == 2, "B to queue for the mutex");
        out("participants while B waits " + names(ma.getParticipantNodes()));
        ma.release();
        out("A released once, still owner " + ma.isAcquiredInThisProcess());
        out("B has it after one release -> " + bHas.await(SHORT_MS, TimeUnit.MILLISECONDS));
        order.add("A released");
        ma.release();
        await(bHas, "B to get the mutex");
        out("participants with B owner " + names(mb.getParticipantNodes()));
        out("A acquire while B holds -> " + ma.acquire(SHORT_MS, TimeUnit.MILLISECONDS));
        bRelease.countDown();
        out("B result " + tb.join("B mutex thread"));
        out("order " + order);
        out("release not owned -> " + attempt(() -> {
            ma.release();
            return null;
        }));
        out("lock children at end " + names(a.getChildren().forPath(path)));
    }

    static void readWriteLock() throws Exception {
        section("InterProcessReadWriteLock");
        String path = "/curator/locks/rw";
        InterProcessReadWriteLock la = new InterProcessReadWriteLock(a, path, b("A"));
        InterProcessReadWriteLock lb = new InterProcessReadWriteLock(bee, path, b("B"));
        out("A read -> " + la.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("B read -> " + lb.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("B write " + SHORT_MS + "ms -> " + lb.writeLock().acquire(SHORT_MS, TimeUnit.MILLISECONDS));
        out("nodes " + names(a.getChildren().forPath(path)));
        la.readLock().release();
        lb.readLock().release();
        out("B write -> " + lb.writeLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("B read under own write -> " + lb.readLock().acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("A read " + SHORT_MS + "ms -> " + la.readLock().acquire(SHORT_MS, TimeUnit.MILLISECONDS));
        out("write participants " + names(lb.writeLock().getParticipantNodes()));
        lb.readLock().release();
        lb.writeLock().release();
        out("nodes at end " + names(a.getChildren().forPath(path)));

        section("InterProcessSemaphoreMutex");
        InterProcessSemaphoreMutex sa = new InterProcessSemaphoreMutex(a, "/curator/locks/smutex");
        InterProcessSemaphoreMutex sb = new InterProcessSemaphoreMutex(bee, "/curator/locks/smutex");
        out("A acquire -> " + sa.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        out("B acquire " + SHORT_MS + "ms -> " + sb.acquire(SHORT_MS, TimeUnit.MILLISECONDS));
        out("A acquire again (not reentrant) " + SHORT_MS + "ms -> " + sa.acquire(SHORT_MS, TimeUnit.MILLISECONDS));
        sa.release();
        out("B acquire -> " + sb.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        sb.release();
        out("leases at end " + names(a.getChildren().forPath("/curator/locks/smutex/leases")));
    }

    static void semaphore() throws Exception {
        section("InterProcessSemaphoreV2");
        String path = "/curator/semaphore";
        InterProcessSemaphoreV2 sa = new InterProcessSemaphoreV2(a, path, 2);
        InterProcessSemaphoreV2 sb = new InterProcessSemaphoreV2(bee, path, 2);
        Collection<Lease> leases = sa.acquire(2, WAIT_MS, TimeUnit.MILLISECONDS);
        out("A acquire 2 -> " + (leases == null ? "null" : leases.size()));
        out("A lease nodes " + names(leases.stream().map(Lease::getNodeName).collect(Collectors.toList())));
        out("B acquire " + SHORT_MS + "ms -> " + sb.acquire(SHORT_MS, TimeUnit.MILLISECONDS));
        out("participants " + names(sa.getParticipantNodes()));
        Task<String> tb = new Task<>("semaphore-B", () -> {
            Lease l = sb.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
            if (l == null) return "null";
            String name = l.getNodeName();
            l.close();
            return name;
        });
        waitUntil(() -> sa.getParticipantNodes().size() == 3, "B to wait for a lease");
        out("participants while B waits " + names(sa.getParticipantNodes()));
        List<Lease> list = new ArrayList<>(leases);
        list.sort((x, y) -> x.getNodeName().compareTo(y.getNodeName()));
        sa.returnLease(list.get(0));
        out("B got lease " + norm(tb.join("B semaphore thread")));
        sa.returnAll(list.subList(1, list.size()));
        out("participants at end " + names(sa.getParticipantNodes()));
        children(a, path);
    }

    static void leaderLatch() throws Exception {
        section("LeaderLatch");
        String path = "/curator/latch";
        Map<String, List<String>> events = new HashMap<>();
        events.put("p1", Collections.synchronizedList(new ArrayList<>()));
        events.put("p2", Collections.synchronizedList(new ArrayList<>()));
        LeaderLatch l1 = new LeaderLatch(a, path, "p1", LeaderLatch.CloseMode.NOTIFY_LEADER);
        LeaderLatch l2 = new LeaderLatch(bee, path, "p2", LeaderLatch.CloseMode.NOTIFY_LEADER);
        for (LeaderLatch l : new LeaderLatch[] {l1, l2}) {
            List<String> mine = events.get(l.getId());
            l.addListener(new LeaderLatchListener() {
                @Override
                public void isLeader() {
                    mine.add("isLeader");
                }

                @Override
                public void notLeader() {
                    mine.add("notLeader");
                }
            });
        }
        l1.start();
        out("p1 await -> " + l1.await(WAIT_MS, TimeUnit.MILLISECONDS));
        l2.start();
        waitUntil(() -> l2.getOurPath() != null && l2.getParticipants().size() == 2, "p2 to join the latch");
        out("p1 path " + norm(l1.getOurPath()) + " p2 path " + norm(l2.getOurPath()));
        out("p1 hasLeadership " + l1.hasLeadership() + " p2 hasLeadership " + l2.hasLeadership());
        out("p2 await " + SHORT_MS + "ms -> " + l2.await(SHORT_MS, TimeUnit.MILLISECONDS));
        out("leader seen by p2 " + l2.getLeader().getId() + " isLeader=" + l2.getLeader().isLeader());
        out("participants " + l2.getParticipants().stream().map(p -> p.getId() + ":" + p.isLeader()).sorted().collect(Collectors.toList()));
        out("latch children " + names(a.getChildren().forPath(path)));
        l1.close();
        out("p2 await after p1 closed -> " + l2.await(WAIT_MS, TimeUnit.MILLISECONDS));
        out("p1 state " + l1.getState() + " p2 state " + l2.getState());
        out("participants " + l2.getParticipants().stream().map(p -> p.getId() + ":" + p.isLeader()).sorted().collect(Collectors.toList()));
        l2.close();
        waitUntil(() -> events.get("p2").size() == 2 && events.get("p1").size() == 2, "latch listener events");
        waitUntil(() -> a.getChildren().forPath(path).isEmpty(), "latch nodes to go");
        out("p1 events " + events.get("p1"));
        out("p2 events " + events.get("p2"));
        out("latch children at end " + names(a.getChildren().forPath(path)));
    }

    static void leaderSelector() throws Exception {
        section("LeaderSelector");
        String path = "/curator/selector";
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch took1 = new CountDownLatch(1), took2 = new CountDownLatch(1);
        CountDownLatch release1 = new CountDownLatch(1), release2 = new CountDownLatch(1);
        LeaderSelector s1 = new LeaderSelector(a, path, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework client) throws Exception {
                order.add("s1 takes");
                took1.countDown();
                release1.await(WAIT_MS, TimeUnit.MILLISECONDS);
                order.add("s1 relinquishes");
            }
        });
        LeaderSelector s2 = new LeaderSelector(bee, path, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework client) throws Exception {
                order.add("s2 takes");
                took2.countDown();
                release2.await(WAIT_MS, TimeUnit.MILLISECONDS);
                order.add("s2 relinquishes");
            }
        });
        s1.setId("s1");
        s2.setId("s2");
        s1.start();
        await(took1, "s1 to take leadership");
        s2.start();
        waitUntil(() -> s2.getParticipants().size() == 2, "s2 to join");
        out("s1 hasLeadership " + s1.hasLeadership() + " s2 hasLeadership " + s2.hasLeadership());
        out("leader " + s2.getLeader().getId());
        out("participants " + s2.getParticipants().stream().map(p -> p.getId() + ":" + p.isLeader()).sorted().collect(Collectors.toList()));
        out("selector children " + names(a.getChildren().forPath(path)));
        release1.countDown();
        await(took2, "s2 to take leadership");
        out("s2 hasLeadership " + s2.hasLeadership());
        out("participants " + s2.getParticipants().stream().map(p -> p.getId() + ":" + p.isLeader()).sorted().collect(Collectors.toList()));
        release2.countDown();
        waitUntil(() -> order.size() == 4, "s2 to relinquish");
        waitUntil(() -> !s2.hasLeadership(), "s2 to drop leadership");
        out("order " + order);
        s1.close();
        s2.close();
        waitUntil(() -> a.getChildren().forPath(path).isEmpty(), "selector nodes to go");
        out("selector children at end " + names(a.getChildren().forPath(path)));
    }

    static String av(AtomicValue<Long> v) {
        return "succeeded=" + v.succeeded() + " pre=" + v.preValue() + " post=" + v.postValue();
    }

    static void atomicLong() throws Exception {
        section("DistributedAtomicLong");
        String path = "/curator/counter";
        DistributedAtomicLong ca = new DistributedAtomicLong(a, path, new RetryNTimes(3, 10));
        DistributedAtomicLong cb = new DistributedAtomicLong(bee, path, new RetryNTimes(3, 10));
        out("get before -> " + av(ca.get()));
        out("initialize(5) -> " + ca.initialize(5L));
        out("initialize(6) again -> " + ca.initialize(6L));
        out("increment -> " + av(ca.increment()));
        out("add(10) -> " + av(ca.add(10L)));
        out("B subtract(3) -> " + av(cb.subtract(3L)));
        out("decrement -> " + av(ca.decrement()));
        out("compareAndSet(99, 1) -> " + av(ca.compareAndSet(99L, 1L)));
        out("compareAndSet(12, 100) -> " + av(ca.compareAndSet(12L, 100L)));
        out("trySet(42) -> " + av(cb.trySet(42L)));
        ca.forceSet(7L);
        out("forceSet(7), B get -> " + av(cb.get()));
        show(a, path);
    }

    static void sharedCount() throws Exception {
        section("SharedCount");
        String path = "/curator/shared";
        SharedCount c1 = new SharedCount(a, path, 5);
        SharedCount c2 = new SharedCount(bee, path, 99);
        List<Integer> seen = Collections.synchronizedList(new ArrayList<>());
        c2.addListener(new org.apache.curator.framework.recipes.shared.SharedCountListener() {
            @Override
            public void countHasChanged(org.apache.curator.framework.recipes.shared.SharedCountReader r, int n) {
                seen.add(n);
            }

            @Override
            public void stateChanged(CuratorFramework client, ConnectionState s) {
            }
        });
        c1.start();
        c2.start();
        out("c1 " + c1.getCount() + " c2 " + c2.getCount());
        VersionedValue<Integer> v0 = c1.getVersionedValue();
        out("c1 versioned " + v0.getValue() + "@" + v0.getVersion());
        c1.setCount(10);
        waitUntil(() -> c2.getCount() == 10, "c2 to see 10");
        out("after c1 setCount(10): c2 " + c2.getCount() + " version " + c2.getVersionedValue().getVersion());
        out("c2 trySetCount(stale, 20) -> " + c2.trySetCount(v0, 20));
        out("c2 trySetCount(current, 20) -> " + c2.trySetCount(c2.getVersionedValue(), 20));
        waitUntil(() -> c1.getCount() == 20, "c1 to see 20");
        waitUntil(() -> seen.contains(10), "c2 listener to see 10");
        out("c1 " + c1.getCount() + " version " + c1.getVersionedValue().getVersion());
        c1.close();
        c2.close();
        show(a, path);
    }

    static void barriers() throws Exception {
        section("DistributedBarrier");
        String path = "/curator/barrier";
        DistributedBarrier ba = new DistributedBarrier(a, path);
        DistributedBarrier bb = new DistributedBarrier(bee, path);
        out("wait without barrier -> " + bb.waitOnBarrier(SHORT_MS, TimeUnit.MILLISECONDS));
        ba.setBarrier();
        out("setBarrier twice -> " + attempt(() -> {
            ba.setBarrier();
            return null;
        }));
        show(a, path);
        out("B wait " + SHORT_MS + "ms -> " + bb.waitOnBarrier(SHORT_MS, TimeUnit.MILLISECONDS));
        CountDownLatch started = new CountDownLatch(1);
        Task<Boolean> t = new Task<>("barrier-B", () -> {
            started.countDown();
            return bb.waitOnBarrier(WAIT_MS, TimeUnit.MILLISECONDS);
        });
        await(started, "barrier waiter");
        Thread.sleep(100);
        ba.removeBarrier();
        out("B wait until removed -> " + t.join("barrier waiter"));
        show(a, path);

        section("DistributedDoubleBarrier");
        String dpath = "/curator/dbarrier";
        DistributedDoubleBarrier d1 = new DistributedDoubleBarrier(a, dpath, 2);
        DistributedDoubleBarrier d2 = new DistributedDoubleBarrier(bee, dpath, 2);
        Task<Boolean> e1 = new Task<>("enter-1", () -> d1.enter(WAIT_MS, TimeUnit.MILLISECONDS));
        waitUntil(() -> a.checkExists().forPath(dpath) != null && a.getChildren().forPath(dpath).size() == 1, "first member to enter");
        out("one member in " + names(a.getChildren().forPath(dpath)));
        Task<Boolean> e2 = new Task<>("enter-2", () -> d2.enter(WAIT_MS, TimeUnit.MILLISECONDS));
        out("enter 1 -> " + e1.join("enter 1") + " enter 2 -> " + e2.join("enter 2"));
        out("members " + names(a.getChildren().forPath(dpath)));
        Task<Boolean> x1 = new Task<>("leave-1", () -> d1.leave(WAIT_MS, TimeUnit.MILLISECONDS));
        Task<Boolean> x2 = new Task<>("leave-2", () -> d2.leave(WAIT_MS, TimeUnit.MILLISECONDS));
        out("leave 1 -> " + x1.join("leave 1") + " leave 2 -> " + x2.join("leave 2"));
        out("members after leave " + names(a.getChildren().forPath(dpath)));
        DistributedDoubleBarrier lonely = new DistributedDoubleBarrier(a, "/curator/dbarrier2", 2);
        out("enter alone " + SHORT_MS + "ms -> " + lonely.enter(SHORT_MS, TimeUnit.MILLISECONDS));
        out("members after timeout " + names(a.getChildren().forPath("/curator/dbarrier2")));
    }

    static void queues() throws Exception {
        section("SimpleDistributedQueue");
        String path = "/curator/squeue";
        SimpleDistributedQueue qa = new SimpleDistributedQueue(a, path);
        SimpleDistributedQueue qb = new SimpleDistributedQueue(bee, path);
        out("peek empty -> " + str(qa.peek()));
        out("poll empty -> " + str(qa.poll()));
        out("element empty -> " + attempt(() -> str(qa.element())));
        out("poll 200ms empty -> " + str(qa.poll(200, TimeUnit.MILLISECONDS)));
        for (String s : new String[] {"first", "second", "third"}) out("offer " + s + " -> " + qa.offer(b(s)));
        children(a, path);
        out("B peek -> " + str(qb.peek()));
        out("B poll -> " + str(qb.poll()));
        out("A remove -> " + str(qa.remove()));
        out("B take -> " + str(qb.take()));
        out("A poll -> " + str(qa.poll()));
        Task<String> t = new Task<>("queue-B", () -> str(qb.poll(WAIT_MS, TimeUnit.MILLISECONDS)));
        Thread.sleep(100);
        qa.offer(b("late"));
        out("B poll(wait) -> " + t.join("queue poller"));
        children(a, path);

        section("DistributedQueue");
        String dpath = "/curator/dqueue";
        QueueSerializer<String> ser = new QueueSerializer<String>() {
            @Override
            public byte[] serialize(String item) {
                return b(item);
            }

            @Override
            public String deserialize(byte[] bytes) {
                return new String(bytes, StandardCharsets.UTF_8);
            }
        };
        List<String> consumed = Collections.synchronizedList(new ArrayList<>());
        QueueConsumer<String> consumer = new QueueConsumer<String>() {
            @Override
            public void consumeMessage(String message) {
                consumed.add(message);
            }

            @Override
            public void stateChanged(CuratorFramework client, ConnectionState s) {
            }
        };
        DistributedQueue<String> producer = QueueBuilder.builder(a, null, ser, dpath).buildQueue();
        producer.start();
        for (int i = 1; i <= 4; i++) producer.put("m" + i);
        out("queued before consumer " + names(a.getChildren().forPath(dpath)));
        DistributedQueue<String> cons = QueueBuilder.builder(bee, consumer, ser, dpath).lockPath("/curator/dqueue-lock").buildQueue();
        cons.start();
        waitUntil(() -> consumed.size() == 4, "4 queue messages");
        producer.put("m5");
        producer.putMulti(new org.apache.curator.framework.recipes.queue.MultiItem<String>() {
            int n = 0;

            @Override
            public String nextItem() {
                return ++n <= 2 ? "multi" + n : null;
            }
        });
        waitUntil(() -> consumed.size() == 7, "7 queue messages");
        out("consumed " + consumed);
        producer.close();
        cons.close();
        waitUntil(() -> a.getChildren().forPath(dpath).isEmpty(), "queue to drain");
        out("queue children at end " + names(a.getChildren().forPath(dpath)));
    }

    static void curatorCache() throws Exception {
        section("CuratorCache");
        String root = "/curator/cache";
        a.create().creatingParentsIfNeeded().forPath(root + "/one", b("1"));
        a.create().forPath(root + "/one/sub", b("1s"));
        a.create().forPath(root + "/marker", b("m0"));
        Events ev = new Events();
        List<String> initial = Collections.synchronizedList(new ArrayList<>());
        boolean[] initDone = new boolean[1];
        CuratorCache cache = CuratorCache.build(bee, root);
        cache.listenable().addListener(new CuratorCacheListener() {
            @Override
            public void event(Type type, ChildData oldData, ChildData data) {
                String line = type + " " + (type == Type.NODE_CHANGED ? child(oldData) + " => " + child(data) : type == Type.NODE_DELETED ? child(oldData) : child(data));
                synchronized (initDone) {
                    if (!initDone[0]) {
                        initial.add(line);
                        return;
                    }
                }
                ev.add(line);
            }

            @Override
            public void initialized() {
                synchronized (initDone) {
                    initDone[0] = true;
                }
                ev.add("initialized");
            }
        });
        cache.start();
        ev.waitFor("initialized");
        ev.take();
        List<String> init = new ArrayList<>(initial);
        Collections.sort(init);
        for (String l : init) out("  initial " + l);
        out("  initialized, size " + cache.size());
        // Each step ends with a change to a marker node inside the cache. CuratorCache learns of
        // every change through one persistent recursive watch and reports creations and changes
        // when its getData calls return, which they do in order; so the marker's event comes
        // after every event the step caused, and all of them are printed.
        int[] m = {0};
        ThrowingRunnable sentinel = () -> a.setData().forPath(root + "/marker", b("m" + (++m[0])));
        java.util.function.Supplier<String> sentinelEvent = () -> "NODE_CHANGED " + root + "/marker 'm" + (m[0] - 1) + "' version=" + (m[0] - 1) + " => " + root + "/marker 'm" + m[0] + "' version=" + m[0];
        Object[][] steps = {
            {"create two", (ThrowingRunnable) () -> a.create().forPath(root + "/two", b("2"))},
            {"set one", (ThrowingRunnable) () -> a.setData().forPath(root + "/one", b("1b"))},
            {"set one same data", (ThrowingRunnable) () -> a.setData().forPath(root + "/one", b("1b"))},
            {"create deep with parents", (ThrowingRunnable) () -> a.create().creatingParentsIfNeeded().forPath(root + "/two/x/y", b("y"))},
            {"transaction (sorted)", (ThrowingRunnable) () -> a.transaction().forOperations(List.of(
                a.transactionOp().create().forPath(root + "/t1", b("t1")),
                a.transactionOp().setData().forPath(root + "/t1", b("t1b")),
                a.transactionOp().delete().forPath(root + "/one/sub")))},
            {"ephemeral created by the other client", (ThrowingRunnable) () -> a.create().withMode(CreateMode.EPHEMERAL).forPath(root + "/eph", b("e"))},
            {"delete subtree", (ThrowingRunnable) () -> a.delete().deletingChildrenIfNeeded().forPath(root + "/two")},
            {"outside the cache", (ThrowingRunnable) () -> a.create().forPath("/curator/cache-outside", b("o"))},
        };
        for (Object[] s : steps) {
            ThrowingRunnable act = (ThrowingRunnable) s[1];
            out("  step " + s[0]);
            act.run();
            sentinel.run();
            String se = sentinelEvent.get();
            ev.waitFor(se);
            // Within a step the order is the server's notification order, except where
            // deletions (reported at once) mix with creations and changes (reported when the
            // cache's getData returns): such steps are printed sorted.
            List<String> lines = new ArrayList<>();
            for (String e : ev.take()) {
                if (e.equals(se)) break;
                lines.add(e);
            }
            if (((String) s[0]).endsWith("(sorted)")) Collections.sort(lines);
            for (String e : lines) out("    " + e);
        }
        out("  cache contents " + cache.stream().map(CuratorScenario::child).sorted().collect(Collectors.toList()));
        out("  get one -> " + cache.get(root + "/one").map(CuratorScenario::child).orElse("absent"));
        cache.close();
        a.setData().forPath(root + "/one", b("after close"));
        Thread.sleep(100);
        out("  events after close " + ev.take());
    }

    static String treeEvent(org.apache.curator.framework.recipes.cache.TreeCacheEvent e) {
        return e.getType() + (e.getData() != null ? " " + child(e.getData()) : "");
    }

    static void treeCache() throws Exception {
        section("TreeCache");
        String root = "/curator/tree";
        a.create().creatingParentsIfNeeded().forPath(root + "/k1/k2", b("k2"));
        a.create().forPath(root + "/marker", b("m0"));
        Events ev = new Events();
        List<String> initial = Collections.synchronizedList(new ArrayList<>());
        boolean[] initDone = new boolean[1];
        TreeCache tc = TreeCache.newBuilder(bee, root).setCacheData(true).build();
        tc.getListenable().addListener((c, e) -> {
            String line = treeEvent(e);
            synchronized (initDone) {
                if (e.getType() == org.apache.curator.framework.recipes.cache.TreeCacheEvent.Type.INITIALIZED) initDone[0] = true;
                else if (!initDone[0]) {
                    initial.add(line);
                    return;
                }
            }
            ev.add(line);
        });
        tc.start();
        ev.waitFor("INITIALIZED");
        ev.take();
        List<String> init = new ArrayList<>(initial);
        Collections.sort(init);
        for (String l : init) out("  initial " + l);
        ev.expect("create k1/k3", () -> a.create().forPath(root + "/k1/k3", b("k3")), "NODE_ADDED " + root + "/k1/k3 'k3' version=0");
        ev.expect("set k1/k2", () -> a.setData().forPath(root + "/k1/k2", b("k2b")), "NODE_UPDATED " + root + "/k1/k2 'k2b' version=1");
        ev.expect("delete k1 subtree", () -> a.delete().deletingChildrenIfNeeded().forPath(root + "/k1"),
            "NODE_REMOVED " + root + "/k1 '' version=0", "NODE_REMOVED " + root + "/k1/k2 'k2b' version=1", "NODE_REMOVED " + root + "/k1/k3 'k3' version=0");
        ev.expect("create with parents", () -> a.create().creatingParentsIfNeeded().forPath(root + "/n1/n2", b("n2")),
            "NODE_ADDED " + root + "/n1 '' version=0", "NODE_ADDED " + root + "/n1/n2 'n2' version=0");
        ev.rest();
        out("  current children of root " + names(tc.getCurrentChildren(root).keySet()));
        tc.close();
    }

    static void nodeCache() throws Exception {
        section("NodeCache");
        String path = "/curator/nodecache";
        NodeCache nc = new NodeCache(bee, path);
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        nc.getListenable().addListener(() -> seen.add(child(nc.getCurrentData())));
        nc.start(true);
        out("initial " + child(nc.getCurrentData()));
        a.create().forPath(path, b("one"));
        waitUntil(() -> seen.size() == 1, "NodeCache to see the create");
        a.setData().forPath(path, b("two"));
        waitUntil(() -> seen.size() == 2, "NodeCache to see the change");
        a.delete().forPath(path);
        waitUntil(() -> seen.size() == 3, "NodeCache to see the delete");
        a.create().forPath(path, b("three"));
        waitUntil(() -> seen.size() == 4, "NodeCache to see the re-create");
        out("listener saw " + seen);
        nc.close();
    }

    static String pcEvent(org.apache.curator.framework.recipes.cache.PathChildrenCacheEvent e) {
        return e.getType() + (e.getData() != null ? " " + child(e.getData()) : "");
    }

    static void pathChildrenCache() throws Exception {
        section("PathChildrenCache");
        String root = "/curator/pcache";
        a.create().creatingParentsIfNeeded().forPath(root + "/c1", b("c1"));
        a.create().forPath(root + "/c2", b("c2"));
        a.create().forPath(root + "/marker", b("m0"));
        Events ev = new Events();
        PathChildrenCache pc = new PathChildrenCache(bee, root, true);
        List<String> initial = Collections.synchronizedList(new ArrayList<>());
        boolean[] initDone = new boolean[1];
        pc.getListenable().addListener((c, e) -> {
            String line = pcEvent(e);
            synchronized (initDone) {
                if (e.getType() == org.apache.curator.framework.recipes.cache.PathChildrenCacheEvent.Type.INITIALIZED) {
                    initDone[0] = true;
                    out("  initial data " + e.getInitialData().stream().map(CuratorScenario::child).sorted().collect(Collectors.toList()));
                } else if (!initDone[0]) {
                    initial.add(line);
                    return;
                }
            }
            ev.add(line);
        });
        pc.start(PathChildrenCache.StartMode.POST_INITIALIZED_EVENT);
        ev.waitFor("INITIALIZED");
        ev.take();
        List<String> init = new ArrayList<>(initial);
        Collections.sort(init);
        for (String l : init) out("  initial " + l);
        ev.expect("create c3", () -> a.create().forPath(root + "/c3", b("c3")), "CHILD_ADDED " + root + "/c3 'c3' version=0");
        ev.expect("set c1", () -> a.setData().forPath(root + "/c1", b("c1b")), "CHILD_UPDATED " + root + "/c1 'c1b' version=1");
        ev.expect("delete c2", () -> a.delete().forPath(root + "/c2"), "CHILD_REMOVED " + root + "/c2 'c2' version=0");
        ev.expect("create ephemeral c4", () -> a.create().withMode(CreateMode.EPHEMERAL).forPath(root + "/c4", b("c4")), "CHILD_ADDED " + root + "/c4 'c4' version=0");
        ev.expect("delete c4", () -> a.delete().forPath(root + "/c4"), "CHILD_REMOVED " + root + "/c4 'c4' version=0");
        ev.expect("create grandchild, then set marker", () -> {
            a.create().forPath(root + "/c1/g", b("g"));
            a.setData().forPath(root + "/marker", b("m1"));
        }, "CHILD_UPDATED " + root + "/marker 'm1' version=1");
        ev.rest();
        out("  current " + pc.getCurrentData().stream().map(CuratorScenario::child).sorted().collect(Collectors.toList()));
        pc.close();
    }

    static void groupMember() throws Exception {
        section("GroupMember");
        String path = "/curator/group";
        org.apache.curator.framework.recipes.nodes.GroupMember g1 = new org.apache.curator.framework.recipes.nodes.GroupMember(a, path, "g1", b("one"));
        org.apache.curator.framework.recipes.nodes.GroupMember g2 = new org.apache.curator.framework.recipes.nodes.GroupMember(bee, path, "g2", b("two"));
        g1.start();
        g2.start();
        java.util.function.Function<org.apache.curator.framework.recipes.nodes.GroupMember, String> members = g -> g.getCurrentMembers().entrySet().stream()
            .map(e -> e.getKey() + "=" + str(e.getValue())).sorted().collect(Collectors.joining(", ", "[", "]"));
        waitUntil(() -> g1.getCurrentMembers().size() == 2 && g2.getCurrentMembers().size() == 2, "both group members");
        out("g1 sees " + members.apply(g1));
        g2.setThisData(b("two-b"));
        waitUntil(() -> "'two-b'".equals(str(g1.getCurrentMembers().get("g2"))), "g1 to see g2's new data");
        out("g1 sees " + members.apply(g1));
        show(a, path + "/g2");
        g2.close();
        waitUntil(() -> g1.getCurrentMembers().size() == 1, "g2 to leave");
        out("g1 sees " + members.apply(g1));
        g1.close();
        children(a, path);
    }

    static void persistentNodes() throws Exception {
        section("PersistentNode");
        PersistentNode pn = new PersistentNode(a, CreateMode.EPHEMERAL, false, "/curator/pnode/eph", b("v1"));
        pn.start();
        out("waitForInitialCreate -> " + pn.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS));
        out("actual path " + pn.getActualPath());
        show(bee, "/curator/pnode/eph");
        bee.delete().forPath("/curator/pnode/eph");
        waitUntil(() -> bee.checkExists().forPath("/curator/pnode/eph") != null, "PersistentNode to re-create its node");
        show(bee, "/curator/pnode/eph");
        pn.setData(b("v2"));
        waitUntil(() -> "'v2'".equals(str(bee.getData().forPath("/curator/pnode/eph"))), "PersistentNode data v2");
        show(bee, "/curator/pnode/eph");
        pn.close();
        out("after close exists " + (bee.checkExists().forPath("/curator/pnode/eph") != null));

        PersistentNode ps = new PersistentNode(a, CreateMode.EPHEMERAL_SEQUENTIAL, true, "/curator/pnode/seq-", b("s"));
        ps.start();
        out("protected sequential waitForInitialCreate -> " + ps.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS));
        String first = ps.getActualPath();
        out("actual path " + norm(first));
        bee.delete().forPath(first);
        // A protected sequential node is re-created under the same name, as EPHEMERAL.
        waitUntil(() -> bee.checkExists().forPath(first) != null, "PersistentNode to re-create its sequential node");
        out("re-created as " + norm(ps.getActualPath()));
        children(bee, "/curator/pnode");
        ps.close();
        children(bee, "/curator/pnode");

        PersistentNode pc = new PersistentNode(a, CreateMode.PERSISTENT, false, "/curator/pnode/persist/deep", b("p"));
        pc.start();
        out("persistent with parents waitForInitialCreate -> " + pc.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS));
        show(bee, "/curator/pnode/persist");
        show(bee, "/curator/pnode/persist/deep");
        pc.close();
        out("persistent after close exists " + (bee.checkExists().forPath("/curator/pnode/persist/deep") != null));
    }

    static void ttlNodes() throws Exception {
        section("PersistentTtlNode");
        if (!extended) {
            out("skipped: extended types disabled");
            return;
        }
        PersistentTtlNode tn = new PersistentTtlNode(a, "/curator/ttlnode", 1000, b("ttl"));
        tn.start();
        out("waitForInitialCreate -> " + tn.waitForInitialCreate(WAIT_MS, TimeUnit.MILLISECONDS));
        waitUntil(() -> a.checkExists().forPath("/curator/ttlnode/touch") != null, "the touch child");
        show(bee, "/curator/ttlnode");
        Stat touch = bee.checkExists().forPath("/curator/ttlnode/touch");
        out("touch owner " + owner(touch.getEphemeralOwner()) + " dataLength=" + touch.getDataLength());
        int v0 = touch.getVersion();
        waitUntil(() -> bee.checkExists().forPath("/curator/ttlnode/touch").getVersion() > v0, "the touch child to be touched");
        out("touch child touched again: true");
        tn.setData(b("ttl2"));
        waitUntil(() -> "'ttl2'".equals(str(bee.getData().forPath("/curator/ttlnode"))), "PersistentTtlNode data");
        out("data " + str(bee.getData().forPath("/curator/ttlnode")));
        tn.close();
        out("after close: container exists " + (bee.checkExists().forPath("/curator/ttlnode") != null));
    }

    static void ephemeralCleanup() throws Exception {
        section("ephemerals on close");
        bee.create().withMode(CreateMode.EPHEMERAL).forPath("/curator/b-eph", b("b"));
        bee.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/curator/b-eph-seq-", b("b"));
        show(a, "/curator/b-eph");
        bee.close();
        waitUntil(() -> a.checkExists().forPath("/curator/b-eph") == null, "B's ephemeral node to go");
        out("B closed, /curator/b-eph exists " + (a.checkExists().forPath("/curator/b-eph") != null));
        out("children " + names(a.getChildren().forPath("/curator").stream().filter(n -> n.startsWith("b-")).collect(Collectors.toList())));
    }
}
