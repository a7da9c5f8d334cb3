package org.offkv;

import java.lang.ref.Cleaner;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * A client (offkv_client): one session with the store. Thread-safe. {@link #close()}
 * ends the session at once (ephemerals vanish, watches get ENDED) and may be called
 * from any thread, a listener of this client included. A client that becomes
 * unreachable without close() is closed and freed by a Cleaner.
 */
public final class Client implements AutoCloseable {
  private static final AtomicLong IDS = new AtomicLong();

  final NativeHandle h;
  private final Cleaner.Cleanable cleanable;
  private final String url;
  /** Watches with a listener that has not had its last event: kept alive for it. */
  final Map<Long, Watch<?>> live = new ConcurrentHashMap<>();
  /** The counters as close() left them (the native client is freed on close). */
  private final AtomicReference<Map<String, Long>> lastStats = new AtomicReference<>();

  Client(String url, Options o) {
    this.url = url;
    if (url == null) throw new InvalidArgumentException("url is null", null);
    // A static class: the sink is reachable from a JNI global reference and must not
    // keep this Client reachable.
    Sink sink = o.sessionListener == null ? null : new SessionSink(o.sessionListener);
    long[] out = new long[2];
    byte[][] names = new byte[o.byName.size()][];
    byte[][] values = new byte[o.byName.size()][];
    int i = 0;
    for (Map.Entry<String, String> e : o.byName.entrySet()) {
      names[i] = Native.cstr(e.getKey(), "option name");
      values[i++] = Native.cstr(e.getValue(), e.getKey());
    }
    Native.open(Native.cstr(url, "url"), Options.ms(o.sessionTimeout), Options.ms(o.connectTimeout),
        Options.ms(o.operationTimeout), Native.cstr(o.tlsCaFile, "tls_ca_file"),
        Native.cstr(o.tlsCertFile, "tls_cert_file"), Native.cstr(o.tlsKeyFile, "tls_key_file"),
        Native.cstr(o.username, "username"), Native.cstr(o.password, "password"),
        Native.cstr(o.token, "token"), o.readConsistency == ReadConsistency.SERIALIZABLE ? 1 : 0,
        names, values, sink, out);
    boolean[] closedInCallback = new boolean[1];
    AtomicReference<Map<String, Long>> last = lastStats; // not `this`: see the Cleaner
    h = new NativeHandle("client", out[0], out[1], (p, ctx) -> {
      closedInCallback[0] = Sink.inCallback();
      try {
        Native.close(p);
      } finally {
        try {
          last.set(Native.stats(p));
        } catch (RuntimeException e) {
          // no counters to keep
        }
      }
    }, (p, ctx) -> {
      // offkv_client_free must not run on the client's own event thread; and after a
      // close made in a callback, the last session events may still be on their way.
      boolean deferred = closedInCallback[0];
      if (Sink.inCallback()) OffKv.REAPER.execute(() -> Native.clientFree(p, ctx, deferred));
      else Native.clientFree(p, ctx, deferred);
    });
    cleanable = OffKv.CLEANER.register(this, h);
  }

  <T> T call(LongFunction<T> f) {
    return h.call(this, f);
  }

  /** The URL this client was opened with. */
  public String url() {
    return url;
  }

  /** offkv_get_session_state. CLOSED once closed. */
  public SessionState sessionState() {
    if (h.isClosed()) return SessionState.CLOSED;
    try {
      return call(p -> SessionState.of(Native.sessionState(p)));
    } catch (ClosedException e) {
      return SessionState.CLOSED;
    }
  }

  public boolean isClosed() {
    return h.isClosed();
  }

  /**
   * The client's counters since open (offkv_get_stats), sorted by name: "ops.get",
   * "errors.ENOENT", "retries", "reconnects", "session.CONNECTED", "watches.armed",
   * "watches.fired", ... (docs/c-api.md, "Logs and counters"; more may be added). A
   * snapshot. After {@link #close()} (which frees the native client) the counters as
   * close left them.
   */
  public Map<String, Long> stats() {
    try {
      return call(Native::stats);
    } catch (ClosedException e) {
      Map<String, Long> m = lastStats.get();
      if (m != null) return m;
      throw e;
    }
  }

  /**
   * Test kit (offkv_testkit_end_watches): every watch of this client gets an ENDED event
   * carrying {@code error} (e.g. {@link ErrorCode#EAUTH}) while the session stays as it
   * is, as a store that cancels watches does; for an application's tests of re-arming
   * its watches. The recipes re-run their step. InvalidArgumentException for OK or
   * UNKNOWN.
   */
  public void testkitEndWatches(ErrorCode error) {
    if (error == null) throw new InvalidArgumentException("error is null", null);
    int code = error.code();
    call(p -> {
      Native.testkitEndWatches(p, code);
      return null;
    });
  }

  /**
   * Test kit (offkv_testkit_suspend): cuts this client's connection, as a network failure
   * would; returns once the session is SUSPENDED. Then operations wait up to the
   * operation timeout and throw {@link ConnectionLossException} (nothing sent), watches
   * stay armed, an elected leader gets NOT_LEADER ({@link ErrorCode#ECONNLOSS}), and once
   * the session timeout has passed the session is LOST (ephemerals gone, watches ENDED).
   * On mem:// and, through a client-side hook, on every server backend.
   * {@link ClosedException} once closed; {@link TimedOutException} if SUSPENDED was not
   * reported in time (the cut stays).
   */
  public void testkitSuspend() {
    testkitSession(0);
  }

  /**
   * Test kit (offkv_testkit_resume): gives the connection back; returns once CONNECTED:
   * the same session (missed watch events are delivered), or a new one after LOST if
   * the session expired meanwhile. Nothing to do if the client was not cut.
   */
  public void testkitResume() {
    testkitSession(1);
  }

  /**
   * Test kit (offkv_testkit_expire), as Curator's KillSession: expires this client's
   * session at the store; when it returns its ephemeral nodes are gone for every client.
   * A connected client then goes LOST (watches ENDED with {@link ErrorCode#ESESSION}, a
   * leader NOT_LEADER) and CONNECTED in a new session before this returns; a suspended
   * one hears LOST when resumed.
   */
  public void testkitExpire() {
    testkitSession(2);
  }

  private void testkitSession(int which) {
    call(p -> {
      Native.testkitSession(p, which);
      return null;
    });
  }

  /** offkv_close then offkv_client_free. Twice is fine. */
  @Override
  public void close() {
    cleanable.clean();
  }

  // ---- nodes ----

  /** Creates key; returns the actual key (with its suffix for SEQUENTIAL). */
  public String create(String key, byte[] value, CreateFlag... flags) {
    byte[] k = Native.key(key);
    byte[] v = Native.value(value);
    int bits = CreateFlag.bits(flags);
    return Native.str(call(p -> Native.create(p, k, v, bits)));
  }

  /** Creates or replaces; returns the new version. */
  public long set(String key, byte[] value) {
    byte[] k = Native.key(key);
    byte[] v = Native.value(value);
    return call(p -> Native.set(p, k, v));
  }

  /** Compare-and-set: expected 0 creates only if absent, > 0 replaces only at that version. */
  public long cas(String key, byte[] value, long expectedVersion) {
    byte[] k = Native.key(key);
    byte[] v = Native.value(value);
    return call(p -> Native.cas(p, k, v, expectedVersion));
  }

  /** The value and version; NoNodeException if absent. */
  public Node get(String key) {
    byte[] k = Native.key(key);
    return call(p -> Native.get(p, k));
  }

  /** The node's version, or 0 if it does not exist. */
  public long exists(String key) {
    byte[] k = Native.key(key);
    return call(p -> Native.exists(p, k));
  }

  /** Direct children as full keys, sorted bytewise; "/" lists the root. */
  public List<String> children(String key) {
    byte[] k = Native.key(key);
    return strings(call(p -> Native.children(p, k)));
  }

  /** Removes key and its whole subtree, whatever its version. */
  public void erase(String key) {
    erase(key, 0);
  }

  /** Removes key and its subtree if it is at expectedVersion (0 = any). */
  public void erase(String key, long expectedVersion) {
    byte[] k = Native.key(key);
    call(p -> {
      Native.erase(p, k, expectedVersion);
      return null;
    });
  }

  static List<String> strings(byte[][] items) {
    return Arrays.stream(items).map(Native::str).toList();
  }

  // ---- watches ----

  /** get with a one-shot watch (CHANGED / DELETED / ENDED); listener may be null. */
  public Watch<Node> getWatch(String key, Consumer<Event> listener) {
    return watch(Native.W_GET, key, listener, r -> (Node) r);
  }

  /** exists with a one-shot watch (CREATED if absent, CHANGED / DELETED if present, ENDED). */
  public Watch<Long> existsWatch(String key, Consumer<Event> listener) {
    return watch(Native.W_EXISTS, key, listener, r -> (Long) r);
  }

  /** children with a one-shot watch (CHILDREN / DELETED / ENDED). */
  public Watch<List<String>> childrenWatch(String key, Consumer<Event> listener) {
    return watch(Native.W_CHILDREN, key, listener, r -> strings((byte[][]) r));
  }

  /**
   * A persistent, recursive watch on key and everything below it: CREATED / CHANGED /
   * DELETED per change, ENDED when the session ends. With a listener, events go to it
   * only; without, they queue for {@link Watch#await}.
   */
  public Watch<Void> watchPersistent(String key, Consumer<Event> listener) {
    return watch(Native.W_PERSISTENT, key, listener, r -> null);
  }

  private <T> Watch<T> watch(int kind, String key, Consumer<Event> listener,
      java.util.function.Function<Object, T> convert) {
    byte[] k = Native.key(key);
    long id = IDS.incrementAndGet();
    boolean persistent = kind == Native.W_PERSISTENT;
    Sink sink = listener == null ? null : new WatchSink(listener, new WeakReference<>(live), id, persistent);
    long[] handles = new long[2];
    Object r = call(p -> Native.watch(kind, p, k, sink, handles));
    Watch<T> w = new Watch<>(this, key, convert.apply(r), handles[0], handles[1], persistent);
    if (sink != null) {
      w.liveId = id;
      live.put(id, w);
      // It may have had its last event already, before it was registered.
      if (((WatchSink) sink).done) live.remove(id);
    }
    return w;
  }

  private static final class SessionSink extends Sink {
    final Consumer<Event> listener;

    SessionSink(Consumer<Event> listener) {
      this.listener = listener;
    }

    @Override
    void event(Event e) {
      listener.accept(e);
    }
  }

  static final class WatchSink extends Sink {
    final Consumer<Event> listener;
    final WeakReference<Map<Long, Watch<?>>> live;
    final long id;
    final boolean persistent;
    volatile boolean done;

    WatchSink(Consumer<Event> listener, WeakReference<Map<Long, Watch<?>>> live, long id, boolean persistent) {
      this.listener = listener;
      this.live = live;
      this.id = id;
      this.persistent = persistent;
    }

    @Override
    void event(Event e) {
      try {
        listener.accept(e);
      } finally {
        if (!persistent || e.type() == EventType.ENDED) {
          done = true;
          Map<Long, Watch<?>> m = live.get();
          if (m != null) m.remove(id);
        }
      }
    }
  }

  // ---- transactions ----

  /** A new transaction builder whose {@link Transaction#commit()} commits on this client. */
  public Transaction transaction() {
    return new Transaction(this);
  }

  /** Applies all checks and ops atomically, or nothing (TransactionFailedException). */
  public List<OpResult> commit(Transaction txn) {
    return txn.commitOn(this);
  }

  // ---- asynchronous calls ----
  //
  // On offkv_<op>_async: each returns at once with a future that the client's event
  // thread completes, with the sync call's result or its exception. An error the C
  // call returns at once (invalid key, value too big, closed client, ...) and an
  // argument refused in Java give an already-failed future: these methods never throw
  // OffKvException. Calls on related keys complete in call order (docs/c-api.md).
  // Cancelling a future only drops the result: the operation still runs to its end.

  /** {@link #create} without waiting; the future gives the actual key. */
  public CompletableFuture<String> createAsync(String key, byte[] value, CreateFlag... flags) {
    return async(Native.A_CREATE, key, value, CreateFlag.bits(flags), null, null);
  }

  /** {@link #set} without waiting; the future gives the new version. */
  public CompletableFuture<Long> setAsync(String key, byte[] value) {
    return async(Native.A_SET, key, value, 0, null, null);
  }

  /** {@link #cas} without waiting; the future gives the new version. */
  public CompletableFuture<Long> casAsync(String key, byte[] value, long expectedVersion) {
    return async(Native.A_CAS, key, value, expectedVersion, null, null);
  }

  /** {@link #get} without waiting. */
  public CompletableFuture<Node> getAsync(String key) {
    return async(Native.A_GET, key, null, 0, null, null);
  }

  /** {@link #exists} without waiting; the future gives the version, 0 if absent. */
  public CompletableFuture<Long> existsAsync(String key) {
    return async(Native.A_EXISTS, key, null, 0, null, null);
  }

  /** {@link #children} without waiting. */
  public CompletableFuture<List<String>> childrenAsync(String key) {
    return async(Native.A_CHILDREN, key, null, 0, null, null);
  }

  /** {@link #erase(String)} without waiting. */
  public CompletableFuture<Void> eraseAsync(String key) {
    return eraseAsync(key, 0);
  }

  /** {@link #erase(String, long)} without waiting. */
  public CompletableFuture<Void> eraseAsync(String key, long expectedVersion) {
    return async(Native.A_ERASE, key, null, expectedVersion, null, null);
  }

  /** {@link #commit} without waiting (TransactionFailedException on a failed check or op). */
  public CompletableFuture<List<OpResult>> commitAsync(Transaction txn) {
    if (txn == null) return CompletableFuture.failedFuture(new InvalidArgumentException("transaction is null", null));
    return txn.commitAsyncOn(this);
  }

  /**
   * {@link #getWatch} without waiting: the future gives the armed watch, whose
   * {@link Watch#value()} is the read's result. If the read fails no watch is left. A
   * watch whose future was cancelled is closed when the call completes (its listener
   * may have run before that).
   */
  public CompletableFuture<Watch<Node>> getWatchAsync(String key, Consumer<Event> listener) {
    return async(Native.A_GET_WATCH, key, null, 0, null, listener);
  }

  /** {@link #existsWatch} without waiting; see {@link #getWatchAsync}. */
  public CompletableFuture<Watch<Long>> existsWatchAsync(String key, Consumer<Event> listener) {
    return async(Native.A_EXISTS_WATCH, key, null, 0, null, listener);
  }

  /** {@link #childrenWatch} without waiting; see {@link #getWatchAsync}. */
  public CompletableFuture<Watch<List<String>>> childrenWatchAsync(String key, Consumer<Event> listener) {
    return async(Native.A_CHILDREN_WATCH, key, null, 0, null, listener);
  }

  /** Starts one call; txn is the transaction's native pointer (commit only). */
  @SuppressWarnings("unchecked")
  <T> CompletableFuture<T> async(int op, String key, byte[] value, long num, Long txn, Consumer<Event> listener) {
    long id = listener == null ? 0 : IDS.incrementAndGet();
    WatchSink sink = listener == null ? null : new WatchSink(listener, new WeakReference<>(live), id, false);
    AsyncCall a = new AsyncCall(this, op, key, sink, id);
    try {
      byte[] k = op == Native.A_COMMIT ? null : Native.key(key);
      byte[] v = value == null && (op == Native.A_CREATE || op == Native.A_SET || op == Native.A_CAS)
          ? new byte[0] : value;
      long t = txn == null ? 0 : txn;
      call(p -> {
        Native.startAsync(op, p, k, v, num, t, a, sink);
        return null;
      });
    } catch (OffKvException e) {
      a.future.completeExceptionally(e);
    }
    return (CompletableFuture<T>) (CompletableFuture<?>) a.future;
  }

  // ---- recipes ----

  /** Joins the election for group with payload; listener (may be null) gets LEADER / NOT_LEADER. */
  public LeaderElection contend(String group, byte[] payload, Consumer<RecipeEvent> listener) {
    return new LeaderElection(this, group, null, payload, listener);
  }

  /**
   * Joins the election in Mesos' layout: the member node is group/label_&lt;seq&gt; and
   * only members with this label contend (offkv_election_contend_labeled; label null: as
   * {@link #contend(String, byte[], Consumer)}). With {@link OffKv#MESOS_MASTER_LABEL} it
   * contends alongside stock Mesos masters. InvalidArgumentException for a bad label.
   */
  public LeaderElection contend(String group, String label, byte[] payload,
      Consumer<RecipeEvent> listener) {
    return new LeaderElection(this, group, label, payload, listener);
  }

  /** Follows group's leader without contending; listener (may be null) gets DETECTED. */
  public LeaderDetector detector(String group, Consumer<RecipeEvent> listener) {
    return new LeaderDetector(this, group, null, listener);
  }

  /**
   * Follows the lowest group/label_&lt;seq&gt; member (offkv_detector_open_labeled; label
   * null: as {@link #detector(String, Consumer)}). With {@link OffKv#MESOS_MASTER_LABEL} it
   * follows a stock Mesos master group.
   */
  public LeaderDetector detector(String group, String label, Consumer<RecipeEvent> listener) {
    return new LeaderDetector(this, group, label, listener);
  }

  /** A handle on a group: join and/or observe; listener (may be null) gets MEMBERS. */
  public Group group(String group, Consumer<RecipeEvent> listener) {
    return new Group(this, group, null, listener);
  }

  /**
   * A handle on a group in Mesos' layout: a join creates group/label_&lt;seq&gt; and only
   * members with this label are listed (offkv_group_open_labeled; label null: as
   * {@link #group(String, Consumer)}).
   */
  public Group group(String group, String label, Consumer<RecipeEvent> listener) {
    return new Group(this, group, label, listener);
  }

  /** A mutex named by key; no I/O until acquired. */
  public Lock lock(String key) {
    return new Lock(this, key);
  }

  static Sink recipeSink(Consumer<RecipeEvent> listener) {
    return listener == null ? null : new Sink() {
      @Override
      void recipe(RecipeEvent e) {
        listener.accept(e);
      }
    };
  }

  @Override
  public String toString() {
    return "Client[" + url + (isClosed() ? ", closed]" : "]");
  }
}
