package org.offkv;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * One asynchronous call in flight: the glue holds it through one JNI global reference
 * from the C call until its completion (released exactly once, right after
 * {@link #onComplete}). It holds its Client, so a client whose only references are
 * futures in flight is not closed by its Cleaner before they complete.
 *
 * <p>The completion runs on the client's event thread and completes {@link #future},
 * which runs dependent stages (thenApply, thenCompose, ...) there too. If the future
 * was already completed (cancelled, or completed by the user), the result is dropped;
 * a watch the call armed is then closed at once.
 */
final class AsyncCall extends Sink {
  final CompletableFuture<Object> future = new CompletableFuture<>();
  private final Client client;
  private final int op;
  private final String key; // null for commit
  final Client.WatchSink watchSink; // watch-arming reads with a listener, else null
  final long liveId;

  AsyncCall(Client client, int op, String key, Client.WatchSink watchSink, long liveId) {
    this.client = client;
    this.op = op;
    this.key = key;
    this.watchSink = watchSink;
    this.liveId = liveId;
  }

  private boolean isWatch() {
    return op == Native.A_GET_WATCH || op == Native.A_EXISTS_WATCH || op == Native.A_CHILDREN_WATCH;
  }

  @Override
  boolean onComplete(int error, byte[] message, long version, Object result, long failedIndex,
      int failedCode, long watch, long watchCtx) {
    boolean took = false;
    enter();
    try {
      if (error != 0) {
        String msg = Native.str(message);
        ErrorCode code = ErrorCode.of(error);
        future.completeExceptionally(code == ErrorCode.ETXN
            ? new TransactionFailedException(msg, (int) failedIndex, ErrorCode.of(failedCode))
            : OffKvException.of(code, key, msg));
        return false;
      }
      Object value = switch (op) {
        case Native.A_CREATE -> Native.str((byte[]) result);
        case Native.A_SET, Native.A_CAS, Native.A_EXISTS, Native.A_EXISTS_WATCH -> version;
        case Native.A_GET, Native.A_GET_WATCH -> (Node) result;
        case Native.A_CHILDREN, Native.A_CHILDREN_WATCH -> Client.strings((byte[][]) result);
        case Native.A_COMMIT -> Arrays.asList((OpResult[]) result);
        default -> null; // erase
      };
      if (!isWatch()) {
        future.complete(value);
        return false;
      }
      Watch<Object> w = new Watch<>(client, key, value, watch, watchCtx, false);
      took = true;
      if (watchSink != null) {
        w.liveId = liveId;
        client.live.put(liveId, w);
        // It may have had its event already, before this completion ran.
        if (watchSink.done) client.live.remove(liveId);
      }
      if (!future.complete(w)) w.close(); // cancelled: nobody can reach this watch
      return true;
    } catch (Throwable t) {
      // Only a failure of this glue itself (e.g. OutOfMemoryError) gets here.
      future.completeExceptionally(t);
      OffKv.callbackFailed(t);
      return took;
    } finally {
      leave();
    }
  }
}
