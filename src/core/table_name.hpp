#pragma once

#include <cstddef>
#include <string_view>

#include "common/error.hpp"

namespace rsi::core {

// Redshift's limit for any identifier, in bytes, not counting the quotes of a delimited one
// ("Names and identifiers", Amazon Redshift Database Developer Guide). Blueprint enforces the
// same bound on event names.
inline constexpr std::size_t k_max_identifier_bytes = 127;

// The gate every table name passes before it reaches the ingester database, the warehouse, a
// metric name, a URL or a file path (docs/table-names.md explains each decision).
//
// A table name is 1 to 127 bytes of ASCII letters, digits, '_' and '-', starting with a letter
// or '_': exactly the event names Blueprint accepts (`^[A-Za-z_][A-Za-z0-9_-]*$`), so every name
// that can have a schema passes and nothing else does. Rejected in particular: empty names;
// 128 bytes or more; NUL and every other control character; invalid UTF-8; any non-ASCII
// character (look-alikes); whitespace anywhere, including leading or trailing (never trimmed);
// '.', '/', '"', ';' and all other punctuation; a leading digit or '-'.
//
// Uppercase letters pass because Blueprint allows them, but Redshift folds ASCII letters to
// lowercase even in quoted identifiers, so "Foo" and "foo" name one warehouse table.
//
// Fails with ErrorKind::permanent and a message that names the offending character and its
// byte offset, with the name escaped by quote_for_message.
[[nodiscard]] Result<void> validate_table_name(std::string_view name);

// The gate for column names (Operation::name, Operation::new_outbound,
// ColumnDefinition::outbound_name). Columns only ever reach SQL, always as quoted identifiers,
// so the rule is the one that keeps quoting sound and DDL readable rather than Blueprint's
// grammar (which older columns may predate): 1 to 127 bytes of valid UTF-8 without control
// characters (C0, DEL, C1) and without '"'. Fails with ErrorKind::permanent.
[[nodiscard]] Result<void> validate_column_name(std::string_view name);

} // namespace rsi::core
