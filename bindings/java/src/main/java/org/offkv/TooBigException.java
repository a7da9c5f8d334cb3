package org.offkv;

/** {@link ErrorCode#ETOOBIG}: a value, key or transaction above the limit. */
public class TooBigException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public TooBigException(String message, String key) {
    super(ErrorCode.ETOOBIG, key, message);
  }
}
