package org.offkv;

/** {@link ErrorCode#ESESSION}: the session expired. */
public class SessionExpiredException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public SessionExpiredException(String message, String key) {
    super(ErrorCode.ESESSION, key, message);
  }
}
