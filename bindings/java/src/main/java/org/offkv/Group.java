package org.offkv;

import java.lang.ref.Cleaner;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/** Group membership (offkv_group_*): join with a payload, list, observe changes. */
public final class Group implements AutoCloseable {
  private final Client client;
  private final String group;
  private final String label;
  private final NativeHandle h;
  private final Cleaner.Cleanable cleanable;

  Group(Client client, String group, String label, Consumer<RecipeEvent> listener) {
    this.client = client;
    this.group = group;
    this.label = label;
    byte[] g = Native.key(group);
    byte[] l = Native.cstr(label, "label");
    long[] handles = new long[2];
    client.call(p -> {
      Native.groupOpen(p, g, l, Client.recipeSink(listener), handles);
      return null;
    });
    h = new NativeHandle("group", handles[0], handles[1], (p, c) -> Native.groupOp(p, Native.G_CLOSE, null),
        (p, c) -> Native.groupFree(p, c));
    cleanable = OffKv.CLEANER.register(this, h);
  }

  private <T> T call(LongFunction<T> f) {
    return h.call(this, f);
  }

  private void op(int op, byte[] payload) {
    call(p -> {
      Native.groupOp(p, op, payload);
      return null;
    });
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

  /** Joins with payload (InvalidArgumentException if already a member). */
  public void join(byte[] payload) {
    op(Native.G_JOIN, Native.value(payload));
  }

  /** Replaces this handle's payload (InvalidArgumentException if not joined). */
  public void update(byte[] payload) {
    op(Native.G_UPDATE, Native.value(payload));
  }

  /** Leaves (InvalidArgumentException if not joined). */
  public void leave() {
    op(Native.G_LEAVE, null);
  }

  /** This handle's member node, if it has one now. */
  public Optional<Member> self() {
    return Optional.ofNullable(call(Native::groupSelf));
  }

  /** Reads the membership now, ordered by sequence. */
  public List<Member> members() {
    return List.of(call(Native::groupMembers));
  }

  /** Leaves (if joined), stops observing and frees. */
  @Override
  public void close() {
    cleanable.clean();
  }
}
