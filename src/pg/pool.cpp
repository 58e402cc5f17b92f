#include "pg/pool.hpp"

#include <algorithm>

namespace rsi::pg {

Pool::Pool(std::string conninfo, std::size_t max_connections)
    : m_conninfo(std::move(conninfo)), m_max(std::max<std::size_t>(max_connections, 1)) {}

Pool::Lease::~Lease() {
  if (m_pool != nullptr) {
    m_pool->give_back(m_conn, m_discard);
  }
}

Result<Pool::Lease> Pool::acquire() {
  {
    std::unique_lock lock(m_mutex);
    m_released.wait(lock, [&] { return !m_idle.empty() || m_open < m_max; });
    if (!m_idle.empty()) {
      Connection conn = std::move(m_idle.back());
      m_idle.pop_back();
      return Lease(*this, std::move(conn));
    }
    ++m_open; // Reserve a slot, then connect without holding the lock.
  }
  auto conn = Connection::connect(m_conninfo);
  if (!conn) {
    const std::lock_guard lock(m_mutex);
    --m_open;
    m_released.notify_one();
    return fail(conn.error());
  }
  return Lease(*this, std::move(*conn));
}

void Pool::give_back(std::optional<Connection>& conn, bool discard) {
  const std::lock_guard lock(m_mutex);
  if (conn && !discard && conn->healthy()) {
    m_idle.push_back(std::move(*conn));
  } else {
    --m_open;
  }
  conn.reset();
  m_released.notify_one();
}

} // namespace rsi::pg
