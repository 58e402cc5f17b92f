#include "pipeline_scenario.hpp"

#include <array>
#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <variant>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "common/gzip.hpp"

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
       50,
       20},
      {"pipe_texts",
       {id,
        {"a", ColumnKind::varchar, 8},
        {"b", ColumnKind::varchar, 64},
        {"c", ColumnKind::varchar, 65535}},
       std::nullopt,
       40,
       0},
      {"pipe_numbers",
       {id,
        {"small", ColumnKind::integer},
        {"big", ColumnKind::bigint},
        {"x", ColumnKind::double_precision},
        {"flag", ColumnKind::boolean}},
       std::nullopt,
       40,
       0},
      {"pipe-times",
       {id,
        {"time", ColumnKind::timestamp},
        {"day", ColumnKind::date},
        {"label", ColumnKind::varchar, 12}},
       std::nullopt,
       30,
       0},
      {"pipe_mixed",
       {id,
        {"label", ColumnKind::varchar, 32},
        {"n", ColumnKind::bigint},
        {"at", ColumnKind::timestamp},
        {"flag", ColumnKind::boolean},
        {"code", ColumnKind::character, 6}},
       std::nullopt,
       40,
       0},
  };
}

// What is wrong with a bad file, one fault of each kind the quarantine knows from the data.
enum class Fault {
  corrupt_gzip,       // The CRC-32 of its last gzip member is wrong.
  truncated_gzip,     // Cut off two thirds in; the operator stores the whole file and retries.
  bad_value,          // "abc" in an int column.
  missing_object,     // Announced, never stored.
  refused_object,     // Its key ends in '/': the storer takes it, no object store serves it.
  record_too_long,    // A line over the 4 MB COPY allows.
  invalid_characters, // A non-ASCII value in a CHAR column.
};

struct BadFilePlan {
  std::size_t table = 0;
  int index = 0; // In the first 60% of its table's files: announced before later ones.
  Fault fault = Fault::corrupt_gzip;
};

constexpr std::array<BadFilePlan, 7> k_bad_files{{
    {1, 3, Fault::corrupt_gzip},
    {1, 10, Fault::record_too_long},
    {2, 4, Fault::bad_value},
    {2, 12, Fault::refused_object},
    {3, 5, Fault::missing_object},
    {4, 2, Fault::truncated_gzip},
    {4, 9, Fault::invalid_characters},
}};

// COPY's limit on one record (src/tsv's max_record_bytes): "4 MB".
constexpr std::size_t k_max_record_bytes = 4U << 20U;

std::optional<Fault> planned_fault(std::size_t table, int index) {
  for (const BadFilePlan& plan : k_bad_files) {
    if (plan.table == table && plan.index == index) {
      return plan.fault;
    }
  }
  return std::nullopt;
}

std::string compressed(std::string_view text) {
  auto member = gzip(text);
  if (!member) {
    throw std::runtime_error(member.error().message);
  }
  return std::move(*member);
}

// Appends `record` to `text` as a line of its own; the (1-based) line it starts on.
std::int64_t append_line(std::string& text, const std::string& record) {
  if (!text.empty() && text.back() != '\n') {
    text += '\n';
  }
  const auto line = static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  text += record;
  text += '\n';
  return line;
}

