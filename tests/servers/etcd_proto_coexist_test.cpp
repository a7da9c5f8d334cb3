// liboffkv in one process with another user of etcd's generated protos (etcd's file,
// package and service names, registered in protobuf's process-wide descriptor pool
// by this executable's own stubs). Before offkv's protos had names of their own the
// process aborted before main: "File already exists in database: mvccpb/kv.proto".
#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "offkv.h"

namespace {

std::string server_url() {
  const char *file = std::getenv("OFFKV_TEST_URL_FILE");
  REQUIRE(file != nullptr);
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  REQUIRE(url.rfind("etcd://", 0) == 0);
  return url;
}

}  // namespace

TEST_CASE("offkv and etcd's own generated code share a process") {
  const auto *pool = google::protobuf::DescriptorPool::generated_pool();
  REQUIRE(pool->FindFileByName("mvccpb/kv.proto") != nullptr);
  REQUIRE(pool->FindServiceByName("etcdserverpb.KV") != nullptr);

  std::string url = server_url();
  offkv_client *client = nullptr;
  REQUIRE(offkv_open(url.c_str(), nullptr, &client) == OFFKV_OK);
  int64_t version = 0;
  REQUIRE(offkv_set(client, "/coexist", "v", 1, &version) == OFFKV_OK);
  offkv_buf value{};
  REQUIRE(offkv_get(client, "/coexist", &value, nullptr) == OFFKV_OK);
  CHECK(std::string(value.data, value.len) == "v");
  offkv_buf_free(&value);
  offkv_client_free(client);

  // The other library's stub talks to the same server through the same gRPC runtime.
  std::string target = url.substr(std::string("etcd://").size());
  target = target.substr(0, target.find_first_of("/?"));
  auto stub = etcdserverpb::KV::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  etcdserverpb::RangeRequest req;
  req.set_key(std::string(1, '\0'));
  req.set_range_end(std::string(1, '\0'));  // every key
  etcdserverpb::RangeResponse resp;
  grpc::Status status = stub->Range(&ctx, req, &resp);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(resp.count() >= 1);
}
