package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;
import static org.offkv.TestEnv.waitFor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The CompletableFuture variants, on the asynchronous C API. */
class AsyncTest {
  static final long T = 30; // seconds, per future

  static <V> V done(Future<V> f) {
    try {
      return f.get(T, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("future failed: " + e, e);
    }
  }

  /** The exception the future failed with: of class type (asserted), with its code. */
  static <E extends OffKvException> E failure(Future<?> f, Class<E> type) {
    try {
      Object v = f.get(T, TimeUnit.SECONDS);
      return fail("expected " + type.getSimpleName() + ", the future gave " + v);
    } catch (ExecutionException e) {
      assertInstanceOf(type, e.getCause(), "cause");
      return type.cast(e.getCause());
    } catch (Exception e) {
      return fail("expected " + type.getSimpleName() + ", got " + e);
    }
  }

  /** An already-failed future: failed before the call returned, never thrown. */
  static <E extends OffKvException> E failedAtOnce(CompletableFuture<?> f, Class<E> type) {
    assertTrue(f.isDone(), "an error found without I/O fails the future at once");
    assertTrue(f.isCompletedExceptionally());
    return failure(f, type);
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void eachOperationsResult(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      assertEquals("/a", done(c.createAsync("/a", b("1"))));
      String seq = done(c.createAsync("/a/s-", b(""), CreateFlag.SEQUENTIAL));
      assertTrue(seq.matches("/a/s-\\d{10}"), seq);
      NodeExistsException ee = failure(c.createAsync("/a", b("x")), NodeExistsException.class);
      assertEquals(ErrorCode.EEXIST, ee.code());
      assertEquals("/a", ee.key());
      assertFalse(ee.detail().isEmpty());
      failure(c.createAsync("/none/child", b("x")), NoNodeException.class);

      assertEquals(2L, done(c.setAsync("/a", b("2"))));
      assertEquals(3L, done(c.casAsync("/a", b("3"), 2)));
      BadVersionException bv = failure(c.casAsync("/a", b("x"), 2), BadVersionException.class);
      assertEquals("/a", bv.key());
      assertEquals(1L, done(c.casAsync("/new", b("n"), 0)));
      failure(c.casAsync("/new", b("n"), 0), BadVersionException.class); // as the sync cas

      assertEquals(new Node(b("3"), 3), done(c.getAsync("/a")));
      byte[] bin = new byte[256];
      for (int i = 0; i < bin.length; i++) bin[i] = (byte) i;
      assertEquals(1L, done(c.setAsync("/bin", bin)));
      assertArrayEquals(bin, done(c.getAsync("/bin")).value());
      assertEquals(1L, done(c.setAsync("/empty", null)));
      assertEquals(new Node(new byte[0], 1), done(c.getAsync("/empty")));
      NoNodeException nn = failure(c.getAsync("/none"), NoNodeException.class);
      assertEquals("/none", nn.key());
      assertEquals(ErrorCode.ENOENT, nn.code());
      // the same detail as the synchronous call
      assertEquals(assertThrows(NoNodeException.class, () -> c.get("/none")).detail(), nn.detail());

      assertEquals(3L, done(c.existsAsync("/a")));
      assertEquals(0L, done(c.existsAsync("/none")));
      assertEquals(List.of(seq), done(c.childrenAsync("/a")));
      assertEquals(List.of("/a", "/bin", "/empty", "/new"), c.children("/"));
      // The root lists like any parent, asynchronously too.
      assertEquals(c.children("/"), done(c.childrenAsync("/")));
      Watch<List<String>> rootWatch = done(c.childrenWatchAsync("/", null));
      assertEquals(c.children("/"), rootWatch.value());
      rootWatch.close();
      failure(c.childrenAsync("/none"), NoNodeException.class);

      failure(c.eraseAsync("/a", 7), BadVersionException.class);
      assertNull(done(c.eraseAsync("/a", 3)));
      assertEquals(0L, c.exists("/a"));
      assertEquals(0L, c.exists(seq));
      failure(c.eraseAsync("/a"), NoNodeException.class);
      assertNull(done(c.eraseAsync("/new")));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void commitAsync(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.set("/config", b("v1"));
      c.create("/jobs", b(""));
      c.create("/old", b(""));
      CompletableFuture<List<OpResult>> f;
      try (Transaction t = c.transaction()) {
        t.check("/config", 1).check("/jobs", OffKv.ANY_VERSION).check("/none", 0)
            .set("/config", b("v2")).create("/jobs/j-", b("job"), CreateFlag.SEQUENTIAL).erase("/old");
        f = t.commitAsync();
      } // the C call copied the transaction: closing it at once is fine
      List<OpResult> r = done(f);
      assertEquals(3, r.size());
      assertEquals(new OpResult("/config", 2), r.get(0));
      assertTrue(r.get(1).key().matches("/jobs/j-\\d{10}"), r.get(1).key());
      assertEquals(new OpResult("/old", 0), r.get(2));
      assertEquals(new Node(b("v2"), 2), c.get("/config"));

      Transaction t = env.own(new Transaction());
      t.check("/config", 2).check("/config", OffKv.ANY_VERSION).set("/config", b("v3")).create("/jobs", b("dup"));
      TransactionFailedException e = failure(c.commitAsync(t), TransactionFailedException.class);
      assertEquals(ErrorCode.ETXN, e.code());
      assertEquals(3, e.failedIndex());
      assertEquals(ErrorCode.EEXIST, e.failedCode());
      assertEquals(new Node(b("v2"), 2), c.get("/config"));
      Transaction t2 = env.own(c.transaction().check("/missing", OffKv.ANY_VERSION));
      TransactionFailedException e2 = failure(t2.commitAsync(), TransactionFailedException.class);
      assertEquals(0, e2.failedIndex());
      assertEquals(ErrorCode.ENOENT, e2.failedCode());
      assertEquals(List.of(), done(c.commitAsync(env.own(new Transaction()))));
      failedAtOnce(env.own(new Transaction()).commitAsync(), InvalidArgumentException.class); // no client
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void watchArmingReads(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.set("/w", b("1"));
      List<Event> got = new CopyOnWriteArrayListOfEvents();
      Watch<Node> gw = env.own(done(c.getWatchAsync("/w", got::add)));
      assertEquals(new Node(b("1"), 1), gw.value());
      assertEquals("/w", gw.key());
      assertFalse(gw.isPersistent());
      Watch<Long> ew = env.own(done(c.existsWatchAsync("/x", null)));
      assertEquals(0L, ew.value());
      Watch<List<String>> cw = env.own(done(c.childrenWatchAsync("/w", null)));
      assertEquals(List.of(), cw.value());

      c.set("/w", b("2"));
      waitFor(() -> got.size() == 1);
      assertEquals(EventType.CHANGED, got.get(0).type());
      assertEquals("/w", got.get(0).key());
      assertEquals(EventType.CHANGED, gw.await(Duration.ofSeconds(10)).type());
      c.create("/x", b(""));
      assertEquals(EventType.CREATED, ew.await(Duration.ofSeconds(10)).type());
      c.create("/w/c", b(""));
      assertEquals(EventType.CHILDREN, cw.await(Duration.ofSeconds(10)).type());
      waitFor(() -> c.live.isEmpty()); // the fired listener watch is no longer kept

      long before = TestEnv.quiesce();
      NoNodeException nn = failure(c.getWatchAsync("/none", e -> {}), NoNodeException.class);
      assertEquals("/none", nn.key());
      failure(c.childrenWatchAsync("/none", e -> {}), NoNodeException.class);
      TestEnv.waitForRefs(before); // a failed read leaves no watch and no reference
      assertTrue(c.live.isEmpty());
    }
  }

  /** A list for listeners (called on the event thread, read by the test). */
  @SuppressWarnings("serial")
  static final class CopyOnWriteArrayListOfEvents extends java.util.concurrent.CopyOnWriteArrayList<Event> {}

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void errorsFoundWithoutIoFailTheFutureAtOnce(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      long before = TestEnv.quiesce();
      InvalidArgumentException inv = failedAtOnce(c.getAsync("no-slash"), InvalidArgumentException.class);
      assertEquals("no-slash", inv.key());
      assertTrue(inv.detail().contains("no-slash"), inv.detail());
      failedAtOnce(c.setAsync(null, b("")), InvalidArgumentException.class);
      failedAtOnce(c.existsAsync("/nul\0"), InvalidArgumentException.class);
      failedAtOnce(c.getWatchAsync("bad", e -> {}), InvalidArgumentException.class);
      failedAtOnce(c.setAsync("/big", new byte[OffKv.MAX_VALUE_SIZE + 1]), TooBigException.class);
      Transaction big = env.own(c.transaction());
      for (int i = 0; i <= OffKv.MAX_TXN_OPS; i++) big.check("/n" + i, 0);
      failedAtOnce(big.commitAsync(), TooBigException.class);
      failedAtOnce(c.commitAsync(null), InvalidArgumentException.class);
      assertEquals(0L, c.exists("/big"));

      Client c2 = env.open();
      c2.close();
      ClosedException ce = failedAtOnce(c2.setAsync("/k", b("")), ClosedException.class);
      assertEquals(ErrorCode.ECLOSED, ce.code());
      failedAtOnce(c2.childrenWatchAsync("/", e -> {}), ClosedException.class);
      failedAtOnce(c2.commitAsync(env.own(new Transaction())), ClosedException.class);
      TestEnv.waitForRefs(before); // refused calls hold no global reference
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void manyInFlightCompleteInCallOrderPerKey(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      int keys = 20, calls = 500;
      AtomicLong stamp = new AtomicLong();
      List<CompletableFuture<Long>> fs = new ArrayList<>();
      long[] stamps = new long[calls];
      Thread caller = Thread.currentThread();
      AtomicInteger onCaller = new AtomicInteger();
      for (int i = 0; i < calls; i++) {
        int n = i;
        CompletableFuture<Long> f = c.setAsync("/k" + (i % keys), b("v" + i));
        fs.add(f.whenComplete((v, e) -> {
          stamps[n] = stamp.incrementAndGet();
          if (Thread.currentThread() == caller) onCaller.incrementAndGet();
        }));
      }
      CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).orTimeout(60, TimeUnit.SECONDS).join();
      for (int i = 0; i < calls; i++) {
        assertEquals(i / keys + 1, fs.get(i).join(), "call " + i + ": the versions of a key follow call order");
        if (i >= keys) assertTrue(stamps[i] > stamps[i - keys], "call " + i + " completed before call " + (i - keys));
      }
      for (int k = 0; k < keys; k++) {
        int last = (calls - 1) / keys * keys + k;
        assertEquals(new Node(b("v" + last), calls / keys), c.get("/k" + k));
      }
      // Mostly (on servers: all but a few that raced the whenComplete) on the event thread.
      assertTrue(onCaller.get() < calls, "every completion ran on the calling thread");
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void completionsRunOnTheEventThread(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.set("/e", b("1"));
      CountDownLatch inListener = new CountDownLatch(1), release = new CountDownLatch(1);
      AtomicReference<Thread> eventThread = new AtomicReference<>();
      env.own(c.getWatch("/e", ev -> {
        eventThread.set(Thread.currentThread());
        inListener.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException ignored) {
          Thread.currentThread().interrupt();
        }
      }));
      c.set("/e", b("2"));
      assertTrue(inListener.await(10, TimeUnit.SECONDS));
      // The event thread is busy in the listener: no completion can run until it returns.
      AtomicReference<Thread> completedOn = new AtomicReference<>();
      CompletableFuture<Node> f = c.getAsync("/e");
      CompletableFuture<Node> g = f.whenComplete((n, e) -> completedOn.set(Thread.currentThread()));
      Thread.sleep(200);
      assertFalse(f.isDone(), "completed while the event thread was busy");
      release.countDown();
      assertEquals(new Node(b("2"), 2), done(g));
      assertSame(eventThread.get(), completedOn.get(), "the completion ran on the client's event thread");
      assertNotSame(Thread.currentThread(), completedOn.get());
      assertTrue(completedOn.get().isDaemon());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void closeCompletesEveryCallInFlight(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      long before = TestEnv.quiesce();
      for (int round = 0; round < 5; round++) {
        Client c = env.open();
        List<CompletableFuture<?>> fs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          fs.add(c.setAsync("/c" + (i % 7), b("x")));
          fs.add(c.getAsync("/c" + (i % 5)));
          if (i % 20 == 0) fs.add(c.getWatchAsync("/c0", e -> {}));
          if (i % 20 == 1) fs.add(c.commitAsync(env.own(c.transaction().set("/c1", b("t")))));
        }
        c.close();
        int closed = 0;
        for (CompletableFuture<?> f : fs) {
          assertTrue(f.isDone(), "close() returned with a call still in flight");
          if (f.isCompletedExceptionally()) {
            OffKvException e = assertInstanceOf(OffKvException.class,
                assertThrows(CompletionException.class, f::join).getCause());
            if (e instanceof ClosedException) closed++;
            else assertInstanceOf(NoNodeException.class, e); // a get that ran before its set
          } else if (f.join() instanceof Watch<?> w) {
            w.close();
          }
        }
        assertTrue(closed <= fs.size());
      }
      TestEnv.waitForRefs(before);
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void closeFromACompletion(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.open();
      List<CompletableFuture<Long>> fs = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        CompletableFuture<Long> f = c.setAsync("/cc" + (i % 3), b("x"));
        if (i == 10) f.thenRun(c::close);
        fs.add(f);
      }
      CompletableFuture.allOf(fs.toArray(new CompletableFuture[0])).handle((v, e) -> null)
          .orTimeout(T, TimeUnit.SECONDS).join();
      waitFor(c::isClosed);
      // The calls on call 10's key completed before it (call order); others may not have.
      for (int i = 1; i <= 10; i += 3) assertEquals(i / 3 + 1, fs.get(i).join());
      for (CompletableFuture<Long> f : fs) {
        if (f.isCompletedExceptionally()) assertInstanceOf(ClosedException.class, assertThrows(CompletionException.class, f::join).getCause());
      }
      failedAtOnce(c.getAsync("/cc0"), ClosedException.class);
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void chainingFromACompletion(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      AtomicReference<Thread> composedOn = new AtomicReference<>();
      CompletableFuture<Node> f = c.setAsync("/ch", b("1"))
          .thenCompose(v -> c.getAsync("/ch"))
          .thenCompose(n -> {
            composedOn.set(Thread.currentThread());
            return c.casAsync("/ch", b("2"), n.version());
          })
          .thenCompose(v -> c.createAsync("/ch/child-" + v, b("")))
          .thenCompose(k -> c.getAsync("/ch"));
      assertEquals(new Node(b("2"), 2), done(f));
      assertEquals(List.of("/ch/child-2"), c.children("/ch"));
      // recovering from a failure with another async call
      CompletableFuture<Node> r = c.getAsync("/missing")
          .exceptionallyCompose(e -> e instanceof NoNodeException
              ? c.createAsync("/missing", b("made")).thenCompose(k -> c.getAsync(k))
              : CompletableFuture.failedFuture(e));
      assertEquals(new Node(b("made"), 1), done(r));
      // a failure in the chain carries the OffKvException subclass
      CompletableFuture<Long> bad = c.getAsync("/ch").thenCompose(n -> c.casAsync("/ch", b("x"), n.version() + 5));
      assertEquals("/ch", failure(bad, BadVersionException.class).key());
      assertNotNull(composedOn.get());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void cancellationDropsTheResultOnly(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      long before = TestEnv.quiesce();
      int n = env.scheme.equals("mem") ? 1000 : 200;
      List<CompletableFuture<Long>> downstream = new ArrayList<>();
      AtomicInteger fired = new AtomicInteger();
      for (int i = 0; i < n; i++) {
        CompletableFuture<Long> f = c.setAsync("/cancel", b("v" + i));
        if (i % 10 == 0) downstream.add(f.thenApply(v -> v + 1));
        assertTrue(f.cancel(true) || f.isDone());
        if (i % 50 == 0) {
          CompletableFuture<Watch<Node>> w = c.getWatchAsync("/cancel", e -> fired.incrementAndGet());
          if (w.cancel(true)) assertThrows(CancellationException.class, w::join);
          else done(w).close(); // completed already (mem:// is quick): ours to close
        }
        if (i % 50 == 1) {
          CompletableFuture<Watch<Long>> w = c.existsWatchAsync("/cancel-" + i, null);
          if (!w.cancel(false)) done(w).close();
        }
      }
      // The cancelled sets all ran, in call order: the next one on the key comes after them.
      assertEquals(n + 1L, done(c.setAsync("/cancel", b("last"))));
      assertEquals(new Node(b("last"), n + 1), c.get("/cancel"));
      for (CompletableFuture<Long> d : downstream) {
        assertTrue(d.isDone());
        if (d.isCompletedExceptionally()) {
          assertInstanceOf(CancellationException.class, assertThrows(CompletionException.class, d::join).getCause());
        }
      }
      // Every dropped result released its reference; the armed watches were closed.
      TestEnv.waitForRefs(before);
      waitFor(() -> c.live.isEmpty());
      c.set("/cancel", b("after"));
      assertEquals(0, fired.get(), "a watch whose future was cancelled is closed when its call completes");
    }
  }
}
