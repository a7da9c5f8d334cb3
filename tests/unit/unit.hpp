// Shared by the unit tests: what an offkv::Error thrown by a call said.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "error.hpp"

namespace offkv_unit {

struct Failure {
  int code = -1;
  std::string message;
};

// Runs fn, which must throw offkv::Error; returns its code and message (a failed
// check, and code -1, if it returned or threw something else).
template <typename Fn>
Failure failure_of(Fn &&fn) {
  try {
    fn();
  } catch (const offkv::Error &e) {
    return {e.code(), e.what()};
  } catch (const std::exception &e) {
    FAIL_CHECK("threw a non-offkv exception: " << e.what());
    return {};
  }
  FAIL_CHECK("returned instead of throwing offkv::Error");
  return {};
}

}  // namespace offkv_unit
