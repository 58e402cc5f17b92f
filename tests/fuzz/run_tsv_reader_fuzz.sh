#!/usr/bin/env bash
# Builds the Spade TSV reader fuzz target (libFuzzer + ASan + UBSan) and runs it
# for a bounded time. Exit status 0: no crash found; otherwise libFuzzer's, with the crashing
# input saved in the build directory. Compiler requirements: tests/fuzz/lib.sh.
#
#   tests/fuzz/run_tsv_reader_fuzz.sh [--build-only|--run-only] [seconds=60] [build_dir=build-fuzz]
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/tests/fuzz/lib.sh"
fuzz_args "$@"
out="$fuzz_dir"

if [ "$fuzz_mode" != run ]; then
  fuzz_build run_tsv_reader_fuzz tsv_reader_fuzz
  mkdir -p "$out/corpus" "$out/seeds"

  # Seeds: the first byte selects plain (even) or gzip (odd) input, the schema and (top bit)
  # whether to go on past rejected rows.
  seed_row=$'"2017-01-30 16:26:23"\t"ab\\"c"\t"t"\t"+12"\t"-3"\t"1.5e3"\t"20.259"\t"2017-01-30"\t"US"\t"0.1"\t"\\N"\t"1.5"\n'
  printf '\x00%s%s' "$seed_row" $'x\\\ny\t\t\n' > "$out/seeds/plain"
  { printf '\x01'; printf '%s' "$seed_row" | gzip -c; printf 'a\tb\n' | gzip -c; } > "$out/seeds/gzip"
  printf '\x02%s' $'"abcd"\t"\xc3\xa9\xff"\t"x\\\ty"\n' > "$out/seeds/narrow"
  printf '\x04%s' $'9223372036854775807\n-1.5\n' > "$out/seeds/decimal"
  # The top bit: go on past rejected rows (extra columns, an unterminated quote).
  printf '\x80%s' $'a\tb\tc\td\n"open\nx\t\xff\ty\n' > "$out/seeds/skip"
fi

[ "$fuzz_mode" = build ] || fuzz_run "$out" tsv_reader_fuzz "$fuzz_seconds" 65536 corpus seeds
