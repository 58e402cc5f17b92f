# Shared by the fuzz scripts: building a target in a CMake tree and running it with a bounded
# time and a short report.
# shellcheck shell=bash
#
# The targets build with clang >= 16 and its compiler-rt (Debian: clang-16 libclang-rt-16-dev),
# in a tree configured as scripts/test configures its ASan+UBSan tree plus RSI_FUZZ (libFuzzer's
# coverage instrumentation on every source; CMakeLists.txt): scripts/test passes that tree, so a
# target costs a link there. Debian 12's clang 14 cannot compile libstdc++ 12's std::expected
# (cmake/rsi_settings.cmake). Set RSI_FUZZ_CXX to pick another clang++.

# fuzz_args "$@": reads the options every fuzz script takes and sets the globals fuzz_mode (all,
# build or run), fuzz_seconds, fuzz_tree (the CMake tree) and fuzz_dir (where the targets,
# their corpora and seeds are):
#   run_<name>_fuzz.sh [--build-only|--run-only] [seconds=60] [build_dir=<root>/build-fuzz]
# --build-only builds the target and stops; --run-only runs what an earlier build left (scripts/test
# builds while other suites run, then runs every target at once).
fuzz_args() {
  fuzz_mode=all
  case "${1:-}" in
    --build-only) fuzz_mode=build; shift ;;
    --run-only) fuzz_mode=run; shift ;;
  esac
  fuzz_seconds="${1:-60}"
  fuzz_tree="${2:-$root/build-fuzz}"
  fuzz_dir="$fuzz_tree/tests/fuzz"
}

# fuzz_build NAME TARGET: builds TARGET in fuzz_tree, configuring the tree on first use, or exits 2
# without a suitable clang.
fuzz_build() {
  local name="$1" target="$2" cxx="${RSI_FUZZ_CXX:-}" candidate
  if [ ! -f "$fuzz_tree/build.ninja" ]; then
    if [ -z "$cxx" ]; then
      for candidate in clang++-19 clang++-18 clang++-17 clang++-16; do
        if command -v "$candidate" >/dev/null; then
          cxx="$candidate"
          break
        fi
      done
    fi
    if [ -z "$cxx" ]; then
      echo "$name: needs clang++ >= 16 (apt-get install clang-16 libclang-rt-16-dev)" >&2
      exit 2
    fi
  fi
  source "$root/scripts/lib/common.sh"
  # A tree configured before without RSI_FUZZ (an ASan+UBSan tree of scripts/test) gets it now.
  if [ -f "$fuzz_tree/CMakeCache.txt" ] && ! grep -q '^RSI_FUZZ:BOOL=ON' "$fuzz_tree/CMakeCache.txt"; then
    cmake "$fuzz_tree" -DRSI_FUZZ=ON >&2
  fi
  RSI_BUILD_TARGETS="$target" rsi_build "$fuzz_tree" -DRSI_SANITIZE=ON -DRSI_FUZZ=ON \
    -DRSI_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_C_COMPILER="${cxx/clang++/clang}"
}

# fuzz_run DIR BINARY SECONDS MAX_LEN CORPUS SEEDS: runs the target in DIR for SECONDS. libFuzzer's
# progress goes to DIR/BINARY.log; what is printed is its final statistics, or, on a finding, the
# report (the crashing input is saved in DIR). Returns libFuzzer's exit status.
fuzz_run() {
  local dir="$1" binary="$2" seconds="$3" max_len="$4" corpus="$5" seeds="$6"
  local log="$dir/$binary.log" status=0
  (cd "$dir" && "./$binary" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "$corpus" "$seeds") >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    grep -E '^(Done|stat::)' "$log" | sed "s/^/$binary: /"
  else
    echo "$binary: FINDING (exit $status); the report (full log: $log):"
    grep -vE '^#[0-9]+' "$log" | tail -n 80
  fi
  return "$status"
}
