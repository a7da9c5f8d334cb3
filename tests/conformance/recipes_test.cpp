// SPEC §7: the recipes (leader election, leader detection, group membership, lock),
// through the C API, on every backend. They are built once in the core on the
// uniform operations, so these cases are the same everywhere; timeouts are generous
// (remote servers, loaded CI), "nothing happens" windows short.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "conformance.hpp"

using namespace conf;

namespace {

// Upper bound for a recipe decision that must come (a few round trips each).
constexpr int kRecipeMs = 30000;

std::string s(const offkv_buf &b) { return b.data ? std::string(b.data, b.len) : ""; }

// A copy of an offkv_recipe_event that outlives the callback.
struct RecipeEv {
  int type = 0;
  bool has_member = false;
  std::string key;
  std::int64_t sequence = -1;
  std::string payload;
  std::string group;
  std::vector<std::pair<std::string, std::string>> members;  // key, payload
  int session_state = 0;
  int error = 0;
  std::string message;
  std::thread::id thread;
};

std::string recipe_type_name(int type) {
  switch (type) {
    case OFFKV_EVENT_LEADER:
      return "LEADER";
    case OFFKV_EVENT_NOT_LEADER:
      return "NOT_LEADER";
    case OFFKV_EVENT_DETECTED:
      return "DETECTED";
    case OFFKV_EVENT_MEMBERS:
      return "MEMBERS";
    default:
      return "type " + std::to_string(type);
  }
}

// Collects recipe events (thread-safe); cases wait on it. Owned by the Env (env.own)
// so it outlives every client whose close may still deliver to it.
class Events {
 public:
  static void callback(const offkv_recipe_event *e, void *user) {
    auto *self = static_cast<Events *>(user);
    RecipeEv ev;
    ev.type = e->type;
    ev.has_member = e->member != nullptr;
    if (e->member) {
      ev.key = e->member->key;
      ev.sequence = e->member->sequence;
      ev.payload = s(e->member->payload);
    }
    ev.group = e->group ? e->group : "";
    for (size_t i = 0; i < e->member_count; ++i)
      ev.members.emplace_back(e->members[i]->key, s(e->members[i]->payload));
    ev.session_state = e->session_state;
    ev.error = e->error;
    ev.message = e->message ? e->message : "";
    ev.thread = std::this_thread::get_id();
    std::function<void(const RecipeEv &)> hook;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->events_.push_back(ev);
      hook = self->hook_;
    }
    self->cv_.notify_all();
    if (hook) hook(ev);
  }

  void on_event(std::function<void(const RecipeEv &)> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    hook_ = std::move(hook);
  }

  // The next event not yet taken.
  std::optional<RecipeEv> next(int timeout_ms = kRecipeMs) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return taken_ < events_.size(); }))
      return std::nullopt;
    return events_[taken_++];
  }

  // Takes events until one satisfies pred (the others are skipped).
  std::optional<RecipeEv> until(const std::function<bool(const RecipeEv &)> &pred,
                                int timeout_ms = kRecipeMs) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return std::nullopt;
      auto ev = next(static_cast<int>(left));
      if (!ev) return std::nullopt;
      if (pred(*ev)) return ev;
    }
  }

  bool quiet(int ms = kQuietMs) {
    std::unique_lock<std::mutex> lock(mutex_);
    return !cv_.wait_for(lock, std::chrono::milliseconds(ms),
                         [&] { return taken_ < events_.size(); });
  }

  std::vector<RecipeEv> all() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<RecipeEv> events_;
  std::size_t taken_ = 0;
  std::function<void(const RecipeEv &)> hook_;
};

// RAII owners: freed before the Env closes the clients (declare them after the Env).
struct Election {
  offkv_election *e = nullptr;
  ~Election() { offkv_election_free(e); }
  operator offkv_election *() const { return e; }
};
struct Detector {
  offkv_detector *d = nullptr;
  ~Detector() { offkv_detector_free(d); }
  operator offkv_detector *() const { return d; }
};
struct Group {
  offkv_group *g = nullptr;
  ~Group() { offkv_group_free(g); }
  operator offkv_group *() const { return g; }
};
struct Lock {
  offkv_lock *l = nullptr;
  ~Lock() { offkv_lock_free(l); }
  operator offkv_lock *() const { return l; }
};

void contend(offkv_client *c, const std::string &group, const std::string &payload,
             Events *events, Election &out) {
  REQUIRE_OK(offkv_election_contend(c, group.c_str(), payload.data(), payload.size(),
                                    events ? Events::callback : nullptr, events, &out.e));
  REQUIRE(out.e != nullptr);
}

bool is_leader(offkv_election *e) {
  int leader = -1;
  REQUIRE_OK(offkv_election_is_leader(e, &leader));
  REQUIRE((leader == 0 || leader == 1));
  return leader == 1;
}

struct MemberOut {
  std::string key;
  std::int64_t sequence = -1;
  std::int64_t version = 0;
  std::string payload;
};

MemberOut take(offkv_member &m) {
  MemberOut out{m.key ? m.key : "", m.sequence, m.version, s(m.payload)};
  offkv_member_free(&m);
  return out;
}

std::optional<MemberOut> own_member(offkv_election *e) {
  offkv_member m = OFFKV_MEMBER_INIT;
  int rc = offkv_election_member(e, &m);
  if (rc == OFFKV_ENOENT) return std::nullopt;
  REQUIRE(code_name(rc) == code_name(OFFKV_OK));
  return take(m);
}

std::optional<MemberOut> detected(offkv_detector *d) {
  offkv_member m = OFFKV_MEMBER_INIT;
  int rc = offkv_detector_leader(d, &m);
  if (rc == OFFKV_ENOENT) return std::nullopt;
  REQUIRE(code_name(rc) == code_name(OFFKV_OK));
  return take(m);
}

std::vector<MemberOut> members_of(offkv_group *g) {
  offkv_members list = OFFKV_MEMBERS_INIT;
  REQUIRE_OK(offkv_group_members(g, &list));
  std::vector<MemberOut> out;
  for (size_t i = 0; i < list.count; ++i)
    out.push_back({list.items[i]->key, list.items[i]->sequence, list.items[i]->version,
                   s(list.items[i]->payload)});
  offkv_members_free(&list);
  return out;
}

std::vector<std::string> payloads(const std::vector<MemberOut> &members) {
  std::vector<std::string> out;
  for (const auto &m : members) out.push_back(m.payload);
  return out;
}

std::vector<std::string> payloads(const RecipeEv &ev) {
  std::vector<std::string> out;
  for (const auto &m : ev.members) out.push_back(m.second);
  return out;
}

