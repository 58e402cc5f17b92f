#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace rsi::pg {

// How a connection to a server on another machine is protected when its URL does not say.
enum class TlsDefault {
  // Redshift: `sslmode=verify-full` against the system's CA bundle (Redshift's certificates are
  // signed by Amazon's public roots, which the bundle holds).
  verify_full,
  // PostgreSQL: `sslmode=require` (encrypted; whose CA signs a self-hosted or RDS server cannot
  // be known here: say `sslmode=verify-full&sslrootcert=…` in the URL to verify it).
  require,
};

// `conninfo` (a postgres:// / postgresql:// / redshift:// URL or a libpq key=value string) with
// an sslmode added when it names none, the environment sets none (`environment_sslmode`:
// PGSSLMODE is set) and some host is not this machine (a Unix socket, localhost, 127.0.0.0/8 or
// ::1). COPY statements carry AWS keys in their text: they must not cross a network in clear.
// Fails permanent when libpq cannot parse `conninfo` (the message never shows it).
[[nodiscard]] Result<std::string> with_default_sslmode(std::string_view conninfo, TlsDefault tls,
                                                       bool environment_sslmode);

// The CA bundle verify-full trusts, where Debian keeps it.
inline constexpr std::string_view k_system_ca_bundle = "/etc/ssl/certs/ca-certificates.crt";

} // namespace rsi::pg
