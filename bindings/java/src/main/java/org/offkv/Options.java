package org.offkv;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * offkv_options: null / unset means the library's default. URL query parameters
 * override these. Setters return this.
 */
public final class Options {
  Duration sessionTimeout, connectTimeout, operationTimeout;
  String tlsCaFile, tlsCertFile, tlsKeyFile, username, password, token;
  ReadConsistency readConsistency = ReadConsistency.LINEARIZABLE;
  Consumer<Event> sessionListener;
  final Map<String, String> byName = new LinkedHashMap<>();

  public Options sessionTimeout(Duration d) { sessionTimeout = d; return this; }
  public Options connectTimeout(Duration d) { connectTimeout = d; return this; }
  public Options operationTimeout(Duration d) { operationTimeout = d; return this; }
  public Options tlsCaFile(String path) { tlsCaFile = path; return this; }
  public Options tlsCertFile(String path) { tlsCertFile = path; return this; }
  public Options tlsKeyFile(String path) { tlsKeyFile = path; return this; }
  public Options username(String u) { username = u; return this; }
  public Options password(String p) { password = p; return this; }
  public Options token(String t) { token = t; return this; }
  public Options readConsistency(ReadConsistency r) { readConsistency = r; return this; }

  /**
   * Any option by its URL query name, with the URL's value syntax (offkv_options_set):
   * every option the library knows, also those without a setter here, e.g.
   * {@code option("zk_acl", "open")}. Checked when the client opens: an unknown name or
   * a bad value is an {@link InvalidArgumentException} naming the option. Options set
   * by name win over the setters above; the URL's query wins over both.
   */
  public Options option(String name, String value) {
    if (name == null || value == null) throw new InvalidArgumentException("option name or value is null", null);
    byName.put(name, value);
    return this;
  }

  /**
   * Told every session state transition (SESSION events, starting with the first
   * CONNECTED, ending with CLOSED) on the client's event thread.
   */
  public Options sessionListener(Consumer<Event> l) { sessionListener = l; return this; }

  /** Milliseconds for the C struct: 0 = default; negative durations stay negative (EINVAL). */
  static int ms(Duration d) {
    if (d == null) return 0;
    if (d.isNegative()) return -1;
    return (int) Math.min(d.toMillis(), Integer.MAX_VALUE);
  }
}
