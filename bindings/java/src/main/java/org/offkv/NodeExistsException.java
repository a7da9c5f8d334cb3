package org.offkv;

/** {@link ErrorCode#EEXIST}: the node already exists. */
public class NodeExistsException extends OffKvException {
  private static final long serialVersionUID = 1L;

  public NodeExistsException(String message, String key) {
    super(ErrorCode.EEXIST, key, message);
  }
}
