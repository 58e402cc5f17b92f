// An LD_PRELOAD library that sets a process's wall clock ahead: with
// RSI_TEST_CLOCK_SHIFT_SECONDS=N in its environment, CLOCK_REALTIME (clock_gettime, and so
// std::chrono::system_clock), gettimeofday and time read N seconds later than the machine's
// clock. The monotonic clocks are left alone, so timed waits and sleeps keep their length.
//
// End-to-end tests use it to inject time into a daemon that takes it from the system (and
// has no flags for its timeouts): a process restarted with a larger shift finds the leases,
// visibility deadlines and retry times its predecessor wrote in the past, as if it had been
// down that long, without the test sleeping through them. The shift is read once; a process
// never sees its own clock jump.
#include <cstdlib>

#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>

namespace {

using ClockGettime = int (*)(clockid_t, timespec*);
using Gettimeofday = int (*)(timeval*, void*);

long shift_seconds() {
  static const long shift = [] {
    const char* text = std::getenv("RSI_TEST_CLOCK_SHIFT_SECONDS");
    return text == nullptr ? 0L : std::strtol(text, nullptr, 10);
  }();
  return shift;
}

template <class Function> Function next_definition(const char* name) {
  return reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

bool is_wall_clock(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE;
}

} // namespace

extern "C" int clock_gettime(clockid_t clock, timespec* out) noexcept {
  static const auto real = next_definition<ClockGettime>("clock_gettime");
  const int rc = real(clock, out);
  if (rc == 0 && is_wall_clock(clock)) { // `out` is declared nonnull.
    out->tv_sec += shift_seconds();
  }
  return rc;
}

extern "C" int gettimeofday(timeval* __restrict out, void* __restrict zone) noexcept {
  static const auto real = next_definition<Gettimeofday>("gettimeofday");
  const int rc = real(out, zone);
  if (rc == 0) { // `out` is declared nonnull.
    out->tv_sec += shift_seconds();
  }
  return rc;
}

extern "C" time_t time(time_t* out) noexcept {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  if (out != nullptr) {
    *out = now.tv_sec;
  }
  return now.tv_sec;
}
