import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.offkv.BadVersionException;
import org.offkv.Client;
import org.offkv.EventType;
import org.offkv.LeaderDetector;
import org.offkv.LeaderElection;
import org.offkv.Member;
import org.offkv.OffKv;
import org.offkv.Options;

/**
 * A leader-elected worker, the way a Mesos framework scheduler or a Kafka controller
 * uses ZooKeeper: every worker contends; only the leader does the work (here: bumping a
 * shared epoch with compare-and-set, so a stale leader could never overwrite a newer
 * one); when the leader's session ends another one takes over.
 *
 *   java -cp offkv-0.1.0.jar:. LeaderWorker URL [WORKERS]
 *
 * For the demonstration all workers run in this process, each with its own client
 * (its own session); each leader does three rounds of work, then "crashes" (closes
 * its client) so that the next one takes over. Exits 0 once every worker has led.
 */
public class LeaderWorker {
  static final String GROUP = "/leader-worker/election";
  static final String EPOCH = "/leader-worker-epoch";

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: LeaderWorker URL [WORKERS]");
      System.exit(2);
    }
    String url = args[0];
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    System.out.println("offkv " + OffKv.versionString() + " (" + OffKv.nativeSource() + ")");

    try (Client observer = OffKv.open(url);
        LeaderDetector detector = observer.detector(GROUP, ev -> {
          if (ev.member() != null) {
            System.out.println("detector: leader is " + utf8(ev.member().payload()));
          }
        })) {
      CountDownLatch allLed = new CountDownLatch(n);
      List<Client> clients = new ArrayList<>();
      List<LeaderElection> elections = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String name = "worker-" + i;
        Client c = OffKv.open(url, new Options().sessionTimeout(Duration.ofSeconds(5)));
        clients.add(c);
        elections.add(c.contend(GROUP, name.getBytes(StandardCharsets.UTF_8), ev -> {
          if (ev.type() == EventType.LEADER) System.out.println(name + ": leading as " + ev.member().key());
          if (ev.type() == EventType.NOT_LEADER) System.out.println(name + ": not leading (" + ev.error() + ")");
        }));
      }
      // Each worker's loop: wait to lead, work while leading, then crash.
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Client c = clients.get(i);
        LeaderElection e = elections.get(i);
        String name = "worker-" + i;
        Thread t = new Thread(() -> {
          while (!e.await(true, Duration.ofSeconds(1))) {
            // a follower; a real worker would serve reads or stand by here
          }
          for (int round = 0; round < 3 && e.isLeader(); round++) {
            Member me = e.member().orElseThrow();
            long epoch = bump(c);
            System.out.println(name + ": round " + round + " epoch " + epoch + " (fencing token "
                + me.sequence() + ")");
          }
          System.out.println(name + ": crashing");
          allLed.countDown();
          c.close(); // its session ends: its member node goes, the next worker leads
        }, name);
        threads.add(t);
        t.start();
      }
      if (!allLed.await(60, TimeUnit.SECONDS)) {
        System.out.println("FAILED: not every worker led within 60 s");
        System.exit(1);
      }
      for (Thread t : threads) t.join();
      for (LeaderElection e : elections) e.close();
      long epoch = observer.get(EPOCH).version();
      System.out.println("done: " + n + " leaders, epoch version " + epoch);
    }
  }

  /** Compare-and-set increment of the shared epoch. */
  static long bump(Client c) {
    for (;;) {
      long version = c.exists(EPOCH);
      long value = version == 0 ? 0 : Long.parseLong(utf8(c.get(EPOCH).value()));
      try {
        c.cas(EPOCH, Long.toString(value + 1).getBytes(StandardCharsets.UTF_8), version);
        return value + 1;
      } catch (BadVersionException raced) {
        // another writer got there first: read again
      }
    }
  }

  static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
