#include "pipeline_scenario.hpp"

#include <csignal>
#include <map>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

namespace rsi::test::pipeline {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using spade::ColumnKind;
using spade::ColumnSpec;
using spade::ExpectedRow;

std::vector<TableDef> table_defs() {
  const ColumnSpec id{"id", ColumnKind::bigint};
  return {
      {"pipe_events",
       {id,
        {"name", ColumnKind::varchar, 16},
        {"amount", ColumnKind::integer},
        {"ratio", ColumnKind::double_precision},
        {"ok", ColumnKind::boolean},
        {"time", ColumnKind::timestamp},
        {"day", ColumnKind::date}},
       ColumnSpec{"note", ColumnKind::varchar, 24},
       70,
       30},
      {"pipe_texts",
       {id,
        {"a", ColumnKind::varchar, 8},
        {"b", ColumnKind::varchar, 64},
        {"c", ColumnKind::varchar, 65535}},
       std::nullopt,
       60,
       0},
      {"pipe_numbers",
       {id,
        {"small", ColumnKind::integer},
        {"big", ColumnKind::bigint},
        {"x", ColumnKind::double_precision},
        {"flag", ColumnKind::boolean}},
       std::nullopt,
       60,
       0},
      {"pipe-times",
       {id,
        {"time", ColumnKind::timestamp},
        {"day", ColumnKind::date},
        {"label", ColumnKind::varchar, 12}},
       std::nullopt,
       50,
       0},
      {"pipe_mixed",
       {id,
        {"label", ColumnKind::varchar, 32},
        {"n", ColumnKind::bigint},
        {"at", ColumnKind::timestamp},
        {"flag", ColumnKind::boolean}},
       std::nullopt,
       60,
       0},
  };
}

// Messages no file pointer can be read from, and what the rejection's reason must say.
std::vector<BadMessage> bad_messages(const std::string& bucket) {
  const std::string key = bucket + "/never/there.gz";
  const auto with_table = [&](const std::string& table) { return pointer_body(key, table, 0); };
  return {
      {"this is not json {", "malformed JSON"},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}}.dump(),
       "field \"TableVersion\": missing"},
      {json{{"TableName", "pipe_texts"}, {"TableVersion", 0}}.dump(), "field \"KeyName\": missing"},
      {json{{"KeyName", key}, {"TableVersion", 0}}.dump(), "field \"TableName\": missing"},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}, {"TableVersion", "0"}}.dump(),
       "field \"TableVersion\""},
      {json{{"KeyName", key}, {"TableName", "pipe_texts"}, {"TableVersion", -1}}.dump(),
       "field \"TableVersion\""},
      {with_table("a\"b; drop table x"), "invalid table name"},
      {with_table(""), "invalid table name: empty"},
      {with_table(std::string(200, 'a')), "200 bytes long"},
      {with_table("pipe\x01texts"), "control character"},
      {with_table("pipe_texts\n"), "control character"},
      {with_table("../pipe_texts"), "invalid table name"},
      {json{{"Type", "Notification"}, {"Message", 42}}.dump(), "field \"Message\""},
      // A valid name that neither the event metadata nor the schemas know.
      {with_table("pipe_unknown"), "is not in the event metadata"},
  };
}

void plan_files(const ScenarioOptions& options, std::mt19937& rng, Scenario& scenario) {
  spade::SpadeGenerator generator(options.seed);
  for (std::size_t table_index = 0; table_index < scenario.tables.size(); ++table_index) {
    const TableDef& table = scenario.tables[table_index];
    std::vector<ColumnSpec> v1_columns = table.columns;
    if (table.v1_column) {
      v1_columns.push_back(*table.v1_column);
    }
    for (int file = 0; file < table.files; ++file) {
      PlannedFile planned;
      planned.table = table_index;
      planned.index = file;
      planned.version = file >= table.files - table.v1_files ? 1 : 0;
      planned.key =
          fmt::format("{}{}/v{}/{:03}.gz", options.key_prefix, table.name, planned.version, file);
      planned.key_name = options.bucket + "/" + planned.key;
      if (options.through_cli_one_in != 0) {
        planned.through_cli = rng() % options.through_cli_one_in == 0;
      }
      const auto& columns = planned.version == 1 ? v1_columns : table.columns;
      const auto first_id = static_cast<std::int64_t>(table_index) * 1'000'000 + file * 100;
      // Mostly a few rows; now and then an empty file; one file of pipe_texts of about 1.5 MB
      // uncompressed, more than the reader's first buffer.
      int rows = static_cast<int>(rng() % 9);
      if (table.name == "pipe_texts" && file == 7) {
        rows = 50;
      }
      auto contents = generator.make_file(columns, first_id, rows);
      planned.object = std::move(contents.gzip);
      planned.rows = std::move(options.rendering == Rendering::postgres ? contents.rows
                                                                        : contents.sqlite_rows);
      // Rows of version 0 get NULL in the column version 1 adds.
      for (auto& row : planned.rows) {
        row.resize(v1_columns.size());
      }
      scenario.files.push_back(std::move(planned));
    }
  }
}

