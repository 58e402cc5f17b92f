#include "app/redshift_smoke.hpp"

#include <functional>
#include <optional>
#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/object_stores.hpp"
#include "app/startup.hpp"
#include "common/clock.hpp"
#include "common/gzip.hpp"
#include "common/uuid.hpp"
#include "core/operation.hpp"
#include "http/credentials.hpp"
#include "pg/connection.hpp"
#include "warehouse/factory.hpp"
#include "warehouse/redshift_privileges.hpp"
#include "warehouse/redshift_sql.hpp"

namespace rsi::app {
namespace {

using namespace std::chrono_literals;

core::Operation column(std::string name, std::string type, std::string options, int version) {
  core::Operation op;
  op.action = core::Action::add;
  op.name = std::move(name);
  op.column_type = std::move(type);
  op.column_options = std::move(options);
  op.version = version;
  return op;
}

core::Operation renamed(std::string from, std::string to, int version) {
  core::Operation op;
  op.action = core::Action::rename;
  op.name = std::move(from);
  op.new_outbound = std::move(to);
  op.version = version;
  return op;
}

// Two lines a file; the columns of version 1 (time, country, n, note, label).
std::string file_lines(int file) {
  std::string lines;
  for (int line = 1; line <= 2; ++line) {
    lines += fmt::format("2016-01-0{} 00:00:0{}\tUS\t{}\tfile {} line {}\tsmoke\n", file, line,
                         file * 10 + line, file, line);
  }
  return lines;
}

// `text` on one line: each run of line breaks and the indentation after it as " / ".
std::string one_line(std::string_view text) {
  std::string out;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] != '\n') {
      out.push_back(text[at]);
      continue;
    }
    while (at + 1 < text.size() && (text[at + 1] == '\n' || text[at + 1] == ' ')) {
      ++at;
    }
    out += " / ";
  }
  return out;
}

class Smoke {
public:
  Smoke(const RedshiftSmokeSettings& settings, std::ostream& out)
      : m_settings(settings), m_out(out),
        m_scratch(settings.scratch.empty() ? fmt::format("rsi_smoke_{}", new_uuid().substr(0, 8))
                                           : settings.scratch),
        m_table(fmt::format("{}_event", m_scratch)) {}

  bool run() {
    step("create the scratch schemas " + m_scratch + ", " + m_scratch + "_views",
         [&] { return create_schemas(); });
    step("start-up checks (privileges, infra tables)", [&] { return open(); });
    step("migrate a small history (create v0, add and rename v1)", [&] { return migrate(); });
    step("load two files through a manifest", [&] { return load(); });
    step("check the ledger (complete; the same manifest again refused)",
         [&] { return check_ledger(); });
    step("resolve a simulated orphan through the ledger", [&] { return orphan(); });
    m_failed_before = false; // The clean-up runs whatever happened.
    step("drop the scratch schemas and the smoke's bookkeeping rows", [&] { return clean_up(); });
    const bool passed = m_failures == 0;
    m_out << (passed ? "PASS  redshift smoke: every step passed\n"
                     : fmt::format("FAIL  redshift smoke: {} step(s) failed\n", m_failures));
    return passed;
  }

private:
  void step(const std::string& name, const std::function<Result<void>()>& work) {
    if (m_failed_before) {
      m_out << "SKIP  " << name << "\n";
      return;
    }
    if (auto done = work(); !done) {
      ++m_failures;
      m_failed_before = true;
      m_out << "FAIL  " << name << ": " << one_line(done.error().message) << "\n";
      return;
    }
    m_out << "PASS  " << name << "\n";
    for (const std::string& note : m_notes) {
      m_out << "NOTE  " << note << "\n";
    }
    m_notes.clear();
  }

  Result<pg::Connection*> admin() {
    if (!m_admin) {
      RSI_TRY_ASSIGN(auto conn, pg::Connection::connect(m_settings.redshift.conninfo));
      m_admin.emplace(std::move(conn));
    }
    return &*m_admin;
  }

