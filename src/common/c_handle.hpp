#pragma once

#include <memory>

namespace rsi {

// A stateless deleter calling a C library's free function, so a CHandle is one pointer wide.
template <auto FreeFn> struct CFree {
  template <class T> void operator()(T* handle) const noexcept { FreeFn(handle); }
};

// Owning handle for a C library object; wrap the pointer on the line that receives it.
template <class T, auto FreeFn> using CHandle = std::unique_ptr<T, CFree<FreeFn>>;

} // namespace rsi
