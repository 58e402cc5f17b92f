#pragma once

#include <sqlite3.h>

#include "common/c_handle.hpp"

namespace rsi::sqlite {

using DbHandle = CHandle<sqlite3, &sqlite3_close_v2>;
using StmtHandle = CHandle<sqlite3_stmt, &sqlite3_finalize>;

} // namespace rsi::sqlite