bool is_member_key_of(const std::string &key, const std::string &group) {
  const std::string base = group + "/member-";
  if (key.compare(0, base.size(), base) != 0) return false;
  std::string rest = key.substr(base.size());  // <16 hex>-<10 digits>
  return rest.size() == 27 && rest[16] == '-' &&
         std::all_of(rest.begin() + 17, rest.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

bool leader_event(const RecipeEv &e) { return e.type == OFFKV_EVENT_LEADER; }

}  // namespace

// ---------------------------------------------------------------- election

TEST_CASE("a single contender becomes leader and is told so on the event thread",
          "[recipes][election]") {
  Env env;
  Events &events = env.own<Events>();
  Election e;
  contend(env.c(), "/svc/leader", "host-a:5050", &events, e);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  CHECK(is_leader(e));
  auto ev = events.next();
  REQUIRE(ev);
  CHECK(recipe_type_name(ev->type) == "LEADER");
  CHECK(ev->thread != std::this_thread::get_id());
  CHECK(ev->error == OFFKV_OK);
  CHECK(ev->group == "/svc/leader");
  REQUIRE(ev->has_member);
  CHECK(is_member_key_of(ev->key, "/svc/leader"));
  CHECK(ev->payload == "host-a:5050");
  // The member node is an ordinary ephemeral child of the group holding the payload.
  auto own = own_member(e);
  REQUIRE(own);
  CHECK(own->key == ev->key);
  CHECK(own->sequence == ev->sequence);
  CHECK(own->sequence == sequence_number(own->key));
  CHECK(own->payload == "host-a:5050");
  CHECK(own->version == 1);
  CHECK(children(env.c(), "/svc/leader") == std::vector<std::string>{own->key});
  CHECK(value_of(env.c(), own->key) == "host-a:5050");
  CHECK(version_of(env.c(), "/svc") > 0);  // the parents were created
  CHECK(events.quiet());
}

TEST_CASE("the first contender leads; withdraw hands leadership to the next in order",
          "[recipes][election]") {
  Env env;
  std::vector<offkv_client *> clients{env.c(), env.open(), env.open()};
  std::vector<Events *> events;
  for (int i = 0; i < 3; ++i) events.push_back(&env.own<Events>());
  Election e[3];
  contend(clients[0], "/g", "c0", events[0], e[0]);
  REQUIRE_OK(offkv_election_wait(e[0], 1, kRecipeMs));
  contend(clients[1], "/g", "c1", events[1], e[1]);
  contend(clients[2], "/g", "c2", events[2], e[2]);
  // Both latecomers settle as non-leaders (their member exists, no LEADER comes).
  REQUIRE(eventually([&] { return own_member(e[1]) && own_member(e[2]); }, kRecipeMs));
  CHECK(events[1]->quiet());
  CHECK(events[2]->quiet());
  CHECK(is_leader(e[0]));
  CHECK_FALSE(is_leader(e[1]));
  CHECK_FALSE(is_leader(e[2]));
  CHECK(own_member(e[0])->sequence < own_member(e[1])->sequence);
  CHECK(own_member(e[1])->sequence < own_member(e[2])->sequence);
  CHECK_CODE(offkv_election_wait(e[1], 1, 300), OFFKV_ETIMEOUT);

  REQUIRE(events[0]->next());  // its LEADER
  std::string old_key = own_member(e[0])->key;
  REQUIRE_OK(offkv_election_withdraw(e[0]));
  // The withdrawn leader is told NOT_LEADER before withdraw returns, and its node is
  // gone.
  auto lost = events[0]->next(0);
  REQUIRE(lost);
  CHECK(recipe_type_name(lost->type) == "NOT_LEADER");
  CHECK(lost->error == OFFKV_OK);
  CHECK(lost->key == old_key);
  CHECK_FALSE(is_leader(e[0]));
  CHECK(version_of(env.c(), old_key) == 0);
  CHECK_CODE(offkv_election_member(e[0], nullptr), OFFKV_EINVAL);

  auto won = events[1]->next();
  REQUIRE(won);
  CHECK(recipe_type_name(won->type) == "LEADER");
  CHECK(won->payload == "c1");
  CHECK(is_leader(e[1]));
  CHECK_FALSE(is_leader(e[2]));
  CHECK(events[2]->quiet());

  // Withdrawing is final: no callback, no leadership, twice is fine.
  CHECK_OK(offkv_election_withdraw(e[0]));
  CHECK(events[0]->quiet());
  CHECK_CODE(offkv_election_wait(e[0], 1, 100), OFFKV_ECLOSED);
  CHECK_OK(offkv_election_wait(e[0], 0, 0));
  offkv_member m = OFFKV_MEMBER_INIT;
  CHECK_CODE(offkv_election_member(e[0], &m), OFFKV_ENOENT);
  CHECK(m.key == nullptr);
}

TEST_CASE("a middle contender leaving re-targets its successor without a leader change",
          "[recipes][election]") {
  Env env;
  std::vector<Events *> events;
  for (int i = 0; i < 3; ++i) events.push_back(&env.own<Events>());
  Election e[3];
  for (int i = 0; i < 3; ++i) {
    contend(env.open(), "/g", "c" + std::to_string(i), events[i], e[i]);
    if (i == 0) REQUIRE_OK(offkv_election_wait(e[0], 1, kRecipeMs));
  }
  REQUIRE(eventually([&] { return own_member(e[2]).has_value(); }, kRecipeMs));
  // c2 watches c1. c1 leaves: c2 must now watch c0, and stay a follower.
  REQUIRE_OK(offkv_election_withdraw(e[1]));
  CHECK(events[1]->quiet());  // never led: nothing to tell
  CHECK(events[2]->quiet(800));
  CHECK(is_leader(e[0]));
  CHECK_FALSE(is_leader(e[2]));
  // ... and it follows c0 when c0 leaves.
  REQUIRE_OK(offkv_election_withdraw(e[0]));
  REQUIRE_OK(offkv_election_wait(e[2], 1, kRecipeMs));
  auto won = events[2]->until(leader_event);
  REQUIRE(won);
  CHECK(won->payload == "c2");
}

TEST_CASE("closing the leader's client hands leadership over and tells it ECLOSED",
          "[recipes][election][sessions]") {
  Env env;
  offkv_client *a = env.open();
  Events &ea = env.own<Events>();
  Events &eb = env.own<Events>();
  Election first, second;
  contend(a, "/g", "a", &ea, first);
  REQUIRE_OK(offkv_election_wait(first, 1, kRecipeMs));
  contend(env.open(), "/g", "b", &eb, second);
  REQUIRE(eventually([&] { return own_member(second).has_value(); }, kRecipeMs));
  CHECK_FALSE(is_leader(second));
  REQUIRE(ea.next());  // LEADER

  REQUIRE_OK(offkv_close(a));  // its session ends at once, its member with it
  auto lost = ea.next();
  REQUIRE(lost);
  CHECK(recipe_type_name(lost->type) == "NOT_LEADER");
  CHECK(code_name(lost->error) == code_name(OFFKV_ECLOSED));
  CHECK_FALSE(is_leader(first));
  REQUIRE_OK(offkv_election_wait(second, 1, kRecipeMs));
  auto won = eb.next();
  REQUIRE(won);
  CHECK(recipe_type_name(won->type) == "LEADER");
  // The closed contender stays out: waiting for leadership is ECLOSED.
  CHECK_CODE(offkv_election_wait(first, 1, 100), OFFKV_ECLOSED);
  CHECK_OK(offkv_election_withdraw(first));  // its node went with the session: fine
  CHECK(ea.quiet());
}

TEST_CASE("a leader whose member node is erased by someone steps down and re-contends",
          "[recipes][election]") {
  Env env;
  Events &ea = env.own<Events>();
  Events &eb = env.own<Events>();
  Election a, b;
  contend(env.open(), "/g", "a", &ea, a);
  REQUIRE_OK(offkv_election_wait(a, 1, kRecipeMs));
  contend(env.open(), "/g", "b", &eb, b);
  REQUIRE(eventually([&] { return own_member(b).has_value(); }, kRecipeMs));
  REQUIRE(ea.next());  // LEADER
  std::string old_key = own_member(a)->key;

  REQUIRE_OK(offkv_erase(env.c(), old_key.c_str(), 0));  // an operator's mistake
  auto lost = ea.next();
  REQUIRE(lost);
  CHECK(recipe_type_name(lost->type) == "NOT_LEADER");
  CHECK(code_name(lost->error) == code_name(OFFKV_ENOENT));
  REQUIRE_OK(offkv_election_wait(b, 1, kRecipeMs));
  // a re-contends behind b with a new member node.
  REQUIRE(eventually(
      [&] {
        auto m = own_member(a);
        return m && m->key != old_key;
      },
      kRecipeMs));
  CHECK(own_member(a)->sequence > own_member(b)->sequence);
  CHECK_FALSE(is_leader(a));
  CHECK(ea.quiet());
  REQUIRE_OK(offkv_election_withdraw(b));
  REQUIRE_OK(offkv_election_wait(a, 1, kRecipeMs));
  CHECK(ea.until(leader_event));
}

TEST_CASE("LEADER and NOT_LEADER strictly alternate, LEADER first",
          "[recipes][election]") {
  Env env;
  Events &events = env.own<Events>();
  Election e;
  contend(env.open(), "/g", "x", &events, e);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  // Knock its node out a few times; it steps down and comes back each time.
  for (int round = 0; round < 3; ++round) {
    auto m = own_member(e);
    REQUIRE(m);
    REQUIRE_OK(offkv_erase(env.c(), m->key.c_str(), 0));
    REQUIRE(eventually(
        [&] {
          auto now = own_member(e);
          return now && now->key != m->key && is_leader(e);
        },
        kRecipeMs));
  }
  REQUIRE_OK(offkv_election_withdraw(e));
  auto all = events.all();
  REQUIRE(all.size() >= 2);
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO("event " << i << " " << recipe_type_name(all[i].type));
    CHECK(all[i].type == (i % 2 == 0 ? OFFKV_EVENT_LEADER : OFFKV_EVENT_NOT_LEADER));
  }
  CHECK(all.back().type == OFFKV_EVENT_NOT_LEADER);
}

TEST_CASE("a callback may call offkv functions and withdraw its own election",
          "[recipes][election][threads]") {
  Env env;
  Events &events = env.own<Events>();
  Events &next_events = env.own<Events>();
  struct Ctx {
    std::atomic<offkv_election *> self{nullptr};
    offkv_client *client = nullptr;
    std::atomic<int> withdraw_rc{-1};
    std::atomic<int> get_rc{-1};
  };
  Ctx &ctx = env.own<Ctx>();
  ctx.client = env.open();
  events.on_event([&](const RecipeEv &ev) {
    if (ev.type != OFFKV_EVENT_LEADER) return;
    offkv_buf buf{nullptr, 0};
    ctx.get_rc = offkv_get(ctx.client, ev.key.c_str(), &buf, nullptr);
    offkv_buf_free(&buf);
    while (!ctx.self) std::this_thread::yield();
    ctx.withdraw_rc = offkv_election_withdraw(ctx.self);
  });
  Election e, other;
  REQUIRE_OK(offkv_election_contend(ctx.client, "/g", "self", 4, Events::callback,
                                    &events, &e.e));
  ctx.self = e.e;
  contend(env.open(), "/g", "next", &next_events, other);
  // It became leader, read its node from the callback, withdrew from the callback.
  auto won = next_events.until(leader_event);
  REQUIRE(won);
  CHECK(won->payload == "next");
  CHECK(ctx.get_rc == OFFKV_OK);
  // The successor may be told before withdraw has returned on the other thread.
  CHECK(eventually([&] { return ctx.withdraw_rc != -1; }, kRecipeMs));
  CHECK(ctx.withdraw_rc == OFFKV_OK);
  auto all = events.all();
  REQUIRE(all.size() == 2);  // LEADER, then the nested NOT_LEADER of the withdraw
  CHECK(recipe_type_name(all[0].type) == "LEADER");
  CHECK(recipe_type_name(all[1].type) == "NOT_LEADER");
  CHECK(all[1].error == OFFKV_OK);
  REQUIRE(events.next(0));
  REQUIRE(events.next(0));
  CHECK(events.quiet());
}

