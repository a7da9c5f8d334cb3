// offkv's layout in Consul's KV store and the HTTP API's encodings
// (core/consul/consul_keys.*, consul_errors.*): key escaping, base64, KV entries, the
// answers of reads and of /v1/txn, and what a failed answer becomes.
#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "consul/consul_errors.hpp"
#include "consul/consul_keys.hpp"
#include "model.hpp"
#include "offkv.h"
#include "unit.hpp"

using namespace offkv::consul;
using nlohmann::json;
using offkv_unit::failure_of;

namespace {

Response answer(long status, const std::string &body) {
  Response r;
  r.status = status;
  r.body = body;
  return r;
}

// The message of the std::runtime_error parse_entry throws.
std::string entry_error(const json &j) {
  try {
    parse_entry(j);
  } catch (const offkv::Error &e) {
    FAIL_CHECK("an offkv::Error: " << e.what());
    return "";
  } catch (const std::runtime_error &e) {
    return e.what();
  }
  FAIL_CHECK("parse_entry accepted " << j.dump());
  return "";
}

// As Consul sends it (parsed: positive numbers are unsigned, as from the wire).
const json kEntry = json::parse(R"({"Key":"offkv/n/a","Flags":3,"CreateIndex":10,
  "ModifyIndex":12,"Value":"aGVsbG8=","Session":"5e1f-aa","LockIndex":0})");

}  // namespace

TEST_CASE("consul keys: enc_path keeps '/' and printable ASCII, escapes the rest") {
  CHECK(enc_path("/") == "");
  CHECK(enc_path("/a/b") == "/a/b");
  CHECK(enc_path("/a b~!") == "/a b~!");
  CHECK(enc_path("/100%") == "/100%25");
  CHECK(enc_path("/\xc2\xa0x") == "/%C2%A0x");       // NBSP, refused by the agent raw
  CHECK(enc_path("/\xe2\x80\x8b") == "/%E2%80%8B");  // U+200B
  CHECK(enc_path(std::string("/\x7f\x1f", 3)) == "/%7F%1F");
}

TEST_CASE("consul keys: node, children-prefix and counter keys") {
  CHECK(node_key("/a/b") == "offkv/n/a/b");
  CHECK(node_key("/") == "offkv/n");
  CHECK(node_key("/50%") == "offkv/n/50%25");
  CHECK(children_prefix("/a") == "offkv/n/a/");
  CHECK(children_prefix("/") == "offkv/n/");
  CHECK(counter_key("/q") == "offkv/s/q");
  CHECK(counter_key("/") == "offkv/s");
}

TEST_CASE("consul keys: path_of reads node keys back, escapes undone") {
  CHECK(path_of("offkv/n/a/b") == std::optional<std::string>("/a/b"));
  CHECK(path_of("offkv/n/a%25") == std::optional<std::string>("/a%"));
  CHECK(path_of("offkv/n/%C2%A0") == std::optional<std::string>("/\xc2\xa0"));
  CHECK(path_of("offkv/n/%c2%a0") == std::optional<std::string>("/\xc2\xa0"));
  for (const char *path : {"/x", "/a b/c", "/\xe2\x80\x8b/100%", "/z/y/x/w"}) {
    INFO(path);
    CHECK(path_of(node_key(path)) == std::optional<std::string>(path));
  }
}

TEST_CASE("consul keys: path_of refuses anything that is not a node key") {
  for (const char *key : {"offkv/n", "offkv/n/", "offkv/n/a/", "offkv/na", "offkv/s/a",
                          "other/a", "", "offkv/n/a%2", "offkv/n/a%zz", "offkv/n//a",
                          "offkv/n/a//b", "offkv/n/a%2F%2Fb"}) {
    INFO("key '" << key << "'");
    CHECK_FALSE(path_of(key).has_value());
  }
}

