#include "common/byte_source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <unistd.h>

#include "common/file_descriptor.hpp"

namespace rsi {
namespace {

class FileSource final : public ByteSource {
public:
  FileSource(std::filesystem::path path, FileDescriptor fd)
      : m_path(std::move(path)), m_fd(std::move(fd)) {}

  // ByteSource
  Result<std::size_t> read(std::span<char> buffer) override {
    while (true) {
      const ssize_t got = ::read(m_fd.get(), buffer.data(), buffer.size());
      if (got >= 0) {
        return static_cast<std::size_t>(got);
      }
      if (errno != EINTR) {
        return fail(ErrorKind::transient, fmt::format("read {}: {}", m_path, std::strerror(errno)));
      }
    }
  }

private:
  std::filesystem::path m_path;
  FileDescriptor m_fd;
};

class MemorySource final : public ByteSource {
public:
  explicit MemorySource(std::string bytes) : m_bytes(std::move(bytes)) {}

  // ByteSource
  Result<std::size_t> read(std::span<char> buffer) override {
    const std::size_t count = std::min(buffer.size(), m_bytes.size() - m_offset);
    std::copy_n(m_bytes.data() + m_offset, count, buffer.data());
    m_offset += count;
    return count;
  }

private:
  std::string m_bytes;
  std::size_t m_offset = 0;
};

} // namespace

Result<std::unique_ptr<ByteSource>> open_file_source(const std::filesystem::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return fail(ErrorKind::permanent, fmt::format("open {}: {}", path, std::strerror(errno)));
  }
  return std::make_unique<FileSource>(path, std::move(fd));
}

std::unique_ptr<ByteSource> make_memory_source(std::string bytes) {
  return std::make_unique<MemorySource>(std::move(bytes));
}

} // namespace rsi