void plan_announcements(const ScenarioOptions& options, std::mt19937& rng, Scenario& scenario,
                        const PlannedFile& corrupt) {
  const auto add = [&](std::vector<Announcement>& list, Announcement announcement) {
    if (options.add) {
      options.add(list, std::move(announcement), rng);
    } else {
      list.push_back(std::move(announcement));
    }
  };
  std::vector<Announcement> before;
  std::vector<Announcement> after;
  for (std::size_t index = 0; index < scenario.files.size(); ++index) {
    const PlannedFile& file = scenario.files[index];
    const TableDef& table = scenario.tables[file.table];
    if (file.corrupt) {
      continue;
    }
    const bool early =
        file.table == k_migrating_table ? file.version == 0 : file.index < table.files * 6 / 10;
    auto& list = early ? before : after;
    if (file.through_cli) {
      list.push_back({.cli_file = index});
      continue;
    }
    std::string body = pointer_body(file.key_name, table.name, file.version);
    if (rng() % 10 == 0) {
      body = json{
          {"Type", "Notification"},
          {"MessageId", fmt::format("sns-{}", rng())},
          {"Message",
           body}}.dump();
    }
    add(list, {.body = body});
  }
  for (std::size_t index = 0; index < scenario.bad_messages.size(); ++index) {
    (index % 2 == 0 ? before : after).push_back({.body = scenario.bad_messages[index].body});
  }
  std::shuffle(before.begin(), before.end(), rng);
  std::shuffle(after.begin(), after.end(), rng);
  if (options.shuffled) {
    options.shuffled(before, rng);
    options.shuffled(after, rng);
  }
  const auto corrupt_at = static_cast<long>(rng() % (before.size() / 5));
  before.insert(before.begin() + corrupt_at,
                {.body = pointer_body(corrupt.key_name, scenario.tables[k_corrupt_table].name, 0)});
  scenario.before_migration = std::move(before);
  scenario.after_migration = std::move(after);
}

std::int64_t row_id(Rendering rendering, const ExpectedRow& row) {
  if (rendering == Rendering::postgres) {
    return std::stoll(*row[0]);
  }
  return std::stoll(row.front().value_or("integer:-1").substr(std::string("integer:").size()));
}

std::map<std::string, std::int64_t> expected_row_counts(const Scenario& scenario) {
  std::map<std::string, std::int64_t> counts;
  for (const PlannedFile& file : scenario.files) {
    counts[scenario.tables[file.table].name] += static_cast<std::int64_t>(file.rows.size());
  }
  return counts;
}

std::set<std::string> rejected_bodies(Deployment& deployment) {
  std::set<std::string> bodies;
  for (const auto& row : deployment.rejected_messages().value_or(Table{})) {
    bodies.insert(row[0].value_or(""));
  }
  return bodies;
}

void skip_and_reannounce(const Scenario& scenario, Deployment& deployment, OperatorState& state,
                         const json& batch) {
  const std::string manifest = batch.value("Manifest", "");
  if (state.skipped) {
    state.unexpected = "a second batch went stale: " + batch.dump();
    return;
  }
  httplib::Client control("127.0.0.1", deployment.control_port());
  control.set_connection_timeout(1);
  const auto skipped =
      control.Post("/control/skip/" + manifest, json{{"Requester", scenario.skipped_by}}.dump(),
                   "application/json");
  if (!skipped || skipped->status != 200) {
    state.unexpected = "skip " + manifest + " failed: " + (skipped ? skipped->body : "no answer");
    return;
  }
  const auto files = deployment.skipped_files(manifest, scenario.corrupt_key_name);
  if (!files) {
    state.unexpected = "cannot read skipped_batch";
    return;
  }
  if (!files->has_corrupt) {
    state.unexpected = "a batch without the corrupt file went stale: " + batch.dump();
    return;
  }
  if (auto sent = deployment.announce_again(files->announcements); !sent) {
    state.unexpected = "re-announce: " + sent.error().message;
    return;
  }
  state.skipped = true;
  state.skip_response = skipped->body;
  state.reannounced = files->announcements.size();
}

