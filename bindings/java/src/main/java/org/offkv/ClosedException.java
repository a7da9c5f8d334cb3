package org.offkv;

/** {@link ErrorCode#ECLOSED}: the client, watch or recipe handle was closed. */
public class ClosedException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public ClosedException(String message, String key) {
    super(ErrorCode.ECLOSED, key, message);
  }
}
