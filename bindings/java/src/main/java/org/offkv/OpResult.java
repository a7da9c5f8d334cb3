package org.offkv;

/** One op's result in a committed transaction: the key acted on and its version after. */
public record OpResult(String key, long version) {}
