#include "transport/lmdb_detail.hpp"

#include <openssl/evp.h>

namespace mercure::lmdb_detail {

std::string_view id_key(std::string_view id, IdKeyBuffer& buf) {
  if (id.size() <= kMaxPlainIdKey && !id.starts_with('#')) return id;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(id.data(), id.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  buf[0] = '#';
  for (unsigned i = 0; i < 32; ++i) {
    buf[1 + 2 * i] = kHex[md[i] >> 4];
    buf[2 + 2 * i] = kHex[md[i] & 0x0F];
  }
  return {buf.data(), buf.size()};
}

}  // namespace mercure::lmdb_detail
