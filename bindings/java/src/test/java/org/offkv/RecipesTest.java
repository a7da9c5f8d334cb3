package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;
import static org.offkv.TestEnv.waitFor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class RecipesTest {
  static final Duration S5 = Duration.ofSeconds(5);

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void electionBetweenTwoClients(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c1 = env.open(), c2 = env.open();
      List<RecipeEvent> ev1 = new CopyOnWriteArrayList<>(), ev2 = new CopyOnWriteArrayList<>();
      LeaderElection e1 = env.own(c1.contend("/svc/leader", b("host1:1"), ev1::add));
      assertTrue(e1.await(true, S5));
      LeaderElection e2 = env.own(c2.contend("/svc/leader", b("host2:2"), ev2::add));
      assertFalse(e2.await(true, Duration.ofMillis(200)));
      assertTrue(e1.isLeader());
      assertFalse(e2.isLeader());
      Member m1 = e1.member().orElseThrow();
      assertArrayEquals(b("host1:1"), m1.payload());
      assertTrue(m1.key().startsWith("/svc/leader/"));
      assertTrue(m1.sequence() < e2.member().orElseThrow().sequence());
      waitFor(() -> !ev1.isEmpty());
      assertEquals(EventType.LEADER, ev1.get(0).type());
      assertEquals("/svc/leader", ev1.get(0).group());
      assertEquals(m1.key(), ev1.get(0).member().key());
      c1.close(); // the leader's session ends: the other takes over
      assertTrue(e2.await(true, S5));
      assertEquals(EventType.NOT_LEADER, ev1.get(ev1.size() - 1).type());
      assertEquals(ErrorCode.ECLOSED, ev1.get(ev1.size() - 1).error());
      waitFor(() -> !ev2.isEmpty() && ev2.get(ev2.size() - 1).type() == EventType.LEADER);
      assertFalse(e1.isLeader());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void atMostOneLeaderAndWithdraw(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      List<LeaderElection> es = new ArrayList<>();
      for (int i = 0; i < 3; i++) es.add(env.own(env.open().contend("/el", b("" + i), null)));
      for (int round = 0; round < 3; round++) {
        waitFor(() -> es.stream().filter(LeaderElection::isLeader).count() == 1);
        LeaderElection leader = es.stream().filter(LeaderElection::isLeader).findFirst().orElseThrow();
        leader.withdraw();
        assertFalse(leader.isLeader());
        assertThrows(ClosedException.class, () -> leader.await(true, Duration.ofSeconds(1)));
        assertEquals(Optional.empty(), leader.member());
        es.remove(leader);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void detectorFollowsTheLeader(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c1 = env.open(), c2 = env.open(), dc = env.open();
      List<RecipeEvent> seen = new CopyOnWriteArrayList<>();
      LeaderDetector det = dc.detector("/svc", seen::add);
      assertEquals(Optional.empty(), det.leader());
      LeaderElection e1 = c1.contend("/svc", b("first"), null);
      Member m = det.awaitChange(null, S5).orElseThrow();
      assertArrayEquals(b("first"), m.payload());
      LeaderElection e2 = c2.contend("/svc", b("second"), null);
      assertTrue(e2.member().isPresent());
      e1.close();
      Member m2 = det.awaitChange(m.key(), S5).orElseThrow();
      assertArrayEquals(b("second"), m2.payload());
      e2.close();
      assertEquals(Optional.empty(), det.awaitChange(m2.key(), S5));
      waitFor(() -> !seen.isEmpty() && seen.get(seen.size() - 1).member() == null);
      assertTrue(seen.stream().allMatch(e -> e.type() == EventType.DETECTED));
      assertThrows(TimedOutException.class, () -> det.awaitChange(null, Duration.ofMillis(50)));
      det.close();
      assertThrows(ClosedException.class, det::leader);
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void groupMembership(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client a = env.open(), bc = env.open();
      List<RecipeEvent> views = new CopyOnWriteArrayList<>();
      Group watcher = env.own(a.group("/members", views::add));
      Group ga = env.own(a.group("/members", null)), gb = env.own(bc.group("/members", null));
      ga.join(b("a"));
      gb.join(b("b"));
      assertEquals(List.of("a", "b"), payloads(watcher.members()));
      assertArrayEquals(b("a"), ga.self().orElseThrow().payload());
      assertThrows(InvalidArgumentException.class, () -> ga.join(b("again")));
      gb.update(b("b2"));
      waitFor(() -> !views.isEmpty() && payloads(views.get(views.size() - 1).members()).equals(List.of("a", "b2")));
      bc.close(); // its membership ends with its session
      waitFor(() -> payloads(views.get(views.size() - 1).members()).equals(List.of("a")));
      ga.leave();
      assertEquals(Optional.empty(), ga.self());
      assertThrows(InvalidArgumentException.class, ga::leave);
      assertEquals(List.of(), watcher.members());
      assertTrue(views.stream().allMatch(v -> v.type() == EventType.MEMBERS));
    }
  }

  static List<String> payloads(List<Member> ms) {
    return ms.stream().map(m -> new String(m.payload())).toList();
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void lockTryWithResourcesAndMutualExclusion(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c1 = env.open(), c2 = env.open();
      AtomicInteger inside = new AtomicInteger();
      AtomicInteger overlap = new AtomicInteger();
      AtomicInteger entered = new AtomicInteger();
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      List<Thread> ts = new ArrayList<>();
      for (Client c : new Client[] {c1, c2, c1}) {
        Thread t = new Thread(() -> {
          try {
            for (int i = 0; i < 8; i++) {
              try (Lock lk = c.lock("/locks/x").acquire(Duration.ofSeconds(20))) {
                assertTrue(lk.isHeld());
                assertTrue(lk.member().isPresent());
                if (inside.incrementAndGet() > 1) overlap.incrementAndGet();
                entered.incrementAndGet();
                Thread.sleep(1);
                inside.decrementAndGet();
              }
            }
          } catch (Throwable e) {
            failures.add(e);
          }
        });
        ts.add(t);
        t.start();
      }
      for (Thread t : ts) t.join();
      assertEquals(List.of(), failures);
      assertEquals(0, overlap.get());
      assertEquals(24, entered.get());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void lockTimeoutsAndRelease(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c1 = env.open(), c2 = env.open();
      Lock l1 = env.own(c1.lock("/locks/y")), l2 = env.own(c2.lock("/locks/y"));
      assertTrue(l1.tryAcquire(S5));
      assertFalse(l2.tryAcquire(Duration.ofMillis(100)));
      assertFalse(l2.tryAcquire(Duration.ZERO));
      TimedOutException te = assertThrows(TimedOutException.class, () -> {
        try (Lock l = c2.lock("/locks/y").acquire(Duration.ofMillis(100))) {
          fail("acquired a held lock");
        }
      });
      assertEquals("/locks/y", te.key());
      assertThrows(InvalidArgumentException.class, () -> l1.tryAcquire(Duration.ZERO)); // not reentrant
      l1.release();
      assertThrows(InvalidArgumentException.class, l1::release);
      assertTrue(l2.tryAcquire(S5));
      assertTrue(l2.isHeld());
      c2.close(); // the holder's session ends: free again
      assertTrue(l1.tryAcquire(S5));
      l1.close();
      assertThrows(ClosedException.class, l1::isHeld);
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void throwingRecipeListener(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      List<Throwable> errors = new CopyOnWriteArrayList<>();
      var prev = OffKv.setCallbackErrorHandler(errors::add);
      try {
        LeaderElection e = env.own(env.client.contend("/bad", b(""), ev -> {
          throw new IllegalArgumentException("recipe listener");
        }));
        assertTrue(e.await(true, S5));
        waitFor(() -> !errors.isEmpty());
        assertTrue(e.isLeader());
      } finally {
        OffKv.setCallbackErrorHandler(prev);
      }
    }
  }

  /** A label reaches the core: members are label_<10 digits> (Mesos' names), and a labeled recipe sees only its label. */
  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void labelUsesMesosLayout(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client master = env.open(), c = env.open();
      assertEquals("json.info", OffKv.MESOS_MASTER_LABEL);
      // A Mesos master's own node, written as Mesos writes it.
      master.create("/mesos", b(""));
      String nativeKey = master.create("/mesos/json.info_", b("{\"id\":\"m1\"}"),
          CreateFlag.EPHEMERAL, CreateFlag.SEQUENTIAL);
      LeaderElection e = env.own(c.contend("/mesos", OffKv.MESOS_MASTER_LABEL, b("{\"id\":\"offkv\"}"), null));
      assertEquals("json.info", e.label());
      waitFor(() -> e.member().isPresent());
      Member me = e.member().orElseThrow();
      assertTrue(me.key().matches("/mesos/json\\.info_[0-9]{10}"), me.key());
      assertEquals(String.format("%010d", me.sequence()), me.key().substring(me.key().length() - 10));
      assertFalse(e.await(true, Duration.ofMillis(200))); // behind the master
      LeaderDetector det = env.own(c.detector("/mesos", "json.info", null));
      assertEquals("json.info", det.label());
      assertEquals(nativeKey, det.awaitChange(null, S5).orElseThrow().key());
      LeaderDetector plain = env.own(c.detector("/mesos", null));
      assertNull(plain.label());
      assertEquals(Optional.empty(), plain.leader()); // offkv's own names: no member
      Group g = env.own(c.group("/mesos", "json.info", null));
      List<Member> ms = g.members();
      assertEquals(2, ms.size());
      assertEquals(nativeKey, ms.get(0).key());
      assertEquals(me.key(), ms.get(1).key());
      master.close(); // the master's session ends: offkv's contender leads
      assertTrue(e.await(true, S5));
      assertEquals(me.key(), det.awaitChange(nativeKey, S5).orElseThrow().key());
      g.join(b("g"));
      assertTrue(g.self().orElseThrow().key().matches("/mesos/json\\.info_[0-9]{10}"));
      for (String bad : new String[] {"", "a/b", "json_info"}) {
        InvalidArgumentException x = assertThrows(InvalidArgumentException.class,
            () -> c.contend("/m", bad, b(""), null));
        assertTrue(x.getMessage().contains("label"), x.getMessage());
        assertThrows(InvalidArgumentException.class, () -> c.detector("/m", bad, null));
        assertThrows(InvalidArgumentException.class, () -> c.group("/m", bad, null));
      }
      assertThrows(InvalidArgumentException.class, () -> c.group("/m", "a\0b", null));
      assertEquals(0, c.exists("/m")); // refused before any write
    }
  }
}
