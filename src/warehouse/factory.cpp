#include "warehouse/factory.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"

namespace rsi::warehouse {

Result<RedshiftSection> parse_redshift_section(std::string_view json_object) {
  const auto wrap = [](const Error& error) {
    return fail(error.wrap("parse redshift configuration"));
  };
  auto parsed = core::parse_json(json_object);
  if (!parsed) {
    return wrap(parsed.error());
  }
  const nlohmann::json& object = *parsed;
  if (auto is_object = core::require_object(object); !is_object) {
    return wrap(is_object.error());
  }
  RedshiftSection section;
  const std::pair<std::string_view, std::string*> strings[] = {
      {"url", &section.url},
      {"physicalSchema", &section.layout.physical_schema},
      {"viewSchema", &section.layout.view_schema},
      {"viewColumn", &section.layout.view_column},
      {"viewFilter", &section.layout.view_filter},
      {"fullViewSchema", &section.layout.full_view_schema},
  };
  for (const auto& [field, target] : strings) {
    auto value = core::optional_string(object, field, *target);
    if (!value) {
      return wrap(value.error());
    }
    *target = std::move(*value);
  }
  if (const nlohmann::json* replacements = core::find_field(object, "fullViewReplacements");
      replacements != nullptr && !replacements->is_null()) {
    if (!replacements->is_object()) {
      return wrap(Error{ErrorKind::permanent,
                        fmt::format("field \"fullViewReplacements\": expected an object, got {}",
                                    core::describe_json(*replacements))});
    }
    for (const auto& [column, expression] : replacements->items()) {
      if (!expression.is_string()) {
        return wrap(Error{
            ErrorKind::permanent,
            fmt::format("field \"fullViewReplacements\": column {}: expected a string, got {}",
                        column, core::describe_json(expression))});
      }
      section.layout.full_view_replacements[column] = expression.get<std::string>();
    }
  }
  return section;
}

Result<Config> config_from_url(std::string_view url, Layout layout, Dependencies dependencies) {
  constexpr std::string_view k_redshift = "redshift://";
  constexpr std::string_view k_sqlite = "sqlite://";
  if (url.starts_with(k_redshift)) {
    const bool serverless_host =
        url.find(".redshift-serverless.amazonaws.com") != std::string_view::npos;
    // Turning the system tables off is how an operator names Serverless behind another host.
    const bool serverless =
        serverless_host || (dependencies.system_tables.has_value() && !*dependencies.system_tables);
    return Config{RedshiftConfig{
        .conninfo = fmt::format("postgresql://{}", url.substr(k_redshift.size())),
        .layout = std::move(layout),
        .manifests = dependencies.manifests,
        .manifest_bucket = std::move(dependencies.manifest_bucket),
        .iam_role = std::move(dependencies.iam_role),
        .credentials = std::move(dependencies.credentials),
        .system_table_fallback = dependencies.system_tables.value_or(!serverless_host),
        .serverless = serverless}};
  }
  if (url.starts_with(k_sqlite)) {
    const std::string_view path = url.substr(k_sqlite.size());
    if (path.empty() || path.front() != '/') {
      return fail(ErrorKind::permanent, "warehouse URL: expected sqlite:///absolute/path.db");
    }
    return Config{SqliteConfig{.path = std::string(path),
                               .layout = std::move(layout),
                               .files = std::move(dependencies.files)}};
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://") ||
      url.find('=') != std::string_view::npos) {
    return Config{PostgresConfig{.conninfo = std::string(url),
                                 .layout = std::move(layout),
                                 .files = std::move(dependencies.files)}};
  }
  // The URL may hold a password: name only what was expected.
  return fail(ErrorKind::permanent, "warehouse URL: expected redshift://…, postgres://… or "
                                    "sqlite:///path (got a different scheme)");
}

Result<std::unique_ptr<Warehouse>> make_warehouse(const Config& config) {
  if (const auto* redshift = std::get_if<RedshiftConfig>(&config.backend)) {
    return make_redshift_warehouse(*redshift);
  }
  if (const auto* postgres = std::get_if<PostgresConfig>(&config.backend)) {
    return make_postgres_warehouse(*postgres);
  }
  return make_sqlite_warehouse(std::get<SqliteConfig>(config.backend));
}

} // namespace rsi::warehouse
