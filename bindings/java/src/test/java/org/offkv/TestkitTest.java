package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;
import static org.offkv.TestEnv.waitFor;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The test kit's session faults (offkv_testkit_suspend / _resume / _expire), on every backend. */
class TestkitTest {
  static final Duration S10 = Duration.ofSeconds(10);
  static final Duration S30 = Duration.ofSeconds(30);

  static List<SessionState> states(List<Event> events) {
    return events.stream().map(Event::sessionState).collect(Collectors.toList());
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void suspendThenResumeKeepsTheSession(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      List<Event> seen = new CopyOnWriteArrayList<>();
      Client c =
          env.open(
              new Options()
                  .sessionTimeout(Duration.ofSeconds(20))
                  .operationTimeout(Duration.ofSeconds(1))
                  .sessionListener(seen::add));
      c.create("/k", b("before"));
      c.create("/e", b("mine"), CreateFlag.EPHEMERAL);
      Watch<Node> w = env.own(c.getWatch("/k", null));
      c.testkitSuspend();
      assertEquals(SessionState.SUSPENDED, c.sessionState());
      long start = System.nanoTime();
      assertThrows(ConnectionLossException.class, () -> c.set("/k", b("during")));
      assertTrue(System.nanoTime() - start >= 800_000_000L);
      assertEquals("before", new String(env.client.get("/k").value()));
      assertEquals(1, env.client.exists("/e"));
      env.client.set("/k", b("changed"));
      c.testkitResume();
      assertEquals(SessionState.CONNECTED, c.sessionState());
      assertEquals(EventType.CHANGED, w.await(S10).type());
      assertEquals(1, env.client.exists("/e"));
      c.set("/k", b("after"));
      waitFor(() -> seen.size() >= 3, S10);
      assertEquals(
          List.of(SessionState.CONNECTED, SessionState.SUSPENDED, SessionState.CONNECTED),
          states(seen));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void expireRemovesTheEphemeralsAndStartsANewSession(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      List<Event> seen = new CopyOnWriteArrayList<>();
      Client c = env.open(new Options().sessionListener(seen::add));
      c.create("/k", b(""));
      c.create("/e", b("mine"), CreateFlag.EPHEMERAL);
      Watch<Node> w = env.own(c.getWatch("/k", null));
      c.testkitExpire();
      assertEquals(0, env.client.exists("/e"));
      Event ended = w.await(S10);
      assertEquals(EventType.ENDED, ended.type());
      assertEquals(ErrorCode.ESESSION, ended.error());
      assertEquals(SessionState.CONNECTED, c.sessionState());
      // (ZooKeeper's server drops the expired session's connection: SUSPENDED first.)
      waitFor(
          () -> states(seen).stream().filter(s -> s != SessionState.SUSPENDED).count() >= 3,
          S10);
      assertEquals(
          List.of(SessionState.CONNECTED, SessionState.LOST, SessionState.CONNECTED),
          states(seen).stream()
              .filter(s -> s != SessionState.SUSPENDED)
              .collect(Collectors.toList()));
      c.create("/e", b("again"), CreateFlag.EPHEMERAL);
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void aLeaderStepsDownOnSuspendAndOnExpire(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c =
          env.open(
              new Options()
                  .sessionTimeout(Duration.ofSeconds(20))
                  .operationTimeout(Duration.ofSeconds(2)));
      List<RecipeEvent> heard = new CopyOnWriteArrayList<>();
      LeaderElection e = env.own(c.contend("/g", b("a"), heard::add));
      assertTrue(e.await(true, S30));
      LeaderElection other = env.own(env.open().contend("/g", b("b"), null));
      c.testkitSuspend();
      assertFalse(e.isLeader());
      waitFor(() -> heard.stream().anyMatch(x -> x.type() == EventType.NOT_LEADER), S10);
      assertFalse(other.isLeader());
      c.testkitResume();
      assertTrue(e.await(true, S30));
      c.testkitExpire();
      assertFalse(e.isLeader());
      assertTrue(other.await(true, S30));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void theTestKitOnAClosedClient(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.open();
      c.close();
      assertThrows(ClosedException.class, c::testkitSuspend);
      assertThrows(ClosedException.class, c::testkitResume);
      assertThrows(ClosedException.class, c::testkitExpire);
    }
  }
}
