package org.offkv;

import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * A contender in a leader election (offkv_election_*). The listener gets LEADER and
 * NOT_LEADER, strictly alternating. {@link #close()} withdraws and frees; keep a
 * reference while contending (an unreachable contender is withdrawn by a Cleaner).
 */
public final class LeaderElection implements AutoCloseable {
  private final Client client;
  private final String group;
  private final String label;
  private final NativeHandle h;
  private final Cleaner.Cleanable cleanable;

  LeaderElection(Client client, String group, String label, byte[] payload,
      Consumer<RecipeEvent> listener) {
    this.client = client;
    this.group = group;
    this.label = label;
    byte[] g = Native.key(group);
    byte[] l = Native.cstr(label, "label");
    byte[] pl = Native.value(payload);
    long[] handles = new long[2];
    client.call(p -> {
      Native.electionContend(p, g, l, pl, Client.recipeSink(listener), handles);
      return null;
    });
    h = new NativeHandle("election", handles[0], handles[1], (p, c) -> {
      try {
        Native.electionWithdraw(p); // wakes waiters; an error: the node goes with the session
      } catch (OffKvException e) {
        // nothing more to do: offkv_election_free follows
      }
    }, (p, c) -> Native.electionFree(p, c));
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

  /** Whether this contender leads right now. */
  public boolean isLeader() {
    return call(Native::electionIsLeader);
  }

  /**
   * Waits up to timeout (null: forever) until isLeader() would give {@code leader}.
   * False on timeout; ClosedException when waiting for leadership after withdraw/close.
   */
  public boolean await(boolean leader, Duration timeout) {
    int ms = Native.millis(timeout);
    return call(p -> Native.electionWait(p, leader, ms));
  }

  /** This contender's member node, if it has one now. */
  public Optional<Member> member() {
    return Optional.ofNullable(call(Native::electionMember));
  }

  /** Leaves the election (NOT_LEADER first if leading). Final; twice is fine. */
  public void withdraw() {
    call(p -> {
      Native.electionWithdraw(p);
      return null;
    });
  }

  /** Withdraws and frees. */
  @Override
  public void close() {
    cleanable.clean();
  }
}