TEST_CASE("other children of the group are ignored by the election",
          "[recipes][election]") {
  Env env;
  create(env.c(), "/g");
  create(env.c(), "/g/config", "not a member");
  create(env.c(), "/g/aaa", "sorts first");
  create(env.c(), "/g/member-x", "looks alike");
  Events &events = env.own<Events>();
  Election e;
  contend(env.open(), "/g", "p", &events, e);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  CHECK(events.until(leader_event));
  CHECK(children(env.c(), "/g").size() == 4);
}

TEST_CASE("an empty payload and a payload with NUL bytes are kept exactly",
          "[recipes][election][detector]") {
  Env env;
  const std::string binary = all_bytes();
  Election a, b;
  Detector d;
  REQUIRE_OK(offkv_detector_open(env.c(), "/g", nullptr, nullptr, &d.d));
  REQUIRE_OK(offkv_election_contend(env.open(), "/g", binary.data(), binary.size(),
                                    nullptr, nullptr, &a.e));
  REQUIRE_OK(offkv_election_wait(a, 1, kRecipeMs));
  REQUIRE(eventually([&] { return detected(d).has_value(); }, kRecipeMs));
  CHECK(detected(d)->payload == binary);
  CHECK(own_member(a)->payload == binary);
  REQUIRE_OK(
      offkv_election_contend(env.open(), "/g", nullptr, 0, nullptr, nullptr, &b.e));
  REQUIRE_OK(offkv_election_withdraw(a));
  REQUIRE_OK(offkv_election_wait(b, 1, kRecipeMs));
  REQUIRE(
      eventually([&] { return detected(d) && detected(d)->payload.empty(); }, kRecipeMs));
}

// ---------------------------------------------------------------- detector

TEST_CASE("a detector reports no leader, then each leader, then no leader again",
          "[recipes][detector]") {
  Env env;
  Events &events = env.own<Events>();
  Detector d;
  REQUIRE_OK(
      offkv_detector_open(env.c(), "/mesos/masters", Events::callback, &events, &d.d));
  // The group does not exist: the first view is "no leader".
  auto first = events.next();
  REQUIRE(first);
  CHECK(recipe_type_name(first->type) == "DETECTED");
  CHECK_FALSE(first->has_member);
  CHECK(first->error == OFFKV_OK);
  CHECK(first->thread != std::this_thread::get_id());
  CHECK_FALSE(detected(d));
  CHECK(version_of(env.c(), "/mesos") == 0);  // detecting creates nothing

  Election a, b;
  contend(env.open(), "/mesos/masters", "master-a:5050", nullptr, a);
  auto seen = events.next();
  REQUIRE(seen);
  CHECK(recipe_type_name(seen->type) == "DETECTED");
  REQUIRE(seen->has_member);
  CHECK(seen->payload == "master-a:5050");
  CHECK(seen->key == own_member(a)->key);
  CHECK(seen->group == "/mesos/masters");
  auto now = detected(d);
  REQUIRE(now);
  CHECK(now->payload == "master-a:5050");
  CHECK(now->sequence == own_member(a)->sequence);

  contend(env.open(), "/mesos/masters", "master-b:5050", nullptr, b);
  REQUIRE(eventually([&] { return own_member(b).has_value(); }, kRecipeMs));
  CHECK(events.quiet());  // a follower joining changes nothing

  REQUIRE_OK(offkv_election_withdraw(a));
  seen = events.next();
  REQUIRE(seen);
  REQUIRE(seen->has_member);
  CHECK(seen->payload == "master-b:5050");

  REQUIRE_OK(offkv_election_withdraw(b));
  seen = events.next();
  REQUIRE(seen);
  CHECK(recipe_type_name(seen->type) == "DETECTED");
  CHECK_FALSE(seen->has_member);
  CHECK(seen->error == OFFKV_OK);
  CHECK_FALSE(detected(d));
  CHECK(events.quiet());
}

TEST_CASE("a detector does not contend and sees leaders of every client",
          "[recipes][detector]") {
  Env env;
  Detector d1, d2;
  REQUIRE_OK(offkv_detector_open(env.open(), "/g", nullptr, nullptr, &d1.d));
  REQUIRE_OK(offkv_detector_open(env.open(), "/g", nullptr, nullptr, &d2.d));
  Election e;
  contend(env.open(), "/g", "only", nullptr, e);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  REQUIRE(eventually([&] { return detected(d1) && detected(d2); }, kRecipeMs));
  CHECK(children(env.c(), "/g").size() == 1);  // only the contender's member
  CHECK(detected(d1)->key == detected(d2)->key);
}

TEST_CASE("detector_wait returns when the leader differs from the one given",
          "[recipes][detector]") {
  Env env;
  Detector d;
  REQUIRE_OK(offkv_detector_open(env.c(), "/g", nullptr, nullptr, &d.d));
  offkv_member m = OFFKV_MEMBER_INIT;
  // Nothing differs from "no leader": times out, out-parameter zeroed.
  CHECK_CODE(offkv_detector_wait(d, nullptr, 300, &m), OFFKV_ETIMEOUT);
  CHECK(m.key == nullptr);

  Election a, b;
  contend(env.open(), "/g", "a", nullptr, a);
  REQUIRE_OK(offkv_detector_wait(d, nullptr, kRecipeMs, &m));
  MemberOut leader = take(m);
  CHECK(leader.payload == "a");
  // Asking with the current leader's key waits for the next change.
  CHECK_CODE(offkv_detector_wait(d, leader.key.c_str(), 300, &m), OFFKV_ETIMEOUT);
  contend(env.open(), "/g", "b", nullptr, b);
  REQUIRE(eventually([&] { return own_member(b).has_value(); }, kRecipeMs));
  REQUIRE_OK(offkv_election_withdraw(a));
  REQUIRE_OK(offkv_detector_wait(d, leader.key.c_str(), kRecipeMs, &m));
  MemberOut next = take(m);
  CHECK(next.payload == "b");
  CHECK(next.sequence > leader.sequence);
  // A change to "no leader" is ENOENT.
  REQUIRE_OK(offkv_election_withdraw(b));
  CHECK_CODE(offkv_detector_wait(d, next.key.c_str(), kRecipeMs, &m), OFFKV_ENOENT);
  CHECK(m.key == nullptr);
  // A stale previous key returns the current view at once.
  CHECK_CODE(offkv_detector_wait(d, "/g/member-gone", 0, &m), OFFKV_ENOENT);
}

TEST_CASE("a detector reports a changed payload of the leader", "[recipes][detector]") {
  Env env;
  Events &events = env.own<Events>();
  Detector d;
  REQUIRE_OK(offkv_detector_open(env.c(), "/g", Events::callback, &events, &d.d));
  Group member;
  REQUIRE_OK(offkv_group_open(env.open(), "/g", nullptr, nullptr, &member.g));
  REQUIRE_OK(offkv_group_join(member, "v1", 2));
  auto ev = events.until([](const RecipeEv &e) { return e.has_member; });
  REQUIRE(ev);
  CHECK(ev->payload == "v1");
  REQUIRE_OK(offkv_group_update(member, "v2", 2));
  ev = events.next();
  REQUIRE(ev);
  CHECK(ev->payload == "v2");
  CHECK(detected(d)->payload == "v2");
}

TEST_CASE("a detector follows a group that is erased and created again",
          "[recipes][detector]") {
  Env env;
  Detector d;
  REQUIRE_OK(offkv_detector_open(env.c(), "/a/g", nullptr, nullptr, &d.d));
  Election e;
  contend(env.open(), "/a/g", "one", nullptr, e);
  REQUIRE(eventually([&] { return detected(d).has_value(); }, kRecipeMs));
  REQUIRE_OK(offkv_election_withdraw(e));
  REQUIRE_OK(offkv_erase(env.c(), "/a", 0));
  REQUIRE(eventually([&] { return !detected(d); }, kRecipeMs));
  Election again;
  contend(env.open(), "/a/g", "two", nullptr, again);
  REQUIRE(eventually([&] { return detected(d) && detected(d)->payload == "two"; },
                     kRecipeMs));
}

