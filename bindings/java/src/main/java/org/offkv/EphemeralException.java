package org.offkv;

/** {@link ErrorCode#EEPHEMERAL}: ephemeral nodes cannot have children. */
public class EphemeralException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public EphemeralException(String message, String key) {
    super(ErrorCode.EEPHEMERAL, key, message);
  }
}
