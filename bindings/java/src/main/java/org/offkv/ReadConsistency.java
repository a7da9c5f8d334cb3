package org.offkv;

/** offkv_read_consistency. */
public enum ReadConsistency {
  /** Default: reads see every committed write. */
  LINEARIZABLE,
  /** May read a stale local replica; cheaper. */
  SERIALIZABLE
}
