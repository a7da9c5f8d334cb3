// Error names and texts (core/error.*, SPEC §8) and the exceptions the core throws.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "error.hpp"
#include "offkv.h"

namespace {

struct Expected {
  int code;
  const char *name;
  const char *text;
};

// The table users see through offkv_error_name / offkv_strerror, code by code.
const Expected kTable[] = {
    {OFFKV_OK, "OFFKV_OK", "success"},
    {OFFKV_EINVAL, "OFFKV_EINVAL", "invalid argument, key or URL"},
    {OFFKV_ENOENT, "OFFKV_ENOENT", "no such node"},
    {OFFKV_EEXIST, "OFFKV_EEXIST", "node already exists"},
    {OFFKV_EVERSION, "OFFKV_EVERSION", "version mismatch"},
    {OFFKV_EEPHEMERAL, "OFFKV_EEPHEMERAL", "ephemeral nodes cannot have children"},
    {OFFKV_ENOTEMPTY, "OFFKV_ENOTEMPTY", "node has children"},
    {OFFKV_ETOOBIG, "OFFKV_ETOOBIG", "value, key or transaction too large"},
    {OFFKV_ETXN, "OFFKV_ETXN", "transaction failed"},
    {OFFKV_ECONNLOSS, "OFFKV_ECONNLOSS", "connection lost"},
    {OFFKV_ESESSION, "OFFKV_ESESSION", "session expired"},
    {OFFKV_ETIMEOUT, "OFFKV_ETIMEOUT", "timed out"},
    {OFFKV_EAUTH, "OFFKV_EAUTH", "authentication or permission failure"},
    {OFFKV_ETLS, "OFFKV_ETLS", "TLS failure"},
    {OFFKV_ECLOSED, "OFFKV_ECLOSED", "client or watch closed"},
    {OFFKV_EUNSUPPORTED, "OFFKV_EUNSUPPORTED", "not supported"},
    {OFFKV_ESERVICE, "OFFKV_ESERVICE", "unexpected answer from the backend"},
    {OFFKV_ENOMEM, "OFFKV_ENOMEM", "out of memory"},
    {OFFKV_EINTERNAL, "OFFKV_EINTERNAL", "internal error"},
};

}  // namespace

TEST_CASE("error: one row per code, in code order") {
  REQUIRE(sizeof kTable / sizeof kTable[0] == OFFKV_ERROR_COUNT);
  for (int i = 0; i < OFFKV_ERROR_COUNT; ++i) CHECK(kTable[i].code == i);
}

TEST_CASE("error: error_name gives each code's enum name") {
  for (const auto &row : kTable) {
    INFO("code " << row.code);
    CHECK(std::string(offkv::error_name(row.code)) == row.name);
  }
}

TEST_CASE("error: error_text gives each code's static text") {
  for (const auto &row : kTable) {
    INFO("code " << row.code);
    CHECK(std::string(offkv::error_text(row.code)) == row.text);
  }
}

TEST_CASE("error: codes outside the enum get the unknown entries") {
  for (int code : {-1, OFFKV_ERROR_COUNT, 1000, -2147483647 - 1}) {
    INFO("code " << code);
    CHECK(std::string(offkv::error_name(code)) == "OFFKV_UNKNOWN");
    CHECK(std::string(offkv::error_text(code)) == "unknown error code");
  }
}

TEST_CASE("error: the C API's offkv_strerror and offkv_error_name are these tables") {
  for (int code = -1; code <= OFFKV_ERROR_COUNT; ++code) {
    INFO("code " << code);
    CHECK(offkv_strerror(code) == offkv::error_text(code));
    CHECK(offkv_error_name(code) == offkv::error_name(code));
  }
}

TEST_CASE("error: fail throws Error with the code and message") {
  try {
    offkv::fail(OFFKV_ENOENT, "no node '/a'");
    FAIL("fail returned");
  } catch (const offkv::Error &e) {
    CHECK(e.code() == OFFKV_ENOENT);
    CHECK(std::string(e.what()) == "no node '/a'");
  }
}

TEST_CASE("error: TxnFailed is an ETXN Error carrying the index and the reason") {
  offkv::TxnFailed failed(3, OFFKV_EVERSION, "op 3 on '/a': version mismatch");
  const offkv::Error &as_error = failed;
  CHECK(as_error.code() == OFFKV_ETXN);
  CHECK(failed.index() == 3);
  CHECK(failed.reason() == OFFKV_EVERSION);
  CHECK(std::string(failed.what()) == "op 3 on '/a': version mismatch");
}
