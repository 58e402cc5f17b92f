// COPY over a Unix-domain socket: `copy_in` widens the socket's send buffer, so the server is
// not left waiting while the client converts the next rows, and the COPY loads what it is sent.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "pg/connection.hpp"
#include "support/services.hpp"

namespace rsi::pg {
namespace {

int send_buffer(const Connection& conn) {
  int size = 0;
  socklen_t length = sizeof size;
  EXPECT_EQ(getsockopt(PQsocket(conn.raw()), SOL_SOCKET, SO_SNDBUF, &size, &length), 0);
  return size;
}

TEST(CopySocketTest, ACopyOverAUnixSocketWidensItsSendBufferAndLoadsTheRows) {
  const auto base = test::postgres_conninfo();
  RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
  const auto socket = test::through_unix_socket(*base);
  RSI_REQUIRE_SERVICE(socket.has_value(), "the test server's Unix-domain socket");
  auto conn = Connection::connect(*socket);
  ASSERT_TRUE(conn) << conn.error().message;

  int wmem_max = 0;
  std::ifstream("/proc/sys/net/core/wmem_max") >> wmem_max;
  ASSERT_GT(wmem_max, 0);
  const int before = send_buffer(*conn);
  const std::string table = test::unique_name("copy_socket");
  ASSERT_TRUE(conn->exec("CREATE TEMP TABLE " + table + " (v int, t text)"));
  ASSERT_TRUE(conn->copy_in("COPY " + table + " FROM STDIN"));
  // The kernel doubles what is asked and caps the request at net.core.wmem_max.
  EXPECT_EQ(send_buffer(*conn), 2 * std::min(4 << 20, wmem_max)) << "before: " << before;

  std::string rows;
  for (int row = 0; row < 50'000; ++row) {
    rows += std::to_string(row) + "\tsome text of row " + std::to_string(row) + "\n";
  }
  ASSERT_TRUE(conn->put_copy_data(rows));
  const auto copied = conn->end_copy();
  ASSERT_TRUE(copied) << copied.error().message;
  EXPECT_EQ(*copied, 50'000);
  auto sum = conn->exec("SELECT sum(v), count(DISTINCT t) FROM " + table);
  ASSERT_TRUE(sum) << sum.error().message;
  EXPECT_EQ(sum->integer(0, 0), 49'999LL * 50'000 / 2);
  EXPECT_EQ(sum->integer(0, 1), 50'000);
}

} // namespace
} // namespace rsi::pg
