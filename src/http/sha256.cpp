#include "http/sha256.hpp"

#include <array>
#include <cstdlib>

#include <openssl/evp.h>

#include "common/c_handle.hpp"

namespace rsi::http {
namespace {

using DigestContext = CHandle<EVP_MD_CTX, &EVP_MD_CTX_free>;

DigestContext new_context() {
  DigestContext context(EVP_MD_CTX_new());
  // Allocation failure of a few bytes is not something callers can handle: abort like new would.
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return context;
}

std::string to_hex(const unsigned char* digest, unsigned int size) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int idx = 0; idx < size; ++idx) {
    hex.push_back(k_digits[digest[idx] >> 4]);
    hex.push_back(k_digits[digest[idx] & 0x0f]);
  }
  return hex;
}

} // namespace

struct Sha256::State {
  DigestContext context = new_context();
};

Sha256::Sha256() : m_state(std::make_unique<State>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(m_state->context.get(), data.data(), data.size());
}

std::string Sha256::finish_hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_DigestFinal_ex(m_state->context.get(), digest.data(), &size);
  EVP_DigestInit_ex(m_state->context.get(), EVP_sha256(), nullptr);
  return to_hex(digest.data(), size);
}

std::string sha256_hex(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.finish_hex();
}

} // namespace rsi::http
