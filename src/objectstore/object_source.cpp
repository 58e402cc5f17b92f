#include "objectstore/object_source.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace rsi::objectstore {
namespace {

// Chunks smaller than this are appended to the last queued one, so a download of many small
// network reads does not become as many allocations.
constexpr std::size_t k_coalesce_bytes = 256U << 10U;

// A bounded single-producer, single-consumer pipe between the download thread (the store's
// sink) and the reader.
class DownloadSource final : public ObjectSource {
public:
  DownloadSource(ObjectStore& store, std::string key, std::string name, std::size_t max_buffered)
      : m_store(store), m_key(std::move(key)), m_name(std::move(name)),
        m_max_buffered(std::max<std::size_t>(max_buffered, 1)) {
    m_thread = std::thread([this] { download(); });
  }

  DownloadSource(const DownloadSource&) = delete;
  DownloadSource& operator=(const DownloadSource&) = delete;

  ~DownloadSource() override {
    {
      const std::lock_guard lock(m_mutex);
      m_cancelled = true;
    }
    m_changed.notify_all();
    m_thread.join();
  }

  bool object_missing() const override {
    const std::lock_guard lock(m_mutex);
    return m_missing;
  }

  Result<std::size_t> read(std::span<char> buffer) override {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return !m_chunks.empty() || m_done; });
    if (m_chunks.empty()) {
      if (m_error) {
        return fail(*m_error);
      }
      return 0;
    }
    std::size_t copied = 0;
    while (copied < buffer.size() && !m_chunks.empty()) {
      const std::string& front = m_chunks.front();
      const std::size_t take = std::min(buffer.size() - copied, front.size() - m_front_offset);
      std::memcpy(buffer.data() + copied, front.data() + m_front_offset, take);
      copied += take;
      m_front_offset += take;
      if (m_front_offset == front.size()) {
        m_buffered -= front.size();
        m_chunks.pop_front();
        m_front_offset = 0;
      }
    }
    lock.unlock();
    m_changed.notify_all();
    return copied;
  }

private:
  Result<void> accept(std::string_view chunk) {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_buffered < m_max_buffered || m_cancelled; });
    if (m_cancelled) {
      return fail(ErrorKind::transient, fmt::format("{}: download cancelled", m_name));
    }
    if (!m_chunks.empty() && m_chunks.back().size() < k_coalesce_bytes) {
      m_chunks.back().append(chunk);
    } else {
      m_chunks.emplace_back(chunk);
    }
    m_buffered += chunk.size();
    lock.unlock();
    m_changed.notify_all();
    return {};
  }

  void download() {
    std::optional<Error> error;
    bool missing = false;
    // Exceptions (std::bad_alloc) must not leave the thread: they become the read error.
    try {
      auto got = m_store.get(m_key, [this](std::string_view chunk) { return accept(chunk); });
      if (!got) {
        error = got.error().wrap(m_name);
      } else if (!*got) {
        error = Error{ErrorKind::permanent, fmt::format("{}: no such object", m_name)};
        missing = true;
      }
    } catch (const std::exception& exception) {
      error = Error{ErrorKind::transient,
                    fmt::format("{}: download failed: {}", m_name, exception.what())};
    }
    {
      const std::lock_guard lock(m_mutex);
      m_error = std::move(error);
      m_missing = missing;
      m_done = true;
    }
    m_changed.notify_all();
  }

  ObjectStore& m_store;
  std::string m_key;
  std::string m_name;
  std::size_t m_max_buffered;

  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<std::string> m_chunks;
  std::size_t m_front_offset = 0;
  std::size_t m_buffered = 0;
  bool m_done = false;
  bool m_cancelled = false;
  bool m_missing = false;
  std::optional<Error> m_error;
  std::thread m_thread; // Last: starts once everything above exists.
};

} // namespace

std::unique_ptr<ObjectSource> open_object_source(ObjectStore& store, std::string key,
                                                 std::string name, std::size_t max_buffered_bytes) {
  return std::make_unique<DownloadSource>(store, std::move(key), std::move(name),
                                          max_buffered_bytes);
}

} // namespace rsi::objectstore
