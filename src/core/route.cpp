#include "core/route.hpp"

#include <charconv>

#include <fmt/format.h>

#include "core/file_pointer.hpp"
#include "core/table_name.hpp"
#include "core/text.hpp"

namespace rsi::core {
namespace {

// {version} reads at most this many digits (k_max_table_version has six).
constexpr std::size_t k_max_version_digits = 6;

bool is_table_character(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '-';
}

bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

void add_literal(std::vector<Route::Token>& tokens, std::string_view text) {
  if (!tokens.empty() && tokens.back().kind == Route::TokenKind::literal) {
    tokens.back().text += text;
  } else {
    tokens.push_back({.kind = Route::TokenKind::literal, .text = std::string(text)});
  }
}

// The tokens of one pattern segment other than "**".
Result<void> tokenize_segment(std::string_view segment, std::vector<Route::Token>& tokens) {
  for (std::size_t at = 0; at < segment.size();) {
    const char ch = segment[at];
    if (ch == '*') {
      if (at + 1 < segment.size() && segment[at + 1] == '*') {
        return fail(ErrorKind::permanent, fmt::format("\"**\" must be a whole segment, got {}",
                                                      quote_for_message(segment)));
      }
      tokens.push_back({.kind = Route::TokenKind::star});
      ++at;
    } else if (ch == '{') {
      const auto close = segment.find('}', at);
      const auto name =
          segment.substr(at, close == std::string_view::npos ? close : close - at + 1);
      if (name == "{table}") {
        tokens.push_back({.kind = Route::TokenKind::table});
      } else if (name == "{version}") {
        tokens.push_back({.kind = Route::TokenKind::version});
      } else {
        return fail(ErrorKind::permanent,
                    fmt::format("unknown placeholder {} (use {{table}} or {{version}})",
                                quote_for_message(name)));
      }
      at += name.size();
    } else {
      const auto next = segment.find_first_of("*{", at);
      const auto end = next == std::string_view::npos ? segment.size() : next;
      add_literal(tokens, segment.substr(at, end - at));
      at = end;
    }
  }
  return {};
}

Result<std::vector<Route::Token>> tokenize(std::string_view pattern) {
  if (pattern.empty()) {
    return fail(ErrorKind::permanent, "empty pattern");
  }
  std::vector<Route::Token> tokens;
  std::size_t start = 0;
  while (true) {
    const auto slash = pattern.find('/', start);
    const bool last = slash == std::string_view::npos;
    const auto segment = pattern.substr(start, last ? slash : slash - start);
    if (segment.empty()) {
      return fail(ErrorKind::permanent,
                  last ? "the pattern ends with '/' (add ** to match the keys below it)"
                       : fmt::format("empty segment at byte {} (a leading or doubled '/')", start));
    }
    if (segment == "**") {
      tokens.push_back(
          {.kind = last ? Route::TokenKind::globstar_rest : Route::TokenKind::globstar_dir});
    } else {
      RSI_TRY(tokenize_segment(segment, tokens));
      if (!last) {
        add_literal(tokens, "/");
      }
    }
    if (last) {
      return tokens;
    }
    start = slash + 1;
  }
}

std::size_t count(const std::vector<Route::Token>& tokens, Route::TokenKind kind) {
  std::size_t found = 0;
  for (const auto& token : tokens) {
    found += token.kind == kind ? 1 : 0;
  }
  return found;
}

// Backtracking over the tokens with a memory of the (token, position) pairs that failed, so a
// key costs at most tokens × positions states, each trying at most every later position.
class Matcher {
public:
  Matcher(const std::vector<Route::Token>& tokens, std::string_view key)
      : m_tokens(tokens), m_key(key), m_failed((tokens.size() + 1) * (key.size() + 1), false) {}

  bool run() { return from(0, 0); }

  std::string_view table;
  std::string_view version;

private:
  bool from(std::size_t token, std::size_t pos) {
    if (token == m_tokens.size()) {
      return pos == m_key.size();
    }
    const std::size_t state = token * (m_key.size() + 1) + pos;
    if (m_failed[state]) {
      return false;
    }
    const bool matched = step(token, pos);
    if (!matched) {
      m_failed[state] = true;
    }
    return matched;
  }

  bool step(std::size_t token, std::size_t pos) {
    const Route::Token& current = m_tokens[token];
    const std::string_view rest = m_key.substr(pos);
    switch (current.kind) {
    case Route::TokenKind::literal:
      return rest.starts_with(current.text) && from(token + 1, pos + current.text.size());
    case Route::TokenKind::star:
      for (std::size_t end = pos;; ++end) {
        if (from(token + 1, end)) {
          return true;
        }
        if (end == m_key.size() || m_key[end] == '/') {
          return false;
        }
      }
    case Route::TokenKind::globstar_dir:
      if (from(token + 1, pos)) {
        return true;
      }
      for (std::size_t at = pos; at < m_key.size(); ++at) {
        if (m_key[at] == '/' && from(token + 1, at + 1)) {
          return true;
        }
      }
      return false;
    case Route::TokenKind::globstar_rest:
      return pos < m_key.size() && from(token + 1, m_key.size());
    case Route::TokenKind::table:
      for (std::size_t end = pos + 1; end <= m_key.size() && is_table_character(m_key[end - 1]);
           ++end) {
        if (from(token + 1, end)) {
          table = m_key.substr(pos, end - pos);
          return true;
        }
      }
      return false;
    case Route::TokenKind::version:
      for (std::size_t end = pos + 1;
           end <= m_key.size() && end - pos <= k_max_version_digits && is_digit(m_key[end - 1]);
           ++end) {
        if (from(token + 1, end)) {
          version = m_key.substr(pos, end - pos);
          return true;
        }
      }
      return false;
    }
    return false;
  }

