package org.offkv;

/** {@link ErrorCode#EINTERNAL}: a bug in offkv. */
public class InternalException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public InternalException(String message, String key) {
    super(ErrorCode.EINTERNAL, key, message);
  }
}