  Result<void> create_schemas() {
    RSI_TRY_ASSIGN(pg::Connection * conn, admin());
    for (const std::string& schema : {m_scratch, m_scratch + "_views"}) {
      RSI_TRY_ASSIGN(const std::string quoted, conn->quote_identifier(schema));
      RSI_TRY(conn->exec(fmt::format("CREATE SCHEMA {}", quoted)));
      m_created.push_back(quoted);
    }
    return {};
  }

  Result<void> open() {
    warehouse::RedshiftConfig config = m_settings.redshift;
    config.layout = warehouse::Layout{.physical_schema = m_scratch,
                                      .view_schema = m_scratch + "_views",
                                      .view_column = "time",
                                      .view_filter = "WHERE \"time\" > '2000-01-01'"};
    RSI_TRY_ASSIGN(m_warehouse, warehouse::make_redshift_warehouse(config));
    m_opened = true;
    // What the start-up only warns about, shown here too.
    RSI_TRY_ASSIGN(pg::Connection * conn, admin());
    const warehouse::SqlNames names(
        warehouse::Dialect::redshift,
        [conn](std::string_view name) { return conn->quote_identifier(name); }, config.layout);
    RSI_TRY_ASSIGN(const auto report, warehouse::redshift::check_privileges(*conn, names));
    for (const std::string& advice : report.advice) {
      m_notes.push_back(fmt::format("run {} ({})", advice, report.advice_reason));
    }
    if (report.advice.empty() && !report.advice_reason.empty()) {
      m_notes.push_back(report.advice_reason);
    }
    return {};
  }

  Result<void> migrate() {
    // No sortkey or distkey: the smoke runs on PostgreSQL dressed as Redshift in the tests too,
    // which cannot take them.
    const std::vector<core::Operation> v0 = {
        column("time", "f@timestamp@unix", "", 0), column("country", "ipCountry", "", 0),
        column("n", "bigint", "", 0), column("s", "varchar", "(64)", 0)};
    const std::vector<core::Operation> v1 = {renamed("s", "note", 1),
                                             column("label", "varchar", "(16)", 1)};
    RSI_TRY(m_warehouse->apply_migration(m_table, 0, v0, 600000ms));
    RSI_TRY(m_warehouse->apply_migration(m_table, 1, v1, 600000ms));
    RSI_TRY_ASSIGN(const auto versions, m_warehouse->table_versions());
    const auto found = versions.find(m_table);
    if (found == versions.end() || found->second != 1) {
      return fail(ErrorKind::permanent, "infra.table_version does not hold version 1");
    }
    RSI_TRY_ASSIGN(const bool exists, m_warehouse->table_exists(m_table));
    if (!exists) {
      return fail(ErrorKind::permanent, "the table is not in the catalog after its migrations");
    }
    return {};
  }

  // Two gzip files under the prefix, as the batch of `uuid`.
  Result<warehouse::LoadRequest> batch(const std::string& uuid) {
    warehouse::LoadRequest request{.manifest = uuid, .table = m_table, .version = 1};
    for (int file = 1; file <= 2; ++file) {
      const std::string key = fmt::format("{}/{}/{}.gz", m_settings.data_prefix, uuid, file);
      RSI_TRY_ASSIGN(const std::string gzipped, gzip(file_lines(file)));
      RSI_TRY(m_settings.data->put(key, gzipped));
      m_objects.push_back(key);
      request.files.push_back(core::ObjectLocation{m_settings.data_bucket, key});
    }
    return request;
  }

  Result<void> load() {
    m_loaded = new_uuid();
    RSI_TRY_ASSIGN(m_loaded_request, batch(m_loaded));
    auto loaded = m_warehouse->load_batch(m_loaded_request);
    if (!loaded) {
      return fail(loaded.error());
    }
    if (loaded->rows != 4 || loaded->files != 2) {
      return fail(ErrorKind::permanent,
                  fmt::format("COPY loaded {} rows of {} files; 4 rows of 2 expected", loaded->rows,
                              loaded->files));
    }
    return {};
  }

