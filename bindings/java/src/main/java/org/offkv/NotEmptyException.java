package org.offkv;

/** {@link ErrorCode#ENOTEMPTY}: the node has children. */
public class NotEmptyException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public NotEmptyException(String message, String key) {
    super(ErrorCode.ENOTEMPTY, key, message);
  }
}
