// Rejected messages as every IngestDb backend keeps them: their kind and table, listing with
// filters (newest first, or oldest first in pages for a replay), bodies cut for a listing, the
// rows a replay resolves, and the kind and table read from the reason of rows kept before those
// columns existed. SQLite always, PostgreSQL when scripts/test started one.
#include <algorithm>

#include <gtest/gtest.h>

#include "ingestdb/migrations.hpp"
#include "integration/ingestdb/store_fixture.hpp"
#include "pg/connection.hpp"
#include "sqlite/database.hpp"
#include "support/fake_clock.hpp"

namespace rsi::ingestdb {
namespace {

using namespace std::chrono_literals;
using testing::StoreTest;

class RejectedMessages : public StoreTest {
protected:
  // Keep a message and return its id (the newest row).
  std::int64_t reject(const std::string& message_id, const std::string& kind,
                      const std::string& table, std::string body = "{}") {
    auto kept = m_store->reject_message({.message_id = message_id,
                                         .reason = kind + " reason of " + message_id,
                                         .body = std::move(body),
                                         .received_at = m_clock.now(),
                                         .kind = kind,
                                         .table = table});
    EXPECT_TRUE(kept) << kept.error().message;
    m_clock.advance(1s);
    return m_store->rejected_messages(1).value().at(0).id;
  }

  std::vector<std::string> message_ids(const RejectedSelection& selection) {
    auto listed = m_store->list_rejected(selection);
    EXPECT_TRUE(listed) << listed.error().message;
    std::vector<std::string> ids;
    for (const auto& rejection : listed.value_or(std::vector<StoredRejection>{})) {
      ids.push_back(rejection.message.message_id);
    }
    return ids;
  }

  // Run `sql` on the database directly, as an operator (or an older version) would.
  void exec(const std::string& sql) {
    if (is_postgres()) {
      auto conn = pg::Connection::connect(m_schema->conninfo());
      ASSERT_TRUE(conn) << conn.error().message;
      auto done = conn->exec_script(sql);
      ASSERT_TRUE(done) << done.error().message;
    } else {
      auto db = sqlite::Database::open(m_dir.path("ingester.db"));
      ASSERT_TRUE(db) << db.error().message;
      auto done = db->exec_script(sql);
      ASSERT_TRUE(done) << done.error().message;
    }
  }