// Makes `file` (generated as `contents`, with a row id free after its rows) bad by `fault`.
void plant(Fault fault, const TableDef& table, spade::SpadeFile contents, std::int64_t free_id,
           PlannedFile& file) {
  BadFile bad;
  std::string text = std::move(contents.text);
  switch (fault) {
  case Fault::corrupt_gzip:
    bad.kind = "corrupt_gzip";
    file.object[file.object.size() - 8] ^= 0x5A; // The first byte of the last member's CRC-32.
    break;
  case Fault::truncated_gzip:
    bad.kind = "truncated_gzip";
    // One member, so that no cut falls between members (which would leave good gzip).
    bad.fixed_object = compressed(text);
    file.object = bad.fixed_object.substr(0, bad.fixed_object.size() * 2 / 3);
    break;
  case Fault::bad_value: {
    bad.kind = "bad_value";
    const auto integer = std::find_if(table.columns.begin(), table.columns.end(),
                                      [](const auto& c) { return c.kind == ColumnKind::integer; });
    bad.column = static_cast<std::int32_t>(integer - table.columns.begin()) + 1;
    // The fields before it are empty (NULL); FILLRECORD makes the ones after it NULL.
    bad.line =
        append_line(text, fmt::format("{}{}abc", free_id, std::string(bad.column - 1, '\t')));
    file.object = compressed(text);
    break;
  }
  case Fault::missing_object:
    bad.kind = "missing_object";
    bad.stored = false;
    break;
  case Fault::refused_object:
    bad.kind = "refused_object";
    bad.stored = false;
    file.key += '/';
    file.key_name += '/';
    break;
  case Fault::record_too_long:
    bad.kind = "record_too_long";
    bad.line = append_line(
        text, fmt::format("{}\t\t\t{}", free_id, std::string(k_max_record_bytes + 1024, 'x')));
    file.object = compressed(text); // A few kB.
    break;
  case Fault::invalid_characters: {
    bad.kind = "invalid_characters";
    const auto character =
        std::find_if(table.columns.begin(), table.columns.end(),
                     [](const auto& c) { return c.kind == ColumnKind::character; });
    bad.column = static_cast<std::int32_t>(character - table.columns.begin()) + 1;
    // "é" (valid UTF-8, not ASCII) and 0xE0 (invalid): ACCEPTINVCHARS covers neither in CHAR.
    bad.line = append_line(
        text, fmt::format("{}{}d\xC3\xA9j\xE0", free_id, std::string(bad.column - 1, '\t')));
    file.object = compressed(text);
    break;
  }
  }
  if (fault != Fault::truncated_gzip) {
    file.rows.clear(); // Dropped by the operator: never loaded.
  }
  file.through_cli = false;
  file.bad = std::move(bad);
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
      const auto fault = planned_fault(table_index, file);
      // Mostly a few rows; now and then an empty file; one file of pipe_texts of about 1.5 MB
      // uncompressed, more than the reader's first buffer. A bad file has rows, so that the
      // fixed one loads some.
      int rows = static_cast<int>(rng() % 9);
      if (table.name == "pipe_texts" && file == 7) {
        rows = 50;
      } else if (fault) {
        rows = 3 + static_cast<int>(rng() % 6);
      }
      auto contents = generator.make_file(columns, first_id, rows);
      planned.object = contents.gzip;
      planned.rows =
          options.rendering == Rendering::postgres ? contents.rows : contents.sqlite_rows;
      // Rows of version 0 get NULL in the column version 1 adds.
      for (auto& row : planned.rows) {
        row.resize(v1_columns.size());
      }
      if (fault) {
        plant(*fault, table, std::move(contents), first_id + rows, planned);
      }
      scenario.files.push_back(std::move(planned));
    }
  }
}

