package offkv.zkd;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Apache Curator's recipes, unmodified, against offkv-zkd (ZKD_HOSTS). */
class CuratorTest {
  static final String HOSTS = System.getenv("ZKD_HOSTS");
  String root;
  CuratorFramework a, b;

  static CuratorFramework client() {
    CuratorFramework c = CuratorFrameworkFactory.builder()
        .connectString(HOSTS)
        .sessionTimeoutMs(10000)
        .connectionTimeoutMs(10000)
        .retryPolicy(new ExponentialBackoffRetry(100, 5))
        .build();
    c.start();
    return c;
  }

  static boolean waitFor(java.util.function.BooleanSupplier cond, long ms) throws InterruptedException {
    long end = System.currentTimeMillis() + ms;
    while (System.currentTimeMillis() < end) {
      if (cond.getAsBoolean()) return true;
      Thread.sleep(20);
    }
    return cond.getAsBoolean();
  }

  @BeforeEach
  void setUp() throws Exception {
    assertNotNull(HOSTS, "ZKD_HOSTS");
    a = client();
    b = client();
    assertTrue(a.blockUntilConnected(15, TimeUnit.SECONDS));
    assertTrue(b.blockUntilConnected(15, TimeUnit.SECONDS));
    root = "/curator-" + UUID.randomUUID().toString().substring(0, 8);
    a.create().forPath(root);
  }

  @AfterEach
  void tearDown() throws Exception {
    a.delete().deletingChildrenIfNeeded().forPath(root);
    a.close();
    b.close();
  }

