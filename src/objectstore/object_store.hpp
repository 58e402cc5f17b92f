#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace rsi::objectstore {

struct ObjectInfo {
  std::string key;
  std::uint64_t size_bytes = 0;
  // Opaque version tag: the same etag means the same content. S3's is quoted ("\"abc\"").
  std::string etag;
  std::optional<TimePoint> last_modified;
};

struct ListPage {
  std::vector<ObjectInfo> objects;       // In ascending byte order of key.
  std::optional<std::string> next_token; // Pass to list() for the next page; nullopt: done.
};

// Receives an object's bytes in order, chunk by chunk; an error stops the download and is
// returned as is.
using ChunkSink = std::function<Result<void>(std::string_view chunk)>;

// Fills `buffer` and returns how many bytes it wrote; 0 means the end of the data.
using ChunkSource = std::function<Result<std::size_t>(std::span<char> buffer)>;

// A byte range of an object: `length` bytes from `offset` (nullopt: to the end).
struct ByteRange {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
};

// A flat namespace of objects addressed by key ("2016/07/29/table/v0/file.log.gz"), as
// relative to the store's root (a bucket and prefix, or a directory). Keys are non-empty
// UTF-8 with '/'-separated, non-empty segments other than "." and ".."; others fail
// permanent. Objects are never held whole in memory by the store.
//
// Errors: transient for timeouts, dropped connections and throttling left after the
// backend's retries; permanent for bad keys, refused credentials, a missing bucket or root
// directory (the message names it), and other rejected requests. Implementations are
// thread-safe.
class ObjectStore {
public:
  virtual ~ObjectStore() = default;

  // Stream the object `key` (or its `range`) to `sink`. Returns the object's info, or
  // nullopt when there is no such object (nothing reached `sink` then). A range starting
  // past the end fails permanent. A download interrupted midway is resumed where it stopped,
  // and fails permanent if the object changed meanwhile.
  [[nodiscard]] virtual Result<std::optional<ObjectInfo>>
  get(std::string_view key, const ChunkSink& sink, ByteRange range = {}) = 0;

  // Store `data` as `key`, replacing any object there. Readers see the old or the new
  // object, never a part. Idempotent.
  [[nodiscard]] virtual Result<void> put(std::string_view key, std::string_view data) = 0;

  // Store everything `source` yields as `key`. Large objects go up in parts (multipart upload
  // above the backend's threshold), holding at most two parts in memory; on failure the
  // partial upload is aborted and no object appears.
  [[nodiscard]] virtual Result<void> put_stream(std::string_view key,
                                                const ChunkSource& source) = 0;

  // Store the file at `path` as `key` (parts read straight from the file).
  [[nodiscard]] virtual Result<void> put_file(std::string_view key,
                                              const std::filesystem::path& path) = 0;

  // Size and etag of `key`, or nullopt when there is no such object.
  [[nodiscard]] virtual Result<std::optional<ObjectInfo>> head(std::string_view key) = 0;

  // Delete `key`. Deleting a missing object succeeds (idempotent).
  [[nodiscard]] virtual Result<void> remove(std::string_view key) = 0;

  // One page of at most `max_keys` objects whose keys start with `prefix`, in key order,
  // starting after the page `token` ended (nullopt: from the start).
  [[nodiscard]] virtual Result<ListPage> list(std::string_view prefix,
                                              const std::optional<std::string>& token,
                                              std::size_t max_keys = 1000) = 0;

  // A short description for logs: "s3://bucket/prefix", "file:///dir".
  [[nodiscard]] virtual std::string describe() const = 0;

  // Whether this store can hold an object under `key` at all: validate_key, and whatever the
  // backend adds (a local directory: no path segment longer than a file name may be). A
  // permanent error naming the key otherwise; every other call refuses such a key alike.
  [[nodiscard]] virtual Result<void> check_key(std::string_view key) const;
};

// Every object under `prefix`, following pages.
[[nodiscard]] Result<std::vector<ObjectInfo>> list_all(ObjectStore& store, std::string_view prefix);

// The whole object in memory: for small objects only (manifests, metadata). nullopt when
// the object does not exist.
[[nodiscard]] Result<std::optional<std::string>> get_string(ObjectStore& store,
                                                            std::string_view key);

// Checks the key rules above; a permanent error naming the key otherwise.
[[nodiscard]] Result<void> validate_key(std::string_view key);

} // namespace rsi::objectstore
