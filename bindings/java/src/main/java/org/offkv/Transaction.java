package org.offkv;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.List;

/**
 * A transaction builder (offkv_txn): checks and ops kept in call order, applied
 * atomically by {@link #commit()} or {@link Client#commit(Transaction)}. Checks: version
 * &gt; 0 exactly that version, 0 absent, {@link OffKv#ANY_VERSION} exists. Keys and values
 * are validated at commit. May be committed many times, on several clients.
 */
public final class Transaction implements AutoCloseable {
  private final Client client; // may be null
  private final NativeHandle h;
  private final Cleaner.Cleanable cleanable;

  /** A builder not bound to a client: commit it with {@link Client#commit(Transaction)}. */
  public Transaction() {
    this(null);
  }

  Transaction(Client client) {
    this.client = client;
    long t = Native.txnNew();
    h = new NativeHandle("transaction", t, 0, null, (p, c) -> Native.txnFree(p));
    cleanable = OffKv.CLEANER.register(this, h);
  }

  private synchronized Transaction add(int op, String key, byte[] value, long num) {
    byte[] k = Native.key(key);
    long p = h.enter();
    try {
      Native.txnAdd(p, op, k, value, num);
    } finally {
      h.exit();
      Reference.reachabilityFence(this);
    }
    return this;
  }

  public Transaction check(String key, long version) {
    return add(Native.T_CHECK, key, null, version);
  }

  public Transaction create(String key, byte[] value, CreateFlag... flags) {
    return add(Native.T_CREATE, key, Native.value(value), CreateFlag.bits(flags));
  }

  public Transaction set(String key, byte[] value) {
    return add(Native.T_SET, key, Native.value(value), 0);
  }

  public Transaction erase(String key) {
    return erase(key, 0);
  }

  public Transaction erase(String key, long expectedVersion) {
    return add(Native.T_ERASE, key, null, expectedVersion);
  }

  /** Commits on the client that made this builder. */
  public List<OpResult> commit() {
    if (client == null) throw new InvalidArgumentException("transaction has no client: use Client.commit", null);
    return commitOn(client);
  }

  /** {@link #commit()} without waiting; see {@link Client#commitAsync}. */
  public java.util.concurrent.CompletableFuture<List<OpResult>> commitAsync() {
    if (client == null) {
      return java.util.concurrent.CompletableFuture.failedFuture(
          new InvalidArgumentException("transaction has no client: use Client.commitAsync", null));
    }
    return commitAsyncOn(client);
  }

  /** The C call copies the transaction: it may be changed or closed once this returns. */
  synchronized java.util.concurrent.CompletableFuture<List<OpResult>> commitAsyncOn(Client c) {
    long t;
    try {
      t = h.enter();
    } catch (ClosedException e) {
      return java.util.concurrent.CompletableFuture.failedFuture(e);
    }
    try {
      return c.async(Native.A_COMMIT, null, null, 0, t, null);
    } finally {
      h.exit();
      Reference.reachabilityFence(this);
    }
  }

  synchronized List<OpResult> commitOn(Client c) {
    long t = h.enter();
    try {
      return c.call(p -> Arrays.asList(Native.commit(p, t)));
    } finally {
      h.exit();
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public void close() {
    cleanable.clean();
  }
}
