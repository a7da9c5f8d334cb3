package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class NodesTest {
  @Test
  void versionAndBackends() {
    assertEquals(OffKv.BINDING_VERSION, OffKv.versionString());
    assertEquals(100, OffKv.version());
    assertTrue(OffKv.hasBackend("mem"));
    assertFalse(OffKv.hasBackend("nosuch"));
    assertTrue(OffKv.backends().contains("mem"));
    assertTrue(OffKv.nativeSource().startsWith("jar"), OffKv.nativeSource());
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void binaryValues(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      byte[] all = new byte[256];
      for (int i = 0; i < 256; i++) all[i] = (byte) i;
      assertEquals("/bin", c.create("/bin", all));
      assertArrayEquals(all, c.get("/bin").value());
      byte[] nuls = {0, 0, 'a', 0};
      assertEquals(2, c.set("/bin", nuls));
      assertEquals(new Node(nuls, 2), c.get("/bin"));
      c.set("/empty", new byte[0]);
      assertArrayEquals(new byte[0], c.get("/empty").value());
      c.set("/null", null); // null is the empty value
      assertEquals(0, c.get("/null").value().length);
      byte[] max = new byte[OffKv.MAX_VALUE_SIZE];
      for (int i = 0; i < max.length; i++) max[i] = (byte) (i * 7);
      c.set("/max", max);
      assertArrayEquals(max, c.get("/max").value());
      assertThrows(TooBigException.class, () -> c.set("/max", new byte[OffKv.MAX_VALUE_SIZE + 1]));
      assertArrayEquals(max, c.get("/max").value());
      // a non-ASCII key
      c.set("/ключ-é", b("x"));
      assertTrue(c.children("/").contains("/ключ-é"));
      // a code point the key rules refuse (U+FFF0 and above), and an unpaired surrogate
      assertThrows(InvalidArgumentException.class, () -> c.set("/\uD83D\uDE00", b("")));
      assertThrows(InvalidArgumentException.class, () -> c.set("/\uD83D", b("")));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void crud(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/a", b("1"));
      assertEquals(1, c.exists("/a"));
      assertEquals(0, c.exists("/nope"));
      assertEquals(2, c.cas("/a", b("2"), 1));
      assertThrows(BadVersionException.class, () -> c.cas("/a", b("3"), 1));
      assertEquals(1, c.cas("/fresh", b(""), 0));
      assertThrows(BadVersionException.class, () -> c.cas("/fresh", b(""), 0));
      c.create("/a/x", b(""));
      c.create("/a/y", b(""));
      c.create("/ab", b(""));
      assertEquals(List.of("/a/x", "/a/y"), c.children("/a"));
      String s1 = c.create("/a/seq-", b(""), CreateFlag.SEQUENTIAL);
      String s2 = c.create("/a/seq-", b(""), CreateFlag.SEQUENTIAL);
      assertTrue(s1.matches("/a/seq-\\d{10}"), s1);
      assertTrue(s2.compareTo(s1) > 0);
      assertThrows(BadVersionException.class, () -> c.erase("/a", 7));
      c.erase("/a", 2);
      assertEquals(0, c.exists("/a/x"));
      assertEquals(1, c.exists("/ab")); // erasing /a never touches /ab
      assertThrows(NoNodeException.class, () -> c.erase("/a"));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void ephemeralsGoWithTheSession(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client other = env.open();
      String k = other.create("/e-", b("x"), CreateFlag.EPHEMERAL, CreateFlag.SEQUENTIAL);
      assertEquals(1, env.client.exists(k));
      assertThrows(EphemeralException.class, () -> other.create(k + "/child", b("")));
      other.close();
      assertEquals(0, env.client.exists(k));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void prefixesIsolate(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.create("/sub", b(""));
      String base = env.url.contains("?") ? env.url.substring(0, env.url.indexOf('?')) : env.url;
      String query = env.url.contains("?") ? env.url.substring(env.url.indexOf('?')) : "";
      try (Client sub = OffKv.open(base + "/sub" + query)) {
        sub.set("/k", b("v"));
        assertEquals(List.of("/k"), sub.children("/"));
      }
      assertEquals(List.of("/sub/k"), c.children("/sub"));
    }
  }
}
