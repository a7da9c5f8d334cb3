// etcd v3 through raw gRPC stubs: the ones the core generates from core/etcd/proto
// (etcd's wire names), called directly, as a program with its own stubs would.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <thread>

#include "bench.hpp"
#include "offkv/etcd/v3/rpc.pb.h"
#include "offkv/etcd/v3/services.grpc.pb.h"

namespace bench {
namespace {

namespace pb = offkv::etcd::v3;

void check(const grpc::Status &status, const char *what) {
  if (!status.ok())
    throw Fail(std::string("etcd ") + what + ": " + status.error_message());
}

// etcd's keyspace is flat: "/nat/b/k3" is stored as "nat/b/k3"; a directory's
// children are the keys under "dir/".
std::string etcd_key(const std::string &key) { return key.substr(1); }
std::string prefix_end(std::string prefix) {
  prefix.back() = char(prefix.back() + 1);
  return prefix;
}

class EtcdSubject : public Subject {
 public:
  explicit EtcdSubject(const std::string &host_port) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel_ =
        grpc::CreateCustomChannel(host_port, grpc::InsecureChannelCredentials(), args);
    kv_ = etcdserverpb::KV::NewStub(channel_);
    watch_stub_ = etcdserverpb::Watch::NewStub(channel_);
  }
  ~EtcdSubject() override {
    if (watch_stream_) {
      watch_ctx_.TryCancel();
      watch_reader_.join();
    }
  }
  std::string name() const override { return "grpc stubs"; }

  void ensure_dir(const std::string &) override {}  // no hierarchy to make

  void sync_op(Op op, const std::string &key, const std::string &value) override {
    std::string k = etcd_key(key);
    switch (op) {
      case Op::Get: {
        pb::RangeRequest req;
        req.set_key(k);
        pb::RangeResponse resp;
        grpc::ClientContext ctx;
        check(kv_->Range(&ctx, req, &resp), "range");
        if (resp.kvs_size() != 1) throw Fail("etcd get: no key " + k);
        break;
      }
      case Op::Exists: {
        pb::RangeRequest req;
        req.set_key(k);
        req.set_keys_only(true);  // the version, without the value
        pb::RangeResponse resp;
        grpc::ClientContext ctx;
        check(kv_->Range(&ctx, req, &resp), "range (keys only)");
        break;
      }
      case Op::Set: {
        pb::PutRequest req;
        req.set_key(k);
        req.set_value(value);
        pb::PutResponse resp;
        grpc::ClientContext ctx;
        check(kv_->Put(&ctx, req, &resp), "put");
        break;
      }
      case Op::Create:
        create(k, value);
        break;
      case Op::CreateErase: {
        create(k, value);
        pb::DeleteRangeRequest req;
        req.set_key(k);
        pb::DeleteRangeResponse resp;
        grpc::ClientContext ctx;
        check(kv_->DeleteRange(&ctx, req, &resp), "delete");
        break;
      }
      case Op::Cas: {
        auto it = revisions_.find(k);
        if (it == revisions_.end()) {
          pb::RangeRequest req;
          req.set_key(k);
          pb::RangeResponse resp;
          grpc::ClientContext ctx;
          check(kv_->Range(&ctx, req, &resp), "range (cas)");
          if (resp.kvs_size() != 1) throw Fail("etcd cas: no key " + k);
          it = revisions_.emplace(k, resp.kvs(0).mod_revision()).first;
        }
        pb::TxnRequest req;
        auto *cmp = req.add_compare();
        cmp->set_key(k);
        cmp->set_target(pb::Compare::MOD);
        cmp->set_result(pb::Compare::EQUAL);
        cmp->set_mod_revision(it->second);
        auto *put = req.add_success()->mutable_request_put();
        put->set_key(k);
        put->set_value(value);
        pb::TxnResponse resp;
        grpc::ClientContext ctx;
        check(kv_->Txn(&ctx, req, &resp), "txn (cas)");
        if (!resp.succeeded()) throw Fail("etcd cas: compare failed on " + k);
        it->second = resp.header().revision();
        break;
      }
      case Op::Children:
        list(key);
        break;
    }
  }

