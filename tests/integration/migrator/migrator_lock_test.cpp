// The migrator lock (metadata/migrator_lock.hpp): one holder per ingester database, for both
// backends, and a holder that dies hands the lock over.

#include "ingestdb/migrator_lock.hpp"

#include <csignal>
#include <optional>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg/connection.hpp"
#include "support/process.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;

struct Backend {
  std::string name;
  bool needs_postgres = false;

  friend void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }
};

std::string backend_name(const ::testing::TestParamInfo<Backend>& param) {
  return param.param.name;
}

class MigratorLockContract : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override {
    if (GetParam().needs_postgres) {
      const auto base = test::postgres_conninfo();
      RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
      m_schema.emplace(*base);
    }
  }

  // A lock on the test's ingester database, as another process would make it.
  std::unique_ptr<MigratorLock> make() {
    auto lock = m_schema ? make_postgres_migrator_lock({.conninfo = m_schema->conninfo()})
                         : make_sqlite_migrator_lock({.path = m_dir.path("ingester.db")});
    EXPECT_TRUE(lock) << lock.error().message;
    return lock ? std::move(*lock) : nullptr;
  }

  static bool holds(MigratorLock& lock) {
    auto held = lock.try_acquire();
    EXPECT_TRUE(held) << held.error().message;
    return held.value_or(false);
  }

  test::TempDir m_dir;
  std::optional<test::PostgresSchema> m_schema;
};

TEST_P(MigratorLockContract, OneHolderAtATime) {
  auto first = make();
  auto second = make();

  EXPECT_TRUE(holds(*first));
  EXPECT_FALSE(holds(*second));
  EXPECT_TRUE(holds(*first)); // Confirming is idempotent.
  EXPECT_FALSE(holds(*second));
}

TEST_P(MigratorLockContract, ReleaseAndDestructionHandTheLockOver) {
  auto first = make();
  auto second = make();
  ASSERT_TRUE(holds(*first));

  first->release();
  first->release(); // Nothing left to release.

  EXPECT_TRUE(holds(*second));
  EXPECT_FALSE(holds(*first));
  second.reset();
  EXPECT_TRUE(holds(*first));
}

TEST_P(MigratorLockContract, AHolderThatDiesHandsTheLockOver) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) { // The holder: take the lock, say so, and wait to be killed.
    ::close(ready[0]);
    auto lock = make();
    const char held = lock && lock->try_acquire().value_or(false) ? 'y' : 'n';
    (void)!::write(ready[1], &held, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char held = 0;
  ASSERT_EQ(::read(ready[0], &held, 1), 1);
  ::close(ready[0]);
  auto survivor = make();
  const bool blocked = !holds(*survivor);

  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  EXPECT_EQ(held, 'y');
  EXPECT_TRUE(blocked);
  // The server notices the closed connection at once, but asynchronously: poll, bounded.
  EXPECT_TRUE(test::eventually(5s, [&] { return holds(*survivor); }));
}

INSTANTIATE_TEST_SUITE_P(Backends, MigratorLockContract,
                         ::testing::Values(Backend{"sqlite", false}, Backend{"postgres", true}),
                         backend_name);

// PostgreSQL only: SQLite's lock is a file lock, with no connection to lose.
TEST(PostgresMigratorLockTest, ALostConnectionLosesTheLock) {
  const auto base = test::postgres_conninfo();
  RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
  const test::PostgresSchema schema(*base);
  auto first = make_postgres_migrator_lock({.conninfo = schema.conninfo()}).value();
  auto second = make_postgres_migrator_lock({.conninfo = schema.conninfo()}).value();
  ASSERT_TRUE(first->try_acquire().value());
  auto admin = pg::Connection::connect(schema.conninfo());
  ASSERT_TRUE(admin) << admin.error().message;

  // The server ends the holder's session, as a failover or an idle timeout would.
  const auto killed = admin->exec("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                                  "'advisory' AND classid = 1381189938 AND "
                                  "objid = hashtext($1)::oid",
                                  {schema.name()});
  ASSERT_TRUE(killed) << killed.error().message;
  ASSERT_EQ(killed->size(), 1);

  EXPECT_TRUE(test::eventually(5s, [&] { return second->try_acquire().value_or(false); }));
  const auto again = first->try_acquire(); // It notices, reconnects, and finds the lock taken.
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(*again);
}

} // namespace
} // namespace rsi::ingestdb