TEST_CASE("consul keys: child_name takes one level below the prefix") {
  const std::string prefix = children_prefix("/a");
  CHECK(child_name("offkv/n/a/c", prefix) == std::optional<std::string>("c"));
  CHECK(child_name("offkv/n/a/x%25y", prefix) == std::optional<std::string>("x%y"));
  CHECK(child_name("offkv/n/a/%E2%80%8B", prefix) ==
        std::optional<std::string>("\xe2\x80\x8b"));
  for (const char *key : {"offkv/n/a/c/", "offkv/n/a/c/d", "offkv/n/a/", "offkv/n/a",
                          "offkv/n/b/c", "offkv/n/ab/c", "offkv/n/a/%zz"}) {
    INFO("key '" << key << "'");
    CHECK_FALSE(child_name(key, prefix).has_value());
  }
}

TEST_CASE("consul keys: url_escape leaves unreserved bytes and '/' only") {
  CHECK(url_escape("offkv/n/a-b.c_d~e") == "offkv/n/a-b.c_d~e");
  CHECK(url_escape("offkv/n/a b") == "offkv/n/a%20b");
  CHECK(url_escape("?&=#+%") == "%3F%26%3D%23%2B%25");
  CHECK(url_escape("\xc3\xbc") == "%C3%BC");
  CHECK(url_escape(std::string("\0\xff", 2)) == "%00%FF");
  // An escaped node key is escaped again for the URL.
  CHECK(url_escape(node_key("/50%")) == "offkv/n/50%2525");
}

TEST_CASE("consul keys: base64_encode gives RFC 4648's test vectors") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode(std::string("\0\xff\xfe", 3)) == "AP/+");
}

TEST_CASE("consul keys: base64_decode reads the vectors back") {
  std::string out = "left over";
  CHECK(base64_decode("", out));
  CHECK(out.empty());
  const std::pair<const char *, const char *> vectors[] = {
      {"Zg==", "f"},        {"Zm8=", "fo"},        {"Zm9v", "foo"},
      {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}};
  for (const auto &v : vectors) {
    INFO(v.first);
    CHECK(base64_decode(v.first, out));
    CHECK(out == v.second);
  }
  CHECK(base64_decode("AP/+", out));
  CHECK(out == std::string("\0\xff\xfe", 3));
}

TEST_CASE("consul keys: base64 round-trips every byte value") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len : {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(3),
                          std::size_t(255), std::size_t(256)}) {
    std::string in = all.substr(0, len), out;
    std::string text = base64_encode(in);
    CHECK(text.size() == (len + 2) / 3 * 4);
    CHECK(base64_decode(text, out));
    CHECK(out == in);
  }
}

TEST_CASE("consul keys: base64_decode refuses malformed text") {
  std::string out;
  for (const char *text : {"Zg=", "Zg", "Z", "Zg=a",
                           "Z===", "====", "Zm9v!A==", "Zg==Zm9v", "Zm 9", "Zm9v\n"}) {
    INFO("'" << text << "'");
    CHECK_FALSE(base64_decode(text, out));
  }
}

TEST_CASE("consul keys: parse_entry reads every field") {
  Entry e = parse_entry(kEntry);
  CHECK(e.present);
  CHECK(e.key == "offkv/n/a");
  CHECK(e.value == "hello");
  CHECK(e.version == 3);
  CHECK(e.create_index == 10);
  CHECK(e.modify_index == 12);
  CHECK(e.session == "5e1f-aa");
}

TEST_CASE("consul keys: parse_entry: no Flags is version 1, no Value is empty") {
  json j =
      json::parse(R"({"Key":"other/k","CreateIndex":1,"ModifyIndex":1,"Value":null})");
  Entry e = parse_entry(j);
  CHECK(e.version == 1);  // a key offkv did not write
  CHECK(e.value.empty());
  CHECK(e.session.empty());
  j["Flags"] = 0u;
  CHECK(parse_entry(j).version == 1);
  j["Flags"] = static_cast<std::uint64_t>(offkv::kMaxVersion);
  CHECK(parse_entry(j).version == offkv::kMaxVersion);
}

