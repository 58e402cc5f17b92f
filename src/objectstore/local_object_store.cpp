// Local-directory object store.
//
// Each object is a regular file at root/<key>. A put writes root/<dir>/.rsi-partial-<name>-<rand>
// in the object's own directory, fsyncs it and renames it over the final name, so readers
// see the old or the new object and a crash leaves at most a partial file that listings
// skip. The etag is derived from size and modification time (no content hash: cheap, and
// it changes whenever the file is replaced). Directories are created on demand and never
// removed.

#include "objectstore/local_object_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/c_handle.hpp"
#include "common/file_descriptor.hpp"

namespace rsi::objectstore {
namespace {

using DirHandle = CHandle<DIR, &::closedir>;

constexpr std::string_view k_partial_prefix = ".rsi-partial-";
// The longest file name the file systems we run on accept (NAME_MAX).
constexpr std::size_t k_max_name_bytes = 255;
constexpr std::size_t k_chunk_bytes = 256 * 1024;

std::string etag_of(const struct stat& status) {
  const auto mtime_ns = static_cast<std::uint64_t>(status.st_mtim.tv_sec) * 1'000'000'000ULL +
                        static_cast<std::uint64_t>(status.st_mtim.tv_nsec);
  return fmt::format("\"{:x}-{:x}\"", static_cast<std::uint64_t>(status.st_size), mtime_ns);
}

ObjectInfo info_of(std::string_view key, const struct stat& status) {
  return ObjectInfo{.key = std::string(key),
                    .size_bytes = static_cast<std::uint64_t>(status.st_size),
                    .etag = etag_of(status),
                    .last_modified = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
                        std::chrono::seconds(status.st_mtim.tv_sec) +
                        std::chrono::nanoseconds(status.st_mtim.tv_nsec)))};
}

class LocalObjectStore final : public ObjectStore {
public:
  explicit LocalObjectStore(std::filesystem::path root) : m_root(std::move(root)) {}

  // ObjectStore
  Result<std::optional<ObjectInfo>> get(std::string_view key, const ChunkSink& sink,
                                        ByteRange range) override {
    RSI_TRY(check_key(key));
    const auto path = m_root / key;
    FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.valid()) {
      return missing_or_error("get", key, errno);
    }
    struct stat status {};
    if (::fstat(file.get(), &status) != 0) {
      return fail(ErrorKind::transient,
                  fmt::format("get {}: {}", describe_key(key), errno_message(errno)));
    }
    if (!S_ISREG(status.st_mode)) {
      return std::optional<ObjectInfo>(); // A "directory" of other keys is no object.
    }
    const auto size = static_cast<std::uint64_t>(status.st_size);
    if (range.offset > 0 && range.offset >= size) {
      return fail(ErrorKind::permanent,
                  fmt::format("get {}: range starts at {} past the end ({} bytes)",
                              describe_key(key), range.offset, size));
    }
    std::uint64_t left =
        range.length ? std::min(*range.length, size - range.offset) : size - range.offset;
    auto offset = static_cast<off_t>(range.offset);
    std::vector<char> buffer(
        std::min<std::uint64_t>(k_chunk_bytes, std::max<std::uint64_t>(left, 1)));
    while (left > 0) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left));
      const ssize_t got = ::pread(file.get(), buffer.data(), want, offset);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        return fail(ErrorKind::transient,
                    fmt::format("get {}: read failed: {}", describe_key(key),
                                got == 0 ? "file shrank while reading" : errno_message(errno)));
      }
      RSI_TRY(sink(std::string_view(buffer.data(), static_cast<std::size_t>(got))));
      offset += got;
      left -= static_cast<std::uint64_t>(got);
    }
    return std::optional<ObjectInfo>(info_of(key, status));
  }

  Result<void> put(std::string_view key, std::string_view data) override {
    std::size_t offset = 0;
    return write_atomically(key, [&](std::span<char> buffer) -> Result<std::size_t> {
      const std::size_t chunk = std::min(buffer.size(), data.size() - offset);
      std::memcpy(buffer.data(), data.data() + offset, chunk);
      offset += chunk;
      return chunk;
    });
  }

  Result<void> put_stream(std::string_view key, const ChunkSource& source) override {
    return write_atomically(key, source);
  }

  Result<void> put_file(std::string_view key, const std::filesystem::path& path) override {
    FileDescriptor input(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!input.valid()) {
      return fail(ErrorKind::permanent, fmt::format("put {} from {}: {}", describe_key(key),
                                                    path.string(), errno_message(errno)));
    }
    return write_atomically(key, [&](std::span<char> buffer) -> Result<std::size_t> {
      while (true) {
        const ssize_t got = ::read(input.get(), buffer.data(), buffer.size());
        if (got >= 0) {
          return static_cast<std::size_t>(got);
        }
        if (errno != EINTR) {
          return fail(ErrorKind::transient,
                      fmt::format("read {}: {}", path.string(), errno_message(errno)));
        }
      }
    });
  }

  Result<std::optional<ObjectInfo>> head(std::string_view key) override {
    RSI_TRY(check_key(key));
    struct stat status {};
    if (::stat((m_root / key).c_str(), &status) != 0) {
      return missing_or_error("head", key, errno);
    }
    if (!S_ISREG(status.st_mode)) {
      return std::optional<ObjectInfo>();
    }
    return std::optional<ObjectInfo>(info_of(key, status));
  }

  Result<void> remove(std::string_view key) override {
    RSI_TRY(check_key(key));
    if (::unlink((m_root / key).c_str()) != 0) {
      const int error = errno;
      if (error == ENOENT || error == ENOTDIR) {
        RSI_TRY(check_root("delete"));
        return {};
      }
      if (error == EISDIR || error == EPERM) {
        return {}; // A "directory" of other keys: there is no object to delete.
      }
      return fail(ErrorKind::transient,
                  fmt::format("delete {}: {}", describe_key(key), errno_message(error)));
    }
    return {};
  }

  Result<ListPage> list(std::string_view prefix, const std::optional<std::string>& token,
                        std::size_t max_keys) override {
    RSI_TRY(check_root("list"));
    const std::size_t limit = std::max<std::size_t>(max_keys, 1);
    ListWalk walk{.prefix = prefix, .after = token, .limit = limit};
    RSI_TRY(list_below(m_root, "", walk));
    ListPage page;
    if (walk.found.size() > limit) {
      walk.found.resize(limit);
      page.next_token = walk.found.back().key;
    }
    page.objects = std::move(walk.found);
    return page;
  }

  std::string describe() const override { return fmt::format("file://{}", m_root.string()); }

  Result<void> check_key(std::string_view key) const override {
    RSI_TRY(validate_key(key));
    const auto name = key.substr(key.rfind('/') + 1);
    if (name.starts_with(k_partial_prefix)) {
      return fail(ErrorKind::permanent,
                  fmt::format("object key {:?}: names starting with {} are reserved", key,
                              k_partial_prefix));
    }
    // Each segment becomes a directory or file name, which the file system bounds.
    for (std::size_t start = 0; start < key.size();) {
      const auto end = std::min(key.find('/', start), key.size());
      if (end - start > k_max_name_bytes) {
        return fail(ErrorKind::permanent,
                    fmt::format("object key {:?}: a path segment of {} bytes (a local store "
                                "allows {})",
                                key.substr(0, 100), end - start, k_max_name_bytes));
      }
      start = end + 1;
    }
    return {};
  }