void expect_table_contents(const Scenario& scenario, Deployment& deployment,
                           const TableDef& table) {
  std::vector<std::string> names;
  for (const auto& column : table.columns) {
    names.push_back(column.name);
  }
  if (table.v1_column) {
    names.push_back(table.v1_column->name);
  }
  const auto actual_names = deployment.warehouse_columns(table.name);
  ASSERT_TRUE(actual_names) << table.name;
  ASSERT_EQ(*actual_names, names) << "columns of " << table.name;

  const auto actual = deployment.warehouse_values(table.name, names);
  ASSERT_TRUE(actual) << table.name;
  std::vector<ExpectedRow> expected;
  for (const PlannedFile& file : scenario.files) {
    if (scenario.tables[file.table].name == table.name) {
      expected.insert(expected.end(), file.rows.begin(), file.rows.end());
    }
  }
  std::sort(expected.begin(), expected.end(), [&](const auto& left, const auto& right) {
    return row_id(scenario.rendering, left) < row_id(scenario.rendering, right);
  });
  EXPECT_EQ(actual->size(), expected.size()) << "rows of " << table.name;
  int differences = 0;
  for (std::size_t row = 0; row < std::min(actual->size(), expected.size()) && differences < 10;
       ++row) {
    for (std::size_t column = 0; column < names.size(); ++column) {
      if ((*actual)[row][column] != expected[row][column]) {
        ADD_FAILURE() << table.name << " row id " << shown(expected[row][0]) << " column \""
                      << names[column] << "\": expected " << shown(expected[row][column])
                      << ", the warehouse has " << shown((*actual)[row][column])
                      << " (row id there " << shown((*actual)[row][0]) << ")";
        ++differences;
      }
    }
  }
}

void expect_rejections(const Scenario& scenario, Deployment& deployment) {
  const auto rejected = deployment.rejected_messages();
  ASSERT_TRUE(rejected);
  for (const BadMessage& bad : scenario.bad_messages) {
    int found = 0;
    for (const auto& row : *rejected) {
      if (row[0] == bad.body) {
        ++found;
        EXPECT_NE(row[1].value_or("").find(bad.reason_contains), std::string::npos)
            << "reason " << shown(row[1]) << " for " << shown(bad.body);
      }
    }
    EXPECT_GE(found, 1) << "not rejected: " << shown(bad.body);
  }
  for (const auto& row : *rejected) {
    EXPECT_TRUE(std::any_of(scenario.bad_messages.begin(), scenario.bad_messages.end(),
                            [&](const BadMessage& bad) { return row[0] == bad.body; }))
        << "rejected, but good: " << shown(row[0]) << " because " << shown(row[1]);
  }
}

void expect_skipped_batch(const Scenario& scenario, Deployment& deployment,
                          const OperatorState& state, int max_load_retry) {
  const auto skipped = deployment.skipped_batches(scenario.corrupt_key_name);
  ASSERT_TRUE(skipped);
  ASSERT_EQ(skipped->size(), 1U);
  const SkippedBatch& batch = skipped->front();
  EXPECT_EQ(batch.table, scenario.tables[k_corrupt_table].name);
  EXPECT_EQ(batch.version, "0");
  EXPECT_EQ(batch.retry_count, std::to_string(max_load_retry));
  EXPECT_NE(batch.last_error.value_or("").find(scenario.corrupt_key_name), std::string::npos)
      << shown(batch.last_error);
  EXPECT_NE(batch.last_error.value_or("").find("gzip"), std::string::npos)
      << shown(batch.last_error);
  EXPECT_EQ(batch.skipped_by, scenario.skipped_by);
  EXPECT_TRUE(batch.holds_key);
  EXPECT_EQ(json::parse(state.skip_response).value("SkippedBy", ""), scenario.skipped_by)
      << state.skip_response;
}

} // namespace

std::optional<std::vector<std::string>> first_column(const std::optional<Table>& rows) {
  if (!rows) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& row : *rows) {
    out.push_back(row[0].value_or(""));
  }
  return out;
}

std::string pointer_body(const std::string& key_name, const std::string& table, int version) {
  return json{{"KeyName", key_name}, {"TableName", table}, {"TableVersion", version}}.dump();
}