TEST_CASE("a closed detector is never called again", "[recipes][detector]") {
  Env env;
  Events &events = env.own<Events>();
  Detector d;
  REQUIRE_OK(offkv_detector_open(env.c(), "/g", Events::callback, &events, &d.d));
  REQUIRE(events.next());  // the first view
  REQUIRE_OK(offkv_detector_close(d));
  CHECK_OK(offkv_detector_close(d));
  Election e;
  contend(env.open(), "/g", "x", nullptr, e);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  CHECK(events.quiet());
  offkv_member m = OFFKV_MEMBER_INIT;
  CHECK_CODE(offkv_detector_wait(d, nullptr, 100, &m), OFFKV_ECLOSED);
}

// ---------------------------------------------------------------- group membership

TEST_CASE("members join with payloads, are listed in join order, and leave",
          "[recipes][group]") {
  Env env;
  Group g[3];
  for (int i = 0; i < 3; ++i) {
    REQUIRE_OK(offkv_group_open(env.open(), "/svc/web", nullptr, nullptr, &g[i].g));
    std::string p = "10.0.0." + std::to_string(i + 1) + ":80";
    REQUIRE_OK(offkv_group_join(g[i], p.data(), p.size()));
  }
  auto list = members_of(g[0]);
  CHECK(payloads(list) ==
        std::vector<std::string>{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"});
  REQUIRE(list.size() == 3);
  CHECK(list[0].sequence < list[1].sequence);
  CHECK(list[1].sequence < list[2].sequence);
  offkv_member self = OFFKV_MEMBER_INIT;
  REQUIRE_OK(offkv_group_self(g[1], &self));
  MemberOut me = take(self);
  CHECK(me.key == list[1].key);
  CHECK(me.payload == "10.0.0.2:80");
  CHECK(is_member_key_of(me.key, "/svc/web"));

  REQUIRE_OK(offkv_group_leave(g[1]));
  CHECK(payloads(members_of(g[0])) ==
        std::vector<std::string>{"10.0.0.1:80", "10.0.0.3:80"});
  CHECK_CODE(offkv_group_self(g[1], &self), OFFKV_ENOENT);
  CHECK_CODE(offkv_group_leave(g[1]), OFFKV_EINVAL);  // not a member any more
  // A handle may join again after leaving: at the end of the line.
  REQUIRE_OK(offkv_group_join(g[1], "back", 4));
  CHECK(payloads(members_of(g[2])) ==
        std::vector<std::string>{"10.0.0.1:80", "10.0.0.3:80", "back"});
}

TEST_CASE("a group that does not exist has no members", "[recipes][group]") {
  Env env;
  Group g;
  REQUIRE_OK(offkv_group_open(env.c(), "/nothing/here", nullptr, nullptr, &g.g));
  CHECK(members_of(g).empty());
  CHECK(version_of(env.c(), "/nothing") == 0);
}

TEST_CASE("an observer is told every membership change", "[recipes][group]") {
  Env env;
  Events &events = env.own<Events>();
  Group observer, a, b;
  REQUIRE_OK(offkv_group_open(env.c(), "/grp", Events::callback, &events, &observer.g));
  auto ev = events.next();
  REQUIRE(ev);
  CHECK(recipe_type_name(ev->type) == "MEMBERS");
  CHECK(ev->members.empty());
  CHECK(ev->group == "/grp");
  CHECK(ev->thread != std::this_thread::get_id());

  offkv_client *ca = env.open();
  REQUIRE_OK(offkv_group_open(ca, "/grp", nullptr, nullptr, &a.g));
  REQUIRE_OK(offkv_group_join(a, "a1", 2));
  ev = events.next();
  REQUIRE(ev);
  CHECK(payloads(*ev) == std::vector<std::string>{"a1"});

  REQUIRE_OK(offkv_group_open(env.open(), "/grp", nullptr, nullptr, &b.g));
  REQUIRE_OK(offkv_group_join(b, "b1", 2));
  ev = events.next();
  REQUIRE(ev);
  CHECK(payloads(*ev) == std::vector<std::string>{"a1", "b1"});

  REQUIRE_OK(offkv_group_update(b, "b2", 2));
  ev = events.next();
  REQUIRE(ev);
  CHECK(payloads(*ev) == std::vector<std::string>{"a1", "b2"});

  REQUIRE_OK(offkv_group_leave(b));
  ev = events.next();
  REQUIRE(ev);
  CHECK(payloads(*ev) == std::vector<std::string>{"a1"});

  REQUIRE_OK(offkv_close(ca));  // a's session ends: its member goes
  ev = events.next();
  REQUIRE(ev);
  CHECK(ev->members.empty());
  CHECK(ev->error == OFFKV_OK);
  CHECK(events.quiet());

  // The observer's handle can join too, and sees itself.
  REQUIRE_OK(offkv_group_join(observer, "me", 2));
  ev = events.next();
  REQUIRE(ev);
  CHECK(payloads(*ev) == std::vector<std::string>{"me"});
  REQUIRE_OK(offkv_group_close(observer));
  CHECK_OK(offkv_group_close(observer));
  CHECK(children(env.c(), "/grp").empty());  // closing left the group
  CHECK(events.quiet());
}

TEST_CASE(
    "update replaces the payload; join twice and update or leave unjoined are EINVAL",
    "[recipes][group]") {
  Env env;
  Group g, reader;
  REQUIRE_OK(offkv_group_open(env.open(), "/g", nullptr, nullptr, &g.g));
  REQUIRE_OK(offkv_group_open(env.open(), "/g", nullptr, nullptr, &reader.g));
  CHECK_CODE(offkv_group_update(g, "x", 1), OFFKV_EINVAL);
  CHECK_CODE(offkv_group_leave(g), OFFKV_EINVAL);
  REQUIRE_OK(offkv_group_join(g, "v1", 2));
  CHECK_CODE(offkv_group_join(g, "again", 5), OFFKV_EINVAL);
  CHECK(members_of(reader).size() == 1);
  REQUIRE_OK(offkv_group_update(g, "v2", 2));
  auto list = members_of(reader);
  REQUIRE(list.size() == 1);
  CHECK(list[0].payload == "v2");
  CHECK(list[0].version == 2);
  offkv_member self = OFFKV_MEMBER_INIT;
  REQUIRE_OK(offkv_group_self(g, &self));
  MemberOut me = take(self);
  CHECK(me.payload == "v2");
  CHECK(me.version == 2);
  // The member stays ephemeral after the update.
  offkv_client *owner = env.open();
  Group other;
  REQUIRE_OK(offkv_group_open(owner, "/g", nullptr, nullptr, &other.g));
  REQUIRE_OK(offkv_group_join(other, "o", 1));
  REQUIRE_OK(offkv_group_update(other, "o2", 2));
  CHECK(members_of(reader).size() == 2);
  REQUIRE_OK(offkv_close(owner));
  CHECK(payloads(members_of(reader)) == std::vector<std::string>{"v2"});
}

TEST_CASE("a membership erased by someone is re-created by itself", "[recipes][group]") {
  Env env;
  Group g, reader;
  REQUIRE_OK(offkv_group_open(env.open(), "/g", nullptr, nullptr, &g.g));
  REQUIRE_OK(offkv_group_open(env.open(), "/g", nullptr, nullptr, &reader.g));
  REQUIRE_OK(offkv_group_join(g, "keep-me", 7));
  REQUIRE_OK(offkv_group_update(g, "updated", 7));
  auto before = members_of(reader);
  REQUIRE(before.size() == 1);
  REQUIRE_OK(offkv_erase(env.c(), before[0].key.c_str(), 0));
  REQUIRE(eventually(
      [&] {
        auto now = members_of(reader);
        return now.size() == 1 && now[0].key != before[0].key;
      },
      kRecipeMs));
  CHECK(members_of(reader)[0].payload == "updated");
}

// ---------------------------------------------------------------- lock

TEST_CASE("a lock is acquired, held and released", "[recipes][lock]") {
  Env env;
  Lock l;
  REQUIRE_OK(offkv_lock_new(env.c(), "/locks/a", &l.l));
  int held = -1;
  REQUIRE_OK(offkv_lock_is_held(l, &held));
  CHECK(held == 0);
  CHECK(version_of(env.c(), "/locks") == 0);  // no I/O before acquire
  REQUIRE_OK(offkv_lock_acquire(l, kRecipeMs));
  REQUIRE_OK(offkv_lock_is_held(l, &held));
  CHECK(held == 1);
  offkv_member m = OFFKV_MEMBER_INIT;
  REQUIRE_OK(offkv_lock_member(l, &m));
  MemberOut me = take(m);
  CHECK(is_member_key_of(me.key, "/locks/a"));
  CHECK(children(env.c(), "/locks/a") == std::vector<std::string>{me.key});
  REQUIRE_OK(offkv_lock_release(l));
  REQUIRE_OK(offkv_lock_is_held(l, &held));
  CHECK(held == 0);
  CHECK(children(env.c(), "/locks/a").empty());
  CHECK_CODE(offkv_lock_release(l), OFFKV_EINVAL);
  CHECK_CODE(offkv_lock_member(l, &m), OFFKV_ENOENT);
  // Acquire again with "try once".
  REQUIRE_OK(offkv_lock_acquire(l, 0));
  REQUIRE_OK(offkv_lock_release(l));
}

TEST_CASE("a lock is not reentrant and two handles exclude each other",
          "[recipes][lock]") {
  Env env;
  Lock a, b;
  REQUIRE_OK(offkv_lock_new(env.c(), "/lk", &a.l));
  REQUIRE_OK(offkv_lock_new(env.c(), "/lk", &b.l));  // same client, another handle
  REQUIRE_OK(offkv_lock_acquire(a, kRecipeMs));
  CHECK_CODE(offkv_lock_acquire(a, 0), OFFKV_EINVAL);
  CHECK(contains(offkv_last_error(), "reentrant"));
  CHECK_CODE(offkv_lock_acquire(b, 0), OFFKV_ETIMEOUT);
  CHECK_CODE(offkv_lock_acquire(b, 300), OFFKV_ETIMEOUT);
  // A timed-out attempt leaves nothing behind.
  CHECK(children(env.c(), "/lk").size() == 1);
  int held = -1;
  REQUIRE_OK(offkv_lock_is_held(b, &held));
  CHECK(held == 0);
  REQUIRE_OK(offkv_lock_release(a));
  REQUIRE_OK(offkv_lock_acquire(b, kRecipeMs));
  REQUIRE_OK(offkv_lock_release(b));
}

TEST_CASE("a waiter gets the lock as soon as the holder releases", "[recipes][lock]") {
  Env env;
  Lock a, b;
  REQUIRE_OK(offkv_lock_new(env.open(), "/lk", &a.l));
  REQUIRE_OK(offkv_lock_new(env.open(), "/lk", &b.l));
  REQUIRE_OK(offkv_lock_acquire(a, kRecipeMs));
  std::atomic<int> rc{-1};
  std::thread waiter([&] { rc = offkv_lock_acquire(b, kRecipeMs); });
  REQUIRE(eventually([&] { return children(env.c(), "/lk").size() == 2; }, kRecipeMs));
  CHECK(rc == -1);
  REQUIRE_OK(offkv_lock_release(a));
  waiter.join();
  CHECK(rc == OFFKV_OK);
  REQUIRE_OK(offkv_lock_release(b));
}

TEST_CASE("the lock is released when the holder's session ends", "[recipes][lock]") {
  Env env;
  offkv_client *holder = env.open();
  Lock a, b;
  REQUIRE_OK(offkv_lock_new(holder, "/lk", &a.l));
  REQUIRE_OK(offkv_lock_new(env.open(), "/lk", &b.l));
  REQUIRE_OK(offkv_lock_acquire(a, kRecipeMs));
  std::atomic<int> rc{-1};
  std::thread waiter([&] { rc = offkv_lock_acquire(b, kRecipeMs); });
  REQUIRE(eventually([&] { return children(env.c(), "/lk").size() == 2; }, kRecipeMs));
  REQUIRE_OK(offkv_close(holder));
  waiter.join();
  CHECK(rc == OFFKV_OK);
  int held = -1;
  REQUIRE_OK(offkv_lock_is_held(a, &held));
  CHECK(held == 0);
  CHECK_CODE(offkv_lock_release(a), OFFKV_ECLOSED);
  CHECK_CODE(offkv_lock_acquire(a, 0), OFFKV_ECLOSED);
}

TEST_CASE("the lock gives mutual exclusion under contention",
          "[recipes][lock][concurrency]") {
  Env env;
  constexpr int kWorkers = 4;
  constexpr int kRounds = 5;
  create(env.c(), "/counter", "0");
  std::atomic<int> inside{0}, overlaps{0}, failures{0};
  std::mutex why_mutex;
  std::vector<std::string> why;  // what failed, for the report
  auto failed = [&](const char *call, int rc) {
    ++failures;
    std::lock_guard<std::mutex> lock(why_mutex);
    why.push_back(std::string(call) + ": " + offkv_error_name(rc) + ": " +
                  offkv_last_error());
  };
  std::vector<std::thread> workers;
  std::vector<offkv_client *> clients;
  for (int i = 0; i < kWorkers; ++i) clients.push_back(env.open());
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&, i] {
      offkv_lock *l = nullptr;
      if (int rc = offkv_lock_new(clients[i], "/lk", &l)) {
        failed("lock_new", rc);
        return;
      }
      for (int r = 0; r < kRounds; ++r) {
        if (int rc = offkv_lock_acquire(l, kRecipeMs)) {
          failed("acquire", rc);
          continue;
        }
        if (++inside > 1) ++overlaps;
        // A read-modify-write that only the lock makes safe.
        offkv_buf buf{nullptr, 0};
        if (int rc = offkv_get(clients[i], "/counter", &buf, nullptr)) failed("get", rc);
        int value = std::stoi(s(buf));
        offkv_buf_free(&buf);
        std::string next = std::to_string(value + 1);
        if (int rc = offkv_set(clients[i], "/counter", next.data(), next.size(), nullptr))
          failed("set", rc);
        --inside;
        if (int rc = offkv_lock_release(l)) failed("release", rc);
      }
      offkv_lock_free(l);
    });
  }
  for (auto &w : workers) w.join();
  for (const auto &line : why) UNSCOPED_INFO(line);
  CHECK(failures == 0);
  CHECK(overlaps == 0);
  CHECK(value_of(env.c(), "/counter") == std::to_string(kWorkers * kRounds));
  CHECK(children(env.c(), "/lk").empty());
}

