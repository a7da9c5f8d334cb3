package org.offkv;

import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Optional;
import java.util.function.LongFunction;

/**
 * A mutual-exclusion lock named by a key (offkv_lock_*). Not reentrant. Use with
 * try-with-resources:
 *
 * <pre>{@code
 * try (Lock lock = client.lock("/locks/job").acquire(Duration.ofSeconds(5))) {
 *   ... // critical section; fence writes with lock.member()
 * }
 * }</pre>
 *
 * {@link #close()} releases (if held) and frees the handle.
 */
public final class Lock implements AutoCloseable {
  private final Client client;
  private final String key;
  private final byte[] k;
  private final NativeHandle h;
  private final Cleaner.Cleanable cleanable;

  Lock(Client client, String key) {
    this.client = client;
    this.key = key;
    this.k = Native.key(key);
    long l = client.call(p -> Native.lockNew(p, k));
    h = new NativeHandle("lock", l, 0, null, (p, c) -> Native.lockFree(p));
    cleanable = OffKv.CLEANER.register(this, h);
  }

  private <T> T call(LongFunction<T> f) {
    return h.call(this, f);
  }

  public String key() {
    return key;
  }

  public Client client() {
    return client;
  }

  /**
   * Tries for up to timeout (null: forever, zero: once). False if not acquired;
   * SessionExpiredException / ClosedException if the session ended meanwhile;
   * InvalidArgumentException if this handle holds it or is acquiring.
   */
  public boolean tryAcquire(Duration timeout) {
    int ms = Native.millis(timeout);
    return call(p -> Native.lockAcquire(p, ms, k));
  }

  /** Acquires within timeout or throws TimedOutException; returns this (for try-with-resources). */
  public Lock acquire(Duration timeout) {
    if (!tryAcquire(timeout)) {
      throw new TimedOutException("lock '" + key + "' not acquired within " + timeout, key);
    }
    return this;
  }

  /** Waits as long as it takes. */
  public Lock acquire() {
    return acquire(null);
  }

  /** Releases; InvalidArgumentException if not held; SessionExpiredException if it had been lost. */
  public void release() {
    call(p -> {
      Native.lockRelease(p, k);
      return null;
    });
  }

  /** Held by this handle and its session is CONNECTED (a local belief). */
  public boolean isHeld() {
    return call(Native::lockIsHeld);
  }

  /** The holder's member node (a fencing token), if held. */
  public Optional<Member> member() {
    return Optional.ofNullable(call(Native::lockMember));
  }

  /** Releases (if held) and frees the handle. */
  @Override
  public void close() {
    cleanable.clean();
  }
}
