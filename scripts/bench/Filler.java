// Fills a ZooKeeper-compatible server with many small znodes, for the memory and restart
// measurements of `npm run bench` (scripts/bench.ts). It uses the same client as ZkBench
// (Apache ZooKeeper 3.8's Java client, Debian's libzookeeper-java) and is compiled the same way.
//
// usage: java -cp CP Filler CONNECT ROOT NODES PARENTS VALUE_BYTES CLIENTS OUTSTANDING
//   creates ROOT, ROOT/p0000 .. ROOT/p<PARENTS-1>, then NODES children ROOT/pXXXX/n<k> (k spread
//   round-robin over the parents) holding VALUE_BYTES bytes each, with async pipelined creates:
//   CLIENTS sessions, OUTSTANDING requests in flight each.
// prints one line: created=.. existed=.. errors=.. seconds=.. ops_per_s=..
import org.apache.zookeeper.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

public class Filler {
    public static void main(String[] a) throws Exception {
        if (a.length < 7) {
            System.err.println("usage: Filler CONNECT ROOT NODES PARENTS VALUE_BYTES CLIENTS OUTSTANDING");
            System.exit(2);
        }
        final String connect = a[0], root = a[1];
        final long nodes = Long.parseLong(a[2]);
        final int parents = Integer.parseInt(a[3]), valueBytes = Integer.parseInt(a[4]);
        final int clients = Integer.parseInt(a[5]), outstanding = Integer.parseInt(a[6]);
        final byte[] value = new byte[valueBytes];
        Arrays.fill(value, (byte) 'x');

        List<ZooKeeper> zks = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            CountDownLatch up = new CountDownLatch(1);
            ZooKeeper zk = new ZooKeeper(connect, 30000, e -> { if (e.getState() == Watcher.Event.KeeperState.SyncConnected) up.countDown(); });
            if (!up.await(20, TimeUnit.SECONDS)) throw new RuntimeException("client " + i + " did not connect");
            zks.add(zk);
        }
        ZooKeeper admin = zks.get(0);
        try { admin.create(root, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT); } catch (KeeperException.NodeExistsException ignored) {}
        final String[] parentPaths = new String[parents];
        for (int p = 0; p < parents; p++) {
            parentPaths[p] = String.format(Locale.ROOT, "%s/p%04d", root, p);
            try { admin.create(parentPaths[p], new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT); } catch (KeeperException.NodeExistsException ignored) {}
        }

        final AtomicLong created = new AtomicLong(), existed = new AtomicLong(), errors = new AtomicLong();
        final AtomicInteger firstError = new AtomicInteger(0);
        final long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            final ZooKeeper zk = zks.get(i);
            final int me = i;
            Thread t = new Thread(() -> {
                final Semaphore window = new Semaphore(outstanding);
                AsyncCallback.StringCallback cb = (rc, path, ctx, name) -> {
                    if (rc == 0) created.incrementAndGet();
                    else if (rc == KeeperException.Code.NODEEXISTS.intValue()) existed.incrementAndGet();
                    else { errors.incrementAndGet(); firstError.compareAndSet(0, rc); }
                    window.release();
                };
                for (long k = me; k < nodes; k += clients) {
                    window.acquireUninterruptibly();
                    zk.create(parentPaths[(int) (k % parents)] + "/n" + k, value, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, cb, null);
                }
                window.acquireUninterruptibly(outstanding); // every reply is in
            });
            threads.add(t);
            t.start();
        }
        Thread progress = new Thread(() -> {
            try {
                for (;;) {
                    Thread.sleep(5000);
                    System.err.printf(Locale.ROOT, "filler: %d/%d after %.0f s%n", created.get() + existed.get() + errors.get(), nodes, (System.nanoTime() - t0) / 1e9);
                }
            } catch (InterruptedException e) { /* done */ }
        });
        progress.setDaemon(true);
        progress.start();
        for (Thread t : threads) t.join();
        double secs = (System.nanoTime() - t0) / 1e9;
        progress.interrupt();
        System.out.printf(Locale.ROOT, "created=%d existed=%d errors=%d first_error=%d seconds=%.2f ops_per_s=%.0f%n",
            created.get(), existed.get(), errors.get(), firstError.get(), secs, (created.get() + existed.get()) / secs);
        for (ZooKeeper zk : zks) { try { zk.close(1000); } catch (Exception ignored) {} }
        System.exit(errors.get() == 0 ? 0 : 1);
    }
}