TEST_CASE("consul keys: parse_entry refuses what offkv cannot trust") {
  CHECK(entry_error(json::array()) == "a KV entry is not an object");
  CHECK(entry_error({{"Flags", 1u}}) == "a KV entry has no Key string");
  CHECK(entry_error({{"Key", 5}}) == "a KV entry has no Key string");
  json j = kEntry;
  j["Flags"] = static_cast<std::uint64_t>(offkv::kMaxVersion) + 1;
  CHECK(entry_error(j) ==
        "the version (Flags) of 'offkv/n/a' is 9223372036854775807, "
        "above 9223372036854775806");
  j = kEntry;
  j.erase("CreateIndex");
  CHECK(entry_error(j) == "no CreateIndex for 'offkv/n/a'");
  j = kEntry;
  j["ModifyIndex"] = -1;
  CHECK(entry_error(j) == "ModifyIndex of 'offkv/n/a' is -1, not an unsigned integer");
  j = kEntry;
  j["Flags"] = 1.5;
  CHECK(entry_error(j) == "Flags of 'offkv/n/a' is 1.5, not an unsigned integer");
  j = kEntry;
  j["Value"] = "not base64!";
  CHECK(entry_error(j) == "the value of 'offkv/n/a' is not base64");
}

TEST_CASE("consul keys: the read requests' targets") {
  Request r = key_read("/a b", "", 5000);
  CHECK(r.method == "GET");
  CHECK(r.target == "/v1/kv/offkv/n/a%20b");
  CHECK(r.timeout_ms == 5000);
  CHECK(key_read("/a", "consistent", 1).target == "/v1/kv/offkv/n/a?consistent");
  CHECK(kv_read(counter_key("/q"), "stale", 1).target == "/v1/kv/offkv/s/q?stale");
  CHECK(children_read("/a", "", 1).target == "/v1/kv/offkv/n/a/?keys&separator=/");
  CHECK(children_read("/", "stale", 1).target ==
        "/v1/kv/offkv/n/?keys&separator=/&stale");
  CHECK(subtree_read("/a", "", 1).target == "/v1/kv/offkv/n/a/?recurse");
  CHECK(subtree_read("/a", "consistent", 7).target ==
        "/v1/kv/offkv/n/a/?recurse&consistent");
}

TEST_CASE("consul keys: parse_key_read: 404 is absent, 200 is the one entry") {
  CHECK_FALSE(parse_key_read(answer(404, ""), "read '/a'", false).present);
  Entry e = parse_key_read(answer(200, json::array({kEntry}).dump()), "read '/a'", false);
  CHECK(e.present);
  CHECK(e.value == "hello");
}

TEST_CASE("consul keys: parse_key_read: an answer it cannot read is ESERVICE") {
  auto f = failure_of([] { parse_key_read(answer(200, "[]"), "read '/a'", false); });
  CHECK(f.code == OFFKV_ESERVICE);
  CHECK(f.message ==
        "consul: cannot read '/a': unexpected answer (expected one entry) [consul: HTTP "
        "200: "
        "[]]");
  f = failure_of([] { parse_key_read(answer(200, "{oops"), "read '/a'", false); });
  CHECK(f.code == OFFKV_ESERVICE);
  CHECK(f.message.rfind("consul: cannot read '/a': unexpected answer (bad JSON: ", 0) ==
        0);
  f = failure_of([] {
    parse_key_read(answer(200, R"([{"Key":"k","CreateIndex":1}])"), "read '/a'", false);
  });
  CHECK(f.code == OFFKV_ESERVICE);
  CHECK(f.message.find("(no ModifyIndex for 'k')") != std::string::npos);
}

