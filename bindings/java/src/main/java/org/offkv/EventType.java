package org.offkv;

/** offkv_event_type. */
public enum EventType {
  NONE, CREATED, DELETED, CHANGED, CHILDREN, ENDED, SESSION, LEADER, NOT_LEADER, DETECTED, MEMBERS;

  private static final EventType[] ALL = values();

  public int code() {
    return ordinal();
  }

  static EventType of(int t) {
    return t > 0 && t < ALL.length ? ALL[t] : NONE;
  }
}
