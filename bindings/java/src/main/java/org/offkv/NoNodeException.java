package org.offkv;

/** {@link ErrorCode#ENOENT}: no such node (or a missing parent). */
public class NoNodeException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public NoNodeException(String message, String key) {
    super(ErrorCode.ENOENT, key, message);
  }
}
