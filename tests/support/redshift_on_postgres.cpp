#include "support/redshift_on_postgres.hpp"

#include "objectstore/local_object_store.hpp"

namespace rsi::test {

void RedshiftOnPostgresFixture::SetUp() {
  const auto base = postgres_conninfo();
  RSI_REQUIRE_SERVICE(base.has_value(), "PostgreSQL (RSI_TEST_PG)");
  m_database.emplace(*base);
  auto admin = dress_as_redshift(m_database->conninfo());
  ASSERT_TRUE(admin) << admin.error().message;
  m_admin.emplace(std::move(*admin));
  auto manifests = objectstore::make_local_object_store({.root = m_dir.path("manifests")});
  ASSERT_TRUE(manifests) << manifests.error().message;
  m_manifests = std::move(*manifests);
  m_copy.emplace(*m_admin, *m_manifests);
}

std::string RedshiftOnPostgresFixture::scalar(const std::string& sql) {
  const auto rows = m_admin->exec(sql);
  EXPECT_TRUE(rows) << rows.error().message;
  return rows && !rows->empty() && !rows->is_null(0, 0) ? rows->text(0, 0) : "NULL";
}

} // namespace rsi::test
