// Command options and operands, numbers, and the words of a script line.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "cli.hpp"

namespace cli {

void report(const Failure &f) {
  std::fflush(stdout);
  if (!f.message.empty()) std::fprintf(stderr, "offkv: %s\n", f.message.c_str());
  if (f.usage) std::fprintf(stderr, "Try 'offkv --help'.\n");
}

void usage_error(const std::string &message) { throw Failure{kExitUsage, message, true}; }

Failure op_failure(const std::string &what, int code, const std::string &detail) {
  std::string message = what + ": " + offkv_strerror(code);
  const std::string text = detail.empty() ? offkv_last_error() : detail;
  if (!text.empty()) message += ": " + text;
  return Failure{kExitFailed, message};
}

void op_error(const std::string &what, int code, const std::string &detail) {
  throw op_failure(what, code, detail);
}

void check(int rc, const std::string &what) {
  if (rc != OFFKV_OK) op_error(what, rc);
}

static bool contains(const std::vector<std::string> &list, const std::string &s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

Args parse_args(const std::string &command, const std::vector<std::string> &words,
                const OptionSpec &spec, std::size_t min, std::size_t max,
                const std::string &synopsis) {
  Args args;
  args.command = command;
  std::size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string &w = words[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (w.size() < 2 || w[0] != '-') break;  // first operand ("-" is an operand)
    if (contains(spec.flags, w)) {
      args.options[w] = "";
    } else if (contains(spec.valued, w)) {
      if (i + 1 == words.size()) usage_error(command + ": " + w + " needs a value");
      args.options[w] = words[++i];
    } else {
      usage_error(command + ": unknown option '" + w + "'");
    }
  }
  args.operands.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
  if (args.operands.size() < min || args.operands.size() > max)
    usage_error(command + ": expected " + synopsis);
  return args;
}

std::int64_t parse_int64(const std::string &command, const std::string &what,
                         const std::string &text) {
  errno = 0;
  char *end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  bool ok = !text.empty() &&
            (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-') &&
            *end == '\0' && errno != ERANGE;
  if (!ok) usage_error(command + ": " + what + " '" + text + "' is not a number");
  return n;
}

int parse_ms(const std::string &command, const std::string &what,
             const std::string &text) {
  std::int64_t n = parse_int64(command, what, text);
  if (n < 1 || n > INT32_MAX)
    usage_error(command + ": " + what + " '" + text + "' must be 1.." +
                std::to_string(INT32_MAX) + " milliseconds");
  return static_cast<int>(n);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string> text_lines(const std::string &text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::vector<std::string> split_line(const std::string &line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else if (c == '#' && !in_word) {
      break;
    } else if (c == '\'') {
      std::size_t close = line.find('\'', i + 1);
      if (close == std::string::npos) usage_error("unbalanced ' in: " + line);
      word += line.substr(i + 1, close - i - 1);
      in_word = true;
      i = close;
    } else if (c == '"') {
      in_word = true;
      for (++i;; ++i) {
        if (i >= line.size()) usage_error("unbalanced \" in: " + line);
        if (line[i] == '"') break;
        if (line[i] != '\\') {
          word += line[i];
          continue;
        }
        char e = ++i < line.size() ? line[i] : '\0';
        if (e == 'n') {
          word += '\n';
        } else if (e == 't') {
          word += '\t';
        } else if (e == '\\' || e == '"') {
          word += e;
        } else if (e == 'x' && i + 2 < line.size() && hex_digit(line[i + 1]) >= 0 &&
                   hex_digit(line[i + 2]) >= 0) {
          word += static_cast<char>(hex_digit(line[i + 1]) * 16 + hex_digit(line[i + 2]));
          i += 2;
        } else {
          usage_error("bad escape in: " + line);
        }
      }
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

}  // namespace cli
