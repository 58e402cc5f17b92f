#include "pg/conninfo.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "pg/handles.hpp"

namespace rsi::pg {
namespace {

using OptionsHandle = CHandle<PQconninfoOption, &PQconninfoFree>;

bool is_local_host(std::string_view host) {
  return host.empty() || host.front() == '/' || host == "localhost" || host.starts_with("127.") ||
         host == "::1";
}

} // namespace

Result<std::string> with_default_sslmode(std::string_view conninfo, TlsDefault tls,
                                         bool environment_sslmode) {
  constexpr std::string_view k_redshift = "redshift://";
  const bool redshift_url = conninfo.starts_with(k_redshift);
  // libpq reads URLs of its own schemes only: a redshift:// URL is a postgresql:// one.
  const std::string parsed_text =
      redshift_url ? fmt::format("postgresql://{}", conninfo.substr(k_redshift.size()))
                   : std::string(conninfo);
  char* raw_error = nullptr;
  OptionsHandle options(PQconninfoParse(parsed_text.c_str(), &raw_error));
  CHandle<char, &PQfreemem> error(raw_error);
  if (!options) {
    // libpq's message may quote the string, which may hold a password.
    return fail(ErrorKind::permanent, "database URL: libpq cannot parse it");
  }
  bool has_sslmode = false;
  bool has_rootcert = false;
  std::vector<std::string> hosts;
  for (const PQconninfoOption* option = options.get(); option->keyword != nullptr; ++option) {
    const std::string_view keyword = option->keyword;
    const std::string_view value = option->val == nullptr ? std::string_view() : option->val;
    if (keyword == "sslmode" && !value.empty()) {
      has_sslmode = true;
    } else if (keyword == "sslrootcert" && !value.empty()) {
      has_rootcert = true;
    } else if (keyword == "host" || keyword == "hostaddr") {
      for (std::size_t start = 0; start <= value.size();) {
        const auto end = std::min(value.find(',', start), value.size());
        if (end > start) {
          hosts.emplace_back(value.substr(start, end - start));
        }
        start = end + 1;
      }
    }
  }
  const bool remote = std::any_of(hosts.begin(), hosts.end(),
                                  [](const std::string& host) { return !is_local_host(host); });
  if (has_sslmode || environment_sslmode || !remote) {
    return std::string(conninfo);
  }
  std::vector<std::pair<std::string, std::string>> added{
      {"sslmode", tls == TlsDefault::verify_full ? "verify-full" : "require"}};
  if (tls == TlsDefault::verify_full && !has_rootcert) {
    added.emplace_back("sslrootcert", std::string(k_system_ca_bundle));
  }
  std::string out(conninfo);
  const bool url =
      redshift_url || conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://");
  for (const auto& [keyword, value] : added) {
    if (url) {
      out += fmt::format("{}{}={}", out.find('?') == std::string::npos ? '?' : '&', keyword, value);
    } else {
      out += fmt::format(" {}={}", keyword, value);
    }
  }
  return out;
}

} // namespace rsi::pg
