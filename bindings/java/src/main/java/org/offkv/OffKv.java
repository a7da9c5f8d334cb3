package org.offkv;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Entry point: {@link #open(String, Options)} and library-wide facts (offkv_version,
 * offkv_has_backend, offkv_strerror, offkv_error_name, the limits).
 *
 * <pre>{@code
 * try (Client c = OffKv.open("zk://127.0.0.1:2181/app", new Options())) {
 *   c.set("/config", "v1".getBytes());
 * }
 * }</pre>
 */
public final class OffKv {
  private OffKv() {}

  static {
    Native.init();
  }

  /** OFFKV_MAX_VALUE_SIZE: largest value, in bytes, on every backend. */
  public static final int MAX_VALUE_SIZE = 256 * 1024;
  /** OFFKV_MAX_KEY_SIZE: largest full key (prefix + key), in bytes. */
  public static final int MAX_KEY_SIZE = 4096;
  /** OFFKV_MAX_SEGMENT_SIZE: largest key segment, in bytes. */
  public static final int MAX_SEGMENT_SIZE = 255;
  /** OFFKV_MAX_TXN_OPS: most checks + ops in one transaction. */
  public static final int MAX_TXN_OPS = 16;
  public static final int SESSION_TIMEOUT_DEFAULT_MS = 10000;
  public static final int SESSION_TIMEOUT_MIN_MS = 2000;
  public static final int SESSION_TIMEOUT_MAX_MS = 60000;
  /** OFFKV_ANY_VERSION: a transaction check that the node exists, at any version. */
  public static final long ANY_VERSION = -1;
  /** OFFKV_ERROR_COUNT: every code is below it. */
  public static final int ERROR_COUNT = 19;
  /**
   * OFFKV_MESOS_MASTER_LABEL: the member label of a Mesos master's nodes (json.info_&lt;seq&gt;,
   * MasterInfo as JSON); give it to contend/detector/group to follow or join a stock Mesos
   * master group.
   */
  public static final String MESOS_MASTER_LABEL = "json.info";
  /** The header version this binding was written against. */
  public static final String BINDING_VERSION = "0.1.0";

  static final Cleaner CLEANER = Cleaner.create(r -> {
    Thread t = new Thread(r, "offkv-cleaner");
    t.setDaemon(true);
    return t;
  });

  /** Frees clients closed from inside a callback (offkv_client_free may not run there). */
  static final ExecutorService REAPER = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "offkv-reaper");
    t.setDaemon(true);
    return t;
  });

  private static volatile Consumer<Throwable> callbackErrorHandler = OffKv::logCallbackError;

  /** Opens a client with default options. */
  public static Client open(String url) {
    return new Client(url, new Options());
  }

  /**
   * Opens a client (offkv_open). URL: {@code mem://NAME[/prefix]}, {@code zk://host:port,...[/prefix]},
   * {@code etcd[s]://host:port,...[/prefix]}, {@code consul[s]://host:port[/prefix]}, optionally
   * with {@code ?name=value&...} options that override {@code options}.
   */
  public static Client open(String url, Options options) {
    return new Client(url, options == null ? new Options() : options);
  }

  /** offkv_version() of the library loaded: MAJOR * 10000 + MINOR * 100 + PATCH. */
  public static int version() {
    return Native.version();
  }

  /** offkv_version_string() of the library loaded. */
  public static String versionString() {
    return Native.str(Native.versionString());
  }

  /** offkv_has_backend: whether "mem", "zk", "etcd" or "consul" is compiled in. */
  public static boolean hasBackend(String scheme) {
    return scheme != null && scheme.indexOf('\0') < 0 && Native.hasBackend(Native.cstr(scheme, "scheme"));
  }

  /** The backends compiled in. */
  public static List<String> backends() {
    List<String> out = new ArrayList<>();
    for (String s : Native.str(Native.backends()).split(",")) out.add(s);
    return out;
  }

  /** offkv_strerror: static text of a code. */
  public static String strerror(int code) {
    return Native.str(Native.strerror(code));
  }

  /** offkv_error_name: the symbolic name of a code ("OFFKV_ENOENT"). */
  public static String errorName(int code) {
    return Native.str(Native.errorName(code));
  }

  /** Where the native library was loaded from. */
  public static String nativeSource() {
    return Native.LOADED_FROM;
  }

  /**
   * Who is told about exceptions thrown by listeners (they never reach the native
   * event thread). Default: logged through System.Logger "org.offkv". Returns the previous.
   */
  public static Consumer<Throwable> setCallbackErrorHandler(Consumer<Throwable> handler) {
    Consumer<Throwable> prev = callbackErrorHandler;
    callbackErrorHandler = handler == null ? OffKv::logCallbackError : handler;
    return prev;
  }

  static void callbackFailed(Throwable t) {
    try {
      callbackErrorHandler.accept(t);
    } catch (Throwable again) {
      logCallbackError(again);
    }
  }

  private static void logCallbackError(Throwable t) {
    System.getLogger("org.offkv").log(System.Logger.Level.ERROR, "offkv listener threw", t);
  }

  private static final Object LOG_LOCK = new Object();

  /**
   * Passes offkv's log lines of {@code maxLevel} and more severe to {@code handler}
   * (offkv_set_log_callback); null turns logging off, which is the default (offkv prints
   * nothing by itself). Process-wide: one handler for every client. The handler runs on
   * whatever thread logs, native library threads included (attached to the JVM as
   * daemons); see {@link LogHandler}. When this returns, the previous handler is no
   * longer running and is never called again.
   *
   * <pre>{@code
   * OffKv.setLogHandler(LogHandler.systemLogger("org.offkv"), LogLevel.INFO);
   * }</pre>
   */
  public static void setLogHandler(LogHandler handler, LogLevel maxLevel) {
    if (maxLevel == null) throw new InvalidArgumentException("maxLevel is null", null);
    synchronized (LOG_LOCK) {
      // Waits (in C) for running calls of the previous handler, which never take LOG_LOCK.
      Native.setLogHandler(handler, maxLevel.code());
    }
  }

  /** {@link #setLogHandler(LogHandler, LogLevel)} at INFO. */
  public static void setLogHandler(LogHandler handler) {
    setLogHandler(handler, LogLevel.INFO);
  }

  // For the tests: global references held by the glue, and event threads attached.
  static long liveGlobalRefs() {
    return Native.liveGlobalRefs();
  }

  static long attachedThreads() {
    return Native.attachedThreads();
  }
}
