// The sslmode a connection to another machine gets when its URL names none.
#include <gtest/gtest.h>

#include "pg/conninfo.hpp"

namespace rsi::pg {
namespace {

std::string secured(std::string_view conninfo, TlsDefault tls = TlsDefault::require,
                    bool environment = false) {
  auto result = with_default_sslmode(conninfo, tls, environment);
  EXPECT_TRUE(result) << result.error().message;
  return result.value_or("");
}

TEST(ConninfoTest, ARemotePostgresServerIsReachedEncrypted) {
  EXPECT_EQ(secured("postgres://ingester@db.internal:5432/ingester"),
            "postgres://ingester@db.internal:5432/ingester?sslmode=require");
  EXPECT_EQ(secured("postgresql://u@db.internal/x?connect_timeout=5"),
            "postgresql://u@db.internal/x?connect_timeout=5&sslmode=require");
  EXPECT_EQ(secured("host=10.1.2.3 dbname=ingester user=u"),
            "host=10.1.2.3 dbname=ingester user=u sslmode=require");
}

TEST(ConninfoTest, RedshiftIsVerifiedAgainstTheSystemsCaBundle) {
  EXPECT_EQ(secured("redshift://loader:pw@cluster.abc.us-west-2.redshift.amazonaws.com:5439/events",
                    TlsDefault::verify_full),
            "redshift://loader:pw@cluster.abc.us-west-2.redshift.amazonaws.com:5439/"
            "events?sslmode=verify-full"
            "&sslrootcert=/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(secured("redshift://l@c.redshift.amazonaws.com/e?sslrootcert=/etc/rs.pem",
                    TlsDefault::verify_full),
            "redshift://l@c.redshift.amazonaws.com/e?sslrootcert=/etc/rs.pem&sslmode=verify-full");
}

TEST(ConninfoTest, WhatTheUrlOrTheEnvironmentSaysIsKept) {
  EXPECT_EQ(secured("postgres://u@db.internal/x?sslmode=disable"),
            "postgres://u@db.internal/x?sslmode=disable");
  EXPECT_EQ(secured("host=db.internal sslmode=verify-ca dbname=x"),
            "host=db.internal sslmode=verify-ca dbname=x");
  EXPECT_EQ(secured("postgres://u@db.internal/x", TlsDefault::require, true),
            "postgres://u@db.internal/x")
      << "PGSSLMODE is set";
}

TEST(ConninfoTest, ThisMachineNeedsNoTls) {
  for (const char* local :
       {"postgres://u@localhost/x", "postgres://u@127.0.0.1:5433/x", "postgresql://u@[::1]/x",
        "host=/var/run/postgresql dbname=x", "dbname=x", "postgresql:///x"}) {
    EXPECT_EQ(secured(local), local);
  }
  EXPECT_EQ(secured("host=127.0.0.1,db.internal dbname=x"),
            "host=127.0.0.1,db.internal dbname=x sslmode=require")
      << "one remote host among several is enough";
}

TEST(ConninfoTest, AnUnparsableUrlIsRefusedWithoutShowingIt) {
  auto result =
      with_default_sslmode("host='unterminated password=hunter2", TlsDefault::require, false);

  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::permanent);
  EXPECT_EQ(result.error().message.find("hunter2"), std::string::npos);
}

} // namespace
} // namespace rsi::pg
