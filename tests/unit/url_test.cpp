// URL and option parsing (core/url.*, SPEC §1): every scheme, host lists, prefixes,
// every query option, and the error each bad URL gets.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "offkv.h"
#include "unit.hpp"
#include "url.hpp"

using offkv_unit::failure_of;

namespace {

using Hosts = std::vector<std::string>;

offkv::Endpoint parse(const std::string &url) {
  offkv::Options options;
  return offkv::parse_url(url, options);
}

offkv::Options options_of(const std::string &url) {
  offkv::Options options;
  offkv::parse_url(url, options);
  return options;
}

// The whole message of a URL refused by the parser itself.
void check_bad_url(const std::string &url, const std::string &why) {
  INFO("url " << url);
  auto f = failure_of([&] { parse(url); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "invalid URL '" + url + "': " + why);
}

}  // namespace

TEST_CASE("url: mem://NAME names a store, with an optional prefix") {
  offkv::Endpoint ep = parse("mem://store-1_a.b");
  CHECK(ep.scheme == "mem");
  CHECK(ep.hosts == Hosts{"store-1_a.b"});
  CHECK(ep.prefix.empty());
  CHECK_FALSE(ep.tls);
  ep = parse("mem://s/app/env");
  CHECK(ep.hosts == Hosts{"s"});
  CHECK(ep.prefix == "/app/env");
}

TEST_CASE("url: mem:// needs a name of letters, digits, '-', '_' and '.'") {
  check_bad_url("mem://", "mem:// needs a store name: mem://NAME");
  check_bad_url("mem:///app", "mem:// needs a store name: mem://NAME");
  for (const char *url : {"mem://a b", "mem://a:1", "mem://a,b", "mem://na%41me"})
    check_bad_url(url, "store name may hold only letters, digits, '-', '_' and '.'");
}

TEST_CASE("url: zk:// takes a host list and a chroot prefix") {
  offkv::Endpoint ep = parse("zk://127.0.0.1:2181");
  CHECK(ep.scheme == "zk");
  CHECK(ep.hosts == Hosts{"127.0.0.1:2181"});
  CHECK_FALSE(ep.tls);
  ep = parse("zk://a:1,b.example:2,c:65535/chroot/x");
  CHECK(ep.hosts == Hosts{"a:1", "b.example:2", "c:65535"});
  CHECK(ep.prefix == "/chroot/x");
}

TEST_CASE("url: etcd:// is plain, etcds:// is TLS, both take host lists") {
  offkv::Endpoint ep = parse("etcd://localhost:2379,localhost:22379");
  CHECK(ep.scheme == "etcd");
  CHECK(ep.hosts == Hosts{"localhost:2379", "localhost:22379"});
  CHECK_FALSE(ep.tls);
  ep = parse("etcds://10.0.0.1:2379/p");
  CHECK(ep.scheme == "etcds");
  CHECK(ep.hosts == Hosts{"10.0.0.1:2379"});
  CHECK(ep.prefix == "/p");
  CHECK(ep.tls);
}

TEST_CASE("url: consul:// is plain, consuls:// is TLS, one agent each") {
  offkv::Endpoint ep = parse("consul://127.0.0.1:8500/svc");
  CHECK(ep.scheme == "consul");
  CHECK(ep.hosts == Hosts{"127.0.0.1:8500"});
  CHECK(ep.prefix == "/svc");
  CHECK_FALSE(ep.tls);
  ep = parse("consuls://agent:8501");
  CHECK(ep.scheme == "consuls");
  CHECK(ep.tls);
  check_bad_url("consul://a:1,b:2", "consul:// takes exactly one agent address");
  check_bad_url("consuls://a:1,b:2/p", "consul:// takes exactly one agent address");
}

TEST_CASE("url: an unknown or missing scheme is refused") {
  check_bad_url(
      "redis://h:6379",
      "unknown scheme 'redis' (expected mem, zk, etcd, etcds, consul or consuls)");
  check_bad_url("ZK://h:2181",
                "unknown scheme 'ZK' (expected mem, zk, etcd, etcds, consul or consuls)");
  check_bad_url("://h:1",
                "unknown scheme '' (expected mem, zk, etcd, etcds, consul or consuls)");
  check_bad_url("h:2181", "expected scheme://...");
  check_bad_url("zk:/h:2181", "expected scheme://...");
  check_bad_url("", "expected scheme://...");
}

TEST_CASE("url: IPv6 hosts must be bracketed") {
  offkv::Endpoint ep = parse("etcd://[::1]:2379,[fe80::1]:2380");
  CHECK(ep.hosts == Hosts{"[::1]:2379", "[fe80::1]:2380"});
  check_bad_url("zk://::1:2181", "IPv6 host '::1' must be in brackets");
  check_bad_url("zk://[::1:2181", "IPv6 host '[::1' must be in brackets");
}

TEST_CASE("url: empty hosts and hosts without a port are refused") {
  check_bad_url("zk://", "empty host");
  check_bad_url("zk:///app", "empty host");
  check_bad_url("zk://a:1,,b:2", "empty host");
  check_bad_url("etcd://a:1,", "empty host");
  check_bad_url("zk://host", "host 'host' needs host:port");
  check_bad_url("zk://:2181", "host ':2181' needs host:port");
}

TEST_CASE("url: ports are 1..65535 in at most five digits") {
  CHECK(parse("zk://h:1").hosts == Hosts{"h:1"});
  CHECK(parse("zk://h:65535").hosts == Hosts{"h:65535"});
  check_bad_url("zk://h:0", "port out of range in 'h:0'");
  check_bad_url("zk://h:65536", "port out of range in 'h:65536'");
  check_bad_url("zk://h:99999", "port out of range in 'h:99999'");
  check_bad_url("zk://h:", "bad port in 'h:'");
  check_bad_url("zk://h:123456", "bad port in 'h:123456'");
  check_bad_url("zk://h:12a", "bad port in 'h:12a'");
  check_bad_url("zk://h:-1", "bad port in 'h:-1'");
}

TEST_CASE("url: host names with blanks or credentials are refused") {
  check_bad_url("zk://user@h:2181", "bad host 'user@h'");
  check_bad_url("zk://my host:2181", "bad host 'my host'");
  check_bad_url("etcd://a:1,b\tc:2", "bad host 'b\tc'");
}

TEST_CASE("url: the prefix is percent-decoded and must be a valid key") {
  CHECK(parse("zk://h:1/").prefix.empty());
  CHECK(parse("zk://h:1/a%20b").prefix == "/a b");
  CHECK(parse("zk://h:1/a%2Fb").prefix == "/a/b");
  CHECK(parse("zk://h:1/%c3%bc").prefix == "/\xc3\xbc");
  auto f = failure_of([] { parse("zk://h:1/a//b"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message ==
        "invalid URL prefix: invalid key '/a//b': empty segment ('//' or trailing '/')");
  f = failure_of([] { parse("zk://h:1/a/"); });
  CHECK(f.message ==
        "invalid URL prefix: invalid key '/a/': empty segment ('//' or trailing '/')");
  f = failure_of([] { parse("etcd://h:1/zookeeper"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message ==
        "invalid URL prefix '/zookeeper': /zookeeper is reserved (ZooKeeper's own tree)");
  check_bad_url("zk://h:1/a%2", "bad percent escape");
  check_bad_url("zk://h:1/a%g0", "bad percent escape");
}

TEST_CASE("url option: session_timeout_ms, connect_timeout_ms, operation_timeout_ms") {
  offkv::Options o = options_of(
      "zk://"
      "h:1?session_timeout_ms=15000&connect_timeout_ms=2500&operation_timeout_ms=300");
  CHECK(o.session_timeout_ms == 15000);
  CHECK(o.connect_timeout_ms == 2500);
  CHECK(o.operation_timeout_ms == 300);
  // Bounds of the session timeout are inclusive.
  CHECK(options_of("mem://s?session_timeout_ms=2000").session_timeout_ms == 2000);
  CHECK(options_of("mem://s?session_timeout_ms=60000").session_timeout_ms == 60000);
  CHECK(options_of("mem://s?connect_timeout_ms=000000001").connect_timeout_ms == 1);
}

TEST_CASE("url option: tls_ca_file, tls_cert_file, tls_key_file") {
  offkv::Options o = options_of(
      "etcds://h:1/p?tls_ca_file=/etc/ca.pem&tls_cert_file=/etc/"
      "c%20c.pem&tls_key_file=k");
  CHECK(o.tls_ca_file == "/etc/ca.pem");
  CHECK(o.tls_cert_file == "/etc/c c.pem");
  CHECK(o.tls_key_file == "k");
}

TEST_CASE("url option: username (alias user) and password, percent-decoded") {
  offkv::Options o = options_of("etcd://h:1?username=alice&password=p%26s%3Ds");
  CHECK(o.username == "alice");
  CHECK(o.password == "p&s=s");
  CHECK(options_of("zk://h:1?user=bob").username == "bob");
  // An empty value is a value.
  CHECK(options_of("zk://h:1?password=").password.empty());
}

TEST_CASE("url option: token") {
  CHECK(options_of("consul://h:8500?token=0f1e-22").token == "0f1e-22");
  CHECK(options_of("consul://h:8500?token=a%2Bb").token == "a+b");
}

TEST_CASE("url option: zk_acl is creator or open") {
  CHECK(options_of("zk://h:1?zk_acl=creator").zk_acl == "creator");
  CHECK(options_of("zk://h:1?zk_acl=open").zk_acl == "open");
  CHECK(options_of("zk://h:1").zk_acl.empty());
  check_bad_url("zk://h:1?zk_acl=world", "zk_acl must be creator or open");
  check_bad_url("zk://h:1?zk_acl=", "zk_acl must be creator or open");
}

TEST_CASE("url option: read_consistency is linearizable or serializable") {
  CHECK(options_of("etcd://h:1?read_consistency=serializable").read_consistency ==
        OFFKV_READ_SERIALIZABLE);
  offkv::Options o;
  o.read_consistency = OFFKV_READ_SERIALIZABLE;
  offkv::parse_url("etcd://h:1?read_consistency=linearizable", o);
  CHECK(o.read_consistency == OFFKV_READ_LINEARIZABLE);
  check_bad_url("etcd://h:1?read_consistency=eventual",
                "read_consistency must be linearizable or serializable");
  check_bad_url("etcd://h:1?read_consistency=Serializable",
                "read_consistency must be linearizable or serializable");
}

TEST_CASE("url option: a timeout that is not plain milliseconds is refused") {
  for (const char *value : {"abc", "", "-5", "+5", "1.5", "1e4", "1234567890", "10 "}) {
    std::string url = std::string("zk://h:1?session_timeout_ms=") + value;
    check_bad_url(url, "session_timeout_ms must be milliseconds");
  }
  check_bad_url("zk://h:1?connect_timeout_ms=x",
                "connect_timeout_ms must be milliseconds");
  check_bad_url("zk://h:1?operation_timeout_ms=1s",
                "operation_timeout_ms must be milliseconds");
}

TEST_CASE("url option: timeouts out of range are refused after parsing") {
  auto f = failure_of([] { parse("zk://h:1?session_timeout_ms=1999"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "session timeout 1999 ms is outside [2000, 60000]");
  f = failure_of([] { parse("zk://h:1?session_timeout_ms=60001"); });
  CHECK(f.message == "session timeout 60001 ms is outside [2000, 60000]");
  f = failure_of([] { parse("zk://h:1?connect_timeout_ms=0"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "connect timeout must be > 0");
  f = failure_of([] { parse("zk://h:1?operation_timeout_ms=0"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "operation timeout must be > 0");
}

TEST_CASE("url option: unknown names, missing values and bad escapes are refused") {
  // The message goes on to list the known options.
  for (const char *name : {"timeout", "Token"}) {
    std::string url = std::string("zk://h:1?") + name + "=5";
    auto f = failure_of([&] { parse(url); });
    CHECK(f.code == OFFKV_EINVAL);
    CHECK(f.message.rfind("invalid URL '" + url + "': unknown option '" + name + "'",
                          0) == 0);
  }
  check_bad_url("zk://h:1?token", "option 'token' has no value");
  check_bad_url("zk://h:1?token=a&verbose", "option 'verbose' has no value");
  check_bad_url("zk://h:1?password=%zz", "bad percent escape");
}

TEST_CASE("url option: later values win, empty pairs are skipped, others kept") {
  offkv::Options o;
  o.token = "from-struct";
  o.operation_timeout_ms = 1234;
  offkv::parse_url("consul://h:1?&session_timeout_ms=3000&&session_timeout_ms=4000&", o);
  CHECK(o.session_timeout_ms == 4000);
  CHECK(o.token == "from-struct");
  CHECK(o.operation_timeout_ms == 1234);
}

TEST_CASE("url option: the query is cut off before the prefix and hosts") {
  offkv::Options o;
  offkv::Endpoint ep = offkv::parse_url("zk://h:1?tls_ca_file=/etc/ca.pem", o);
  CHECK(ep.prefix.empty());
  CHECK(ep.hosts == Hosts{"h:1"});
  CHECK(o.tls_ca_file == "/etc/ca.pem");
  ep = offkv::parse_url("zk://h:1/app?token=t", o);
  CHECK(ep.prefix == "/app");
  CHECK(o.token == "t");
}

TEST_CASE("url: options given in the struct are range-checked too") {
  offkv::Options o;
  o.session_timeout_ms = 100;
  auto f = failure_of([&] { offkv::parse_url("mem://s", o); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "session timeout 100 ms is outside [2000, 60000]");
}

TEST_CASE("url: validate_options checks every range") {
  offkv::Options o;
  CHECK_NOTHROW(offkv::validate_options(o));
  CHECK(o.session_timeout_ms == OFFKV_SESSION_TIMEOUT_DEFAULT_MS);
  o.read_consistency = 2;
  auto f = failure_of([&] { offkv::validate_options(o); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "unknown read consistency 2");
  o = offkv::Options();
  o.operation_timeout_ms = -1;
  CHECK(failure_of([&] { offkv::validate_options(o); }).message ==
        "operation timeout must be > 0");
  o = offkv::Options();
  o.connect_timeout_ms = -10;
  CHECK(failure_of([&] { offkv::validate_options(o); }).message ==
        "connect timeout must be > 0");
}