TEST_CASE("a lock holder fences its writes with a check on its member node",
          "[recipes][lock][txn]") {
  Env env;
  Lock l;
  offkv_client *holder = env.open();
  REQUIRE_OK(offkv_lock_new(holder, "/lk", &l.l));
  REQUIRE_OK(offkv_lock_acquire(l, kRecipeMs));
  offkv_member m = OFFKV_MEMBER_INIT;
  REQUIRE_OK(offkv_lock_member(l, &m));
  MemberOut me = take(m);
  {
    Txn txn;
    txn.check(me.key, me.version).set("/data", "written under the lock");
    CHECK(commit(holder, txn).rc == OFFKV_OK);
  }
  // The holder's node vanishes as if its session had expired while it was paused.
  REQUIRE_OK(offkv_erase(env.c(), me.key.c_str(), 0));
  {
    Txn txn;
    txn.check(me.key, me.version).set("/data", "too late");
    Commit result = commit(holder, txn);
    CHECK(code_name(result.rc) == code_name(OFFKV_ETXN));
    CHECK(result.failed_index == 0);
  }
  CHECK(value_of(env.c(), "/data") == "written under the lock");
  CHECK_CODE(offkv_lock_release(l), OFFKV_ESESSION);  // the lock had been lost
}

TEST_CASE("members with ZooKeeper's wrapped sequence suffixes keep their order",
          "[recipes][group]") {
  // After 2^31 creations under one group ZooKeeper's signed 32-bit counter wraps:
  // the suffix turns negative ("-2147483648", 11 characters). Such members are
  // members, newer than every positive one.
  Env env;
  create(env.c(), "/g");
  create(env.c(), "/g/member-cccccccccccccccc--000000001", "newest");
  create(env.c(), "/g/member-aaaaaaaaaaaaaaaa-2147483647", "old");
  create(env.c(), "/g/member-bbbbbbbbbbbbbbbb--2147483648", "wrapped");
  create(env.c(), "/g/member-dddddddddddddddd--2147483649", "not a sequence");
  offkv_group *g = nullptr;
  REQUIRE_OK(offkv_group_open(env.c(), "/g", nullptr, nullptr, &g));
  auto members = members_of(g);
  REQUIRE(members.size() == 3);
  CHECK(payloads(members) == std::vector<std::string>{"old", "wrapped", "newest"});
  CHECK(members[0].sequence == 2147483647LL);
  CHECK(members[1].sequence == 2147483648LL);
  CHECK(members[2].sequence == 4294967295LL);
  offkv_group_free(g);
  offkv_detector *d = nullptr;
  REQUIRE_OK(offkv_detector_open(env.c(), "/g", nullptr, nullptr, &d));
  offkv_member leader = OFFKV_MEMBER_INIT;
  REQUIRE_OK(offkv_detector_wait(d, nullptr, kRecipeMs, &leader));
  CHECK(std::string(leader.key) == "/g/member-aaaaaaaaaaaaaaaa-2147483647");
  offkv_member_free(&leader);
  offkv_detector_free(d);
}