Scenario make_scenario(const ScenarioOptions& options) {
  Scenario scenario;
  scenario.rendering = options.rendering;
  scenario.requester = options.requester;
  scenario.skipped_by = options.skipped_by;
  scenario.tables = table_defs();
  std::mt19937 rng(options.seed);
  plan_files(options, rng, scenario);
  PlannedFile& corrupt =
      *std::find_if(scenario.files.begin(), scenario.files.end(),
                    [](const PlannedFile& file) { return file.table == k_corrupt_table; });
  corrupt.corrupt = true;
  corrupt.through_cli = false;
  corrupt.object.resize(corrupt.object.size() * 2 / 3);
  corrupt.rows.clear();
  scenario.corrupt_key_name = corrupt.key_name;
  scenario.bad_messages = bad_messages(options.bucket);
  plan_announcements(options, rng, scenario, corrupt);
  return scenario;
}

std::string shown(const std::optional<std::string>& value) {
  if (!value) {
    return "NULL";
  }
  std::string out = "\"";
  for (const char ch : *value) {
    const auto byte = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += {'\\', ch};
    } else {
      out += byte >= 0x20 && byte < 0x7F ? std::string(1, ch) : fmt::format("\\x{:02x}", byte);
    }
  }
  return out + "\"";
}

std::string tail(const std::string& text) {
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

std::string Timeline::summary() const {
  const auto seconds = [](auto from, auto to) {
    return std::chrono::duration_cast<std::chrono::duration<double>>(to - from).count();
  };
  return fmt::format("faults {:.1f} s, convergence {:.1f} s, total {:.1f} s",
                     seconds(started, faults_done), seconds(faults_done, settled_at),
                     seconds(started, std::chrono::steady_clock::now()));
}

void ProducerErrors::note(std::string error) {
  const std::lock_guard lock(m_mutex);
  m_errors.push_back(std::move(error));
}

void ProducerErrors::report() {
  const std::lock_guard lock(m_mutex);
  for (const auto& error : m_errors) {
    ADD_FAILURE() << error;
  }
}

std::optional<std::string> wait_for_version_0_files(const Scenario& scenario,
                                                    Deployment& deployment, std::stop_token stop,
                                                    std::chrono::seconds timeout) {
  const TableDef& migrating = scenario.tables[k_migrating_table];
  const int v0_files = migrating.files - migrating.v1_files;
  if (test::eventually(timeout, [&] {
        return stop.stop_requested() ||
               deployment.recorded_or_loaded(migrating.name, 0) == v0_files;
      })) {
    return std::nullopt;
  }
  return fmt::format("producer: the {} version 0 files of {} were not recorded in time", v0_files,
                     migrating.name);
}

std::optional<std::vector<SkippedBatch>> skipped_batches_from(const std::optional<Table>& rows,
                                                              std::string_view sql_true) {
  if (!rows) {
    return std::nullopt;
  }
  std::vector<SkippedBatch> out;
  for (const auto& row : *rows) {
    out.push_back({row[0], row[1], row[2], row[3], row[4], row[5] == sql_true});
  }
  return out;
}

void kill_hard(test::Process& process, const std::string& name) {
  if (!process.running()) {
    ADD_FAILURE() << name << " exited by itself with status " << process.wait(0ms).value_or(-1)
                  << "\n"
                  << tail(process.log_text());
  }
  process.kill_hard();
  EXPECT_EQ(process.wait(10s), 128 + SIGKILL) << name << " survived kill -9";
}

void stop_gracefully(test::Process& process, const std::string& name,
                     const std::function<bool()>& ready) {
  ASSERT_TRUE(test::eventually(60s, [&] { return ready() || !process.running(); }))
      << name << "\n"
      << tail(process.log_text());
  process.signal(SIGTERM);
  const auto status = process.wait(30s);
  ASSERT_TRUE(status.has_value()) << name << " did not stop\n" << tail(process.log_text());
  EXPECT_EQ(*status, 0) << name << "\n" << tail(process.log_text());
}

int http_status(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1);
  client.set_read_timeout(5);
  const auto response = client.Get(path);
  return response ? response->status : 0;
}

bool converge(Timeline& timeline, std::jthread& producer_thread,
              const std::function<void()>& run_faults, const std::function<bool()>& operator_step,
              std::chrono::seconds timeout) {
  run_faults();
  producer_thread.join();
  timeline.faults_done = std::chrono::steady_clock::now();
  const bool settled = test::eventually(timeout, operator_step);
  timeline.settled_at = std::chrono::steady_clock::now();
  return settled;
}

std::string not_converged(const Timeline& timeline, const OperatorState& state,
                          const std::string& progress, const std::string& logs) {
  return fmt::format(
      "{} after {} s of faults\n{}\nlast status: {}\n{}",
      state.unexpected.empty() ? "did not converge" : state.unexpected,
      std::chrono::duration_cast<std::chrono::seconds>(timeline.faults_done - timeline.started)
          .count(),
      progress, state.last_status, logs);
}

