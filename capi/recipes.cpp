// The extern "C" facade of the recipes (offkv_election_*, offkv_detector_*,
// offkv_group_*, offkv_lock_*): C arguments to core/recipes/, exceptions to codes.
// No exception ever leaves a function of this file.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../core/recipes/detector.hpp"
#include "../core/recipes/election.hpp"
#include "../core/recipes/group.hpp"
#include "../core/recipes/lock.hpp"
#include "internal.hpp"
#include "offkv.h"

struct offkv_election {
  std::shared_ptr<offkv::recipes::Election> impl;
};

struct offkv_detector {
  std::shared_ptr<offkv::recipes::Detector> impl;
};

struct offkv_group {
  std::shared_ptr<offkv::recipes::Group> impl;
};

struct offkv_lock {
  std::shared_ptr<offkv::recipes::Lock> impl;
};

using namespace offkv::capi;
using offkv::recipes::Member;
using offkv::recipes::Naming;
using offkv::recipes::RecipeEvent;

namespace {

// A read-only C view of a core member; valid while the member lives.
offkv_member member_view(const Member &m) {
  offkv_member out{};
  out.size = sizeof(out);
  out.key = const_cast<char *>(m.key.c_str());
  out.sequence = m.sequence;
  out.version = m.version;
  // std::string keeps data()[size()] == 0, as offkv_buf promises.
  out.payload = offkv_buf{const_cast<char *>(m.payload.data()), m.payload.size()};
  return out;
}

offkv::recipes::RecipeCallback c_recipe_callback(offkv_recipe_cb cb, void *user) {
  if (!cb) return {};
  return [cb, user](const RecipeEvent &e) {
    offkv_member self = member_view(e.member);
    std::vector<offkv_member> members;
    members.reserve(e.members.size());
    for (const auto &m : e.members) members.push_back(member_view(m));
    std::vector<const offkv_member *> member_ptrs;
    member_ptrs.reserve(members.size());
    for (const auto &m : members) member_ptrs.push_back(&m);
    offkv_recipe_event out{};
    out.size = sizeof(out);
    out.type = e.type;
    out.member = e.has_member ? &self : nullptr;
    out.group = e.group.c_str();
    out.members = member_ptrs.empty() ? nullptr : member_ptrs.data();
    out.member_count = member_ptrs.size();
    out.session_state = e.session_state;
    out.error = e.error;
    out.message = e.message.c_str();
    cb(&out, user);
  };
}

// Copies a member into library-owned memory, within out->size (offkv.h "Structs and
// ABI"); out was checked by sized_arg or made by new_sized.
void fill_member(offkv_member *out, const Member &m) {
  offkv_member full{};
  full.size = sizeof(full);
  try {
    full.key = copy_string(m.key);
    fill_buf(&full.payload, m.payload);
  } catch (...) {
    offkv_member_free(&full);
    throw;
  }
  full.sequence = m.sequence;
  full.version = m.version;
  store_sized(out, full);
}

// A library-allocated array of pointers to library-allocated members.
void fill_members(offkv_members *out, const std::vector<Member> &members) {
  offkv_members full{sizeof(offkv_members), nullptr, 0};
  full.items = static_cast<offkv_member **>(
      std::calloc(members.size() + 1, sizeof(offkv_member *)));
  if (!full.items) throw std::bad_alloc();
  try {
    for (std::size_t i = 0; i < members.size(); ++i) {
      full.items[i] = new_sized<offkv_member>();
      full.count = i + 1;
      fill_member(full.items[i], members[i]);
    }
  } catch (...) {
    offkv_members_free(&full);
    throw;
  }
  store_sized(out, full);
}

std::string group_arg(const char *group) {
  need(group, "group");
  return group;
}

// NULL: offkv's member names; else Mesos' layout with this label (validated by the
// core: EINVAL naming the rule it breaks).
Naming label_arg(const char *label) { return label ? Naming(label) : Naming(); }

std::string payload_arg(const void *payload, size_t len) {
  if (!payload && len) invalid("payload is NULL but payload_len is not 0");
  return std::string(value_arg(payload, len));
}

template <typename Handle>
auto &handle_arg(Handle *h, const char *what) {
  need(h, what);
  return *h->impl;
}

void timed_out(int timeout_ms, const std::string &what) {
  offkv::fail(OFFKV_ETIMEOUT, what + " within " + std::to_string(timeout_ms) + " ms");
}

}  // namespace

