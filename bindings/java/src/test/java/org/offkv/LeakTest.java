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
