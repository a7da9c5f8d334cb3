package org.offkv;

/**
 * The root of offkv's unchecked exceptions: one subclass per C error code, each
 * carrying the {@link #code() code}, the {@link #key() key} of the call (null when the
 * call had none) and the library's detail message (offkv_last_error(), read on the
 * calling thread right after the failed call).
 */
public class OffKvException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;
  private final String key;
  private final String detail;

  public OffKvException(ErrorCode code, String key, String message) {
    super(OffKv.errorName(code.code()) + (message == null || message.isEmpty() ? ": " + OffKv.strerror(code.code()) : ": " + message));
    this.code = code;
    this.key = key;
    this.detail = message == null ? "" : message;
  }

  /** The error code. */
  public ErrorCode code() {
    return code;
  }

  /** The key the failed call was about, or null. */
  public String key() {
    return key;
  }

  /** The library's detail message alone (may be ""). */
  public String detail() {
    return detail;
  }

  /** The exception of a code: its own subclass (OffKvException itself for unknown codes). */
  public static OffKvException of(ErrorCode code, String key, String message) {
    return switch (code) {
      case EINVAL -> new InvalidArgumentException(message, key);
      case ENOENT -> new NoNodeException(message, key);
      case EEXIST -> new NodeExistsException(message, key);
      case EVERSION -> new BadVersionException(message, key);
      case EEPHEMERAL -> new EphemeralException(message, key);
      case ENOTEMPTY -> new NotEmptyException(message, key);
      case ETOOBIG -> new TooBigException(message, key);
      case ECONNLOSS -> new ConnectionLossException(message, key);
      case ESESSION -> new SessionExpiredException(message, key);
      case ETIMEOUT -> new TimedOutException(message, key);
      case EAUTH -> new AuthException(message, key);
      case ETLS -> new TlsException(message, key);
      case ECLOSED -> new ClosedException(message, key);
      case EUNSUPPORTED -> new UnsupportedException(message, key);
      case ESERVICE -> new ServiceException(message, key);
      case ENOMEM -> new OutOfMemoryException(message, key);
      case EINTERNAL -> new InternalException(message, key);
      case ETXN -> new TransactionFailedException(message, -1, ErrorCode.UNKNOWN);
      default -> new OffKvException(code, key, message);
    };
  }
}
