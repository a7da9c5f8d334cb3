// The node scheme every recipe shares: under a group key G, each participant is one
// ephemeral sequential child
//
//     G/member-<token>-<10 digits>
//
// <token> is 16 hex digits chosen by the participant before it creates the node, so
// that after a create whose outcome is unknown (connection lost, timeout) it can find
// its own node again instead of leaving an orphan (Curator's "protected" mode). The
// 10-digit counter orders the participants: the lowest sequence is the oldest, i.e.
// the leader or the lock holder. Children that do not have this form are ignored.
//
// With a member label L (Mesos' layout, docs/recipes.md "Mesos' layout") the child is
//
//     G/L_<10 digits>
//
// exactly as Mesos' zookeeper::Group names it ("json.info_0000000007"), and only
// children of that form are members. Such a name carries no token: a participant
// finds its node again by the payload it created it with, among the labeled members
// that were not there when it listed them just before (see Claim).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../client.hpp"

namespace offkv {
namespace recipes {

// One member node as read from the store (payload and version only when read).
struct Member {
  std::string key;    // client key: G/member-<token>-<seq>, or G/<label>_<seq>
  std::string token;  // "" for a labeled member
  std::int64_t sequence = -1;
  std::string payload;
  std::int64_t version = 0;
};

// How a recipe names its member nodes: offkv's own scheme, or Mesos' with a label.
class Naming {
 public:
  // offkv's scheme: G/member-<token>-<seq>.
  Naming() = default;
  // Mesos' layout: G/<label>_<seq>. Throws EINVAL for a label that is empty, has a
  // '/', a '_' (Mesos reads a name up to its first '_' as the label), a control
  // character or invalid UTF-8, or that leaves no room for the sequence in a key
  // segment.
  explicit Naming(std::string label);

  bool labeled() const { return !label_.empty(); }
  const std::string &label() const { return label_; }
  // The key to create with NodeFlag::sequential: "G/member-<token>-" or "G/<label>_".
  std::string prefix(const std::string &group, const std::string &token) const;
  // Parses a member key; nullopt for children that are not members of this naming.
  std::optional<Member> parse(const std::string &key) const;
  // "member" or "'json.info' member", for messages.
  std::string describe() const;

 private:
  std::string label_;
};

// What a participant knows to find its own node again after a create whose outcome is
// unknown. offkv's scheme: the token in the node's name. A label: the payload of the
// create, and the labeled members present just before the first create of this
// claim (our node is one that was not, holding that payload). A fresh Claim (listed
// false) makes create_member list them; keep the Claim while a create is unresolved.
struct Claim {
  std::string token;
  std::string payload;
  std::vector<std::string> before;  // sorted keys
  bool listed = false;
};

// A fresh random token (16 lowercase hex digits).
std::string new_token();

// Checks, with no I/O, that group is a valid key for this client and that its
// member keys fit the limits too (EINVAL, ETOOBIG, ECLOSED).
void validate_group(Client &client, const std::string &group,
                    const Naming &naming = Naming());

// Parses a member key of offkv's scheme; nullopt for children that are not members.
std::optional<Member> parse_member(const std::string &key);

// The members of group, sorted by sequence (one children() round trip). callback and
// watch_out as for Client::children. Throws what children() throws (ENOENT if the
// group node does not exist).
std::vector<Member> list_members(Client &client, const std::string &group,
                                 const Naming &naming,
                                 const EventCallback *callback = nullptr,
                                 WatchPtr *watch_out = nullptr);

// Index of the member with this key in members, or -1.
int index_of(const std::vector<Member> &members, const std::string &key);

// Creates key and its missing ancestors as persistent empty nodes (another client
// creating them at the same time is fine). One exists() round trip when key exists.
void ensure_path(Client &client, const std::string &key);

// True for the codes after which a write may or may not have happened.
bool outcome_unknown(int code);

// Creates this participant's member node. On success returns its key. If the
// outcome is unknown, looks for it (retrying a few times while the session lives)
// and returns the node found, erasing duplicates; throws the original error if it
// cannot find out (keep claim then: find_own needs it). Any other failure is thrown
// as is. With a label, a claim not yet listed costs one children() round trip first.
std::string create_member(Client &client, const std::string &group, const Naming &naming,
                          Claim &claim, const std::string &payload);

// Our member by claim, if any, after erasing duplicates (keeps the lowest).
std::optional<Member> find_own(Client &client, const std::string &group,
                               const Naming &naming, const Claim &claim);

// Like find_own, but a group that does not exist has no member (nullopt).
std::optional<Member> find_own_or_none(Client &client, const std::string &group,
                                       const Naming &naming, const Claim &claim);

// Throws ETOOBIG for a payload above Limit::max_value_size (before any write).
void check_payload(const std::string &what, const std::string &payload);

// Erases the member node; retries unknown outcomes a few times. A node already gone
// (ENOENT), or a session that ended (ECLOSED, ESESSION: the node went with it) count
// as done; returns false in those cases, true if this call erased it.
bool erase_member(Client &client, const std::string &key);

}  // namespace recipes
}  // namespace offkv
