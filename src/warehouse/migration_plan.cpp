#include "warehouse/migration_plan.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/strings.hpp"
#include "core/text.hpp"

namespace rsi::warehouse {
namespace {

// Redshift folds identifiers to lowercase even when quoted (unless case-sensitive identifiers
// are enabled) and SQLite compares column names without case; PostgreSQL keeps quoted case.
bool same_column(std::string_view left, std::string_view right, Dialect dialect) {
  if (dialect == Dialect::postgres) {
    return left == right;
  }
  return iequals_ascii(left, right);
}

class Planner {
public:
  Planner(const SqlNames& names, std::string_view table, int version, TableKeys keys = {})
      : m_names(names), m_table(table), m_version(version), m_keys(std::move(keys)) {}

  Result<MigrationPlan> create(std::span<const core::Operation> operations) {
    MigrationPlan plan;
    const bool dropped = std::any_of(operations.begin(), operations.end(), [](const auto& op) {
      return op.action == core::Action::drop_event;
    });
    if (dropped) {
      return plan; // The event is gone: no table, only the version row.
    }
    std::vector<std::string> definitions;
    std::optional<std::string> distkey;
    for (const auto& op : operations) {
      RSI_TRY(check_version(op));
      if (op.action == core::Action::request_drop_event ||
          op.action == core::Action::cancel_drop_event) {
        continue;
      }
      if (op.action != core::Action::add) {
        return fail(error(op, "a table that does not exist can only be created from add steps"));
      }
      RSI_TRY_ASSIGN(const ColumnSpec spec, checked_spec(op));
      if (find(plan.columns, op.name) != plan.columns.end()) {
        return fail(error(op, "the column is added twice"));
      }
      if (spec.distkey && redshift()) {
        if (distkey) {
          return fail(error(
              op, fmt::format("distkey: only one column of a table can be the distribution key "
                              "(Redshift, CREATE TABLE), and {} is already",
                              core::quote_for_message(*distkey))));
        }
        distkey = op.name;
      }
      RSI_TRY_ASSIGN(std::string definition,
                     column_definition(spec, m_names.dialect(), m_names.quote_fn()));
      definitions.push_back(std::move(definition));
      plan.columns.push_back(op.name);
      RSI_TRY(add_sortkey_index(spec, m_index_statements));
    }
    if (plan.columns.empty()) {
      return fail(ErrorKind::permanent,
                  fmt::format("{}: no columns to create the table with", context()));
    }
    RSI_TRY_ASSIGN(const std::string table, m_names.table(m_table));
    plan.creates_table = true;
    plan.statements.push_back(
        fmt::format("CREATE TABLE {}({});", table, fmt::join(definitions, ",")));
    plan.statements.insert(plan.statements.end(), m_index_statements.begin(),
                           m_index_statements.end());
    RSI_TRY(append_views(plan.columns, plan.statements));
    return plan;
  }

