package org.offkv;

/**
 * What a native callback's {@code user} pointer refers to (through one JNI global
 * reference). Runs on the client's event thread; never lets an exception reach C.
 */
abstract class Sink {
  private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

  /** True while this thread runs an offkv callback (of any client). */
  static boolean inCallback() {
    return DEPTH.get()[0] > 0;
  }

  void onEvent(int type, byte[] key, long version, int state, int error, byte[] message) {
    int[] d = DEPTH.get();
    d[0]++;
    try {
      event(Native.event(type, key, version, state, error, message));
    } catch (Throwable t) {
      OffKv.callbackFailed(t);
    } finally {
      d[0]--;
    }
  }

  void onRecipe(int type, Member member, byte[] group, Member[] members, int state, int error,
      byte[] message) {
    int[] d = DEPTH.get();
    d[0]++;
    try {
      recipe(new RecipeEvent(EventType.of(type), member, Native.str(group),
          members == null ? java.util.List.of() : java.util.List.of(members),
          SessionState.of(state), ErrorCode.of(error), Native.str(message)));
    } catch (Throwable t) {
      OffKv.callbackFailed(t);
    } finally {
      d[0]--;
    }
  }

  /**
   * An asynchronous call's completion (AsyncCall overrides it). Returns true when the
   * Java side took over the watch handle and its listener context.
   */
  boolean onComplete(int error, byte[] message, long version, Object result, long failedIndex,
      int failedCode, long watch, long watchCtx) {
    return false;
  }

  /** Counts this thread as running an offkv callback until {@link #leave()}. */
  static void enter() {
    DEPTH.get()[0]++;
  }

  static void leave() {
    DEPTH.get()[0]--;
  }

  void event(Event e) {}

  void recipe(RecipeEvent e) {}
}