void plan_announcements(const ScenarioOptions& options, std::mt19937& rng, Scenario& scenario) {
  const auto add = [&](std::vector<Announcement>& list, Announcement announcement) {
    if (options.add) {
      options.add(list, std::move(announcement), rng);
    } else {
      list.push_back(std::move(announcement));
    }
  };
  std::vector<Announcement> before;
  std::vector<Announcement> after;
  std::vector<Announcement> bad_files;
  for (std::size_t index = 0; index < scenario.files.size(); ++index) {
    const PlannedFile& file = scenario.files[index];
    const TableDef& table = scenario.tables[file.table];
    if (file.bad) {
      bad_files.push_back({.body = pointer_body(file.key_name, table.name, file.version)});
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
  // Exactly once each: the quarantine must hold each bad file once because it was set aside
  // once, not because a duplicate happened to find it there.
  for (Announcement& bad : bad_files) {
    const auto at = static_cast<long>(rng() % (before.size() / 2));
    before.insert(before.begin() + at, std::move(bad));
  }
  scenario.before_migration = std::move(before);
  scenario.after_migration = std::move(after);
}

std::int64_t row_id(Rendering rendering, const ExpectedRow& row) {
  if (rendering == Rendering::postgres) {
    return std::stoll(*row[0]);
  }
  return std::stoll(row.front().value_or("integer:-1").substr(std::string("integer:").size()));
}

// Whether the warehouse holds `file`'s rows: a good file's always, the fixed one's once
// `repaired`.
bool loads(const Scenario& scenario, const PlannedFile& file, bool repaired) {
  return !file.bad || (repaired && &file == &scenario.files[scenario.fixed_file]);
}

std::map<std::string, std::int64_t> expected_row_counts(const Scenario& scenario, bool repaired) {
  std::map<std::string, std::int64_t> counts;
  for (const PlannedFile& file : scenario.files) {
    auto& count = counts[scenario.tables[file.table].name];
    if (loads(scenario, file, repaired)) {
      count += static_cast<std::int64_t>(file.rows.size());
    }
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

std::optional<std::string> number_or_null(std::int64_t value) {
  return value == 0 ? std::nullopt : std::optional(std::to_string(value));
}

// The quarantine holds exactly the bad files, one row each (so each was set aside once), each
// with the table, kind, place and message of its fault, in `state` (changed by `changed_by`).
void expect_quarantine(const Scenario& scenario, Deployment& deployment,
                       const std::function<std::string(const PlannedFile&)>& state,
                       const std::optional<std::string>& changed_by) {
  const auto rows = deployment.quarantined_rows();
  ASSERT_TRUE(rows);
  std::size_t bad_files = 0;
  for (const PlannedFile& file : scenario.files) {
    if (!file.bad) {
      continue;
    }
    ++bad_files;
    const auto found = std::find_if(rows->begin(), rows->end(),
                                    [&](const auto& row) { return row[q_key] == file.key_name; });
    if (found == rows->end()) {
      ADD_FAILURE() << "not quarantined: " << file.key_name << " (" << file.bad->kind << ")";
      continue;
    }
    const auto& row = *found;
    const std::string& key = file.key_name;
    EXPECT_EQ(row[q_table], scenario.tables[file.table].name) << key;
    EXPECT_EQ(row[q_version], std::to_string(file.version)) << key;
    EXPECT_EQ(row[q_kind], file.bad->kind) << key << ": " << shown(row[q_error]);
    EXPECT_EQ(row[q_line], number_or_null(file.bad->line)) << key << ": " << shown(row[q_error]);
    EXPECT_EQ(row[q_column], number_or_null(file.bad->column))
        << key << ": " << shown(row[q_error]);
    EXPECT_NE(row[q_error].value_or("").find(file.key), std::string::npos)
        << key << ": " << shown(row[q_error]);
    EXPECT_EQ(row[q_attempts], "1") << key << " was set aside more than once";
    EXPECT_EQ(row[q_state], state(file)) << key;
    EXPECT_EQ(row[q_changed_by], changed_by) << key;
  }
  EXPECT_EQ(rows->size(), bad_files) << "one row per bad file, and no good file quarantined";
}

void expect_table_contents(const Scenario& scenario, Deployment& deployment, const TableDef& table,
                           bool repaired) {
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
    if (scenario.tables[file.table].name == table.name && loads(scenario, file, repaired)) {
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

// Every file that loads by then loaded exactly once: the ledger and the loaded-key history agree.
void expect_loaded_once(const Scenario& scenario, Deployment& deployment, bool repaired) {
  std::set<std::string> keys;
  std::int64_t rows = 0;
  for (const PlannedFile& file : scenario.files) {
    if (loads(scenario, file, repaired)) {
      keys.insert(file.key_name);
      rows += static_cast<std::int64_t>(file.rows.size());
    }
  }
  EXPECT_EQ(deployment.ledger_total("file_count"), static_cast<std::int64_t>(keys.size()));
  EXPECT_EQ(deployment.ledger_total("row_count"), rows);
  EXPECT_EQ(deployment.loaded_keys(), keys);
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

// POST `path` with `body`: the answer's JSON, or why there is none.
std::variant<json, std::string> post_json(Deployment& deployment, const std::string& path,
                                          const json& body) {
  httplib::Client control("127.0.0.1", deployment.control_port());
  control.set_connection_timeout(1);
  control.set_read_timeout(30);
  const auto answer = control.Post(path, body.dump(), "application/json");
  if (!answer) {
    return fmt::format("POST {}: no answer: {}", path, httplib::to_string(answer.error()));
  }
  json parsed = json::parse(answer->body, nullptr, false);
  if (answer->status != 200 || !parsed.is_object()) {
    return fmt::format("POST {} {}: {} {}", path, body.dump(), answer->status, answer->body);
  }
  return parsed;
}

// The operator's request for the quarantined files `ids`: each must come back once, of `file`'s
// table and key, with `action`.
void expect_actions(const json& answer,
                    const std::vector<std::pair<std::int64_t, const PlannedFile*>>& ids,
                    const Scenario& scenario, const std::string& action) {
  const json files = answer.value("Files", json::array());
  EXPECT_EQ(files.size(), ids.size()) << answer.dump();
  for (const auto& [id, file] : ids) {
    const auto found = std::find_if(files.begin(), files.end(), [&](const json& entry) {
      return entry.value("Id", std::int64_t{-1}) == id;
    });
    if (found == files.end()) {
      ADD_FAILURE() << "Id " << id << " (" << file->key_name << ") missing from " << answer.dump();
      continue;
    }
    EXPECT_EQ(found->value("Table", ""), scenario.tables[file->table].name) << found->dump();
    EXPECT_EQ(found->value("Key", ""), file->key_name) << found->dump();
    EXPECT_EQ(found->value("Action", ""), action) << found->dump();
  }
}

// GET /control/status's quarantine of each table checked against the bad files: the counts,
// since when, and every detail of each file. Returns the entries of every table.
json expect_quarantine_listed(const Scenario& scenario, const json& status) {
  json listed = json::array();
  for (const TableDef& table : scenario.tables) {
    const auto entry =
        std::find_if(status["Tables"].begin(), status["Tables"].end(),
                     [&](const json& t) { return t.value("Table", "") == table.name; });
    if (entry == status["Tables"].end()) {
      ADD_FAILURE() << table.name << " missing from the status";
      continue;
    }
    std::vector<const PlannedFile*> bad;
    for (const PlannedFile& file : scenario.files) {
      if (file.bad && scenario.tables[file.table].name == table.name) {
        bad.push_back(&file);
      }
    }
    EXPECT_EQ(entry->value("QuarantinedFiles", -1), static_cast<int>(bad.size())) << entry->dump();
    EXPECT_EQ(entry->contains("QuarantinedSince") && (*entry)["QuarantinedSince"].is_string(),
              !bad.empty())
        << entry->dump();
    const json quarantined = entry->value("Quarantined", json::array());
    EXPECT_EQ(quarantined.size(), bad.size()) << entry->dump();
    for (const PlannedFile* file : bad) {
      const auto found = std::find_if(quarantined.begin(), quarantined.end(), [&](const json& q) {
        return q.value("Key", "") == file->key_name;
      });
      if (found == quarantined.end()) {
        ADD_FAILURE() << file->key_name << " not listed in " << entry->dump();
        continue;
      }
      const json& q = *found;
      EXPECT_TRUE(q.contains("Id") && q["Id"].is_number_integer()) << q.dump();
      EXPECT_EQ(q.value("Version", -1), file->version) << q.dump();
      EXPECT_EQ(q.value("Kind", ""), file->bad->kind) << q.dump();
      // null where the kind has no place.
      const auto place = [](std::int64_t value) {
        return value == 0 ? json(nullptr) : json(value);
      };
      EXPECT_EQ(q.value("Line", json()), place(file->bad->line)) << q.dump();
      EXPECT_EQ(q.value("Column", json()), place(file->bad->column)) << q.dump();
      EXPECT_EQ(q.value("Table", ""), table.name) << q.dump();
      EXPECT_NE(q.value("Error", "").find(file->key), std::string::npos) << q.dump();
      EXPECT_EQ(q.value("Attempts", -1), 1) << q.dump();
      for (const char* time : {"ReceivedAt", "FirstSeen", "LastSeen"}) {
        EXPECT_TRUE(q.contains(time) && q[time].is_string()) << time << ": " << q.dump();
      }
      listed.push_back(q);
    }
  }
  return listed;
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
  scenario.operator_name = options.operator_name;
  scenario.tables = table_defs();
  scenario.bad_messages = bad_messages(options.bucket);
  std::mt19937 rng(options.seed);
  plan_files(options, rng, scenario);
  for (std::size_t index = 0; index < scenario.files.size(); ++index) {
    if (scenario.files[index].bad && !scenario.files[index].bad->fixed_object.empty()) {
      scenario.fixed_file = index;
    }
  }
  plan_announcements(options, rng, scenario);
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
  return fmt::format("faults {:.1f} s, convergence {:.1f} s, repair {:.1f} s, total {:.1f} s",
                     seconds(started, faults_done), seconds(faults_done, settled_at),
                     seconds(settled_at, repaired_at),
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
              const std::function<void()>& run_faults, const std::function<bool()>& settle_step,
              std::chrono::seconds timeout) {
  run_faults();
  producer_thread.join();
  timeline.faults_done = std::chrono::steady_clock::now();
  const bool done = test::eventually(timeout, settle_step);
  timeline.settled_at = std::chrono::steady_clock::now();
  return done;
}

std::string not_converged(const Timeline& timeline, const WatchState& state,
                          const std::string& progress, const std::string& logs) {
  return fmt::format(
      "{} after {} s of faults\n{}\nlast status: {}\n{}",
      state.unexpected.empty() ? "did not converge" : state.unexpected,
      std::chrono::duration_cast<std::chrono::seconds>(timeline.faults_done - timeline.started)
          .count(),
      progress, state.last_status, logs);
}

bool time_to_look(WatchState& state) {
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

std::optional<json> control_status(Deployment& deployment, WatchState& state) {
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

void watch_for_failed_batches(Deployment& deployment, WatchState& state) {
  const auto status = control_status(deployment, state);
  if (!status) {
    return;
  }
  for (const auto& table : (*status)["Tables"]) {
    for (const char* failed : {"Retrying", "Stale"}) {
      if (!table.value(failed, json::array()).empty()) {
        state.unexpected = fmt::format("a batch of {} failed ({}): {}", table.value("Table", ""),
                                       failed, table[failed].dump());
        return;
      }
    }
  }
}

bool settled(const Scenario& scenario, Deployment& deployment) {
  if (deployment.ingester_rows("tsv") != 0 || deployment.ingester_rows("manifest") != 0 ||
      deployment.messages_left() != 0) {
    return false;
  }
  for (const auto& [table, count] : expected_row_counts(scenario, false)) {
    if (deployment.warehouse_rows(table) != count) {
      return false;
    }
  }
  const auto quarantined = deployment.quarantined_rows();
  if (!quarantined) {
    return false;
  }
  std::set<std::string> keys;
  for (const auto& row : *quarantined) {
    keys.insert(row[q_key].value_or(""));
  }
  for (const PlannedFile& file : scenario.files) {
    if (file.bad && !keys.contains(file.key_name)) {
      return false;
    }
  }
  const auto rejected = rejected_bodies(deployment);
  return std::all_of(scenario.bad_messages.begin(), scenario.bad_messages.end(),
                     [&](const BadMessage& bad) { return rejected.contains(bad.body); });
}

std::string progress(const Scenario& scenario, Deployment& deployment, std::string_view queue) {
  const auto quarantined = deployment.quarantined_rows();
  std::string text = fmt::format(
      "tsv {}, manifest {}, {} {}, rejected {} of {} bodies, quarantined {};",
      deployment.ingester_rows("tsv"), deployment.ingester_rows("manifest"), queue,
      deployment.messages_left().value_or(-1), rejected_bodies(deployment).size(),
      scenario.bad_messages.size(), quarantined ? static_cast<long>(quarantined->size()) : -1L);
  for (const auto& [table, count] : expected_row_counts(scenario, false)) {
    text += fmt::format(" {} {}/{}", table, deployment.warehouse_rows(table), count);
  }
  for (const auto& batch : deployment.batches().value_or(Table{})) {
    text += "\nbatch";
    for (const auto& value : batch) {
      text += " " + shown(value);
    }
  }
  for (const auto& row : quarantined.value_or(Table{})) {
    text += fmt::format("\nquarantined {} {} {}", shown(row[q_key]), shown(row[q_kind]),
                        shown(row[q_state]));
  }
  return text;
}

void expect_settled_state(const Scenario& scenario, Deployment& deployment) {
  for (const TableDef& table : scenario.tables) {
    expect_table_contents(scenario, deployment, table, false);
  }
  expect_loaded_once(scenario, deployment, false);

  // Drained, and the migration happened.
  EXPECT_EQ(deployment.ingester_rows("tsv"), 0);
  EXPECT_EQ(deployment.ingester_rows("manifest"), 0);
  for (const TableDef& table : scenario.tables) {
    EXPECT_EQ(deployment.table_version(table.name), table.v1_column ? 1 : 0) << table.name;
  }

  // Every bad message on record with its reason, and nothing else rejected.
  expect_rejections(scenario, deployment);

  // Each bad file set aside once, by the loader alone: no batch skipped, nothing changed yet.
  expect_quarantine(
      scenario, deployment, [](const PlannedFile&) { return "quarantined"; }, std::nullopt);
  EXPECT_EQ(deployment.ingester_rows("skipped_batch"), 0);
}

void expect_quarantine_logged(const Scenario& scenario,
                              const std::vector<std::filesystem::path>& logs) {
  std::map<std::string, int> logged;
  for (const auto& path : logs) {
    std::ifstream log(path);
    for (std::string line; std::getline(log, line);) {
      const json entry = json::parse(line, nullptr, false); // A kill may cut the last line.
      if (!entry.is_object() || !entry.value("msg", "").starts_with("file quarantined")) {
        continue;
      }
      const std::string key = entry.value("key", "");
      ++logged[key];
      EXPECT_EQ(entry.value("level", ""), "error") << line;
      const auto file =
          std::find_if(scenario.files.begin(), scenario.files.end(),
                       [&](const PlannedFile& planned) { return planned.key_name == key; });
      if (file == scenario.files.end() || !file->bad) {
        ADD_FAILURE() << "a good file quarantined, in " << path.filename().string() << ": " << line;
        continue;
      }
      EXPECT_EQ(entry.value("kind", ""), file->bad->kind) << line;
    }
  }
  for (const PlannedFile& file : scenario.files) {
    if (file.bad) {
      EXPECT_EQ(logged[file.key_name], 1) << file.key_name;
    }
  }
}

Repair repair_quarantine(const Scenario& scenario, Deployment& deployment) {
  Repair repair;
  WatchState look;
  const auto status = control_status(deployment, look);
  if (!status) {
    repair.unexpected = "GET /control/status: " + look.last_status;
    return repair;
  }
  repair.listed = expect_quarantine_listed(scenario, *status);
  std::vector<std::pair<std::int64_t, const PlannedFile*>> fixed_ids;
  std::vector<std::pair<std::int64_t, const PlannedFile*>> dropped_ids;
  for (const json& entry : repair.listed) {
    for (const PlannedFile& file : scenario.files) {
      if (file.bad && file.key_name == entry.value("Key", "")) {
        (&file == &scenario.files[scenario.fixed_file] ? fixed_ids : dropped_ids)
            .emplace_back(entry.value("Id", std::int64_t{-1}), &file);
      }
    }
  }
  if (fixed_ids.size() != 1) {
    repair.unexpected = "the file to fix is not listed once: " + repair.listed.dump();
    return repair;
  }

  // The cause fixed first (the producer writes the whole file again), then the retry.
  const PlannedFile& file = *fixed_ids.front().second;
  if (auto put = deployment.put_object(file, file.bad->fixed_object); !put) {
    repair.unexpected = "store the fixed object: " + put.error().message;
    return repair;
  }
  auto retried = post_json(
      deployment, "/control/quarantine/retry",
      {{"Requester", scenario.operator_name}, {"Ids", json::array({fixed_ids.front().first})}});
  if (const auto* error = std::get_if<std::string>(&retried)) {
    repair.unexpected = *error;
    return repair;
  }
  repair.retried = std::get<json>(retried);
  expect_actions(repair.retried, fixed_ids, scenario, "requeued");
  EXPECT_EQ(repair.retried.value("Requester", ""), scenario.operator_name);

  json drop_ids = json::array();
  for (const auto& [id, bad] : dropped_ids) {
    drop_ids.push_back(id);
  }
  auto dropped = post_json(deployment, "/control/quarantine/drop",
                           {{"Requester", scenario.operator_name}, {"Ids", drop_ids}});
  if (const auto* error = std::get_if<std::string>(&dropped)) {
    repair.unexpected = *error;
    return repair;
  }
  repair.dropped = std::get<json>(dropped);
  expect_actions(repair.dropped, dropped_ids, scenario, "dropped");
  EXPECT_EQ(repair.dropped.value("Requester", ""), scenario.operator_name);

  // A dropped file is out of the quarantine for good: no retry finds it.
  const auto again = post_json(
      deployment, "/control/quarantine/retry",
      {{"Requester", scenario.operator_name}, {"Ids", json::array({dropped_ids.front().first})}});
  const auto* refused = std::get_if<std::string>(&again);
  EXPECT_TRUE(refused != nullptr && refused->find(": 404 ") != std::string::npos)
      << "retry of a dropped file: "
      << (refused != nullptr ? *refused : std::get<json>(again).dump());
  return repair;
}

bool repaired(const Scenario& scenario, Deployment& deployment) {
  if (deployment.ingester_rows("tsv") != 0 || deployment.ingester_rows("manifest") != 0) {
    return false;
  }
  const std::string& table = scenario.tables[scenario.files[scenario.fixed_file].table].name;
  return deployment.warehouse_rows(table) == expected_row_counts(scenario, true).at(table);
}

void expect_status_after_repair(const Scenario& scenario, Deployment& deployment) {
  WatchState look;
  const auto status = control_status(deployment, look);
  ASSERT_TRUE(status) << look.last_status;
  for (const auto& table : (*status)["Tables"]) {
    EXPECT_EQ(table.value("QuarantinedFiles", -1), 0) << table.dump();
    EXPECT_TRUE(table.value("Quarantined", json::array()).empty()) << table.dump();
  }
  EXPECT_GE((*status)["Tables"].size(), scenario.tables.size()) << status->dump();
}

void expect_audit_logged(const Scenario& scenario, const std::string& log) {
  std::map<std::string, std::vector<std::string>> actions; // Per key, in order.
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const json entry = json::parse(line, nullptr, false);
    if (!entry.is_object() || !entry.value("msg", "").starts_with("quarantined file ")) {
      continue;
    }
    EXPECT_EQ(entry.value("requester", ""), scenario.operator_name) << line;
    actions[entry.value("key", "")].push_back(entry.value("action", ""));
  }
  for (const PlannedFile& file : scenario.files) {
    if (file.bad) {
      const bool fixed = &file == &scenario.files[scenario.fixed_file];
      EXPECT_EQ(actions[file.key_name], std::vector<std::string>{fixed ? "requeued" : "dropped"})
          << file.key_name;
    }
  }
}

void expect_end_state(const Scenario& scenario, Deployment& deployment) {
  for (const TableDef& table : scenario.tables) {
    expect_table_contents(scenario, deployment, table, true);
  }
  expect_loaded_once(scenario, deployment, true);
  EXPECT_EQ(deployment.ingester_rows("tsv"), 0);
  EXPECT_EQ(deployment.ingester_rows("manifest"), 0);
  EXPECT_EQ(deployment.ingester_rows("skipped_batch"), 0);
  // The record of what the operator did, and who.
  expect_quarantine(
      scenario, deployment,
      [&](const PlannedFile& file) {
        return &file == &scenario.files[scenario.fixed_file] ? "retried" : "dropped";
      },
      scenario.operator_name);
}

} // namespace rsi::test::pipeline