  Result<MigrationPlan> alter(std::span<const core::Operation> operations,
                              std::vector<std::string> columns) {
    RSI_TRY_ASSIGN(const std::string table, m_names.table(m_table));
    const bool cascade = m_names.dialect() != Dialect::sqlite;
    std::vector<std::string> ddl;
    for (const auto& op : operations) {
      RSI_TRY(check_version(op));
      switch (op.action) {
      case core::Action::add: {
        RSI_TRY_ASSIGN(const ColumnSpec spec, checked_spec(op));
        if (find(columns, op.name) != columns.end()) {
          return fail(error(op, "the column exists already"));
        }
        if ((spec.sortkey || spec.distkey) && redshift()) {
          return fail(
              error(op, fmt::format("{}: ADD COLUMN cannot add a {} column to an existing table "
                                    "(Redshift, ALTER TABLE); a key is declared when the table is "
                                    "created",
                                    spec.distkey ? "distkey" : "sortkey",
                                    spec.distkey ? "distribution key" : "sort key")));
        }
        RSI_TRY_ASSIGN(const std::string definition,
                       column_definition(spec, m_names.dialect(), m_names.quote_fn()));
        ddl.push_back(fmt::format("ALTER TABLE {} ADD COLUMN {}", table, definition));
        RSI_TRY(add_sortkey_index(spec, ddl));
        columns.push_back(op.name);
        break;
      }
      case core::Action::delete_column: {
        RSI_TRY(check_name(op, op.name));
        const auto found = find(columns, op.name);
        if (found == columns.end()) {
          return fail(error(op, "no such column"));
        }
        if (find(m_keys.distkey, op.name) != m_keys.distkey.end()) {
          return fail(error(op, "the column is the table's distribution key (distkey): DROP "
                                "COLUMN cannot drop it (Redshift, ALTER TABLE)"));
        }
        if (find(m_keys.sortkey, op.name) != m_keys.sortkey.end()) {
          return fail(error(op, "the column is one of the table's sort key columns (sortkey): "
                                "DROP COLUMN cannot drop it (Redshift, ALTER TABLE)"));
        }
        RSI_TRY_ASSIGN(const std::string column, m_names.quote(op.name));
        ddl.push_back(fmt::format("ALTER TABLE {} DROP COLUMN {}{}", table, column,
                                  cascade ? " CASCADE" : ""));
        columns.erase(found);
        break;
      }
      case core::Action::rename: {
        RSI_TRY(check_name(op, op.name));
        RSI_TRY(check_name(op, op.new_outbound));
        const auto found = find(columns, op.name);
        if (found == columns.end()) {
          return fail(error(op, "no such column"));
        }
        const auto taken = find(columns, op.new_outbound);
        if (taken != columns.end() && taken != found) {
          return fail(error(op, fmt::format("column {} exists already",
                                            core::quote_for_message(op.new_outbound))));
        }
        RSI_TRY_ASSIGN(const std::string from, m_names.quote(op.name));
        RSI_TRY_ASSIGN(const std::string to, m_names.quote(op.new_outbound));
        ddl.push_back(fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {}", table, from, to));
        for (auto* keys : {&m_keys.distkey, &m_keys.sortkey}) { // A key keeps its role.
          if (const auto key = find(*keys, op.name); key != keys->end()) {
            *key = op.new_outbound;
          }
        }
        *found = op.new_outbound;
        break;
      }
      case core::Action::drop_event:
      case core::Action::request_drop_event:
      case core::Action::cancel_drop_event:
        break; // Bookkeeping of Blueprint's; the table stays as it is.
      }
    }
    MigrationPlan plan;
    plan.columns = std::move(columns);
    // As the original: the views are dropped and created again around every version step,
    // also one without DDL. A step that drops the event builds them from no columns (the
    // original read the columns from Blueprint, which has no schema for a dropped event): the
    // plain view without the filter, and no full view.
    const bool event_dropped =
        std::any_of(operations.begin(), operations.end(),
                    [](const auto& op) { return op.action == core::Action::drop_event; });
    RSI_TRY(append_view_drops(plan.statements));
    plan.statements.insert(plan.statements.end(), ddl.begin(), ddl.end());
    RSI_TRY(
        append_views(event_dropped ? std::vector<std::string>{} : plan.columns, plan.statements));
    return plan;
  }

  // The views of the table with `columns` (see plan_views).
  Result<ViewStatements> views(const std::vector<std::string>& columns) const {
    const Layout& layout = m_names.layout();
    RSI_TRY_ASSIGN(const std::string table, m_names.table(m_table));
    ViewStatements views;
    const bool has_view_column =
        !layout.view_column.empty() && find(columns, layout.view_column) != columns.end();
    if (!layout.view_schema.empty()) {
      RSI_TRY_ASSIGN(const std::string view, m_names.view(m_table));
      views.plain = fmt::format("CREATE VIEW {} AS SELECT * FROM {} {};", view, table,
                                has_view_column ? layout.view_filter : "");
    }
    if (layout.full_view_schema.empty() || !has_view_column) {
      return views;
    }
    std::vector<std::string> select;
    for (const auto& column : columns) {
      const auto replacement = std::find_if(
          layout.full_view_replacements.begin(), layout.full_view_replacements.end(),
          [&](const auto& entry) { return same_column(entry.first, column, m_names.dialect()); });
      if (replacement == layout.full_view_replacements.end()) {
        RSI_TRY_ASSIGN(std::string quoted, m_names.quote(column));
        select.push_back(std::move(quoted));
      } else {
        select.push_back(replacement->second); // Verbatim: it carries its own alias.
      }
    }
    RSI_TRY_ASSIGN(const std::string full_view, m_names.full_view(m_table));
    views.full = fmt::format("CREATE VIEW {} AS SELECT {} FROM {}", full_view,
                             fmt::join(select, ", "), table);
    return views;
  }

private:
  [[nodiscard]] std::string context() const {
    return fmt::format("migration {} v{}", m_table, m_version);
  }

  [[nodiscard]] Error error(const core::Operation& op, std::string_view message) const {
    std::string subject = std::string(core::to_string(op.action));
    if (!op.name.empty()) {
      subject += " " + core::quote_for_message(op.name);
    }
    return Error{ErrorKind::permanent, fmt::format("{}: {}: {}", context(), subject, message)};
  }

  [[nodiscard]] bool redshift() const { return m_names.dialect() == Dialect::redshift; }

  Result<void> check_version(const core::Operation& op) const {
    if (op.version != m_version) {
      return fail(error(op, fmt::format("the step belongs to version {}", op.version)));
    }
    return {};
  }

  Result<void> check_name(const core::Operation& op, std::string_view name) const {
    if (auto checked = check_identifier(name, m_names.dialect(), "column"); !checked) {
      return fail(error(op, checked.error().message));
    }
    return {};
  }

  Result<ColumnSpec> checked_spec(const core::Operation& op) const {
    RSI_TRY(check_name(op, op.name));
    auto spec = column_spec(op.name, op.column_type, op.column_options);
    if (!spec) {
      return fail(
          Error{ErrorKind::permanent, fmt::format("{}: {}", context(), spec.error().message)});
    }
    return spec;
  }

  template <class Columns>
  auto find(Columns& columns, std::string_view name) const -> decltype(columns.begin()) {
    return std::find_if(columns.begin(), columns.end(), [&](const std::string& column) {
      return same_column(column, name, m_names.dialect());
    });
  }

  Result<void> add_sortkey_index(const ColumnSpec& spec, std::vector<std::string>& out) const {
    if (!spec.sortkey || m_names.dialect() != Dialect::postgres) {
      return {};
    }
    RSI_TRY_ASSIGN(const std::string table, m_names.table(m_table));
    RSI_TRY_ASSIGN(const std::string column, m_names.quote(spec.name));
    // No index name: PostgreSQL picks a free one within its identifier limit.
    out.push_back(fmt::format("CREATE INDEX ON {} USING brin ({})", table, column));
    return {};
  }

  Result<void> append_view_drops(std::vector<std::string>& out) const {
    const Layout& layout = m_names.layout();
    const std::string_view cascade = m_names.dialect() == Dialect::sqlite ? "" : " CASCADE";
    if (!layout.view_schema.empty()) {
      RSI_TRY_ASSIGN(const std::string view, m_names.view(m_table));
      out.push_back(fmt::format("DROP VIEW IF EXISTS {}{}", view, cascade));
    }
    if (!layout.full_view_schema.empty()) {
      RSI_TRY_ASSIGN(const std::string full_view, m_names.full_view(m_table));
      out.push_back(fmt::format("DROP VIEW IF EXISTS {}{}", full_view, cascade));
    }
    return {};
  }

  Result<void> append_views(const std::vector<std::string>& columns,
                            std::vector<std::string>& out) const {
    RSI_TRY_ASSIGN(ViewStatements planned, views(columns));
    for (auto* statement : {&planned.plain, &planned.full}) {
      if (*statement) {
        out.push_back(std::move(**statement));
      }
    }
    return {};
  }

  const SqlNames& m_names;
  std::string_view m_table;
  int m_version = 0;
  TableKeys m_keys;
  std::vector<std::string> m_index_statements;
};

} // namespace

Result<MigrationPlan> plan_migration(const SqlNames& names, std::string_view table,
                                     int target_version,
                                     std::span<const core::Operation> operations,
                                     const std::optional<std::vector<std::string>>& current_columns,
                                     const TableKeys& keys) {
  RSI_TRY(check_table_name(table, names.dialect()));
  RSI_TRY(names.check_layout());
  Planner planner(names, table, target_version, keys);
  if (!current_columns) {
    return planner.create(operations);
  }
  return planner.alter(operations, *current_columns);
}

Result<ViewStatements> plan_views(const SqlNames& names, std::string_view table,
                                  const std::vector<std::string>& columns) {
  RSI_TRY(check_table_name(table, names.dialect()));
  RSI_TRY(names.check_layout());
  return Planner(names, table, 0).views(columns);
}

} // namespace rsi::warehouse
