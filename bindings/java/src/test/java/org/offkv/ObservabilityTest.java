package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;
import static org.offkv.TestEnv.waitFor;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Logs (offkv_set_log_callback), counters (offkv_get_stats), the test kit. */
class ObservabilityTest {
  static final Duration S10 = Duration.ofSeconds(10);

  record Line(LogLevel level, String component, String message) {}

  @AfterEach
  void logOff() {
    OffKv.setLogHandler(null);
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void statsCountAGetAndAnEnoent(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.open();
      Map<String, Long> before = c.stats();
      for (String name : List.of("ops.get", "errors.ENOENT", "retries", "reconnects",
          "session.CONNECTED", "watches.armed", "watches.fired"))
        assertTrue(before.containsKey(name), name + " in " + before);
      assertEquals(1L, before.get("session.CONNECTED"));
      c.create("/s", b("1"));
      c.get("/s");
      assertThrows(NoNodeException.class, () -> c.get("/missing"));
      Map<String, Long> after = c.stats();
      assertEquals(2L, after.get("ops.get") - before.get("ops.get"));
      assertEquals(1L, after.get("errors.ENOENT") - before.get("errors.ENOENT"));
      assertEquals(1L, after.get("ops.create") - before.get("ops.create"));
      assertThrows(UnsupportedOperationException.class, () -> after.put("x", 1L));
      c.close();
      Map<String, Long> closed = c.stats(); // as close left them
      assertEquals(after.get("ops.get"), closed.get("ops.get"));
      assertEquals(1L, closed.get("session.CLOSED"));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void logHandlerHearsSessionConnectedThenNothingOnceOff(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      List<Line> lines = new CopyOnWriteArrayList<>();
      OffKv.setLogHandler((level, component, message) -> {
        lines.add(new Line(level, component, message));
      }, LogLevel.INFO);
      Client c = env.open();
      waitFor(() -> lines.stream().anyMatch(
          l -> l.component().equals(env.scheme) && l.message().contains("session CONNECTED")), S10);
      Line connected = lines.stream()
          .filter(l -> l.component().equals(env.scheme) && l.message().contains("session CONNECTED"))
          .findFirst().orElseThrow();
      assertEquals(LogLevel.INFO, connected.level());
      c.close();
      OffKv.setLogHandler(null);
      int seen = lines.size();
      env.open().close(); // CONNECTED and CLOSED again: not told
      sleep(200);
      assertEquals(seen, lines.size());
    }
  }

  @Test
  void logHandlerExceptionsGoToTheCallbackErrorHandler() {
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Consumer<Throwable> prev = OffKv.setCallbackErrorHandler(errors::add);
    try {
      OffKv.setLogHandler((level, component, message) -> {
        throw new IllegalStateException("boom");
      }, LogLevel.INFO);
      OffKv.open("mem://java-log-throws").close();
      OffKv.setLogHandler(null);
      assertFalse(errors.isEmpty());
      assertTrue(errors.get(0) instanceof IllegalStateException);
    } finally {
      OffKv.setCallbackErrorHandler(prev);
    }
    assertEquals(System.Logger.Level.WARNING, LogLevel.WARN.systemLevel());
    assertEquals(LogLevel.DEBUG, LogLevel.of(4));
  }

  @Test
  void logHandlerReferenceIsReleasedWhenReplaced() {
    long before = TestEnv.quiesce();
    OffKv.setLogHandler((level, component, message) -> {}, LogLevel.DEBUG);
    assertEquals(before + 1, OffKv.liveGlobalRefs());
    OffKv.setLogHandler((level, component, message) -> {}, LogLevel.ERROR);
    assertEquals(before + 1, OffKv.liveGlobalRefs());
    OffKv.setLogHandler(null);
    assertEquals(before, OffKv.liveGlobalRefs());
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void testkitEndWatchesEndsWithTheCodeWhileTheSessionStays(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/t", b(""));
      Watch<Node> oneShot = env.own(c.getWatch("/t", null));
      Watch<Void> persistent = env.own(c.watchPersistent("/t", null));
      List<Event> heard = new CopyOnWriteArrayList<>();
      c.existsWatch("/t", heard::add);
      c.testkitEndWatches(ErrorCode.EAUTH);
      for (Watch<?> w : List.of(oneShot, persistent)) {
        Event ev = w.await(S10);
        assertEquals(EventType.ENDED, ev.type());
        assertEquals(ErrorCode.EAUTH, ev.error());
        assertEquals(SessionState.CONNECTED, ev.sessionState());
      }
      waitFor(() -> !heard.isEmpty(), S10);
      assertTrue(heard.get(0).ended());
      assertEquals(ErrorCode.EAUTH, heard.get(0).error());
      assertEquals(SessionState.CONNECTED, c.sessionState());
      // A new watch works.
      Watch<Node> again = env.own(c.getWatch("/t", null));
      c.set("/t", b("x"));
      assertEquals(EventType.CHANGED, again.await(S10).type());
      assertThrows(InvalidArgumentException.class, () -> c.testkitEndWatches(ErrorCode.OK));
      c.close();
      assertThrows(ClosedException.class, () -> c.testkitEndWatches(ErrorCode.EAUTH));
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
