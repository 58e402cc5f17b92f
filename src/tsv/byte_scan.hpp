#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rsi::tsv {

// The first byte in [`p`, `end`) equal to `a`, `b`, `c` or `d`, or `end` when there is none.
// Compares 16 bytes at a time where SSE2 is available (every x86-64 CPU): most fields are
// scanned in one or two steps.
inline const char* find_first_of4(const char* p, const char* end, char a, char b, char c, char d) {
#if defined(__SSE2__)
  const __m128i want_a = _mm_set1_epi8(a);
  const __m128i want_b = _mm_set1_epi8(b);
  const __m128i want_c = _mm_set1_epi8(c);
  const __m128i want_d = _mm_set1_epi8(d);
  while (end - p >= 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, want_a), _mm_cmpeq_epi8(chunk, want_b)),
                     _mm_or_si128(_mm_cmpeq_epi8(chunk, want_c), _mm_cmpeq_epi8(chunk, want_d)));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    if (mask != 0) {
      return p + __builtin_ctz(mask);
    }
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const char ch = *p;
    if (ch == a || ch == b || ch == c || ch == d) {
      return p;
    }
  }
  return end;
}

inline char* find_first_of4(char* p, char* end, char a, char b, char c, char d) {
  const char* found = find_first_of4(static_cast<const char*>(p), end, a, b, c, d);
  return p + (found - p);
}

} // namespace rsi::tsv
