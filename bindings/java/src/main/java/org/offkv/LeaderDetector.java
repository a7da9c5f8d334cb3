package org.offkv;

import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/** Follows a group's leader without contending (offkv_detector_*). */
public final class LeaderDetector implements AutoCloseable {
  private final Client client;
  private final String group;
  private final String label;
  private final NativeHandle h;
  private final Cleaner.Cleanable cleanable;

  LeaderDetector(Client client, String group, String label, Consumer<RecipeEvent> listener) {
    this.client = client;
    this.group = group;
    this.label = label;
    byte[] g = Native.key(group);
    byte[] l = Native.cstr(label, "label");
    long[] handles = new long[2];
    client.call(p -> {
      Native.detectorOpen(p, g, l, Client.recipeSink(listener), handles);
      return null;
    });
    h = new NativeHandle("detector", handles[0], handles[1], (p, c) -> Native.detectorClose(p),
        (p, c) -> Native.detectorFree(p, c));
    cleanable = OffKv.CLEANER.register(this, h);
  }

  private <T> T call(LongFunction<T> f) {
    return h.call(this, f);
  }

  public String group() {
    return group;
  }

  /** The member label (Mesos' layout), or null for offkv's own member names. */
  public String label() {
    return label;
  }

  public Client client() {
    return client;
  }

  /** The current leader, if any is known. */
  public Optional<Member> leader() {
    return Optional.ofNullable(call(Native::detectorLeader));
  }

  /**
   * Waits up to timeout (null: forever) until the leader's key differs from previousKey
   * (null: "no leader"); returns the new leader (empty: the change was to "no leader").
   * TimedOutException if nothing changed; ClosedException once closed.
   */
  public Optional<Member> awaitChange(String previousKey, Duration timeout) {
    byte[] prev = Native.cstr(previousKey, "previous key");
    int ms = Native.millis(timeout);
    return Optional.ofNullable(call(p -> Native.detectorWait(p, prev, ms)));
  }

  /** Stops detecting and frees; no listener call after it returns. */
  @Override
  public void close() {
    cleanable.clean();
  }
}
