// Inputs the operation decoder fuzz target (tests/fuzz/operation_decoder_fuzz.cpp) found, kept
// as plain tests so that every build checks them.

#include <string>

#include <gtest/gtest.h>

#include "core/operation.hpp"

namespace rsi::core {
namespace {

TEST(OperationDecoderRegressionTest, NumberTooLargeForADoubleIsAnErrorNotACrash) {
  // nlohmann::json throws out_of_range (406), not parse_error, for such a number.
  for (const std::string& body : {std::string("1111111112111111121e111111"),
                                  std::string(R"([{"Action":"add","Version":1e999}])")}) {
    const auto parsed = parse_migration(body);

    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().kind, ErrorKind::permanent);
    EXPECT_NE(parsed.error().message.find("number overflow"), std::string::npos)
        << parsed.error().message;
  }
}

} // namespace
} // namespace rsi::core
