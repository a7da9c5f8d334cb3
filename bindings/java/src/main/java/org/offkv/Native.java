package org.offkv;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;

/**
 * The JNI entry points (src/main/native/offkv_jni.c) and the factories the glue calls
 * back. Package-private: the public API is {@link OffKv}, {@link Client} and friends.
 *
 * <p>Strings cross the boundary as UTF-8 {@code byte[]}; keys and other C strings are
 * passed NUL-terminated ({@link #cstr}).
 */
final class Native {
  private Native() {}

  static final String PLATFORM = "linux-x86_64";
  static final String GLUE = "liboffkv_jni.so";
  static final String LIBRARY = "liboffkv.so.0";

  /** Where the native code was loaded from (for diagnostics and tests). */
  static final String LOADED_FROM;

  static {
    LOADED_FROM = load();
  }

  static void init() {}

  /**
   * Loads liboffkv and the glue: from {@code -Doffkv.library.path=DIR} when set; else
   * from the copies in this jar, extracted into a private temporary directory; else
   * {@code System.loadLibrary("offkv_jni")} (java.library.path).
   */
  private static String load() {
    String dir = System.getProperty("offkv.library.path");
    if (dir != null && !dir.isEmpty()) {
      Path d = Paths.get(dir).toAbsolutePath();
      Path lib = d.resolve(LIBRARY);
      if (Files.exists(lib)) System.load(lib.toString());
      System.load(d.resolve(GLUE).toString());
      return d.toString();
    }
    String base = "/org/offkv/native/" + PLATFORM + "/";
    if (Native.class.getResource(base + GLUE) != null) {
      try {
        Path tmp = Files.createTempDirectory("offkv-native-");
        tmp.toFile().deleteOnExit();
        Path lib = extract(base + LIBRARY, tmp.resolve(LIBRARY));
        Path glue = extract(base + GLUE, tmp.resolve(GLUE));
        if (lib != null) System.load(lib.toString());
        System.load(glue.toString());
        return "jar (extracted to " + tmp + ")";
      } catch (IOException e) {
        throw new UnsatisfiedLinkError("offkv: cannot extract the native library: " + e);
      }
    }
    System.loadLibrary("offkv_jni");
    return "java.library.path";
  }

  private static Path extract(String resource, Path to) throws IOException {
    try (InputStream in = Native.class.getResourceAsStream(resource)) {
      if (in == null) return null;
      Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
    }
    to.toFile().deleteOnExit();
    return to;
  }

  // ---- strings ----

  /** NUL-terminated UTF-8, or null for null. Refuses what C cannot represent. */
  static byte[] cstr(String s, String what) {
    if (s == null) return null;
    if (s.indexOf('\0') >= 0) {
      throw new InvalidArgumentException(what + " '" + s.replace("\0", "\\0") + "' contains a NUL character", s);
    }
    byte[] b;
    try {
      java.nio.ByteBuffer bb = StandardCharsets.UTF_8.newEncoder().encode(java.nio.CharBuffer.wrap(s));
      b = new byte[bb.remaining() + 1];
      bb.get(b, 0, b.length - 1);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new InvalidArgumentException(what + " is not valid UTF-16 (cannot be encoded as UTF-8)", s);
    }
    return b;
  }

  static byte[] key(String key) {
    if (key == null) throw new InvalidArgumentException("key is null", null);
    return cstr(key, "key");
  }

  static byte[] value(byte[] v) {
    return v == null ? new byte[0] : v;
  }

