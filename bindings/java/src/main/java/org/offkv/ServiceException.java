package org.offkv;

/** {@link ErrorCode#ESERVICE}: the backend answered something unexpected. */
public class ServiceException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public ServiceException(String message, String key) {
    super(ErrorCode.ESERVICE, key, message);
  }
}