// A watch that ends under a live session (a server-side cancel, made here by the test
// kit) must not stall a recipe: each re-runs its step, with backoff.
TEST_CASE("recipes re-arm a watch that ended under a live session",
          "[recipes][testkit]") {
  Env env;
  SECTION("an election: the follower is still elected") {
    offkv_client *follower = env.open();
    Events &events = env.own<Events>();
    Election a, b;
    contend(env.open(), "/el", "a", nullptr, a);
    REQUIRE_OK(offkv_election_wait(a, 1, kRecipeMs));
    contend(follower, "/el", "b", &events, b);
    REQUIRE(eventually([&] { return own_member(b).has_value(); }, kRecipeMs));
    REQUIRE_OK(offkv_testkit_end_watches(follower, OFFKV_EAUTH));
    REQUIRE_OK(offkv_election_withdraw(a));
    REQUIRE(events.until(leader_event));
    CHECK(is_leader(b));
  }
  SECTION("a detector: still reports each leader") {
    offkv_client *watcher = env.open();
    Events &events = env.own<Events>();
    Election a, b;
    contend(env.open(), "/dt", "a", nullptr, a);
    contend(env.open(), "/dt", "b", nullptr, b);
    REQUIRE_OK(offkv_election_wait(a, 1, kRecipeMs));
    Detector d;
    REQUIRE_OK(offkv_detector_open(watcher, "/dt", Events::callback, &events, &d.d));
    REQUIRE(events.until([](const RecipeEv &e) { return e.payload == "a"; }));
    REQUIRE_OK(offkv_testkit_end_watches(watcher, OFFKV_EAUTH));
    REQUIRE_OK(offkv_election_withdraw(a));
    REQUIRE(events.until([](const RecipeEv &e) { return e.payload == "b"; }));
  }
  SECTION("a group: the observer sees joins, a member re-creates its erased node") {
    offkv_client *observer_client = env.open();
    Events &events = env.own<Events>();
    Group observer, member;
    REQUIRE_OK(
        offkv_group_open(observer_client, "/gp", Events::callback, &events, &observer.g));
    REQUIRE(events.next());  // the first (empty) view
    REQUIRE_OK(offkv_group_join(observer, "me", 2));
    REQUIRE(events.until([](const RecipeEv &e) { return e.members.size() == 1; }));
    REQUIRE_OK(offkv_testkit_end_watches(observer_client, OFFKV_EAUTH));
    REQUIRE_OK(offkv_group_open(env.open(), "/gp", nullptr, nullptr, &member.g));
    REQUIRE_OK(offkv_group_join(member, "b1", 2));
    REQUIRE(events.until([](const RecipeEv &e) { return e.members.size() == 2; }));
    // Its own membership is kept too: erased by someone, it comes back.
    offkv_member self = OFFKV_MEMBER_INIT;
    REQUIRE_OK(offkv_group_self(observer, &self));
    std::string own = take(self).key;
    REQUIRE_OK(offkv_erase(env.c(), own.c_str(), 0));
    REQUIRE(eventually(
        [&] {
          offkv_member now = OFFKV_MEMBER_INIT;
          if (offkv_group_self(observer, &now) != OFFKV_OK) return false;
          MemberOut m = take(now);
          return m.key != own && m.payload == "me" && version_of(env.c(), m.key) != 0;
        },
        kRecipeMs));
  }
  SECTION("a lock waiter: still gets the lock when the holder releases") {
    offkv_client *waiter_client = env.open();
    Lock a, b;
    REQUIRE_OK(offkv_lock_new(env.open(), "/lw", &a.l));
    REQUIRE_OK(offkv_lock_new(waiter_client, "/lw", &b.l));
    REQUIRE_OK(offkv_lock_acquire(a, kRecipeMs));
    std::atomic<int> rc{-1};
    std::thread waiter([&] { rc = offkv_lock_acquire(b, kRecipeMs); });
    REQUIRE(eventually([&] { return children(env.c(), "/lw").size() == 2; }, kRecipeMs));
    REQUIRE_OK(offkv_testkit_end_watches(waiter_client, OFFKV_EAUTH));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(rc == -1);  // still waiting, not failed
    REQUIRE_OK(offkv_lock_release(a));
    waiter.join();
    CHECK(rc == OFFKV_OK);
    if (rc == OFFKV_OK) REQUIRE_OK(offkv_lock_release(b));
  }
}

TEST_CASE("a leader is told NOT_LEADER when its session is suspended or expired",
          "[recipes][election][testkit]") {
  Env env;
  offkv_options options = OFFKV_OPTIONS_INIT;
  options.session_timeout_ms = 20000;  // outlives the suspension
  options.operation_timeout_ms = 2000;
  offkv_client *a = env.open(&options);
  Events &ea = env.own<Events>();
  Events &eb = env.own<Events>();
  Election first, second;
  contend(a, "/g", "a", &ea, first);
  REQUIRE_OK(offkv_election_wait(first, 1, kRecipeMs));
  REQUIRE(ea.until(leader_event));
  contend(env.open(), "/g", "b", &eb, second);
  REQUIRE(eventually([&] { return own_member(second).has_value(); }, kRecipeMs));
  std::string old_key = own_member(first)->key;

  // Suspended: the leader stops believing before suspend returns, and is told
  // ECONNLOSS. Its member lives on with the session: nobody else leads.
  REQUIRE_OK(offkv_testkit_suspend(a));
  CHECK_FALSE(is_leader(first));
  auto lost = ea.next();
  REQUIRE(lost);
  CHECK(recipe_type_name(lost->type) == "NOT_LEADER");
  CHECK(code_name(lost->error) == code_name(OFFKV_ECONNLOSS));
  CHECK(eb.quiet(800));
  CHECK_FALSE(is_leader(second));
  CHECK(version_of(env.c(), old_key) == 1);

  // Back within the session: leader again, with the same member.
  REQUIRE_OK(offkv_testkit_resume(a));
  REQUIRE_OK(offkv_election_wait(first, 1, kRecipeMs));
  auto again = ea.next();
  REQUIRE(again);
  CHECK(recipe_type_name(again->type) == "LEADER");
  CHECK(again->key == old_key);
  CHECK_FALSE(is_leader(second));

  // Expired: NOT_LEADER (ESESSION; on ZooKeeper ECONNLOSS first, the server dropping
  // the connection), the member is gone, the other contender leads, and this one
  // contends again behind it.
  REQUIRE_OK(offkv_testkit_expire(a));
  CHECK_FALSE(is_leader(first));
  auto expired = ea.next();
  REQUIRE(expired);
  CHECK(recipe_type_name(expired->type) == "NOT_LEADER");
  CHECK((expired->error == OFFKV_ESESSION || expired->error == OFFKV_ECONNLOSS));
  CHECK(version_of(env.c(), old_key) == 0);
  REQUIRE_OK(offkv_election_wait(second, 1, kRecipeMs));
  REQUIRE(eb.until(leader_event));
  REQUIRE(eventually(
      [&] {
        auto m = own_member(first);
        return m && m->key != old_key && version_of(env.c(), m->key) == 1;
      },
      kRecipeMs));
  CHECK(own_member(first)->sequence > own_member(second)->sequence);
  CHECK_FALSE(is_leader(first));
  CHECK(ea.quiet());
}

TEST_CASE("a lock is not held while suspended, held again when resumed, lost on expire",
          "[recipes][lock][testkit]") {
  Env env;
  offkv_options options = OFFKV_OPTIONS_INIT;
  options.session_timeout_ms = 20000;
  options.operation_timeout_ms = 2000;
  offkv_client *a = env.open(&options);
  Lock lock, other;
  REQUIRE_OK(offkv_lock_new(a, "/l", &lock.l));
  REQUIRE_OK(offkv_lock_acquire(lock, kRecipeMs));
  int held = -1;
  REQUIRE_OK(offkv_testkit_suspend(a));
  REQUIRE_OK(offkv_lock_is_held(lock, &held));
  CHECK(held == 0);
  REQUIRE_OK(offkv_testkit_resume(a));
  REQUIRE_OK(offkv_lock_is_held(lock, &held));
  CHECK(held == 1);
  REQUIRE_OK(offkv_testkit_expire(a));
  REQUIRE_OK(offkv_lock_is_held(lock, &held));
  CHECK(held == 0);
  // Someone else can take it at once: the holder's member went with its session.
  REQUIRE_OK(offkv_lock_new(env.open(), "/l", &other.l));
  CHECK_OK(offkv_lock_acquire(other, 0));
  CHECK_CODE(offkv_lock_release(lock), OFFKV_ESESSION);
}

