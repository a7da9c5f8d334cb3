package org.offkv;

import java.util.Arrays;

/** A node's value and version (1 when created, +1 per set/cas). */
public record Node(byte[] value, long version) {
  @Override
  public boolean equals(Object o) {
    return o instanceof Node n && n.version == version && Arrays.equals(n.value, value);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(value) + Long.hashCode(version);
  }

  @Override
  public String toString() {
    return "Node[value=" + value.length + " bytes, version=" + version + "]";
  }
}
