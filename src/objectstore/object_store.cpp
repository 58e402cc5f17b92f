#include "objectstore/object_store.hpp"

#include <fmt/format.h>

namespace rsi::objectstore {

constexpr std::size_t k_max_key_bytes = 1024; // S3's limit.

Result<std::vector<ObjectInfo>> list_all(ObjectStore& store, std::string_view prefix) {
  std::vector<ObjectInfo> objects;
  std::optional<std::string> token;
  do {
    RSI_TRY_ASSIGN(ListPage page, store.list(prefix, token));
    objects.insert(objects.end(), std::make_move_iterator(page.objects.begin()),
                   std::make_move_iterator(page.objects.end()));
    token = std::move(page.next_token);
  } while (token);
  return objects;
}

Result<std::optional<std::string>> get_string(ObjectStore& store, std::string_view key) {
  std::string content;
  RSI_TRY_ASSIGN(auto info, store.get(key, [&](std::string_view chunk) -> Result<void> {
    content.append(chunk);
    return {};
  }));
  if (!info) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(content));
}

Result<void> validate_key(std::string_view key) {
  const auto invalid = [&](std::string_view why) {
    return fail(ErrorKind::permanent, fmt::format("object key {:?}: {}", key, why));
  };
  if (key.empty()) {
    return invalid("empty");
  }
  if (key.size() > k_max_key_bytes) {
    return invalid("longer than 1024 bytes");
  }
  if (key.find('\0') != std::string_view::npos) {
    return invalid("contains a NUL byte");
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = key.find('/', start);
    const std::string_view segment = key.substr(start, slash - start);
    if (segment.empty()) {
      return invalid(start == 0 ? "absolute or empty first segment" : "empty segment");
    }
    if (segment == "." || segment == "..") {
      return invalid("'.' and '..' segments are not allowed");
    }
    if (slash == std::string_view::npos) {
      return {};
    }
    start = slash + 1;
  }
}

Result<void> ObjectStore::check_key(std::string_view key) const { return validate_key(key); }

} // namespace rsi::objectstore
