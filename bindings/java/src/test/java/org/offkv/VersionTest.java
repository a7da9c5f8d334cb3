package org.offkv;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** capi/offkv.h's OFFKV_VERSION_STRING is the one source of the version: pom.xml and
 * BINDING_VERSION need literals, so this fails when they differ from it. */
class VersionTest {
  private static String find(Path file, String regex) throws Exception {
    assertTrue(Files.isRegularFile(file), file + " not found (run from bindings/java)");
    Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(Files.readString(file));
    assertTrue(m.find(), regex + " not in " + file);
    return m.group(1);
  }

  private static String headerVersion() throws Exception {
    return find(Paths.get("../../capi/offkv.h").toAbsolutePath().normalize(),
        "#define OFFKV_VERSION_STRING \"([^\"]+)\"");
  }

  @Test
  void pomVersionIsTheHeaders() throws Exception {
    // The project's own <version>, right after its artifactId (comments between).
    String pom = find(Paths.get("pom.xml").toAbsolutePath(),
        "<artifactId>offkv</artifactId>\\s*(?:<!--(?s:.*?)-->\\s*)*<version>([^<]+)</version>");
    assertEquals(headerVersion(), pom, "pom.xml's version differs from OFFKV_VERSION_STRING");
  }

  @Test
  void bindingVersionIsTheHeaders() throws Exception {
    assertEquals(headerVersion(), OffKv.BINDING_VERSION);
    assertEquals(headerVersion(), OffKv.versionString());
  }
}
