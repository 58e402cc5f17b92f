#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pg/connection.hpp"

namespace rsi::pg {

// A bounded set of connections shared by threads. Connections open lazily; one that failed
// with a transient error (or broke) is dropped, so the next use reconnects by itself.
class Pool {
public:
  Pool(std::string conninfo, std::size_t max_connections);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection borrowed from the pool; returned on destruction unless discarded.
  class Lease {
  public:
    Lease(Pool& pool, Connection conn) : m_pool(&pool), m_conn(std::move(conn)) {}
    Lease(Lease&& other) noexcept
        : m_pool(std::exchange(other.m_pool, nullptr)), m_conn(std::move(other.m_conn)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    [[nodiscard]] Connection& conn() { return *m_conn; }
    void discard() { m_discard = true; }

  private:
    Pool* m_pool;
    std::optional<Connection> m_conn;
    bool m_discard = false;
  };

  // Waits while all `max_connections` are in use.
  [[nodiscard]] Result<Lease> acquire();

  // `work(Connection&)` returning Result<T>; a transient failure discards the connection.
  template <class Work> auto run(Work&& work) -> std::invoke_result_t<Work, Connection&> {
    RSI_TRY_ASSIGN(Lease lease, acquire());
    auto result = std::forward<Work>(work)(lease.conn());
    if (!result && (result.error().kind == ErrorKind::transient || !lease.conn().healthy())) {
      lease.discard();
    }
    return result;
  }

private:
  void give_back(std::optional<Connection>& conn, bool discard);

  std::string m_conninfo;
  std::size_t m_max = 1;
  std::mutex m_mutex;
  std::condition_variable m_released;
  std::vector<Connection> m_idle;
  std::size_t m_open = 0; // Connections handed out or idle.
};

} // namespace rsi::pg
