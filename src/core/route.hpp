#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace rsi::core {

// A routing rule (--route): which table, and which schema version, an object S3 announced (or a
// backfill listed) feeds, read from its key. Spade's own messages name both and need no rule.
//
//   PATTERN [table=NAME] [version=N|current] [bucket=NAME]
//
// The pattern is matched against the whole key, '/' separating segments:
//   {table}    one or more table-name characters (validate_table_name's: letters, digits, '_',
//              '-'), within one segment: the table
//   {version}  one or more digits within one segment: the version (at most k_max_table_version)
//   *          any characters within one segment, none included
//   **         as a whole segment: any number of segments (`a/**/b` matches a/b and a/x/y/b); as
//              the last segment, one or more (`exports/{table}/**` needs a file below the table)
//   anything else matches itself.
// The settings after the pattern, separated by spaces (so a pattern has no spaces):
//   table=NAME      every matching key feeds NAME (then the pattern has no {table})
//   version=N       a fixed version (then the pattern has no {version})
//   version=current the table's current version in the schema registry when the key is seen
//                   (the default when the pattern has no {version})
//   bucket=NAME     only keys of that bucket match (default: any bucket)
//
// Examples: `logs/{table}/v{version}/**`, `exports/{table}/** version=3`,
// `clicks/*.tsv.gz table=clicks bucket=partner-drop`.
//
// Matching takes time proportional to the pattern's length times the key's length squared at
// worst (keys are at most 1,024 bytes), whatever the key holds.
class Route {
public:
  // Parses a --route value. Fails permanent with what is wrong and where:
  // `route "logs/{tabel}/**": unknown placeholder "{tabel}" (use {table} or {version})`.
  [[nodiscard]] static Result<Route> parse(std::string_view spec);

  // What a matching key feeds; `version` is nullopt for "the registry's current version".
  struct Match {
    std::string table;
    std::optional<int> version;

    bool operator==(const Match&) const = default;
  };

  // The table and version for `key` of `bucket`, or nullopt when the rule does not match. A
  // key whose {table} text is not a valid table name or whose {version} is out of range does
  // not match.
  [[nodiscard]] std::optional<Match> match(std::string_view bucket, std::string_view key) const;

  // Whether a match takes the registry's current version (no {version}, no version=N).
  [[nodiscard]] bool takes_current_version() const;

  // The rule as given (trimmed), for logs and /control/status.
  [[nodiscard]] const std::string& text() const { return m_text; }

  enum class TokenKind { literal, star, globstar_dir, globstar_rest, table, version };
  struct Token {
    TokenKind kind = TokenKind::literal;
    std::string text; // literal only
  };

private:
  std::string m_text;
  std::vector<Token> m_tokens;
  std::optional<std::string> m_table;  // table=NAME
  std::optional<int> m_version;        // version=N
  std::optional<std::string> m_bucket; // bucket=NAME
};

// What the first matching rule of `routes` says about `key` of `bucket`, or nullopt.
[[nodiscard]] std::optional<Route::Match> route_key(std::span<const Route> routes,
                                                    std::string_view bucket, std::string_view key);

// Each rule's text(), in order: for logs and status pages.
[[nodiscard]] std::vector<std::string> route_texts(std::span<const Route> routes);

// Every --route value parsed, in order; the first error names the rule.
[[nodiscard]] Result<std::vector<Route>> parse_routes(std::span<const std::string> specs);

} // namespace rsi::core
