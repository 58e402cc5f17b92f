#pragma once

#include "control/control_api.hpp"
#include "http/server.hpp"

namespace rsi::control::detail {

// GET /control/rejected and POST /control/rejected/replay over `backend` (docs/control-api.md),
// both needing the server's token; control::install calls it.
void install_rejected(http::Server& server, const ControlBackend& backend);

} // namespace rsi::control::detail
