package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;
import static org.offkv.TestEnv.waitFor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** No JNI global reference (or attached thread) outlives what it was for. */
class LeakTest {
  static final int WATCHES = 10_000;
  static final int CLIENTS = 10_000;
  static final int ASYNC_CALLS = 10_000;

  /**
   * Every async call holds one global reference from the C call to its completion,
   * which releases it exactly once: whether the future completed normally, failed,
   * was cancelled, or the C call refused at once; a watch handed to a cancelled future
   * is closed. 10,000 calls on every backend.
   */
  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void tenThousandAsyncCalls(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/a", b(""));
      long before = TestEnv.quiesce();
      AtomicInteger fired = new AtomicInteger();
      List<java.util.concurrent.CompletableFuture<?>> fs = new ArrayList<>();
      int failedAtOnce = 0;
      for (int i = 0; i < ASYNC_CALLS; i++) {
        String k = "/a/k" + (i % 50);
        java.util.concurrent.CompletableFuture<?> f = switch (i % 10) {
          case 0, 1 -> c.setAsync(k, b("v" + i));
          case 2 -> c.getAsync(k); // ENOENT until the first set of k
          case 3 -> c.existsAsync(k);
          case 4 -> c.childrenAsync("/a");
          case 5 -> c.casAsync(k, b("x"), 1_000_000); // EVERSION or ENOENT
          case 6 -> c.getWatchAsync("/a", e -> fired.incrementAndGet());
          case 7 -> c.existsWatchAsync(k, null);
          case 8 -> c.commitAsync(env.own(c.transaction().check(k, OffKv.ANY_VERSION)));
          default -> c.getAsync("bad key"); // refused at once
        };
        if (i % 10 == 9) {
          assertTrue(f.isCompletedExceptionally());
          failedAtOnce++;
        }
        if (i % 3 == 0) f.cancel(true); // some before, some after completion
        fs.add(f);
      }
      assertEquals(ASYNC_CALLS / 10, failedAtOnce);
      java.util.concurrent.CompletableFuture.allOf(fs.toArray(new java.util.concurrent.CompletableFuture[0]))
          .handle((v, e) -> null).orTimeout(120, java.util.concurrent.TimeUnit.SECONDS).join();
      int watches = 0;
      for (java.util.concurrent.CompletableFuture<?> f : fs) {
        if (!f.isCompletedExceptionally() && f.join() instanceof Watch<?> w) {
          w.close();
          watches++;
        }
      }
      assertTrue(watches > 0);
      // The completion releases its reference right after completing the future.
      TestEnv.waitForRefs(before);
      assertTrue(OffKv.liveGlobalRefs() <= before, OffKv.liveGlobalRefs() + " > " + before);
      waitFor(c.live::isEmpty);
      assertEquals(0, fired.get(), "no watch left armed");
      c.set("/a", b("changed"));
      assertEquals(0, fired.get(), "no watch left armed");
      assertEquals(new Node(b("changed"), 2), c.get("/a"));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void tenThousandWatches(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/w", b(""));
      long before = TestEnv.quiesce();
      AtomicInteger fired = new AtomicInteger();
      int n = env.scheme.equals("mem") ? WATCHES : 1000;
      for (int i = 0; i < n; i++) {
        Watch<?> w = switch (i % 4) {
          case 0 -> c.getWatch("/w", e -> fired.incrementAndGet());
          case 1 -> c.existsWatch("/w" + i, e -> fired.incrementAndGet());
          case 2 -> c.childrenWatch("/w", e -> fired.incrementAndGet());
          default -> c.watchPersistent("/w", e -> fired.incrementAndGet());
        };
        assertNotEquals(0, w.h.ctx, "a listener watch holds one global reference");
        w.close();
      }
      assertTrue(OffKv.liveGlobalRefs() <= before, OffKv.liveGlobalRefs() + " > " + before);
      assertEquals(0, fired.get());
      assertTrue(c.live.isEmpty());
      // fired ones and ones without a listener
      List<Watch<Node>> ws = new ArrayList<>();
      for (int i = 0; i < 100; i++) ws.add(c.getWatch("/w", i % 2 == 0 ? e -> fired.incrementAndGet() : null));
      assertEquals(50, ws.stream().filter(w -> w.h.ctx != 0).count());
      c.set("/w", b("x"));
      waitFor(() -> fired.get() == 50);
      for (Watch<Node> w : ws) w.close();
      assertTrue(OffKv.liveGlobalRefs() <= before, OffKv.liveGlobalRefs() + " > " + before);
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void tenThousandClients(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      long before = TestEnv.quiesce();
      int n = env.scheme.equals("mem") ? CLIENTS : 100;
      AtomicInteger sessions = new AtomicInteger();
      for (int i = 0; i < n; i++) {
        Client c = OffKv.open(env.url, new Options().sessionListener(e -> sessions.incrementAndGet()));
        Watch<Long> w = c.existsWatch("/x", e -> {});
        if (i % 100 == 0) {
          LeaderElection el = c.contend("/el", b(""), e -> {});
          Group g = c.group("/g", e -> {});
          LeaderDetector d = c.detector("/el", e -> {});
          d.close();
          g.close();
          el.close();
        }
        c.close();
        w.close();
      }
      assertTrue(OffKv.liveGlobalRefs() <= before, OffKv.liveGlobalRefs() + " > " + before);
      assertTrue(sessions.get() >= 2 * n, "each client saw CONNECTED and CLOSED: " + sessions.get());
      // event threads are detached when they end
      waitFor(() -> OffKv.attachedThreads() <= 50, Duration.ofSeconds(30));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void garbageCollectedInAnyOrder(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      long before = TestEnv.quiesce();
      for (int round = 0; round < 20; round++) makeGarbage(env.url, round);
      TestEnv.waitForRefs(before);
      for (int round = 0; round < 20; round++) { // every ephemeral went with its session
        assertEquals(0, env.client.exists("/eph" + round));
        assertEquals(List.of(), env.client.children("/el" + round));
        assertEquals(List.of(), env.client.children("/g" + round));
        assertEquals(List.of(), env.client.children("/lk" + round));
      }
    }
  }

  private static void makeGarbage(String url, int round) {
    Client c = OffKv.open(url, new Options().sessionListener(e -> {}));
    c.create("/eph" + round, b(""), CreateFlag.EPHEMERAL);
    c.getWatch("/eph" + round, e -> {});
    c.watchPersistent("/", e -> {});
    c.existsWatch("/none", null);
    LeaderElection e = c.contend("/el" + round, b(""), ev -> {});
    c.detector("/el" + round, ev -> {});
    Group g = c.group("/g" + round, ev -> {});
    g.join(b("m"));
    Lock l = c.lock("/lk" + round);
    l.tryAcquire(Duration.ofSeconds(5));
    c.transaction().check("/x", 0);
    if (round % 2 == 0) c.close(); // half closed, half only dropped
    if (round % 3 == 0) e.close();
  }
}
