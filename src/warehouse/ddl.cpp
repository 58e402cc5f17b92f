#include "warehouse/ddl.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "common/strings.hpp"
#include "common/uuid.hpp"
#include "core/file_pointer.hpp"
#include "core/table_name.hpp"
#include "core/text.hpp"

namespace rsi::warehouse {
namespace {

constexpr std::size_t k_postgres_identifier_bytes = 63; // NAMEDATALEN - 1

// Blueprint transformers whose warehouse type is not their name (the original's
// transformerTypeMap; "f@timestamp" stands for every "f@timestamp@<format>").
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> k_transformer_types{{
    {"ipCity", "varchar(64)"},
    {"ipCountry", "varchar(2)"},
    {"ipRegion", "varchar(64)"},
    {"ipAsn", "varchar(128)"},
    {"ipAsnInteger", "int"},
    {"f@timestamp", "datetime"},
    {"userIDWithMapping", "bigint"},
}};

// Redshift's column compression encodings ("Compression encodings").
constexpr std::array<std::string_view, 13> k_encodings{
    "raw",      "az64",     "bytedict",  "delta",   "delta32k", "lzo", "mostly8",
    "mostly16", "mostly32", "runlength", "text255", "text32k",  "zstd"};

bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }

// Reads column_options from left to right; every failure names the offending text.
class OptionParser {
public:
  explicit OptionParser(std::string_view text) : m_rest(text) {}

  [[nodiscard]] bool at_end() const { return m_rest.empty(); }
  bool skip_blanks() {
    const std::size_t before = m_rest.size();
    while (!m_rest.empty() && is_blank(m_rest.front())) {
      m_rest.remove_prefix(1);
    }
    return m_rest.size() != before;
  }
  [[nodiscard]] bool peek(char ch) const { return !m_rest.empty() && m_rest.front() == ch; }
  // Whether `ch` comes next after any blanks.
  [[nodiscard]] bool peek_after_blanks(char ch) const {
    const auto next = m_rest.find_first_not_of(" \t");
    return next != std::string_view::npos && m_rest[next] == ch;
  }
  [[nodiscard]] std::string_view rest() const { return m_rest; }

  // A word of letters and digits (keywords, codecs), or "" when none starts here.
  std::string_view word() {
    std::size_t length = 0;
    while (length < m_rest.size() &&
           std::isalnum(static_cast<unsigned char>(m_rest[length])) != 0) {
      ++length;
    }
    const std::string_view out = m_rest.substr(0, length);
    m_rest.remove_prefix(length);
    return out;
  }

  // "(n)", "(p,s)" or "(max)", blanks allowed inside; returns it without blanks, or "".
  std::string width() {
    const auto close = m_rest.find(')');
    if (!peek('(') || close == std::string_view::npos) {
      return {};
    }
    std::string inner;
    for (const char ch : m_rest.substr(1, close - 1)) {
      if (!is_blank(ch)) {
        inner.push_back(ch);
      }
    }
    const bool digits_and_comma =
        !inner.empty() && std::all_of(inner.begin(), inner.end(), [](char ch) {
          return std::isdigit(static_cast<unsigned char>(ch)) != 0 || ch == ',';
        });
    if (!digits_and_comma && to_ascii_lower(inner) != "max") {
      return {};
    }
    m_rest.remove_prefix(close + 1);
    return "(" + inner + ")";
  }

