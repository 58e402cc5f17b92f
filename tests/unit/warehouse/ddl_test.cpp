// Column types and options from Blueprint: the allow-list grammar, the transformer map and the
// column definition each dialect gets.

#include "warehouse/ddl.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sqlite/database.hpp"
#include "warehouse_test_util.hpp"

namespace rsi::warehouse {
namespace {

struct Accepted {
  std::string column_type;
  std::string column_options;
  std::string redshift; // Definition of column "c" for Redshift.
  std::string postgres; // ... for PostgreSQL.
  std::string sqlite;   // ... for SQLite.
};

const std::vector<Accepted> k_accepted = {
    // The transformer map.
    {"ipCity", "", R"("c" varchar(64))", R"("c" varchar(64))", R"("c" varchar(64))"},
    {"ipCountry", "", R"("c" varchar(2))", R"("c" varchar(2))", R"("c" varchar(2))"},
    {"ipRegion", "", R"("c" varchar(64))", R"("c" varchar(64))", R"("c" varchar(64))"},
    {"ipAsn", "", R"("c" varchar(128))", R"("c" varchar(128))", R"("c" varchar(128))"},
    {"ipAsnInteger", "", R"("c" int)", R"("c" integer)", R"("c" integer)"},
    {"f@timestamp@unix", " sortkey", R"("c" datetime sortkey)", R"("c" timestamp)",
     R"("c" timestamp)"},
    {"f@timestamp@unix-utc", "", R"("c" datetime)", R"("c" timestamp)", R"("c" timestamp)"},
    {"userIDWithMapping", "", R"("c" bigint)", R"("c" bigint)", R"("c" bigint)"},
    // Plain types with widths and Redshift attributes.
    {"varchar", "(25)", R"("c" varchar(25))", R"("c" varchar(25))", R"("c" varchar(25))"},
    {"varchar", "(32) distkey", R"("c" varchar(32) distkey)", R"("c" varchar(32))",
     R"("c" varchar(32))"},
    {"varchar", "", R"("c" varchar)", R"("c" varchar(256))", R"("c" varchar(256))"},
    {"varchar", "(max)", R"("c" varchar(max))", R"("c" varchar(65535))", R"("c" varchar(65535))"},
    {"varchar", " (16)  ENCODE zstd ", R"("c" varchar (16)  ENCODE zstd )", R"("c" varchar(16))",
     R"("c" varchar(16))"},
    {"bigint", " encode az64 not null", R"("c" bigint encode az64 not null)",
     R"("c" bigint NOT NULL)", R"("c" bigint NOT NULL)"},
    {"int", " default -12", R"("c" int default -12)", R"("c" integer DEFAULT -12)",
     R"("c" integer DEFAULT -12)"},
    {"float", " default 1.5", R"("c" float default 1.5)", R"("c" double precision DEFAULT 1.5)",
     R"("c" double precision DEFAULT 1.5)"},
    {"bool", " default false", R"("c" bool default false)", R"("c" boolean DEFAULT false)",
     R"("c" boolean DEFAULT false)"},
    {"varchar", "(8) default 'n/a' null", R"("c" varchar(8) default 'n/a' null)",
     R"("c" varchar(8) DEFAULT 'n/a')", R"("c" varchar(8) DEFAULT 'n/a')"},
    {"decimal", "(10,2)", R"("c" decimal(10,2))", R"("c" decimal(10,2))", R"("c" decimal(10,2))"},
    {"char", "(2)", R"("c" char(2))", R"("c" char(2))", R"("c" char(2))"},
    {"date", "", R"("c" date)", R"("c" date)", R"("c" date)"},
    {"smallint", "", R"("c" smallint)", R"("c" smallint)", R"("c" smallint)"},
    {"real", "", R"("c" real)", R"("c" real)", R"("c" real)"},
    {"double precision", "", R"("c" double precision)", R"("c" double precision)",
     R"("c" double precision)"},
    // One byte of options is dropped, as the original dropped it.
    {"bigint", " ", R"("c" bigint)", R"("c" bigint)", R"("c" bigint)"},
};

struct Rejected {
  std::string column_type;
  std::string column_options;
  std::string message_part;
};

const std::vector<Rejected> k_rejected = {
    {"varchar", "(25); DROP TABLE x", "unexpected \"; DROP TABLE x\""},
    {"varchar", "(25)sortkey", "unexpected \"sortkey\""},
    {"varchar", "(25) sortkey, distkey", "unexpected"},
    {"varchar", "(70000)", "outside Redshift's limits"},
    {"varchar", "(0)", "outside Redshift's limits"},
    {"varchar", "(1e3)", "bad width"},
    {"varchar", "(25", "bad width"},
    {"varchar", "(25) encode gzip", "unknown encoding \"gzip\""},
    {"varchar", "(25) default 'a''b'", "unexpected"},
    {"varchar", "(25) default 'a\\'", "unexpected"},
    {"varchar", "(25) default now()", "unexpected"},
    {"varchar", "(25) primary key", "unexpected \"primary key\""},
    {"varchar", "(25) references other(id)", "unexpected"},
    {"varchar", "(25) identity(1,1)", "unexpected"},
    {"varchar", "(25) collate case_insensitive", "unexpected"},
    {"varchar", "(25) not nul", "unexpected"},
    {"varchar", "(25)\n", "unexpected"},
    {"int", "(5)", "unsupported"},
    {"ipCity", "(10)", "unsupported"},
    {"varchar(25); --", "", "is not a type"},
    {"text[]", "", "is not a type"},
    {"json", "", "unsupported"},
    {"timestamptz", "", "unsupported"},
    {"f@unknown@x", "", "unknown transformer"},
    {"f@timestamp@unix", "(3)", "unsupported"},
    {"", "", "is not a type"},
};

TEST(ColumnSpecTest, AcceptsTheAllowListAndRendersEveryDialect) {
  const QuoteFn quote = test::libpq_quoter();
  const QuoteFn sqlite_quote = [](std::string_view name) -> Result<std::string> {
    return sqlite::Database::quote_identifier(name);
  };
  for (const auto& vector : k_accepted) {
    SCOPED_TRACE(vector.column_type + " / " + vector.column_options);

    const auto spec = column_spec("c", vector.column_type, vector.column_options);

    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(column_definition(*spec, Dialect::redshift, quote).value(), vector.redshift);
    EXPECT_EQ(column_definition(*spec, Dialect::postgres, quote).value(), vector.postgres);
    EXPECT_EQ(column_definition(*spec, Dialect::sqlite, sqlite_quote).value(), vector.sqlite);
  }
}

TEST(ColumnSpecTest, ReadsTheRedshiftAttributes) {
  const auto spec =
      column_spec("c", "varchar", "(32) DISTKEY sortkey encode LZO not null default 'x'");

  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_TRUE(spec->distkey);
  EXPECT_TRUE(spec->sortkey);
  EXPECT_TRUE(spec->not_null);
  EXPECT_EQ(spec->encode, "lzo");
  EXPECT_EQ(spec->default_value, "'x'");
  EXPECT_EQ(spec->type, tsv::ColumnType::varchar(32));
}

TEST(ColumnSpecTest, RejectsEverythingElseNamingTheColumn) {
  for (const auto& vector : k_rejected) {
    SCOPED_TRACE(vector.column_type + " / " + vector.column_options);

    const auto spec = column_spec("the_column", vector.column_type, vector.column_options);

    ASSERT_FALSE(spec);
    EXPECT_EQ(spec.error().kind, ErrorKind::permanent);
    EXPECT_NE(spec.error().message.find("column \"the_column\""), std::string::npos)
        << spec.error().message;
    EXPECT_NE(spec.error().message.find(vector.message_part), std::string::npos)
        << spec.error().message;
  }
}

TEST(IdentifierTest, PostgresRejectsNamesItWouldCutAt63Bytes) {
  const std::string name_63(63, 'a');
  const std::string name_64(64, 'a');

  EXPECT_TRUE(check_identifier(name_63, Dialect::postgres, "column"));
  const auto rejected = check_identifier(name_64, Dialect::postgres, "column");
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message.find("postgres keeps at most 63"), std::string::npos)
      << rejected.error().message;
  EXPECT_TRUE(check_identifier(name_64, Dialect::redshift, "column"));
  EXPECT_FALSE(check_identifier(std::string(128, 'a'), Dialect::redshift, "column"));
  EXPECT_FALSE(check_table_name(name_64, Dialect::postgres));
  EXPECT_TRUE(check_table_name(name_64, Dialect::sqlite));
}

TEST(IdentifierTest, RejectsWhatQuotingCannotCarry) {
  for (const std::string& name : {std::string("a\0b", 3), std::string("a\"b"), std::string("a\nb"),
                                  std::string("\xff"), std::string()}) {
    EXPECT_FALSE(check_identifier(name, Dialect::redshift, "column")) << name;
  }
}

} // namespace
} // namespace rsi::warehouse
