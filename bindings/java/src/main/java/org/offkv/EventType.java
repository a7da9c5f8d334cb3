package org.offkv;

/** offkv_event_type. */
public enum EventType {
  NONE, CREATED, DELETED, CHANGED, CHILDREN, ENDED, SESSION, LEADER, NOT_LEADER, DETECTED, MEMBERS;

  private static final EventType[] ALL = values();

  static {
    // The names are the C API's own (offkv_event_type_name): a library that names a constant
    // otherwise is refused when the class loads, not printed differently.
    for (int i = 1; i < ALL.length; i++) {
      String name = Native.str(Native.eventTypeName(i));
      if (!name.equals(ALL[i].name()))
        throw new IllegalStateException(
            "offkv: " + ALL[i].name() + " is named " + name + " by the loaded library");
    }
  }

  public int code() {
    return ordinal();
  }

  static EventType of(int t) {
    return t > 0 && t < ALL.length ? ALL[t] : NONE;
  }
}
