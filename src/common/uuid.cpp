#include "common/uuid.hpp"

#include <uuid/uuid.h>

namespace rsi {

std::string new_uuid() {
  uuid_t raw;
  uuid_generate_random(raw);
  char text[37] = {};
  uuid_unparse_lower(raw, text);
  return text;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  const std::string copy(text);
  uuid_t parsed;
  return uuid_parse(copy.c_str(), parsed) == 0;
}

} // namespace rsi
