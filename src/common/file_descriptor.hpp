#pragma once

#include <cerrno>
#include <utility>

#include <unistd.h>

namespace rsi {

// An owned POSIX file descriptor, closed on destruction. Empty (-1) when default-constructed,
// moved from or closed.
class FileDescriptor {
public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : m_fd(fd) {}
  ~FileDescriptor() { reset(); }
  FileDescriptor(FileDescriptor&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      reset();
      m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  [[nodiscard]] int get() const { return m_fd; }
  [[nodiscard]] bool valid() const { return m_fd >= 0; }

  // Close now: 0, or the errno close(2) reported (a deferred write error shows here).
  [[nodiscard]] int close() { return ::close(std::exchange(m_fd, -1)) == 0 ? 0 : errno; }

private:
  void reset() {
    if (m_fd >= 0) {
      ::close(std::exchange(m_fd, -1));
    }
  }

  int m_fd = -1;
};

} // namespace rsi
