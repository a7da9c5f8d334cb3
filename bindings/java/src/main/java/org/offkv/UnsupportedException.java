package org.offkv;

/** {@link ErrorCode#EUNSUPPORTED}: not supported (e.g. a backend compiled out). */
public class UnsupportedException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public UnsupportedException(String message, String key) {
    super(ErrorCode.EUNSUPPORTED, key, message);
  }
}
