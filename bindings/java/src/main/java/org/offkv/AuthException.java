package org.offkv;

/** {@link ErrorCode#EAUTH}: authentication or permission failure. */
public class AuthException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public AuthException(String message, String key) {
    super(ErrorCode.EAUTH, key, message);
  }
}
