package org.offkv;

import java.lang.ref.Reference;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * One native handle's life: calls {@link #enter()} / {@link #exit()} around every use;
 * {@link #close()} runs the close action (which wakes blocked calls) and frees the
 * handle once no call is in flight. The free happens exactly once, on whichever thread
 * leaves last. A Cleaner action holds this object, never the Java object it belongs
 * to, so any garbage-collection order is safe. Counted here, not in C: a call that has
 * not entered the library yet would pass a freed pointer, which only the caller can
 * prevent.
 */
final class NativeHandle implements Runnable {
  interface Action {
    void run(long ptr, long ctx);
  }

  private static final long CLOSED = 1L << 62;
  private final AtomicLong state = new AtomicLong();
  final long ptr;
  final long ctx;
  private final String what;
  private final Action closeAction; // may be null
  private final Action freeAction;

  NativeHandle(String what, long ptr, long ctx, Action closeAction, Action freeAction) {
    this.what = what;
    this.ptr = ptr;
    this.ctx = ctx;
    this.closeAction = closeAction;
    this.freeAction = freeAction;
  }

  /** The pointer, held valid until {@link #exit()}; ClosedException once closed. */
  long enter() {
    for (;;) {
      long s = state.get();
      if ((s & CLOSED) != 0) throw new ClosedException(what + " is closed", null);
      if (state.compareAndSet(s, s + 1)) return ptr;
    }
  }

  void exit() {
    if (state.decrementAndGet() == CLOSED) freeAction.run(ptr, ctx);
  }

  /**
   * Runs f with the pointer held valid. owner (the Java object this handle belongs to)
   * stays reachable until f returns, so its Cleaner cannot free the handle meanwhile.
   */
  <T> T call(Object owner, LongFunction<T> f) {
    long p = enter();
    try {
      return f.apply(p);
    } finally {
      exit();
      Reference.reachabilityFence(owner);
    }
  }

  boolean isClosed() {
    return (state.get() & CLOSED) != 0;
  }

  /** Closes once; later calls do nothing. Returns true for the call that closed. */
  boolean close() {
    for (;;) {
      long s = state.get();
      if ((s & CLOSED) != 0) return false;
      if (state.compareAndSet(s, (s + 1) | CLOSED)) break; // enter and close at once
    }
    try {
      if (closeAction != null) closeAction.run(ptr, ctx);
    } finally {
      exit();
    }
    return true;
  }

  /** The Cleaner action. */
  @Override
  public void run() {
    try {
      close();
    } catch (Throwable t) {
      OffKv.callbackFailed(t);
    }
  }
}
