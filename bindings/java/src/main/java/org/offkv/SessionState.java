package org.offkv;

/** offkv_session_state; NONE (0) where an event carries no state. */
public enum SessionState {
  NONE, CONNECTED, SUSPENDED, LOST, CLOSED;

  private static final SessionState[] ALL = values();

  static {
    // The names are the C API's own (offkv_session_state_name): a library that names a constant
    // otherwise is refused when the class loads, not printed differently.
    for (int i = 1; i < ALL.length; i++) {
      String name = Native.str(Native.sessionStateName(i));
      if (!name.equals(ALL[i].name()))
        throw new IllegalStateException(
            "offkv: " + ALL[i].name() + " is named " + name + " by the loaded library");
    }
  }

  public int code() {
    return ordinal();
  }

  static SessionState of(int s) {
    return s > 0 && s < ALL.length ? ALL[s] : NONE;
  }
}
