#include "zk_errors.hpp"

#include <zookeeper/zookeeper.h>

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace zk {

int map_error(int zrc) noexcept {
  switch (zrc) {
    case ZOK:
      return Err::ok;
    case ZNONODE:
      return Err::enoent;
    case ZNODEEXISTS:
      return Err::eexist;
    case ZBADVERSION:
      return Err::eversion;
    case ZNOCHILDRENFOREPHEMERALS:
      return Err::eephemeral;
    case ZNOTEMPTY:
      return Err::enotempty;
    case ZNOAUTH:
    case ZAUTHFAILED:
    case ZINVALIDACL:
    case ZSESSIONCLOSEDREQUIRESASLAUTH:
      return Err::eauth;
    case ZCONNECTIONLOSS:
      return Err::econnloss;
    case ZOPERATIONTIMEOUT:
      return Err::etimeout;
    case ZSESSIONEXPIRED:
    case ZSESSIONMOVED:
    case ZINVALIDSTATE:
      return Err::esession;
    case ZCLOSING:
      return Err::eclosed;
    case ZBADARGUMENTS:
      return Err::einval;
    case ZMARSHALLINGERROR:
      return Err::enomem;  // the C client's words: "possibly, out of memory"
    case ZSSLCONNECTIONERROR:
      return Err::etls;
    case ZINVALIDCALLBACK:
    case ZAPIERROR:
      return Err::einternal;
    case ZUNIMPLEMENTED:
    case ZNOTREADONLY:
    case ZEPHEMERALONLOCALSESSION:
    case ZRECONFIGDISABLED:
    case ZRECONFIGINPROGRESS:
    case ZNEWCONFIGNOQUORUM:
    case ZTHROTTLEDOP:
    case ZNOWATCHER:
    case ZSYSTEMERROR:
    case ZRUNTIMEINCONSISTENCY:
    case ZDATAINCONSISTENCY:
    default:
      return Err::eservice;
  }
}

std::string zk_words(int zrc) {
  return std::string(" [zookeeper: ") + zerror(zrc) + " (" + std::to_string(zrc) + ")]";
}

void fail_zk(int zrc, const std::string &what) {
  throw Error(map_error(zrc), what + zk_words(zrc));
}

}  // namespace zk
}  // namespace offkv
