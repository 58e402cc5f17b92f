#pragma once

// The fixture the tests of the Redshift backend share: a fresh PostgreSQL database dressed as
// Redshift (redshift_shims.hpp), an admin connection to it, a local store rooted at the manifest
// bucket ("manifests") and the fake COPY (fake_redshift_copy.hpp) over both. Skips the test
// without PostgreSQL (RSI_TEST_PG).

#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "objectstore/object_store.hpp"
#include "pg/connection.hpp"
#include "support/fake_redshift_copy.hpp"
#include "support/services.hpp"
#include "support/temp_dir.hpp"
#include "warehouse/redshift_warehouse.hpp"

namespace rsi::test {

class RedshiftOnPostgresFixture : public ::testing::Test {
protected:
  void SetUp() override;

  // The fake as RedshiftConfig::run_copy_for_test.
  std::function<Result<void>(pg::Connection&, const warehouse::CopyCall&)> fake_copy() {
    return [this](pg::Connection& conn, const warehouse::CopyCall& call) {
      return (*m_copy)(conn, call);
    };
  }

  // The first column of the first row of `sql` run by the admin connection, "NULL" for none.
  std::string scalar(const std::string& sql);

  TempDir m_dir;
  std::optional<PostgresDatabase> m_database;
  std::optional<pg::Connection> m_admin;
  std::unique_ptr<objectstore::ObjectStore> m_manifests;
  std::optional<FakeRedshiftCopy> m_copy;
};

} // namespace rsi::test