  // A DEFAULT literal: a signed decimal number, true/false, or a quoted string of printable
  // ASCII without quotes or backslashes (whose meaning differs between the warehouses).
  std::string_view literal() {
    std::size_t length = 0;
    if (peek('\'')) {
      length = 1;
      while (length < m_rest.size() && m_rest[length] != '\'') {
        const char ch = m_rest[length];
        if (ch == '\\' || ch == '"' || ch < 0x20 || ch > 0x7e) {
          return {};
        }
        ++length;
      }
      if (length == m_rest.size()) {
        return {};
      }
      ++length;
    } else {
      std::size_t start = (peek('-') || peek('+')) ? 1 : 0;
      length = start;
      bool seen_digit = false;
      bool seen_point = false;
      while (length < m_rest.size()) {
        const char ch = m_rest[length];
        if (std::isdigit(static_cast<unsigned char>(ch)) != 0) {
          seen_digit = true;
        } else if (ch == '.' && !seen_point) {
          seen_point = true;
        } else {
          break;
        }
        ++length;
      }
      if (!seen_digit) {
        const std::string keyword =
            to_ascii_lower(m_rest.substr(0, std::min<std::size_t>(5, m_rest.size())));
        length = keyword.starts_with("true") ? 4 : keyword.starts_with("false") ? 5 : 0;
        if (length != 0 && length < m_rest.size() &&
            std::isalnum(static_cast<unsigned char>(m_rest[length])) != 0) {
          length = 0;
        }
      }
    }
    const std::string_view out = m_rest.substr(0, length);
    m_rest.remove_prefix(length);
    return out;
  }

private:
  std::string_view m_rest;
};

// The type of a Blueprint column_type before column_options: mapped, or as written when it is
// made of letters, digits, blanks and a width only.
Result<std::string> base_type(std::string_view column_type) {
  if (column_type.starts_with("f@")) {
    const auto last_at = column_type.rfind('@');
    if (column_type.substr(0, last_at) == "f@timestamp") {
      return std::string("datetime");
    }
    return fail(ErrorKind::permanent,
                fmt::format("unknown transformer {}", core::quote_for_message(column_type)));
  }
  for (const auto& [transformer, type] : k_transformer_types) {
    if (column_type == transformer) {
      return std::string(type);
    }
  }
  const bool plain =
      !column_type.empty() && std::all_of(column_type.begin(), column_type.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == ' ' || ch == '(' ||
               ch == ')' || ch == ',';
      });
  if (!plain) {
    return fail(ErrorKind::permanent,
                fmt::format("column_type {} is not a type", core::quote_for_message(column_type)));
  }
  return std::string(column_type);
}

Result<void> parse_attributes(OptionParser& parser, ColumnSpec& spec) {
  std::string_view at = parser.rest(); // Where the attribute being read starts.
  const auto unexpected = [&]() {
    return fail(ErrorKind::permanent,
                fmt::format("unexpected {} in column_options (allowed: a width, sortkey, distkey, "
                            "null, not null, encode <codec>, default <literal>)",
                            core::quote_for_message(at)));
  };
  while (!parser.at_end()) {
    if (!parser.skip_blanks()) {
      return unexpected();
    }
    if (parser.at_end()) {
      break;
    }
    at = parser.rest();
    const std::string keyword = to_ascii_lower(parser.word());
    if (keyword == "sortkey") {
      spec.sortkey = true;
    } else if (keyword == "distkey") {
      spec.distkey = true;
    } else if (keyword == "null") {
      spec.not_null = false;
    } else if (keyword == "not") {
      parser.skip_blanks();
      if (to_ascii_lower(parser.word()) != "null") {
        return unexpected();
      }
      spec.not_null = true;
    } else if (keyword == "encode") {
      parser.skip_blanks();
      const std::string codec = to_ascii_lower(parser.word());
      if (std::find(k_encodings.begin(), k_encodings.end(), codec) == k_encodings.end()) {
        return fail(ErrorKind::permanent, fmt::format("unknown encoding {} in column_options",
                                                      core::quote_for_message(codec)));
      }
      spec.encode = codec;
    } else if (keyword == "default") {
      parser.skip_blanks();
      const std::string_view literal = parser.literal();
      if (literal.empty()) {
        return unexpected();
      }
      spec.default_value = std::string(literal);
    } else {
      return unexpected();
    }
  }
  return {};
}

} // namespace

std::string_view to_string(Dialect dialect) {
  switch (dialect) {
  case Dialect::redshift:
    return "redshift";
  case Dialect::postgres:
    return "postgres";
  case Dialect::sqlite:
    return "sqlite";
  }
  return "unknown";
}

