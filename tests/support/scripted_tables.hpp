#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "registry/event_metadata.hpp"

namespace rsi::test {

// Event metadata as a test scripts it: published tables load into the warehouse, tables left out
// of ace are known but not loaded, every other table is unknown; while unavailable, every answer
// fails transiently (the metadata never loaded). Thread-safe.
class ScriptedTables final : public registry::TableDirectory {
public:
  void publish(const std::string& table) {
    const std::lock_guard lock(m_mutex);
    m_published.insert(table);
  }
  void leave_out_of_ace(const std::string& table) {
    const std::lock_guard lock(m_mutex);
    m_not_in_ace.insert(table);
  }
  void set_unavailable(bool unavailable) {
    const std::lock_guard lock(m_mutex);
    m_unavailable = unavailable;
  }

  // TableDirectory
  Result<core::AceMembership> membership(std::string_view table) override {
    const std::lock_guard lock(m_mutex);
    if (m_unavailable) {
      return fail(ErrorKind::transient, "event metadata: not loaded yet");
    }
    if (m_not_in_ace.contains(table)) {
      return core::AceMembership::not_in_ace;
    }
    return m_published.contains(table) ? core::AceMembership::in_ace
                                       : core::AceMembership::unknown_table;
  }

private:
  std::mutex m_mutex;
  std::set<std::string, std::less<>> m_published;
  std::set<std::string, std::less<>> m_not_in_ace;
  bool m_unavailable = false;
};

} // namespace rsi::test
