package org.offkv;

/**
 * Receives offkv's log lines ({@link OffKv#setLogHandler}). {@code component} is the
 * scheme ("zk", "etcd", "consul", "mem") for offkv's own lines (every session
 * transition, e.g. "session CONNECTED"), "zookeeper" for the ZooKeeper C client's and
 * "grpc" for gRPC's.
 *
 * <p>Called on whatever thread logs, the library's own native threads included (attached
 * to the JVM as daemons), possibly from several at once: it must be quick, thread-safe,
 * and must not call offkv. What it throws goes to {@link OffKv#setCallbackErrorHandler}.
 */
@FunctionalInterface
public interface LogHandler {
  void log(LogLevel level, String component, String message);

  /**
   * A handler writing to System.Logger {@code name + "." + component} (e.g.
   * "org.offkv.zk") at the matching level.
   */
  static LogHandler systemLogger(String name) {
    return (level, component, message) ->
        System.getLogger(name + "." + component).log(level.systemLevel(), message);
  }
}