  static String str(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  /** Key bytes as given to the glue, back to the String (without the NUL). */
  static String keyString(byte[] key) {
    if (key == null) return null;
    int n = key.length > 0 && key[key.length - 1] == 0 ? key.length - 1 : key.length;
    return new String(key, 0, n, StandardCharsets.UTF_8);
  }

  static int millis(java.time.Duration d) {
    if (d == null) return -1;
    if (d.isNegative()) return -1;
    long ms = d.toMillis();
    if (ms == 0 && !d.isZero()) ms = 1;
    return (int) Math.min(ms, Integer.MAX_VALUE);
  }

  // ---- factories called by the glue ----

  static Throwable error(int code, byte[] key, byte[] message) {
    return OffKvException.of(ErrorCode.of(code), keyString(key), str(message));
  }

  static Throwable txnError(long failedIndex, int failedCode, byte[] message) {
    return new TransactionFailedException(str(message), (int) failedIndex, ErrorCode.of(failedCode));
  }

  static Event event(int type, byte[] key, long version, int state, int error, byte[] message) {
    return new Event(EventType.of(type), str(key), version, SessionState.of(state), ErrorCode.of(error), str(message));
  }

  static Node node(byte[] value, long version) {
    return new Node(value, version);
  }

  static OpResult opResult(byte[] key, long version) {
    return new OpResult(str(key), version);
  }

  static Member member(byte[] key, long sequence, long version, byte[] payload) {
    return new Member(str(key), sequence, version, payload);
  }

  /** A log line, on whatever native thread logs: to the handler, never throwing back. */
  static void log(LogHandler handler, int level, byte[] component, byte[] message) {
    try {
      handler.log(LogLevel.of(level), str(component), str(message));
    } catch (Throwable t) {
      OffKv.callbackFailed(t);
    }
  }

  /** The counters, sorted by name. */
  static java.util.Map<String, Long> statsMap(byte[][] names, long[] values) {
    java.util.TreeMap<String, Long> m = new java.util.TreeMap<>();
    for (int i = 0; i < names.length; i++) m.put(str(names[i]), values[i]);
    return java.util.Collections.unmodifiableMap(m);
  }

  // ---- the C API ----

  static native int version();
  static native byte[] versionString();
  static native byte[] strerror(int code);
  static native byte[] errorName(int code);
  static native byte[] eventTypeName(int type);
  static native byte[] sessionStateName(int state);
  static native byte[] lastError();
  static native boolean hasBackend(byte[] scheme);
  static native byte[] backends();
  static native long liveGlobalRefs();
  static native long attachedThreads();
  static native long attachedTotal();

  static native void open(byte[] url, int sessionMs, int connectMs, int opMs, byte[] ca, byte[] cert,
      byte[] key, byte[] user, byte[] password, byte[] token, int consistency, byte[][] names,
      byte[][] values, Sink sink, long[] out);
  static native void close(long client);
  static native void clientFree(long client, long ctx, boolean deferred);
  static native int sessionState(long client);

  static native byte[] create(long client, byte[] key, byte[] value, int flags);
  static native long set(long client, byte[] key, byte[] value);
  static native long cas(long client, byte[] key, byte[] value, long expected);
  static native Node get(long client, byte[] key);
  static native long exists(long client, byte[] key);
  static native byte[][] children(long client, byte[] key);
  static native void erase(long client, byte[] key, long expected);

  static final int W_GET = 0, W_EXISTS = 1, W_CHILDREN = 2, W_PERSISTENT = 3;
  static native Object watch(int kind, long client, byte[] key, Sink sink, long[] handles);
  static native Event watchWait(long watch, int timeoutMs);
  static native void watchCancel(long watch);
  static native void watchFree(long watch, long ctx);

  static final int A_CREATE = 0, A_SET = 1, A_CAS = 2, A_GET = 3, A_EXISTS = 4, A_CHILDREN = 5,
      A_ERASE = 6, A_COMMIT = 7, A_GET_WATCH = 8, A_EXISTS_WATCH = 9, A_CHILDREN_WATCH = 10;
  /** Starts offkv_*_async; throws what the C call returns at once (no completion then). */
  static native void startAsync(int op, long client, byte[] key, byte[] value, long num, long txn,
      Sink call, Sink watchSink);

  static final int T_CHECK = 0, T_CREATE = 1, T_SET = 2, T_ERASE = 3;
  static native long txnNew();
  static native void txnFree(long txn);
  static native void txnAdd(long txn, int op, byte[] key, byte[] value, long num);
  static native OpResult[] commit(long client, long txn);

  // label null: offkv's member names; else Mesos' layout (offkv_*_labeled).
  static native void electionContend(long client, byte[] group, byte[] label, byte[] payload, Sink sink, long[] handles);
  static native boolean electionIsLeader(long e);
  static native boolean electionWait(long e, boolean leader, int timeoutMs);
  static native Member electionMember(long e);
  static native void electionWithdraw(long e);
  static native void electionFree(long e, long ctx);

  static native void detectorOpen(long client, byte[] group, byte[] label, Sink sink, long[] handles);
  static native Member detectorLeader(long d);
  static native Member detectorWait(long d, byte[] previousKey, int timeoutMs);
  static native void detectorClose(long d);
  static native void detectorFree(long d, long ctx);

  static final int G_JOIN = 0, G_UPDATE = 1, G_LEAVE = 2, G_CLOSE = 3;
  static native void groupOpen(long client, byte[] group, byte[] label, Sink sink, long[] handles);
  static native void groupOp(long g, int op, byte[] payload);
  static native Member groupSelf(long g);
  static native Member[] groupMembers(long g);
  static native void groupFree(long g, long ctx);

  static native long lockNew(long client, byte[] key);
  static native boolean lockAcquire(long l, int timeoutMs, byte[] key);
  static native void lockRelease(long l, byte[] key);
  static native boolean lockIsHeld(long l);
  static native Member lockMember(long l);
  static native void lockFree(long l);

  // Logs, counters, test kit. handler null: logging off.
  static native void setLogHandler(LogHandler handler, int maxLevel);
  static native java.util.Map<String, Long> stats(long client);
  static native void testkitEndWatches(long client, int error);
  // 0 offkv_testkit_suspend, 1 offkv_testkit_resume, 2 offkv_testkit_expire.
  static native void testkitSession(long client, int which);
}