TEST_CASE("consul keys: parse_children_read keeps direct children's names") {
  CHECK(parse_children_read(answer(404, ""), "/a", "list '/a'", false).empty());
  auto names = parse_children_read(
      answer(200, R"(["offkv/n/a/b","offkv/n/a/c/","offkv/n/a/x%25","offkv/n/a/"])"),
      "/a", "list '/a'", false);
  CHECK(names == std::vector<std::string>{"b", "x%"});
  auto f = failure_of(
      [] { parse_children_read(answer(200, "{}"), "/a", "list '/a'", false); });
  CHECK(f.code == OFFKV_ESERVICE);
  CHECK(f.message ==
        "consul: cannot list '/a': unexpected answer (the key list is not an array) "
        "[consul: HTTP 200: {}]");
}

TEST_CASE("consul keys: parse_subtree_read gives every entry") {
  CHECK(parse_subtree_read(answer(404, ""), "read tree", false).empty());
  json second = kEntry;
  second["Key"] = "offkv/n/a/b";
  auto entries = parse_subtree_read(answer(200, json::array({kEntry, second}).dump()),
                                    "read tree", false);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == "offkv/n/a");
  CHECK(entries[1].key == "offkv/n/a/b");
  auto f = failure_of([] { parse_subtree_read(answer(200, "[1]"), "read tree", false); });
  CHECK(f.code == OFFKV_ESERVICE);
  CHECK(f.message.find("(a KV entry is not an object)") != std::string::npos);
}

TEST_CASE("consul keys: parse_txn_answer: 200 gives the results") {
  TxnAnswer t = parse_txn_answer(
      answer(200, R"({"Results":[{"KV":{}},{"KV":{}}],"Errors":null})"), 2, "commit");
  CHECK(t.ok);
  CHECK(t.results.size() == 2);
  t = parse_txn_answer(answer(200, R"({"Results":null})"), 1, "commit");
  CHECK(t.ok);
  CHECK(t.results == json::array());
}

TEST_CASE("consul keys: parse_txn_answer: 409 names the first failing operation") {
  TxnAnswer t = parse_txn_answer(
      answer(409,
             R"({"Errors":[{"OpIndex":2,"What":"later"},{"OpIndex":1,"What":"first"}]})"),
      3, "commit");
  CHECK_FALSE(t.ok);
  CHECK(t.failed == 1);
  CHECK(t.what == "first");
  t = parse_txn_answer(answer(409, R"({"Errors":[{"OpIndex":0}]})"), 1, "commit");
  CHECK(t.failed == 0);
  CHECK(t.what.empty());
}

TEST_CASE("consul keys: parse_txn_answer refuses what is not a txn answer") {
  struct Case {
    long status;
    const char *body;
    const char *why;
  };
  const Case cases[] = {
      {200, "{}", "not a transaction answer"},
      {200, "[]", "not a transaction answer"},
      {200, R"({"Results":5})", "Results is not an array"},
      {409, R"({"Results":[]})", "not a transaction answer"},
      {409, R"({"Errors":[]})", "a conflict without errors"},
      {409, R"({"Errors":[{"OpIndex":3}]})", "OpIndex 3 is not an op's index"},
      {409, R"({"Errors":[{"OpIndex":-1}]})", "OpIndex -1 is not an op's index"},
  };
  for (const Case &c : cases) {
    INFO(c.status << " " << c.body);
    auto f = failure_of([&] { parse_txn_answer(answer(c.status, c.body), 3, "commit"); });
    CHECK(f.code == OFFKV_ESERVICE);
    CHECK(f.message == std::string("consul: cannot commit: unexpected answer (") + c.why +
                           ") [consul: HTTP " + std::to_string(c.status) + ": " + c.body +
                           "]");
  }
}

