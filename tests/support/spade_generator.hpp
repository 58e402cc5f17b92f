#pragma once

// Spade files for end-to-end tests, with the rows the warehouse must end up holding for them.
//
// The generator picks a logical value for every cell (strings full of quotes, backslashes,
// NUL bytes, tabs, newlines, invalid UTF-8 and values longer than their column; numbers,
// booleans and times in every spelling the COPY profile accepts; empty fields, `\N` and rows
// cut short), writes it the way a producer does (Spade's Go quoting; bare, or in single or
// double quotes, with COPY's ESCAPE; files of one or more gzip members), and computes the value
// the warehouse must hold by the COPY rules of the profile (ARCHITECTURE §5, docs/warehouse.md
// and the rule comments of src/tsv). The rules are written again here on purpose, without
// src/tsv: this is the independent oracle the pipeline is checked against.

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rsi::test::spade {

enum class ColumnKind {
  varchar,          // Blueprint "varchar" with options "(width)".
  bigint,           // "bigint".
  integer,          // "int".
  double_precision, // "float".
  boolean,          // "bool".
  timestamp,        // "f@timestamp@unix": Spade writes the formatted time.
  date,             // "date".
  character,        // Blueprint "char" with options "(width)": CHAR(width).
};

struct ColumnSpec {
  std::string name;
  ColumnKind kind = ColumnKind::varchar;
  std::uint32_t width = 0; // varchar and character: the width in bytes.
};

// Blueprint's column_type and column_options for `column` (an `add` step).
std::string blueprint_type(const ColumnSpec& column);
std::string blueprint_options(const ColumnSpec& column);

// A value the warehouse must hold; nullopt is NULL. Two renderings of the same value:
//  - PostgreSQL: the text it prints with `::text` (DateStyle ISO, extra_float_digits 1, the
//    defaults).
//  - SQLite: `<storage class>:<text>`, as `typeof(v) || ':' || CAST(v AS TEXT)` shows what the
//    SQLite warehouse stores (docs/warehouse.md): integers as INTEGER ("integer:-7"), booleans
//    as INTEGER 1/0 ("integer:1"), floats as REAL printed by SQLite ("real:12.5", "real:3.0",
//    "real:Inf") except NaN, kept as the TEXT "NaN" ("text:NaN"); strings, timestamps and dates
//    as TEXT, a timestamp with its fraction digits as written ("text:2016-02-29
//    01:02:03.120000"), a date without the time that may follow it ("text:2016-02-29"), a
//    CHAR(n) value blank-padded to n ("text:ab  "), which PostgreSQL's text form trims ("ab").
using ExpectedValue = std::optional<std::string>;
using ExpectedRow = std::vector<ExpectedValue>;

struct SpadeFile {
  std::string text;                     // The TSV as written, before compression.
  std::string gzip;                     // The object's bytes: one or more gzip members.
  std::vector<ExpectedRow> rows;        // One per row of `text`, one value per column (PostgreSQL).
  std::vector<ExpectedRow> sqlite_rows; // The same rows as the SQLite warehouse stores them.
};

class SpadeGenerator {
public:
  explicit SpadeGenerator(std::uint32_t seed) : m_rng(seed) {}

  // A file of `row_count` rows (0 gives an empty file) for a table of `columns`, whose first
  // column must be a bigint (the row id): row i has id `first_id + i`, so every row of a test
  // can be told apart. Deterministic for a seed and a sequence of calls.
  SpadeFile make_file(std::span<const ColumnSpec> columns, std::int64_t first_id, int row_count);

private:
  struct Cell {
    std::string written;    // The field as it appears in the file, between the tabs.
    ExpectedValue expected; // What the warehouse holds for it: PostgreSQL's text.
    ExpectedValue sqlite;   // The same in SQLite's rendering.
  };

  Cell make_cell(const ColumnSpec& column);
  Cell make_string_cell(const ColumnSpec& column);
  Cell make_char_cell(const ColumnSpec& column);
  // `logical` as a producer writes a string (Spade's quoting, bare, or in quotes with ESCAPE)
  // and the field REMOVEQUOTES leaves of it.
  std::pair<std::string, std::string> write_string(const std::string& logical);
  Cell make_integer_cell(ColumnKind kind);
  Cell make_double_cell();
  Cell make_boolean_cell();
  Cell make_time_cell(ColumnKind kind);
  std::string make_logical_string(std::uint32_t width);
  // ASCII only (a CHAR column refuses any other byte): letters, blanks, quotes, backslashes,
  // control characters, DEL, now and then a NUL byte.
  std::string make_ascii_string(std::uint32_t width);
  // Wraps a typed value's text in the producer's quotes (or not), with blanks around it
  // sometimes (the profile ignores white space around a non-character value).
  std::string spell(std::string text);

  int pick(int below) { return static_cast<int>(m_rng() % static_cast<std::uint32_t>(below)); }
  bool chance(int percent) { return pick(100) < percent; }

  std::mt19937 m_rng;
};

// The oracle's steps, public so that a test can show its vectors.

// Go's %q body (without the surrounding quotes) of `bytes`, as Spade writes every value:
// `"` and `\` escaped, control characters as \n, \t, \xNN..., invalid UTF-8 bytes as \xNN.
// Covers the characters the generator uses (ASCII, and non-ASCII it knows to be printable or
// not).
std::string go_quote_body(const std::string& bytes);

// COPY's ESCAPE on a field's text: a backslash makes the next byte literal and is dropped.
std::string copy_unescape(const std::string& text);

// The VARCHAR(`width`) value COPY with the profile loads from `loaded` (the field after
// REMOVEQUOTES and ESCAPE, not a NULL marker): EMPTYASNULL, ACCEPTINVCHARS '?', TRIMBLANKS,
// TRUNCATECOLUMNS, in that order.
ExpectedValue expected_varchar(const std::string& loaded, std::uint32_t width);

// The CHAR(`width`) value COPY with the profile stores from `loaded` (ASCII, after REMOVEQUOTES
// and ESCAPE, not a NULL marker): EMPTYASNULL, TRUNCATECOLUMNS, then blank-padded to `width`.
// No ACCEPTINVCHARS and no TRIMBLANKS: both are for VARCHAR only.
ExpectedValue expected_char(const std::string& loaded, std::uint32_t width);

// The SQLite rendering of a value of `storage_class` ("integer", "real" or "text") that SQLite
// prints as `text`.
std::string sqlite_value(std::string_view storage_class, std::string_view text);

} // namespace rsi::test::spade
