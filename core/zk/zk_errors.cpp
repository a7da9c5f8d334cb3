#include "zk_errors.hpp"

#include <zookeeper/zookeeper.h>

#include "../error.hpp"
#include "offkv.h"

namespace offkv {
namespace zk {

int map_error(int zrc) noexcept {
  switch (zrc) {
    case ZOK:
      return OFFKV_OK;
    case ZNONODE:
      return OFFKV_ENOENT;
    case ZNODEEXISTS:
      return OFFKV_EEXIST;
    case ZBADVERSION:
      return OFFKV_EVERSION;
    case ZNOCHILDRENFOREPHEMERALS:
      return OFFKV_EEPHEMERAL;
    case ZNOTEMPTY:
      return OFFKV_ENOTEMPTY;
    case ZNOAUTH:
    case ZAUTHFAILED:
    case ZINVALIDACL:
    case ZSESSIONCLOSEDREQUIRESASLAUTH:
      return OFFKV_EAUTH;
    case ZCONNECTIONLOSS:
      return OFFKV_ECONNLOSS;
    case ZOPERATIONTIMEOUT:
      return OFFKV_ETIMEOUT;
    case ZSESSIONEXPIRED:
    case ZSESSIONMOVED:
    case ZINVALIDSTATE:
      return OFFKV_ESESSION;
    case ZCLOSING:
      return OFFKV_ECLOSED;
    case ZBADARGUMENTS:
      return OFFKV_EINVAL;
    case ZMARSHALLINGERROR:
      return OFFKV_ENOMEM;  // the C client's words: "possibly, out of memory"
    case ZSSLCONNECTIONERROR:
      return OFFKV_ETLS;
    case ZINVALIDCALLBACK:
    case ZAPIERROR:
      return OFFKV_EINTERNAL;
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
      return OFFKV_ESERVICE;
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
