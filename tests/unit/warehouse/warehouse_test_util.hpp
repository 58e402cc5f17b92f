#pragma once

#include <string_view>

#include "pg/connection.hpp"
#include "warehouse/ddl.hpp"

namespace rsi::warehouse::test {

// Quotes identifiers with libpq (PQescapeIdentifier on a detached connection), as the
// Redshift and PostgreSQL backends do.
inline QuoteFn libpq_quoter() {
  static pg::Connection conn = pg::Connection::detached().value();
  return [](std::string_view name) { return conn.quote_identifier(name); };
}

// Quotes literals with libpq (PQescapeLiteral), as the Redshift backend's COPY does.
inline QuoteFn libpq_literal_quoter() {
  static pg::Connection conn = pg::Connection::detached().value();
  return [](std::string_view text) { return conn.quote_literal(text); };
}

} // namespace rsi::warehouse::test
