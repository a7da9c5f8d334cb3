package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ThreadsTest {
  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void manyThreadsOnOneClient(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.set("/counter", b("0"));
      int threads = 8, per = env.scheme.equals("mem") ? 200 : 25;
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> ts = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        int n = i;
        Thread t = new Thread(() -> {
          try {
            start.await();
            for (int j = 0; j < per; j++) {
              c.set("/t" + n, b(Integer.toString(j)));
              assertEquals(Integer.toString(j), new String(c.get("/t" + n).value()));
              for (;;) { // a contended cas increment
                Node node = c.get("/counter");
                try {
                  c.cas("/counter", b(Long.toString(Long.parseLong(new String(node.value())) + 1)), node.version());
                  break;
                } catch (BadVersionException again) {
                  // retry
                }
              }
              try (Watch<Long> w = c.existsWatch("/t" + n, null)) {
                assertTrue(w.value() > 0);
              }
            }
          } catch (Throwable e) {
            failures.add(e);
          }
        });
        ts.add(t);
        t.start();
      }
      start.countDown();
      for (Thread t : ts) t.join();
      assertEquals(List.of(), failures);
      assertEquals(Integer.toString(threads * per), new String(c.get("/counter").value()));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void closeWhileOtherThreadsCall(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.open();
      List<Throwable> unexpected = new CopyOnWriteArrayList<>();
      List<Thread> ts = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        int n = i;
        Thread t = new Thread(() -> {
          for (;;) {
            try {
              c.set("/spam" + n, b("x"));
              c.exists("/spam" + n);
            } catch (ClosedException done) {
              return;
            } catch (Throwable e) {
              unexpected.add(e);
              return;
            }
          }
        });
        ts.add(t);
        t.start();
      }
      Thread.sleep(200);
      c.close();
      for (Thread t : ts) t.join(10000);
      for (Thread t : ts) assertFalse(t.isAlive());
      assertEquals(List.of(), unexpected);
    }
  }
}
