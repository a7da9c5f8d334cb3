package org.offkv;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * The backends under test: mem:// always, plus every real server given by
 * OFFKV_TEST_URL (URLs separated by whitespace) and OFFKV_TEST_URL_FILE (files separated
 * by ':', each holding one or more URLs, as tests/servers/*.sh write them). A named file
 * that is missing or empty, or a server that cannot be reached, FAILS the tests of that
 * backend: nothing is skipped.
 *
 * <p>Each test works under its own root: a fresh mem:// store, or a fresh prefix under
 * the server URL's, erased afterwards.
 */
final class TestEnv implements AutoCloseable {
  record Backend(String name, String url, String problem) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final List<Backend> BACKENDS = discover();
  private static final AtomicLong UNIQUE = new AtomicLong();

  private static List<Backend> discover() {
    List<Backend> out = new ArrayList<>();
    out.add(new Backend("mem", "mem://", null));
    List<String> urls = new ArrayList<>();
    String env = System.getenv("OFFKV_TEST_URL");
    if (env != null) for (String u : env.trim().split("\\s+")) if (!u.isEmpty()) urls.add(u);
    String files = System.getenv("OFFKV_TEST_URL_FILE");
    if (files != null) {
      for (String f : files.split(":")) {
        if (f.isBlank()) continue;
        try {
          String text = Files.readString(Path.of(f)).trim();
          if (text.isEmpty()) out.add(new Backend("missing", null, "OFFKV_TEST_URL_FILE: " + f + " holds no URL"));
          else for (String u : text.split("\\s+")) urls.add(u);
        } catch (IOException e) {
          out.add(new Backend("missing", null,
              "OFFKV_TEST_URL_FILE names " + f + ": " + e + " (is the server running?)"));
        }
      }
    }
    for (String u : urls) out.add(new Backend(u.substring(0, Math.max(0, u.indexOf("://"))), u, null));
    // distinct names
    List<Backend> named = new ArrayList<>();
    for (Backend b : out) {
      long same = named.stream().filter(x -> x.name.equals(b.name) || x.name.startsWith(b.name + "#")).count();
      named.add(same == 0 ? b : new Backend(b.name + "#" + (same + 1), b.url, b.problem));
    }
    return List.copyOf(named);
  }

  /** For @MethodSource. */
  static Stream<Backend> backends() {
    return BACKENDS.stream();
  }

  final Backend backend;
  final String url;
  final String scheme;
  final Client client;
  private final List<AutoCloseable> owned = new ArrayList<>();
  private final String serverBase;
  private final String rootKey;

  TestEnv(Backend b) {
    this.backend = b;
    if (b.problem != null) fail("backend " + b.name + ": " + b.problem);
    scheme = b.url.substring(0, b.url.indexOf("://"));
    String name = "java-" + ProcessHandle.current().pid() + "-" + UNIQUE.incrementAndGet() + "-"
        + Long.toHexString(System.nanoTime());
    if (scheme.equals("mem")) {
      url = "mem://" + name;
      serverBase = null;
      rootKey = null;
    } else {
      String base = b.url, query = "";
      int q = base.indexOf('?');
      if (q >= 0) {
        query = base.substring(q);
        base = base.substring(0, q);
      }
      String rest = base.substring(base.indexOf("://") + 3);
      int slash = rest.indexOf('/');
      String hosts = slash < 0 ? rest : rest.substring(0, slash);
      String prefix = slash < 0 ? "" : rest.substring(slash).replaceAll("/+$", "");
      serverBase = scheme + "://" + hosts + prefix + query;
      rootKey = "/" + name;
      url = scheme + "://" + hosts + prefix + "/" + name + query;
    }
    client = open();
  }

  /** A client on this test's root, closed after the test. */
  Client open() {
    return open(new Options());
  }

  Client open(Options o) {
    try {
      Client c = OffKv.open(url, o);
      owned.add(c);
      return c;
    } catch (OffKvException e) {
      return fail("backend " + backend.name + ": cannot open " + url + ": " + e);
    }
  }

  <T extends AutoCloseable> T own(T x) {
    owned.add(x);
    return x;
  }

  String urlWith(String query) {
    return url + (url.contains("?") ? "&" : "?") + query;
  }

  @Override
  public void close() {
    for (int i = owned.size() - 1; i >= 0; i--) {
      try {
        owned.get(i).close();
      } catch (Exception ignored) {
        // best effort
      }
    }
    if (serverBase == null) return;
    try (Client c = OffKv.open(serverBase)) {
      c.erase(rootKey);
    } catch (OffKvException ignored) {
      // nothing was created under it, or the server is gone
    }
  }

  static void waitFor(BooleanSupplier cond) {
    waitFor(cond, Duration.ofSeconds(10));
  }

  static void waitFor(BooleanSupplier cond, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) fail("condition not met within " + timeout);
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }

  /**
   * Collects garbage until the glue's count of global references stops moving (other
   * tests' dropped objects are released by Cleaners); returns the count.
   */
  static long quiesce() {
    long last = -1;
    for (int stable = 0, i = 0; stable < 3 && i < 200; i++) {
      System.gc();
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      long now = OffKv.liveGlobalRefs();
      stable = now == last ? stable + 1 : 0;
      last = now;
    }
    return last;
  }

  /** Waits (collecting garbage) until at most `refs` global references are left. */
  static void waitForRefs(long refs) {
    waitFor(() -> {
      System.gc();
      return OffKv.liveGlobalRefs() <= refs;
    }, Duration.ofSeconds(30));
  }

  static byte[] b(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
