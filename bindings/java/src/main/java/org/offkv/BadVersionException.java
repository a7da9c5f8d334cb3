package org.offkv;

/** {@link ErrorCode#EVERSION}: the version does not match. */
public class BadVersionException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public BadVersionException(String message, String key) {
    super(ErrorCode.EVERSION, key, message);
  }
}
