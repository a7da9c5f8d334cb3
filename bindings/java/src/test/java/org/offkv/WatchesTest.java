package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;
import static org.offkv.TestEnv.waitFor;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class WatchesTest {
  static final Duration S5 = Duration.ofSeconds(5);

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void getWatchFiresOnceWithChanged(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/w", b("1"));
      try (Watch<Node> w = c.getWatch("/w", null)) {
        assertEquals(new Node(b("1"), 1), w.value());
        c.set("/w", b("2"));
        c.set("/w", b("3"));
        Event ev = w.await(S5);
        assertEquals(EventType.CHANGED, ev.type());
        assertEquals("/w", ev.key());
        assertEquals(2, ev.version());
        assertEquals(ev, w.await(Duration.ZERO)); // a fired one-shot returns its event again
        w.close();
        assertTrue(w.isClosed());
        assertThrows(ClosedException.class, () -> w.await(Duration.ZERO));
      }
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void existsAndChildrenWatches(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      Watch<Long> w = env.own(c.existsWatch("/later", null));
      assertEquals(0L, w.value());
      assertThrows(TimedOutException.class, () -> w.await(Duration.ofMillis(50))); // no spurious fire
      c.create("/later", b(""));
      Event ev = w.await(S5);
      assertEquals(EventType.CREATED, ev.type());
      assertEquals(1, ev.version());

      Watch<List<String>> cw = env.own(c.childrenWatch("/later", null));
      assertEquals(List.of(), cw.value());
      c.create("/later/c", b(""));
      assertEquals(EventType.CHILDREN, cw.await(S5).type());
      Watch<Node> gw = env.own(c.getWatch("/later/c", null));
      c.erase("/later");
      Event del = gw.await(S5);
      assertEquals(EventType.DELETED, del.type());
      assertEquals(0, del.version());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void failedReadLeavesNoWatchAndNoReference(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      long refs = OffKv.liveGlobalRefs();
      List<Event> got = new CopyOnWriteArrayList<>();
      assertThrows(NoNodeException.class, () -> env.client.getWatch("/absent", got::add));
      assertEquals(refs, OffKv.liveGlobalRefs());
      env.client.create("/absent", b(""));
      Thread.sleep(50);
      assertEquals(List.of(), got);
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void listenerRunsOnTheEventThread(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/cb", b(""));
      AtomicReference<Thread> thread = new AtomicReference<>();
      AtomicReference<Event> event = new AtomicReference<>();
      CountDownLatch done = new CountDownLatch(1);
      Watch<Node> w = env.own(c.getWatch("/cb", e -> {
        thread.set(Thread.currentThread());
        event.set(e);
        done.countDown();
      }));
      Client writer = env.open();
      Thread t = new Thread(() -> writer.set("/cb", b("from another thread")));
      t.start();
      t.join();
      assertTrue(done.await(5, TimeUnit.SECONDS));
      assertNotEquals(Thread.currentThread(), thread.get());
      assertNotEquals(t, thread.get());
      assertTrue(thread.get().isDaemon());
      assertEquals(EventType.CHANGED, event.get().type());
      assertEquals(event.get(), w.await(S5)); // listener and wait together
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void listenerOnlyWatchNeedsNoReference(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/ff", b(""));
      List<Event> got = new CopyOnWriteArrayList<>();
      c.getWatch("/ff", got::add); // the Watch is dropped at once
      for (int i = 0; i < 3; i++) System.gc();
      c.set("/ff", b("x"));
      waitFor(() -> got.size() == 1);
      assertEquals(EventType.CHANGED, got.get(0).type());
      waitFor(() -> c.live.isEmpty());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void cancelStopsListenerAndWakesWaiters(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/c", b(""));
      List<Event> got = new CopyOnWriteArrayList<>();
      Watch<Node> w = c.getWatch("/c", got::add);
      w.cancel();
      w.cancel();
      c.set("/c", b("x"));
      Thread.sleep(100);
      assertEquals(List.of(), got);
      assertThrows(ClosedException.class, () -> w.await(Duration.ZERO));
      w.close();

      Watch<Long> blocked = c.existsWatch("/blocked", null);
      AtomicReference<Throwable> result = new AtomicReference<>();
      Thread t = new Thread(() -> {
        try {
          blocked.await(Duration.ofSeconds(30));
        } catch (Throwable e) {
          result.set(e);
        }
      });
      t.start();
      Thread.sleep(100);
      blocked.close(); // wakes the waiter; frees once it has left
      t.join(5000);
      assertFalse(t.isAlive());
      assertInstanceOf(ClosedException.class, result.get());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void listenerMayRearmAndCloseItsOwnWatch(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/re", b("0"));
      List<String> seen = new CopyOnWriteArrayList<>();
      java.util.function.Consumer<Event>[] cb = new java.util.function.Consumer[1];
      AtomicReference<Watch<Node>> current = new AtomicReference<>();
      cb[0] = e -> {
        Watch<Node> next = c.getWatch("/re", cb[0]);
        current.getAndSet(next).close(); // frees the watch that is firing, from its own listener
        seen.add(new String(next.value().value()));
      };
      current.set(c.getWatch("/re", cb[0]));
      for (int i = 1; i <= 3; i++) {
        c.set("/re", b(Integer.toString(i)));
        int n = i;
        waitFor(() -> seen.size() >= n);
      }
      assertEquals("3", seen.get(seen.size() - 1));
      current.get().close();
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void endedOnClose(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.open();
      c.create("/x", b(""));
      List<Event> got = new CopyOnWriteArrayList<>();
      Watch<Node> w = env.own(c.getWatch("/x", got::add));
      c.close(); // ENDED delivered before it returns
      Event ev = w.await(Duration.ofSeconds(1));
      assertTrue(ev.ended());
      assertEquals(ErrorCode.ECLOSED, ev.error());
      assertEquals(SessionState.CLOSED, ev.sessionState());
      assertEquals(EventType.ENDED, got.get(0).type());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void persistentWatchQueue(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      Watch<Void> pw = env.own(c.watchPersistent("/tree", null));
      Object[][] steps = {
        {(Runnable) () -> c.create("/tree", b("")), EventType.CREATED, "/tree", 1L},
        {(Runnable) () -> c.create("/tree/a", b("")), EventType.CREATED, "/tree/a", 1L},
        {(Runnable) () -> c.set("/tree/a", b("1")), EventType.CHANGED, "/tree/a", 2L},
      };
      for (Object[] s : steps) {
        ((Runnable) s[0]).run();
        Event ev = pw.await(S5);
        assertEquals(s[1], ev.type());
        assertEquals(s[2], ev.key());
        assertEquals((long) s[3], ev.version());
      }
      c.erase("/tree");
      Set<String> deleted = new HashSet<>();
      for (int i = 0; i < 2; i++) {
        Event ev = pw.await(S5);
        assertEquals(EventType.DELETED, ev.type());
        deleted.add(ev.key());
      }
      assertEquals(Set.of("/tree", "/tree/a"), deleted);
      c.close();
      assertTrue(pw.await(S5).ended());
      assertThrows(ClosedException.class, () -> pw.await(S5));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void persistentWatchListener(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      List<Event> got = new CopyOnWriteArrayList<>();
      Watch<Void> w = c.watchPersistent("/", got::add);
      for (int i = 0; i < 5; i++) c.set("/k" + i, b(""));
      waitFor(() -> got.size() == 5);
      for (int i = 0; i < 5; i++) assertEquals("/k" + i, got.get(i).key());
      assertThrows(TimedOutException.class, () -> w.await(Duration.ofMillis(10))); // events go to the listener only
      w.close();
      c.set("/after", b(""));
      Thread.sleep(50);
      assertEquals(5, got.size());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void throwingListenerGoesToTheHandler(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      List<Throwable> errors = new CopyOnWriteArrayList<>();
      var prev = OffKv.setCallbackErrorHandler(errors::add);
      try {
        Client c = env.client;
        c.create("/r", b(""));
        c.getWatch("/r", e -> {
          throw new IllegalStateException("boom in listener");
        });
        c.set("/r", b("1"));
        waitFor(() -> !errors.isEmpty());
        assertEquals("boom in listener", errors.get(0).getMessage());
        assertArrayEquals(b("1"), c.get("/r").value()); // the client is fine
      } finally {
        OffKv.setCallbackErrorHandler(prev);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void watchFiredWhileAnotherThreadWaits(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Watch<Long> w = env.own(env.client.existsWatch("/x-thread", null));
      AtomicReference<Event> result = new AtomicReference<>();
      Thread t = new Thread(() -> result.set(w.await(Duration.ofSeconds(10))));
      t.start();
      Thread.sleep(100);
      Thread writer = new Thread(() -> env.client.create("/x-thread", b("")));
      writer.start();
      t.join(10000);
      writer.join(10000);
      assertEquals(EventType.CREATED, result.get().type());
    }
  }
}
