package org.offkv;

/** The C error codes of capi/offkv.h, in order ({@code ordinal() == code}). */
public enum ErrorCode {
  OK, EINVAL, ENOENT, EEXIST, EVERSION, EEPHEMERAL, ENOTEMPTY, ETOOBIG, ETXN, ECONNLOSS,
  ESESSION, ETIMEOUT, EAUTH, ETLS, ECLOSED, EUNSUPPORTED, ESERVICE, ENOMEM, EINTERNAL,
  /** A code this binding does not know (a newer library). */
  UNKNOWN;

  private static final ErrorCode[] ALL = values();

  /** The C value. */
  public int code() {
    return this == UNKNOWN ? -1 : ordinal();
  }

  public static ErrorCode of(int code) {
    return code >= 0 && code < ALL.length - 1 ? ALL[code] : UNKNOWN;
  }

  /** offkv_strerror: static text for the code. */
  public String description() {
    return OffKv.strerror(code());
  }
}