  const std::vector<Route::Token>& m_tokens;
  std::string_view m_key;
  std::vector<bool> m_failed;
};

Result<int> parse_version(std::string_view text) {
  int version = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size() || version < 0 ||
      version > k_max_table_version) {
    return fail(ErrorKind::permanent,
                fmt::format("version={}: expected \"current\" or an integer from 0 to {}",
                            escape_for_message(text), k_max_table_version));
  }
  return version;
}

} // namespace

Result<Route> Route::parse(std::string_view spec) {
  const auto fail_with = [&](const Error& error) {
    return fail(error.wrap(fmt::format("route {}", quote_for_message(spec, 200))));
  };
  Route route;
  std::vector<std::string_view> words;
  for (std::size_t start = 0; start < spec.size();) {
    const auto space = spec.find(' ', start);
    const auto end = space == std::string_view::npos ? spec.size() : space;
    if (end > start) {
      words.push_back(spec.substr(start, end - start));
    }
    start = end + 1;
  }
  if (words.empty()) {
    return fail_with(Error{ErrorKind::permanent, "empty route"});
  }
  auto tokens = tokenize(words.front());
  if (!tokens) {
    return fail_with(tokens.error());
  }
  route.m_tokens = std::move(*tokens);
  bool current = false;
  for (std::size_t index = 1; index < words.size(); ++index) {
    const auto word = words[index];
    const auto equals = word.find('=');
    const auto name = word.substr(0, equals);
    const auto value =
        equals == std::string_view::npos ? std::string_view() : word.substr(equals + 1);
    if (name == "table" && !value.empty()) {
      if (auto valid = validate_table_name(value); !valid) {
        return fail_with(valid.error().wrap("table="));
      }
      route.m_table = std::string(value);
    } else if (name == "version" && value == "current") {
      current = true;
    } else if (name == "version" && !value.empty()) {
      auto version = parse_version(value);
      if (!version) {
        return fail_with(version.error());
      }
      route.m_version = *version;
    } else if (name == "bucket" && !value.empty()) {
      if (auto valid = check_location({.bucket = std::string(value), .key = "key"}); !valid) {
        return fail_with(valid.error().wrap("bucket="));
      }
      route.m_bucket = std::string(value);
    } else {
      return fail_with(
          Error{ErrorKind::permanent,
                fmt::format("unknown setting {} (table=NAME, version=N|current or bucket=NAME; the "
                            "pattern itself has no spaces)",
                            quote_for_message(word))});
    }
  }
  const std::size_t tables = count(route.m_tokens, TokenKind::table);
  const std::size_t versions = count(route.m_tokens, TokenKind::version);
  if (tables > 1 || versions > 1) {
    return fail_with(Error{ErrorKind::permanent, "a placeholder appears twice"});
  }
  if ((tables == 1) == route.m_table.has_value()) {
    return fail_with(Error{ErrorKind::permanent,
                           route.m_table
                               ? "both {table} and table=: keep one"
                               : "no table: put {table} in the pattern or add table=NAME"});
  }
  if (versions == 1 && (route.m_version || current)) {
    return fail_with(Error{ErrorKind::permanent, "both {version} and version=: keep one"});
  }
  std::string text(words.front());
  for (std::size_t index = 1; index < words.size(); ++index) {
    text += ' ';
    text += words[index];
  }
  route.m_text = std::move(text);
  return route;
}

bool Route::takes_current_version() const {
  return !m_version && count(m_tokens, TokenKind::version) == 0;
}

std::optional<Route::Match> Route::match(std::string_view bucket, std::string_view key) const {
  if (m_bucket && *m_bucket != bucket) {
    return std::nullopt;
  }
  Matcher matcher(m_tokens, key);
  if (!matcher.run()) {
    return std::nullopt;
  }
  Match match{.table = m_table.value_or(std::string(matcher.table)), .version = m_version};
  if (!validate_table_name(match.table)) {
    return std::nullopt;
  }
  if (!matcher.version.empty()) {
    auto version = parse_version(matcher.version);
    if (!version) {
      return std::nullopt;
    }
    match.version = *version;
  }
  return match;
}

std::optional<Route::Match> route_key(std::span<const Route> routes, std::string_view bucket,
                                      std::string_view key) {
  for (const Route& route : routes) {
    if (auto match = route.match(bucket, key)) {
      return match;
    }
  }
  return std::nullopt;
}

std::vector<std::string> route_texts(std::span<const Route> routes) {
  std::vector<std::string> texts;
  texts.reserve(routes.size());
  for (const Route& route : routes) {
    texts.push_back(route.text());
  }
  return texts;
}

Result<std::vector<Route>> parse_routes(std::span<const std::string> specs) {
  std::vector<Route> routes;
  routes.reserve(specs.size());
  for (const auto& spec : specs) {
    RSI_TRY_ASSIGN(auto route, Route::parse(spec));
    routes.push_back(std::move(route));
  }
  return routes;
}

} // namespace rsi::core