  test::FakeClock m_clock;
};

TEST_P(RejectedMessages, KeepTheirKindAndTableAndEmptyMeansNotKnown) {
  reject("m-1", "unknown_table", "clicks");
  reject("m-2", "malformed", "");

  const auto listed = m_store->rejected_messages(10).value();

  ASSERT_EQ(listed.size(), 2U);
  EXPECT_EQ(listed[0].message.kind, "malformed");
  EXPECT_EQ(listed[0].message.table, "");
  EXPECT_EQ(listed[1].message.kind, "unknown_table");
  EXPECT_EQ(listed[1].message.table, "clicks");
  EXPECT_EQ(listed[1].message.reason, "unknown_table reason of m-1");
  EXPECT_EQ(listed[1].body_bytes, 2);
}

TEST_P(RejectedMessages, AListingFiltersByKindTableAndIdsNewestFirst) {
  const auto first = reject("m-1", "unknown_table", "clicks");
  reject("m-2", "unknown_table", "views");
  const auto third = reject("m-3", "unrecordable", "clicks");
  reject("m-4", "malformed", "");

  EXPECT_EQ(message_ids({}), (std::vector<std::string>{"m-4", "m-3", "m-2", "m-1"}));
  EXPECT_EQ(message_ids({.kind = "unknown_table"}), (std::vector<std::string>{"m-2", "m-1"}));
  EXPECT_EQ(message_ids({.table = "clicks"}), (std::vector<std::string>{"m-3", "m-1"}));
  EXPECT_EQ(message_ids({.kind = "unknown_table", .table = "clicks"}),
            (std::vector<std::string>{"m-1"}));
  EXPECT_EQ(message_ids({.ids = {first, third, 999'999}}),
            (std::vector<std::string>{"m-3", "m-1"}));
  EXPECT_EQ(message_ids({.ids = {first}, .kind = "unrecordable"}), (std::vector<std::string>{}));
  EXPECT_EQ(message_ids({.kind = "unrouted"}), (std::vector<std::string>{}));
  EXPECT_EQ(message_ids({.limit = 2}), (std::vector<std::string>{"m-4", "m-3"}));
}

TEST_P(RejectedMessages, AReplayPagesThroughThemOldestFirstAfterAnId) {
  const auto first = reject("m-1", "unknown_table", "clicks");
  const auto second = reject("m-2", "malformed", "");
  reject("m-3", "unknown_table", "clicks");

  EXPECT_EQ(message_ids({.oldest_first = true, .limit = 2}),
            (std::vector<std::string>{"m-1", "m-2"}));
  EXPECT_EQ(message_ids({.after_id = second, .oldest_first = true, .limit = 2}),
            (std::vector<std::string>{"m-3"}));
  EXPECT_EQ(message_ids({.table = "clicks", .after_id = first, .oldest_first = true}),
            (std::vector<std::string>{"m-3"}));
}

TEST_P(RejectedMessages, BodiesAreCutOnRequestAndTheirSizeIsKept) {
  const std::string body("\x00\xff{\"KeyName\":1}", 15);
  reject("m-1", "malformed", "", body);

  const auto cut = m_store->list_rejected({.max_body_bytes = 4}).value();
  const auto whole = m_store->list_rejected({}).value();

  ASSERT_EQ(cut.size(), 1U);
  EXPECT_EQ(cut[0].message.body, body.substr(0, 4));
  EXPECT_EQ(cut[0].body_bytes, 15);
  ASSERT_EQ(whole.size(), 1U);
  EXPECT_EQ(whole[0].message.body, body);
  EXPECT_EQ(whole[0].body_bytes, 15);
}

TEST_P(RejectedMessages, AResolvedRowIsDeletedOrUpdatedOnce) {
  const auto accepted = reject("m-1", "unknown_table", "clicks");
  const auto again = reject("m-2", "unknown_table", "clicks", "body of m-2");

  EXPECT_TRUE(m_store->delete_rejected(accepted).value());
  EXPECT_FALSE(m_store->delete_rejected(accepted).value()) << "another replay resolved it first";
  EXPECT_TRUE(
      m_store->update_rejected(again, "no --route matches s3://b/k", "unrouted", "").value());
  EXPECT_FALSE(m_store->update_rejected(accepted, "r", "malformed", "").value());

  const auto left = m_store->rejected_messages(10).value();
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left[0].id, again);
  EXPECT_EQ(left[0].message.message_id, "m-2");
  EXPECT_EQ(left[0].message.reason, "no --route matches s3://b/k");
  EXPECT_EQ(left[0].message.kind, "unrouted");
  EXPECT_EQ(left[0].message.table, "") << "the table is no longer known";
  EXPECT_EQ(left[0].message.body, "body of m-2");
  EXPECT_EQ(m_store->count_rejected(TimePoint{}).value(), 1);
}

TEST_P(RejectedMessages, RowsKeptBeforeTheKindColumnGetOneFromTheirReason) {
  // The database as the version before the columns left it: without them, the migration that
  // adds them (and any after it) not applied, rows with the reasons that version wrote.
  const auto& migrations = is_postgres() ? k_postgres_migrations : k_sqlite_migrations;
  const auto adds_kind = std::find_if(migrations.begin(), migrations.end(),
                                      [](const Migration& m) { return m.name == "rejected_kind"; });
  ASSERT_NE(adds_kind, migrations.end());
  const int version = adds_kind->version;
  const auto time = is_postgres() ? std::string("'2024-01-01 00:00:00'") : std::string("0");
  exec(fmt::format(R"sql(
    DROP INDEX rejected_message_tablename_idx;
    ALTER TABLE rejected_message DROP COLUMN kind;
    ALTER TABLE rejected_message DROP COLUMN tablename;
    DELETE FROM rsi_schema_migrations WHERE version >= {0};
    INSERT INTO rejected_message (message_id, reason, body, received_at) VALUES
      ('m-1', 'table "clicks" is not in the event metadata (still unknown 24h after the message was sent; 9 attempts)', 'x', {1}),
      ('m-2', 'table "views" has no schema in the registry (still unknown 1h after the message was sent; 2 attempts)', 'x', {1}),
      ('m-3', 'record file pointer: value too long for type character varying(20)', 'x', {1}),
      ('m-4', 'parse queue message: not JSON', 'x', {1}),
      ('m-5', 'parse file pointer: field "TableName": invalid table name "table \"x\""', 'x', {1}),
      ('m-6', 'no --route matches "s3://b/k"', 'x', {1});
  )sql",
                   version, time));

  auto upgraded = open();
  ASSERT_TRUE(upgraded) << upgraded.error().message;

  using KindAndTable = std::pair<std::string, std::string>;
  std::map<std::string, KindAndTable> found;
  const auto rows = (*upgraded)->rejected_messages(10).value();
  for (const auto& row : rows) {
    found[row.message.message_id] = {row.message.kind, row.message.table};
  }
  EXPECT_EQ(found["m-1"], KindAndTable("unknown_table", "clicks"));
  EXPECT_EQ(found["m-2"], KindAndTable("unknown_table", "views"));
  EXPECT_EQ(found["m-3"], KindAndTable("unrecordable", ""));
  EXPECT_EQ(found["m-4"], KindAndTable("malformed", ""));
  EXPECT_EQ(found["m-5"], KindAndTable("malformed", ""));
  EXPECT_EQ(found["m-6"], KindAndTable("unrouted", ""));
}

INSTANTIATE_TEST_SUITE_P(Backends, RejectedMessages,
                         ::testing::Values(testing::k_sqlite, testing::k_postgres),
                         testing::backend_name);

} // namespace
} // namespace rsi::ingestdb
