package org.offkv;

/** {@link ErrorCode#ETIMEOUT}: an operation or wait timed out. */
public class TimedOutException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public TimedOutException(String message, String key) {
    super(ErrorCode.ETIMEOUT, key, message);
  }
}
