package org.offkv;

/**
 * {@link ErrorCode#ETXN}: a check or op failed, nothing was applied. {@link #failedIndex()}
 * is the first failing item counting checks first, then ops; {@link #failedCode()} says
 * why (EVERSION, ENOENT, EEXIST, ...).
 */
public class TransactionFailedException extends OffKvException {
  private static final long serialVersionUID = 1L;
  private final int failedIndex;
  private final ErrorCode failedCode;

  public TransactionFailedException(String message, int failedIndex, ErrorCode failedCode) {
    super(ErrorCode.ETXN, null, message);
    this.failedIndex = failedIndex;
    this.failedCode = failedCode;
  }

  public int failedIndex() {
    return failedIndex;
  }

  public ErrorCode failedCode() {
    return failedCode;
  }
}
