package org.offkv;

/** offkv_session_state; NONE (0) where an event carries no state. */
public enum SessionState {
  NONE, CONNECTED, SUSPENDED, LOST, CLOSED;

  private static final SessionState[] ALL = values();

  public int code() {
    return ordinal();
  }

  static SessionState of(int s) {
    return s > 0 && s < ALL.length ? ALL[s] : NONE;
  }
}