std::size_t max_identifier_bytes(Dialect dialect) {
  return dialect == Dialect::postgres ? k_postgres_identifier_bytes : core::k_max_identifier_bytes;
}

Result<void> check_identifier(std::string_view name, Dialect dialect, std::string_view what) {
  if (auto valid = core::validate_column_name(name); !valid) {
    return fail(valid.error().wrap(what));
  }
  if (name.size() > max_identifier_bytes(dialect)) {
    return fail(ErrorKind::permanent,
                fmt::format("{} {} is {} bytes long; {} keeps at most {}", what,
                            core::quote_for_message(name), name.size(), to_string(dialect),
                            max_identifier_bytes(dialect)));
  }
  return {};
}

Result<void> check_table_name(std::string_view table, Dialect dialect) {
  RSI_TRY(core::validate_table_name(table));
  if (table.size() > max_identifier_bytes(dialect)) {
    return fail(ErrorKind::permanent,
                fmt::format("table {} is {} bytes long; {} keeps at most {}",
                            core::quote_for_message(table), table.size(), to_string(dialect),
                            max_identifier_bytes(dialect)));
  }
  return {};
}

LoadOutcome<void> check_load_request(const LoadRequest& request, Dialect dialect) {
  const auto context = [&] {
    return fmt::format("load {}", core::quote_for_message(request.manifest));
  };
  if (!is_uuid(request.manifest)) {
    return fail(ErrorKind::permanent, fmt::format("{}: the manifest is not a uuid", context()));
  }
  if (auto checked = check_table_name(request.table, dialect); !checked) {
    return fail(checked.error().wrap(context()));
  }
  if (request.version < 0 || request.version > core::k_max_table_version) {
    return fail(ErrorKind::permanent,
                fmt::format("{}: version {} out of range", context(), request.version));
  }
  if (request.files.empty()) {
    return fail(ErrorKind::permanent, fmt::format("{}: no files", context()));
  }
  for (std::size_t index = 0; index < request.files.size(); ++index) {
    if (auto checked = core::check_location(request.files[index]); !checked) {
      return std::unexpected(
          LoadError(checked.error().wrap(
                        fmt::format("{}: {}", context(), core::s3_url(request.files[index]))),
                    FileFault{.file = index, .kind = FileFaultKind::refused_object}));
    }
  }
  return {};
}

Result<ColumnSpec> column_spec(std::string_view name, std::string_view column_type,
                               std::string_view column_options) {
  ColumnSpec spec;
  spec.name = std::string(name);
  const auto wrap = [&](const Error& error) {
    return fail(error.wrap(fmt::format("column {}", core::quote_for_message(name))));
  };
  auto base = base_type(column_type);
  if (!base) {
    return wrap(base.error());
  }
  spec.redshift_type = *base;
  // The original appended column_options only when longer than one byte.
  if (column_options.size() > 1) {
    spec.options = std::string(column_options);
  }

  OptionParser parser(spec.options);
  std::string type_text = spec.redshift_type;
  if (parser.peek_after_blanks('(')) {
    parser.skip_blanks();
    const std::string width = parser.width();
    if (width.empty()) {
      return wrap(Error{ErrorKind::permanent, fmt::format("bad width {} in column_options",
                                                          core::quote_for_message(parser.rest()))});
    }
    type_text += width;
  }
  if (auto attributes = parse_attributes(parser, spec); !attributes) {
    return wrap(attributes.error());
  }
  auto type = tsv::parse_column_type(type_text);
  if (!type) {
    return wrap(type.error());
  }
  spec.type = *type;
  return spec;
}

