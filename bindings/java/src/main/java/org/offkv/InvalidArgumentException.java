package org.offkv;

/** {@link ErrorCode#EINVAL}: a bad argument, key or URL. */
public class InvalidArgumentException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public InvalidArgumentException(String message, String key) {
    super(ErrorCode.EINVAL, key, message);
  }
}
