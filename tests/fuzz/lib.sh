# Shared by the fuzz scripts: finding a clang that can build the project, and running a target
# with a bounded time and a short report.
# shellcheck shell=bash
#
# Needs clang >= 16 with its compiler-rt (Debian: clang-16 libclang-rt-16-dev). Debian 12's clang
# 14 cannot compile libstdc++ 12's std::expected (rsi::Result): it reports __cpp_concepts 201907,
# which hides <expected>, and raising that macro only moves the failure to "attempt to use a
# deleted function" (clang 14 lacks conditionally trivial special members, P0848); libc++ 14 has
# no <expected> at all. Clang 16 has P0848 but still reports the old __cpp_concepts, so the
# flags raise the macro for it. Set RSI_FUZZ_CXX to pick another clang++.

# fuzz_args "$@": reads the options every fuzz script takes and sets the globals fuzz_mode (all,
# build or run), fuzz_seconds and fuzz_out:
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
  fuzz_out="${2:-$root/build-fuzz}"
  mkdir -p "$fuzz_out"
}

# fuzz_compiler_flags NAME: sets the globals fuzz_cxx and fuzz_flags (an array) or exits 2.
fuzz_compiler_flags() {
  local name="$1"
  fuzz_cxx="${RSI_FUZZ_CXX:-}"
  if [ -z "$fuzz_cxx" ]; then
    local candidate
    for candidate in clang++-19 clang++-18 clang++-17 clang++-16; do
      if command -v "$candidate" >/dev/null; then
        fuzz_cxx="$candidate"
        break
      fi
    done
  fi
  if [ -z "$fuzz_cxx" ]; then
    echo "$name: needs clang++ >= 16 (apt-get install clang-16 libclang-rt-16-dev)" >&2
    exit 2
  fi
  fuzz_flags=(-std=c++2b -O1 -gline-tables-only -fno-omit-frame-pointer
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  local concepts
  concepts="$("$fuzz_cxx" -std=c++2b -dM -E -x c++ /dev/null | awk '/__cpp_concepts/ {print $3}')"
  if [ "${concepts%L}" -lt 202002 ]; then
    fuzz_flags+=(-D__cpp_concepts=202002L -Wno-builtin-macro-redefined -Wno-macro-redefined)
  fi
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
