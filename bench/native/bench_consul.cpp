// Consul's KV HTTP API through raw libcurl: one reused easy handle for the sync calls
// (keep-alive), curl multi with one easy handle per request in flight for the async
// runs. Reads are ?consistent, as offkv's linearizable reads.
#include <curl/curl.h>

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench.hpp"

namespace bench {
namespace {

using nlohmann::json;

std::string consul_key(const std::string &key) { return key.substr(1); }

std::string base64(const std::string &in) {
  static const char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 |
                 (unsigned char)in[i + 2];
    out += {table[v >> 18], table[v >> 12 & 63], table[v >> 6 & 63], table[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {table[v >> 18], table[v >> 12 & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {table[v >> 18], table[v >> 12 & 63], table[v >> 6 & 63], '='};
  }
  return out;
}

std::size_t append(char *data, std::size_t size, std::size_t n, void *out) {
  static_cast<std::string *>(out)->append(data, size * n);
  return size * n;
}

// One easy handle and what its request needs to stay alive while it runs.
struct Request {
  CURL *curl = curl_easy_init();
  curl_slist *headers = curl_slist_append(nullptr, "Expect:");  // no 100-continue wait
  std::string url, body, answer;
  long status = 0;
  Window::Done done;  // async runs only
  Request() {
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  }
  ~Request() {
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
  }
  // Prepares method target [body] on this handle (connection kept from the last use).
  void prepare(const std::string &base, const char *method, const std::string &target,
               std::string payload = std::string()) {
    url = base + target;
    body = std::move(payload);
    answer.clear();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    if (std::string(method) == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, long(body.size()));
    }
  }
  // Performs the prepared request; returns the HTTP status.
  long perform() {
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) throw Fail(std::string("consul: ") + curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
};

class ConsulSubject : public Subject {
 public:
  explicit ConsulSubject(const std::string &host_port) : base_("http://" + host_port) {}
  std::string name() const override { return "libcurl"; }

  void ensure_dir(const std::string &) override {}  // Consul's keys are flat

  void sync_op(Op op, const std::string &key, const std::string &value) override {
    std::string k = consul_key(key);
    switch (op) {
      case Op::Get:
      case Op::Exists: {
        json kvs = call("GET", "/v1/kv/" + k + "?consistent", "", {200});
        (void)kvs.at(0).at("ModifyIndex").get<std::int64_t>();
        break;
      }
      case Op::Set:
        call("PUT", "/v1/kv/" + k, value, {200});
        break;
      case Op::Create:
        create(k, value);
        break;
      case Op::CreateErase:
        create(k, value);
        call("DELETE", "/v1/kv/" + k, "", {200});
        break;
      case Op::Cas: {
        auto it = indexes_.find(k);
        if (it == indexes_.end()) {
          json kvs = call("GET", "/v1/kv/" + k + "?consistent", "", {200});
          it = indexes_.emplace(k, kvs.at(0).at("ModifyIndex").get<std::int64_t>()).first;
        }
        // One /v1/txn "cas": unlike PUT ?cas= it answers the new ModifyIndex.
        json ops = json::array({{{"KV",
                                  {{"Verb", "cas"},
                                   {"Key", k},
                                   {"Value", base64(value)},
                                   {"Index", it->second}}}}});
        json answer = call("PUT", "/v1/txn", ops.dump(), {200});
        it->second =
            answer.at("Results").at(0).at("KV").at("ModifyIndex").get<std::int64_t>();
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
    CURLM *multi = curl_multi_init();
    std::vector<std::unique_ptr<Request>> handles;
    int started = 0, ended = 0;
    std::string error;
    auto start = [&](Request &r) {
      std::string k = consul_key(key_of(started++));
      switch (op) {
        case Op::Get:
        case Op::Exists:
          r.prepare(base_, "GET", "/v1/kv/" + k + "?consistent");
          break;
        case Op::Set:
          r.prepare(base_, "PUT", "/v1/kv/" + k, value);
          break;
        case Op::Create:
          r.prepare(base_, "PUT", "/v1/kv/" + k + "?cas=0", value);
          break;
        default:
          throw Fail("consul bench: no async form for " + std::string(op_name(op)));
      }
      curl_multi_add_handle(multi, r.curl);
    };
    for (int i = 0; i < std::min(window, total); ++i) {
      handles.push_back(std::make_unique<Request>());
      curl_easy_setopt(handles.back()->curl, CURLOPT_PRIVATE, handles.back().get());
      start(*handles.back());
    }
    while (ended < started) {
      int running = 0;
      curl_multi_perform(multi, &running);
      int queued = 0;
      while (CURLMsg *msg = curl_multi_info_read(multi, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Request *r = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(multi, r->curl);
        ++ended;
        long status = 0;
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK && error.empty()) error = curl_easy_strerror(rc);
        if (rc == CURLE_OK && status != 200 && error.empty())
          error = "HTTP " + std::to_string(status) + " " + r->answer;
        if (rc == CURLE_OK && op == Op::Create && r->answer.rfind("true", 0) != 0 &&
            error.empty())
          error = "create refused: " + r->answer;
        if (error.empty() && started < total) start(*r);
      }
      if (ended < started) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    for (auto &r : handles) curl_multi_remove_handle(multi, r->curl);
    handles.clear();
    curl_multi_cleanup(multi);
    if (!error.empty()) throw Fail("consul async: " + error);
  }

  std::size_t list(const std::string &dir) override {
    json keys = call("GET", "/v1/kv/" + consul_key(dir) + "/?keys&separator=/&consistent",
                     "", {200, 404});
    return keys.is_array() ? keys.size() : 0;
  }

  void txn_sets(const std::vector<std::string> &keys, const std::string &value) override {
    json ops = json::array();
    std::string encoded = base64(value);
    for (const auto &key : keys)
      ops.push_back(
          {{"KV", {{"Verb", "set"}, {"Key", consul_key(key)}, {"Value", encoded}}}});
    call("PUT", "/v1/txn", ops.dump(), {200});
  }

  double watch_delivery(const std::string &key, const std::string &value) override {
    std::string k = consul_key(key);
    json kvs = call("GET", "/v1/kv/" + k + "?consistent", "", {200});
    auto index = kvs.at(0).at("ModifyIndex").get<std::int64_t>();
    // A blocking query on its own thread and handle, as a watching program would.
    std::int64_t delivered = 0;
    std::string error;
    std::thread watcher([&] {
      try {
        watch_request_.prepare(
            base_, "GET",
            "/v1/kv/" + k + "?index=" + std::to_string(index) + "&wait=30s");
        long status = watch_request_.perform();
        delivered = now_ns();
        if (status != 200)
          error = "HTTP " + std::to_string(status);
        else if (json::parse(watch_request_.answer)
                     .at(0)
                     .at("ModifyIndex")
                     .get<std::int64_t>() <= index)
          error = "blocking query ended without a change (wait elapsed)";
      } catch (const std::exception &e) {
        error = e.what();
      }
    });
    settle();
    std::int64_t start = now_ns();
    try {
      sync_op(Op::Set, key, value);
    } catch (...) {
      watcher.join();
      throw;
    }
    watcher.join();
    if (!error.empty()) throw Fail("consul watch: " + error);
    return (delivered - start) / 1e3;
  }

  void erase_tree(const std::string &dir) override {
    std::string k = consul_key(dir);
    call("DELETE", "/v1/kv/" + k, "", {200});
    call("DELETE", "/v1/kv/" + k + "/?recurse", "", {200});
    indexes_.clear();
  }

 private:
  json call(const char *method, const std::string &target, const std::string &body,
            std::initializer_list<long> ok) {
    sync_.prepare(base_, method, target, body);
    long status = sync_.perform();
    if (std::find(ok.begin(), ok.end(), status) == ok.end())
      throw Fail("consul " + std::string(method) + " " + target + ": HTTP " +
                 std::to_string(status) + " " + sync_.answer);
    if (status == 404 || sync_.answer.empty()) return json();
    return json::parse(sync_.answer);
  }

  void create(const std::string &k, const std::string &value) {
    json answer = call("PUT", "/v1/kv/" + k + "?cas=0", value, {200});
    if (answer != true) throw Fail("consul create: exists " + k);
  }

  std::string base_;
  Request sync_, watch_request_;
  std::map<std::string, std::int64_t> indexes_;
};

}  // namespace

std::unique_ptr<Subject> make_consul_native(const std::string &host_port) {
  return std::make_unique<ConsulSubject>(host_port);
}

}  // namespace bench
