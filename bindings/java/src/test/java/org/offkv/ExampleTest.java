package org.offkv;

import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Compiles examples/LeaderWorker.java against the built jar alone and runs it with a
 * plain {@code java -cp jar:dir}: the jar must load its native code by itself.
 */
class ExampleTest {
  @ParameterizedTest
  @MethodSource("org.offkv.TestEnv#backends")
  void leaderWorkerExample(TestEnv.Backend be) throws Exception {
    try (TestEnv env = new TestEnv(be)) {
      Path jar = Path.of(System.getProperty("offkv.jar"));
      Path src = Path.of(System.getProperty("offkv.examples"), "LeaderWorker.java");
      assertTrue(Files.exists(jar), "no jar at " + jar + " (run `mvn verify`)");
      Path out = Files.createTempDirectory("offkv-example");
      JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
      assertEquals(0, javac.run(null, null, null, "-cp", jar.toString(), "-d", out.toString(), src.toString()));
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process p = new ProcessBuilder(java, "-cp", jar + File.pathSeparator + out, "LeaderWorker", env.url, "3")
          .redirectErrorStream(true).start();
      boolean exited = p.waitFor(120, TimeUnit.SECONDS);
      String output = new String(p.getInputStream().readAllBytes());
      if (!exited) p.destroyForcibly();
      assertTrue(exited, "example did not finish:\n" + output);
      assertEquals(0, p.exitValue(), output);
      List<String> lines = output.lines().toList();
      assertTrue(lines.get(0).contains("(jar (extracted to"), output);
      for (int i = 0; i < 3; i++) {
        String w = "worker-" + i;
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(w + ": leading as ")), output);
      }
      assertTrue(lines.stream().anyMatch(l -> l.equals("done: 3 leaders, epoch version 9")), output);
    }
  }
}
