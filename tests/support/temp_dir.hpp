#pragma once

#include <filesystem>
#include <string>

namespace rsi::test {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  [[nodiscard]] std::filesystem::path path(const std::string& name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

} // namespace rsi::test
