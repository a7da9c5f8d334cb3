package org.offkv;

/** {@link ErrorCode#ECONNLOSS}: connection lost; the outcome of the call is unknown. */
public class ConnectionLossException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public ConnectionLossException(String message, String key) {
    super(ErrorCode.ECONNLOSS, key, message);
  }
}
