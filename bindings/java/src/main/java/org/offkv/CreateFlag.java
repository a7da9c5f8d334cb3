package org.offkv;

/** Flags of {@link Client#create}: OFFKV_EPHEMERAL and OFFKV_SEQUENTIAL. */
public enum CreateFlag {
  /** The node lives as long as the client's session. */
  EPHEMERAL(1),
  /** The key gets a 10-digit, zero-padded counter suffix; create returns the actual key. */
  SEQUENTIAL(2);

  final int bit;

  CreateFlag(int bit) {
    this.bit = bit;
  }

  static int bits(CreateFlag... flags) {
    int b = 0;
    if (flags != null) for (CreateFlag f : flags) if (f != null) b |= f.bit;
    return b;
  }
}
