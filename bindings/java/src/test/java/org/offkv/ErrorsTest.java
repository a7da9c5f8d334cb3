package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;

import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ErrorsTest {
  @Test
  void eventAndStateNamesAreTheLibrarys() {
    for (EventType t : EventType.values())
      if (t != EventType.NONE) assertEquals(t.name(), Native.str(Native.eventTypeName(t.code())));
    for (SessionState s : SessionState.values())
      if (s != SessionState.NONE)
        assertEquals(s.name(), Native.str(Native.sessionStateName(s.code())));
    assertEquals("UNKNOWN", Native.str(Native.eventTypeName(0)));
    assertEquals("UNKNOWN", Native.str(Native.eventTypeName(EventType.values().length)));
    assertEquals("UNKNOWN", Native.str(Native.sessionStateName(-1)));
    assertEquals(EventType.NOT_LEADER, EventType.of(8));
  }

  @Test
  void oneClassPerCode() {
    Set<Class<?>> classes = new HashSet<>();
    for (int code = 1; code < OffKv.ERROR_COUNT; code++) {
      ErrorCode ec = ErrorCode.of(code);
      assertEquals(code, ec.code());
      OffKvException e = OffKvException.of(ec, "/k", "detail");
      assertNotEquals(OffKvException.class, e.getClass());
      assertTrue(classes.add(e.getClass()), e.getClass().toString());
      assertEquals(ec, e.code());
      assertEquals("/k", code == 8 ? "/k" : e.key());
      assertEquals("detail", e.detail());
      assertTrue(e.getMessage().contains(OffKv.errorName(code)), e.getMessage());
      assertFalse(ec.description().isEmpty());
      assertTrue(e instanceof RuntimeException);
    }
    assertEquals(OffKv.ERROR_COUNT - 1, classes.size());
    assertEquals(ErrorCode.UNKNOWN, ErrorCode.of(999));
    assertEquals(OffKvException.class, OffKvException.of(ErrorCode.UNKNOWN, null, "x").getClass());
    assertEquals("OFFKV_ENOENT", OffKv.errorName(2));
    assertEquals("no such node", OffKv.strerror(2));
  }

  static <T extends OffKvException> T raises(Class<T> cls, Executable call) {
    T e = assertThrows(cls, call);
    assertEquals(cls, e.getClass());
    assertFalse(e.detail().isEmpty(), "no detail message");
    return e;
  }

  /** Any option by its URL name (offkv_options_set), checked by the library. */
  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void optionsByName(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Options byName =
          new Options().option("session_timeout_ms", "3000").option("read_consistency", "serializable");
      try (Client c = OffKv.open(env.url, byName)) {
        c.set("/by-name", b("v"));
        assertArrayEquals(b("v"), c.get("/by-name").value());
      }
      InvalidArgumentException unknown = raises(InvalidArgumentException.class,
          () -> OffKv.open(env.url, new Options().option("no_such_option", "1")));
      assertTrue(unknown.detail().contains("no_such_option"), unknown.detail());
      raises(InvalidArgumentException.class,
          () -> OffKv.open(env.url, new Options().option("session_timeout_ms", "soon")));
      // By name wins over the setters: this 1 ms is refused.
      raises(InvalidArgumentException.class, () -> OffKv.open(env.url,
          new Options().sessionTimeout(Duration.ofSeconds(10)).option("session_timeout_ms", "1")));
      assertThrows(InvalidArgumentException.class, () -> new Options().option(null, "x"));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void everyErrorReachableThroughTheApi(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      InvalidArgumentException inv = raises(InvalidArgumentException.class, () -> c.get("no-slash"));
      assertEquals("no-slash", inv.key());
      assertTrue(inv.detail().contains("no-slash"));
      raises(InvalidArgumentException.class, () -> c.set("/a/", b("")));
      raises(InvalidArgumentException.class, () -> c.set("/a\0b", b("")));
      assertEquals(0, c.exists("/a"));
      NoNodeException nn = raises(NoNodeException.class, () -> c.get("/missing"));
      assertEquals("/missing", nn.key());
      NoNodeException np = raises(NoNodeException.class, () -> c.create("/no/parent", b("")));
      assertTrue(np.detail().contains("/no"), np.detail());
      c.create("/n", b(""));
      assertEquals("/n", raises(NodeExistsException.class, () -> c.create("/n", b(""))).key());
      raises(BadVersionException.class, () -> c.cas("/n", b(""), 9));
      c.create("/eph", b(""), CreateFlag.EPHEMERAL);
      raises(EphemeralException.class, () -> c.create("/eph/c", b("")));
      raises(TooBigException.class, () -> c.set("/n", new byte[OffKv.MAX_VALUE_SIZE + 1]));
      Transaction big = c.transaction();
      for (int i = 0; i <= OffKv.MAX_TXN_OPS; i++) big.check("/n" + i, 0);
      raises(TooBigException.class, big::commit);
      TransactionFailedException tf = raises(TransactionFailedException.class,
          () -> c.transaction().check("/n", 5).commit());
      assertEquals(0, tf.failedIndex());
      assertEquals(ErrorCode.EVERSION, tf.failedCode());
      Watch<Long> w = c.existsWatch("/never", null);
      assertThrows(TimedOutException.class, () -> w.await(Duration.ofMillis(10)));
      w.cancel();
      raises(ClosedException.class, () -> w.await(Duration.ofMillis(10)));
      w.close();
      for (String scheme : new String[] {"zk", "etcd", "consul"}) {
        if (!OffKv.hasBackend(scheme)) {
          UnsupportedException u = raises(UnsupportedException.class, () -> OffKv.open(scheme + "://127.0.0.1:1"));
          assertTrue(u.detail().contains(scheme));
        }
      }
      raises(InvalidArgumentException.class, () -> OffKv.open("nosuch://x"));
      raises(InvalidArgumentException.class, () -> OffKv.open("not a url"));
      raises(InvalidArgumentException.class, () -> OffKv.open(env.urlWith("session_timeout_ms=abc")));
      raises(InvalidArgumentException.class,
          () -> OffKv.open(env.url, new Options().sessionTimeout(Duration.ofMillis(5))));
      Client closed = env.open();
      closed.close();
      assertThrows(ClosedException.class, () -> closed.get("/n"));
      // Codes the API cannot be made to produce on demand here (ECONNLOSS, ESESSION,
      // EAUTH, ETLS, ESERVICE, ENOMEM, EINTERNAL, ENOTEMPTY) go through the same factory
      // the glue calls for every failed call:
      for (ErrorCode code : new ErrorCode[] {ErrorCode.ECONNLOSS, ErrorCode.ESESSION, ErrorCode.EAUTH,
          ErrorCode.ETLS, ErrorCode.ESERVICE, ErrorCode.ENOMEM, ErrorCode.EINTERNAL, ErrorCode.ENOTEMPTY}) {
        Throwable t = Native.error(code.code(), Native.key("/k"), b("server said no"));
        assertEquals(code, ((OffKvException) t).code());
        assertEquals("/k", ((OffKvException) t).key());
      }
    }
  }

  @Test
  void unreachableServerFailsCleanly() {
    for (String scheme : new String[] {"zk", "etcd", "consul"}) {
      if (!OffKv.hasBackend(scheme)) continue;
      OffKvException e = assertThrows(OffKvException.class, () -> OffKv.open(scheme + "://127.0.0.1:1",
          new Options().connectTimeout(Duration.ofMillis(500)).operationTimeout(Duration.ofMillis(500))));
      assertTrue(e instanceof ConnectionLossException || e instanceof TimedOutException, e.toString());
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void messageIsFromThisCallAndThisThread(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Map<Integer, Set<String>> seen = new ConcurrentHashMap<>();
      Thread[] ts = new Thread[4];
      for (int i = 0; i < ts.length; i++) {
        int n = i;
        ts[i] = new Thread(() -> {
          for (int j = 0; j < 100; j++) {
            try {
              env.client.get("/missing-" + n);
            } catch (NoNodeException e) {
              seen.computeIfAbsent(n, x -> ConcurrentHashMap.newKeySet()).add(e.detail());
            }
          }
        });
        ts[i].start();
      }
      for (Thread t : ts) t.join();
      for (int i = 0; i < ts.length; i++) {
        assertEquals(1, seen.get(i).size());
        assertTrue(seen.get(i).iterator().next().contains("/missing-" + i));
      }
    }
  }
}
