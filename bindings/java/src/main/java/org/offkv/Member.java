package org.offkv;

import java.util.Arrays;

/**
 * A recipe member node (offkv_member): its key, sequence (lower = earlier; with the
 * key, a fencing token), version when read (-1 unknown) and payload.
 */
public record Member(String key, long sequence, long version, byte[] payload) {
  @Override
  public boolean equals(Object o) {
    return o instanceof Member m && m.key.equals(key) && m.sequence == sequence
        && m.version == version && Arrays.equals(m.payload, payload);
  }

  @Override
  public int hashCode() {
    return key.hashCode() * 31 + Long.hashCode(sequence);
  }

  @Override
  public String toString() {
    return "Member[key=" + key + ", sequence=" + sequence + ", version=" + version + ", payload="
        + payload.length + " bytes]";
  }
}
