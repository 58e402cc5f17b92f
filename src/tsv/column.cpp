#include "tsv/column.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace rsi::tsv {
namespace {

// Redshift limits (Character types; Numeric types).
constexpr std::uint32_t k_max_varchar_width = 65535;
constexpr std::uint32_t k_max_char_width = 4096;
constexpr std::uint32_t k_max_decimal_precision = 38;
constexpr std::uint32_t k_max_decimal_scale = 37;
// Stands for the MAX keyword in varchar(max)/char(max) until the type is known.
constexpr std::uint32_t k_max_keyword = std::numeric_limits<std::uint32_t>::max();

std::string normalized(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (const char raw : text) {
    const auto ch = static_cast<unsigned char>(raw);
    if (std::isspace(ch) != 0) {
      pending_space = !out.empty();
      continue;
    }
    // Spaces only matter between words: "double  precision", "decimal( 10 , 2 )".
    if (pending_space && std::isalpha(ch) != 0 &&
        std::isalpha(static_cast<unsigned char>(out.back())) != 0) {
      out.push_back(' ');
    }
    pending_space = false;
    out.push_back(to_ascii_lower(static_cast<char>(ch)));
  }
  return out;
}

std::optional<std::uint32_t> parse_number(std::string_view text) {
  std::uint32_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) {
    return std::nullopt;
  }
  return value;
}

// Splits "name(args)" into name and the comma-separated arguments (at most two).
struct Parts {
  std::string_view name;
  std::array<std::optional<std::uint32_t>, 2> args{};
  std::size_t arg_count = 0;
  bool ok = true;
};

Parts split(std::string_view type) {
  Parts parts;
  const auto open = type.find('(');
  if (open == std::string_view::npos) {
    parts.name = type;
    return parts;
  }
  parts.name = type.substr(0, open);
  if (!parts.name.empty() && parts.name.back() == ' ') {
    parts.name.remove_suffix(1);
  }
  if (type.back() != ')') {
    parts.ok = false;
    return parts;
  }
  std::string_view args = type.substr(open + 1, type.size() - open - 2);
  while (parts.ok) {
    const auto comma = args.find(',');
    const auto arg = args.substr(0, comma);
    if (parts.arg_count == parts.args.size()) {
      parts.ok = false;
      break;
    }
    parts.args[parts.arg_count] = arg == "max" ? std::optional(k_max_keyword) : parse_number(arg);
    parts.ok = parts.args[parts.arg_count].has_value();
    ++parts.arg_count;
    if (comma == std::string_view::npos) {
      break;
    }
    args.remove_prefix(comma + 1);
  }
  return parts;
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

} // namespace

Result<ColumnType> parse_column_type(std::string_view sql_type) {
  const std::string text = normalized(sql_type);
  const Parts parts = split(text);
  auto invalid = [&] {
    return fail(ErrorKind::permanent,
                fmt::format("parse column type \"{}\": unsupported", sql_type));
  };
  if (!parts.ok) {
    return invalid();
  }
  const auto arg = [&](std::size_t index, std::uint32_t fallback) {
    return index < parts.arg_count ? *parts.args[index] : fallback;
  };

  ColumnType type;
  const std::string_view name = parts.name;
  if (one_of(name, {"varchar", "character varying", "nvarchar", "text"})) {
    // Redshift turns TEXT into VARCHAR(256) and accepts no width for it.
    if (parts.arg_count > (name == "text" ? 0U : 1U)) {
      return invalid();
    }
    const std::uint32_t width = arg(0, 256);
    type = ColumnType::varchar(width == k_max_keyword ? k_max_varchar_width : width);
  } else if (one_of(name, {"char", "character", "nchar", "bpchar"})) {
    if (parts.arg_count > 1) {
      return invalid();
    }
    const std::uint32_t width = arg(0, name == "bpchar" ? 256 : 1);
    type = ColumnType::character(width == k_max_keyword ? k_max_char_width : width);
  } else if (one_of(name, {"decimal", "numeric"})) {
    type = ColumnType::decimal(arg(0, 18), arg(1, 0));
  } else {
    static constexpr std::array<std::pair<std::string_view, TypeKind>, 17> k_plain{{
        {"smallint", TypeKind::smallint},
        {"int2", TypeKind::smallint},
        {"integer", TypeKind::integer},
        {"int", TypeKind::integer},
        {"int4", TypeKind::integer},
        {"bigint", TypeKind::bigint},
        {"int8", TypeKind::bigint},
        {"real", TypeKind::real},
        {"float4", TypeKind::real},
        {"double precision", TypeKind::double_precision},
        {"float8", TypeKind::double_precision},
        {"float", TypeKind::double_precision},
        {"boolean", TypeKind::boolean},
        {"bool", TypeKind::boolean},
        {"timestamp", TypeKind::timestamp},
        {"datetime", TypeKind::timestamp},
        {"date", TypeKind::date},
    }};
    const auto found = std::find_if(k_plain.begin(), k_plain.end(),
                                    [&](const auto& entry) { return entry.first == name; });
    if (found != k_plain.end() && parts.arg_count == 0) {
      type = ColumnType::of(found->second);
    } else if (name == "timestamp without time zone" && parts.arg_count == 0) {
      type = ColumnType::of(TypeKind::timestamp);
    } else {
      return invalid();
    }
  }
  RSI_TRY(validate(type));
  return type;
}

Result<void> validate(const ColumnType& type) {
  const auto out_of_range = [&] {
    return fail(ErrorKind::permanent,
                fmt::format("column type {}: outside Redshift's limits", to_string(type)));
  };
  switch (type.kind) {
  case TypeKind::varchar:
    if (type.width == 0 || type.width > k_max_varchar_width) {
      return out_of_range();
    }
    break;
  case TypeKind::character:
    if (type.width == 0 || type.width > k_max_char_width) {
      return out_of_range();
    }
    break;
  case TypeKind::decimal:
    if (type.precision == 0 || type.precision > k_max_decimal_precision ||
        type.scale > std::min(type.precision, k_max_decimal_scale)) {
      return out_of_range();
    }
    break;
  default:
    break;
  }
  return {};
}

std::string_view type_name(TypeKind kind) {
  switch (kind) {
  case TypeKind::varchar:
    return "varchar";
  case TypeKind::character:
    return "char";
  case TypeKind::smallint:
    return "smallint";
  case TypeKind::integer:
    return "integer";
  case TypeKind::bigint:
    return "bigint";
  case TypeKind::real:
    return "real";
  case TypeKind::double_precision:
    return "double precision";
  case TypeKind::decimal:
    return "decimal";
  case TypeKind::boolean:
    return "boolean";
  case TypeKind::timestamp:
    return "timestamp";
  case TypeKind::date:
    return "date";
  }
  return "unknown";
}

std::string to_string(const ColumnType& type) {
  switch (type.kind) {
  case TypeKind::varchar:
  case TypeKind::character:
    return fmt::format("{}({})", type_name(type.kind), type.width);
  case TypeKind::decimal:
    return fmt::format("decimal({},{})", type.precision, type.scale);
  default:
    return std::string(type_name(type.kind));
  }
}

} // namespace rsi::tsv