TEST_CASE("a recipe's round trip never delays the client's other callbacks",
          "[recipes][group][testkit]") {
  // A recipe's I/O runs on a worker of the recipe, not on the client's event thread,
  // which delivers every watch and session callback of the client. Here a group
  // update's transaction stalls for the whole operation timeout (the connection is
  // cut), and a plain watch of the same client must be told meanwhile.
  Env env;
  constexpr int kStallMs = 3000;  // operation timeout: how long the update stalls
  offkv_options options = OFFKV_OPTIONS_INIT;
  options.session_timeout_ms = 20000;  // outlives the stall: no LOST in this case
  options.operation_timeout_ms = kStallMs;
  offkv_client *a = env.open(&options);
  Recorder &plain = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(a, "/plain", Recorder::callback, &plain, watch.out()));
  Group group;
  REQUIRE_OK(offkv_group_open(a, "/g", nullptr, nullptr, &group.g));
  REQUIRE_OK(offkv_group_join(group, "v1", 2));
  REQUIRE(eventually([&] { return members_of(group).size() == 1; }, kRecipeMs));
  const std::string member = members_of(group).at(0).key;

  REQUIRE_OK(offkv_testkit_suspend(a));
  std::atomic<int> update_rc{-1};
  std::atomic<bool> update_done{false};
  Background updater([&](const std::atomic<bool> &) {
    update_rc = offkv_group_update(group, "v2", 2);
    update_done = true;
  });
  // Let the update reach its transaction (its step starts within milliseconds), which
  // then waits out the operation timeout for the cut connection.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  REQUIRE_FALSE(update_done.load());
  const auto asked = std::chrono::steady_clock::now();
  REQUIRE_OK(offkv_testkit_end_watches(a, OFFKV_EAUTH));
  auto ended = plain.next(kEventMs);
  const auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - asked)
                             .count();
  REQUIRE(ended);
  CHECK(type_name(ended->type) == type_name(OFFKV_EVENT_ENDED));
  CHECK(code_name(ended->error) == code_name(OFFKV_EAUTH));
  // Were the transaction on the event thread, ENDED would wait for it to fail: at
  // least kStallMs - 500 ms = 2.5 s from here (measured before recipes had a worker:
  // 5.5 s on mem://). Delivered from the event thread's queue it takes milliseconds
  // (measured: 0 ms on all four backends); half the stall leaves room for a loaded
  // machine.
  INFO("ENDED was delivered " << waited_ms << " ms after end_watches");
  CHECK(waited_ms < kStallMs / 2);
  CHECK_FALSE(update_done.load());  // the stall was real: the update still waits

  // The update fails as before (nothing was sent), and after the resume the member,
  // kept by the live session, gets the latest payload.
  REQUIRE(eventually([&] { return update_done.load(); }, kRecipeMs));
  updater.join();
  CHECK(code_name(update_rc) == code_name(OFFKV_ECONNLOSS));
  REQUIRE_OK(offkv_testkit_resume(a));
  CHECK(eventually([&] { return value_of(env.c(), member) == "v2"; }, kRecipeMs));
}

// ---------------------------------------------------------------- Mesos' layout

// With a member label L (the *_labeled functions), members are named L_<10 digits>
// exactly as Mesos' ZooKeeper group names them, and only children of that form take
// part. Here Mesos-like nodes are written through the store's own sequential creates
// (tests/servers/zk_mesos_test.cpp writes them with the native ZooKeeper client).
namespace {

constexpr const char *kJson = OFFKV_MESOS_MASTER_LABEL;

bool is_labeled_key_of(const std::string &key, const std::string &group,
                       const std::string &label) {
  const std::string base = group + "/" + label + "_";
  return key.compare(0, base.size(), base) == 0 && key.size() == base.size() + 10 &&
         std::all_of(key.begin() + base.size(), key.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

void contend_labeled(offkv_client *c, const std::string &group, const char *label,
                     const std::string &payload, Events *events, Election &out) {
  REQUIRE_OK(offkv_election_contend_labeled(
      c, group.c_str(), label, payload.data(), payload.size(),
      events ? Events::callback : nullptr, events, &out.e));
  REQUIRE(out.e != nullptr);
}

// A Mesos master's own node: an ephemeral sequential child "<label>_" of group.
std::string mesos_node(offkv_client *c, const std::string &group,
                       const std::string &payload, const std::string &label = kJson) {
  return create(c, group + "/" + label + "_", payload,
                OFFKV_EPHEMERAL | OFFKV_SEQUENTIAL);
}

std::string master_info(const std::string &id, int port) {
  return "{\"id\":\"" + id + "\",\"ip\":16777343,\"port\":" + std::to_string(port) +
         ",\"pid\":\"master@127.0.0.1:" + std::to_string(port) +
         "\",\"hostname\":\"localhost\",\"version\":\"1.11.0\"}";
}

}  // namespace

TEST_CASE("a labeled contender is named <label>_<seq> and contends with that label only",
          "[recipes][label][election]") {
  Env env;
  create(env.c(), "/mesos");
  // Lower nodes of other schemes come first: offkv's own contender, a legacy Mesos
  // master ("info_", protobuf payload) and a node whose name only starts alike.
  Election plain;
  contend(env.open(), "/mesos", "plain", nullptr, plain);
  REQUIRE_OK(offkv_election_wait(plain, 1, kRecipeMs));
  offkv_client *legacy = env.open();
  mesos_node(legacy, "/mesos", "legacy", "info");
  mesos_node(legacy, "/mesos", "json, no", "json");
  create(env.c(), "/mesos/log_replicas");

  Events &events = env.own<Events>();
  Election e;
  const std::string info = master_info("offkv-1", 5050);
  contend_labeled(env.open(), "/mesos", kJson, info, &events, e);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  auto ev = events.until(leader_event);
  REQUIRE(ev);
  CHECK(ev->group == "/mesos");
  CHECK(is_labeled_key_of(ev->key, "/mesos", kJson));
  CHECK(ev->payload == info);
  auto own = own_member(e);
  REQUIRE(own);
  CHECK(own->key == ev->key);
  CHECK(own->sequence == sequence_number(own->key));
  CHECK(own->version == 1);
  CHECK(value_of(env.c(), own->key) == info);  // the payload as is: Mesos parses it
  // The two elections do not see each other: both lead their own scheme.
  CHECK(is_leader(plain));
  CHECK(is_leader(e));
  auto plain_member = own_member(plain);
  REQUIRE(plain_member);
  CHECK(plain_member->sequence < own->sequence);
}

TEST_CASE("a labeled contender follows a lower Mesos master and leads after it",
          "[recipes][label][election]") {
  Env env;
  offkv_client *master1 = env.open();
  offkv_client *master3 = env.open();
  create(env.c(), "/mesos");
  std::string n1 = mesos_node(master1, "/mesos", master_info("m1", 5051));
  Events &events = env.own<Events>();
  Election e;
  const std::string info = master_info("offkv-2", 5052);
  contend_labeled(env.open(), "/mesos", kJson, info, &events, e);
  REQUIRE(eventually([&] { return own_member(e).has_value(); }, kRecipeMs));
  std::string n3 = mesos_node(master3, "/mesos", master_info("m3", 5053));
  CHECK(sequence_number(n1) < own_member(e)->sequence);
  CHECK(own_member(e)->sequence < sequence_number(n3));
  CHECK(events.quiet());
  CHECK_FALSE(is_leader(e));
  CHECK_CODE(offkv_election_wait(e, 1, 300), OFFKV_ETIMEOUT);
  // The Mesos master ahead of it goes (its session ends): the offkv contender leads,
  // and the later master stays behind it.
  offkv_close(master1);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  REQUIRE(events.until(leader_event));
  // Withdrawing hands over to the later master, as a Mesos detector would see it:
  // the lowest json.info_ child.
  REQUIRE_OK(offkv_election_withdraw(e));
  std::vector<std::string> left;
  for (const auto &k : children(env.c(), "/mesos"))
    if (is_labeled_key_of(k, "/mesos", kJson)) left.push_back(k);
  CHECK(left == std::vector<std::string>{n3});
}

TEST_CASE("a labeled detector reports the lowest member with its label only",
          "[recipes][label][detector]") {
  Env env;
  create(env.c(), "/m");
  // Explicit names, as a store holding Mesos' nodes would list them.
  create(env.c(), "/m/json.info_0000000007", "b");
  create(env.c(), "/m/json.info_0000000003", "a");
  create(env.c(), "/m/info_0000000001", "legacy");
  create(env.c(), "/m/member-aaaaaaaaaaaaaaaa-0000000000", "offkv");
  create(env.c(), "/m/json.info_00000000002", "eleven digits");
  create(env.c(), "/m/json.info_x", "no sequence");
  create(env.c(), "/m/json.infox_0000000000", "another label");
  create(env.c(), "/m/json.info0000000000", "no separator");
  create(env.c(), "/m/log_replicas");
  Events &events = env.own<Events>();
  Detector d;
  REQUIRE_OK(
      offkv_detector_open_labeled(env.c(), "/m", kJson, Events::callback, &events, &d.d));
  auto first = events.next();
  REQUIRE(first);
  CHECK(recipe_type_name(first->type) == "DETECTED");
  CHECK(first->key == "/m/json.info_0000000003");
  CHECK(first->sequence == 3);
  CHECK(first->payload == "a");
  REQUIRE_OK(offkv_erase(env.c(), "/m/json.info_0000000003", 0));
  auto next =
      events.until([](const RecipeEv &e) { return e.key != "/m/json.info_0000000003"; });
  REQUIRE(next);
  CHECK(next->key == "/m/json.info_0000000007");
  CHECK(next->payload == "b");
  REQUIRE_OK(offkv_erase(env.c(), "/m/json.info_0000000007", 0));
  auto none = events.until([](const RecipeEv &e) { return !e.has_member; });
  REQUIRE(none);
  CHECK(none->error == OFFKV_OK);
  // Other labels and offkv's own scheme each see their own members.
  Detector legacy, plain;
  REQUIRE_OK(
      offkv_detector_open_labeled(env.c(), "/m", "info", nullptr, nullptr, &legacy.d));
  REQUIRE_OK(
      offkv_detector_open_labeled(env.c(), "/m", nullptr, nullptr, nullptr, &plain.d));
  REQUIRE(eventually([&] { return detected(legacy) && detected(plain); }, kRecipeMs));
  CHECK(detected(legacy)->key == "/m/info_0000000001");
  CHECK(detected(plain)->key == "/m/member-aaaaaaaaaaaaaaaa-0000000000");
}

TEST_CASE("a labeled detector follows Mesos masters and a labeled contender",
          "[recipes][label][detector][election]") {
  Env env;
  Events &events = env.own<Events>();
  Detector d;
  REQUIRE_OK(offkv_detector_open_labeled(env.open(), "/mesos/masters", kJson,
                                         Events::callback, &events, &d.d));
  auto first = events.next();
  REQUIRE(first);
  CHECK_FALSE(first->has_member);  // no group yet
  offkv_client *master = env.open();
  create(env.c(), "/mesos");
  create(env.c(), "/mesos/masters");
  std::string n = mesos_node(master, "/mesos/masters", master_info("m1", 5050));
  auto seen = events.until([](const RecipeEv &e) { return e.has_member; });
  REQUIRE(seen);
  CHECK(seen->key == n);
  CHECK(seen->payload == master_info("m1", 5050));
  Election e;
  contend_labeled(env.open(), "/mesos/masters", kJson, master_info("offkv", 5051),
                  nullptr, e);
  REQUIRE(eventually([&] { return own_member(e).has_value(); }, kRecipeMs));
  offkv_close(master);
  auto next = events.until([&](const RecipeEv &ev) { return ev.key != n; });
  REQUIRE(next);
  REQUIRE(next->has_member);
  CHECK(next->key == own_member(e)->key);
  CHECK(next->payload == master_info("offkv", 5051));
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
}

TEST_CASE("a labeled group joins as <label>_<seq> and lists only its label",
          "[recipes][label][group]") {
  Env env;
  create(env.c(), "/svc");
  create(env.c(), "/svc/member-bbbbbbbbbbbbbbbb-0000000000", "offkv scheme");
  offkv_client *mesos = env.open();
  std::string n = mesos_node(mesos, "/svc", "native");
  mesos_node(mesos, "/svc", "other label", "info");
  Events &events = env.own<Events>();
  Group observer, member;
  REQUIRE_OK(offkv_group_open_labeled(env.open(), "/svc", kJson, Events::callback,
                                      &events, &observer.g));
  auto first = events.next();
  REQUIRE(first);
  CHECK(first->members ==
        std::vector<std::pair<std::string, std::string>>{{n, "native"}});
  REQUIRE_OK(
      offkv_group_open_labeled(env.open(), "/svc", kJson, nullptr, nullptr, &member.g));
  REQUIRE_OK(offkv_group_join(member, "joined", 6));
  offkv_member self = OFFKV_MEMBER_INIT;
  REQUIRE_OK(offkv_group_self(member, &self));
  MemberOut me = take(self);
  CHECK(is_labeled_key_of(me.key, "/svc", kJson));
  CHECK(me.sequence == sequence_number(me.key));
  CHECK(me.sequence > sequence_number(n));
  CHECK(me.payload == "joined");
  auto both = events.until([](const RecipeEv &e) { return e.members.size() == 2; });
  REQUIRE(both);
  CHECK(payloads(*both) == std::vector<std::string>{"native", "joined"});
  auto listed = members_of(member);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].key == n);
  CHECK(listed[1].key == me.key);
  REQUIRE_OK(offkv_group_update(member, "updated", 7));
  REQUIRE(events.until([](const RecipeEv &e) {
    return e.members.size() == 2 && e.members[1].second == "updated";
  }));
  CHECK(value_of(env.c(), me.key) == "updated");
  REQUIRE_OK(offkv_group_leave(member));
  REQUIRE(events.until([](const RecipeEv &e) { return e.members.size() == 1; }));
  CHECK(version_of(env.c(), me.key) == 0);
  // The unlabeled view of the same group is offkv's own member only.
  Group plain;
  REQUIRE_OK(offkv_group_open(env.c(), "/svc", nullptr, nullptr, &plain.g));
  CHECK(payloads(members_of(plain)) == std::vector<std::string>{"offkv scheme"});
}

