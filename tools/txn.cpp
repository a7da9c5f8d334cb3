// `txn [FILE]`: one transaction (offkv_commit) written one item a line, words as in
// script mode (split_line):
//
//   check KEY VERSION        VERSION > 0: at that version; 0: absent; any (or -1): exists
//   create [--ephemeral] [--sequential] KEY [VALUE]
//   set KEY VALUE
//   erase KEY [VERSION]      VERSION 0 (the default): any
//
// Success prints one line per op: "OP KEY version=N" (KEY the actual key of a
// sequential create). Failure names the failing item and its line.
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "bulk.hpp"

namespace cli {

namespace {

struct Item {
  std::size_t line;
  std::string op, key;
};

std::int64_t parse_version(const std::string &op, const std::string &text) {
  if (text == "any") return OFFKV_ANY_VERSION;
  return parse_int64(op, "VERSION", text);
}

struct TxnDeleter {
  void operator()(offkv_txn *txn) const { offkv_txn_free(txn); }
};

}  // namespace

void cmd_txn(Context &ctx, const Args &a) {
  std::string path = a.operands.empty() ? "-" : a.operands[0];
  if (path == "-" && ctx.script())
    usage_error("txn: FILE is needed in script mode (stdin is the script)");
  std::string text = read_file("txn", path);

  offkv_txn *raw = nullptr;
  check(offkv_txn_new(&raw), "txn");
  std::unique_ptr<offkv_txn, TxnDeleter> txn(raw);
  std::vector<Item> checks, ops;  // the library counts checks first
  std::size_t number = 0;
  for (const std::string &line : text_lines(text)) {
    ++number;
    try {
      std::vector<std::string> words = split_line(line);
      if (words.empty()) continue;
      const std::string op = words[0];
      std::vector<std::string> rest(words.begin() + 1, words.end());
      int rc = OFFKV_OK;
      if (op == "check") {
        Args c = parse_args(op, rest, {}, 2, 2, "check KEY VERSION");
        std::int64_t version = parse_version(op, c.operands[1]);
        rc = offkv_txn_check(txn.get(), c.operands[0].c_str(), version);
        checks.push_back(Item{number, op, c.operands[0]});
      } else if (op == "create") {
        Args c = parse_args(op, rest, {{"--ephemeral", "--sequential"}, {}}, 1, 2,
                            "create [--ephemeral] [--sequential] KEY [VALUE]");
        std::string value = c.operands.size() > 1 ? c.operands[1] : std::string();
        int flags = (c.has("--ephemeral") ? OFFKV_EPHEMERAL : 0) |
                    (c.has("--sequential") ? OFFKV_SEQUENTIAL : 0);
        rc = offkv_txn_create(txn.get(), c.operands[0].c_str(), value.data(),
                              value.size(), flags);
        ops.push_back(Item{number, op, c.operands[0]});
      } else if (op == "set") {
        Args c = parse_args(op, rest, {}, 2, 2, "set KEY VALUE");
        rc = offkv_txn_set(txn.get(), c.operands[0].c_str(), c.operands[1].data(),
                           c.operands[1].size());
        ops.push_back(Item{number, op, c.operands[0]});
      } else if (op == "erase") {
        Args c = parse_args(op, rest, {}, 1, 2, "erase KEY [VERSION]");
        std::int64_t version =
            c.operands.size() > 1 ? parse_int64(op, "VERSION", c.operands[1]) : 0;
        rc = offkv_txn_erase(txn.get(), c.operands[0].c_str(), version);
        ops.push_back(Item{number, op, c.operands[0]});
      } else {
        usage_error("unknown operation '" + op + "' (check, create, set, erase)");
      }
      check(rc, "txn");
    } catch (const Failure &f) {
      throw Failure{f.status, "txn: line " + std::to_string(number) + ": " + f.message,
                    f.usage};
    }
  }

  offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
  int rc = offkv_commit(ctx.client(), txn.get(), &result);
  if (rc == OFFKV_ETXN) {
    std::string detail = offkv_last_error();
    std::size_t i = result.failed_index;
    int code = result.failed_code;
    offkv_txn_result_free(&result);
    const Item *item = i < checks.size()                ? &checks[i]
                       : i - checks.size() < ops.size() ? &ops[i - checks.size()]
                                                        : nullptr;
    std::string what = "txn: item " + std::to_string(i);
    if (item)
      what += " (line " + std::to_string(item->line) + ": " + item->op + " " + item->key +
              ")";
    op_error(what, code, detail);
  }
  check(rc, "txn");
  for (std::size_t i = 0; i < result.count && i < ops.size(); ++i)
    std::printf("%s %s version=%" PRId64 "\n", ops[i].op.c_str(), result.ops[i]->key,
                result.ops[i]->version);
  offkv_txn_result_free(&result);
}

}  // namespace cli
