#include "consul_errors.hpp"

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace consul {

namespace {

bool contains(const std::string &text, const char *part) {
  return text.find(part) != std::string::npos;
}

std::string shorten(const std::string &body) {
  std::string out;
  for (char c : body.substr(0, 300)) out += (c == '\n' || c == '\r') ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (body.size() > 300) out += "...";
  return out;
}

// curl's failures that mean something to offkv; any other is ESERVICE.
struct CurlMeaning {
  CURLcode code;
  int error;
};
constexpr CurlMeaning kCurlMeanings[] = {
    {CURLE_OPERATION_TIMEDOUT, Err::etimeout},
    {CURLE_SSL_CONNECT_ERROR, Err::etls},
    {CURLE_PEER_FAILED_VERIFICATION, Err::etls},
    {CURLE_SSL_CERTPROBLEM, Err::etls},
    {CURLE_SSL_CIPHER, Err::etls},
    {CURLE_SSL_CACERT_BADFILE, Err::etls},
    {CURLE_SSL_ENGINE_NOTFOUND, Err::etls},
    {CURLE_SSL_ENGINE_SETFAILED, Err::etls},
    {CURLE_SSL_ENGINE_INITFAILED, Err::etls},
    {CURLE_SSL_SHUTDOWN_FAILED, Err::etls},
    {CURLE_SSL_CRL_BADFILE, Err::etls},
    {CURLE_SSL_ISSUER_ERROR, Err::etls},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, Err::etls},
    {CURLE_SSL_INVALIDCERTSTATUS, Err::etls},
    {CURLE_SSL_CLIENTCERT, Err::etls},
    {CURLE_USE_SSL_FAILED, Err::etls},
    {CURLE_OUT_OF_MEMORY, Err::enomem},
    // The request may or may not have reached the agent.
    {CURLE_COULDNT_RESOLVE_HOST, Err::econnloss},
    {CURLE_COULDNT_CONNECT, Err::econnloss},
    {CURLE_SEND_ERROR, Err::econnloss},
    {CURLE_RECV_ERROR, Err::econnloss},
    {CURLE_GOT_NOTHING, Err::econnloss},
    {CURLE_PARTIAL_FILE, Err::econnloss},
    {CURLE_HTTP2, Err::econnloss},
    {CURLE_HTTP2_STREAM, Err::econnloss},
    {CURLE_URL_MALFORMAT, Err::einval},
};

int map_curl(CURLcode code) {
  for (const auto &m : kCurlMeanings)
    if (m.code == code) return m.error;
  return Err::eservice;
}

}  // namespace

int map_error(const Response &r, bool closed) noexcept {
  if (r.aborted) return closed ? Err::eclosed : Err::econnloss;
  if (r.curl != CURLE_OK) return map_curl(r.curl);
  const std::string &b = r.body;
  switch (r.status) {
    case 401:
    case 403:
      return Err::eauth;
    case 413:
      return Err::etoobig;
    case 400:
      // A plain-HTTP request reached an HTTPS port.
      if (contains(b, "HTTPS server")) return Err::etls;
      return Err::eservice;
    case 429:
    case 503:
      return Err::econnloss;
    case 500:
      // The agent could not reach a leader, or leadership changed under a write:
      // the server did not apply it, or its outcome is unknown.
      if (contains(b, "No cluster leader") || contains(b, "leadership lost") ||
          contains(b, "rpc error") || contains(b, "raft is already shutdown") ||
          contains(b, "not the leader") || contains(b, "EOF") ||
          contains(b, "connection refused") || contains(b, "timeout"))
        return Err::econnloss;
      if (contains(b, "Permission denied") || contains(b, "ACL not found"))
        return Err::eauth;
      return Err::eservice;
    default:
      return Err::eservice;
  }
}

std::string consul_words(const Response &r) {
  if (r.aborted) return " [consul: request aborted]";
  if (r.too_big)
    return " [consul: an answer above " + std::to_string(kMaxAnswerBytes >> 20) +
           " MiB, offkv's cap: not read]";
  if (r.curl != CURLE_OK) return " [consul: curl: " + r.curl_error + "]";
  std::string body = shorten(r.body);
  return " [consul: HTTP " + std::to_string(r.status) +
         (body.empty() ? "" : ": " + body) + "]";
}

void fail_response(const Response &r, const std::string &what, bool closed) {
  int code = map_error(r, closed);
  std::string message = "consul: cannot " + what;
  if (code == Err::eclosed) message += ": the client was closed";
  if (code == Err::etimeout) message += ": no answer in time (operation_timeout_ms)";
  if (code == Err::econnloss && r.curl == CURLE_COULDNT_CONNECT)
    message += ": cannot connect to the Consul agent";
  throw Error(code, message + consul_words(r));
}

void fail_malformed(const Response &r, const std::string &what, const std::string &why) {
  throw Error(Err::eservice, "consul: cannot " + what + ": unexpected answer (" + why +
                                 ")" + consul_words(r));
}

}  // namespace consul
}  // namespace offkv
