package org.offkv;

/** {@link ErrorCode#ETLS}: TLS set-up or handshake failure. */
public class TlsException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public TlsException(String message, String key) {
    super(ErrorCode.ETLS, key, message);
  }
}
