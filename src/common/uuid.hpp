#pragma once

#include <string>
#include <string_view>

namespace rsi {

// A random (version 4) UUID in its canonical lowercase text form, from libuuid.
std::string new_uuid();

// True for the canonical 8-4-4-4-12 hexadecimal form (any case).
bool is_uuid(std::string_view text);

} // namespace rsi