TEST_CASE("consul errors: HTTP statuses map to offkv codes") {
  CHECK(map_error(answer(401, ""), false) == OFFKV_EAUTH);
  CHECK(map_error(answer(403, "ACL not found"), false) == OFFKV_EAUTH);
  CHECK(map_error(answer(413, ""), false) == OFFKV_ETOOBIG);
  CHECK(map_error(answer(400, "Client sent an HTTP request to an HTTPS server."),
                  false) == OFFKV_ETLS);
  CHECK(map_error(answer(400, "bad request"), false) == OFFKV_ESERVICE);
  CHECK(map_error(answer(429, ""), false) == OFFKV_ECONNLOSS);
  CHECK(map_error(answer(503, ""), false) == OFFKV_ECONNLOSS);
  CHECK(map_error(answer(500, "No cluster leader"), false) == OFFKV_ECONNLOSS);
  CHECK(map_error(answer(500, "rpc error making call: leadership lost"), false) ==
        OFFKV_ECONNLOSS);
  CHECK(map_error(answer(500, "Permission denied"), false) == OFFKV_EAUTH);
  CHECK(map_error(answer(500, "something else"), false) == OFFKV_ESERVICE);
  CHECK(map_error(answer(404, ""), false) == OFFKV_ESERVICE);
}

TEST_CASE("consul errors: transport failures map to offkv codes") {
  Response r;
  r.aborted = true;
  CHECK(map_error(r, true) == OFFKV_ECLOSED);
  CHECK(map_error(r, false) == OFFKV_ECONNLOSS);
  r = Response();
  r.curl = CURLE_COULDNT_CONNECT;
  CHECK(map_error(r, false) == OFFKV_ECONNLOSS);
  r.curl = CURLE_OPERATION_TIMEDOUT;
  CHECK(map_error(r, false) == OFFKV_ETIMEOUT);
  r.curl = CURLE_PEER_FAILED_VERIFICATION;
  CHECK(map_error(r, false) == OFFKV_ETLS);
  r.curl = CURLE_OUT_OF_MEMORY;
  CHECK(map_error(r, false) == OFFKV_ENOMEM);
  r.curl = CURLE_URL_MALFORMAT;
  CHECK(map_error(r, false) == OFFKV_EINVAL);
  r.curl = CURLE_WRITE_ERROR;
  CHECK(map_error(r, false) == OFFKV_ESERVICE);
}

TEST_CASE("consul errors: fail_response says what, why and Consul's words") {
  auto f = failure_of(
      [] { fail_response(answer(500, "No cluster leader\n"), "set '/a'", false); });
  CHECK(f.code == OFFKV_ECONNLOSS);
  CHECK(f.message == "consul: cannot set '/a' [consul: HTTP 500: No cluster leader]");
  Response r;
  r.aborted = true;
  f = failure_of([&] { fail_response(r, "get '/a'", true); });
  CHECK(f.code == OFFKV_ECLOSED);
  CHECK(f.message ==
        "consul: cannot get '/a': the client was closed [consul: request aborted]");
  r = Response();
  r.curl = CURLE_COULDNT_CONNECT;
  r.curl_error = "Connection refused";
  f = failure_of([&] { fail_response(r, "get '/a'", false); });
  CHECK(f.message ==
        "consul: cannot get '/a': cannot connect to the Consul agent [consul: "
        "curl: Connection refused]");
  r.curl = CURLE_OPERATION_TIMEDOUT;
  r.curl_error = "Operation timed out";
  f = failure_of([&] { fail_response(r, "get '/a'", false); });
  CHECK(f.code == OFFKV_ETIMEOUT);
  CHECK(f.message ==
        "consul: cannot get '/a': no answer in time (operation_timeout_ms) "
        "[consul: curl: Operation timed out]");
}

TEST_CASE("consul errors: consul_words shortens bodies and names the size cap") {
  CHECK(consul_words(answer(500, "")) == " [consul: HTTP 500]");
  CHECK(consul_words(answer(500, "a\r\nb\n")) == " [consul: HTTP 500: a  b]");
  std::string long_body(400, 'x');
  CHECK(consul_words(answer(500, long_body)) ==
        " [consul: HTTP 500: " + std::string(300, 'x') + "...]");
  Response big;
  big.too_big = true;
  CHECK(consul_words(big) == " [consul: an answer above 32 MiB, offkv's cap: not read]");
}
