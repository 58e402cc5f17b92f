#include "support/fake_redshift_copy.hpp"

#include <regex>

#include <fmt/format.h>

#include "support/redshift_shims.hpp"

namespace rsi::test {
namespace {

// The number in the statement's " maxerror N;" (0 without one).
std::int64_t max_errors(std::string_view statement) {
  static const std::regex k_maxerror(" maxerror ([0-9]+);$");
  std::match_results<std::string_view::const_iterator> found;
  return std::regex_search(statement.begin(), statement.end(), found, k_maxerror)
             ? std::stoll(found[1].str())
             : 0;
}

// The table a COPY "schema"."table" FROM ... loads, as Redshift names it in its messages.
std::string copy_table(std::string_view statement) {
  static const std::regex k_target(R"re(^COPY "[^"]*"\."([^"]*)" FROM )re");
  std::match_results<std::string_view::const_iterator> found;
  return std::regex_search(statement.begin(), statement.end(), found, k_target) ? found[1].str()
                                                                                : "?";
}

std::string raw_line(const BadLine& bad_line) {
  return fmt::format("2016-01-01 00:00:00\tUS\tline {}\tx", bad_line.line);
}

} // namespace

Result<pg::Connection> dress_as_redshift(const std::string& conninfo) {
  RSI_TRY_ASSIGN(auto conn, pg::Connection::connect(conninfo));
  RSI_TRY(conn.exec_script(k_redshift_shims));
  return conn;
}

std::string load_failed_message(std::string_view table, bool serverless) {
  return fmt::format("Load into table '{}' failed.  Check '{}' system table for details.", table,
                     serverless ? "sys_load_error_detail" : "stl_load_errors");
}

Result<void> FakeRedshiftCopy::operator()(pg::Connection& conn, const warehouse::CopyCall& call) {
  copies.push_back({.statement = std::string(call.statement)});
  if (transient) {
    return fail(ErrorKind::transient, "COPY: server closed the connection unexpectedly");
  }
  RSI_TRY_ASSIGN(const auto pid, conn.exec("SELECT pg_backend_pid()"));
  const std::string session = pid.text(0, 0);
  if (failure) {
    if (failure->began_loading) {
      RSI_TRY(record_copy(session, 0));
    }
    return fail_like_redshift(conn, failure->message, failure->sqlstate, failure->detail);
  }
  RSI_TRY_ASSIGN(const std::vector<std::string> urls, manifest_urls(call.manifest_url));
  copies.back().urls = urls;
  std::int64_t rejected = 0;
  for (const std::string& url : urls) {
    if (!insert_row.empty()) {
      RSI_TRY(conn.exec(insert_row, {url}));
    }
    for (const BadLine& bad_line : bad) {
      if (bad_line.url == url) {
        if (bad_line.logged) {
          RSI_TRY(log_rejected(session, bad_line));
        }
        ++rejected;
      }
    }
  }
  RSI_TRY(record_copy(session, static_cast<std::int64_t>(urls.size()) * rows_per_file));
  if (rejected > max_errors(call.statement)) {
    return fail_like_redshift(conn, load_failed_message(copy_table(call.statement), serverless));
  }
  copies.back().succeeded = true;
  return {};
}

Result<std::vector<std::string>> FakeRedshiftCopy::manifest_urls(std::string_view manifest_url) {
  // s3://<manifest bucket>/<key>: the store is rooted at the bucket.
  constexpr std::string_view k_scheme = "s3://";
  const std::size_t key_start = manifest_url.find('/', k_scheme.size());
  if (!manifest_url.starts_with(k_scheme) || key_start == std::string_view::npos) {
    return fail(ErrorKind::permanent, fmt::format("COPY: not an S3 URL: {}", manifest_url));
  }
  RSI_TRY_ASSIGN(const auto manifest,
                 objectstore::get_string(m_manifests, manifest_url.substr(key_start + 1)));
  if (!manifest) {
    return fail(ErrorKind::permanent, "COPY: no manifest object");
  }
  static const std::regex k_url(R"re("url":"([^"]+)")re");
  std::vector<std::string> urls;
  for (auto it = std::sregex_iterator(manifest->begin(), manifest->end(), k_url);
       it != std::sregex_iterator(); ++it) {
    urls.push_back((*it)[1].str());
  }
  return urls;
}

Result<void> FakeRedshiftCopy::record_copy(const std::string& session, std::int64_t rows) {
  RSI_TRY(
      m_admin.exec("INSERT INTO rsi_copy_session VALUES ($1, $2, $3) ON CONFLICT (pid) DO UPDATE "
                   "SET copy_id = excluded.copy_id, copy_count = excluded.copy_count",
                   {session, std::to_string(++m_copy_id), std::to_string(rows)}));
  return {};
}

// Logs under the id the next record_copy() gives the COPY.
Result<void> FakeRedshiftCopy::log_rejected(const std::string& session, const BadLine& bad_line) {
  const std::vector<pg::Param> params{std::to_string(m_copy_id + 1),
                                      session,
                                      bad_line.url,
                                      std::to_string(bad_line.line),
                                      bad_line.column,
                                      std::to_string(bad_line.code),
                                      bad_line.reason,
                                      raw_line(bad_line)};
  if (serverless) {
    RSI_TRY(m_admin.exec("INSERT INTO sys_load_error_detail (query_id, session_id, start_time, "
                         "file_name, line_number, column_name, error_code, error_message) "
                         "VALUES ($1, $2, now(), $3, $4, $5, $6, $7)",
                         std::vector<pg::Param>(params.begin(), params.begin() + 7)));
    return {};
  }
  RSI_TRY(m_admin.exec("INSERT INTO stl_load_errors (query, session, starttime, filename, "
                       "line_number, colname, err_code, err_reason, raw_line) "
                       "VALUES ($1, $2, now(), $3, $4, $5, $6, $7, $8)",
                       params));
  return {};
}

Result<void> FakeRedshiftCopy::fail_like_redshift(pg::Connection& conn, std::string_view message,
                                                  std::string_view sqlstate,
                                                  std::string_view detail) {
  RSI_TRY(conn.exec("SELECT rsi_fail_copy($1, $2, $3)",
                    {std::string(message), std::string(sqlstate),
                     detail.empty() ? pg::Param() : pg::Param(std::string(detail))}));
  return fail(ErrorKind::permanent, "COPY: rsi_fail_copy returned");
}

} // namespace rsi::test