bool time_to_look(OperatorState& state) {
  const auto now = std::chrono::steady_clock::now();
  if (now - state.last_look < 500ms) {
    return false;
  }
  state.last_look = now;
  return true;
}

void force_load_waiting_tables(const Scenario& scenario, Deployment& deployment) {
  const auto waiting = deployment.waiting_tables();
  if (!waiting) {
    return;
  }
  httplib::Client control("127.0.0.1", deployment.control_port());
  control.set_connection_timeout(1);
  for (const std::string& table : *waiting) {
    control.Post("/control/force_load",
                 json{{"Table", table}, {"Requester", scenario.requester}}.dump(),
                 "application/json");
  }
}

std::optional<json> control_status(Deployment& deployment, OperatorState& state) {
  httplib::Client control("127.0.0.1", deployment.control_port());
  control.set_connection_timeout(1);
  const auto status = control.Get("/control/status");
  state.last_status = status ? fmt::format("{} {}", status->status, status->body.substr(0, 2000))
                             : "no answer: " + httplib::to_string(status.error());
  if (!status || status->status != 200) {
    return std::nullopt;
  }
  json body = json::parse(status->body, nullptr, false);
  if (!body.is_object() || !body.contains("Tables")) {
    return std::nullopt;
  }
  return body;
}

void skip_stale_batches(const Scenario& scenario, Deployment& deployment, OperatorState& state,
                        const json& table) {
  for (const auto& batch : table["Stale"]) {
    skip_and_reannounce(scenario, deployment, state, batch);
    if (!state.unexpected.empty()) {
      return;
    }
  }
}

bool drained(const Scenario& scenario, Deployment& deployment) {
  if (deployment.ingester_rows("tsv") != 0 || deployment.ingester_rows("manifest") != 0 ||
      deployment.messages_left() != 0) {
    return false;
  }
  for (const auto& [table, count] : expected_row_counts(scenario)) {
    if (deployment.warehouse_rows(table) != count) {
      return false;
    }
  }
  const auto rejected = rejected_bodies(deployment);
  return std::all_of(scenario.bad_messages.begin(), scenario.bad_messages.end(),
                     [&](const BadMessage& bad) { return rejected.contains(bad.body); });
}

std::string progress(const Scenario& scenario, Deployment& deployment, std::string_view queue) {
  std::string text = fmt::format(
      "tsv {}, manifest {}, {} {}, rejected {} of {} bodies;", deployment.ingester_rows("tsv"),
      deployment.ingester_rows("manifest"), queue, deployment.messages_left().value_or(-1),
      rejected_bodies(deployment).size(), scenario.bad_messages.size());
  for (const auto& [table, count] : expected_row_counts(scenario)) {
    text += fmt::format(" {} {}/{}", table, deployment.warehouse_rows(table), count);
  }
  for (const auto& batch : deployment.batches().value_or(Table{})) {
    text += "\nbatch";
    for (const auto& value : batch) {
      text += " " + shown(value);
    }
  }
  return text;
}

void expect_end_state(const Scenario& scenario, Deployment& deployment, const OperatorState& state,
                      int max_load_retry) {
  for (const TableDef& table : scenario.tables) {
    expect_table_contents(scenario, deployment, table);
  }

  // Every good file loaded exactly once: the ledger and the loaded-key history agree.
  std::set<std::string> good_keys;
  std::int64_t rows = 0;
  for (const PlannedFile& file : scenario.files) {
    if (!file.corrupt) {
      good_keys.insert(file.key_name);
      rows += static_cast<std::int64_t>(file.rows.size());
    }
  }
  EXPECT_EQ(deployment.ledger_total("file_count"), static_cast<std::int64_t>(good_keys.size()));
  EXPECT_EQ(deployment.ledger_total("row_count"), rows);
  EXPECT_EQ(deployment.loaded_keys(), good_keys);

  // Drained, and the migration happened.
  EXPECT_EQ(deployment.ingester_rows("tsv"), 0);
  EXPECT_EQ(deployment.ingester_rows("manifest"), 0);
  for (const TableDef& table : scenario.tables) {
    EXPECT_EQ(deployment.table_version(table.name), table.v1_column ? 1 : 0) << table.name;
  }

  // Every bad message on record with its reason, and nothing else rejected.
  expect_rejections(scenario, deployment);

  // The corrupt file's batch, skipped by the operator, on record.
  expect_skipped_batch(scenario, deployment, state, max_load_retry);
}

} // namespace rsi::test::pipeline
