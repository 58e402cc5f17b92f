#include "http/sha256.hpp"

#include <gtest/gtest.h>

namespace rsi::http {
namespace {

TEST(Sha256Test, MatchesKnownDigests) {
  EXPECT_EQ(sha256_hex(""), k_empty_sha256);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("Param1=value1"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

TEST(Sha256Test, IncrementalEqualsOneShotAndResetsAfterFinish) {
  Sha256 hash;
  hash.update("Param1");
  hash.update("=value1");

  EXPECT_EQ(hash.finish_hex(), sha256_hex("Param1=value1"));
  EXPECT_EQ(hash.finish_hex(), k_empty_sha256);
}

} // namespace
} // namespace rsi::http
