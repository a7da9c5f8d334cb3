package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;
import static org.offkv.TestEnv.waitFor;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SessionsTest {
  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void sessionListenerSeesConnectedAndClosed(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      List<Event> events = new CopyOnWriteArrayList<>();
      List<Thread> threads = new CopyOnWriteArrayList<>();
      Client c = env.open(new Options().sessionTimeout(Duration.ofSeconds(5))
          .connectTimeout(Duration.ofSeconds(5)).operationTimeout(Duration.ofSeconds(5))
          .sessionListener(e -> {
            events.add(e);
            threads.add(Thread.currentThread());
          }));
      waitFor(() -> !events.isEmpty());
      assertEquals(EventType.SESSION, events.get(0).type());
      assertEquals(SessionState.CONNECTED, events.get(0).sessionState());
      assertNull(events.get(0).key());
      assertEquals(SessionState.CONNECTED, c.sessionState());
      c.close();
      assertEquals(SessionState.CLOSED, events.get(events.size() - 1).sessionState());
      assertEquals(SessionState.CLOSED, c.sessionState());
      assertFalse(threads.contains(Thread.currentThread()));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void closedClientThrowsClosedEverywhere(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.open();
      c.create("/k", b("v"));
      Transaction t = env.own(c.transaction().set("/k", b("w")));
      Lock lock = env.own(c.lock("/lk"));
      c.close();
      c.close(); // twice is fine
      assertTrue(c.isClosed());
      List<Executable> calls = List.of(() -> c.create("/x", b("")), () -> c.set("/k", b("")),
          () -> c.cas("/k", b(""), 1), () -> c.get("/k"), () -> c.exists("/k"), () -> c.children("/"),
          () -> c.erase("/k"), () -> c.getWatch("/k", null), () -> c.existsWatch("/k", null),
          () -> c.childrenWatch("/", null), () -> c.watchPersistent("/", null), () -> c.commit(t),
          () -> c.contend("/el", b(""), null), () -> c.detector("/el", null), () -> c.group("/g", null),
          () -> c.lock("/l"), () -> lock.tryAcquire(Duration.ofMillis(100)));
      for (Executable call : calls) assertThrows(ClosedException.class, call);
      assertEquals(new Node(b("v"), 1), env.client.get("/k"));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void closeFromAListener(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      long refs = TestEnv.quiesce();
      List<Event> session = new CopyOnWriteArrayList<>();
      Client c = OffKv.open(env.url, new Options().sessionListener(session::add));
      c.create("/x", b(""));
      c.create("/x-eph", b(""), CreateFlag.EPHEMERAL);
      CountDownLatch done = new CountDownLatch(1);
      c.getWatch("/x", e -> {
        c.close(); // returns at once on the event thread; freed from another thread
        done.countDown();
      });
      env.client.set("/x", b("1"));
      assertTrue(done.await(5, TimeUnit.SECONDS));
      assertTrue(c.isClosed());
      assertThrows(ClosedException.class, () -> c.get("/x"));
      waitFor(() -> env.client.exists("/x-eph") == 0);
      waitFor(() -> !session.isEmpty() && session.get(session.size() - 1).sessionState() == SessionState.CLOSED);
      TestEnv.waitForRefs(refs); // the session's and the watch's references are gone
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void unreachableClientIsClosedByTheCleaner(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      long refs = TestEnv.quiesce();
      String key = dropClientWithEphemeral(env.url);
      waitFor(() -> {
        System.gc();
        return env.client.exists(key) == 0;
      }, Duration.ofSeconds(20));
      TestEnv.waitForRefs(refs);
    }
  }

  private static String dropClientWithEphemeral(String url) {
    Client c = OffKv.open(url, new Options().sessionListener(e -> {}));
    String k = c.create("/gc-eph", b(""), CreateFlag.EPHEMERAL);
    c.watchPersistent("/", e -> {}); // a listener watch: must not keep the client alive
    c.contend("/gc-el", b(""), e -> {});
    return k;
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void urlOptions(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      try (Client c = OffKv.open(env.urlWith("session_timeout_ms=4000&read_consistency=serializable"),
          new Options().readConsistency(ReadConsistency.SERIALIZABLE))) {
        c.set("/opt", b("1"));
        waitFor(() -> c.exists("/opt") == 1);
        assertEquals(env.urlWith("session_timeout_ms=4000&read_consistency=serializable"), c.url());
      }
    }
  }
}
