package org.offkv;

/** Levels of offkv's log lines (OFFKV_LOG_*); a lower {@link #code()} is more severe. */
public enum LogLevel {
  ERROR(1), WARN(2), INFO(3), DEBUG(4);

  private final int code;

  LogLevel(int code) {
    this.code = code;
  }

  /** The C value (OFFKV_LOG_ERROR = 1 .. OFFKV_LOG_DEBUG = 4). */
  public int code() {
    return code;
  }

  /** The level of a C value; DEBUG for one this binding does not know. */
  public static LogLevel of(int code) {
    for (LogLevel l : values()) if (l.code == code) return l;
    return DEBUG;
  }

  /** The matching System.Logger level (WARN: WARNING). */
  public System.Logger.Level systemLevel() {
    return switch (this) {
      case ERROR -> System.Logger.Level.ERROR;
      case WARN -> System.Logger.Level.WARNING;
      case INFO -> System.Logger.Level.INFO;
      case DEBUG -> System.Logger.Level.DEBUG;
    };
  }
}