Result<std::string> column_definition(const ColumnSpec& column, Dialect dialect,
                                      const QuoteFn& quote) {
  RSI_TRY_ASSIGN(const std::string name, quote(column.name));
  if (dialect == Dialect::redshift) {
    return fmt::format("{} {}{}", name, column.redshift_type, column.options);
  }
  std::string out = fmt::format("{} {}", name, tsv::to_string(column.type));
  if (column.not_null) {
    out += " NOT NULL";
  }
  if (!column.default_value.empty()) {
    out += " DEFAULT " + column.default_value;
  }
  return out;
}

std::string catalog_name(std::string_view identifier, Dialect dialect) {
  return dialect == Dialect::redshift ? to_ascii_lower(identifier) : std::string(identifier);
}

SqlNames::SqlNames(Dialect dialect, QuoteFn quote, Layout layout)
    : m_dialect(dialect), m_layout(std::move(layout)) {
  if (dialect == Dialect::redshift) {
    m_quote = [quote = std::move(quote)](std::string_view identifier) {
      return quote(to_ascii_lower(identifier));
    };
  } else {
    m_quote = std::move(quote);
  }
}

Result<std::string> SqlNames::qualified(std::string_view schema, std::string_view name) const {
  if (m_dialect == Dialect::sqlite) {
    return m_quote(schema.empty() ? std::string(name) : fmt::format("{}.{}", schema, name));
  }
  RSI_TRY_ASSIGN(const std::string quoted_schema, m_quote(schema));
  RSI_TRY_ASSIGN(const std::string quoted_name, m_quote(name));
  return fmt::format("{}.{}", quoted_schema, quoted_name);
}

Result<std::string> SqlNames::table(std::string_view name) const {
  // SQLite keeps tables in its main schema: the database file is the physical schema.
  return qualified(m_dialect == Dialect::sqlite ? std::string_view() : m_layout.physical_schema,
                   name);
}

Result<std::string> SqlNames::view(std::string_view name) const {
  return qualified(m_layout.view_schema, name);
}

Result<std::string> SqlNames::full_view(std::string_view name) const {
  return qualified(m_layout.full_view_schema, name);
}

Result<std::string> SqlNames::infra(std::string_view name) const {
  if (m_dialect == Dialect::sqlite) {
    return qualified("infra", name);
  }
  // Fixed names, written as the original wrote them (infra.table_version).
  return fmt::format("infra.{}", name);
}

Result<void> SqlNames::check_layout() const {
  // Operator-written SQL fragments go into CREATE VIEW as written; they must stay one
  // statement (sqlite would run a second one, libpq would refuse it).
  const auto check_sql = [](std::string_view text, std::string_view what) -> Result<void> {
    if (text.find('\0') != std::string_view::npos) {
      return fail(ErrorKind::permanent, fmt::format("{} contains a NUL byte", what));
    }
    if (text.find(';') != std::string_view::npos) {
      return fail(ErrorKind::permanent, fmt::format("{} contains ';'", what));
    }
    return {};
  };
  if (m_dialect != Dialect::sqlite) {
    RSI_TRY(check_identifier(m_layout.physical_schema, m_dialect, "physicalSchema"));
  }
  if (!m_layout.view_schema.empty()) {
    RSI_TRY(check_identifier(m_layout.view_schema, m_dialect, "viewSchema"));
  }
  if (!m_layout.full_view_schema.empty()) {
    RSI_TRY(check_identifier(m_layout.full_view_schema, m_dialect, "fullViewSchema"));
  }
  if (!m_layout.view_column.empty()) {
    RSI_TRY(check_identifier(m_layout.view_column, m_dialect, "viewColumn"));
  }
  RSI_TRY(check_sql(m_layout.view_filter, "viewFilter"));
  for (const auto& [column, expression] : m_layout.full_view_replacements) {
    RSI_TRY(check_identifier(column, m_dialect, "fullViewReplacements column"));
    RSI_TRY(check_sql(expression, "fullViewReplacements expression"));
    if (expression.empty()) {
      return fail(ErrorKind::permanent,
                  fmt::format("fullViewReplacements: empty expression for column {}",
                              core::quote_for_message(column)));
    }
  }
  return {};
}

} // namespace rsi::warehouse
