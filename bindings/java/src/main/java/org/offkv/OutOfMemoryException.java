package org.offkv;

/** {@link ErrorCode#ENOMEM}: out of memory (in the native library). */
public class OutOfMemoryException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public OutOfMemoryException(String message, String key) {
    super(ErrorCode.ENOMEM, key, message);
  }
}
