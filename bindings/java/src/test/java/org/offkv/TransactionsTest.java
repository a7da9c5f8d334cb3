package org.offkv;

import static org.junit.jupiter.api.Assertions.*;
import static org.offkv.TestEnv.b;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TransactionsTest {
  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void commitResults(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.set("/config", b("v1"));
      c.set("/config", b("v2"));
      c.create("/jobs", b(""));
      c.create("/old", b(""));
      try (Transaction t = c.transaction()) {
        t.check("/config", 2).check("/jobs", OffKv.ANY_VERSION).check("/none", 0)
            .set("/config", b("v3")).create("/jobs/j-", b("job"), CreateFlag.SEQUENTIAL).erase("/old");
        List<OpResult> r = t.commit();
        assertEquals(3, r.size());
        assertEquals(new OpResult("/config", 3), r.get(0));
        assertTrue(r.get(1).key().matches("/jobs/j-\\d{10}"), r.get(1).key());
        assertEquals(1, r.get(1).version());
        assertEquals(new OpResult("/old", 0), r.get(2));
      }
      assertEquals(new Node(b("v3"), 3), c.get("/config"));
      assertEquals(0, c.exists("/old"));
      try (Transaction empty = new Transaction()) {
        assertEquals(List.of(), c.commit(empty));
      }
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void failingIndexAndNothingApplied(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client c = env.client;
      c.set("/a", b("1"));
      Transaction t = env.own(c.transaction());
      t.check("/a", 1).check("/a", OffKv.ANY_VERSION).set("/a", b("2")).create("/a", b("dup"));
      TransactionFailedException e = assertThrows(TransactionFailedException.class, t::commit);
      assertEquals(3, e.failedIndex()); // checks first, then ops
      assertEquals(ErrorCode.EEXIST, e.failedCode());
      assertEquals(ErrorCode.ETXN, e.code());
      assertEquals(new Node(b("1"), 1), c.get("/a"));

      Transaction t2 = env.own(c.transaction().check("/a", 1).check("/missing", OffKv.ANY_VERSION));
      TransactionFailedException e2 = assertThrows(TransactionFailedException.class, t2::commit);
      assertEquals(1, e2.failedIndex());
      assertEquals(ErrorCode.ENOENT, e2.failedCode());

      Transaction bad = env.own(c.transaction().set("/ok", b("")).set("bad", b("")));
      InvalidArgumentException inv = assertThrows(InvalidArgumentException.class, bad::commit);
      assertTrue(inv.detail().contains("bad"), inv.detail());
      assertEquals(0, c.exists("/ok"));
    }
  }

  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void oneTransactionOnTwoClients(TestEnv.Backend be) {
    try (TestEnv env = new TestEnv(be)) {
      Client other = env.open();
      Transaction t = env.own(new Transaction().create("/t1", b("")));
      env.client.commit(t);
      assertThrows(TransactionFailedException.class, () -> other.commit(t));
      assertThrows(InvalidArgumentException.class, t::commit); // no client bound
    }
  }
}
