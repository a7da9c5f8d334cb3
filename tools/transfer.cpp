// `tree`, `dump`, `load` and `copy`: whole subtrees, read and written with many
// asynchronous calls in flight (bulk.hpp). The dump format is JSON lines, one node a
// line: {"key":"/a/b","value":"<base64>","version":3} (docs/cli.md).
#include <cinttypes>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "bulk.hpp"

namespace cli {

namespace {

void print_summary(const char *done, const WriteCounts &c, bool dry_run,
                   std::size_t ephemeral, std::size_t vanished, bool copy) {
  std::size_t nodes = c.created + c.updated + c.unchanged;
  if (dry_run) {
    std::printf(
        "dry run: %zu nodes: %zu to create, %zu to update, %zu unchanged, "
        "%" PRIu64 " bytes to write",
        nodes, c.created, c.updated, c.unchanged, c.bytes);
  } else {
    std::printf("%s %zu nodes: %zu created, %zu updated, %zu unchanged, %" PRIu64
                " bytes written",
                done, nodes, c.created, c.updated, c.unchanged, c.bytes);
  }
  if (copy) std::printf(", %zu ephemeral skipped", ephemeral);
  if (vanished) std::printf(", %zu vanished", vanished);
  std::printf("\n");
}

void note_ephemeral(const std::string &command, const Node &n) {
  std::fflush(stdout);
  std::fprintf(stderr, "offkv: %s %s: ephemeral, skipped\n", command.c_str(),
               n.key.c_str());
}

// Writes (queue_target_reads has run) and prints the summary, also when a write
// fails: it tells what was done.
void write_and_summarize(offkv_client *client, const std::string &command,
                         std::vector<Write> &writes, bool dry_run, std::size_t ephemeral,
                         std::size_t vanished, bool copy, Calls &calls,
                         Progress &progress) {
  WriteCounts counts;
  const char *done = copy ? "copied" : "loaded";
  try {
    write_nodes(client, command, writes, dry_run, calls, progress, counts);
  } catch (const Failure &) {
    progress.clear();
    print_summary(done, counts, dry_run, ephemeral, vanished, copy);
    throw;
  }
  progress.clear();
  print_summary(done, counts, dry_run, ephemeral, vanished, copy);
}

}  // namespace

void cmd_tree(Context &ctx, const Args &a) {
  Progress progress("tree");
  Calls calls;
  offkv_client *client = ctx.client();
  std::vector<Node> nodes = list_subtree(client, "tree", a.operands[0], calls, progress);
  queue_reads(client, "tree", nodes, calls, progress);
  progress.phase("reading", nodes.size());
  calls.run([&] { progress.draw(); });
  progress.clear();
  for (const Node &n : nodes) {
    if (n.gone) continue;
    std::printf("%s version=%" PRId64 " bytes=%zu\n", n.key.c_str(), n.version,
                n.value.size());
  }
}

void cmd_dump(Context &ctx, const Args &a) {
  Progress progress("dump");
  Calls calls;
  offkv_client *client = ctx.client();
  std::vector<Node> nodes = list_subtree(client, "dump", a.operands[0], calls, progress);
  std::size_t total = nodes.size() + queue_probes(client, "dump", nodes, calls, progress);
  queue_reads(client, "dump", nodes, calls, progress);
  progress.phase("reading", total);
  calls.run([&] { progress.draw(); });
  progress.clear();
  std::string out;
  for (const Node &n : nodes) {
    if (n.gone || n.ephemeral) continue;
    nlohmann::json line = {
        {"key", n.key}, {"value", base64_encode(n.value)}, {"version", n.version}};
    try {
      out = line.dump();
    } catch (const nlohmann::json::exception &e) {  // a key that is not UTF-8
      throw Failure{kExitFailed,
                    "dump " + n.key + ": cannot write it as JSON: " + e.what()};
    }
    std::printf("%s\n", out.c_str());
  }
  for (const Node &n : nodes)
    if (n.ephemeral) note_ephemeral("dump", n);
}

namespace {

// One line of a dump: {"key": string, "value": base64 string[, "version": integer]}.
Write parse_line(const std::string &where, const std::string &text) {
  auto bad = [&](const std::string &why) -> Failure {
    return Failure{kExitFailed, where + ": " + why};
  };
  nlohmann::json line;
  try {
    line = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception &e) {
    throw bad(std::string("not JSON: ") + e.what());
  }
  if (!line.is_object()) throw bad("not a JSON object");
  for (auto it = line.begin(); it != line.end(); ++it)
    if (it.key() != "key" && it.key() != "value" && it.key() != "version")
      throw bad("unknown field \"" + it.key() + "\"");
  auto key = line.find("key");
  auto value = line.find("value");
  auto version = line.find("version");
  if (key == line.end() || !key->is_string()) throw bad("\"key\" must be a string");
  if (value == line.end() || !value->is_string())
    throw bad("\"value\" must be a string (base64)");
  if (version != line.end() && !version->is_number_integer())
    throw bad("\"version\" must be an integer");
  Write w;
  w.key = key->get<std::string>();
  if (w.key.empty() || w.key[0] != '/' || w.key == "/")
    throw bad("\"key\" '" + w.key + "' is not a key (/a/b)");
  if (!base64_decode(value->get<std::string>(), w.value))
    throw bad("\"value\" of '" + w.key + "' is not base64");
  if (w.value.size() > OFFKV_MAX_VALUE_SIZE)
    throw bad("the value of '" + w.key + "' is " + std::to_string(w.value.size()) +
              " bytes; the limit is " + std::to_string(OFFKV_MAX_VALUE_SIZE));
  return w;
}

}  // namespace

void cmd_load(Context &ctx, const Args &a) {
  const std::string &path = a.operands[0];
  if (path == "-" && ctx.script())
    usage_error("load: FILE '-' (stdin) is not available in script mode");
  std::string text = read_file("load", path);
  const std::string name = path == "-" ? "stdin" : path;
  // Every line is checked before anything is written.
  std::vector<Write> writes;
  std::map<std::string, std::size_t> lines;  // key -> line number
  std::size_t number = 0;
  for (const std::string &line : text_lines(text)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = "load " + name + ":" + std::to_string(number);
    writes.push_back(parse_line(where, line));
    auto seen = lines.emplace(writes.back().key, number);
    if (!seen.second)
      throw Failure{kExitFailed, where + ": '" + writes.back().key +
                                     "' is also on line " +
                                     std::to_string(seen.first->second)};
  }
  std::stable_sort(writes.begin(), writes.end(), [](const Write &x, const Write &y) {
    return tree_less(x.key, y.key);
  });
  Progress progress("load");
  Calls calls;
  offkv_client *client = ctx.client();
  queue_target_reads(client, "load", writes, true, calls, progress);
  progress.phase("comparing", writes.size());
  calls.run([&] { progress.draw(); });
  write_and_summarize(client, "load", writes, a.has("--dry-run"), 0, 0, false, calls,
                      progress);
}

void cmd_copy(Context &ctx, const Args &a) {
  const std::string key = a.operands.size() > 2 ? a.operands[2] : "/";
  Context src(a.operands[0], ctx.timeout_ms(), false);
  Context dst(a.operands[1], ctx.timeout_ms(), false);
  offkv_client *from = src.client();
  offkv_client *to = dst.client();
  Progress progress("copy");
  Calls calls;
  std::vector<Node> nodes = list_subtree(from, "copy", key, calls, progress);
  // Then, all at once: the source's values, its ephemeral nodes, the destination's
  // values (not below keys it does not have).
  std::vector<Write> writes(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) writes[i].key = nodes[i].key;
  std::size_t total =
      2 * nodes.size() + queue_probes(from, "copy", nodes, calls, progress);
  queue_reads(from, "copy", nodes, calls, progress);
  queue_target_reads(to, "copy", writes, false, calls, progress);
  progress.phase("reading", total);
  calls.run([&] { progress.draw(); });

  std::size_t ephemeral = 0, vanished = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    Node &n = nodes[i];
    writes[i].skip = n.ephemeral || n.gone;
    if (n.ephemeral) {
      ++ephemeral;
      progress.clear();
      note_ephemeral("copy", n);
    } else if (n.gone) {
      ++vanished;
    } else {
      writes[i].value = std::move(n.value);
    }
  }
  nodes.clear();
  write_and_summarize(to, "copy", writes, a.has("--dry-run"), ephemeral, vanished, true,
                      calls, progress);
}

}  // namespace cli
