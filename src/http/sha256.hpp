#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace rsi::http {

// Lower-case hex SHA-256 of `data` (OpenSSL EVP), as SigV4's x-amz-content-sha256 wants it.
std::string sha256_hex(std::string_view data);

// SHA-256 over data that arrives in pieces. Move-only.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // The lower-case hex digest; the object is reset afterwards.
  [[nodiscard]] std::string finish_hex();

private:
  struct State;
  std::unique_ptr<State> m_state;
};

// The SHA-256 of the empty string, the payload hash of a request without a body.
inline constexpr std::string_view k_empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

} // namespace rsi::http