TEST_CASE("a labeled member erased by someone is re-created with its label",
          "[recipes][label][group]") {
  Env env;
  Group g;
  REQUIRE_OK(offkv_group_open_labeled(env.open(), "/svc", "web", nullptr, nullptr, &g.g));
  REQUIRE_OK(offkv_group_join(g, "w", 1));
  offkv_member self = OFFKV_MEMBER_INIT;
  REQUIRE_OK(offkv_group_self(g, &self));
  std::string old = take(self).key;
  CHECK(is_labeled_key_of(old, "/svc", "web"));
  REQUIRE_OK(offkv_erase(env.c(), old.c_str(), 0));
  REQUIRE(eventually(
      [&] {
        auto m = members_of(g);
        return m.size() == 1 && m[0].key != old &&
               is_labeled_key_of(m[0].key, "/svc", "web") && m[0].payload == "w";
      },
      kRecipeMs));
}

TEST_CASE("member labels are checked before any I/O", "[recipes][label]") {
  Env env;
  const std::string too_long(245, 'l');
  const std::string longest(244, 'l');
  struct Bad {
    std::string label;
    std::string says;
  };
  std::vector<Bad> bad{{"", "empty"},
                       {"a/b", "'/'"},
                       {"json_info", "'_'"},
                       {std::string("a\x01"), "key"},
                       {std::string("\xff\xfe"), "key"},
                       {too_long, "245 bytes"}};
  for (const auto &b : bad) {
    INFO("label '" << b.label << "'");
    offkv_election *e = nullptr;
    offkv_detector *d = nullptr;
    offkv_group *g = nullptr;
    CHECK_CODE(offkv_election_contend_labeled(env.c(), "/g", b.label.c_str(), "p", 1,
                                              nullptr, nullptr, &e),
               OFFKV_EINVAL);
    CHECK(e == nullptr);
    std::string message = offkv_last_error();
    CHECK(message.find("label") != std::string::npos);
    CHECK(message.find(b.says) != std::string::npos);
    CHECK_CODE(
        offkv_detector_open_labeled(env.c(), "/g", b.label.c_str(), nullptr, nullptr, &d),
        OFFKV_EINVAL);
    CHECK(d == nullptr);
    CHECK_CODE(
        offkv_group_open_labeled(env.c(), "/g", b.label.c_str(), nullptr, nullptr, &g),
        OFFKV_EINVAL);
    CHECK(g == nullptr);
  }
  CHECK(version_of(env.c(), "/g") == 0);  // nothing was written
  // The longest label that fits, and NULL (offkv's own names), work.
  Election e;
  contend_labeled(env.c(), "/g", longest.c_str(), "p", nullptr, e);
  REQUIRE_OK(offkv_election_wait(e, 1, kRecipeMs));
  CHECK(is_labeled_key_of(own_member(e)->key, "/g", longest));
  Election plain;
  contend_labeled(env.c(), "/h", nullptr, "p", nullptr, plain);
  REQUIRE_OK(offkv_election_wait(plain, 1, kRecipeMs));
  CHECK(is_member_key_of(own_member(plain)->key, "/h"));
}

TEST_CASE("labeled members with ZooKeeper's wrapped sequence suffixes keep their order",
          "[recipes][label][group]") {
  Env env;
  create(env.c(), "/g");
  create(env.c(), "/g/json.info_-000000001", "newest");
  create(env.c(), "/g/json.info_2147483647", "old");
  create(env.c(), "/g/json.info_-2147483648", "wrapped");
  create(env.c(), "/g/json.info_-2147483649", "not a sequence");
  Group g;
  REQUIRE_OK(offkv_group_open_labeled(env.c(), "/g", kJson, nullptr, nullptr, &g.g));
  auto members = members_of(g);
  REQUIRE(members.size() == 3);
  CHECK(payloads(members) == std::vector<std::string>{"old", "wrapped", "newest"});
  CHECK(members[2].sequence == 4294967295LL);
}
