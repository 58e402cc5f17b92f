#include "warehouse/batch_files.hpp"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace rsi::warehouse {
namespace {

// Chunks smaller than this are appended to the last queued one, so a download of many small
// network reads does not become as many allocations.
constexpr std::size_t k_coalesce_bytes = 256U << 10U;

// A bounded single-producer, single-consumer pipe between the download thread (the store's
// sink) and the reader.
class ObjectSource final : public tsv::ByteSource {
public:
  ObjectSource(objectstore::ObjectStore& store, std::string key, std::string name,
               std::size_t max_buffered)
      : m_store(store), m_key(std::move(key)), m_name(std::move(name)),
        m_max_buffered(std::max<std::size_t>(max_buffered, 1)) {
    m_thread = std::thread([this] { download(); });
  }

  ObjectSource(const ObjectSource&) = delete;
  ObjectSource& operator=(const ObjectSource&) = delete;

  ~ObjectSource() override {
    {
      const std::lock_guard lock(m_mutex);
      m_cancelled = true;
    }
    m_changed.notify_all();
    m_thread.join();
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
    // Exceptions (std::bad_alloc) must not leave the thread: they become the read error.
    try {
      auto got = m_store.get(m_key, [this](std::string_view chunk) { return accept(chunk); });
      if (!got) {
        error = got.error().wrap(m_name);
      } else if (!*got) {
        error = Error{ErrorKind::permanent, fmt::format("{}: no such object", m_name)};
      }
    } catch (const std::exception& exception) {
      error = Error{ErrorKind::transient,
                    fmt::format("{}: download failed: {}", m_name, exception.what())};
    }
    {
      const std::lock_guard lock(m_mutex);
      m_error = std::move(error);
      m_done = true;
    }
    m_changed.notify_all();
  }

  objectstore::ObjectStore& m_store;
  std::string m_key;
  std::string m_name;
  std::size_t m_max_buffered;

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<std::string> m_chunks;
  std::size_t m_front_offset = 0;
  std::size_t m_buffered = 0;
  bool m_done = false;
  bool m_cancelled = false;
  std::optional<Error> m_error;
  std::thread m_thread; // Last: starts once everything above exists.
};

} // namespace

FileLocator locate_in_bucket_folders(objectstore::ObjectStore& store) {
  return [&store](const core::ObjectLocation& location) -> Result<ObjectRef> {
    return ObjectRef{&store, fmt::format("{}/{}", location.bucket, location.key)};
  };
}

FileLocator locate_in_bucket(objectstore::ObjectStore& store, std::string bucket) {
  return [&store,
          bucket = std::move(bucket)](const core::ObjectLocation& location) -> Result<ObjectRef> {
    if (location.bucket != bucket) {
      return fail(ErrorKind::permanent,
                  fmt::format("s3://{}/{}: no object store is configured for bucket {}",
                              location.bucket, location.key, location.bucket));
    }
    return ObjectRef{&store, location.key};
  };
}

std::unique_ptr<tsv::ByteSource> open_object_source(objectstore::ObjectStore& store,
                                                    std::string key, std::string name,
                                                    std::size_t max_buffered_bytes) {
  return std::make_unique<ObjectSource>(store, std::move(key), std::move(name), max_buffered_bytes);
}

Result<tsv::LoadCounts>
read_batch(std::span<const core::ObjectLocation> files, const FileLocator& locate,
           const std::vector<tsv::Column>& columns,
           const std::function<Result<void>(std::span<const tsv::Field>)>& on_row,
           BatchReadOptions options) {
  // Every file is located before the first byte is read, so a file no store serves costs no
  // download. Errors name a file by its URL.
  std::vector<ObjectRef> refs;
  std::vector<std::string> urls;
  refs.reserve(files.size());
  urls.reserve(files.size());
  for (const auto& location : files) {
    RSI_TRY_ASSIGN(ObjectRef ref, locate(location));
    refs.push_back(std::move(ref));
    urls.push_back(core::s3_url(location));
  }
  const auto open = [&](std::size_t index) -> std::unique_ptr<tsv::ByteSource> {
    if (index >= refs.size()) {
      return nullptr;
    }
    return open_object_source(*refs[index].store, refs[index].key, urls[index],
                              options.max_buffered_bytes);
  };

  tsv::LoadCounts counts;
  std::unique_ptr<tsv::ByteSource> current = open(0);
  std::unique_ptr<tsv::ByteSource> next = open(1);
  for (std::size_t index = 0; index < refs.size(); ++index) {
    {
      RSI_TRY_ASSIGN(auto reader, tsv::Reader::open(*current, columns, {.name = urls[index]}));
      while (true) {
        RSI_TRY_ASSIGN(const bool more, reader.next());
        if (!more) {
          break;
        }
        RSI_TRY(on_row(reader.row()));
      }
      counts += reader.counts();
    }
    current = std::move(next);
    next = open(index + 2);
  }
  return counts;
}

} // namespace rsi::warehouse