  void async_run(Op op, int window, int total,
                 const std::function<std::string(int)> &key_of,
                 const std::string &value) override {
    Window w(window, total, [&](int i, Window::Done done) {
      std::string k = etcd_key(key_of(i));
      auto finish = [done = std::move(done)](const grpc::Status &status) {
        done(status.ok(), status.error_message());
      };
      switch (op) {
        case Op::Get:
        case Op::Exists: {
          auto *call = new Call<pb::RangeRequest, pb::RangeResponse>;
          call->req.set_key(k);
          call->req.set_keys_only(op == Op::Exists);
          kv_->async()->Range(
              &call->ctx, &call->req, &call->resp, [call, finish](grpc::Status status) {
                std::unique_ptr<std::remove_pointer_t<decltype(call)>> owned(call);
                finish(status);
              });
          break;
        }
        case Op::Set: {
          auto *call = new Call<pb::PutRequest, pb::PutResponse>;
          call->req.set_key(k);
          call->req.set_value(value);
          kv_->async()->Put(
              &call->ctx, &call->req, &call->resp, [call, finish](grpc::Status status) {
                std::unique_ptr<std::remove_pointer_t<decltype(call)>> owned(call);
                finish(status);
              });
          break;
        }
        case Op::Create: {
          auto *call = new Call<pb::TxnRequest, pb::TxnResponse>;
          fill_create(call->req, k, value);
          kv_->async()->Txn(
              &call->ctx, &call->req, &call->resp, [call, finish](grpc::Status status) {
                std::unique_ptr<std::remove_pointer_t<decltype(call)>> owned(call);
                if (status.ok() && !call->resp.succeeded())
                  status = grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "exists");
                finish(status);
              });
          break;
        }
        default:
          finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "op"));
          break;
      }
    });
    w.run();
  }

  std::size_t list(const std::string &dir) override {
    std::string prefix = etcd_key(dir) + "/";
    pb::RangeRequest req;
    req.set_key(prefix);
    req.set_range_end(prefix_end(prefix));
    req.set_keys_only(true);
    pb::RangeResponse resp;
    grpc::ClientContext ctx;
    check(kv_->Range(&ctx, req, &resp), "range (children)");
    return resp.kvs_size();
  }

  void txn_sets(const std::vector<std::string> &keys, const std::string &value) override {
    pb::TxnRequest req;
    for (const auto &key : keys) {
      auto *put = req.add_success()->mutable_request_put();
      put->set_key(etcd_key(key));
      put->set_value(value);
    }
    pb::TxnResponse resp;
    grpc::ClientContext ctx;
    check(kv_->Txn(&ctx, req, &resp), "txn");
  }

  double watch_delivery(const std::string &key, const std::string &value) override {
    std::string k = etcd_key(key);
    if (!watch_stream_) open_watch(k);
    if (k != watched_key_) throw Fail("etcd bench: one watched key per subject");
    std::uint64_t before = events_.load();
    settle();
    std::int64_t start = now_ns();
    sync_op(Op::Set, key, value);
    std::unique_lock<std::mutex> lock(watch_mu_);
    if (!watch_cv_.wait_for(lock, std::chrono::seconds(30),
                            [&] { return events_.load() > before; }))
      throw Fail("etcd watch: no event within 30 s");
    return (last_event_ns_ - start) / 1e3;
  }

  void erase_tree(const std::string &dir) override {
    std::string k = etcd_key(dir);
    for (int part = 0; part < 2; ++part) {
      pb::DeleteRangeRequest req;
      req.set_key(part == 0 ? k : k + "/");
      if (part == 1) req.set_range_end(prefix_end(k + "/"));
      pb::DeleteRangeResponse resp;
      grpc::ClientContext ctx;
      check(kv_->DeleteRange(&ctx, req, &resp), "delete (tree)");
    }
    revisions_.clear();
  }

 private:
  template <class Req, class Resp>
  struct Call {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };

  static void fill_create(pb::TxnRequest &req, const std::string &k,
                          const std::string &value) {
    auto *cmp = req.add_compare();
    cmp->set_key(k);
    cmp->set_target(pb::Compare::CREATE);
    cmp->set_result(pb::Compare::EQUAL);
    cmp->set_create_revision(0);
    auto *put = req.add_success()->mutable_request_put();
    put->set_key(k);
    put->set_value(value);
  }

  void create(const std::string &k, const std::string &value) {
    pb::TxnRequest req;
    fill_create(req, k, value);
    pb::TxnResponse resp;
    grpc::ClientContext ctx;
    check(kv_->Txn(&ctx, req, &resp), "txn (create)");
    if (!resp.succeeded()) throw Fail("etcd create: exists " + k);
  }

  // One Watch stream on one key, read by a thread of its own; etcd's watches persist.
  void open_watch(const std::string &k) {
    watch_stream_ = watch_stub_->Watch(&watch_ctx_);
    pb::WatchRequest req;
    req.mutable_create_request()->set_key(k);
    if (!watch_stream_->Write(req)) throw Fail("etcd watch: stream refused the request");
    pb::WatchResponse resp;
    if (!watch_stream_->Read(&resp) || !resp.created())
      throw Fail("etcd watch: not created");
    watched_key_ = k;
    watch_reader_ = std::thread([this] {
      pb::WatchResponse r;
      while (watch_stream_->Read(&r)) {
        if (r.events_size() == 0) continue;
        std::lock_guard<std::mutex> lock(watch_mu_);
        last_event_ns_ = now_ns();
        events_ += r.events_size();
        watch_cv_.notify_all();
      }
    });
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_stub_;
  std::map<std::string, std::int64_t> revisions_;
  grpc::ClientContext watch_ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>>
      watch_stream_;
  std::thread watch_reader_;
  std::string watched_key_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  std::atomic<std::uint64_t> events_{0};
  std::int64_t last_event_ns_ = 0;
};

}  // namespace

std::unique_ptr<Subject> make_etcd_native(const std::string &host_port) {
  return std::make_unique<EtcdSubject>(host_port);
}

}  // namespace bench