  Result<void> check_ledger() {
    RSI_TRY_ASSIGN(const auto status, m_warehouse->check_load(m_loaded));
    if (status != core::LoadStatus::complete) {
      return fail(ErrorKind::permanent, "the ledger does not have the loaded manifest");
    }
    auto again = m_warehouse->load_batch(m_loaded_request);
    if (again || again.error().kind != ErrorKind::conflict) {
      return fail(ErrorKind::permanent,
                  again ? "the same manifest loaded twice"
                        : fmt::format("a second load was not refused as already loaded: {}",
                                      again.error().message));
    }
    return {};
  }

  // A loader that died after writing its manifest and before its COPY committed leaves an
  // orphan: the ledger says it did not load, so it is loaded again, once.
  Result<void> orphan() {
    m_orphan = new_uuid();
    RSI_TRY_ASSIGN(const auto request, batch(m_orphan));
    RSI_TRY(m_settings.redshift.manifests->put(fmt::format("{}.json", m_orphan),
                                               warehouse::redshift::manifest_json(request.files)));
    RSI_TRY_ASSIGN(const auto before, m_warehouse->check_load(m_orphan));
    if (before != core::LoadStatus::not_found) {
      return fail(ErrorKind::permanent,
                  fmt::format("the orphan reads as {}, not as not loaded", to_string(before)));
    }
    auto loaded = m_warehouse->load_batch(request);
    if (!loaded) {
      return fail(loaded.error());
    }
    RSI_TRY_ASSIGN(const auto after, m_warehouse->check_load(m_orphan));
    if (after != core::LoadStatus::complete) {
      return fail(ErrorKind::permanent, "the orphan's load is not in the ledger");
    }
    return {};
  }

  Result<void> clean_up() {
    m_warehouse.reset();
    std::vector<std::string> failures;
    auto conn = admin();
    if (conn) {
      const auto run = [&](const std::string& sql, const std::vector<pg::Param>& params) {
        if (auto done = (*conn)->exec(sql, params); !done) {
          failures.push_back(done.error().message);
        }
      };
      // The service's user need not delete from infra: without the privilege the smoke's rows
      // stay (harmless: no event has the smoke's name), and an administrator may delete them.
      // `statement` ends in "= ": the value is its parameter, or, in the note, its literal.
      const auto forget = [&](const std::string& statement, const std::string& value) {
        auto done = (*conn)->exec(statement + "$1", {value});
        if (done) {
          return;
        }
        if ((*conn)->last_sqlstate() != "42501") {
          failures.push_back(done.error().message);
          return;
        }
        auto literal = (*conn)->quote_literal(value);
        m_notes.push_back(fmt::format("no DELETE on infra: as an administrator, run {}{};",
                                      statement, literal.value_or("?")));
      };
      for (const std::string& schema : m_created) {
        run(fmt::format("DROP SCHEMA {} CASCADE", schema), {});
      }
      if (m_opened) {
        forget("DELETE FROM infra.table_version WHERE name = ", m_table);
      }
      for (const std::string* uuid : {&m_loaded, &m_orphan}) {
        if (!uuid->empty()) {
          forget("DELETE FROM infra.load_manifest WHERE uuid = ", *uuid);
        }
      }
    } else {
      failures.push_back(conn.error().message);
    }
    for (const std::string& key : m_objects) {
      if (auto removed = m_settings.data->remove(key); !removed) {
        failures.push_back(removed.error().message);
      }
    }
    for (const std::string* uuid : {&m_loaded, &m_orphan}) {
      if (!uuid->empty()) {
        if (auto removed = m_settings.redshift.manifests->remove(*uuid + ".json"); !removed) {
          failures.push_back(removed.error().message);
        }
      }
    }
    if (!failures.empty()) {
      return fail(ErrorKind::permanent, fmt::format("{}", fmt::join(failures, "; ")));
    }
    return {};
  }

  const RedshiftSmokeSettings& m_settings;
  std::ostream& m_out;
  std::string m_scratch;
  std::string m_table;
  std::optional<pg::Connection> m_admin;
  std::unique_ptr<warehouse::Warehouse> m_warehouse;
  std::vector<std::string> m_created; // Quoted schema names.
  std::vector<std::string> m_objects; // Data keys written.
  std::string m_loaded;
  warehouse::LoadRequest m_loaded_request;
  std::vector<std::string> m_notes; // Printed after the current step's line, as NOTE lines.
  std::string m_orphan;
  bool m_opened = false; // The backend started: the smoke may have written bookkeeping rows.
  int m_failures = 0;
  bool m_failed_before = false;
};

} // namespace

