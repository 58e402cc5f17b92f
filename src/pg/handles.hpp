#pragma once

#include <libpq-fe.h>

#include "common/c_handle.hpp"

namespace rsi::pg {

using ConnHandle = CHandle<PGconn, &PQfinish>;
using ResultHandle = CHandle<PGresult, &PQclear>;

} // namespace rsi::pg
