#!/usr/bin/env bash
# Builds the Spade TSV reader fuzz target (libFuzzer + ASan + UBSan) and runs it for a bounded
# time. Exit status 0: no crash found; otherwise libFuzzer's, with the crashing input saved in
# the build directory.
#
#   tests/fuzz/run_tsv_reader_fuzz.sh [seconds=60] [build_dir=build-fuzz]
#
# Needs clang >= 16 with its compiler-rt (Debian: clang-16 libclang-rt-16-dev) and the
# project's libraries (libisal-dev, libfmt-dev). Debian's clang 14 cannot compile libstdc++ 12's
# std::expected (rsi::Result): it lacks conditionally trivial special members (P0848). Clang 16
# has them but still reports __cpp_concepts 201907, which hides <expected>; the script raises
# the macro for that compiler only. Set RSI_FUZZ_CXX to pick another clang++.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-60}"
out="${2:-$root/build-fuzz}"

cxx="${RSI_FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for candidate in clang++-19 clang++-18 clang++-17 clang++-16; do
    if command -v "$candidate" >/dev/null; then
      cxx="$candidate"
      break
    fi
  done
fi
if [ -z "$cxx" ]; then
  echo "run_tsv_reader_fuzz: needs clang++ >= 16 (apt-get install clang-16 libclang-rt-16-dev)" >&2
  exit 2
fi

flags=(-std=c++2b -O1 -g -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$root/src")
concepts="$("$cxx" -std=c++2b -dM -E -x c++ /dev/null | awk '/__cpp_concepts/ {print $3}')"
if [ "${concepts%L}" -lt 202002 ]; then
  flags+=(-D__cpp_concepts=202002L -Wno-builtin-macro-redefined -Wno-macro-redefined)
fi

mkdir -p "$out/corpus" "$out/seeds"
"$cxx" "${flags[@]}" -o "$out/tsv_reader_fuzz" \
  "$root/tests/fuzz/tsv_reader_fuzz.cpp" "$root"/src/tsv/*.cpp "$root/src/common/utf8.cpp" \
  -lisal -lfmt

# Seeds: the first byte selects plain (even) or gzip (odd) input and the schema.
seed_row=$'"2017-01-30 16:26:23"\t"ab\\"c"\t"t"\t"+12"\t"-3"\t"1.5e3"\t"20.259"\t"2017-01-30"\t"US"\t"0.1"\t"\\N"\t"1.5"\n'
printf '\x00%s%s' "$seed_row" $'x\\\ny\t\t\n' > "$out/seeds/plain"
{ printf '\x01'; printf '%s' "$seed_row" | gzip -c; printf 'a\tb\n' | gzip -c; } > "$out/seeds/gzip"
printf '\x02%s' $'"abcd"\t"\xc3\xa9\xff"\t"x\\\ty"\n' > "$out/seeds/narrow"
printf '\x04%s' $'9223372036854775807\n-1.5\n' > "$out/seeds/decimal"

cd "$out"
exec ./tsv_reader_fuzz -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 corpus seeds
