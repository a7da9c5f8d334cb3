package org.offkv;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.time.Duration;

/**
 * A watch (offkv_watch): one-shot (from getWatch / existsWatch / childrenWatch) or
 * persistent. {@link #value()} is what the read returned. {@link #close()} cancels it
 * and frees the handle; after cancel/close returns, its listener is never called again.
 *
 * @param <T> the read's result: Node, Long (version), List of keys, or Void
 */
public final class Watch<T> implements AutoCloseable {
  private final Client client;
  private final String key;
  private final T value;
  private final boolean persistent;
  final NativeHandle h;
  private final Cleaner.Cleanable cleanable;
  long liveId; // its key in client.live while a listener waits for its last event

  Watch(Client client, String key, T value, long ptr, long ctx, boolean persistent) {
    this.client = client;
    this.key = key;
    this.value = value;
    this.persistent = persistent;
    this.h = new NativeHandle("watch", ptr, ctx, (p, c) -> Native.watchCancel(p),
        (p, c) -> Native.watchFree(p, c));
    this.cleanable = OffKv.CLEANER.register(this, h);
  }

  /** What the read returned: the Node, the version (0 = absent), the children, or null. */
  public T value() {
    return value;
  }

  public String key() {
    return key;
  }

  public Client client() {
    return client;
  }

  public boolean isPersistent() {
    return persistent;
  }

  /**
   * Waits up to timeout (null: forever) for the next event (offkv_watch_wait). A fired
   * one-shot watch returns its event every time; a persistent watch without a listener
   * returns its queued events in order. TimedOutException if nothing came;
   * ClosedException once cancelled (or a persistent watch has ended).
   */
  public Event await(Duration timeout) {
    int ms = Native.millis(timeout);
    long p = h.enter();
    try {
      Event e = Native.watchWait(p, ms);
      if (e == null) throw new TimedOutException("no event on '" + key + "' within " + timeout, key);
      return e;
    } finally {
      h.exit();
      Reference.reachabilityFence(this);
    }
  }

  /** Waits forever for the next event. */
  public Event await() {
    return await(null);
  }

  /** offkv_watch_cancel: no listener call after it returns; the handle stays for await. */
  public void cancel() {
    long p;
    try {
      p = h.enter();
    } catch (ClosedException e) {
      return;
    }
    try {
      Native.watchCancel(p);
    } finally {
      h.exit();
      client.live.remove(liveId);
    }
  }

  /** Cancels and frees (offkv_watch_free). Twice is fine; allowed from its own listener. */
  @Override
  public void close() {
    cleanable.clean();
    client.live.remove(liveId); // no listener call after this: nothing to keep it for
  }

  public boolean isClosed() {
    return h.isClosed();
  }
}
