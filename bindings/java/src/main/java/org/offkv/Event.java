package org.offkv;

/**
 * A watch or session event (offkv_event). {@code key} is null for session events;
 * {@code version} is the node's version after the change, 0 if it is gone, -1 if not
 * known; {@code error} says why an ENDED watch ended.
 */
public record Event(EventType type, String key, long version, SessionState sessionState,
    ErrorCode error, String message) {
  /** True for the ENDED event (session lost or client closed). */
  public boolean ended() {
    return type == EventType.ENDED;
  }
}