  @Test
  void frameworkBasics() throws Exception {
    String p = root + "/x/y/z";
    a.create().creatingParentsIfNeeded().forPath(p, "v".getBytes(StandardCharsets.UTF_8));
    Stat stat = new Stat();
    assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), a.getData().storingStatIn(stat).forPath(p));
    assertEquals(0, stat.getVersion());
    a.setData().withVersion(0).forPath(p, "w".getBytes(StandardCharsets.UTF_8));
    assertEquals(1, b.checkExists().forPath(p).getVersion());
    String seq = a.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(root + "/s-");
    assertTrue(seq.startsWith(root + "/s-"));
    assertEquals(a.getZookeeperClient().getZooKeeper().getSessionId(),
        b.checkExists().forPath(seq).getEphemeralOwner());
    a.create().creatingParentContainersIfNeeded().forPath(root + "/cont/child");
    assertEquals(List.of("child"), b.getChildren().forPath(root + "/cont"));
    var results = a.transaction().forOperations(
        a.transactionOp().check().withVersion(1).forPath(p),
        a.transactionOp().setData().forPath(p, "t".getBytes(StandardCharsets.UTF_8)),
        a.transactionOp().create().forPath(root + "/tx"));
    assertEquals(3, results.size());
    assertEquals(2, a.checkExists().forPath(p).getVersion());
  }

  @Test
  void leaderLatch() throws Exception {
    LeaderLatch la = new LeaderLatch(a, root + "/latch", "a");
    LeaderLatch lb = new LeaderLatch(b, root + "/latch", "b");
    la.start();
    assertTrue(la.await(15, TimeUnit.SECONDS));
    lb.start();
    assertTrue(waitFor(() -> {
      try { return lb.getParticipants().size() == 2; } catch (Exception e) { return false; }
    }, 15000));
    assertFalse(lb.hasLeadership());
    assertEquals("a", lb.getLeader().getId());
    la.close();
    assertTrue(lb.await(15, TimeUnit.SECONDS));
    assertEquals("b", lb.getLeader().getId());
    lb.close();
  }

  @Test
  void interProcessMutex() throws Exception {
    InterProcessMutex ma = new InterProcessMutex(a, root + "/mutex");
    InterProcessMutex mb = new InterProcessMutex(b, root + "/mutex");
    assertTrue(ma.acquire(10, TimeUnit.SECONDS));
    assertTrue(ma.acquire(10, TimeUnit.SECONDS));  // reentrant
    assertFalse(mb.acquire(300, TimeUnit.MILLISECONDS));
    CountDownLatch got = new CountDownLatch(1);
    Thread t = new Thread(() -> {
      try {
        if (mb.acquire(20, TimeUnit.SECONDS)) {
          got.countDown();
          mb.release();  // by the thread that holds it
        }
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    t.start();
    Thread.sleep(300);
    assertEquals(1, got.getCount());
    ma.release();
    assertEquals(1, got.getCount());  // still held once
    ma.release();
    assertTrue(got.await(15, TimeUnit.SECONDS));
    t.join();
    // Counted across the two clients, the critical section is never shared.
    AtomicInteger inside = new AtomicInteger(), overlaps = new AtomicInteger();
    Thread[] workers = new Thread[2];
    for (int w = 0; w < 2; ++w) {
      InterProcessMutex m = new InterProcessMutex(w == 0 ? a : b, root + "/mutex2");
      workers[w] = new Thread(() -> {
        try {
          for (int i = 0; i < 10; ++i) {
            assertTrue(m.acquire(20, TimeUnit.SECONDS));
            if (inside.incrementAndGet() != 1) overlaps.incrementAndGet();
            Thread.sleep(5);
            inside.decrementAndGet();
            m.release();
          }
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      workers[w].start();
    }
    for (Thread w : workers) w.join(60000);
    assertEquals(0, overlaps.get());
  }

  @Test
  void persistentNode() throws Exception {
    String p = root + "/pn/member";
    PersistentNode node = new PersistentNode(a, CreateMode.EPHEMERAL, false, p,
        "payload".getBytes(StandardCharsets.UTF_8));
    node.start();
    assertTrue(node.waitForInitialCreate(15, TimeUnit.SECONDS));
    assertNotNull(b.checkExists().forPath(p));
    // Deleted by someone else: the recipe puts it back.
    b.delete().forPath(p);
    assertTrue(waitFor(() -> {
      try { return b.checkExists().forPath(p) != null; } catch (Exception e) { return false; }
    }, 15000));
    node.setData("new".getBytes(StandardCharsets.UTF_8));
    assertTrue(waitFor(() -> {
      try { return new String(b.getData().forPath(p), StandardCharsets.UTF_8).equals("new"); }
      catch (Exception e) { return false; }
    }, 15000));
    node.close();
    assertNull(b.checkExists().forPath(p));
  }

  @Test
  void curatorCache() throws Exception {
    String base = root + "/cache";
    a.create().forPath(base, "top".getBytes(StandardCharsets.UTF_8));
    List<String> events = new CopyOnWriteArrayList<>();
    CountDownLatch initialized = new CountDownLatch(1);
    CuratorCache cache = CuratorCache.build(b, base);
    cache.listenable().addListener(CuratorCacheListener.builder()
        .forCreates(n -> events.add("create " + n.getPath()))
        .forChanges((o, n) -> events.add("change " + n.getPath() + " " + new String(n.getData(), StandardCharsets.UTF_8)))
        .forDeletes(o -> events.add("delete " + o.getPath()))
        .forInitialized(initialized::countDown)
        .build());
    cache.start();
    assertTrue(initialized.await(15, TimeUnit.SECONDS));
    a.create().forPath(base + "/c1", "1".getBytes(StandardCharsets.UTF_8));
    a.create().forPath(base + "/c1/g", "g".getBytes(StandardCharsets.UTF_8));
    a.setData().forPath(base + "/c1", "2".getBytes(StandardCharsets.UTF_8));
    a.delete().forPath(base + "/c1/g");
    // The cache converges on the tree; its events are the changes in order (on Consul
    // another session's changes within one watch wake-up are folded, docs/semantics.md,
    // so only the last state of each node is certain).
    assertTrue(waitFor(() -> cache.get(base + "/c1").map(d -> new String(d.getData(),
        StandardCharsets.UTF_8).equals("2")).orElse(false) && cache.get(base + "/c1/g").isEmpty(),
        15000), events.toString());
    assertEquals(2, cache.size(), events.toString());  // base and c1 (g deleted)
    assertTrue(waitFor(() -> events.contains("create " + base + "/c1"), 15000), events.toString());
    // Listeners run after the cache is updated: wait for them too.
    final int created = events.indexOf("create " + base + "/c1/g");
    if (created >= 0)
      assertTrue(waitFor(() -> events.indexOf("delete " + base + "/c1/g") > created, 15000), events.toString());
    cache.close();
  }
}
