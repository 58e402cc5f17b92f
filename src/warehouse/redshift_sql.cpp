#include "warehouse/redshift_sql.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/strings.hpp"

namespace rsi::warehouse::redshift {
namespace {

// The original's manifestImportOptions, joined by spaces (the ';' ends the statement).
constexpr std::string_view k_copy_options =
    "removequotes delimiter '\\t' gzip escape truncatecolumns roundec fillrecord compupdate on "
    "emptyasnull acceptinvchars '?' manifest trimblanks";

std::string copy_options(std::uint32_t max_bad_rows) {
  if (max_bad_rows == 0) {
    return fmt::format("{};", k_copy_options);
  }
  return fmt::format("{} maxerror {};", k_copy_options, std::min(max_bad_rows, k_max_copy_errors));
}

// A part of the credentials string: ';' separates its fields, and quotes, backslashes and
// control characters have no business in an AWS key.
bool fits_credentials(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char ch) {
    const auto byte = static_cast<unsigned char>(ch);
    return ch == ';' || ch == '\'' || ch == '\\' || ch == '"' || byte < 0x20 || byte == 0x7f;
  });
}

void replace_all(std::string& text, std::string_view secret) {
  if (secret.empty()) {
    return;
  }
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "<redacted>");
  }
}

} // namespace

std::string manifest_json(std::span<const core::ObjectLocation> files) {
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  for (const auto& file : files) {
    entries.push_back(nlohmann::ordered_json{{"url", core::s3_url(file)}, {"mandatory", true}});
  }
  return nlohmann::ordered_json{{"entries", std::move(entries)}}.dump();
}

std::string manifest_url(std::string_view bucket, std::string_view uuid) {
  return fmt::format("s3://{}/{}.json", bucket, uuid);
}

Result<std::string> copy_statement(const SqlNames& names, const QuoteFn& quote_literal,
                                   std::string_view table, std::string_view manifest_url,
                                   const CopyAuthorization& authorization,
                                   std::uint32_t max_bad_rows) {
  RSI_TRY(check_table_name(table, Dialect::redshift));
  RSI_TRY_ASSIGN(const std::string target, names.table(table));
  RSI_TRY_ASSIGN(const std::string source, quote_literal(manifest_url));
  if (!authorization.iam_role.empty()) {
    if (!fits_credentials(authorization.iam_role)) {
      return fail(ErrorKind::permanent,
                  "COPY authorization: the IAM role holds characters COPY cannot take");
    }
    // `default` is a keyword of COPY (the role set as the cluster's default), not a string:
    // quoted, Redshift would read it as an ARN and refuse it.
    std::string role = std::string(k_default_iam_role);
    if (!is_default_iam_role(authorization.iam_role)) {
      RSI_TRY_ASSIGN(role, quote_literal(authorization.iam_role));
    }
    return fmt::format("COPY {} FROM {} IAM_ROLE {} {}", target, source, role,
                       copy_options(max_bad_rows));
  }
  if (authorization.access_key_id.empty() || authorization.secret_access_key.empty()) {
    return fail(ErrorKind::permanent,
                "COPY authorization: neither an IAM role nor access keys are configured");
  }
  if (!fits_credentials(authorization.access_key_id) ||
      !fits_credentials(authorization.secret_access_key) ||
      !fits_credentials(authorization.session_token)) {
    return fail(ErrorKind::permanent,
                "COPY authorization: the credentials hold characters COPY cannot take");
  }
  std::string credentials =
      fmt::format("aws_access_key_id={};aws_secret_access_key={}", authorization.access_key_id,
                  authorization.secret_access_key);
  if (!authorization.session_token.empty()) {
    credentials += ";token=" + authorization.session_token;
  }
  RSI_TRY_ASSIGN(const std::string quoted_credentials, quote_literal(credentials));
  return fmt::format("COPY {} FROM {} WITH CREDENTIALS {} {}", target, source, quoted_credentials,
                     copy_options(max_bad_rows));
}

bool is_default_iam_role(std::string_view iam_role) {
  return iequals_ascii(iam_role, k_default_iam_role);
}

std::string redact(std::string_view message, const CopyAuthorization& authorization) {
  std::string out(message);
  replace_all(out, authorization.secret_access_key);
  replace_all(out, authorization.session_token);
  replace_all(out, authorization.access_key_id);
  return out;
}

std::string copy_search_pattern(std::string_view manifest_url) {
  return fmt::format("COPY % FROM '{}' %", manifest_url);
}

} // namespace rsi::warehouse::redshift