private:
  // One listing call: the objects found so far, in key order, and when to stop.
  struct ListWalk {
    std::string_view prefix;
    const std::optional<std::string>& after; // Keys up to this one are not listed.
    std::size_t limit = 0;                   // One more is looked for, to know if a page follows.
    std::vector<ObjectInfo> found;
  };

  // Appends to `walk.found` the objects under `dir` (whose keys start with `dir_key`) that belong
  // to the listing, in key order, until it holds one more than a page. A directory's entries are
  // visited sorted by name, a subdirectory's name with its '/' (so "a-b" < "a/b" < "a0", as the
  // keys compare); subtrees that cannot hold a listed key are not read. So a page costs the
  // directories on the way to it, never the whole tree, and holds at most a page in memory.
  Result<void> list_below(const std::filesystem::path& dir, const std::string& dir_key,
                          ListWalk& walk) const {
    struct Entry {
      std::string key; // With a trailing '/' for a directory: every key below starts with it.
      bool directory = false;
    };
    std::vector<Entry> entries; // Those that are or hold keys of the listing.
    DirHandle handle(::opendir(dir.c_str()));
    if (!handle) {
      if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) {
        return {}; // Removed while listing, or not ours to read.
      }
      return fail(ErrorKind::transient,
                  fmt::format("list {}: {}", describe(), errno_message(errno)));
    }
    while (true) {
      errno = 0; // readdir's end and its failure differ only in errno.
      const dirent* item = ::readdir(handle.get());
      if (item == nullptr) {
        if (errno != 0) {
          return fail(ErrorKind::transient,
                      fmt::format("list {}: {}", describe(), errno_message(errno)));
        }
        break;
      }
      const std::string_view name = item->d_name;
      if (name == "." || name == ".." || name.starts_with(k_partial_prefix)) {
        continue;
      }
      // The type comes from the directory read; only links and file systems that do not say
      // cost a stat. Links to directories are not followed; links to files are objects.
      bool directory = item->d_type == DT_DIR;
      if (item->d_type == DT_UNKNOWN) {
        struct stat status {};
        directory =
            ::fstatat(::dirfd(handle.get()), item->d_name, &status, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(status.st_mode);
      }
      std::string key = dir_key;
      key.append(name);
      if (directory) {
        key += '/';
        const bool matches_prefix = key.starts_with(walk.prefix) || walk.prefix.starts_with(key);
        const bool all_passed = walk.after && *walk.after > key && !walk.after->starts_with(key);
        if (matches_prefix && !all_passed) {
          entries.push_back({.key = std::move(key), .directory = true});
        }
      } else if (key.starts_with(walk.prefix) && (!walk.after || key > *walk.after)) {
        entries.push_back({.key = std::move(key), .directory = false});
      }
    }
    handle.reset();
    std::sort(entries.begin(), entries.end(),
              [](const Entry& left, const Entry& right) { return left.key < right.key; });
    for (const auto& entry : entries) {
      const auto name = std::string_view(entry.key).substr(dir_key.size());
      if (entry.directory) {
        RSI_TRY(list_below(dir / name.substr(0, name.size() - 1), entry.key, walk));
      } else {
        struct stat status {};
        // Deleted while listing, or not a regular file (a pipe, a link to a folder): no object.
        if (::stat((dir / name).c_str(), &status) == 0 && S_ISREG(status.st_mode)) {
          walk.found.push_back(info_of(entry.key, status));
        }
      }
      if (walk.found.size() > walk.limit) {
        return {};
      }
    }
    return {};
  }

  std::string describe_key(std::string_view key) const {
    return fmt::format("file://{}", (m_root / key).string());
  }

  Result<void> check_root(std::string_view operation) const {
    std::error_code error;
    if (!std::filesystem::is_directory(m_root, error)) {
      return fail(ErrorKind::permanent, fmt::format("{} {}: root directory {} does not exist",
                                                    operation, describe(), m_root.string()));
    }
    return {};
  }

  Result<std::optional<ObjectInfo>> missing_or_error(std::string_view operation,
                                                     std::string_view key, int error) const {
    if (error == ENOENT || error == ENOTDIR) {
      RSI_TRY(check_root(operation));
      return std::optional<ObjectInfo>();
    }
    return fail(error == EACCES ? ErrorKind::permanent : ErrorKind::transient,
                fmt::format("{} {}: {}", operation, describe_key(key), errno_message(error)));
  }

  Result<void> write_atomically(std::string_view key, const ChunkSource& source) {
    RSI_TRY(check_key(key));
    RSI_TRY(check_root("put"));
    const auto path = m_root / key;
    const auto target = describe_key(key);
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
      return fail(error == std::errc::not_a_directory || error == std::errc::file_exists
                      ? ErrorKind::permanent
                      : ErrorKind::transient,
                  fmt::format("put {}: create directory: {} (a key cannot be both an object and "
                              "a prefix of other keys here)",
                              target, error.message()));
    }
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const auto temp = path.parent_path() / fmt::format("{}{}-{:016x}", k_partial_prefix,
                                                       path.filename().string(), rng());
    FileDescriptor file(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!file.valid()) {
      return fail(ErrorKind::transient, fmt::format("put {}: {}", target, errno_message(errno)));
    }
    auto written = copy_into(file, source, target);
    if (written && ::fsync(file.get()) != 0) {
      written = fail(ErrorKind::transient,
                     fmt::format("put {}: fsync: {}", target, errno_message(errno)));
    }
    if (const int close_error = written ? file.close() : 0; close_error != 0) {
      written = fail(ErrorKind::transient,
                     fmt::format("put {}: close: {}", target, errno_message(close_error)));
    }
    if (written && ::rename(temp.c_str(), path.c_str()) != 0) {
      const int rename_error = errno;
      written = fail(rename_error == EISDIR ? ErrorKind::permanent : ErrorKind::transient,
                     fmt::format("put {}: rename: {}", target, errno_message(rename_error)));
    }
    if (!written) {
      ::unlink(temp.c_str());
    }
    return written;
  }

  static Result<void> copy_into(const FileDescriptor& file, const ChunkSource& source,
                                const std::string& target) {
    std::vector<char> buffer(k_chunk_bytes);
    while (true) {
      RSI_TRY_ASSIGN(const std::size_t got, source(std::span<char>(buffer)));
      if (got == 0) {
        return {};
      }
      std::size_t done = 0;
      while (done < got) {
        const ssize_t wrote = ::write(file.get(), buffer.data() + done, got - done);
        if (wrote < 0 && errno == EINTR) {
          continue;
        }
        if (wrote < 0) {
          return fail(ErrorKind::transient,
                      fmt::format("put {}: write: {}", target, errno_message(errno)));
        }
        done += static_cast<std::size_t>(wrote);
      }
    }
  }

  std::filesystem::path m_root;
};

} // namespace

Result<std::unique_ptr<ObjectStore>> make_local_object_store(const LocalConfig& config) {
  if (config.root.empty()) {
    return fail(ErrorKind::permanent, "local object store: no root directory given");
  }
  auto root = std::filesystem::absolute(config.root).lexically_normal();
  if (!root.has_filename() && root.has_parent_path() && root != root.root_path()) {
    root = root.parent_path(); // "/data/objects/" → "/data/objects".
  }
  std::error_code error;
  if (config.create_root) {
    std::filesystem::create_directories(root, error);
  }
  if (error || !std::filesystem::is_directory(root, error)) {
    return fail(ErrorKind::permanent,
                fmt::format("local object store: root directory {} does not exist{}", root.string(),
                            error ? fmt::format(" ({})", error.message()) : std::string()));
  }
  return std::make_unique<LocalObjectStore>(root);
}

} // namespace rsi::objectstore