RedshiftSmokeCommand::RedshiftSmokeCommand(CLI::App& app) {
  m_command = app.add_subcommand(
      "redshift-smoke",
      "Take the Redshift backend through its whole path in a scratch schema of your cluster "
      "before cut-over (scripts/redshift-smoke; docs/warehouse.md, Redshift requirements)");
  m_command
      ->add_option("--warehouse-url", m_options.warehouse_url,
                   "redshift://user[:password]@host:5439/db (the password also from "
                   "PGPASSWORD or ~/.pgpass)")
      ->required();
  m_command
      ->add_option("--manifest-bucket", m_options.manifest_bucket,
                   "S3 bucket for COPY manifests, as rsloadmanager's -manifestBucket")
      ->required();
  m_command->add_option("--data-bucket", m_options.data_bucket,
                        "S3 bucket for the two small test files (default: the manifest bucket)");
  m_command->add_option("--data-prefix", m_options.data_prefix,
                        "Key prefix of the test files (default: rsi-smoke)");
  m_command->add_option("--iam-role", m_options.iam_role,
                        "COPY's IAM role ARN, or default (else the process's AWS keys)");
  m_command->add_option("--scratch-schema", m_options.scratch,
                        "Schema to create and drop (default: rsi_smoke_<8 hex digits>)");
  m_command->add_option("--aws-region", m_options.aws.region, "S3 region (else AWS_REGION)");
  m_command->add_option("--aws-endpoint", m_options.aws.endpoint,
                        "S3 endpoint override (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)");
}

bool RedshiftSmokeCommand::chosen() const { return m_command->parsed(); }

int RedshiftSmokeCommand::run(std::ostream& out) {
  const http::Environment env = http::process_environment();
  SystemClock clock;
  auto credentials = http::make_default_credentials_provider(env, clock);
  BucketStores buckets(m_options.aws, env, credentials);
  const std::string data_bucket =
      m_options.data_bucket.empty() ? m_options.manifest_bucket : m_options.data_bucket;
  auto manifests = buckets.bucket(m_options.manifest_bucket);
  auto data = manifests ? buckets.bucket(data_bucket) : manifests;
  // The URL as the service takes it: TLS (verify-full) unless it says otherwise.
  auto url = with_tls_default(m_options.warehouse_url, env);
  if (!url) {
    out << "FAIL  redshift smoke: --warehouse-url: " << url.error().message << "\n";
    return k_exit_config_error;
  }
  auto config = manifests && data
                    ? warehouse::config_from_url(*url, {},
                                                 {.manifests = *manifests,
                                                  .manifest_bucket = m_options.manifest_bucket,
                                                  .iam_role = m_options.iam_role,
                                                  .credentials = credentials})
                    : Result<warehouse::Config>(fail(manifests ? data.error() : manifests.error()));
  const auto* redshift =
      config ? std::get_if<warehouse::RedshiftConfig>(&config->backend) : nullptr;
  if (redshift == nullptr) {
    out << "FAIL  redshift smoke: "
        << (config ? "--warehouse-url is not a redshift:// URL" : config.error().message) << "\n";
    return k_exit_config_error;
  }
  const bool passed = run_redshift_smoke({.redshift = *redshift,
                                          .data = *data,
                                          .data_bucket = data_bucket,
                                          .data_prefix = m_options.data_prefix,
                                          .scratch = m_options.scratch},
                                         out);
  return passed ? 0 : k_exit_startup_error;
}

bool run_redshift_smoke(const RedshiftSmokeSettings& settings, std::ostream& out) {
  if (settings.data == nullptr || settings.redshift.manifests == nullptr) {
    out << "FAIL  redshift smoke: no data or manifest bucket configured\n";
    return false;
  }
  return Smoke(settings, out).run();
}

} // namespace rsi::app
