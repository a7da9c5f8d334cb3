// Errors inside the core are C++ exceptions carrying an offkv_error code and a detail
// message; the C facade catches every one of them and turns it into a return code.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "codes.hpp"

namespace offkv {

class Error : public std::runtime_error {
 public:
  Error(int code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

// A transaction that did not apply: which check or op failed (checks counted first)
// and why.
class TxnFailed : public Error {
 public:
  TxnFailed(std::size_t index, int reason, std::string message)
      : Error(Err::etxn, std::move(message)), index_(index), reason_(reason) {}
  std::size_t index() const noexcept { return index_; }
  int reason() const noexcept { return reason_; }

 private:
  std::size_t index_;
  int reason_;
};

[[noreturn]] void fail(int code, const std::string &message);

const char *error_text(int code) noexcept;
const char *error_name(int code) noexcept;

}  // namespace offkv