extern "C" {

OFFKV_API void offkv_member_free(offkv_member *member) {
  if (!sized_usable(member)) return;
  std::free(member->key);
  offkv_buf_free(&member->payload);
  clear_sized(member);
}

OFFKV_API void offkv_members_free(offkv_members *members) {
  if (!sized_usable(members)) return;
  if (members->items)
    for (size_t i = 0; i < members->count; ++i) {
      offkv_member_free(members->items[i]);
      std::free(members->items[i]);
    }
  std::free(members->items);
  clear_sized(members);
}

// ---- Election ----

OFFKV_API int offkv_election_contend_labeled(offkv_client *client, const char *group,
                                             const char *label, const void *payload,
                                             size_t payload_len, offkv_recipe_cb callback,
                                             void *user, offkv_election **election) {
  if (election) *election = nullptr;
  return guarded([&] {
    client_arg(client);
    std::string g = group_arg(group);
    Naming naming = label_arg(label);
    std::string p = payload_arg(payload, payload_len);
    need(election, "election out-parameter");
    auto handle = std::make_unique<offkv_election>();
    handle->impl = offkv::recipes::Election::contend(
        client->impl, g, std::move(p), c_recipe_callback(callback, user), naming);
    *election = handle.release();
  });
}

OFFKV_API int offkv_election_contend(offkv_client *client, const char *group,
                                     const void *payload, size_t payload_len,
                                     offkv_recipe_cb callback, void *user,
                                     offkv_election **election) {
  return offkv_election_contend_labeled(client, group, nullptr, payload, payload_len,
                                        callback, user, election);
}

OFFKV_API int offkv_election_is_leader(offkv_election *election, int *is_leader) {
  if (is_leader) *is_leader = 0;
  return guarded([&] {
    auto &e = handle_arg(election, "election");
    need(is_leader, "is_leader out-parameter");
    *is_leader = e.is_leader() ? 1 : 0;
  });
}

OFFKV_API int offkv_election_wait(offkv_election *election, int leader, int timeout_ms) {
  return guarded([&] {
    auto &e = handle_arg(election, "election");
    if (leader != 0 && leader != 1) invalid("leader must be 0 or 1");
    if (!e.wait(leader == 1, timeout_ms))
      timed_out(timeout_ms, leader ? "not leader" : "still leader");
  });
}

OFFKV_API int offkv_election_member(offkv_election *election, offkv_member *member) {
  clear_sized(member);
  return guarded([&] {
    auto &e = handle_arg(election, "election");
    sized_arg(member, "member out-parameter", "OFFKV_MEMBER_INIT");
    auto m = e.member();
    if (!m) offkv::fail(OFFKV_ENOENT, "this contender has no member node right now");
    fill_member(member, *m);
  });
}

OFFKV_API int offkv_election_withdraw(offkv_election *election) {
  return guarded([&] { handle_arg(election, "election").withdraw(); });
}

OFFKV_API void offkv_election_free(offkv_election *election) {
  if (!election) return;
  guarded([&] { election->impl->withdraw(); });
  delete election;
}

// ---- Detector ----

OFFKV_API int offkv_detector_open_labeled(offkv_client *client, const char *group,
                                          const char *label, offkv_recipe_cb callback,
                                          void *user, offkv_detector **detector) {
  if (detector) *detector = nullptr;
  return guarded([&] {
    client_arg(client);
    std::string g = group_arg(group);
    Naming naming = label_arg(label);
    need(detector, "detector out-parameter");
    auto handle = std::make_unique<offkv_detector>();
    handle->impl = offkv::recipes::Detector::open(
        client->impl, g, c_recipe_callback(callback, user), naming);
    *detector = handle.release();
  });
}

OFFKV_API int offkv_detector_open(offkv_client *client, const char *group,
                                  offkv_recipe_cb callback, void *user,
                                  offkv_detector **detector) {
  return offkv_detector_open_labeled(client, group, nullptr, callback, user, detector);
}

OFFKV_API int offkv_detector_leader(offkv_detector *detector, offkv_member *leader) {
  clear_sized(leader);
  return guarded([&] {
    auto &d = handle_arg(detector, "detector");
    sized_arg(leader, "leader out-parameter", "OFFKV_MEMBER_INIT");
    auto m = d.leader();
    if (!m) offkv::fail(OFFKV_ENOENT, "no leader detected");
    fill_member(leader, *m);
  });
}

OFFKV_API int offkv_detector_wait(offkv_detector *detector, const char *previous_key,
                                  int timeout_ms, offkv_member *leader) {
  clear_sized(leader);
  return guarded([&] {
    auto &d = handle_arg(detector, "detector");
    sized_arg(leader, "leader out-parameter", "OFFKV_MEMBER_INIT");
    bool changed = false;
    auto m = d.wait(previous_key ? previous_key : "", timeout_ms, &changed);
    if (!changed) timed_out(timeout_ms, "no change of leader");
    if (!m) offkv::fail(OFFKV_ENOENT, "no leader detected");
    fill_member(leader, *m);
  });
}

OFFKV_API int offkv_detector_close(offkv_detector *detector) {
  return guarded([&] { handle_arg(detector, "detector").close(); });
}

OFFKV_API void offkv_detector_free(offkv_detector *detector) {
  if (!detector) return;
  guarded([&] { detector->impl->close(); });
  delete detector;
}

// ---- Group ----

OFFKV_API int offkv_group_open_labeled(offkv_client *client, const char *group,
                                       const char *label, offkv_recipe_cb callback,
                                       void *user, offkv_group **group_handle) {
  if (group_handle) *group_handle = nullptr;
  return guarded([&] {
    client_arg(client);
    std::string g = group_arg(group);
    Naming naming = label_arg(label);
    need(group_handle, "group out-parameter");
    auto handle = std::make_unique<offkv_group>();
    handle->impl = offkv::recipes::Group::open(client->impl, g,
                                               c_recipe_callback(callback, user), naming);
    *group_handle = handle.release();
  });
}

OFFKV_API int offkv_group_open(offkv_client *client, const char *group,
                               offkv_recipe_cb callback, void *user,
                               offkv_group **group_handle) {
  return offkv_group_open_labeled(client, group, nullptr, callback, user, group_handle);
}

OFFKV_API int offkv_group_join(offkv_group *group, const void *payload,
                               size_t payload_len) {
  return guarded([&] {
    auto &g = handle_arg(group, "group");
    g.join(payload_arg(payload, payload_len));
  });
}

OFFKV_API int offkv_group_update(offkv_group *group, const void *payload,
                                 size_t payload_len) {
  return guarded([&] {
    auto &g = handle_arg(group, "group");
    g.update(payload_arg(payload, payload_len));
  });
}

OFFKV_API int offkv_group_leave(offkv_group *group) {
  return guarded([&] { handle_arg(group, "group").leave(); });
}

OFFKV_API int offkv_group_self(offkv_group *group, offkv_member *self) {
  clear_sized(self);
  return guarded([&] {
    auto &g = handle_arg(group, "group");
    sized_arg(self, "self out-parameter", "OFFKV_MEMBER_INIT");
    auto m = g.self();
    if (!m) offkv::fail(OFFKV_ENOENT, "this handle has no member node right now");
    fill_member(self, *m);
  });
}

OFFKV_API int offkv_group_members(offkv_group *group, offkv_members *members) {
  clear_sized(members);
  return guarded([&] {
    auto &g = handle_arg(group, "group");
    sized_arg(members, "members out-parameter", "OFFKV_MEMBERS_INIT");
    fill_members(members, g.members());
  });
}

OFFKV_API int offkv_group_close(offkv_group *group) {
  return guarded([&] { handle_arg(group, "group").close(); });
}

OFFKV_API void offkv_group_free(offkv_group *group) {
  if (!group) return;
  guarded([&] { group->impl->close(); });
  delete group;
}

// ---- Lock ----

OFFKV_API int offkv_lock_new(offkv_client *client, const char *key, offkv_lock **lock) {
  if (lock) *lock = nullptr;
  return guarded([&] {
    client_arg(client);
    std::string k(key_arg(key));
    need(lock, "lock out-parameter");
    auto handle = std::make_unique<offkv_lock>();
    handle->impl = offkv::recipes::Lock::create(client->impl, k);
    *lock = handle.release();
  });
}

OFFKV_API int offkv_lock_acquire(offkv_lock *lock, int timeout_ms) {
  return guarded([&] { handle_arg(lock, "lock").acquire(timeout_ms); });
}

OFFKV_API int offkv_lock_release(offkv_lock *lock) {
  return guarded([&] { handle_arg(lock, "lock").release(); });
}

OFFKV_API int offkv_lock_is_held(offkv_lock *lock, int *held) {
  if (held) *held = 0;
  return guarded([&] {
    auto &l = handle_arg(lock, "lock");
    need(held, "held out-parameter");
    *held = l.held() ? 1 : 0;
  });
}

OFFKV_API int offkv_lock_member(offkv_lock *lock, offkv_member *member) {
  clear_sized(member);
  return guarded([&] {
    auto &l = handle_arg(lock, "lock");
    sized_arg(member, "member out-parameter", "OFFKV_MEMBER_INIT");
    auto m = l.member();
    if (!m) offkv::fail(OFFKV_ENOENT, "the lock is not held by this handle");
    fill_member(member, *m);
  });
}

OFFKV_API void offkv_lock_free(offkv_lock *lock) {
  if (!lock) return;
  guarded([&] {
    if (lock->impl->member()) lock->impl->release();
  });
  delete lock;
}

}  // extern "C"
